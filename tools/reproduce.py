"""One command for every full-size experiment of the collection, for a GPU:

    python -m tools.reproduce            # or `make results`: writes results/degradation.json,
                                           # results/resnet34_cifar10.json, results/plain34_cifar10.json
    python -m tools.reproduce --tiny     # the same pipeline at a tiny size, on any device (CI runs it)
    python -m tools.reproduce --plan     # print the plan and the estimate, train nothing

It prints its plan first: each experiment, its budget, and an estimate of its time on this device from a
few measured training steps. On a CPU the full size would take days, so it refuses unless ``--tiny`` is
given. ``--tiny`` writes its files to a temporary folder (or ``--results-dir``), never over ``results/``.
The full budget is sized for about 10 minutes on one H100-class GPU (an estimate until measured there).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import degradation, experiments
from helpers.results import RESULTS_DIR_ENV
from helpers.runtime import device_name, pick_device


@dataclass(frozen=True)
class Experiment:
    """One result file: which CLI makes it and with what arguments."""

    name: str  # results/<name>.json
    what: str
    cli: str  # its name in helpers.experiments: "resnet34" or "degradation"
    argv: tuple[str, ...]
    nets: tuple[tuple[str, int, int, int], ...]  # (model, width, batch size, epochs x images) per trained net


def _degradation_nets(epochs: int, images: int, batch: int) -> tuple[tuple[str, int, int, int], ...]:
    return tuple((f"cifar_resnet{depth}", 16, batch, epochs * images)
                 for depth, _ in degradation.NETS.values())


def plan(tiny: bool) -> list[Experiment]:
    """The experiments, full size or tiny (a few hundred images, one epoch, narrow networks)."""
    if tiny:
        small = ("--train-subset", "200", "--epochs", "1", "--batch-size", "32", "--no-progress")
        return [
            Experiment(degradation.RESULT_NAME, "degradation: plain/ResNet-20/56, tiny", "degradation",
                       (*small, "--test-subset", "100", "--save"), _degradation_nets(1, 200, 32)),
            Experiment("resnet34_cifar10", "ResNet-34 (width 8), tiny", "resnet34",
                       ("--model", "resnet34", "--width", "8", *small, "--save", "resnet34_cifar10"),
                       (("resnet34", 8, 32, 200),)),
            Experiment("plain34_cifar10", "plain-34 (width 8), tiny", "resnet34",
                       ("--model", "resnet34", "--plain", "--width", "8", *small, "--save",
                        "plain34_cifar10"), (("resnet34", 8, 32, 200),)),
        ]
    full = degradation.FULL
    deg_argv = ("--epochs", str(full["epochs"]), "--batch-size", str(full["batch_size"]), "--lr", str(full["lr"]),
                "--no-progress", "--save")
    r34 = ("--model", "resnet34", "--epochs", "30", "--batch-size", "512", "--no-progress")
    return [
        Experiment(degradation.RESULT_NAME, f"degradation: plain/ResNet-20/56, all images, {full['epochs']} epochs",
                   "degradation", deg_argv, _degradation_nets(full["epochs"], 50_000, full["batch_size"])),
        Experiment("resnet34_cifar10", "ResNet-34 (width 64), all images, 30 epochs", "resnet34",
                   (*r34, "--save", "resnet34_cifar10"), (("resnet34", 64, 512, 30 * 50_000),)),
        Experiment("plain34_cifar10", "plain-34 (width 64), all images, 30 epochs", "resnet34",
                   (*r34, "--plain", "--save", "plain34_cifar10"), (("resnet34", 64, 512, 30 * 50_000),)),
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m tools.reproduce", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny size that checks the pipeline on any device")
    parser.add_argument("--plan", action="store_true", help="print the plan and the estimate, then stop")
    parser.add_argument("--results-dir", default=None,
                        help="where to write the files (default: results/ at full size, a temporary folder with --tiny)")
    parser.add_argument("--data", default=None, help="CIFAR-10 directory (default: $CIFAR10_DIR, else data/)")
    args = parser.parse_args(argv)

    device = pick_device()
    planned = plan(args.tiny)
    rates: dict = {}
    print(f"device: {device_name(device)}; {'TINY size (a pipeline check, not a result)' if args.tiny else 'FULL size'}")
    estimates = {}
    for experiment in planned:
        estimates[experiment.name] = experiments.estimate_seconds(experiment.nets, device, rates)
        print(f"  {experiment.name:<18} {experiment.what}: about {estimates[experiment.name] / 60:.1f} min "
              f"(estimated from {len(experiment.nets)} measured net(s) on this device)")
        print(f"  {'':<18} python -m helpers.experiments {experiment.cli} {' '.join(experiment.argv)}")
    total = sum(estimates.values())
    print(f"  total: about {total / 60:.1f} min, plus data loading")
    if args.plan:
        return {"plan": {e.name: round(estimates[e.name], 1) for e in planned}}
    if device.type != "cuda" and not args.tiny:
        parser.error(f"the full size needs a CUDA GPU (estimated {total / 3600:.1f} h on {device_name(device)}); "
                     "run it on a GPU, or pass --tiny to check the pipeline here")

    results_dir = args.results_dir or (tempfile.mkdtemp(prefix="resnet-results-") if args.tiny else None)
    previous = os.environ.get(RESULTS_DIR_ENV)
    if results_dir is not None:
        Path(results_dir).mkdir(parents=True, exist_ok=True)  # RESNET_RESULTS_DIR must name an existing folder
        os.environ[RESULTS_DIR_ENV] = str(results_dir)
    data = ("--data", args.data) if args.data else ()
    summary = {}
    try:
        for experiment in planned:
            start = time.perf_counter()
            experiments.main([experiment.cli, *experiment.argv, *data])
            summary[experiment.name] = round(time.perf_counter() - start, 1)
            print(f"{experiment.name}: {summary[experiment.name]:.0f} s "
                  f"(estimated {estimates[experiment.name]:.0f} s)", file=sys.stderr, flush=True)
    finally:
        if results_dir is not None:
            if previous is None:
                os.environ.pop(RESULTS_DIR_ENV, None)
            else:
                os.environ[RESULTS_DIR_ENV] = previous
    written = Path(results_dir) if results_dir else Path(__file__).resolve().parent.parent / "results"
    line = {"device": device_name(device), "tiny": args.tiny, "seconds": summary, "results_dir": str(written)}
    print(json.dumps(line))
    return line


if __name__ == "__main__":
    main(sys.argv[1:])
