"""The committed result files are what the notebooks say they are: real scale, with their provenance, and
showing what the notebooks' prose reads from them. (A regenerated file that no longer shows it fails here,
and the prose must then change with it.)"""
from __future__ import annotations

import nbformat
import pytest

from helpers.paths import PROJECT_ROOT
from helpers.results import load_result
from helpers.runtime import CPU_KINDS
from helpers.train import History

PROVENANCE = ("command", "date", "device", "cpu", "torch", "git_commit", "wall_s")


def _load(name):
    result = load_result(name)
    assert result is not None, f"results/{name}.json is missing, and a notebook reads it"
    assert all(result.get(key) for key in PROVENANCE), f"{name}: provenance incomplete"
    return result


def test_degradation_cpu_run_is_real_scale_and_shows_what_notebook_03_says():
    data = _load("degradation_cpu")["data"]
    assert data["train_images"] == 50_000 and data["test_images"] == 10_000
    runs = data["runs"]
    final = {name: {key: run[key][-1] for key in ("train_error", "test_error")} for name, run in runs.items()}
    epochs = {len(run["epoch"]) for run in runs.values()}
    assert epochs == {data["config"]["epochs"]}  # every net finished its schedule
    assert final["plain-56"]["train_error"] > final["plain-20"]["train_error"]  # degradation
    assert final["ResNet-56"]["train_error"] < final["ResNet-20"]["train_error"]  # depth helps, with shortcuts
    assert final["ResNet-56"]["test_error"] < final["ResNet-20"]["test_error"]
    assert final["ResNet-56"]["train_error"] < final["plain-56"]["train_error"]


@pytest.mark.parametrize("name", ["resnet34_cifar10_cpu", "plain34_cifar10_cpu", "resnet34_time_to_accuracy_cpu"])
def test_resnet34_cpu_run_is_the_real_network_on_all_images(name):
    data = _load(name)["data"]
    assert data["width"] == 64 and data["params"] > 21_000_000
    assert data["train_images"] == 50_000 and data["test_images"] == 10_000
    assert len(data["history"]["epoch"]) == data["epochs"] == data["config"]["epochs"]  # the schedule completed
    confusion = data["confusion_matrix"]
    assert sum(map(sum, confusion)) == 10_000 and all(sum(row) == 1_000 for row in confusion)
    assert sum(confusion[i][i] for i in range(10)) / 10_000 == pytest.approx(data["test_acc"], abs=1e-4)


def test_plain34_trails_resnet34_at_the_same_budget_as_notebook_06_says():
    resnet, plain = _load("resnet34_cifar10_cpu")["data"], _load("plain34_cifar10_cpu")["data"]
    assert resnet["model"] == "resnet34" and plain["model"] == "resnet34-plain"
    assert resnet["config"] == plain["config"]  # same epochs, batch, learning rate, seed: the same budget
    assert resnet["test_acc"] >= 0.85 > plain["test_acc"]
    prose = next(c.source for c in nbformat.read(PROJECT_ROOT / "notebooks/06_resnet34_on_cifar10.ipynb", 4).cells
                 if c.get("id") == "cell-real-cpu-prose")
    for value in (resnet["test_acc"], plain["test_acc"]):
        assert f"{100 * value:.1f}%" in prose, "06's prose quotes other numbers than the saved runs"
    assert f"same {resnet['epochs']} epochs" in prose
    setup = next(c.source for c in nbformat.read(PROJECT_ROOT / "notebooks/06_resnet34_on_cifar10.ipynb", 4).cells
                 if c.get("id") == "cell-036")  # the markdown that introduces the saved runs says their budget too
    assert f"{resnet['epochs']} epochs at batch {resnet['batch_size']}" in setup


def test_time_to_accuracy_run_is_the_real_network_and_06_and_the_readme_quote_its_times():
    result = _load("resnet34_time_to_accuracy_cpu")
    data = result["data"]
    assert result["cpu_kind"] in CPU_KINDS  # times compare only within a kind
    assert data["model"] == "resnet34" and data["epochs"] == 16  # long enough; the real network: the test above
    history = History.from_dict(data["history"])
    assert history.epoch == list(range(1, 17)) and history.elapsed_s == sorted(history.elapsed_s)
    assert result["wall_s"] == pytest.approx(history.elapsed_s[-1], abs=0.1)  # summed over resumed sessions
    cells = {c.get("id"): " ".join(c.source.split())  # one line: a phrase may wrap
             for c in nbformat.read(PROJECT_ROOT / "notebooks/06_resnet34_on_cifar10.ipynb", 4).cells}
    readme_row = next(line for line in (PROJECT_ROOT / "README.md").read_text().splitlines()
                      if line.startswith("| `resnet34_time_to_accuracy_cpu.json`"))
    texts = {"06's cell-tta-prose": cells["cell-tta-prose"], "06's summary": cells["cell-038"],
             "the README's row": readme_row}
    for target in (0.80, 0.85, 0.90):
        seconds = history.time_to(target)
        quoted = (f"{target:.0%} after {seconds / 3600:.1f} h" if seconds is not None
                  else f"{target:.0%} not reached")  # each time beside its own target
        for where, text in texts.items():
            assert quoted in text, f"{where} does not say '{quoted}'"
    for where, text in texts.items():
        assert f"{100 * max(history.test_acc):.1f}%" in text, f"{where} does not quote the best accuracy"
        assert result["cpu_kind"] in text, f"{where} does not name the CPU kind"
    # the epoch-8 answer to the question, beside the 8-epoch run's final accuracy and learning rate
    eight = History.from_dict(_load("resnet34_cifar10_cpu")["data"]["history"])
    at = len(eight.epoch)
    answer = f"{100 * history.test_acc[at - 1]:.1f}% against the {at}-epoch run's {100 * eight.test_acc[-1]:.1f}%"
    assert answer in cells["cell-tta-prose"]
    assert (history.test_acc[at - 1] < eight.test_acc[-1]) == ("*behind*" in cells["cell-tta-prose"])
    assert f"still {history.lr[at - 1]:.3f}" in cells["cell-tta-prose"]


def test_batch_norm_cpu_run_shows_what_notebook_04_says():
    result = _load("batch_norm_cpu")
    data = result["data"]
    assert data["train_images"] == 50_000 and data["test_images"] == 10_000
    assert data["nets"] == {"with BN": {"depth": 56}, "no BN": {"depth": 56, "batch_norm": False},
                            "no BN, zero-init": {"depth": 56, "batch_norm": False, "zero_init_residual": True}}
    runs, epochs = data["runs"], data["config"]["epochs"]
    assert runs["no BN"]["diverged"] and len(runs["no BN"]["epoch"]) < epochs  # stopped: the loss blew up
    for name in ("with BN", "no BN, zero-init"):  # the other two finished their schedule
        assert not runs[name]["diverged"] and len(runs[name]["epoch"]) == epochs
    prose = next(c.source for c in nbformat.read(PROJECT_ROOT / "notebooks/04_batch_norm.ipynb", 4).cells
                 if c.get("id") == "cell-bn-real-prose")
    for name in ("with BN", "no BN, zero-init"):
        for key in ("train_error", "test_error"):
            assert f"{100 * runs[name][key][-1]:.1f}%" in prose, f"04's prose quotes another {key} for {name}"
    assert f"epoch {runs['no BN']['epoch'][-1]}" in prose


def test_every_saved_seed_shows_what_notebook_03_says():
    """03's prose states only the orderings that hold in every saved seed, and quotes the means over them."""
    from helpers.degradation import CPU_SEED_RESULT_NAMES, mean_std, ordering_in_seeds, saved_seeds

    seeds = saved_seeds()
    for name in seeds["names"]:
        _load(name)  # provenance complete
    assert seeds["names"][:2] == list(CPU_SEED_RESULT_NAMES[:2]), "seeds 0 and 1 are committed"
    n = len(seeds["seeds"])
    for a, b, key in [("plain-56", "plain-20", "train_error"), ("plain-56", "plain-20", "test_error"),
                      ("plain-56", "ResNet-56", "train_error"), ("ResNet-20", "ResNet-56", "train_error"),
                      ("ResNet-20", "ResNet-56", "test_error")]:
        assert ordering_in_seeds(seeds, a, b, key) == (n, n), f"{a} above {b} ({key}) does not hold in every seed"
    for runs in seeds["runs"]:  # "after the first epoch ResNet-56 was still behind ResNet-20"
        assert runs["ResNet-56"]["train_error"][0] > runs["ResNet-20"]["train_error"][0]
    std = {name: mean_std([runs[name]["train_error"][-1] for runs in seeds["runs"]])[1] for name in seeds["runs"][0]}
    assert std["plain-56"] > 0.02 and std["plain-56"] > 3 * max(v for k, v in std.items() if k != "plain-56")
    cells = {c.get("id"): c.source for c in nbformat.read(PROJECT_ROOT / "notebooks/03_residual_blocks.ipynb", 4).cells}
    prose, summary = cells["cell-real-1"], cells["cell-028"]
    assert f"in each of the {n} saved seeds" in prose and f"{n} seeds)" in summary
    for name, key in [("plain-56", "train_error"), ("plain-20", "train_error"), ("plain-56", "test_error"),
                      ("plain-20", "test_error"), ("ResNet-56", "train_error"), ("ResNet-20", "train_error"),
                      ("ResNet-56", "test_error"), ("ResNet-20", "test_error")]:
        mean = mean_std([runs[name][key][-1] for runs in seeds["runs"]])[0]
        assert f"{100 * mean:.1f}%" in prose, f"03 quotes another mean {key} for {name} than the saved seeds give"
    readme = (PROJECT_ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `degradation_cpu.json` (seed 0)"))
    assert f"over the {n} seeds" in row
    for name in ("plain-20", "plain-56", "ResNet-20", "ResNet-56"):
        for key in ("train_error", "test_error"):
            mean, std = mean_std([runs[name][key][-1] for runs in seeds["runs"]])
            assert f"{100 * mean:.1f} ± {100 * std:.1f}%" in row, f"the README quotes another {key} for {name}"
    seed0 = seeds["runs"][0]
    gap = 100 * (seed0["ResNet-20"]["test_error"][-1] - seed0["ResNet-56"]["test_error"][-1])
    assert f"in seed 0 alone it was {gap:.1f} points" in prose


def _nb07_source(cell_id: str) -> str:
    cells = nbformat.read(PROJECT_ROOT / "notebooks/07_what_the_shortcuts_do.ipynb", 4).cells
    return next(c.source for c in cells if c.get("id") == cell_id)


@pytest.mark.parametrize("name", ["lesions_cpu", "landscape_cpu"])
def test_07s_saved_studies_are_of_the_shipped_networks(name):
    """A lesion or landscape file measured other weights than the ones shipped today: it no longer belongs in 07."""
    from helpers import pretrained

    data = _load(name)["data"]
    assert set(data["nets"]) == {"resnet56", "plain56"}
    for net, study in data["nets"].items():
        assert study["record"]["sha256"] == pretrained.record(net)["sha256"], f"{name}: {net} is not the shipped net"


def test_07s_saved_lesions_are_the_larger_study_07_says():
    data = _load("lesions_cpu")["data"]
    assert data["split"] == "test" and data["images"] == 10_000  # "on all 10,000 test images"
    resnet, plain = data["nets"]["resnet56"], data["nets"]["plain56"]
    assert resnet["residual"] and not plain["residual"]
    assert len(resnet["single"]) == 27 and sum(e is not None for e in resnet["single"].values()) == 27
    assert sum(e is None for e in plain["single"].values()) == len(plain["downsampling"]) == 2
    draws = {len(v["errors"]) for study in (resnet, plain) for v in study["random"].values()}
    assert draws == {5} and sorted(map(int, resnet["random"])) == list(range(1, 11))  # more draws than 07's 3
    assert "all 10,000 test images, with more random draws" in _nb07_source("cell-lesions-saved-md")


def test_07s_saved_landscape_is_the_larger_grid_07_says():
    data = _load("landscape_cpu")["data"]
    assert data["split"] == "train"
    for study in data["nets"].values():
        steps = len(study["alphas"])
        assert steps > 9 and len(study["loss_2d"]) == steps and {len(row) for row in study["loss_2d"]} == {steps}
        assert study["images"] == data["images"] > 256  # finer and on more images than 07's full mode (9x9, 256)
    assert "A finer grid on more training images" in _nb07_source("cell-landscape-saved-md")
