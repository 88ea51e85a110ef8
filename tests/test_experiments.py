"""helpers.experiments: one command line for every experiment, in one shape; the old module spellings still run."""
from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import experiments

SHARED = ("--seed", "--data", "--save", "--overwrite", "--no-progress")


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_every_experiment_takes_the_shared_options(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        experiments.main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m helpers.experiments {name} ")
    assert all(option in out for option in SHARED), [option for option in SHARED if option not in out]


def test_the_listing_names_every_experiment_and_its_notebook(capsys):
    with pytest.raises(SystemExit):
        experiments.main(["--help"])
    out = capsys.readouterr().out
    for name, experiment in experiments.EXPERIMENTS.items():
        assert f"  {name} " in out and f"(notebook {experiment.notebook})" in out


@pytest.mark.parametrize("argv, expected", [
    ([], "the following arguments are required: NAME"),
    (["resnet"], "argument NAME: invalid choice: 'resnet'"),
    (["resnet34", "--save", "../up"], "argument --save: name must be a plain file stem"),
    (["lesions", "--draws", "0"], "--draws must be"),
])
def test_a_mistake_is_one_line(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_:
        experiments.main(argv)
    assert exit_.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and expected in errors[0], errors


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
@pytest.mark.parametrize("argv, threads, expected", [
    (["--seed", "-1"], None, "argument --seed: seed must be an int >= 0, got -1"),
    ([], "10000", "RESNET_THREADS=10000 is more than"),
])
def test_every_experiment_refuses_a_bad_seed_or_thread_count_alike(name, argv, threads, expected, capsys,
                                                                   monkeypatch):
    monkeypatch.setenv("RESNET_DEVICE", "cpu")
    if threads is not None:
        monkeypatch.setenv("RESNET_THREADS", threads)
    with pytest.raises(SystemExit) as exit_:
        experiments.main([name, *argv])
    assert exit_.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and expected in errors[0], errors


def test_the_old_spelling_of_save_still_reaches_the_same_check(capsys):
    with pytest.raises(SystemExit):
        experiments.resnet34_main(["--save-result", "../up"], prog="python -m helpers.train")
    assert "python -m helpers.train: error: argument --save: name must be a plain file stem" in capsys.readouterr().err


@pytest.mark.parametrize("argv, prog", [
    (["helpers.train", "--model", "vgg"], "python -m helpers.train"),  # the commands older results record
    (["helpers.degradation", "--nets", "vgg"], "python -m helpers.degradation"),
    (["helpers.shortcuts", "lesions", "--draws", "0"], "python -m helpers.shortcuts"),
    (["helpers.experiments", "resnet34", "--model", "vgg"], "python -m helpers.experiments resnet34"),
])
def test_every_module_spelling_runs_from_a_shell(argv, prog):
    done = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, timeout=120)
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert done.returncode == 2 and len(errors) == 1 and errors[0].startswith(f"{prog}: error: "), done.stderr[-1500:]
