"""Networks this project trained itself and ships as results: plain-20, plain-56, ResNet-20 and ResNet-56
of the degradation experiment (all 50,000 CIFAR-10 training images, the real-scale CPU budget of
``helpers.degradation --cpu``), one seed, as fp16 state dicts of a few MB in all.

    from helpers.pretrained import load
    model = load("resnet56")          # trained, in eval mode, on the CPU
    record("resnet56")["test_error"]  # what it scored when it was trained, and how it was made

Each ``results/pretrained/<name>.pt`` has a record ``<name>.json`` beside it: the training command, date,
device and CPU, torch, git commit, epochs, final train and test error, and the file's SHA-256, so that
:func:`load` refuses a file that is not the one the record describes. The files are written from a
finished run's checkpoints and its saved result by

    python -m helpers.pretrained --checkpoint-dir checkpoints/degradation_cpu_seed1 --result degradation_cpu_seed1

which refuses to replace shipped files unless asked (``--overwrite``).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from helpers.degradation import NETS
from helpers.models import cifar_resnet, count_parameters
from helpers.results import command_line, load_result, results_dir

#: the shipped networks: loader name -> the degradation experiment's net name
NAMES: dict[str, str] = {"plain20": "plain-20", "plain56": "plain-56", "resnet20": "ResNet-20", "resnet56": "ResNet-56"}
FOLDER = "pretrained"
_RECORD_KEYS = ("net", "depth", "residual", "seed", "command", "date", "device", "cpu", "torch", "git_commit",
                "epochs", "train_error", "test_error", "params", "sha256")


def _check_name(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"name must be one of {', '.join(NAMES)}, got {name!r}")
    return name


def paths(name: str) -> tuple[Path, Path]:
    """The weights file and its record: ``results/pretrained/<name>.pt`` and ``.json``."""
    folder = results_dir() / FOLDER
    return folder / f"{_check_name(name)}.pt", folder / f"{name}.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(name: str) -> dict[str, Any]:
    """The provenance record of network ``name`` (see the module docstring); a clear error when it is
    missing or lacks a field."""
    _, record_path = paths(name)
    if not record_path.is_file():
        raise FileNotFoundError(f"no record for {name!r} at {record_path}: this copy does not ship the trained "
                                f"networks (they are written by python -m helpers.pretrained; see its docstring)")
    try:
        data = json.loads(record_path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{record_path} is not valid JSON ({error})") from error
    missing = [key for key in _RECORD_KEYS if not isinstance(data, dict) or key not in data]
    if missing:
        raise ValueError(f"{record_path} is not a shipped network's record: it lacks {missing}")
    return data


def load(name: str) -> nn.Module:
    """The trained network ``name`` (one of :data:`NAMES`), built with ``helpers.models.cifar_resnet``,
    fp32, in eval mode, on the CPU. Refuses a weights file that is missing, differs from its record
    (SHA-256), or does not fit the network the record names."""
    info = record(name)
    weights_path, record_path = paths(name)
    if not weights_path.is_file():
        raise FileNotFoundError(f"{weights_path} is missing (its record {record_path} is there)")
    if _sha256(weights_path) != info["sha256"]:
        raise ValueError(f"{weights_path} does not match its record {record_path} (SHA-256 differs): the file was "
                         "changed after it was written; restore it (git checkout) or write it again")
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    model = cifar_resnet(info["depth"], residual=info["residual"])
    expected = model.state_dict()
    wrong = sorted(set(expected) ^ set(state)) or [k for k in expected if expected[k].shape != state[k].shape]
    if wrong:
        raise ValueError(f"{weights_path} does not fit {info['net']} (depth {info['depth']}, residual "
                         f"{info['residual']}): {len(wrong)} mismatching tensors, first {wrong[0]!r}")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    if count_parameters(model) != info["params"]:
        raise ValueError(f"{weights_path}: {count_parameters(model):,} parameters, its record says {info['params']:,}")
    return model.eval()


def export(checkpoint_dir: str | Path, result_name: str, command: str, overwrite: bool = False) -> list[Path]:
    """Write every net of the saved degradation result ``result_name`` (``results/<result_name>.json``)
    from its final checkpoint in ``checkpoint_dir`` as fp16 weights plus record. The record copies the
    result's provenance (how the nets were trained) and adds how they were exported."""
    result = load_result(result_name)
    if result is None:
        raise FileNotFoundError(f"no saved result {result_name!r} in {results_dir()}")
    runs, config = result["data"]["runs"], result["data"]["config"]
    targets = {name: net for name, net in NAMES.items() if net in runs}
    if not targets:
        raise ValueError(f"result {result_name!r} holds none of the nets {list(NAMES.values())}")
    existing = [str(p) for name in targets for p in paths(name) if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"shipped networks would be replaced ({', '.join(existing)}); pass overwrite=True "
                              "(--overwrite) only to replace them on purpose")
    written = []
    for name, net in targets.items():
        checkpoint = Path(checkpoint_dir) / f"{net}.pt"
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        run = runs[net]
        if state["epoch"] + 1 != config["epochs"] or state["config"]["seed"] != config["seed"]:
            raise ValueError(f"{checkpoint} is not the end of {result_name!r}'s {net} run (epoch {state['epoch'] + 1} "
                             f"of {config['epochs']}, seed {state['config']['seed']} vs {config['seed']})")
        depth, residual = NETS[net]
        weights_path, record_path = paths(name)
        weights_path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state["model"].items()},
                   weights_path)
        info = {"net": net, "depth": depth, "residual": residual, "seed": config["seed"],
                **{key: result.get(key) for key in ("command", "date", "device", "cpu", "torch", "git_commit")},
                "epochs": run["epoch"][-1], "train_error": run["train_error"][-1], "test_error": run["test_error"][-1],
                "train_images": result["data"].get("train_images"), "test_images": result["data"].get("test_images"),
                "params": run["params"], "dtype": "float16", "sha256": _sha256(weights_path),
                "exported": {"command": command, "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                             "from": f"{checkpoint} and results/{result_name}.json"}}
        record_path.write_text(json.dumps(info, indent=1) + "\n")
        written += [weights_path, record_path]
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.pretrained", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint-dir", required=True, help="the finished run's --checkpoint-dir")
    parser.add_argument("--result", required=True, help="the saved result of that run (results/NAME.json)")
    parser.add_argument("--overwrite", action="store_true", help="replace shipped networks")
    args = parser.parse_args(argv)
    try:
        written = export(args.checkpoint_dir, args.result, command_line("python -m helpers.pretrained", argv),
                         args.overwrite)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    for path in written:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1:])
