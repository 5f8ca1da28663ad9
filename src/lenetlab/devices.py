"""Choosing the device, with the same semantics everywhere: only speed depends on it."""

from __future__ import annotations

import torch

from lenetlab.errors import LenetlabError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" picks CUDA when present, else the CPU; asking for CUDA without one is an error."""
    if name not in DEVICES:
        raise LenetlabError(f"unknown device {name!r}; choose from {', '.join(DEVICES)}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise LenetlabError("--device cuda was asked for, but this machine has no usable CUDA GPU")
    return torch.device(name)


def describe(device: torch.device) -> str:
    """A human name for the hardware, for reports: "NVIDIA H100 80GB HBM3" or "CPU (2 threads)"."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'' if n == 1 else 's'})"


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that wall-clock timings mean what they say."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
