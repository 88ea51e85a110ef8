"""The ``--quick`` demo, timed as a user meets it: whole processes, wall clock, accuracy on all 10,000 test images.

Each variant runs ``python -m helpers.experiments resnet34 --quick --no-progress`` plus its extra options in
a fresh process (interpreter start, imports and the first CIFAR-10 load included), one after the other.
By default: the preset with nothing set, and where the CPU multiplies bf16 natively (AMX or AVX512-BF16)
also the same preset in fp32 (``--amp off``), so bf16's accuracy is printed beside fp32's (about 6.5
minutes on a 2-core AMD EPYC Zen 4). The targets
(issue 26): at least 75% in at most 200 s on a 2-core CPU with native bf16, at least 70% in at most
300 s on one without. One JSON line.

    python bench/quick.py [--variant "--amp off --width 12" ...] [--data DIR]
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch

from helpers.results import cpu_model
from helpers.runtime import cpu_kind, pick_device

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {True: {"accuracy": 0.75, "wall_s": 200}, False: {"accuracy": 0.70, "wall_s": 300}}


def run(extra: list[str], data: str | None) -> dict:
    """One ``--quick`` process with ``extra`` options: its JSON line, and the wall time around it."""
    command = [sys.executable, "-m", "helpers.experiments", "resnet34", "--quick", "--no-progress", *extra]
    if data is not None:
        command += ["--data", data]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench/quick.py: {shlex.join(command[1:])} failed:\n{done.stderr[-2000:]}")
    line = json.loads(done.stdout.strip().splitlines()[-1])
    return {"options": shlex.join(extra), "model": line["model"], "width": line["width"], "epochs": line["epochs"],
            "train_images": line["train_images"], "bf16_autocast": line["bf16_autocast"],
            "test_acc": line["test_acc"], "train_images_per_s": line["train_images_per_s"],
            "process_wall_s": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", default=None, metavar="OPTIONS",
                        help="extra options for one run, quoted (repeatable; default: the preset, and where bf16 is "
                             "native also the same preset with --amp off)")
    parser.add_argument("--data", default=None, help="CIFAR-10 directory (default: $CIFAR10_DIR, else data/)")
    args = parser.parse_args()
    device = pick_device()
    native = device.type == "cuda" or cpu_kind() != "no bf16 units"
    if args.variant is None:
        args.variant = ["", "--amp off"] if native else [""]
    runs = [run(shlex.split(variant), args.data) for variant in args.variant]
    target = TARGETS[native] if device.type == "cpu" else None  # the targets are for a 2-core CPU
    default = runs[0] if args.variant[0] == "" and target is not None else None
    print(json.dumps({
        "bench": "quick", "torch": torch.__version__, "cpu": cpu_model(), "cpu_kind": cpu_kind(),
        "device": str(device), "target": target, "runs": runs,
        "default_meets_target": None if default is None else (default["test_acc"] >= target["accuracy"]
                                                              and default["process_wall_s"] <= target["wall_s"]),
    }))


if __name__ == "__main__":
    main()
