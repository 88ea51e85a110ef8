"""The experiments of the collection, in one home: what each one trains or measures, its budgets, and
one command line for all of them.

    python -m helpers.experiments resnet34 --quick          # ResNet-34 on CIFAR-10, the CPU demo (notebook 06)
    python -m helpers.experiments resnet34 --epochs 30 --save resnet34_cifar10    # the real run (a GPU)
    python -m helpers.experiments degradation --cpu --save degradation_cpu        # plain vs residual 20/56 (03)
    python -m helpers.experiments batch-norm --cpu --save batch_norm_cpu          # ResNet-56 without BN (04)
    python -m helpers.experiments lesions --save lesions_cpu                      # delete blocks (07)
    python -m helpers.experiments landscape --steps 21 --images 500 --save landscape_cpu   # loss slices (07)
    python -m helpers.experiments NAME --help                # every option of one experiment

One shape for every experiment: the name, then its options. All of them take ``--seed``, ``--data DIR``,
``--save NAME`` (write ``results/NAME.json`` with provenance; an existing file is replaced only with
``--overwrite``) and ``--no-progress``; each refuses bad input in one line before anything is read or
trained, and prints one JSON line last.

What lives here: the registry (:data:`EXPERIMENTS`), the nets a command line builds (:func:`build_model`),
the run-time estimates every budget is checked with (:func:`seconds_per_step`, :func:`estimate_seconds`)
and the long-run guard, the pieces every command line shares, and the ResNet-34 run itself. The science of
the others stays where the notebooks import it: degradation and batch norm in :mod:`helpers.degradation`,
lesions and landscapes in :mod:`helpers.shortcuts`. The loop they all train with is :mod:`helpers.train`.

``python -m helpers.train``, ``python -m helpers.degradation`` and ``python -m helpers.shortcuts`` still
run (the commands saved with older results name them); they are the same runs under their old names.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch
from torch import nn

from helpers.arguments import integer
from helpers.data import DataNotFoundError, cifar10_loaders
from helpers.evaluation import confusion_matrix, per_class_accuracy
from helpers.models import MODELS, cifar_resnet, count_parameters
from helpers.results import command_line, existing_result, provenance, save_result
from helpers.runtime import adapt_threads, device_name, hold_threads, pick_device, seed_everything
from helpers.train import (
    History,
    TrainConfig,
    check_compatible,
    check_writable,
    fit,
    make_optimizer,
    predict,
    prepare,
    read_checkpoint,
    synchronize,
    train_step,
    uses_amp,
    uses_channels_last,
)

# --------------------------------------------------------------------------- budgets: run-time estimates

#: off CUDA, a run estimated longer than this many hours needs --allow-long (the default 30-epoch run: about
#: 4.5 h on a 2-core Xeon with AMX, 15 h in fp32)
LONG_RUN_H = 3.0


def seconds_per_step(model: nn.Module, batch: int, device: torch.device, config: TrainConfig | None = None,
                     steps: int = 2) -> float:
    """Seconds one training step (forward, backward, update) takes on ``device``, timed on a copy of
    ``model`` with random 32x32 batches after one untimed step; ``model`` itself is left untouched.
    With ``config``, the step runs as :func:`fit` runs it (its memory format and autocast); without,
    as a plain fp32 loop with SGD does (notebooks 01 and 04). The basis of every run-time estimate."""
    if device.type == "cpu":
        adapt_threads()
    model = copy.deepcopy(model).to(device).train()
    if config is None:
        step_model, amp, memory = model, False, torch.contiguous_format
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    else:
        step_model, amp = prepare(model, config), uses_amp(config, device)
        memory = torch.channels_last if uses_channels_last(config, device) else torch.contiguous_format
        optimizer, _ = make_optimizer(model, config, steps_per_epoch=100)
    generator = torch.Generator().manual_seed(0)  # leaves the global random stream alone
    x = torch.randn(batch, 3, 32, 32, generator=generator).to(device).contiguous(memory_format=memory)
    y = torch.randint(0, 10, (batch,), generator=generator).to(device)
    criterion = nn.CrossEntropyLoss()
    train_step(step_model, x, y, criterion, optimizer, amp)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        train_step(step_model, x, y, criterion, optimizer, amp)
    synchronize(device)
    return (time.perf_counter() - start) / steps


def measure_rate(model_name: str, width: int, batch: int, device: torch.device) -> float:
    """Training images per second of ``model_name`` on ``device`` with the loop's default settings
    (:func:`seconds_per_step`)."""
    return batch / seconds_per_step(build_model(model_name, width), batch, device, TrainConfig(batch_size=batch))


def estimate_seconds(nets: Iterable[tuple[str, int, int, int]], device: torch.device,
                     rates: dict | None = None) -> float:
    """Estimated training time of ``nets``, each ``(model name, width, batch size, images to train on)``, on
    ``device``: images / measured rate (:func:`measure_rate`), plus a quarter for the evaluation after each
    epoch. ``rates`` caches the measured rates between calls."""
    rates = {} if rates is None else rates
    total = 0.0
    for model_name, width, batch, images in nets:
        key = (model_name, width, batch)
        if key not in rates:
            rates[key] = measure_rate(model_name, width, batch, device)
        total += images / rates[key]
    return 1.25 * total


# --------------------------------------------------------------------------- nets and the shared command-line pieces

def default_width(name: str) -> int:
    """The first stage's channels of network ``name`` as its paper builds it: 16 for ``cifar_resnet<depth>``,
    64 for resnet18-152."""
    return 16 if name.startswith("cifar_resnet") else 64


def narrow_channels_last_hangs(name: str, width: int, channels_last: bool) -> bool:
    """Whether this run would hang: on a CPU with AVX2 but no AVX-512, torch 2.14.1's oneDNN never returns from
    the weight gradient of a channels-last 1x1 convolution with 4 input channels when 2 threads run it
    (resnet18/34 at width 4: seen with py-spy in jit_avx2_1x1_convolution_bwd_weights; width 6 hung in 2 of 3
    tries of five steps on a 2-core AMD EPYC Zen 3, 2026-12-05, while widths 8, 10, 12 and 16 trained every time)."""
    has_projections = not name.startswith("cifar_resnet")  # the CIFAR nets' option-A shortcuts have no 1x1 conv
    return channels_last and has_projections and width < 8 and torch.backends.cpu.get_cpu_capability() == "AVX2"


def build_model(name: str, width: int | None = None, plain: bool = False, num_classes: int = 10) -> nn.Module:
    """Network ``name`` (resnet18/34/50/101/152 with the CIFAR stem, or ``cifar_resnet<depth>``) with ``width``
    channels in the first stage (None: :func:`default_width`); ``plain`` drops the shortcuts."""
    width = default_width(name) if width is None else integer("width", width)
    if name.startswith("cifar_resnet"):
        depth = name.removeprefix("cifar_resnet")
        if not depth.isdigit():
            raise ValueError(f"model must be one of {sorted(MODELS)} or cifar_resnet<depth> (depth 6n+2: 20, 32, 44, "
                             f"56, 110, ...), got {name!r}")
        return cifar_resnet(int(depth), num_classes, residual=not plain, width=width)
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)} or cifar_resnet<depth>, got {name!r}")
    return MODELS[name](num_classes, stem="cifar", width=width, residual=not plain)


def model_identity(name: str, width: int | None = None, plain: bool = False, num_classes: int = 10) -> dict[str, Any]:
    """What :func:`build_model` builds, as :func:`fit` records it in a checkpoint (and refuses to resume into
    anything else)."""
    return {"model": name, "width": default_width(name) if width is None else width, "plain": plain,
            "stem": "cifar", "batch_norm": True, "num_classes": num_classes}


def json_ready(value: Any) -> Any:
    """``value`` with every float that is not a finite number (a diverged loss) replaced by None, for JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def stopped(prog: str, argv: list[str], checkpoints: Iterable[str | os.PathLike], flag: str | None = "--resume",
            option: str = "--checkpoint FILE") -> NoReturn:
    """After Ctrl-C: one line on stderr (stopped, each written checkpoint's epochs, the command that resumes:
    ``argv`` plus ``flag`` when it lacks it), then exit 130 as a shell does for SIGINT. ``option`` is what to
    pass to get a checkpoint, said when there was none."""
    checkpoints = list(checkpoints)
    held = []
    for path in checkpoints:
        if Path(path).is_file():
            try:
                held.append(f"{path} holds {read_checkpoint(path)['epoch'] + 1} epoch(s)")
            except ValueError:
                held.append(f"{path} cannot be read")
    if held:
        words = argv if flag is None or flag in argv else [*argv, flag]
        line = f"stopped (Ctrl-C); {', '.join(held)}; to resume: {command_line(prog, words)}"
    elif checkpoints:
        line = "stopped (Ctrl-C) before the first checkpoint was written; nothing to resume"
    else:
        line = f"stopped (Ctrl-C); no checkpoint was written (pass {option} to be able to resume)"
    print(line, file=sys.stderr, flush=True)
    raise SystemExit(130)


def run_arguments(parser: argparse.ArgumentParser, save: str, default_name: str | None = None) -> None:
    """The options every experiment's command line takes, spelled alike: ``--seed``, ``--data``, ``--save NAME``
    (``save`` says what the file holds; with ``default_name``, a bare ``--save`` gives that name, and ``""``
    leaves the caller to pick one), ``--overwrite`` and ``--no-progress``."""
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="CIFAR-10 directory (default: $CIFAR10_DIR, else data/)")
    saving = dict(nargs="?", const=default_name) if default_name is not None else {}
    bare = {None: "", "": " (a bare --save: the experiment's own name)"}.get(default_name, f" (a bare --save: {default_name})")
    parser.add_argument("--save", default=None, metavar="NAME", **saving,
                        help=f"write results/NAME.json: {save}, with the command, date, device, torch and git commit{bare}")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --save result (a committed result is evidence: never by accident)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (for logs)")


def check_save(parser: argparse.ArgumentParser, name: str | None, overwrite: bool) -> None:
    """Refuse, in one line and before anything runs, a ``--save NAME`` that is not a plain name or that would
    replace an existing result without ``--overwrite``."""
    if name is None:
        return
    try:
        existing = existing_result(name)
    except ValueError as error:
        parser.error(f"argument --save: {error}")
    if existing is not None and not overwrite:
        parser.error(f"argument --save: {existing} already exists (a saved result that notebooks show); pass "
                     "--overwrite to replace it, or choose another NAME")


# --------------------------------------------------------------------------- the ResNet-34 run (notebook 06)

#: The CPU demo (``--quick``): ResNet-18 at a quarter of the width (16 channels in the first stage, 0.7M
#: parameters), three epochs over all 50,000 training images at batch 128, on every device. Chosen by
#: measurement (bench/quick.py, whole process, 2026-12-05, a 2-core AMD EPYC Zen 4 with AVX512-BF16 that
#: ran ResNet-34 at 59 images/s): 76.2% in 155 s with bf16 autocast, 76.5% in 233 s in fp32, the arithmetic
#: of CPUs without bf16 units. ResNet-34 at width 16 (the earlier preset: 75.4-76.1% in earlier runs, see
#: the README) trains at about half ResNet-18's speed per image (563 vs 1,075 images/s in bf16, 364 vs 732
#: in fp32, training steps on that CPU), so it needs over 200 s even with bf16 there. The demo shows the
#: pipeline end to end; it is not the real run (ResNet-34 at width 64, many epochs: the saved CPU run, or a GPU).
RESNET34_QUICK = dict(model="resnet18", width=16, epochs=3, batch_size=128, lr=0.2, train_subset=None)


def resnet34_main(argv: list[str] | None = None, prog: str = "python -m helpers.experiments resnet34") -> dict[str, Any]:
    """``python -m helpers.experiments resnet34``: train ResNet-34 (or another net of :func:`build_model`) on
    CIFAR-10 with the loop of :mod:`helpers.train`; the last line printed is JSON with the test accuracy,
    throughput and wall time. ``argv`` None reads ``sys.argv[1:]``."""
    parser = argparse.ArgumentParser(prog=prog, description="Train ResNet-34 (or plain-34, or another net) on CIFAR-10 "
                                                            "with the collection's one loop (helpers.train).")
    parser.add_argument("--model", default="resnet34", help="resnet18/34/50/101/152 (CIFAR stem) or cifar_resnet20/56/...")
    parser.add_argument("--width", type=int, default=None,
                        help="channels of the first stage (default: the paper's, 64 for resnet18-152, 16 for cifar_resnet*)")
    parser.add_argument("--plain", action="store_true", help="the plain network: same layers, no shortcuts")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=0.2, help="peak learning rate")
    parser.add_argument("--train-subset", type=int, default=None, help="train on a class-balanced subset")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint file, written after every epoch (an existing one needs --resume, or "
                             "--overwrite to start it over)")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    parser.add_argument("--quick", action="store_true",
                        help="the CPU demo: ResNet-18 at width 16, 3 epochs (about 76%% in 155 s wall with bf16, "
                             "233 s in fp32, on a 2-core AMD EPYC Zen 4; bench/quick.py measures yours)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--amp", choices=("auto", "on", "off"), default="auto",
                        help="bf16 autocast (auto: on CUDA and on CPUs with native bf16, AMX or AVX512-BF16)")
    parser.add_argument("--channels-last", choices=("auto", "on", "off"), default="auto",
                        help="channels-last memory format (auto: on CUDA and CPU, off on MPS)")
    parser.add_argument("--tensorboard", default=None, metavar="DIR", help="also log scalars for TensorBoard")
    parser.add_argument("--allow-long", action="store_true",
                        help=f"run even when the estimate off CUDA exceeds {LONG_RUN_H:g} hours (a GPU-sized run on a CPU)")
    run_arguments(parser, "the JSON line, the history, per-class accuracy and the confusion matrix (notebook 06 "
                          "shows results/resnet34_cifar10.json next to its own run)")
    parser.add_argument("--save-result", dest="save", metavar="NAME", help=argparse.SUPPRESS)  # the old spelling
    if parser.parse_known_args(argv)[0].quick:
        parser.set_defaults(**RESNET34_QUICK)  # the preset replaces the defaults; options given explicitly still win
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)

    # Every refusal comes here, before any data is read or anything trains: one line each, exit 2.
    switch = {"auto": None, "on": True, "off": False}
    try:
        config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                             compile=args.compile, amp=switch[args.amp], channels_last=switch[args.channels_last])
    except ValueError as error:  # the message starts with the field: epochs, batch_size, lr
        parser.error(f"argument --{str(error).split()[0].replace('_', '-')}: {error}")
    for option, value, low in (("--seed", args.seed, 0), ("--train-subset", args.train_subset, 1)):
        try:
            if value is not None:
                integer(option[2:].replace("-", "_"), value, low)
        except ValueError as error:
            parser.error(f"argument {option}: {error}")
    try:
        build_model(args.model, args.width, args.plain)
    except ValueError as error:
        parser.error(f"argument {'--width' if str(error).startswith('width') else '--model'}: {error}")
    identity = model_identity(args.model, args.width, args.plain)
    try:  # the environment: RESNET_DEVICE, RESNET_THREADS, RESNET_RESULTS_DIR
        device = pick_device()
        if device.type == "cpu":
            adapt_threads()
            if narrow_channels_last_hangs(args.model, identity["width"], uses_channels_last(config, device)):
                parser.error(f"argument --width: {identity['width']} with channels-last hangs in torch {torch.__version__}"
                             "'s oneDNN on this CPU (AVX2, no AVX-512: the 1x1 projection's weight gradient never "
                             "returns); use --width 8 or more, or --channels-last off")
    except ValueError as error:
        parser.error(str(error))
    check_save(parser, args.save, args.overwrite)
    if args.resume and args.checkpoint is None:
        parser.error("argument --resume: needs --checkpoint FILE (the run to continue)")
    if args.checkpoint is not None:
        try:
            check_writable(args.checkpoint)
            if args.resume and Path(args.checkpoint).is_file():
                seed_everything(args.seed)
                check_compatible(read_checkpoint(args.checkpoint), args.checkpoint,
                                 build_model(args.model, args.width, args.plain), config, identity,
                                 "--overwrite without --resume")
        except ValueError as error:
            parser.error(f"argument --checkpoint: {error}")
        if Path(args.checkpoint).is_file() and not args.resume and not args.overwrite:
            parser.error(f"argument --checkpoint: {args.checkpoint} already exists; pass --resume to continue it, "
                         "or --overwrite to start over and replace it")

    # A run that saves a result keeps one thread count throughout (see the README, Seeds).
    with hold_threads(args.save is not None and device.type == "cpu"):
        try:
            return _run(parser, args, argv, config, identity, device)
        except KeyboardInterrupt:
            stopped(parser.prog, argv, [args.checkpoint] if args.checkpoint else [])


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str], config: TrainConfig,
         identity: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The command line's run, once its arguments are checked: data, estimate, training, the JSON line."""
    origin = provenance()  # the code and machine the run starts from
    try:
        train_loader, test_loader = cifar10_loaders(args.batch_size, root=args.data, device=device, seed=args.seed,
                                                    train_subset=args.train_subset,
                                                    channels_last=uses_channels_last(config, device))
    except DataNotFoundError as error:
        parser.error(error.for_command_line())
    except ValueError as error:  # a subset or batch larger than the data, an unreadable image
        parser.error(str(error))
    width = identity["width"]
    if device.type != "cuda":
        hours = estimate_seconds([(args.model, width, args.batch_size, args.epochs * train_loader.num_images)],
                                 device) / 3600
        print(f"estimate on {device_name(device)} (from measured steps): about {hours * 60:,.0f} min "
              f"for {args.epochs} epochs of {train_loader.num_images:,} images", flush=True)
        if hours > LONG_RUN_H and not args.allow_long:
            parser.error(f"this run is sized for a GPU: about {hours:,.1f} hours on {device_name(device)}. Try --quick "
                         f"(minutes), fewer --epochs or a smaller --width, or pass --allow-long to run it anyway.")
    seed_everything(args.seed)
    model = build_model(args.model, width, args.plain).to(device)
    start = time.perf_counter()
    history = fit(model, train_loader, test_loader, config, checkpoint=args.checkpoint,
                  resume=args.resume or not args.overwrite, progress=not args.no_progress, log_dir=args.tensorboard,
                  identity=identity, on_epoch_end=epoch_line if args.no_progress else None)
    trained = history.epoch[-1] if history.epoch else 0
    result = {
        "model": args.model + ("-plain" if args.plain else ""),
        "width": width,
        "params": count_parameters(model),
        "epochs": trained,  # the epochs actually trained (fewer than asked when the run diverged)
        "diverged": history.diverged,
        "batch_size": args.batch_size,
        "train_images": train_loader.num_images,
        "test_acc": round(history.test_acc[-1], 4),
        "test_images": test_loader.num_images,
        # the first epoch pays for warm-up (and compilation): leave it out when there are others
        "train_images_per_s": round(float(np.mean(history.images_per_s[1:] or history.images_per_s))),
        "wall_s": round(time.perf_counter() - start, 1),
        "train_and_eval_s": round(history.elapsed_s[-1], 1),
        "time_to_94_s": history.time_to(0.94),
        "device": device_name(device),
        "bf16_autocast": uses_amp(config, device),
        "channels_last": uses_channels_last(config, device),
        "seed": args.seed,
    }
    if history.diverged:
        result["epochs_asked"] = args.epochs
    if args.save:
        logits, labels = predict(model, test_loader, uses_amp(config, device))
        confusion = confusion_matrix(labels, logits.argmax(1))
        command = command_line(parser.prog, argv)
        save_result(args.save, {**result, "config": asdict(config),
                                       "history": json_ready(history.to_dict()), "confusion_matrix": confusion.tolist(),
                                       "per_class_accuracy": per_class_accuracy(confusion).tolist()},
                    command=command, device=result["device"], origin=origin, overwrite=args.overwrite,
                    wall_s=history.elapsed_s[-1])  # training + evaluation, summed over resumed sessions
    print(json.dumps(result))
    if history.diverged:
        print(f"{parser.prog}: error: training diverged in epoch {trained} (the training loss is not a finite number); "
              "the JSON line says \"diverged\": true. Try a smaller --lr.", file=sys.stderr)
        raise SystemExit(1)
    return result


def epoch_line(history: History) -> None:
    """What a run without progress bars (``--no-progress``, for logs) prints after each epoch."""
    print(f"epoch {history.epoch[-1]}: train loss {history.train_loss[-1]:.3f}, test accuracy "
          f"{history.test_acc[-1]:.2%}, {history.images_per_s[-1]:.0f} training images/s, "
          f"{history.elapsed_s[-1] / 60:.1f} min of training and evaluation so far", flush=True)


# --------------------------------------------------------------------------- the registry and its command line

@dataclass(frozen=True)
class Experiment:
    """One experiment of the collection: what it measures, the notebook that shows it, and its command line
    (``run(argv, prog)``). results/README.md says which command made each saved result."""

    what: str
    notebook: str
    run: Callable[[list[str], str], Any]


def _degradation(name: str) -> Callable[[list[str], str], Any]:
    def run(argv: list[str], prog: str) -> Any:
        from helpers import degradation  # imported when run: it imports this module
        return degradation.main(argv, prog=prog, experiment=name)
    return run


def _shortcuts(name: str) -> Callable[[list[str], str], Any]:
    def run(argv: list[str], prog: str) -> Any:
        from helpers import shortcuts  # imported when run: it imports this module
        return shortcuts.main(argv, prog=prog, experiment=name)
    return run


#: every experiment, by the name its command line takes
EXPERIMENTS: dict[str, Experiment] = {
    "resnet34": Experiment("ResNet-34 (or plain-34) on CIFAR-10 with the one loop; --quick is the CPU demo",
                           "06", lambda argv, prog: resnet34_main(argv, prog)),
    "degradation": Experiment("plain and residual nets of 20 and 56 layers side by side (He et al. 2016, 4.2)", "03",
                              _degradation("degradation")),
    "batch-norm": Experiment("ResNet-56 with batch norm, without it, and without it but zero-initialised", "04",
                             _degradation("batch-norm")),
    "lesions": Experiment("delete blocks of the shipped ResNet-56 and plain-56 (Veit et al. 2016)", "07",
                          _shortcuts("lesions")),
    "landscape": Experiment("loss slices and the top Hessian eigenvalue of the shipped nets (Li et al. 2018)", "07",
                            _shortcuts("landscape")),
}


def main(argv: list[str] | None = None) -> Any:
    """``python -m helpers.experiments NAME [options]``: run experiment NAME (see :data:`EXPERIMENTS`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    listing = "\n".join(f"  {name:<12} {e.what} (notebook {e.notebook})"
                         for name, e in EXPERIMENTS.items())
    parser = argparse.ArgumentParser(prog="python -m helpers.experiments", usage="%(prog)s NAME [options]",
                                     description="Run one experiment of the collection. NAME is one of:\n" + listing
                                                 + "\n\n`%(prog)s NAME --help` lists NAME's options.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", metavar="NAME", choices=EXPERIMENTS, help=argparse.SUPPRESS)
    parser.parse_args(argv[:1])  # -h, no NAME and an unknown NAME end here, in argparse's words
    return EXPERIMENTS[argv[0]].run(argv[1:], f"{parser.prog} {argv[0]}")


if __name__ == "__main__":
    main()
