"""Results of full (GPU) runs, kept as small JSON files in ``results/`` so that a notebook run in
quick mode on a laptop can still show what the real experiment measured, clearly labelled.

Every file records how it was made: the command, the date (UTC), the device, the CPU model, the torch
version, the git commit the run started from (and whether the tree had uncommitted changes) and, when
the caller gives it, the wall time.

    save_result("degradation", {"curves": ...}, command="python -m helpers.degradation --full")
    result = load_result("degradation")   # None when no full run has been saved
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from helpers.paths import PROJECT_ROOT, in_checkout, shipped_results_dir
from helpers.runtime import cpu_kind, device_name, env_dir

#: overrides the folder (tests point it at a temporary directory)
RESULTS_DIR_ENV = "RESNET_RESULTS_DIR"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def results_dir() -> Path:
    """The folder holding the result files: ``$RESNET_RESULTS_DIR`` if set (an existing folder, else an
    error naming the variable), else ``results/`` (inside the package when it is installed rather than used
    from a checkout)."""
    return env_dir(RESULTS_DIR_ENV) or shipped_results_dir()


def _path(name: str) -> Path:
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith(".json"):
        raise ValueError(f"name must be a plain file stem such as 'degradation' (letters, digits, '_', '-', '.'), "
                         f"got {name!r}")
    return results_dir() / f"{name}.json"


def command_line(prog: str, argv: list[str] | None = None) -> str:
    """The command that ran ``prog`` with ``argv`` (default: this process's arguments), shell-quoted,
    as :func:`save_result` records it."""
    words = sys.argv[1:] if argv is None else argv
    return " ".join([prog, *(shlex.quote(w) for w in words)])


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), e.g. 'Intel(R) Xeon(R) Processor', with the core count."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def git_commit() -> str | None:
    """The checkout's commit, with '+dirty' when tracked files have uncommitted changes (None outside a checkout)."""
    if not in_checkout():
        return None

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
                              timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def provenance() -> dict[str, Any]:
    """Where and from what code a run is made; call it when the run *starts* (the tree may change later)."""
    return {"cpu": cpu_model(), "cpu_kind": cpu_kind(), "git_commit": git_commit(), "torch": torch.__version__,
            "python": platform.python_version(), "threads": torch.get_num_threads()}


# --------------------------------------------------------------------------- the schema notebooks read
#
# A hand-edited or foreign file must fail when it is loaded, naming the file and the field, not three
# cells later with a KeyError or "Unknown format code '%'". Two kinds of data are checked: "runs" (written by
# python -m helpers.degradation --save) and "train" (python -m helpers.train --save-result, notebook 06).

KINDS = ("runs", "train")


class ResultError(ValueError):
    """A result file that is not what the code reading it expects (the message names the file and field)."""


def _number(value: Any, low: float = -math.inf, high: float = math.inf) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and low <= value <= high


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _fraction(value: Any) -> bool:
    return _number(value, 0.0, 1.0)


def _loss(value: Any) -> bool:
    return value is None or _number(value)  # None: not a finite number (a diverged epoch)


def _check(path: Path, field: str, ok: bool, expected: str, value: Any) -> None:
    if not ok:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise ResultError(f"{path}: {field} must be {expected}, got {shown} (hand-edited? save it again with the "
                          "command that made it)")


def _check_list(path: Path, field: str, values: Any, item: Any, expected: str, length: int | None = None) -> None:
    ok = isinstance(values, list) and (length is None or len(values) == length)
    _check(path, field, ok, f"a list of {expected}" + ("" if length is None else f", one per epoch ({length})"), values)
    for i, value in enumerate(values):
        _check(path, f"{field}[{i}]", item(value), expected, value)


def _check_optional(path: Path, data: dict, prefix: str, fields: dict[str, tuple[Any, str]]) -> None:
    for key, (ok, expected) in fields.items():
        if key in data:
            _check(path, f"{prefix}{key}", ok(data[key]), expected, data[key])


def _check_history(path: Path, field: str, history: Any) -> None:
    _check(path, field, isinstance(history, dict) and "epoch" in history,
           "a dict of per-epoch lists (History.to_dict())", history)
    _check_list(path, f"{field}.epoch", history["epoch"], lambda e: _count(e) and e >= 1, "epoch numbers")
    epochs = len(history["epoch"])
    for key, item, expected in (("train_acc", _fraction, "accuracies in [0, 1]"),
                                ("test_acc", _fraction, "accuracies in [0, 1]"),
                                ("train_loss", _loss, "losses (numbers, or null)"),
                                ("test_loss", _loss, "losses (numbers, or null)")):
        _check(path, f"{field}.{key}", key in history, "present", "nothing")
        _check_list(path, f"{field}.{key}", history[key], item, expected, epochs)
    for key in ("lr", "images_per_s", "elapsed_s"):
        if key in history:
            _check_list(path, f"{field}.{key}", history[key], _number, "numbers", epochs)


def _check_runs(path: Path, data: dict) -> None:
    runs = data.get("runs")
    _check(path, "data.runs", isinstance(runs, dict) and runs, "a non-empty dict of net name -> curves", runs)
    for name, run in runs.items():
        field = f"data.runs[{name!r}]"
        _check(path, field, isinstance(run, dict) and "epoch" in run, "a dict of curves with 'epoch'", run)
        _check_list(path, f"{field}.epoch", run["epoch"], lambda e: _count(e) and e >= 1, "epoch numbers")
        for key in ("train_error", "test_error"):
            _check(path, f"{field}.{key}", key in run, "present", "nothing")
            _check_list(path, f"{field}.{key}", run[key], _fraction, "errors in [0, 1]", len(run["epoch"]))
        if "train_loss" in run:
            _check_list(path, f"{field}.train_loss", run["train_loss"], _loss, "losses (numbers, or null)",
                        len(run["epoch"]))
        _check_optional(path, run, f"{field}.", {"params": (_count, "a parameter count"),
                                                 "seconds": (_number, "a number of seconds"),
                                                 "diverged": (lambda v: isinstance(v, bool), "true or false")})
    config = data.get("config", {})
    _check(path, "data.config", isinstance(config, dict), "a dict", config)
    _check_optional(path, config, "data.config.", {"epochs": (_count, "a number of epochs")})


def _check_train(path: Path, data: dict) -> None:
    _check(path, "data.history", "history" in data, "present (the run's History.to_dict())", "nothing")
    _check_history(path, "data.history", data["history"])
    _check(path, "data.test_acc", _fraction(data.get("test_acc")), "an accuracy in [0, 1]", data.get("test_acc"))
    if "plain_history" in data:
        _check_history(path, "data.plain_history", data["plain_history"])
    _check_optional(path, data, "data.", {
        **{key: (_count, "a count") for key in ("epochs", "width", "params", "train_images", "test_images")},
        "time_to_94_s": (lambda v: v is None or _number(v), "a number of seconds, or null"),
        "diverged": (lambda v: isinstance(v, bool), "true or false")})
    if "confusion_matrix" in data:
        _check_list(path, "data.confusion_matrix", data["confusion_matrix"],
                    lambda row: isinstance(row, list) and len(row) == 10 and all(map(_count, row)),
                    "10 rows of 10 counts")
    if "per_class_accuracy" in data:
        _check_list(path, "data.per_class_accuracy", data["per_class_accuracy"], _fraction, "accuracies in [0, 1]")


def _kind_of(data: Any) -> str | None:
    """The kind of ``data`` by its content, or None for other results (which are not checked)."""
    if isinstance(data, dict) and "runs" in data:
        return "runs"
    if isinstance(data, dict) and ("history" in data or "test_acc" in data):
        return "train"
    return None


def load_result(name: str, kind: str | None = None) -> dict[str, Any] | None:
    """The saved result ``name`` (a dict with ``data``, ``command``, ``date``, ``device``), or None
    when there is no such file. A file that exists but is not a saved result is an error, and so is data
    that does not fit its kind (``kind``: "runs" or "train"; None: told by the content), naming the field."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS} or None, got {kind!r}")
    path = _path(name)
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ResultError(f"{path} is not valid JSON ({error}); delete it or save it again.") from error
    missing = [key for key in ("data", "command", "date", "device") if not isinstance(result, dict) or key not in result]
    if missing:
        raise ResultError(f"{path} is not a saved result: it lacks {missing} (write it with save_result).")
    for key in ("command", "date", "device"):
        _check(path, key, isinstance(result[key], str) and result[key], "a non-empty string", result[key])
    _check(path, "wall_s", result.get("wall_s") is None or _number(result["wall_s"], 0), "seconds, or null",
           result.get("wall_s"))
    kind = kind or _kind_of(result["data"])
    if kind is not None:
        _check(path, "data", isinstance(result["data"], dict), "a dict", result["data"])
        (_check_runs if kind == "runs" else _check_train)(path, result["data"])
    return result


def made_by(result: dict[str, Any]) -> str:
    """How a saved result was made, for a figure's title or a table's label: the command, the device and
    CPU, and the date."""
    where = f"on {result['device']}" + (f" ({result['cpu']})" if result.get("cpu") else "")
    return f"`{result['command']}` {where}, {str(result['date'])[:10]}"


def existing_result(name: str) -> Path | None:
    """The file of result ``name`` if it exists (for a command line to refuse before it trains), else None."""
    path = _path(name)
    return path if path.exists() else None


def save_result(name: str, data: Any, command: str, *, device: str | None = None, wall_s: float | None = None,
                origin: dict[str, Any] | None = None, overwrite: bool = False) -> Path:
    """Write ``data`` (anything JSON can hold) as result ``name``, with the command that made it, the
    date, the device (``helpers.runtime.device_name()`` unless given), the wall time and ``origin``
    (:func:`provenance`, taken at the start of the run; taken now when not given). Returns the file's path.
    An existing result is replaced only with ``overwrite=True``: a committed result is evidence."""
    if not isinstance(command, str) or not command.strip():
        raise ValueError(f"command must be the non-empty command line that produced the result, got {command!r}")
    if device is None:
        device = device_name()
    origin = provenance() if origin is None else origin
    result = {
        "command": command,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "device": device,
        **origin,
        "wall_s": None if wall_s is None else round(float(wall_s), 1),
        "data": data,
    }
    try:
        text = json.dumps(result, indent=1, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"data must hold only JSON values (dict, list, str, finite numbers, bool, None): {error}") \
            from error
    path = _path(name)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        tmp.write(text + "\n")
    os.replace(tmp.name, path)  # atomic: a reader never sees half a file
    return path
