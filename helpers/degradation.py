"""Networks trained side by side with one recipe: the degradation experiment of He et al. (2016),
Section 4.2 (plain and residual nets of 20 and 56 layers, notebook 03, with the per-layer gradient
norms at initialisation), and notebook 04's batch-norm experiment (ResNet-56 with batch norm, without
it, and without it but with every block starting as the identity).

The notebooks call these functions; so does the command line, for the long runs
(:mod:`helpers.experiments`, where every experiment's command line lives):

    python -m helpers.experiments degradation --save     # 50,000 images, 40 epochs: results/degradation.json (GPU)
    python -m helpers.experiments degradation --quick    # the notebook's quick CPU budget
    python -m helpers.experiments batch-norm --cpu --save batch_norm_cpu    # 04's real-scale CPU run

``python -m helpers.degradation [--experiment batch-norm] ...``, the spelling older saved results record,
runs the same.

The curves are plain dicts of lists (JSON-ready), so a saved full run and a fresh quick run plot alike.
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator
from torch import nn

from helpers.arguments import integer
from helpers.data import DataNotFoundError, cifar10_loaders
from helpers.experiments import check_save, run_arguments, stopped
from helpers.models import cifar_resnet, count_parameters
from helpers.results import command_line, load_result, made_by, provenance, save_result
from helpers.runtime import adapt_threads, device_name, hold_threads, pick_device
from helpers.train import (
    TrainConfig,
    check_compatible,
    check_writable,
    fit,
    read_checkpoint,
    uses_amp,
    uses_channels_last,
)

#: the four networks of the experiment: name -> (depth, residual)
NETS: dict[str, tuple[int, bool]] = {
    "plain-20": (20, False),
    "plain-56": (56, False),
    "ResNet-20": (20, True),
    "ResNet-56": (56, True),
}
#: notebook 04's experiment: ResNet-56 as in NETS, then with every batch norm removed (He init: each
#: block doubles the variance), and removed but with each block's last convolution started at zero
#: (every block starts as the identity, the fix Fixup builds on): name -> cifar_resnet options
BATCH_NORM_NETS: dict[str, dict[str, Any]] = {
    "with BN": dict(depth=56),
    "no BN": dict(depth=56, batch_norm=False),
    "no BN, zero-init": dict(depth=56, batch_norm=False, zero_init_residual=True),
}
#: every net a run can name, as cifar_resnet options
ALL_NETS: dict[str, dict[str, Any]] = {**{name: dict(depth=depth, residual=residual)
                                          for name, (depth, residual) in NETS.items()}, **BATCH_NORM_NETS}
#: the command line's experiments: --experiment NAME trains these nets
EXPERIMENTS: dict[str, tuple[str, ...]] = {"degradation": tuple(NETS), "batch-norm": tuple(BATCH_NORM_NETS)}
# one colour per depth, dashed for plain and solid for residual, so that pairs read at a glance
STYLE: dict[str, dict[str, Any]] = {
    "plain-20": dict(color="C0", linestyle="--"),
    "plain-56": dict(color="C3", linestyle="--"),
    "ResNet-20": dict(color="C0", linestyle="-"),
    "ResNet-56": dict(color="C3", linestyle="-"),
    "with BN": dict(color="C0", linestyle="-"),
    "no BN": dict(color="C3", linestyle="--"),
    "no BN, zero-init": dict(color="C2", linestyle="-."),
}


def paper_config(epochs: int, seed: int = 0, **overrides: Any) -> TrainConfig:
    """The paper's CIFAR recipe, in ``helpers.train``'s loop: SGD, momentum 0.9, batch 128, peak learning
    rate 0.1, weight decay 1e-4, no label smoothing. The paper divides the rate by 10 twice over 164
    epochs; here the one-cycle schedule decays it to zero over ``epochs``, which needs fewer epochs."""
    settings = dict(epochs=epochs, batch_size=128, lr=0.1, momentum=0.9, nesterov=False, weight_decay=1e-4,
                    label_smoothing=0.0, seed=seed)
    settings.update(overrides)
    return TrainConfig(**settings)


def curves_from_history(history, params: int, seconds: float) -> dict[str, Any]:
    """One run as JSON-ready lists: errors are 1 - accuracy (fractions, 0..1); a loss that is not a
    finite number (a diverged run) is None, and ``diverged`` says whether the run stopped so."""
    return {
        "epoch": list(history.epoch),
        "train_error": [1 - a for a in history.train_acc],
        "test_error": [1 - a for a in history.test_acc],
        "train_loss": [loss if math.isfinite(loss) else None for loss in history.train_loss],
        "diverged": history.diverged,
        "params": int(params),
        "seconds": round(float(seconds), 1),
    }


def net_identity(name: str) -> dict[str, Any]:
    """What net ``name`` of :data:`ALL_NETS` is, as its checkpoints record it: ``cifar_resnet``'s options with the
    defaults filled in (so 'with BN' and 'ResNet-56', the same network, have the same record)."""
    defaults = {key: parameter.default for key, parameter in inspect.signature(cifar_resnet).parameters.items()
                if parameter.default is not inspect.Parameter.empty}
    return {"model": "cifar_resnet", **defaults, **ALL_NETS[name]}


def checkpoint_path(checkpoint_dir: str | os.PathLike, name: str) -> Path:
    """Where net ``name`` checkpoints in ``checkpoint_dir``: ``<dir>/<name>.pt``, spaces and commas as '_'."""
    return Path(checkpoint_dir) / f"{name.replace(', ', '_').replace(' ', '_')}.pt"


def train_side_by_side(
    train_loader,
    test_loader,
    config: TrainConfig,
    nets: Sequence[str] = tuple(NETS),
    *,
    device: torch.device | str | None = None,
    progress: bool = False,
    checkpoint_dir: str | os.PathLike | None = None,
    on_net_end: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Train each of ``nets`` (names from :data:`ALL_NETS`) from the same seed with the same ``config``
    and loaders; return ``{name: curves}`` (see :func:`curves_from_history`). With ``checkpoint_dir``,
    each net checkpoints to ``<dir>/<name>.pt`` after every epoch and resumes from it (a finished net
    is not trained again; a checkpoint of another network is refused, :func:`net_identity`). A net whose
    training loss stops being a finite number stops there (``fit``)."""
    unknown = [name for name in nets if name not in ALL_NETS]
    if unknown or not nets:
        raise ValueError(f"nets must be a non-empty selection of {list(ALL_NETS)}, got {list(nets)!r}")
    device = torch.device(device) if device is not None else train_loader.device
    runs = {}
    for name in nets:
        torch.manual_seed(config.seed)  # every net starts from the same random state
        model = cifar_resnet(**ALL_NETS[name]).to(device)
        checkpoint = checkpoint_path(checkpoint_dir, name) if checkpoint_dir is not None else None
        history = fit(model, train_loader, test_loader, config, progress=progress, checkpoint=checkpoint,
                      identity=net_identity(name))
        # training + evaluation time, summed over resumed sessions
        runs[name] = curves_from_history(history, count_parameters(model), history.elapsed_s[-1])
        if on_net_end is not None:
            on_net_end(name, runs[name])
    return runs


def final_table(runs: dict[str, dict[str, Any]], title: str = "") -> str:
    """A small text table of each net's final training and test error (and the best test error)."""
    lines = [title] if title else []
    width = max(10, *(len(name) for name in runs))
    lines.append(f"{'net':>{width}}  {'params':>8}  {'train error':>11}  {'test error':>10}  {'best test':>9}  {'time':>7}")
    for name, run in runs.items():
        note = f"  (diverged in epoch {run['epoch'][-1]})" if run.get("diverged") else ""
        lines.append(f"{name:>{width}}  {run['params']:>8,}  {run['train_error'][-1]:>11.1%}  "
                     f"{run['test_error'][-1]:>10.1%}  {min(run['test_error']):>9.1%}  {run['seconds']:>6.0f}s{note}")
    return "\n".join(lines)


def _error_axes(axes):
    """A new pair of axes (training error, test error) sharing y, or the pair given, and their figure."""
    if axes is None:
        return plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    return axes[0].figure, axes


def _label_error_axes(fig, axes, title: str, suffix: str = "") -> None:
    for ax, what in zip(axes, ("training error", "test error"), strict=False):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(what + suffix)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("error (%)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()


def plot_degradation(runs: dict[str, dict[str, Any]], title: str, axes=None):
    """Training error (left) and test error (right) per epoch for every run; returns the figure."""
    fig, axes = _error_axes(axes)
    for ax, key in zip(axes, ("train_error", "test_error"), strict=False):
        for name, run in runs.items():
            ax.plot(run["epoch"], [100 * e for e in run[key]], label=name, marker="o" if len(run["epoch"]) < 12 else None,
                    markersize=3, **STYLE.get(name, {}))
    _label_error_axes(fig, axes, title)
    return fig


# --------------------------------------------------------------------------- gradients at initialisation

def weight_layers(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The weights of every convolution and linear layer, in forward order (shortcut 1x1 convs included)."""
    return [(f"{name}.weight", module.weight) for name, module in model.named_modules()
            if isinstance(module, (nn.Conv2d, nn.Linear))]


def layer_gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[tuple[str, float]]:
    """The L2 norm of d(cross-entropy)/d(weight) for every conv and linear weight, from one batch, in
    training mode (batch statistics, as in the first training step). The model's gradients are reset."""
    was_training = model.training
    model.train()
    model.zero_grad(set_to_none=True)
    try:
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        norms = [(name, weight.grad.norm().item()) for name, weight in weight_layers(model)]
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return norms


def plot_gradient_norms(norms: dict[str, list[tuple[str, float]]], title: str, ax=None):
    """One line per model: gradient norm per weight layer (log scale), in forward order, with the
    stage boundaries of the first model drawn as thin vertical lines."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 3.8))
    for i, (label, values) in enumerate(norms.items()):
        style = {"linestyle": STYLE.get(label, {}).get("linestyle", "-"), "color": f"C{i}"}
        ax.plot(range(1, len(values) + 1), [v for _, v in values], marker=".", label=label, **style)
    first = next(iter(norms.values()), [])
    stages = [name.split(".")[0] for name, _ in first]
    for k in range(1, len(stages)):
        if stages[k] != stages[k - 1]:
            ax.axvline(k + 0.5, color="0.6", linewidth=0.8)
            ax.text(k + 0.7, 1.0, stages[k], transform=ax.get_xaxis_transform(), fontsize=7, va="top", color="0.4")
    ax.set_yscale("log")
    ax.set_xlabel("weight layer, input to output (convolutions, then fc)")
    ax.set_ylabel("||dL/dW|| (log scale)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


# --------------------------------------------------------------------------- saved runs

RESULT_NAME = "degradation"  # the full GPU run
CPU_RESULT_NAME = "degradation_cpu"  # the real-scale CPU run (all images, a shorter schedule)


def saved_runs(name: str = RESULT_NAME) -> tuple[dict[str, dict[str, Any]], str] | None:
    """The runs of a saved experiment (``results/<name>.json``, written by ``--save``) and a label
    saying how they were made (command, device and CPU, date, data size, epochs), or None when there is none."""
    result = load_result(name, kind="runs")  # a file without valid runs is an error naming the field
    if result is None:
        return None
    data = result["data"]
    parts = [made_by(result)]
    if isinstance(data.get("train_images"), int):
        test = data.get("test_images")
        parts.append(f"{data['train_images']:,} training" + (f" / {test:,} test images" if isinstance(test, int) else " images"))
    if isinstance(data.get("config"), dict) and "epochs" in data["config"]:
        parts.append(f"{data['config']['epochs']} epochs")
    if result.get("wall_s"):
        parts.append(f"{result['wall_s'] / 60:.0f} min in all")
    return data["runs"], "saved run: " + ", ".join(parts)


#: the real-scale CPU run, one file per seed (seed 0 has the original name); 03 and the README show them together
CPU_SEED_RESULT_NAMES: tuple[str, ...] = (CPU_RESULT_NAME, f"{CPU_RESULT_NAME}_seed1", f"{CPU_RESULT_NAME}_seed2")


def saved_seeds(names: Sequence[str] = CPU_SEED_RESULT_NAMES) -> dict[str, Any] | None:
    """Every saved seed of one experiment, side by side: ``{"seeds": [...], "labels": [...], "runs": [...]}``
    (one entry per file found, in the order of ``names``), or None when none is saved. The files must
    agree on the nets, the number of images and the schedule (only the seed may differ); a file that does
    not is an error naming it, rather than a mean over different experiments."""
    found = [(name, load_result(name, kind="runs")) for name in names]
    found = [(name, result) for name, result in found if result is not None]
    if not found:
        return None
    def experiment(data: dict[str, Any]) -> tuple:  # what two seeds of one experiment share
        schedule = {k: v for k, v in data["config"].items() if k not in ("seed", "bf16_autocast", "channels_last")}
        return set(data["runs"]), schedule, data.get("train_images"), data.get("test_images")

    first_name, first = found[0]
    for name, result in found[1:]:
        if experiment(result["data"]) != experiment(first["data"]):
            raise ValueError(f"results/{name}.json is not the experiment of results/{first_name}.json with another "
                             "seed (nets, images or schedule differ)")
    seeds = [result["data"]["config"]["seed"] for _, result in found]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"two saved files have the same seed: {dict(zip([n for n, _ in found], seeds, strict=True))}")
    return {"seeds": seeds, "names": [name for name, _ in found], "labels": [made_by(result) for _, result in found],
            "bf16": [result["data"]["config"].get("bf16_autocast") for _, result in found],
            "runs": [result["data"]["runs"] for _, result in found]}


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1; 0 for a single value)."""
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, math.sqrt(var)


def seeds_table(seeds: dict[str, Any]) -> str:
    """Final training and test error of each net as mean ± std over the saved seeds, then each seed's value."""
    n = len(seeds["seeds"])
    lines = [f"final errors over {n} seed{'s' if n > 1 else ''} ({', '.join(map(str, seeds['seeds']))}): "
             f"mean ± std, then each seed"]
    for name in seeds["runs"][0]:
        cells = []
        for key in ("train_error", "test_error"):
            values = [runs[name][key][-1] for runs in seeds["runs"]]
            mean, std = mean_std(values)
            cells.append(f"{key.split('_')[0]} {100 * mean:5.1f} ± {100 * std:3.1f}% "
                         f"({' '.join(f'{100 * v:.1f}' for v in values)})")
        lines.append(f"{name:>10}: " + "   ".join(cells))
    return "\n".join(lines)


def ordering_in_seeds(seeds: dict[str, Any], a: str, b: str, key: str = "train_error") -> tuple[int, int]:
    """In how many of the saved seeds net a ends with a higher ``key`` than net b, and of how many."""
    return sum(runs[a][key][-1] > runs[b][key][-1] for runs in seeds["runs"]), len(seeds["runs"])


def plot_seeds(seeds: dict[str, Any], title: str, axes=None):
    """Training and test error per epoch: the mean over the saved seeds, with a band of ± one std."""
    fig, axes = _error_axes(axes)
    for ax, key in zip(axes, ("train_error", "test_error"), strict=True):
        for name in seeds["runs"][0]:
            curves = [runs[name][key] for runs in seeds["runs"]]
            epochs = seeds["runs"][0][name]["epoch"][:min(map(len, curves))]
            stats = [mean_std([100 * c[i] for c in curves]) for i in range(len(epochs))]
            mean = [m for m, _ in stats]
            line, = ax.plot(epochs, mean, label=name, marker="o", markersize=3, **STYLE.get(name, {}))
            ax.fill_between(epochs, [m - s for m, s in stats], [m + s for m, s in stats], color=line.get_color(),
                            alpha=0.15, linewidth=0)
    _label_error_axes(fig, axes, title, f", mean ± std over {len(seeds['runs'])} seeds")
    return fig


# --------------------------------------------------------------------------- command line

#: the budgets: QUICK is the notebook's on a 2-core CPU (about two minutes); CPU is the real-scale CPU
#: run (all 50,000 / 10,000 images, a shorter schedule; about an hour on a 2-core Xeon with AMX, 3.3 h on a Zen 4);
#: FULL is the paper-size run for a GPU
QUICK: dict[str, Any] = dict(train_subset=2_000, test_subset=500, epochs=3, batch_size=32, lr=0.05)
CPU: dict[str, Any] = dict(train_subset=None, test_subset=None, epochs=10, batch_size=128, lr=0.1)
FULL: dict[str, Any] = dict(train_subset=None, test_subset=None, epochs=40, batch_size=128, lr=0.1)
#: notebook 04's budgets: QUICK and FULL are the notebook's (04 runs full size by default on a CPU, so FULL
#: fits a 2-core CPU in minutes); CPU is the real-scale run saved in results/batch_norm_cpu.json
BATCH_NORM_QUICK: dict[str, Any] = dict(train_subset=2_000, test_subset=500, epochs=3, batch_size=32, lr=0.05)
BATCH_NORM_FULL: dict[str, Any] = dict(train_subset=5_000, test_subset=1_000, epochs=4, batch_size=64, lr=0.05)
BATCH_NORM_CPU: dict[str, Any] = dict(train_subset=None, test_subset=None, epochs=10, batch_size=128, lr=0.1)
BATCH_NORM_RESULT_NAME = "batch_norm_cpu"
#: per experiment: its budgets and the default name of its saved result
BUDGETS: dict[str, dict[str, dict[str, Any]]] = {
    "degradation": {"quick": QUICK, "cpu": CPU, "full": FULL},
    "batch-norm": {"quick": BATCH_NORM_QUICK, "cpu": BATCH_NORM_CPU, "full": BATCH_NORM_FULL},
}
SAVE_NAMES: dict[str, str] = {"degradation": RESULT_NAME, "batch-norm": "batch_norm"}


def run_experiment(train_subset: int | None, test_subset: int | None, epochs: int, batch_size: int, lr: float, *,
                   seed: int = 0, root=None, device=None, progress: bool = False,
                   checkpoint_dir: str | os.PathLike | None = None,
                   on_net_end: Callable[[str, dict[str, Any]], None] | None = None,
                   nets: Sequence[str] = tuple(NETS), amp: bool | None = None) -> dict[str, Any]:
    """Load CIFAR-10 (class-balanced subsets if given) and train ``nets`` (default: the degradation
    experiment's four) with one recipe; return ``{"runs": ..., "config": ..., "train_images": ...,
    "test_images": ...}`` (JSON-ready). ``amp`` fixes bf16 autocast on or off (None: the device's default), so
    that a run resumed on another kind of CPU keeps the precision it started with."""
    device = torch.device(device) if device is not None else pick_device()
    config = paper_config(epochs, seed=seed, batch_size=batch_size, lr=lr, amp=amp)
    train_loader, test_loader = cifar10_loaders(batch_size, root=root, device=device, seed=seed,
                                                train_subset=train_subset, test_subset=test_subset,
                                                channels_last=uses_channels_last(config, device))
    runs = train_side_by_side(train_loader, test_loader, config, nets, device=device, progress=progress,
                              checkpoint_dir=checkpoint_dir, on_net_end=on_net_end)
    settings = {k: getattr(config, k) for k in ("epochs", "batch_size", "lr", "momentum", "weight_decay",
                                                "label_smoothing", "seed")}
    settings.update(bf16_autocast=uses_amp(config, device), channels_last=uses_channels_last(config, device))
    return {"runs": runs, "config": settings, "nets": {name: ALL_NETS[name] for name in nets},
            "train_images": train_loader.num_images, "test_images": test_loader.num_images}


def main(argv: list[str] | None = None, prog: str = "python -m helpers.degradation",
         experiment: str | None = None) -> dict[str, Any]:
    """The command line of the degradation and batch-norm experiments: ``experiment`` names one (as
    ``python -m helpers.experiments degradation|batch-norm`` does), or None for the old spelling, which takes
    ``--experiment NAME``. ``argv`` None reads ``sys.argv[1:]``."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    if experiment is None:
        parser.add_argument("--experiment", choices=EXPERIMENTS, default="degradation",
                            help="which nets: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in EXPERIMENTS.items()))
    else:
        parser.set_defaults(experiment=experiment)
    parser.add_argument("--epochs", type=int, help="(default: the experiment's full budget, or its --quick/--cpu one)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="peak learning rate")
    parser.add_argument("--train-subset", type=int, default=None, help="class-balanced training subset (default: all)")
    parser.add_argument("--test-subset", type=int, default=None, help="class-balanced test subset (default: all)")
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", action="store_true", help="the notebook's quick CPU budget")
    preset.add_argument("--cpu", action="store_true",
                        help="the real-scale CPU budget (all images, a short schedule)")
    run_arguments(parser, f"every net's curves (the CPU runs are {CPU_RESULT_NAME}, {BATCH_NORM_RESULT_NAME})",
                  default_name=SAVE_NAMES[experiment] if experiment else "")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="checkpoint each net there after every epoch, and resume from it")
    parser.add_argument("--nets", nargs="+", metavar="NET", default=None,
                        help="train only these of the experiment's nets, in this order (default: all of them)")
    parser.add_argument("--amp", choices=("auto", "on", "off"), default="auto",
                        help="bf16 autocast (auto: on CUDA and on CPUs with native bf16, AMX or AVX512-BF16); fixed "
                             "in the checkpoints")
    known = parser.parse_known_args(argv)[0]
    budget = BUDGETS[known.experiment]["quick" if known.quick else "cpu" if known.cpu else "full"]
    parser.set_defaults(**budget)  # explicit options still win
    args = parser.parse_args(argv)
    if args.quick and args.save is not None:
        parser.error("--save writes a real run that the notebooks show as such; do not combine it with --quick")
    if args.save == "":
        args.save = SAVE_NAMES[args.experiment]
    nets = EXPERIMENTS[args.experiment]
    if args.nets is not None:
        by_lower = {name.lower(): name for name in nets}  # resnet-56 names ResNet-56
        chosen = [by_lower.get(name.lower()) for name in args.nets]
        if None in chosen or len(set(chosen)) != len(chosen):
            parser.error(f"--nets must name distinct nets of the {args.experiment} experiment ({', '.join(nets)}), "
                         f"got {' '.join(args.nets)}")
        nets = tuple(chosen)
    argv = sys.argv[1:] if argv is None else list(argv)
    amp = {"auto": None, "on": True, "off": False}[args.amp]
    # Every refusal comes here, before any data is read or anything trains: one line each, exit 2.
    try:
        config = paper_config(args.epochs, seed=args.seed, batch_size=args.batch_size, lr=args.lr, amp=amp)
    except ValueError as error:  # the message starts with the field: epochs, batch_size, lr
        parser.error(f"argument --{str(error).split()[0].replace('_', '-')}: {error}")
    for option, value, low in (("--seed", args.seed, 0), ("--train-subset", args.train_subset, 1),
                               ("--test-subset", args.test_subset, 1)):
        try:
            if value is not None:
                integer(option[2:].replace("-", "_"), value, low)
        except ValueError as error:
            parser.error(f"argument {option}: {error}")
    try:  # the environment: RESNET_DEVICE, RESNET_THREADS, RESNET_RESULTS_DIR
        device = pick_device()
        if device.type == "cpu":
            adapt_threads()
    except ValueError as error:
        parser.error(str(error))
    check_save(parser, args.save, args.overwrite)
    checkpoints = {name: checkpoint_path(args.checkpoint_dir, name) for name in nets} if args.checkpoint_dir else {}
    try:  # each net resumes from its checkpoint: refuse a foreign or unreadable one now, not hours later
        for name, checkpoint in checkpoints.items():
            check_writable(checkpoint)
            if checkpoint.is_file():
                check_compatible(read_checkpoint(checkpoint), checkpoint, cifar_resnet(**ALL_NETS[name]), config,
                                 net_identity(name), "delete that file, or use another --checkpoint-dir")
    except ValueError as error:
        parser.error(f"argument --checkpoint-dir: {error}")

    def report(name: str, run: dict[str, Any]) -> None:
        print(f"{name}: train error {run['train_error'][-1]:.2%}, test error {run['test_error'][-1]:.2%}, "
              f"{run['seconds']:.0f} s", file=sys.stderr, flush=True)

    # A run that saves a result keeps one thread count throughout (see the README, Seeds).
    with hold_threads(bool(args.save) and device.type == "cpu"):
        origin, start = provenance(), time.perf_counter()
        try:
            data = run_experiment(args.train_subset, args.test_subset, args.epochs, args.batch_size, args.lr,
                                  seed=args.seed, root=args.data, device=device, progress=not args.no_progress,
                                  checkpoint_dir=args.checkpoint_dir, on_net_end=report, nets=nets, amp=amp)
        except DataNotFoundError as error:
            parser.error(error.for_command_line())
        except KeyboardInterrupt:  # the same command resumes: each net continues from its checkpoint
            stopped(parser.prog, argv, checkpoints.values(), flag=None, option="--checkpoint-dir DIR")
    if args.save:
        command = command_line(parser.prog, argv)
        # wall time: the sum over the nets (a resumed run counts the sessions before it too)
        wall = sum(run["seconds"] for run in data["runs"].values())
        path = save_result(args.save, data, command, wall_s=wall, origin=origin, overwrite=args.overwrite)
        print(f"saved {path}", file=sys.stderr)
    final = {name: {"train_error": round(run["train_error"][-1], 4), "test_error": round(run["test_error"][-1], 4),
                    "seconds": run["seconds"]} for name, run in data["runs"].items()}
    print(json.dumps({"device": device_name(device), "epochs": args.epochs, "train_images": data["train_images"],
                      "final": final, "process_s": round(time.perf_counter() - start, 1)}))
    return data


if __name__ == "__main__":
    main()
