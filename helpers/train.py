"""One training loop for every notebook and for the command line.

SGD with Nesterov momentum, a one-cycle learning-rate schedule (linear warm-up, then linear decay
to zero), label smoothing, weight decay on conv/linear weights only (not on batch-norm parameters
or biases), bf16 autocast on CUDA, channels-last memory format, optional ``torch.compile``.
A checkpoint is written after every epoch and a run resumes from it exactly: the loaders' order
and crops depend only on (seed, epoch), and the checkpoint holds the model, optimiser, schedule,
random-number states and history.

    python -m helpers.train --model resnet34 --epochs 30           # the real run (GPU)
    python -m helpers.train --quick                                 # the CPU demo (a few minutes)

The last line printed is JSON with the test accuracy, throughput and wall time.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.arguments import integer
from helpers.data import cifar10_loaders
from helpers.evaluation import confusion_matrix, per_class_accuracy
from helpers.models import MODELS, cifar_resnet, count_parameters
from helpers.results import command_line, provenance, save_result
from helpers.runtime import adapt_threads, device_name, pick_device, seed_everything


@dataclass
class TrainConfig:
    """Everything that decides what a training run computes (saved in every checkpoint)."""

    epochs: int = 30
    batch_size: int = 512
    lr: float = 0.2  # peak learning rate of the one-cycle schedule
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    warmup: float = 0.15  # fraction of all steps spent warming up from lr / 10 to lr
    seed: int = 0
    # channels-last memory format; None = the device's default (see uses_channels_last)
    channels_last: bool | None = None
    amp: bool | None = None  # bf16 autocast; None = the device's default (see uses_amp)
    compile: bool = False

    def __post_init__(self) -> None:
        integer("epochs", self.epochs)
        integer("batch_size", self.batch_size)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup must be a fraction in [0, 1), got {self.warmup!r}")


@dataclass
class History:
    """Per-epoch (and per-step) numbers of a run, for plotting; survives checkpoint and resume."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)  # at the end of each epoch
    images_per_s: list[float] = field(default_factory=list)  # training throughput of each epoch
    elapsed_s: list[float] = field(default_factory=list)  # training + evaluation time so far
    step_loss: list[float] = field(default_factory=list)
    step_lr: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, list]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, list]) -> History:
        return cls(**{f.name: list(data.get(f.name, [])) for f in fields(cls)})

    @property
    def diverged(self) -> bool:
        """Whether the last epoch's training loss is not a finite number (the run blew up)."""
        return bool(self.train_loss) and not math.isfinite(self.train_loss[-1])

    def time_to(self, accuracy: float) -> float | None:
        """Seconds until the test accuracy first reached ``accuracy`` (None if it never did)."""
        for acc, seconds in zip(self.test_acc, self.elapsed_s):
            if acc >= accuracy:
                return seconds
        return None


# --------------------------------------------------------------------------- building blocks

def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on conv and linear weights only: decaying batch-norm scales and biases only
    fights the normalisation (their scale does not change what the network computes)."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (decay if parameter.ndim > 1 else no_decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def one_cycle(total_steps: int, warmup: float) -> Callable[[int], float]:
    """Learning-rate multiplier per step: linear from 0.1 to 1 over the warm-up, then linear to 0."""
    warmup_steps = max(1, round(total_steps * warmup)) if warmup > 0 else 0

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return 0.1 + 0.9 * step / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return multiplier


def make_optimizer(model: nn.Module, config: TrainConfig, steps_per_epoch: int):
    """SGD + Nesterov momentum with the one-cycle schedule, stepped once per batch."""
    optimizer = torch.optim.SGD(parameter_groups(model, config.weight_decay), lr=config.lr,
                                momentum=config.momentum, nesterov=config.nesterov and config.momentum > 0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, one_cycle(config.epochs * steps_per_epoch, config.warmup))
    return optimizer, schedule


def _autocast(device: torch.device, enabled: bool):
    if enabled and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable, amp: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (float32, on the CPU) and labels for every batch of ``loader``, in eval mode."""
    device = next(model.parameters()).device
    amp = default_amp(device) if amp is None else amp
    was_training = model.training
    model.eval()
    logits, labels = [], []
    try:
        for x, y in loader:
            with _autocast(device, amp):
                logits.append(model(x.to(device)).float().cpu())
            labels.append(y.cpu())
    finally:
        model.train(was_training)
    return torch.cat(logits), torch.cat(labels)


def evaluate(model: nn.Module, loader: Iterable, amp: bool | None = None) -> dict[str, float]:
    """Mean cross-entropy and accuracy (0..1) over every image of ``loader``."""
    logits, labels = predict(model, loader, amp)
    return {"loss": nn.functional.cross_entropy(logits, labels).item(),
            "acc": (logits.argmax(1) == labels).float().mean().item()}


# --------------------------------------------------------------------------- checkpoints

def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, **state: Any) -> None:
    """Write atomically: an interrupted save never leaves a half-written checkpoint behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "_orig_mod", model)  # torch.compile's wrapper shares the parameters


# --------------------------------------------------------------------------- the loop

def fit(
    model: nn.Module,
    train_loader,
    test_loader,
    config: TrainConfig | None = None,
    *,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = True,
    progress: bool = True,
    on_epoch_end: Callable[[History], None] | None = None,
    log_dir: str | os.PathLike | None = None,
) -> History:
    """Train ``model`` for ``config.epochs`` epochs and evaluate after each; return the History.

    ``train_loader`` is a :class:`helpers.data.DeviceLoader` (anything with ``set_epoch`` and
    ``len`` works). With ``checkpoint`` set, the state is saved after every epoch and, if
    ``resume`` and the file exists, training continues from it instead of starting over.
    ``on_epoch_end(history)`` runs after each epoch (live plots); ``log_dir`` also writes the
    scalars for TensorBoard when the ``tensorboard`` package is installed. An epoch whose mean training
    loss is not a finite number ends the run (said, checkpointed, ``history.diverged``): what follows
    would only compute with NaNs, and a resumed diverged run stays finished.
    """
    config = config or TrainConfig()
    device = next(model.parameters()).device
    amp = uses_amp(config, device)
    steps_per_epoch = len(train_loader)
    if steps_per_epoch == 0:
        raise ValueError("train_loader yields no batches")
    seed_everything(config.seed)
    step_model = prepare(model, config)
    optimizer, schedule = make_optimizer(model, config, steps_per_epoch)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    history, start_epoch = History(), 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        history, start_epoch = resume_from(checkpoint, model, optimizer, schedule, config, steps_per_epoch)
    elapsed = history.elapsed_s[-1] if history.elapsed_s else 0.0

    writer = _tensorboard_writer(log_dir) if log_dir is not None else None
    epochs = range(start_epoch, start_epoch if history.diverged else config.epochs)
    epoch_bar = tqdm(epochs, desc="epochs", disable=not progress or len(epochs) == 0, leave=True)
    for epoch in epoch_bar:
        model.train()
        train_loader.set_epoch(epoch)
        start = time.perf_counter()
        batches = tqdm(train_loader, desc=f"epoch {epoch + 1}", leave=False, disable=not progress, total=steps_per_epoch)
        train_scores = train_epoch(step_model, batches, criterion, optimizer, schedule, amp, history)
        scores = evaluate(model, test_loader, amp)
        elapsed += time.perf_counter() - start
        history.epoch.append(epoch + 1)
        history.train_loss.append(train_scores["loss"])
        history.train_acc.append(train_scores["acc"])
        history.test_loss.append(scores["loss"])
        history.test_acc.append(scores["acc"])
        history.lr.append(schedule.get_last_lr()[0])
        history.images_per_s.append(train_scores["images_per_s"])
        history.elapsed_s.append(elapsed)
        epoch_bar.set_postfix(train_loss=f"{history.train_loss[-1]:.3f}", test_acc=f"{scores['acc']:.2%}")
        if writer is not None:
            for name in ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "images_per_s"):
                writer.add_scalar(name, getattr(history, name)[-1], epoch + 1)
            writer.flush()
        if checkpoint is not None:
            save_checkpoint(checkpoint, model=_unwrap(model).state_dict(), optimizer=optimizer.state_dict(),
                            schedule=schedule.state_dict(), rng=_rng_state(), history=history.to_dict(),
                            config=asdict(config), epoch=epoch, steps_per_epoch=steps_per_epoch)
        if on_epoch_end is not None:
            on_epoch_end(history)
        if history.diverged:
            print(f"Training diverged in epoch {epoch + 1}: the mean training loss is {history.train_loss[-1]}; "
                  "stopping here (the weights are no longer numbers).")
            break
    if writer is not None:
        writer.close()
    return history


def train_epoch(step_model: nn.Module, batches: Iterable, criterion: nn.Module, optimizer: torch.optim.Optimizer,
                schedule, amp: bool, history: History) -> dict[str, float]:
    """One pass over ``batches``, stepping the schedule after every batch and appending each step's
    loss and learning rate to ``history``; returns the epoch's mean training loss, accuracy and
    images per second."""
    device = next(step_model.parameters()).device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen, step_losses = 0, []
    synchronize(device)
    start = time.perf_counter()
    for x, y in batches:
        if device.type == "cpu":
            adapt_threads(force=False)  # fewer threads while another process wants a core
        loss, logits = train_step(step_model, x, y, criterion, optimizer, amp)
        history.step_lr.append(schedule.get_last_lr()[0])
        schedule.step()
        loss_sum += loss.detach() * len(y)
        correct += (logits.argmax(1) == y).sum()
        seen += len(y)
        step_losses.append(loss.detach())
    synchronize(device)
    seconds = time.perf_counter() - start
    history.step_loss.extend(torch.stack(step_losses).float().cpu().tolist())  # one sync per epoch
    return {"loss": (loss_sum / seen).item(), "acc": (correct.float() / seen).item(), "images_per_s": seen / seconds}


def resume_from(checkpoint: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer, schedule,
                config: TrainConfig, steps_per_epoch: int) -> tuple[History, int]:
    """Load ``checkpoint`` into the model, optimiser, schedule and random-number generators, after
    checking that it was written by the same configuration and data size; return its History and
    the first epoch still to train."""
    # Loaded on the CPU: load_state_dict moves weights and optimiser state to the parameters'
    # device, and the random-number states must stay CPU byte tensors.
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    saved = {k: v for k, v in state["config"].items() if k not in ("epochs", "compile")}
    current = {k: v for k, v in asdict(config).items() if k not in ("epochs", "compile")}
    if saved != current:
        raise ValueError(f"checkpoint {checkpoint} was written with a different configuration "
                         f"({saved}); pass resume=False to start over, or use the same settings.")
    saved_steps = state.get("steps_per_epoch", steps_per_epoch)
    if saved_steps != steps_per_epoch:
        raise ValueError(f"checkpoint {checkpoint} was written with {saved_steps} batches per epoch, this "
                         f"train_loader has {steps_per_epoch} (another data subset or batch size?); pass "
                         "resume=False to start over.")
    start_epoch = state["epoch"] + 1
    if start_epoch > config.epochs:
        raise ValueError(f"checkpoint {checkpoint} has already trained {start_epoch} epochs, more than "
                         f"epochs={config.epochs}; ask for at least {start_epoch} epochs, or start over.")
    _unwrap(model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    _set_rng_state(state["rng"])
    history = History.from_dict(state["history"])
    # said even without progress bars: a resumed run must never look like a fresh one
    print(f"Resuming from {checkpoint}: {start_epoch} of {config.epochs} epochs done, "
          f"test accuracy so far {history.test_acc[-1]:.2%}.")
    if state["config"]["epochs"] != config.epochs:
        print(f"Note: the run was planned for {state['config']['epochs']} epochs and now goes to "
              f"{config.epochs}; the learning-rate schedule continues on the new length (a warm restart), "
              "so the result differs from an uninterrupted run of that length.")
    return history, start_epoch


def prepare(model: nn.Module, config: TrainConfig) -> nn.Module:
    """The model as the loop runs it: channels-last where it pays (CUDA by default), compiled if asked.
    Returns the module to call; the parameters are shared with ``model``."""
    device = next(model.parameters()).device
    if uses_channels_last(config, device):
        model.to(memory_format=torch.channels_last)
    return torch.compile(model) if config.compile else model


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, criterion: nn.Module,
               optimizer: torch.optim.Optimizer, amp: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimisation step (bf16 autocast on CUDA when ``amp``); returns the loss and the logits."""
    with _autocast(x.device, amp):
        logits = model(x)
        loss = criterion(logits, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss, logits


def cpu_has_bf16_units() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (Intel AMX). Measured on such a 2-core Xeon
    (bench/train_step.py): bf16 autocast + channels-last trains ResNet-34 about 3x faster than fp32."""
    is_amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(is_amx and is_amx())


def default_amp(device: torch.device) -> bool:
    """bf16 autocast by default: on CUDA; on a CPU with bf16 matrix units (elsewhere bf16 is emulated
    and slower than fp32); never on Apple MPS (bf16 there is unreliable in torch 2.14)."""
    return device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16_units())


def default_channels_last(device: torch.device) -> bool:
    """Channels-last by default on CUDA and the CPU (1.1-1.4x faster on a 2-core CPU, measured), never
    on Apple MPS, where BatchNorm2d's backward on channels-last inputs gives wrong gradients
    (pytorch/pytorch#175189)."""
    return device.type in ("cuda", "cpu")


def uses_amp(config: TrainConfig, device: torch.device) -> bool:
    """Whether the loop trains under bf16 autocast: ``config.amp``, else :func:`default_amp`. MPS is refused."""
    if config.amp and device.type not in ("cuda", "cpu"):
        raise ValueError(f"amp=True (bf16 autocast) is supported on cuda and cpu, not on {device.type}")
    return default_amp(device) if config.amp is None else config.amp


def uses_channels_last(config: TrainConfig, device: torch.device) -> bool:
    """Whether the loop runs the model channels-last: ``config.channels_last``, else :func:`default_channels_last`."""
    return default_channels_last(device) if config.channels_last is None else config.channels_last


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (for honest timings)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


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


def _tensorboard_writer(log_dir):
    try:  # imported here: tensorboard is an optional dependency
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ImportError("log_dir / --tensorboard needs the tensorboard package: "
                          "`.venv/bin/pip install tensorboard` (it is optional, not in requirements.txt).") from error
    return SummaryWriter(str(log_dir))


# --------------------------------------------------------------------------- command line

#: The CPU demo: the real 34-layer network at a quarter of the width (1.3M parameters), three epochs
#: over all 50,000 training images at batch 128 (two epochs gave 69.85% in 157 s on the 2-core Xeon with
#: bf16 units, 2026-11-29; see the README for the measured three). It shows the pipeline end to end;
#: it is not the real run (width 64, 30 epochs, a GPU).
QUICK = dict(model="resnet34", width=16, epochs=3, batch_size=128, lr=0.2, train_subset=None)
#: off CUDA, a run estimated longer than this many hours needs --allow-long (the default 30-epoch run is days)
LONG_RUN_H = 3.0


def build_model(name: str, width: int, plain: bool = False, num_classes: int = 10) -> nn.Module:
    if name.startswith("cifar_resnet"):
        return cifar_resnet(int(name.removeprefix("cifar_resnet")), num_classes, residual=not plain)
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)} or cifar_resnet<depth>, got {name!r}")
    return MODELS[name](num_classes, stem="cifar", width=width, residual=not plain)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m helpers.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resnet34", help="resnet18/34/50/101/152 (CIFAR stem) or cifar_resnet20/56/...")
    parser.add_argument("--width", type=int, default=64, help="channels of the first stage (64 = the real network)")
    parser.add_argument("--plain", action="store_true", help="the plain network: same layers, no shortcuts")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=0.2, help="peak learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-subset", type=int, default=None, help="train on a class-balanced subset")
    parser.add_argument("--data", default=None, help="CIFAR-10 directory (default: $CIFAR10_DIR, else data/)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file, written after every epoch")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    parser.add_argument("--quick", action="store_true",
                        help="the CPU demo: ResNet-34 at width 16, 3 epochs (218 s wall, 76.1%%, on a 2-core "
                             "Xeon with bf16 units; 300 s in fp32 on a 2-core AMD EPYC Zen 4)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--amp", choices=("auto", "on", "off"), default="auto",
                        help="bf16 autocast (auto: on CUDA and on CPUs with bf16 matrix units)")
    parser.add_argument("--channels-last", choices=("auto", "on", "off"), default="auto",
                        help="channels-last memory format (auto: on CUDA and CPU, off on MPS)")
    parser.add_argument("--tensorboard", default=None, metavar="DIR", help="also log scalars for TensorBoard")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--allow-long", action="store_true",
                        help=f"run even when the estimate off CUDA exceeds {LONG_RUN_H:g} hours (a GPU-sized run on a CPU)")
    parser.add_argument("--save-result", default=None, metavar="NAME",
                        help="also write results/NAME.json (the JSON line, the history, the command, date and device); "
                             "notebook 06 shows results/resnet34_cifar10.json next to its own run")
    if parser.parse_known_args(argv)[0].quick:
        parser.set_defaults(**QUICK)  # the preset replaces the defaults; options given explicitly still win
    args = parser.parse_args(argv)

    origin = provenance()  # the code and machine the run starts from
    device = pick_device()
    switch = {"auto": None, "on": True, "off": False}
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         compile=args.compile, amp=switch[args.amp], channels_last=switch[args.channels_last])
    train_loader, test_loader = cifar10_loaders(args.batch_size, root=args.data, device=device, seed=args.seed,
                                                train_subset=args.train_subset,
                                                channels_last=uses_channels_last(config, device))
    if device.type != "cuda":
        hours = estimate_seconds([(args.model, args.width, args.batch_size, args.epochs * train_loader.num_images)],
                                 device) / 3600
        print(f"estimate on {device_name(device)} (from measured steps): about {hours * 60:,.0f} min "
              f"for {args.epochs} epochs of {train_loader.num_images:,} images", flush=True)
        if hours > LONG_RUN_H and not args.allow_long:
            parser.error(f"this run is sized for a GPU: about {hours:,.1f} hours on {device_name(device)}. Try --quick "
                         f"(minutes), fewer --epochs or a smaller --width, or pass --allow-long to run it anyway.")
    seed_everything(args.seed)
    model = build_model(args.model, args.width, args.plain).to(device)
    start = time.perf_counter()
    history = fit(model, train_loader, test_loader, config, checkpoint=args.checkpoint, resume=args.resume,
                  progress=not args.no_progress, log_dir=args.tensorboard)
    result = {
        "model": args.model + ("-plain" if args.plain else ""),
        "width": args.width,
        "params": count_parameters(model),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
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
    if args.save_result:
        logits, labels = predict(model, test_loader, uses_amp(config, device))
        confusion = confusion_matrix(labels, logits.argmax(1))
        command = command_line("python -m helpers.train", argv)
        save_result(args.save_result, {**result, "train_images": train_loader.num_images, "config": asdict(config),
                                       "history": history.to_dict(), "confusion_matrix": confusion.tolist(),
                                       "per_class_accuracy": per_class_accuracy(confusion).tolist()},
                    command=command, device=result["device"], origin=origin,
                    wall_s=history.elapsed_s[-1])  # training + evaluation, summed over resumed sessions
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
