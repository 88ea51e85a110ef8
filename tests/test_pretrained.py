"""helpers.pretrained: the shipped trained networks load as their records say, and nothing else loads."""
from __future__ import annotations

import json
import os

import pytest
import torch

from helpers import pretrained
from helpers.degradation import NETS
from helpers.models import cifar_resnet
from helpers.results import save_result


def _finished_run(root, nets=("ResNet-20", "plain-20"), seed=1, epochs=2):
    """A saved degradation result and final checkpoints for ``nets``, as a finished run leaves them."""
    checkpoints, runs, models = root / "checkpoints", {}, {}
    checkpoints.mkdir()
    for net in nets:
        depth, residual = NETS[net]
        torch.manual_seed(len(net))
        model = cifar_resnet(depth, residual=residual)
        with torch.no_grad():  # running statistics that are not the defaults, so a lost buffer shows
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.running_mean.uniform_(-1, 1)
                    module.running_var.uniform_(0.5, 2)
        models[net] = model
        torch.save({"model": model.state_dict(), "epoch": epochs - 1, "config": {"seed": seed}},
                   checkpoints / f"{net}.pt")
        runs[net] = {"epoch": list(range(1, epochs + 1)), "train_error": [0.5, 0.25], "test_error": [0.5, 0.3],
                     "params": sum(p.numel() for p in model.parameters())}
    data = {"runs": runs, "config": {"epochs": epochs, "seed": seed}, "train_images": 50_000, "test_images": 10_000}
    save_result("run", data, "python -m helpers.degradation --cpu --seed 1")
    return checkpoints, models


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    (tmp_path / "results").mkdir()
    monkeypatch.setenv("RESNET_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path / "results"


def test_export_then_load_gives_the_trained_network_in_eval_mode(tmp_path, results_dir, one_thread):
    checkpoints, models = _finished_run(tmp_path)
    written = pretrained.export(checkpoints, "run", "python -m helpers.pretrained ...")
    assert sorted(p.name for p in written) == ["plain20.json", "plain20.pt", "resnet20.json", "resnet20.pt"]
    info = pretrained.record("resnet20")
    assert info["seed"] == 1 and info["epochs"] == 2 and info["test_error"] == 0.3
    assert info["command"] == "python -m helpers.degradation --cpu --seed 1"
    model = pretrained.load("resnet20")
    assert not model.training and next(model.parameters()).device.type == "cpu"
    assert next(model.parameters()).dtype == torch.float32
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = models["ResNet-20"].eval()(x)
        assert torch.allclose(model(x), expected, atol=0.05 * expected.abs().max().item())  # fp16 weights
    plain = pretrained.load("plain20")
    assert all(block.residual is False for block in plain.layer1)


def test_load_refuses_changed_missing_and_unknown_files(tmp_path, results_dir):
    checkpoints, _ = _finished_run(tmp_path, nets=("ResNet-20",))
    pretrained.export(checkpoints, "run", "export")
    weights, record = pretrained.paths("resnet20")
    state = torch.load(weights)
    state["fc.bias"] += 1
    torch.save(state, weights)
    with pytest.raises(ValueError, match="does not match its record"):
        pretrained.load("resnet20")
    weights.unlink()
    with pytest.raises(FileNotFoundError, match="resnet20.pt is missing"):
        pretrained.load("resnet20")
    with pytest.raises(FileNotFoundError, match="no record for 'resnet56'"):
        pretrained.load("resnet56")
    with pytest.raises(ValueError, match="name must be one of plain20, plain56, resnet20, resnet56"):
        pretrained.load("resnet34")
    info = json.loads(record.read_text())
    del info["sha256"]
    record.write_text(json.dumps(info))
    with pytest.raises(ValueError, match=r"lacks \['sha256'\]"):
        pretrained.record("resnet20")


def test_export_refuses_to_replace_shipped_networks_and_unfinished_runs(tmp_path, results_dir, capsys):
    checkpoints, _ = _finished_run(tmp_path, nets=("ResNet-20",))
    pretrained.export(checkpoints, "run", "export")
    before = pretrained.paths("resnet20")[0].read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        pretrained.main(["--checkpoint-dir", str(checkpoints), "--result", "run"])
    assert exit_info.value.code == 2
    assert "would be replaced" in capsys.readouterr().err
    assert pretrained.paths("resnet20")[0].read_bytes() == before
    state = torch.load(checkpoints / "ResNet-20.pt")
    state["epoch"] = 0  # a checkpoint from the middle of the run
    torch.save(state, checkpoints / "ResNet-20.pt")
    with pytest.raises(ValueError, match="is not the end of"):
        pretrained.export(checkpoints, "run", "export", overwrite=True)


SHIPPED = [name for name in pretrained.NAMES if pretrained.paths(name)[1].is_file()]
# make test scores ResNet-56, the network notebook 07 leans on most (about 50 s on a 2-core CPU; every shipped file
# is also matched to its record by SHA-256 above, and 07's saved studies to the shipped files);
# RESNET_PRETRAINED_CHECK=all scores all four (CI time: the whole run stays under 30 minutes).
SCORED = SHIPPED if os.environ.get("RESNET_PRETRAINED_CHECK") == "all" else [n for n in SHIPPED if n == "resnet56"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SCORED)
def test_shipped_network_scores_what_its_record_says(name, real_cifar10_dir):
    from helpers.data import cifar10_loaders
    from helpers.train import evaluate

    info = pretrained.record(name)
    assert info["train_images"] == 50_000 and info["test_images"] == 10_000 and info["seed"] == 1
    _, test_loader = cifar10_loaders(1000, root=real_cifar10_dir, device="cpu")
    accuracy = evaluate(pretrained.load(name), test_loader, amp=False)["acc"]
    assert abs((1 - accuracy) - info["test_error"]) < 0.005, (accuracy, info["test_error"])
