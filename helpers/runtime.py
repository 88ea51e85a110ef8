"""Where and how big: the device, the seed, and the quick/full budget.

Every notebook asks this module, and only this module, which device to use and how large an
experiment to run, so that no notebook ever branches on "am I in CI?".
"""
from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Iterator
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
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'' if threads == 1 else 's'})"
    return device.type


# --------------------------------------------------------------------------- threads
#
# Policy (measured in bench/threads.py): on a CPU, torch uses the cores that other processes leave
# free, at least one and at most its own default. Two processes that each run 2 threads on 2 cores
# make every thread wait for one that is not scheduled (about 10x slower, MEASUREMENTS.md); one
# thread per free core does not. The count is chosen in every notebook's first line (describe())
# and checked again every few seconds while training (helpers.train.fit). RESNET_THREADS=N, or
# OMP_NUM_THREADS set by the user, fixes the count instead; so does a count set with
# torch.set_num_threads (01, 02 and 05 choose one thread for their small tensors).

_DEFAULT_THREADS = torch.get_num_threads()  # torch's choice at start-up (one per core)
_applied = _DEFAULT_THREADS  # the count this policy last set
_CHECK_EVERY_S = 5.0
_last_sample: tuple[float, float, float] | None = None


def _cpu_sample() -> tuple[float, float, float] | None:
    """(CPU-seconds all processes have used, CPU-seconds this process has used, wall clock), or None
    where /proc/stat does not exist (macOS, Windows)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK"), time.process_time(), time.monotonic()


def busy_cores_elsewhere(wait: float = 0.2) -> float | None:
    """How many cores other processes kept busy since the previous call (the first call samples over
    ``wait`` seconds); None where this cannot be measured."""
    global _last_sample
    if _last_sample is None:
        _last_sample = _cpu_sample()
        if _last_sample is None:
            return None
        time.sleep(wait)
    now = _cpu_sample()
    if now is None:
        return None
    (all_before, own_before, t_before), _last_sample = _last_sample, now
    wall = now[2] - t_before
    if wall <= 0:
        return 0.0
    return max(0.0, ((now[0] - all_before) - (now[1] - own_before)) / wall)


def _fixed_threads() -> int | None:
    """The thread count the user or the notebook fixed, or None when the policy chooses."""
    value = os.environ.get("RESNET_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"RESNET_THREADS must be a positive int (or unset), got {value!r}")
        return int(value)
    if os.environ.get("OMP_NUM_THREADS") or torch.get_num_threads() != _applied:
        return torch.get_num_threads()
    return None


def adapt_threads(force: bool = True) -> int:
    """Apply the thread policy above and return the thread count. With ``force=False`` it does nothing
    until ``_CHECK_EVERY_S`` seconds have passed since the last check (cheap enough to call every step)."""
    fixed = _fixed_threads()
    if fixed is not None:
        if fixed != torch.get_num_threads():  # RESNET_THREADS
            torch.set_num_threads(fixed)
        return fixed
    if not force and _last_sample is not None and time.monotonic() - _last_sample[2] < _CHECK_EVERY_S:
        return torch.get_num_threads()
    busy = busy_cores_elsewhere()
    if busy is None:
        return torch.get_num_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # a core counts as taken when another process used more than 70% of one
    threads = max(1, min(_DEFAULT_THREADS, int(cores - busy + 0.7)))
    _set_threads(threads)
    return threads


def _set_threads(threads: int) -> None:
    global _applied
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    _applied = threads


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one torch thread, then restore the count: for tiny tensors one thread is
    fastest, and on a busy 2-core machine threads waiting for each other make such work 10-30x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


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
    """One line for the top of every notebook: mode (and why), device, versions. On a CPU it first
    applies the thread policy (:func:`adapt_threads`), so the line shows the threads this run uses."""
    if pick_device().type == "cpu":
        adapt_threads()
    if not quick_mode():
        mode = "FULL (the real experiment)"
    elif _quick_setting():
        mode = "QUICK (small CPU budget, RESNET_QUICK=1)"
    else:
        mode = (f"QUICK: this notebook's full size wants a GPU, so on {pick_device().type} it runs the small budget; "
                "set RESNET_QUICK=0 to force the full size")
    return f"mode: {mode} | device: {device_name()} | torch {torch.__version__}"
