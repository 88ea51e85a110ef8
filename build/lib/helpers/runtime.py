"""Where and how big: the device, the seed, and the quick/full budget.

Every notebook asks this module, and only this module, which device to use and how large an
experiment to run, so that no notebook ever branches on "am I in CI?".
"""
from __future__ import annotations

import os
import random
from functools import lru_cache
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


#: set by :func:`full_size_needs_gpu` in notebooks whose full budget trains for hours on a CPU (03, 06)
_full_needs_gpu = False


def full_size_needs_gpu() -> None:
    """Declare (in a notebook's setup cell) that its full budget wants a GPU: with ``RESNET_QUICK`` unset,
    it then runs its quick budget on a CPU or MPS, so that a learner who sets nothing never waits for hours."""
    global _full_needs_gpu
    _full_needs_gpu = True


def _quick_setting() -> bool | None:
    value = os.environ.get("RESNET_QUICK", "").strip().lower()
    if value == "":
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"RESNET_QUICK must be one of 1/0/true/false/yes/no (or unset), got {value!r}")


def quick_mode() -> bool:
    """Whether to run the small budget: ``RESNET_QUICK=1`` forces it (CI sets it), ``RESNET_QUICK=0`` forces the
    full size; unset, it is quick only where the full size needs a GPU (:func:`full_size_needs_gpu`) and the
    device is not CUDA."""
    setting = _quick_setting()
    if setting is not None:
        return setting
    return _full_needs_gpu and pick_device().type != "cuda"


def budget(quick: T, full: T) -> T:
    """Return ``quick`` in quick mode and ``full`` otherwise: the one switch between run sizes.

    >>> epochs = budget(quick=2, full=30)
    """
    return quick if quick_mode() else full


@lru_cache(maxsize=1)
def pick_device() -> torch.device:
    """CUDA if present, then Apple's MPS, then the CPU. ``RESNET_DEVICE`` overrides the choice."""
    forced = os.environ.get("RESNET_DEVICE")
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device | None = None) -> str:
    """A human-readable name for ``device``, e.g. ``'cuda (NVIDIA H100)'`` or ``'cpu (2 threads)'``."""
    device = device or pick_device()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (all devices); return a CPU generator seeded the same way.

    Same seed, same device, same numbers. (Across devices, kernels differ in the last bits.)
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def describe() -> str:
    """One line for the top of every notebook: mode (and why), device, versions."""
    if not quick_mode():
        mode = "FULL (the real experiment)"
    elif _quick_setting():
        mode = "QUICK (small CPU budget, RESNET_QUICK=1)"
    else:
        mode = (f"QUICK: this notebook's full size wants a GPU, so on {pick_device().type} it runs the small budget; "
                "set RESNET_QUICK=0 to force the full size")
    return f"mode: {mode} | device: {device_name()} | torch {torch.__version__}"
