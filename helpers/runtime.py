"""Where and how big: the device, the seed, and the quick/full budget.

Every notebook asks this module, and only this module, which device to use and how large an
experiment to run, so that no notebook ever branches on "am I in CI?".
"""
from __future__ import annotations

import contextlib
import os
import random
import re
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")

# --------------------------------------------------------------------------- environment variables
#
# Every RESNET_* variable is read through these few functions, one way: unset or empty means "not set",
# and a value that does not parse is a ValueError that names the variable and what it accepts.

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def env_flag(name: str) -> bool | None:
    """A yes/no variable: 1/true/yes/on or 0/false/no/off (any case); None when unset or empty."""
    value = _env(name).lower()
    if not value:
        return None
    if value in TRUE_WORDS or value in FALSE_WORDS:
        return value in TRUE_WORDS
    raise ValueError(f"{name} must be one of {'/'.join(TRUE_WORDS + FALSE_WORDS)} (or unset), got {value!r}")


def env_int(name: str, low: int = 1, high: int | None = None, why_high: str = "") -> int | None:
    """An int variable in [low, high] (``why_high`` says where the bound comes from); None when unset or empty."""
    value = _env(name)
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < low:
        expected = "a positive int" if low == 1 else f"an int >= {low}"
        raise ValueError(f"{name} must be {expected} (or unset), got {value!r}")
    if high is not None and number > high:
        raise ValueError(f"{name}={number} is more than {high}{why_high}; set at most {high}, or unset it")
    return number


def env_choice(name: str, choices: Sequence[str], pattern: str | None = None) -> str | None:
    """A variable that names one of ``choices`` (or matches the regular expression ``pattern``, described by
    the choices); None when unset or empty."""
    value = _env(name).lower()
    if not value:
        return None
    if value in choices or (pattern is not None and re.fullmatch(pattern, value)):
        return value
    raise ValueError(f"{name} must be one of {', '.join(choices)} (or unset), got {value!r}")


def env_dir(name: str) -> Path | None:
    """A variable naming an existing folder; None when unset or empty. A folder that does not exist is an
    error (a typo would otherwise read or write somewhere unexpected without a word)."""
    value = _env(name)
    if not value:
        return None
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise ValueError(f"{name}={value!r} is not an existing folder; create it, or unset {name}")
    return folder


#: set by :func:`full_size_needs_gpu` in notebooks whose full budget trains for hours on a CPU (03, 06)
_full_needs_gpu = False


def full_size_needs_gpu() -> None:
    """Declare (in a notebook's setup cell) that its full budget wants a GPU: with ``RESNET_QUICK`` unset,
    it then runs its quick budget on a CPU or MPS, so that a learner who sets nothing never waits for hours."""
    global _full_needs_gpu
    _full_needs_gpu = True


def _quick_setting() -> bool | None:
    return env_flag("RESNET_QUICK")


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
    """CUDA if present, then Apple's MPS, then the CPU. ``RESNET_DEVICE`` (cpu, cuda, cuda:N, mps) overrides
    the choice; a device this machine lacks is an error that names the variable."""
    forced = env_choice("RESNET_DEVICE", ("cpu", "cuda", "cuda:N", "mps"), pattern=r"cuda:\d+")
    if forced:
        mps = getattr(torch.backends, "mps", None)
        if (forced.startswith("cuda") and not torch.cuda.is_available()) or \
                (forced == "mps" and not (mps is not None and mps.is_available())):
            raise ValueError(f"RESNET_DEVICE={forced}, but this torch sees no such device; "
                             "use RESNET_DEVICE=cpu, or unset it to pick the best one present")
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


#: the CPU kinds that decide whether bf16 is worth it (bf16 autocast against fp32, ResNet-34 training, 2 cores):
#: Intel AMX about 3x; AVX512-BF16 (AMD Zen 4/5, Intel Cooper Lake) 1.8x; elsewhere bf16 is emulated and slower
CPU_KINDS = ("AMX", "AVX512-BF16", "no bf16 units")


def cpu_kind() -> str:
    """Which of :data:`CPU_KINDS` this CPU is: bf16 matrix tiles (Intel AMX), bf16 vector instructions
    (AVX512-BF16), or neither. Times measured on a CPU are only comparable within one kind."""
    for kind, probe in (("AMX", "_is_amx_tile_supported"), ("AVX512-BF16", "_is_avx512_bf16_supported")):
        supported = getattr(torch.cpu, probe, None)
        if supported is not None and supported():
            return kind
    return "no bf16 units"


def device_name(device: torch.device | None = None) -> str:
    """A human-readable name for ``device``, e.g. ``'cuda (NVIDIA H100)'`` or ``'cpu (2 threads, AVX512-BF16)'``:
    on a CPU the threads and the :func:`cpu_kind`, since CPU times are only comparable within one kind."""
    device = device or pick_device()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({_threads()}, {cpu_kind()})"
    return device.type


def _threads() -> str:
    threads = torch.get_num_threads()
    return f"{threads} thread{'' if threads == 1 else 's'}"


# --------------------------------------------------------------------------- threads
#
# Policy (measured in bench/threads.py): on a CPU, torch uses the cores that other processes leave
# free, at least one and at most its own default. Two processes that each run 2 threads on 2 cores
# make every thread wait for one that is not scheduled (about 10x slower, MEASUREMENTS.md); one
# thread per free core does not. The count is chosen in every notebook's first line (describe())
# and checked again every few seconds while training (helpers.train.fit). RESNET_THREADS=N, or
# OMP_NUM_THREADS set by the user, fixes the count instead; so does a count set with
# torch.set_num_threads (01, 02 and 05 choose one thread for their small tensors), and so does
# hold_threads() for a run that must be repeatable (another count sums floats in another order).

_DEFAULT_THREADS = torch.get_num_threads()  # torch's choice at start-up (one per core)
_applied = _DEFAULT_THREADS  # the count this policy last set
_CHECK_EVERY_S = 5.0
_last_sample: tuple[float, float, float] | None = None
_held: int | None = None  # the count hold_threads() fixed for a run


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


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system says)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _fixed_threads() -> int | None:
    """The thread count the user, the notebook or :func:`hold_threads` fixed, or None when the policy chooses.
    ``RESNET_THREADS`` above the cores this process can use is refused: the extra threads would only wait."""
    fixed = env_int("RESNET_THREADS", high=available_cores(), why_high=" (the cores this process can use)")
    if fixed is not None:
        return fixed
    if _held is not None:
        return _held
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
    cores = available_cores()
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
def hold_threads(hold: bool = True) -> Iterator[int]:
    """Keep one thread count for the whole block (the policy's choice now, or ``RESNET_THREADS``) and yield it.
    Another count sums floats in another order, so a run that must be repeatable bit for bit (one that saves
    a result) holds its count from start to end instead of following the other processes' load. With ``hold``
    False the block runs as it would without this (the experiments hold only while saving on a CPU)."""
    global _held
    if not hold:
        yield torch.get_num_threads()
        return
    threads, previous = adapt_threads(), _held
    _held = threads
    try:
        yield threads
    finally:
        _held = previous


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
    device = device_name()
    if pick_device().type == "cpu":
        device = f"cpu ({_threads()}: {thread_reason()}; {cpu_kind()})"
    return f"mode: {mode} | device: {device} | torch {torch.__version__}"


def thread_reason() -> str:
    """Why this process runs the number of CPU threads it does, in a few words (for :func:`describe`)."""
    threads, cores = torch.get_num_threads(), available_cores()
    if os.environ.get("RESNET_THREADS", "").strip():
        return "fixed by RESNET_THREADS"
    if os.environ.get("OMP_NUM_THREADS"):
        return "fixed by OMP_NUM_THREADS"
    if _held is not None or threads != _applied:
        return f"set by this code, of {cores} cores"
    if threads < min(_DEFAULT_THREADS, cores):
        return (f"of {cores} cores: other processes keep the rest busy, and threads that wait for a busy core "
                "run about 10x slower")
    return f"one per core, {cores} cores"
