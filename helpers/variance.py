"""How activations grow or shrink through a deep stack of blocks, and how to measure it.

The activation-variance explorer of notebook 04 is built from these pieces, each usable alone:

* :class:`VarianceStack`: ``depth`` blocks acting on a (batch, 16, 8, 8) tensor. A block is the
  pre-activation branch of He et al. (2016b), ``F(x) = conv(relu([BN] conv(relu([BN] x))))``, used
  as ``x + branch_scale * F(x)`` (residual) or ``F(x)`` (plain), with batch norm off, inside the
  branch, or after the add. Convolutions start He-normal times ``gain`` (the "init scale").
* :func:`measure_stack`: runs one stack on random input and returns :class:`StackStats`: the
  standard deviation of the activations after every block, histograms of a few blocks, and what
  the variance algebra predicts for the same settings.
* the explorer itself, ``variance_view`` (a plain function of the slider values that returns a
  matplotlib Figure and the measured numbers) and ``variance_explorer`` (its sliders), lives with
  the other explorers in ``helpers.widgets``.

For real networks, :func:`stage_statistics` measures the per-stage activation mean/std and the
gradient std of a ResNet, and :func:`plot_stage_statistics` / :func:`plot_update_ratios` draw them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor, nn

from helpers.arguments import integer, number
from helpers.runtime import one_thread

#: where batch norm sits in a block: inside the residual branch (before each relu, as in the
#: pre-activation ResNet) or after the add, on the sum itself
BN_POSITIONS: tuple[str, ...] = ("branch", "after_add")
BN_POSITION_LABELS: dict[str, str] = {"branch": "inside the branch", "after_add": "after the add"}

#: slider ranges of the explorer (the widget and the argument checks use the same numbers)
LIMITS: dict[str, tuple[float, float]] = {
    "depth": (1, 100),
    "gain": (0.25, 2.0),
    "branch_scale": (0.0, 2.0),
    "batch_size": (1, 64),
}


# --------------------------------------------------------------------------- checking arguments

def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_position(bn_position: object) -> str:
    if bn_position not in BN_POSITIONS:
        raise ValueError(f"bn_position must be one of {BN_POSITIONS}, got {bn_position!r}")
    return str(bn_position)


# --------------------------------------------------------------------------- the stack

@dataclass(frozen=True)
class StackConfig:
    """Every setting of a :class:`VarianceStack` experiment (the explorer's sliders, and a seed)."""

    depth: int = 30
    gain: float = 1.0
    branch_scale: float = 1.0
    batch_size: int = 32
    residual: bool = True
    batch_norm: bool = False
    bn_position: str = "branch"
    width: int = 16
    size: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        lo, hi = LIMITS["depth"]
        object.__setattr__(self, "depth", integer("depth", self.depth, int(lo), int(hi)))
        object.__setattr__(self, "gain", number("gain", self.gain, *LIMITS["gain"]))
        object.__setattr__(self, "branch_scale", number("branch_scale", self.branch_scale,
                                                              *LIMITS["branch_scale"]))
        lo, hi = LIMITS["batch_size"]
        object.__setattr__(self, "batch_size", integer("batch_size", self.batch_size, int(lo), int(hi)))
        object.__setattr__(self, "residual", _check_bool("residual", self.residual))
        object.__setattr__(self, "batch_norm", _check_bool("batch_norm", self.batch_norm))
        object.__setattr__(self, "bn_position", _check_position(self.bn_position))
        object.__setattr__(self, "width", integer("width", self.width, 1, 512))
        object.__setattr__(self, "size", integer("size", self.size, 1, 64))
        object.__setattr__(self, "seed", integer("seed", self.seed, 0, 2**63 - 1))

    def describe(self) -> str:
        kind = "residual" if self.residual else "plain"
        bn = f"BN {BN_POSITION_LABELS[self.bn_position]}" if self.batch_norm else "no BN"
        scale = f", branch scale {self.branch_scale:g}" if self.residual else ""
        return f"{kind}, {bn}, depth {self.depth}, init scale {self.gain:g}{scale}, batch {self.batch_size}"


class VarianceBlock(nn.Module):
    """One block: ``x + branch_scale * F(x)`` (residual) or ``F(x)`` (plain), with
    ``F(x) = conv2(relu(bn2(conv1(relu(bn1(x))))))`` (the bn's only when batch norm is inside the
    branch) and, for ``bn_position="after_add"``, one batch norm applied to the block's output.

    Circular padding: every output pixel sees 3x3 inputs, so He initialisation preserves the
    variance exactly in expectation (zero padding would lose a little at the borders of an 8x8 map
    and blur the lesson).
    """

    def __init__(self, width: int, residual: bool, batch_norm: bool, bn_position: str,
                 branch_scale: float) -> None:
        super().__init__()
        inside = batch_norm and bn_position == "branch"
        self.bn1 = nn.BatchNorm2d(width) if inside else nn.Identity()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, padding_mode="circular", bias=False)
        self.bn2 = nn.BatchNorm2d(width) if inside else nn.Identity()
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, padding_mode="circular", bias=False)
        self.bn_out = nn.BatchNorm2d(width) if batch_norm and bn_position == "after_add" else nn.Identity()
        self.residual = residual
        self.branch_scale = branch_scale

    def forward(self, x: Tensor) -> Tensor:
        branch = self.conv2(torch.relu(self.bn2(self.conv1(torch.relu(self.bn1(x))))))
        out = x + self.branch_scale * branch if self.residual else branch
        return self.bn_out(out)


class VarianceStack(nn.Module):
    """``config.depth`` blocks; ``forward`` returns the input and the output of every block."""

    def __init__(self, config: StackConfig) -> None:
        super().__init__()
        self.config = config
        self.blocks = nn.ModuleList(
            VarianceBlock(config.width, config.residual, config.batch_norm, config.bn_position, config.branch_scale)
            for _ in range(config.depth)
        )
        # Weights drawn in block order from one generator: block k gets the same weights whatever
        # the total depth, so dragging the depth slider only adds or removes blocks at the end.
        generator = torch.Generator().manual_seed(config.seed)
        for block in self.blocks:
            for conv in (block.conv1, block.conv2):
                fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
                std = config.gain * math.sqrt(2.0 / fan_in)  # He et al. (2015) normal init, times the gain
                with torch.no_grad():
                    conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * std)

    def forward(self, x: Tensor) -> list[Tensor]:
        outputs = [x]
        for block in self.blocks:
            outputs.append(block(outputs[-1]))
        return outputs


def stack_input(config: StackConfig) -> Tensor:
    """Standard normal input of shape (batch, width, size, size) from ``config.seed``."""
    generator = torch.Generator().manual_seed(config.seed + 1)
    return torch.randn(config.batch_size, config.width, config.size, config.size, generator=generator)


def predicted_std(config: StackConfig, input_std: float = 1.0) -> np.ndarray:
    """What the variance algebra predicts for the std after each block (index 0 = the input).

    With He init times ``g`` a convolution after a relu multiplies the second moment by ``g**2``
    (``2 g**2 / fan_in`` per weight, ``fan_in`` terms, and the relu keeps half of a symmetric
    input's second moment), so a plain branch multiplies the variance by ``g**4``. Batch norm
    resets what it sees to variance 1. Adding an independent branch adds its variance:

    ========================  =====================================
    plain, no BN              ``var_l = g**(4 l) var_0``
    plain, BN in the branch   ``var_l = g**2``
    residual, no BN           ``var_l = (1 + b**2 g**4)**l var_0``
    residual, BN in branch    ``var_l = var_0 + l b**2 g**2``
    BN after the add          ``var_l = 1``
    ========================  =====================================

    (``b`` is the branch scale.) These are expectations over random weights; a finite network
    scatters around them.
    """
    g, b, blocks = config.gain, config.branch_scale, np.arange(config.depth + 1, dtype=np.float64)
    var0 = input_std**2
    if config.batch_norm and config.bn_position == "after_add":
        var = np.ones_like(blocks)
    elif config.batch_norm:
        var = var0 + blocks * b**2 * g**2 if config.residual else np.full_like(blocks, g**2)
    elif config.residual:
        with np.errstate(over="ignore"):
            var = var0 * (1 + b**2 * g**4) ** blocks
    else:
        with np.errstate(over="ignore"):
            var = var0 * (g**4) ** blocks
    var[0] = var0
    return np.sqrt(var)


@dataclass
class StackStats:
    """What :func:`measure_stack` measured. Index 0 of ``std`` and ``mean`` is the input."""

    config: StackConfig
    std: np.ndarray
    mean: np.ndarray
    predicted: np.ndarray
    histograms: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def depth(self) -> int:
        return self.config.depth

    @property
    def growth_per_block(self) -> float:
        """Geometric mean of std(block l) / std(block l-1): 1.41 means the std grows 41% per block."""
        return float((self.std[-1] / self.std[0]) ** (1.0 / self.depth))

    @property
    def variance_step(self) -> float:
        """Average change of the variance per block, (var_L - var_0) / L: the slope of linear growth."""
        return float((self.std[-1] ** 2 - self.std[0] ** 2) / self.depth)

    @property
    def predicted_growth_per_block(self) -> float:
        return float((self.predicted[-1] / self.predicted[0]) ** (1.0 / self.depth))

    @property
    def predicted_variance_step(self) -> float:
        return float((self.predicted[-1] ** 2 - self.predicted[0] ** 2) / self.depth)

    @property
    def verdict(self) -> str:
        """One word for what happened: explodes, vanishes, grows, shrinks or stays."""
        ratio = self.std[-1] / self.std[0]
        if not np.isfinite(ratio) or ratio > 1e3:
            return "explodes"
        if ratio < 1e-3:
            return "vanishes"
        if ratio > 2:
            return "grows"
        if ratio < 0.5:
            return "shrinks"
        return "stays"

    @property
    def regime(self) -> str:
        """Which law the settings follow: 'exponential' (a constant factor per block), 'linear'
        (a constant variance added per block) or 'constant' (reset by batch norm)."""
        config = self.config
        if config.batch_norm and (config.bn_position == "after_add" or not config.residual):
            return "constant"
        if config.batch_norm:
            return "linear"
        return "exponential"

    def summary(self) -> str:
        """The measured numbers in one line, next to what theory predicts."""
        first, last = self.std[0], self.std[-1]
        head = f"std {first:.3g} -> {last:.3g} after {self.depth} blocks ({self.verdict})"
        if self.regime == "linear":
            law = (f"variance +{self.variance_step:.3g} per block (theory: +{self.predicted_variance_step:.3g}, "
                   f"i.e. branch scale\u00b2 \u00d7 init scale\u00b2): linear growth")
        elif self.regime == "constant":
            law = f"std stays at {np.median(self.std[1:]):.3g} (theory {self.predicted[-1]:.3g}): reset by batch norm"
        else:
            law = (f"std \u00d7{self.growth_per_block:.3g} per block (theory \u00d7{self.predicted_growth_per_block:.3g}): "
                   "exponential")
        return f"{self.config.describe()} | {head} | {law}"


def histogram_blocks(depth: int) -> list[int]:
    """The blocks whose histograms the explorer shows: the first, the middle and the last."""
    return sorted({1, max(1, (depth + 1) // 2), depth})


@torch.no_grad()
def measure_stack(config: StackConfig | None = None, *, max_histogram_values: int = 20_000,
                  **settings: object) -> StackStats:
    """Build the stack for ``config`` (or for keyword settings, e.g. ``depth=50, residual=False``),
    push one batch of standard normal input through it (batch norm in training mode: batch
    statistics, as at the start of training) and measure every block's output.

    Without batch norm every block is positively homogeneous (relu and bias-free convolutions:
    ``block(c x) = c block(x)`` for ``c > 0``), so the activations are divided by their std after
    each block and the scale is carried along as a Python float: the exploding settings reach
    1e90 without overflowing float32, and the numbers are the same as without the rescaling.
    """
    if config is None:
        config = StackConfig(**settings)  # type: ignore[arg-type]
    elif settings:
        raise TypeError(f"pass either a StackConfig or keyword settings, not both (got {sorted(settings)})")
    elif not isinstance(config, StackConfig):
        raise TypeError(f"config must be a StackConfig, got {type(config).__name__}")
    keep = set(histogram_blocks(config.depth))
    generator = torch.Generator().manual_seed(config.seed + 2)
    std, mean, histograms = [], [], {}
    with one_thread():  # tiny tensors (16 x 8 x 8 per image)
        stack = VarianceStack(config).train()
        x, scale = stack_input(config), 1.0
        for index in range(config.depth + 1):
            if index > 0:
                x = stack.blocks[index - 1](x)
            spread = x.std().item()
            std.append(scale * spread)
            mean.append(scale * x.mean().item())
            if index in keep:
                values = x.flatten()
                if values.numel() > max_histogram_values:
                    values = values[torch.randperm(values.numel(), generator=generator)[:max_histogram_values]]
                histograms[index] = values.double().numpy() * scale
            if not config.batch_norm and spread > 0:
                x, scale = x / spread, scale * spread
    std_array = np.array(std)
    return StackStats(config, std_array, np.array(mean), predicted_std(config, input_std=float(std_array[0])),
                      histograms)


# --------------------------------------------------------------------------- real networks

def _stage_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    stage_names = getattr(model, "stage_names", None)
    if stage_names is None or not hasattr(model, "maxpool"):
        raise TypeError(f"model must be a helpers.models.ResNet (with a stem and stage_names), got "
                        f"{type(model).__name__}")
    # The stem ends at the max-pool (an Identity with the CIFAR stem): its output is the stem's.
    return [("stem", model.maxpool)] + [(name, getattr(model, name)) for name in stage_names]


@dataclass
class StageRow:
    """Statistics of one stage's output on one batch."""

    name: str
    shape: tuple[int, ...]
    act_mean: float
    act_std: float
    grad_std: float


def stage_statistics(model: nn.Module, images: Tensor, labels: Tensor, *, train_mode: bool = True) -> list[StageRow]:
    """Mean and std of the output of the stem and every stage of a ResNet on one batch, and the std
    of the loss gradient with respect to those outputs (the signal going backwards).

    Batch norm runs in training mode (batch statistics) unless ``train_mode=False``. The model is
    left as it was: its mode, its parameters' gradients and its batch-norm running statistics are
    restored afterwards (a training-mode forward pass would otherwise update them).
    """
    if not isinstance(images, Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a (N, C, H, W) tensor, got {getattr(images, 'shape', images)!r}")
    if not isinstance(labels, Tensor) or labels.shape != images.shape[:1]:
        raise ValueError(f"labels must be a tensor of shape ({images.shape[0]},), got "
                         f"{getattr(labels, 'shape', labels)!r}")
    modules = _stage_modules(model)
    saved_buffers = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    saved_grads = {name: p.grad for name, p in model.named_parameters()}
    was_training = model.training
    outputs: dict[str, Tensor] = {}
    grads: dict[str, Tensor] = {}

    def remember(name: str):
        def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
            outputs[name] = output.detach()
            if output.requires_grad:
                output.register_hook(lambda grad: grads.__setitem__(name, grad.detach()))
        return hook

    handles = [module.register_forward_hook(remember(name)) for name, module in modules]
    try:
        model.train(train_mode)
        for p in model.parameters():
            p.grad = None
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
        model.load_state_dict(saved_buffers, strict=False)
        for name, p in model.named_parameters():
            p.grad = saved_grads[name]
    return [StageRow(name, tuple(outputs[name].shape), outputs[name].mean().item(), outputs[name].std().item(),
                     grads[name].std().item() if name in grads else float("nan"))
            for name, _ in modules]


def format_stage_table(rows: list[StageRow], title: str = "") -> str:
    """The rows of :func:`stage_statistics` as a small fixed-width table."""
    lines = [title] if title else []
    lines.append(f"{'stage':<8}{'output shape':<20}{'act mean':>10}{'act std':>10}{'grad std':>11}")
    for r in rows:
        lines.append(f"{r.name:<8}{str(r.shape):<20}{r.act_mean:>10.3f}{r.act_std:>10.3f}{r.grad_std:>11.2e}")
    return "\n".join(lines)


def plot_stage_statistics(before: list[StageRow], after: list[StageRow], *, labels: tuple[str, str] = (
        "at initialisation", "after training")) -> plt.Figure:
    """Activation mean, activation std and gradient std per stage, before and after training."""
    names = [r.name for r in before]
    x = np.arange(len(names))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    panels = [("act_mean", "activation mean", False), ("act_std", "activation std", False),
              ("grad_std", "std of dLoss/d(output) (log scale)", True)]
    for ax, (key, label, log) in zip(axes, panels, strict=True):
        for rows, name, marker in ((before, labels[0], "o-"), (after, labels[1], "s-")):
            ax.plot(x, [getattr(r, key) for r in rows], marker, label=name)
        ax.set_xticks(x, names)
        ax.set_xlabel("stage output")
        ax.set_ylabel(label)
        if log:
            ax.set_yscale("log")
        ax.set_title(label.replace(" (log scale)", ""), fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("ResNet-34 (width 16) per-stage diagnostics on one batch, batch norm in training mode")
    fig.tight_layout()
    return fig


def plot_update_ratios(ratios: np.ndarray, names: list[str], *, every: int = 1, title: str = "") -> plt.Figure:
    """||update|| / ||weight|| per layer (one line each, coloured from the first layer to the last)
    over training steps, on a log scale, with the 1e-3 rule of thumb as a grey line."""
    ratios = np.asarray(ratios, dtype=np.float64)
    if ratios.ndim != 2 or ratios.shape[1] != len(names):
        raise ValueError(f"ratios must have shape (steps, {len(names)}) (one column per name), got {ratios.shape}")
    fig, ax = plt.subplots(figsize=(10, 4))
    colours = plt.cm.viridis(np.linspace(0, 1, len(names)))
    steps = np.arange(1, len(ratios) + 1) * every
    for j, name in enumerate(names):
        label = name if j in (0, len(names) // 2, len(names) - 1) else None
        ax.plot(steps, ratios[:, j], color=colours[j], lw=0.9, label=label)
    ax.axhline(1e-3, color="0.5", ls="--", lw=1, label="1e-3 (rule of thumb)")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("||update|| / ||weight|| (log scale)")
    ax.set_title(title or "Update-to-weight ratio per layer (dark: first layer, yellow: last)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig
