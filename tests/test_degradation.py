"""Tests of helpers.degradation: the side-by-side training runner, the per-layer gradient norms, the
plots, the saved-result path and the command line. Tiny data (random images), so they run in seconds."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from torch import nn

from helpers.data import DeviceLoader
from helpers.degradation import (
    BATCH_NORM_NETS,
    BATCH_NORM_QUICK,
    FULL,
    NETS,
    QUICK,
    curves_from_history,
    final_table,
    layer_gradient_norms,
    main,
    paper_config,
    plot_degradation,
    plot_gradient_norms,
    saved_runs,
    train_side_by_side,
    weight_layers,
)
from helpers.models import cifar_resnet, count_parameters
from helpers.results import RESULTS_DIR_ENV, load_result, save_result
from helpers.train import History

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see conftest.one_thread


@pytest.fixture
def tmp_results(monkeypatch, tmp_path):
    (tmp_path / "results").mkdir()
    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path / "results"))
    return tmp_path / "results"


def tiny_loaders(n_train: int = 32, n_test: int = 16, batch_size: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    train = (rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8), np.arange(n_train) % 10)
    test = (rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8), np.arange(n_test) % 10)
    return (DeviceLoader(train, batch_size, train=True, device="cpu", seed=seed),
            DeviceLoader(test, n_test, device="cpu"))


def test_the_four_nets_are_the_papers():
    assert NETS == {"plain-20": (20, False), "plain-56": (56, False), "ResNet-20": (20, True), "ResNet-56": (56, True)}
    for depth, residual in NETS.values():
        model = cifar_resnet(depth, residual=residual)
        assert len(weight_layers(model)) == depth  # option A: no shortcut convolutions to count
    assert count_parameters(cifar_resnet(20)) == count_parameters(cifar_resnet(20, residual=False)) == 269_722


def test_paper_config_is_the_papers_recipe():
    config = paper_config(7, seed=3)
    assert (config.epochs, config.batch_size, config.lr, config.momentum, config.weight_decay) == (7, 128, 0.1, 0.9, 1e-4)
    assert config.label_smoothing == 0.0 and config.nesterov is False and config.seed == 3
    assert paper_config(2, batch_size=32, lr=0.05).batch_size == 32
    assert QUICK["epochs"] < FULL["epochs"] and FULL["train_subset"] is None


def test_curves_are_errors_and_json_ready():
    history = History(epoch=[1, 2], train_acc=[0.25, 0.5], test_acc=[0.3, 0.6], train_loss=[2.0, 1.5])
    curves = curves_from_history(history, params=10, seconds=1.234)
    assert curves["train_error"] == pytest.approx([0.75, 0.5]) and curves["test_error"] == pytest.approx([0.7, 0.4])
    assert curves["params"] == 10 and curves["seconds"] == 1.2 and curves["diverged"] is False
    json.dumps(curves)
    blown = curves_from_history(History(epoch=[1], train_acc=[0.1], test_acc=[0.1], train_loss=[float("nan")]), 10, 1.0)
    assert blown["diverged"] is True and blown["train_loss"] == [None]
    json.dumps(blown, allow_nan=False)


def test_the_batch_norm_nets_differ_only_in_normalisation_and_init():
    assert list(BATCH_NORM_NETS) == ["with BN", "no BN", "no BN, zero-init"]
    models = {name: cifar_resnet(**options) for name, options in BATCH_NORM_NETS.items()}
    assert all(len(weight_layers(m)) == 56 for m in models.values())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in models["no BN"].modules())
    assert all(torch.equal(b.conv2.weight, torch.zeros_like(b.conv2.weight))
               for stage in models["no BN, zero-init"].stages() for b in stage)
    assert BATCH_NORM_QUICK["train_subset"] <= 2_000 and BATCH_NORM_QUICK["epochs"] <= 3


def test_batch_norm_experiment_from_the_command_line(batches_dir, tmp_results, capsys):
    root, _ = batches_dir
    from helpers import experiments

    data = experiments.main(["batch-norm", "--data", str(root), "--epochs", "1", "--batch-size", "16",
                             "--train-subset", "32", "--test-subset", "10", "--save", "--no-progress"])
    assert list(data["runs"]) == list(BATCH_NORM_NETS) and data["nets"] == BATCH_NORM_NETS
    saved = load_result("batch_norm")  # a bare --save: the experiment's own name
    assert saved["data"]["runs"] == json.loads(json.dumps(data["runs"]))
    assert saved["command"].startswith("python -m helpers.experiments batch-norm --data ")
    for argv in (["--experiment", "batch-norm", "--quick", "--save"], ["--quick", "--save"]):
        with pytest.raises(SystemExit):  # the old spelling, and the new one
            (main if argv[0] == "--experiment" else lambda a: experiments.main(["batch-norm", *a]))(argv)
        assert "do not combine it with --quick" in capsys.readouterr().err


def test_side_by_side_trains_each_net_from_the_same_seed_and_is_reproducible():
    train, test = tiny_loaders()
    config = paper_config(2, batch_size=16)
    seen = []
    runs = train_side_by_side(train, test, config, nets=("plain-20", "ResNet-20"),
                              on_net_end=lambda name, run: seen.append(name))
    assert list(runs) == seen == ["plain-20", "ResNet-20"]
    for run in runs.values():
        assert run["epoch"] == [1, 2] and len(run["train_error"]) == len(run["test_error"]) == 2
        assert all(0 <= e <= 1 for e in run["train_error"] + run["test_error"])
        assert run["params"] == 269_722
    assert runs["plain-20"]["train_loss"] != runs["ResNet-20"]["train_loss"]
    again = train_side_by_side(train, test, config, nets=("plain-20",))
    assert again["plain-20"]["train_loss"] == runs["plain-20"]["train_loss"]


def test_side_by_side_refuses_unknown_nets():
    train, test = tiny_loaders()
    with pytest.raises(ValueError, match="nets"):
        train_side_by_side(train, test, paper_config(1), nets=("plain-34",))
    with pytest.raises(ValueError, match="nets"):
        train_side_by_side(train, test, paper_config(1), nets=())


def test_table_and_plot():
    runs = {name: {"epoch": [1, 2, 3], "train_error": [0.9, 0.7, 0.5 + 0.1 * i], "test_error": [0.9, 0.8, 0.6],
                   "params": 100, "seconds": 3.0} for i, name in enumerate(NETS)}
    table = final_table(runs, "title line")
    assert table.splitlines()[0] == "title line" and len(table.splitlines()) == 2 + len(NETS)
    assert "diverged" not in table
    blown = {"no BN, zero-init": dict(runs["plain-20"], diverged=True)}
    assert final_table(blown).splitlines()[-1].startswith("no BN, zero-init") and "(diverged in epoch 3)" in final_table(blown)
    assert "80.0%" in table.splitlines()[-1]  # ResNet-56's final training error
    fig = plot_degradation(runs, title="t")
    assert len(fig.axes) == 2 and all(len(ax.get_lines()) == 4 for ax in fig.axes)
    assert fig.axes[0].get_lines()[0].get_ydata()[0] == pytest.approx(90.0)  # percent
    assert fig.axes[0].get_lines()[0].get_linestyle() == "--"  # plain nets dashed


def test_gradient_norms_match_a_manual_backward_pass():
    torch.manual_seed(0)
    model = cifar_resnet(8, residual=True)
    x, y = torch.randn(6, 3, 32, 32), torch.arange(6) % 10
    model.eval()
    norms = layer_gradient_norms(model, x, y)
    assert not model.training  # mode restored
    assert all(p.grad is None for p in model.parameters())  # gradients reset
    names = [name for name, _ in norms]
    assert names[0] == "conv1.weight" and names[-1] == "fc.weight" and len(names) == 8
    model.train()
    nn.functional.cross_entropy(model(x), y).backward()
    torch.testing.assert_close(torch.tensor([v for _, v in norms]),
                               torch.stack([p.grad.norm() for _, p in weight_layers(model)]))


def test_projection_shortcuts_are_weight_layers_too():
    names = [name for name, _ in weight_layers(cifar_resnet(8, shortcut="B"))]
    assert "layer2.0.downsample.0.weight" in names and len(names) == 10


def test_plain_gradients_spread_far_more_than_residual_ones_at_init():
    """The notebook's measurement, on random images: in a batch-normalised plain-56 the first stage's
    gradients are far larger than the last stage's; in a ResNet-56 they are of the same order."""
    x, y = torch.randn(32, 3, 32, 32), torch.arange(32) % 10

    def first_over_last(residual: bool) -> float:
        torch.manual_seed(0)
        norms = layer_gradient_norms(cifar_resnet(56, residual=residual), x, y)
        mean = lambda stage: np.mean([v for n, v in norms if n.startswith(stage)])  # noqa: E731
        return mean("layer1") / mean("layer3")

    plain, residual = first_over_last(False), first_over_last(True)
    assert plain > 20 and residual < 5 and plain > 10 * residual


def test_plot_gradient_norms():
    names = ["conv1.weight", "layer1.0.conv1.weight", "layer1.0.conv2.weight", "fc.weight"]
    fig = plot_gradient_norms({"plain-56": list(zip(names, [8.0, 4.0, 2.0, 1.0], strict=True)),
                               "ResNet-56": list(zip(names, [1.0, 1.0, 1.0, 3.0], strict=True))}, "t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "t"
    data = [line for line in ax.get_lines() if line.get_label() in ("plain-56", "ResNet-56")]
    assert [list(line.get_ydata()) for line in data] == [[8.0, 4.0, 2.0, 1.0], [1.0, 1.0, 1.0, 3.0]]
    assert data[0].get_color() != data[1].get_color() and data[0].get_linestyle() == "--"
    assert sorted(t.get_text() for t in ax.texts) == ["fc", "layer1"]  # stage boundaries, labelled


def test_saved_runs_absent_present_and_foreign(tmp_results):
    assert saved_runs() is None
    runs = {"plain-20": {"epoch": [1], "train_error": [0.5], "test_error": [0.5], "params": 1, "seconds": 1.0}}
    save_result("degradation", {"runs": runs, "train_images": 50_000}, command="python -m helpers.degradation --save",
                device="cuda (NVIDIA H100)")
    loaded, label = saved_runs()
    assert loaded == runs
    assert label.startswith("saved run") and "--save" in label and "H100" in label and "50,000 training" in label
    save_result("other", {"accuracy": 1}, command="x")
    with pytest.raises(ValueError, match="runs"):
        saved_runs("other")


def test_command_line_trains_saves_and_prints_json(batches_dir, tmp_results, capsys):
    root, _ = batches_dir  # 100 random training images, 20 test images
    data = main(["--data", str(root), "--epochs", "1", "--batch-size", "16", "--train-subset", "32",
                 "--test-subset", "10", "--save", "--no-progress"])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(line["final"]) == set(NETS) and line["train_images"] == 32 and line["epochs"] == 1
    assert data["test_images"] == 10 and data["config"]["batch_size"] == 16
    loaded, label = saved_runs()
    assert loaded == json.loads(json.dumps(data["runs"]))
    assert "--train-subset 32" in label


def test_command_line_resumes_each_net_from_its_checkpoint(batches_dir, tmp_results, tmp_path, capsys):
    root, _ = batches_dir
    argv = ["--data", str(root), "--batch-size", "16", "--train-subset", "32", "--test-subset", "10",
            "--checkpoint-dir", str(tmp_path / "ck"), "--no-progress", "--save", "degradation_test"]
    first = main([*argv, "--epochs", "1"])
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == sorted(f"{n}.pt" for n in NETS)
    capsys.readouterr()
    again = main([*argv, "--epochs", "1", "--overwrite"])  # every net is finished: nothing is trained again
    assert capsys.readouterr().out.count("Resuming from") == len(NETS)
    assert again["runs"] == first["runs"]
    saved = load_result("degradation_test")
    assert saved["git_commit"] is None or len(saved["git_commit"]) >= 40
    assert saved["cpu"] and saved["wall_s"] == pytest.approx(sum(r["seconds"] for r in first["runs"].values()), abs=0.2)


def test_cli_refuses_to_save_a_quick_run_as_the_full_one():
    with pytest.raises(SystemExit):
        main(["--quick", "--save"])


# --------------------------------------------------------------------------- runs you can trust (issue 25)

def test_save_refuses_to_overwrite_before_training_unless_asked(batches_dir, tmp_results, capsys, monkeypatch):
    import helpers.degradation as D

    root, _ = batches_dir
    (tmp_results / "degradation_cpu.json").write_text('{"the": "real run"}')
    argv = ["--data", str(root), "--epochs", "1", "--batch-size", "16", "--train-subset", "32", "--test-subset", "10",
            "--nets", "resnet-20", "--no-progress", "--save", "degradation_cpu"]  # any case names ResNet-20
    with monkeypatch.context() as m:
        m.setattr(D, "run_experiment", lambda *a, **k: pytest.fail("trained before refusing"))
        with pytest.raises(SystemExit) as exit_:
            main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --save:" in err and "already exists" in err and "--overwrite" in err
    assert (tmp_results / "degradation_cpu.json").read_text() == '{"the": "real run"}'
    main([*argv, "--overwrite"])
    assert list(load_result("degradation_cpu")["data"]["runs"]) == ["ResNet-20"]


@pytest.mark.parametrize("extra, expected", [
    (["--epochs", "0"], "argument --epochs: epochs must be a positive int, got 0"),
    (["--batch-size", "-1"], "argument --batch-size: batch_size must be a positive int, got -1"),
    (["--test-subset", "0"], "argument --test-subset: test_subset must be a positive int, got 0"),
    (["--save", "../up"], "argument --save: name must be a plain file stem"),
])
def test_every_argument_error_is_one_line_naming_the_option(tmp_results, capsys, monkeypatch, extra, expected):
    import helpers.degradation as D

    monkeypatch.setattr(D, "run_experiment", lambda *a, **k: pytest.fail("trained before refusing"))
    with pytest.raises(SystemExit) as exit_:
        main(["--quick", *extra] if extra[0] != "--save" else extra)
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert exit_.value.code == 2 and len(errors) == 1 and expected in errors[0]


def test_checkpoints_record_the_net_and_a_foreign_or_garbage_one_is_refused(batches_dir, tmp_results, tmp_path,
                                                                            capsys):
    from helpers.degradation import checkpoint_path, net_identity

    assert net_identity("with BN") == net_identity("ResNet-56") != net_identity("plain-56")
    root, _ = batches_dir
    ck = tmp_path / "ck"
    argv = ["--data", str(root), "--epochs", "1", "--batch-size", "16", "--train-subset", "32", "--test-subset", "10",
            "--checkpoint-dir", str(ck), "--no-progress"]
    main([*argv, "--nets", "plain-20"])
    assert torch.load(checkpoint_path(ck, "plain-20"), weights_only=False)["identity"] == net_identity("plain-20")
    checkpoint_path(ck, "ResNet-20").write_bytes(checkpoint_path(ck, "plain-20").read_bytes())
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([*argv, "--nets", "ResNet-20"])
    assert "argument --checkpoint-dir: checkpoint" in capsys.readouterr().err
    checkpoint_path(ck, "ResNet-20").write_text("garbage")
    with pytest.raises(SystemExit):
        main([*argv, "--nets", "ResNet-20"])
    assert "cannot be read as a checkpoint" in capsys.readouterr().err


def test_a_checkpoint_written_before_the_record_still_resumes(tmp_path):
    """The seed-1 runs' checkpoints (written by the code before checkpoints recorded their net) resume."""
    train, test = tiny_loaders()
    first = train_side_by_side(train, test, paper_config(1, batch_size=16), nets=("plain-20",), checkpoint_dir=tmp_path)
    state = torch.load(tmp_path / "plain-20.pt", weights_only=False)
    del state["identity"], state["threads"]
    torch.save(state, tmp_path / "plain-20.pt")
    resumed = train_side_by_side(train, test, paper_config(2, batch_size=16), nets=("plain-20",),
                                 checkpoint_dir=tmp_path)
    assert resumed["plain-20"]["epoch"] == [1, 2] and resumed["plain-20"]["test_error"][0] == first["plain-20"]["test_error"][0]
    torch.save(state, tmp_path / "plain-56.pt")  # a 20-layer checkpoint where the 56-layer net resumes
    with pytest.raises(ValueError, match=r"holds another network: \d+ of this model's tensors are not in it"):
        train_side_by_side(train, test, paper_config(2, batch_size=16), nets=("plain-56",), checkpoint_dir=tmp_path)


def test_ctrl_c_says_which_checkpoints_hold_what_and_the_same_command_resumes(batches_dir, tmp_results, tmp_path,
                                                                             capsys, monkeypatch):
    import helpers.degradation as D

    root, _ = batches_dir
    argv = ["--data", str(root), "--epochs", "1", "--batch-size", "16", "--train-subset", "32", "--test-subset", "10",
            "--checkpoint-dir", str(tmp_path / "ck"), "--no-progress", "--nets", "plain-20", "ResNet-20"]
    real_fit, calls = D.fit, []

    def interrupted_second_net(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(D, "fit", interrupted_second_net)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 130
    assert err[-1] == (f"stopped (Ctrl-C); {tmp_path / 'ck' / 'plain-20.pt'} holds 1 epoch(s); to resume: "
                       f"python -m helpers.degradation {' '.join(argv)}")


def test_saved_seeds_average_only_the_same_experiment(tmp_results):
    from helpers.degradation import mean_std, ordering_in_seeds, saved_seeds, seeds_table

    def runs(plain56):
        curve = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "diverged": False, "params": 1, "seconds": 1.0}
        return {"plain-20": {**curve, "train_error": [0.3, 0.2], "test_error": [0.3, 0.21]},
                "plain-56": {**curve, "train_error": [0.6, plain56], "test_error": [0.6, plain56]}}

    def save(name, seed, plain56, epochs=2):
        data = {"runs": runs(plain56), "config": {"epochs": epochs, "lr": 0.1, "seed": seed, "bf16_autocast": False},
                "train_images": 100, "test_images": 50}
        save_result(name, data, "test")

    assert saved_seeds(("s0", "s1")) is None
    save("s0", 0, 0.5)
    save("s1", 1, 0.1)
    seeds = saved_seeds(("s0", "s1", "s2"))  # a seed not saved yet is left out
    assert seeds["seeds"] == [0, 1] and ordering_in_seeds(seeds, "plain-56", "plain-20") == (1, 2)
    assert mean_std([0.5, 0.1]) == pytest.approx((0.3, 0.28284271)) and mean_std([0.4]) == (0.4, 0.0)
    assert "plain-56: train  30.0 ± 28.3% (50.0 10.0)" in seeds_table(seeds)
    save("s2", 2, 0.5, epochs=3)  # another schedule: not the same experiment
    with pytest.raises(ValueError, match="s2.json is not the experiment of"):
        saved_seeds(("s0", "s1", "s2"))
    save("s3", 1, 0.5)
    with pytest.raises(ValueError, match="the same seed"):
        saved_seeds(("s0", "s1", "s3"))
