#!/usr/bin/env bash
# The one prepared GPU check (issue "speed"): CUDA correctness, then the GPU figures.
# Run from the repository root on a machine with a GPU and MNIST reachable (or in
# $LENETLAB_DATA); it needs about 6-8 minutes on one H100 (the document's code alone takes
# ≈ 94 s for 10 epochs there). Everything it prints goes in benchmarks/README.md.
#
#     bash benchmarks/gpu_check.sh [python]
set -euo pipefail
PY=${1:-python}
export PYTHONPATH="src:benchmarks${PYTHONPATH:+:$PYTHONPATH}"

"$PY" - <<'EOF'
import torch
assert torch.cuda.is_available(), "no CUDA device"
print("#", torch.cuda.get_device_name(), "torch", torch.__version__)
EOF

echo "## CUDA correctness: compiled and graph-replayed steps against eager, K-at-once on CUDA"
"$PY" -m pytest -q -x -p no:cacheprovider tests/test_training.py -k compiled
"$PY" - <<'EOF'
import torch
from lenetlab.many import train_seeds
from lenetlab.training import Split, TrainConfig, train
g = torch.Generator().manual_seed(0)
def split(n):
    return Split(torch.rand(n, 1, 28, 28, generator=g).cuda(),
                 torch.randint(0, 10, (n,), generator=g).cuda())
tr, te = split(512), split(128)
config = TrainConfig(epochs=1, batch_size=64, engine="eager", device="cuda")
many = train_seeds(config, [0, 1], tr, te)
for k in (0, 1):
    alone = train(TrainConfig(epochs=1, batch_size=64, engine="eager", device="cuda", seed=k),
                  tr, te)
    diff = max((p - many.params[n][k]).abs().max().item() for n, p in alone.model.named_parameters())
    assert diff < 1e-4, diff
print("vmap on CUDA equals sequential: ok")
EOF

echo "## P7 LeNet-5, 10 epochs: the document's code against lenetlab, per engine"
"$PY" benchmarks/lenet.py --device cuda --engine eager,compile,graphs

echo "## K LeNet-5s at once against K in a row"
"$PY" benchmarks/many.py --device cuda --seeds 16 --epochs 1

echo "## The 1998 network, fast recipe (mini-batches of 16), 8 passes"
"$PY" -m lenetlab -q train --model lenet5-1998 --recipe fast --device cuda --out /tmp/fast-cuda \
  | tail -n 3 || true
