"""helpers.runtime: the quick/full switch, device choice, seeding and the thread policy."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers import runtime


def test_budget_follows_resnet_quick(monkeypatch):
    assert runtime.budget(quick=2, full=30) == 30
    monkeypatch.setenv("RESNET_QUICK", "1")
    assert runtime.quick_mode() and runtime.budget(quick=2, full=30) == 2
    monkeypatch.setenv("RESNET_QUICK", "0")
    assert runtime.budget(quick=2, full=30) == 30


def test_gpu_sized_notebooks_default_to_quick_off_cuda(monkeypatch):
    monkeypatch.setattr(runtime, "_full_needs_gpu", False)
    assert not runtime.quick_mode()  # 01, 02, 04, 05: full size is fine on a CPU
    runtime.full_size_needs_gpu()
    assert runtime._full_needs_gpu
    for kind, quick in (("cpu", True), ("mps", True), ("cuda", False)):
        monkeypatch.setattr(runtime, "pick_device", lambda kind=kind: torch.device(kind))
        assert runtime.quick_mode() is quick
    monkeypatch.setattr(runtime, "pick_device", lambda: torch.device("cpu"))
    assert "set RESNET_QUICK=0 to force the full size" in runtime.describe()
    monkeypatch.setenv("RESNET_QUICK", "0")  # the explicit switch wins
    assert not runtime.quick_mode() and "FULL" in runtime.describe()
    monkeypatch.setenv("RESNET_QUICK", "1")
    assert runtime.quick_mode() and "RESNET_QUICK=1" in runtime.describe()


def test_unclear_resnet_quick_is_an_error(monkeypatch):
    monkeypatch.setenv("RESNET_QUICK", "maybe")
    with pytest.raises(ValueError, match="RESNET_QUICK must be one of"):
        runtime.quick_mode()


def test_device_choice_and_override(monkeypatch):
    runtime.pick_device.cache_clear()
    try:
        expected = "cuda" if torch.cuda.is_available() else (
            "mps" if torch.backends.mps.is_available() else "cpu")
        assert runtime.pick_device().type == expected
        runtime.pick_device.cache_clear()
        monkeypatch.setenv("RESNET_DEVICE", "cpu")
        assert runtime.pick_device() == torch.device("cpu")
        assert "device: cpu" in runtime.describe() or torch.cuda.is_available()
    finally:
        runtime.pick_device.cache_clear()


def test_seed_everything_repeats_numbers():
    runtime.seed_everything(7)
    a = torch.randn(5)
    runtime.seed_everything(7)
    assert torch.equal(a, torch.randn(5))
    runtime.seed_everything(8)
    assert not torch.equal(a, torch.randn(5))
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        runtime.seed_everything(-1)


# --------------------------------------------------------------------------- the thread policy

@pytest.fixture
def policy_state(monkeypatch):
    """The policy's module state and torch's thread count, restored after the test."""
    threads = torch.get_num_threads()
    monkeypatch.delenv("RESNET_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runtime, "_last_sample", None)
    monkeypatch.setattr(runtime, "_applied", threads)
    yield
    torch.set_num_threads(threads)


def test_threads_follow_the_cores_other_processes_leave_free(policy_state, monkeypatch):
    monkeypatch.setattr(runtime, "_DEFAULT_THREADS", 4)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    for busy, expected in ((0.0, 4), (0.5, 4), (0.8, 3), (1.0, 3), (2.9, 1), (7.0, 1)):
        monkeypatch.setattr(runtime, "busy_cores_elsewhere", lambda busy=busy: busy)
        assert runtime.adapt_threads() == expected == torch.get_num_threads(), busy
    monkeypatch.setattr(runtime, "_DEFAULT_THREADS", 2)  # never more than torch's own default
    monkeypatch.setattr(runtime, "busy_cores_elsewhere", lambda: 0.0)
    assert runtime.adapt_threads() == 2


def test_the_first_line_says_why_the_cpu_runs_that_many_threads(policy_state, monkeypatch):
    monkeypatch.setenv("RESNET_DEVICE", "cpu")
    runtime.pick_device.cache_clear()
    monkeypatch.setattr(runtime, "_DEFAULT_THREADS", 4)
    monkeypatch.setattr(runtime, "available_cores", lambda: 4)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(runtime, "busy_cores_elsewhere", lambda: 2.0)
    assert "cpu (2 threads: of 4 cores: other processes keep the rest busy" in runtime.describe()
    assert runtime.describe().endswith(f"; {runtime.cpu_kind()}) | torch {torch.__version__}")
    monkeypatch.setattr(runtime, "busy_cores_elsewhere", lambda: 0.0)
    assert "cpu (4 threads: one per core, 4 cores; " in runtime.describe()
    monkeypatch.setenv("RESNET_THREADS", "1")
    assert "cpu (1 thread: fixed by RESNET_THREADS; " in runtime.describe()
    runtime.pick_device.cache_clear()


def test_a_count_set_by_the_user_or_the_notebook_is_left_alone(policy_state, monkeypatch):
    monkeypatch.setattr(runtime, "busy_cores_elsewhere", lambda: 0.0)
    monkeypatch.setattr(runtime, "available_cores", lambda: 4)
    monkeypatch.setenv("RESNET_THREADS", "3")
    assert runtime.adapt_threads() == 3 == torch.get_num_threads()
    monkeypatch.setenv("RESNET_THREADS", "two")
    with pytest.raises(ValueError, match="RESNET_THREADS must be a positive int"):
        runtime.adapt_threads()
    monkeypatch.delenv("RESNET_THREADS")
    monkeypatch.setattr(runtime, "_applied", 2)
    torch.set_num_threads(1)  # what 01, 02 and 05 do for their small tensors
    assert runtime.adapt_threads() == 1 == torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(runtime, "_applied", 1)
    assert runtime.adapt_threads() == 1


def test_the_check_while_training_is_rate_limited(policy_state, monkeypatch):
    calls = []
    monkeypatch.setattr(runtime, "busy_cores_elsewhere", lambda: calls.append(1) or 0.0)
    runtime.adapt_threads()
    monkeypatch.setattr(runtime, "_last_sample", (0.0, 0.0, runtime.time.monotonic()))
    runtime.adapt_threads(force=False)
    assert len(calls) == 1  # checked again only after _CHECK_EVERY_S seconds
    monkeypatch.setattr(runtime, "_last_sample", (0.0, 0.0, runtime.time.monotonic() - runtime._CHECK_EVERY_S))
    runtime.adapt_threads(force=False)
    assert len(calls) == 2


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="measured from /proc/stat (Linux)")
def test_busy_cores_elsewhere_sees_a_spinning_process(policy_state):
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        runtime.busy_cores_elsewhere()
        time.sleep(1.0)
        busy = runtime.busy_cores_elsewhere()
    finally:
        spinner.kill()
        spinner.wait()
    assert 0.6 < busy < len(os.sched_getaffinity(0)) + 0.5, busy


# --------------------------------------------------------------------------- environment variables

@pytest.mark.parametrize("variable", ["RESNET_QUICK", "RESNET_STATIC_EXPLORERS"])
def test_every_switch_takes_the_same_spellings(variable, monkeypatch):
    from helpers.widgets import static_explorers

    read = runtime.quick_mode if variable == "RESNET_QUICK" else static_explorers
    for value, expected in (("1", True), ("yes", True), ("ON", True), ("true", True),
                            ("0", False), ("no", False), ("Off", False), ("false", False)):
        monkeypatch.setenv(variable, value)
        assert read() is expected, value
    monkeypatch.setenv(variable, "maybe")
    with pytest.raises(ValueError, match=f"{variable} must be one of 1/true/yes/on/0/false/no/off"):
        read()


def test_resnet_threads_above_the_cores_is_refused_naming_the_variable(policy_state, monkeypatch):
    monkeypatch.setattr(runtime, "available_cores", lambda: 2)
    monkeypatch.setenv("RESNET_THREADS", "99")
    with pytest.raises(ValueError, match=r"RESNET_THREADS=99 is more than 2 \(the cores this process can use\)"):
        runtime.adapt_threads()
    monkeypatch.setenv("RESNET_THREADS", "0")
    with pytest.raises(ValueError, match="RESNET_THREADS must be a positive int"):
        runtime.adapt_threads()
    monkeypatch.setenv("RESNET_THREADS", "2")
    assert runtime.adapt_threads() == 2


def test_an_unknown_device_names_the_variable_and_the_accepted_values(monkeypatch):
    runtime.pick_device.cache_clear()
    try:
        monkeypatch.setenv("RESNET_DEVICE", "gpu")
        with pytest.raises(ValueError, match=r"RESNET_DEVICE must be one of cpu, cuda, cuda:N, mps \(or unset\), got 'gpu'"):
            runtime.pick_device()
        if not torch.cuda.is_available():
            monkeypatch.setenv("RESNET_DEVICE", "cuda:0")
            with pytest.raises(ValueError, match="RESNET_DEVICE=cuda:0, but this torch sees no such device"):
                runtime.pick_device()
        monkeypatch.setenv("RESNET_DEVICE", " CPU ")
        assert runtime.pick_device() == torch.device("cpu")
    finally:
        runtime.pick_device.cache_clear()


def test_env_dir_refuses_a_folder_that_does_not_exist(monkeypatch, tmp_path):
    monkeypatch.setenv("SOME_DIR", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="SOME_DIR=.*missing' is not an existing folder"):
        runtime.env_dir("SOME_DIR")
    monkeypatch.setenv("SOME_DIR", str(tmp_path))
    assert runtime.env_dir("SOME_DIR") == tmp_path
    monkeypatch.setenv("SOME_DIR", "  ")
    assert runtime.env_dir("SOME_DIR") is None


def test_hold_threads_keeps_one_count_while_the_load_changes(policy_state, monkeypatch):
    """What a run that saves a result relies on (README, Seeds): the count chosen at its start stays."""
    monkeypatch.setattr(runtime, "_DEFAULT_THREADS", 2)
    monkeypatch.setattr(runtime, "available_cores", lambda: 2)
    load = iter([0.0, 1.0, 0.0, 1.0, 0.0])
    monkeypatch.setattr(runtime, "busy_cores_elsewhere", lambda: next(load))
    with runtime.hold_threads() as held:
        assert held == 2
        assert [runtime.adapt_threads() for _ in range(3)] == [2, 2, 2] == [held] * 3
    assert runtime.adapt_threads() == 1  # released: the policy follows the load again
    with runtime.hold_threads(hold=False):  # a run that saves nothing (or not on a CPU) is not held
        assert [runtime.adapt_threads() for _ in range(2)] == [2, 1]


@pytest.mark.parametrize("kind", runtime.CPU_KINDS)
def test_a_cpu_is_named_with_its_kind_since_cpu_times_compare_only_within_one(kind, monkeypatch):
    monkeypatch.setattr(runtime, "cpu_kind", lambda: kind)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert runtime.device_name(torch.device("cpu")) == f"cpu (1 thread, {kind})"
