"""One training loop for every notebook and for the command line.

SGD with Nesterov momentum, a one-cycle learning-rate schedule (linear warm-up, then linear decay
to zero), label smoothing, weight decay on conv/linear weights only (not on batch-norm parameters
or biases), bf16 autocast on CUDA, channels-last memory format, optional ``torch.compile``.
A checkpoint is written after every epoch and a run resumes from it exactly: the loaders' order
and crops depend only on (seed, epoch), and the checkpoint holds the model, optimiser, schedule,
random-number states and history.

This module is the loop only. What is trained with it, on which budget, and from which command line
(``python -m helpers.experiments resnet34 --quick`` and the others) lives in :mod:`helpers.experiments`;
``python -m helpers.train ...`` still runs the ResNet-34 experiment, as the commands saved with older
results say.
"""
from __future__ import annotations

import math
import os
import random
import tempfile
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
from helpers.runtime import adapt_threads, cpu_kind, seed_everything


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
        for acc, seconds in zip(self.test_acc, self.elapsed_s, strict=True):
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


def check_writable(path: str | os.PathLike) -> Path:
    """Check, before any training, that a checkpoint can be written at ``path`` (creating its folder): a
    ValueError naming the path instead of a raw error after a whole epoch. Returns the path."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"checkpoint {path} is a directory; name a file in it, such as {path / 'run.pt'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as error:
        raise ValueError(f"checkpoint {path} cannot be written: {error.strerror or error} "
                         f"({error.filename or path.parent})") from error
    return path


def save_checkpoint(path: str | os.PathLike, **state: Any) -> None:
    """Write atomically: an interrupted or failed save never leaves a half-written checkpoint (nor its
    temporary file) behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The state :func:`fit` saved at ``path`` (on the CPU), or a ValueError naming the file when it is not one."""
    try:
        # weights_only=False: the random-number states hold NumPy arrays and Python tuples
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a truncated or foreign file: pickle, zip and torch errors alike
        raise ValueError(f"checkpoint {path} cannot be read as a checkpoint ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else 'no message'})") from error
    missing = [k for k in ("model", "optimizer", "schedule", "rng", "history", "config", "epoch")
               if not isinstance(state, dict) or k not in state]
    if missing:
        raise ValueError(f"checkpoint {path} is not one this loop wrote: it lacks {', '.join(missing)}")
    return state


def _differences(there: dict[str, Any], here: dict[str, Any]) -> list[str]:
    return [f"{key} {there.get(key)!r} there, {here.get(key)!r} here"
            for key in sorted(set(there) | set(here)) if there.get(key) != here.get(key)]


def check_compatible(state: dict[str, Any], path: str | os.PathLike, model: nn.Module, config: TrainConfig,
                     identity: dict[str, Any] | None = None, start_over: str = "resume=False") -> None:
    """Refuse (ValueError, one line) to resume from checkpoint ``state`` into another network or recipe:
    every field of the network's record that differs (when both the checkpoint and the run have one),
    else a summary of differing layers and shapes (checkpoints written before the record existed), then
    every differing setting of ``config`` (all but ``epochs`` and ``compile``). ``start_over`` says how to
    start over instead, in the caller's words."""
    start_over = f"use the same settings, or start over ({start_over})"
    saved_identity = state.get("identity")
    if saved_identity is not None and identity is not None and saved_identity != identity:
        raise ValueError(f"checkpoint {path} holds another network ({'; '.join(_differences(saved_identity, identity))}"
                         f"); {start_over}.")
    saved, current = state["model"], _unwrap(model).state_dict()
    missing = [k for k in current if k not in saved]
    extra = [k for k in saved if k not in current]
    reshaped = [k for k in current if k in saved and tuple(saved[k].shape) != tuple(current[k].shape)]
    if missing or extra or reshaped:
        parts = [f"{len(missing)} of this model's tensors are not in it (e.g. {missing[0]})"] if missing else []
        parts += [f"{len(extra)} of its tensors are not in this model (e.g. {extra[0]})"] if extra else []
        if reshaped:
            k = reshaped[0]
            parts.append(f"{len(reshaped)} differ in shape (e.g. {k}: {list(saved[k].shape)} there, "
                         f"{list(current[k].shape)} here)")
        raise ValueError(f"checkpoint {path} holds another network: {'; '.join(parts)}; {start_over}.")
    ignored = ("epochs", "compile")
    differences = _differences({k: v for k, v in state["config"].items() if k not in ignored},
                               {k: v for k, v in asdict(config).items() if k not in ignored})
    if differences:
        raise ValueError(f"checkpoint {path} was written with a different configuration ({'; '.join(differences)}); "
                         f"{start_over}.")
    start_epoch = state["epoch"] + 1
    if start_epoch > config.epochs:
        raise ValueError(f"checkpoint {path} has already trained {start_epoch} epochs, more than "
                         f"epochs={config.epochs}; ask for at least {start_epoch} epochs, or start over.")


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
    identity: dict[str, Any] | None = None,
) -> History:
    """Train ``model`` for ``config.epochs`` epochs and evaluate after each; return the History.

    ``train_loader`` is a :class:`helpers.data.DeviceLoader` (anything with ``set_epoch`` and
    ``len`` works). With ``checkpoint`` set, the state is saved after every epoch and, if
    ``resume`` and the file exists, training continues from it instead of starting over.
    ``on_epoch_end(history)`` runs after each epoch (live plots); ``log_dir`` also writes the
    scalars for TensorBoard when the ``tensorboard`` package is installed. An epoch whose mean training
    loss is not a finite number ends the run (said, checkpointed, ``history.diverged``): what follows
    would only compute with NaNs, and a resumed diverged run stays finished. ``identity`` says what the
    network is (JSON values, e.g. ``{"model": "resnet34", "width": 16, ...}``): it is saved in the checkpoint,
    and resuming a checkpoint of another network is refused (:func:`check_compatible`). A checkpoint path
    that cannot be written is refused before training (:func:`check_writable`).
    """
    config = config or TrainConfig()
    device = next(model.parameters()).device
    amp = uses_amp(config, device)
    steps_per_epoch = len(train_loader)
    if steps_per_epoch == 0:
        raise ValueError("train_loader yields no batches")
    if checkpoint is not None:
        check_writable(checkpoint)
    seed_everything(config.seed)
    step_model = prepare(model, config)
    optimizer, schedule = make_optimizer(model, config, steps_per_epoch)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    history, start_epoch = History(), 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        history, start_epoch = resume_from(checkpoint, model, optimizer, schedule, config, steps_per_epoch,
                                           identity)
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
                            config=asdict(config), epoch=epoch, steps_per_epoch=steps_per_epoch,
                            identity=identity, threads=torch.get_num_threads())
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
                config: TrainConfig, steps_per_epoch: int,
                identity: dict[str, Any] | None = None) -> tuple[History, int]:
    """Load ``checkpoint`` into the model, optimiser, schedule and random-number generators, after
    checking that it holds the same network (:func:`check_compatible`) and was written by the same
    configuration and data size; return its History and the first epoch still to train."""
    # Loaded on the CPU: load_state_dict moves weights and optimiser state to the parameters'
    # device, and the random-number states must stay CPU byte tensors.
    state = read_checkpoint(checkpoint)
    check_compatible(state, checkpoint, model, config, identity)
    saved_steps = state.get("steps_per_epoch", steps_per_epoch)
    if saved_steps != steps_per_epoch:
        raise ValueError(f"checkpoint {checkpoint} was written with {saved_steps} batches per epoch, this "
                         f"train_loader has {steps_per_epoch} (another data subset or batch size?); pass "
                         "resume=False to start over.")
    start_epoch = state["epoch"] + 1
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
    threads = state.get("threads")
    if threads is not None and threads != torch.get_num_threads() and start_epoch < config.epochs \
            and next(model.parameters()).device.type == "cpu":  # said only when there is training left to do
        print(f"Note: the checkpoint was written with {threads} CPU threads, this process has "
              f"{torch.get_num_threads()}; another count sums in another order, so the weights will not equal an "
              "uninterrupted run's bit for bit (set RESNET_THREADS to keep one count).")
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
    """Whether this CPU computes in bf16 natively (:func:`helpers.runtime.cpu_kind`: AMX or AVX512-BF16).
    bf16 autocast + channels-last trains ResNet-34 about 3x faster than fp32 on a 2-core Xeon with AMX and
    1.8x faster on a 2-core AMD EPYC (Zen 4) with AVX512-BF16 (bench/train_step.py, issue 26); on a CPU with
    neither (an AMD EPYC Zen 3, AVX2) bf16 is emulated and about 10x slower than fp32 (measured)."""
    return cpu_kind() != "no bf16 units"


def default_amp(device: torch.device) -> bool:
    """bf16 autocast by default: on CUDA; on a CPU with native bf16 (AMX or AVX512-BF16; elsewhere it is emulated
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


def _tensorboard_writer(log_dir):
    try:  # imported here: tensorboard is an optional dependency
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ImportError("log_dir / --tensorboard needs the tensorboard package: "
                          "`.venv/bin/pip install tensorboard` (it is optional, not in requirements.txt).") from error
    return SummaryWriter(str(log_dir))


if __name__ == "__main__":  # the command line of results saved before helpers.experiments existed
    from helpers.experiments import resnet34_main

    resnet34_main(prog="python -m helpers.train")
