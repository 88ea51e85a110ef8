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
    monkeypatch.setenv(RESULTS_DIR_ENV, str(folder))
    return folder


def test_default_folder_is_results_at_the_project_root(monkeypatch):
    monkeypatch.delenv(RESULTS_DIR_ENV, raising=False)
    assert results_dir() == PROJECT_ROOT / "results"


def test_missing_result_is_none(tmp_results):
    assert load_result("degradation") is None  # the folder does not even exist
    tmp_results.mkdir()
    assert load_result("degradation") is None


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


def test_overwrite_replaces(tmp_results):
    save_result("r", {"a": 1}, command="one")
    save_result("r", {"a": 2}, command="two")
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
    tmp_results.mkdir()
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
