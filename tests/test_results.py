"""Tests of helpers.results: saved full-run results, loaded by the notebooks when present."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from helpers.paths import PROJECT_ROOT
from helpers.results import RESULTS_DIR_ENV, load_result, results_dir, save_result


@pytest.fixture
def tmp_results(monkeypatch, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    monkeypatch.setenv(RESULTS_DIR_ENV, str(folder))
    return folder


def test_default_folder_is_results_at_the_project_root(monkeypatch):
    monkeypatch.delenv(RESULTS_DIR_ENV, raising=False)
    assert results_dir() == PROJECT_ROOT / "results"


def test_missing_result_is_none(tmp_results):
    assert load_result("degradation") is None


def test_a_results_folder_that_does_not_exist_is_an_error_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path / "typo"))
    with pytest.raises(ValueError, match=r"RESNET_RESULTS_DIR='.*typo' is not an existing folder"):
        load_result("degradation")
    with pytest.raises(ValueError, match="RESNET_RESULTS_DIR"):
        save_result("r", {}, command="c")
    assert not (tmp_path / "typo").exists()


def test_round_trip_records_command_date_and_device(tmp_results):
    data = {"curves": {"plain-20": [0.9, 0.5, 0.25]}, "epochs": 3, "ok": True, "note": None}
    path = save_result("degradation", data, command="python -m helpers.degradation --epochs 3", device="cuda (H100)")
    assert path == tmp_results / "degradation.json"
    result = load_result("degradation")
    assert result["data"] == data
    assert result["command"] == "python -m helpers.degradation --epochs 3"
    assert result["device"] == "cuda (H100)"
    date = dt.datetime.fromisoformat(result["date"])
    assert date.tzinfo is not None and abs((dt.datetime.now(dt.UTC) - date).total_seconds()) < 60
    assert "torch" in result
    assert not list(tmp_results.glob("*.tmp"))  # written atomically, nothing left behind


def test_device_defaults_to_the_picked_device(tmp_results):
    from helpers.runtime import device_name

    save_result("x", [1, 2], command="make x")
    assert load_result("x")["device"] == device_name()


def test_an_existing_result_is_replaced_only_when_asked(tmp_results):
    save_result("r", {"a": 1}, command="one")
    with pytest.raises(FileExistsError, match=r"r\.json already exists; pass overwrite=True"):
        save_result("r", {"a": 2}, command="two")
    assert load_result("r")["data"] == {"a": 1}
    save_result("r", {"a": 2}, command="two", overwrite=True)
    assert load_result("r")["data"] == {"a": 2} and load_result("r")["command"] == "two"


@pytest.mark.parametrize("name", ["", "../up", "a/b", "with space", "degradation.json", 3, None])
def test_bad_names_are_refused(tmp_results, name):
    with pytest.raises(ValueError, match="name"):
        load_result(name)
    with pytest.raises(ValueError, match="name"):
        save_result(name, {}, command="c")


def test_bad_command_and_data_are_refused(tmp_results):
    with pytest.raises(ValueError, match="command"):
        save_result("r", {}, command="  ")
    with pytest.raises(TypeError, match="JSON"):
        save_result("r", {"t": object()}, command="c")
    with pytest.raises(TypeError, match="JSON"):
        save_result("r", {"nan": float("nan")}, command="c")
    assert load_result("r") is None  # nothing half-written


def test_foreign_or_broken_files_are_clear_errors(tmp_results):
    (tmp_results / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_result("broken")
    (tmp_results / "foreign.json").write_text(json.dumps({"accuracy": 0.9}))
    with pytest.raises(ValueError, match="lacks"):
        load_result("foreign")
    (tmp_results / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a saved result"):
        load_result("list")


def test_command_line_quotes_what_a_shell_would_split():
    from helpers.results import command_line

    assert command_line("python -m helpers.train", ["--data", "my data", "--epochs", "3"]) == \
        "python -m helpers.train --data 'my data' --epochs 3"


# --------------------------------------------------------------------------- the schema notebooks read

def _train_data() -> dict:
    history = {"epoch": [1, 2], "train_loss": [2.0, None], "train_acc": [0.2, 0.3], "test_loss": [2.1, 1.9],
               "test_acc": [0.25, 0.35], "lr": [0.1, 0.0]}
    return {"model": "resnet34", "width": 16, "epochs": 2, "test_acc": 0.35, "history": history,
            "confusion_matrix": [[1] * 10] * 10, "per_class_accuracy": [0.5] * 10}


def _runs_data() -> dict:
    runs = {"plain-20": {"epoch": [1, 2], "train_error": [0.9, 0.5], "test_error": [0.9, 0.6], "params": 10,
                         "seconds": 3.0, "train_loss": [2.0, None], "diverged": True}}
    return {"runs": runs, "config": {"epochs": 2}}


@pytest.mark.parametrize("name", ["batch_norm_cpu", "degradation_cpu", "resnet34_cifar10_cpu", "plain34_cifar10_cpu",
                                  "resnet34_time_to_accuracy_cpu"])
def test_the_committed_results_fit_their_schema(name, monkeypatch):
    monkeypatch.delenv(RESULTS_DIR_ENV, raising=False)
    if not (PROJECT_ROOT / "results" / f"{name}.json").is_file():
        pytest.skip(f"results/{name}.json is not in this checkout")
    assert load_result(name)["data"]


@pytest.mark.parametrize("edit, field, expected", [
    (lambda d: d.pop("history"), "data.history", "present"),
    (lambda d: d.update(test_acc="91%"), "data.test_acc", "an accuracy in"),
    (lambda d: d["history"]["test_acc"].pop(), "data.history.test_acc", r"a list of .*, one per epoch \(2\)"),
    (lambda d: d["history"]["train_acc"].__setitem__(1, "x"), r"data.history.train_acc\[1\]", "accuracies"),
    (lambda d: d.update(width="16"), "data.width", "a count"),
    (lambda d: d.update(confusion_matrix=[[1, 2]]), r"data.confusion_matrix\[0\]", "10 rows of 10 counts"),
])
def test_a_hand_edited_training_result_names_the_file_and_the_field(tmp_results, edit, field, expected):
    data = _train_data()
    save_result("run", data, command="python -m helpers.train --save-result run")
    assert load_result("run")["data"] == data
    edit(data)
    raw = json.loads((tmp_results / "run.json").read_text())
    (tmp_results / "run.json").write_text(json.dumps({**raw, "data": data}))
    with pytest.raises(ValueError, match=rf"run\.json: {field} must be {expected}"):
        load_result("run")


@pytest.mark.parametrize("edit, field", [
    (lambda d: d.pop("runs"), "data.runs"),
    (lambda d: d["runs"]["plain-20"]["test_error"].append(0.5), r"data.runs\['plain-20'\].test_error"),
    (lambda d: d["runs"]["plain-20"].update(train_error=[90, 50]), r"data.runs\['plain-20'\].train_error\[0\]"),
    (lambda d: d["runs"]["plain-20"].update(seconds="3 s"), r"data.runs\['plain-20'\].seconds"),
    (lambda d: d["config"].update(epochs=None), "data.config.epochs"),
])
def test_a_hand_edited_degradation_result_names_the_file_and_the_field(tmp_results, edit, field):
    data = _runs_data()
    save_result("deg", data, command="python -m helpers.degradation --save deg")
    assert load_result("deg", kind="runs")["data"] == data
    edit(data)
    raw = json.loads((tmp_results / "deg.json").read_text())
    (tmp_results / "deg.json").write_text(json.dumps({**raw, "data": data}))
    with pytest.raises(ValueError, match=rf"deg\.json: {field} must be"):
        load_result("deg", kind="runs")


def test_provenance_fields_are_checked_and_other_results_are_not(tmp_results):
    save_result("other", {"anything": [1, "two"]}, command="make other", wall_s=3.0)
    assert load_result("other")["data"] == {"anything": [1, "two"]}  # no kind: only the record is checked
    raw = json.loads((tmp_results / "other.json").read_text())
    (tmp_results / "other.json").write_text(json.dumps({**raw, "wall_s": "an hour"}))
    with pytest.raises(ValueError, match=r"other\.json: wall_s must be seconds"):
        load_result("other")
    with pytest.raises(ValueError, match="kind must be one of"):
        load_result("other", kind="histories")
