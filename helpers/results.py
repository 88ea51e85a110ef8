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
from helpers.runtime import device_name

#: overrides the folder (tests point it at a temporary directory)
RESULTS_DIR_ENV = "RESNET_RESULTS_DIR"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def results_dir() -> Path:
    """The folder holding the result files: ``$RESNET_RESULTS_DIR`` if set, else ``results/`` (inside the
    package when it is installed rather than used from a checkout)."""
    return Path(os.environ.get(RESULTS_DIR_ENV) or shipped_results_dir())


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
    return {"cpu": cpu_model(), "git_commit": git_commit(), "torch": torch.__version__,
            "python": platform.python_version(), "threads": torch.get_num_threads()}


def load_result(name: str) -> dict[str, Any] | None:
    """The saved result ``name`` (a dict with ``data``, ``command``, ``date``, ``device``), or None
    when there is no such file. A file that exists but is not a saved result is an error."""
    path = _path(name)
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); delete it or save it again.") from error
    missing = [key for key in ("data", "command", "date", "device") if not isinstance(result, dict) or key not in result]
    if missing:
        raise ValueError(f"{path} is not a saved result: it lacks {missing} (write it with save_result).")
    return result


def save_result(name: str, data: Any, command: str, *, device: str | None = None, wall_s: float | None = None,
                origin: dict[str, Any] | None = None) -> Path:
    """Write ``data`` (anything JSON can hold) as result ``name``, with the command that made it, the
    date, the device (``helpers.runtime.device_name()`` unless given), the wall time and ``origin``
    (:func:`provenance`, taken at the start of the run; taken now when not given). Returns the file's path."""
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
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        tmp.write(text + "\n")
    os.replace(tmp.name, path)  # atomic: a reader never sees half a file
    return path
