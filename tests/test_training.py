"""The training engine: determinism, bit-for-bit resume, the NaN stop, safe checkpoints."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from lenetlab.data import load_mnist
from lenetlab.devices import resolve_device
from lenetlab.errors import CheckpointError, TrainingDiverged
from lenetlab.training import (
    CHECKPOINT,
    Split,
    TrainConfig,
    evaluate,
    load_checkpoint,
    model_from_checkpoint,
    train,
)

CPU = torch.device("cpu")
CONFIG = TrainConfig(epochs=2, batch_size=32, lr=0.1, seed=3, device="cpu")


@pytest.fixture
def splits(fake_mnist):
    return (Split.from_arrays(*load_mnist("train", fake_mnist), CPU),
            Split.from_arrays(*load_mnist("test", fake_mnist), CPU))


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_split_scales_pixels_to_unit_interval(fake_mnist):
    images, labels = load_mnist("train", fake_mnist)
    split = Split.from_arrays(images, labels, CPU, limit=10)
    assert split.x.shape == (10, 1, 28, 28) and split.x.dtype == torch.float32
    np.testing.assert_allclose(split.x[3, 0].numpy(), images[3] / 255, rtol=1e-6)
    assert split.y.dtype == torch.long


def test_same_seed_same_run_other_seed_other_run(splits):
    a = train(CONFIG, *splits)
    b = train(CONFIG, *splits)
    c = train(replace(CONFIG, seed=4), *splits)
    assert_same_weights(weights(a.model), weights(b.model))
    assert not torch.equal(a.model.c1.weight, c.model.c1.weight)
    assert a.history[-1].train_loss == b.history[-1].train_loss


def test_learns_the_fake_task(splits):
    result = train(replace(CONFIG, epochs=8), *splits)
    assert result.test_accuracy > 0.5  # ten classes: chance is 0.1
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert result.params == 60_806


def test_resume_continues_bit_for_bit(splits, tmp_path):
    straight = train(replace(CONFIG, epochs=3), *splits, out_dir=tmp_path / "a")
    train(replace(CONFIG, epochs=1), *splits, out_dir=tmp_path / "b")
    resumed = train(replace(CONFIG, epochs=3), *splits, out_dir=tmp_path / "b", resume=True)
    assert_same_weights(weights(straight.model), weights(resumed.model))
    assert [r.train_loss for r in straight.history] == [r.train_loss for r in resumed.history]
    assert len(load_checkpoint(tmp_path / "b")["history"]) == 3


def test_resume_refuses_another_run(splits, tmp_path):
    train(replace(CONFIG, epochs=1), *splits, out_dir=tmp_path)
    with pytest.raises(CheckpointError, match="lr"):
        train(replace(CONFIG, lr=0.5), *splits, out_dir=tmp_path, resume=True)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(CONFIG, *splits, out_dir=tmp_path / "empty", resume=True)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(splits, tmp_path):
    train_split, test_split = splits
    train(replace(CONFIG, epochs=1), train_split, test_split, out_dir=tmp_path)
    before = load_checkpoint(tmp_path)["model"]
    poisoned = Split(train_split.x.clone(), train_split.y)
    poisoned.x[::7] = float("nan")
    with pytest.raises(TrainingDiverged, match="loss became nan in epoch 2"):
        train(replace(CONFIG, epochs=2), poisoned, test_split, out_dir=tmp_path, resume=True)
    assert_same_weights(before, load_checkpoint(tmp_path)["model"])


def test_checkpoint_round_trip_and_damaged_files(splits, tmp_path):
    result = train(replace(CONFIG, epochs=1), *splits, out_dir=tmp_path)
    model, config, _ = model_from_checkpoint(tmp_path / CHECKPOINT)
    assert config == replace(CONFIG, epochs=1)
    assert evaluate(model, splits[1]) == evaluate(result.model, splits[1])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a lenetlab checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_config_validation():
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError):
        TrainConfig(lr=-1)


@pytest.mark.slow
def test_document_recipe_reaches_its_accuracy_on_real_mnist(real_mnist):
    """SPEC P7: 10 epochs of the document's recipe; the document reports 98.67%."""
    train_split = Split.from_arrays(*load_mnist("train", real_mnist), CPU)
    test_split = Split.from_arrays(*load_mnist("test", real_mnist), CPU)
    result = train(TrainConfig(seed=0, device="cpu"), train_split, test_split)
    assert result.test_accuracy >= 0.983


@pytest.mark.parametrize("engine", ["compile", "graphs"])
def test_compiled_step_computes_the_same_function_as_eager(splits, engine):
    """torch.compile fuses kernels but must not change the recipe: same weights after an epoch,
    to float tolerance (fused arithmetic rounds differently). "graphs" runs its CPU fallback
    here; on a GPU it replays CUDA graphs (benchmarks/gpu_check.sh runs this test there)."""
    config = replace(CONFIG, epochs=1, device="auto")
    device = resolve_device("auto")
    splits = [Split(s.x.to(device), s.y.to(device)) for s in splits]
    eager = train(replace(config, engine="eager"), *splits)
    compiled = train(replace(config, engine=engine), *splits)
    assert compiled.engine == engine and eager.engine == "eager"
    for name, w in eager.model.state_dict().items():
        torch.testing.assert_close(compiled.model.state_dict()[name], w, rtol=1e-4, atol=1e-5)


def test_auto_engine_compiles_only_long_runs():
    from lenetlab.training import choose_engine

    assert choose_engine("auto", 100) == "eager"
    assert choose_engine("eager", 10**6) == "eager"
    assert choose_engine("compile", 1) == "compile"
