"""tools.reproduce: the one command for the full-size results (plan, refusal on a CPU, tiny size end to end)."""
from __future__ import annotations

import json

import pytest

from helpers import degradation, experiments
from helpers.results import load_result
from tools import reproduce

pytestmark = pytest.mark.usefixtures("one_thread")


def test_full_plan_covers_every_result_at_its_full_budget():
    experiments = {e.name: e for e in reproduce.plan(tiny=False)}
    assert set(experiments) == {"degradation", "resnet34_cifar10", "plain34_cifar10"}
    deg = experiments["degradation"].argv
    assert deg[deg.index("--epochs") + 1] == str(degradation.FULL["epochs"]) and "--save" in deg
    assert "--plain" in experiments["plain34_cifar10"].argv and "--plain" not in experiments["resnet34_cifar10"].argv
    for name in ("resnet34_cifar10", "plain34_cifar10"):  # the same budget for both, at the real width
        argv = experiments[name].argv
        assert argv[argv.index("--save") + 1] == name and "--width" not in argv
    assert experiments["resnet34_cifar10"].nets == experiments["plain34_cifar10"].nets


def test_full_size_is_refused_on_a_cpu_after_the_plan(monkeypatch, capsys):
    monkeypatch.setattr(experiments, "measure_rate", lambda *a, **k: 100.0)  # no need to time real steps here
    with pytest.raises(SystemExit):
        reproduce.main([])
    captured = capsys.readouterr()
    assert "FULL size" in captured.out and "resnet34_cifar10" in captured.out and "total: about" in captured.out
    assert "needs a CUDA GPU" in captured.err and "--tiny" in captured.err


def test_plan_only_trains_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(experiments, "measure_rate", lambda *a, **k: 1000.0)
    monkeypatch.setenv("RESNET_RESULTS_DIR", str(tmp_path))
    out = reproduce.main(["--plan"])
    # 40 epochs x 50,000 images x 4 nets + 2 x 30 x 50,000, at 1,000 images/s, plus a quarter for evaluation
    expected = 1.25 * (4 * degradation.FULL["epochs"] * 50_000 + 2 * 30 * 50_000) / 1000
    assert sum(out["plan"].values()) == pytest.approx(expected, rel=1e-3)
    assert not list(tmp_path.iterdir())


def test_measured_rate_is_positive():
    import torch

    assert experiments.measure_rate("cifar_resnet20", 16, 8, torch.device("cpu")) > 0


@pytest.mark.slow
def test_tiny_size_writes_every_result_with_its_provenance(image_folder, tmp_path, capsys, monkeypatch):
    root, _ = image_folder
    monkeypatch.setattr(reproduce, "plan", _small_plan)
    line = reproduce.main(["--tiny", "--data", str(root), "--results-dir", str(tmp_path / "out")])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == line
    assert set(line["seconds"]) == {"degradation", "resnet34_cifar10", "plain34_cifar10"}
    monkeypatch.setenv("RESNET_RESULTS_DIR", str(tmp_path / "out"))
    for name in ("resnet34_cifar10", "plain34_cifar10"):
        result = load_result(name)
        assert {"command", "date", "device", "cpu", "git_commit", "torch", "wall_s"} <= set(result)
        data = result["data"]
        assert len(data["confusion_matrix"]) == 10 and sum(map(sum, data["confusion_matrix"])) == data["test_images"]
        assert len(data["per_class_accuracy"]) == 10 and data["history"]["epoch"] == [1]
    assert load_result("plain34_cifar10")["data"]["model"] == "resnet34-plain"
    assert set(load_result("degradation")["data"]["runs"]) == set(degradation.NETS)


_real_plan = reproduce.plan


def _small_plan(tiny):
    """The tiny plan on the fixture's 40 training / 20 test images."""
    swap = {"200": "40", "100": "20", "32": "8"}
    return [reproduce.Experiment(e.name, e.what, e.cli, tuple(swap.get(a, a) for a in e.argv), e.nets)
            for e in _real_plan(tiny)]
