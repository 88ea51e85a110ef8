"""helpers.runtime: the quick/full switch, device choice and seeding."""
from __future__ import annotations

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
