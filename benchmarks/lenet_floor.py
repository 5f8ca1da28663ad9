"""Each heavy operation of LeNet-5's training step timed alone (batch 100, forward and
backward), to show where the CPU time goes and so where the floor is.

    python benchmarks/lenet_floor.py [THREADS]

Prints ms per step, the GFLOP/s each operation reaches and its cost per epoch (600 steps).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

BATCH, STEPS_PER_EPOCH = 100, 600


def seconds_per_call(fn: Callable[[], None], n: int = 200) -> float:
    for _ in range(10):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def forward_backward(fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
    def step() -> None:
        y = fn()
        y.backward(torch.ones_like(y))
    return step


def conv(c_in: int, c_out: int, size: int, padding: int, input_grad: bool) -> tuple[float, int]:
    """(seconds, multiply-adds) of a 5×5 convolution's forward and backward."""
    x = torch.randn(BATCH, c_in, size, size, requires_grad=input_grad)
    w = torch.randn(c_out, c_in, 5, 5, requires_grad=True)
    out = size + 2 * padding - 4
    macs = BATCH * c_out * out * out * c_in * 25 * (3 if input_grad else 2)
    return seconds_per_call(forward_backward(lambda: F.conv2d(x, w, padding=padding))), macs


def linear(d_in: int, d_out: int) -> tuple[float, int]:
    x = torch.randn(BATCH, d_in, requires_grad=True)
    w = torch.randn(d_out, d_in, requires_grad=True)
    return seconds_per_call(forward_backward(lambda: F.linear(x, w))), 3 * BATCH * d_in * d_out


def main() -> None:
    if len(sys.argv) > 1:
        torch.set_num_threads(int(sys.argv[1]))
    x = torch.randn(BATCH, 6, 28, 28, requires_grad=True)
    rows = {
        "C1 1->6, 28x28 (forward + weight gradient)": conv(1, 6, 28, 2, False),
        "C3 6->16 dense, 10x10 (forward + both gradients)": conv(6, 16, 14, 0, True),
        "C5 400->120": linear(400, 120),
        "F6 120->84": linear(120, 84),
        "output 84->10": linear(84, 10),
        "tanh, 2x2 average pool, tanh after C1 (eager)": (seconds_per_call(forward_backward(
            lambda: torch.tanh(F.avg_pool2d(torch.tanh(x), 2)))), 0),
    }
    print(f"# batch {BATCH}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    for name, (sec, macs) in rows.items():
        rate = f"{2 * macs / sec / 1e9:6.1f} GFLOP/s" if macs else " " * 14
        print(f"{name:50} {1e3 * sec:7.2f} ms/step {rate} {sec * STEPS_PER_EPOCH:6.2f} s/epoch")
    total = sum(sec for sec, _ in rows.values())
    print(f"{'sum':50} {1e3 * total:7.2f} ms/step {'':14} {total * STEPS_PER_EPOCH:6.2f} s/epoch")


if __name__ == "__main__":
    main()
