"""Results of full (GPU) runs, kept as small JSON files in ``results/`` so that a notebook run in
quick mode on a laptop can still show what the real experiment measured, clearly labelled.

Every file records how it was made: the command, the date (UTC) and the device.

    save_result("degradation", {"curves": ...}, command="python -m helpers.degradation --full")
    result = load_result("degradation")   # None when no full run has been saved
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: overrides the folder (tests point it at a temporary directory)
RESULTS_DIR_ENV = "RESNET_RESULTS_DIR"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def results_dir() -> Path:
    """The folder holding the result files: ``$RESNET_RESULTS_DIR`` if set, else ``results/``."""
    return Path(os.environ.get(RESULTS_DIR_ENV) or PROJECT_ROOT / "results")


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


def save_result(name: str, data: Any, command: str, *, device: str | None = None) -> Path:
    """Write ``data`` (anything JSON can hold) as result ``name``, with the command that made it, the
    date and the device (``helpers.runtime.device_name()`` unless given). Returns the file's path."""
    if not isinstance(command, str) or not command.strip():
        raise ValueError(f"command must be the non-empty command line that produced the result, got {command!r}")
    if device is None:
        from helpers.runtime import device_name

        device = device_name()
    import torch

    result = {
        "command": command,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "device": device,
        "torch": torch.__version__,
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
