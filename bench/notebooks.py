"""Wall time of each notebook run top to bottom in a fresh kernel, as a learner runs it: the source of
the run times in the notebooks' headers.

``--mode default`` leaves RESNET_QUICK unset (what `make lab` gives a learner: quick for 03 and 06 on a
CPU, full for the rest); ``--mode quick`` sets RESNET_QUICK=1 (what CI runs); ``--mode full`` sets
RESNET_QUICK=0. Outputs are discarded; notebooks/ is not changed. 06 must train from scratch, so the
bench refuses to start while checkpoints/ holds a 06 checkpoint, and deletes the ones its run wrote.
One JSON line.

    python -m bench.notebooks [--mode default|quick|full] [00 03 ...]    # from the repository root
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import nbformat

from helpers.paths import PROJECT_ROOT, checkpoints_dir
from helpers.results import cpu_model
from helpers.runtime import cpu_kind, device_name, pick_device
from tools.execution import NotebookClient

MODES = {"default": None, "quick": "1", "full": "0"}


def run(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=MODES, default="default")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell before giving up")
    parser.add_argument("notebooks", nargs="*", help="number prefixes (default: all)")
    args = parser.parse_args()
    paths = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        paths = [p for p in paths if p.name[:2] in args.notebooks]
        if not paths:
            parser.error(f"no notebook starts with {args.notebooks}")
    stale = sorted(checkpoints_dir().glob("06_*.pt"))
    if stale:
        parser.error(f"{checkpoints_dir()} holds {[p.name for p in stale]}: notebook 06 would resume from them; "
                     "run from a fresh clone or move them away")
    if MODES[args.mode] is None:
        os.environ.pop("RESNET_QUICK", None)
    else:
        os.environ["RESNET_QUICK"] = MODES[args.mode]
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        seconds = {p.name: round(run(p, args.timeout), 1) for p in paths}
    finally:
        for written in checkpoints_dir().glob("06_*.pt"):
            written.unlink()
    print(json.dumps({"bench": "notebooks", "mode": args.mode, "seconds": seconds,
                      "device": device_name(pick_device()), "cpu": cpu_model(), "cpu_kind": cpu_kind(), "cores": os.cpu_count(),
                      "date": time.strftime("%Y-%m-%d")}))


if __name__ == "__main__":
    main()
