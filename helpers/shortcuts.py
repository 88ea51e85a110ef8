"""What the shortcuts do, measured on trained networks (notebook 07).

* Lesions (Veit et al., 2016): delete a block, so that it computes its shortcut only, and measure the
  test error; then delete k blocks at random.
* Paths: a net of n residual blocks is a sum of 2**n paths; C(n, k) of them pass through k branches.
* Loss landscapes (Li et al., 2018): the training loss along filter-normalised random directions, and
  the top Hessian eigenvalue by power iteration on Hessian-vector products.

Everything here runs the network in eval mode (batch norm uses its running statistics), so that a
loss is a function of the weights alone, and works on ``helpers.models`` ResNets of any depth.

The real-scale numbers that notebook 07 shows are computed on the shipped networks
(``helpers.pretrained``) by the command line (:mod:`helpers.experiments`), and saved with their provenance:

    python -m helpers.experiments lesions --save lesions_cpu         # ResNet-56 and plain-56, 10,000 test images
    python -m helpers.experiments landscape --save landscape_cpu     # 31 x 31 grid on 5,000 training images

``python -m helpers.shortcuts lesions|landscape ...``, the spelling the saved results record, runs the same.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Iterable, Iterator, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from helpers import pretrained
from helpers.arguments import integer
from helpers.data import DataNotFoundError, balanced_subset, load_cifar10, normalize
from helpers.experiments import check_save, run_arguments
from helpers.models import ResNet
from helpers.results import command_line, provenance, save_result
from helpers.runtime import adapt_threads, device_name, hold_threads, pick_device

# --------------------------------------------------------------------------- lesions

def blocks(model: ResNet) -> list[tuple[str, nn.Module]]:
    """Every block in forward order, named as in the state dict (``'layer2.0'``)."""
    if not isinstance(model, ResNet):
        raise TypeError(f"model must be a helpers.models.ResNet, got {type(model).__name__}")
    return [(f"{stage_name}.{i}", block) for stage_name, stage in zip(model.stage_names, model.stages(), strict=True)
            for i, block in enumerate(stage)]


def changes_shape(block: nn.Module) -> bool:
    """Whether the block's output differs in shape from its input (stride 2, more channels)."""
    last = getattr(block, "conv3", None) or block.conv2  # Bottleneck, else BasicBlock
    return block.downsample is not None or block.conv1.stride != (1, 1) or block.conv1.in_channels != last.out_channels


def downsampling(model: ResNet) -> list[str]:
    """The blocks that change the shape: a residual net's have a shortcut that is not the identity; a
    plain net's cannot be deleted at all."""
    return [name for name, block in blocks(model) if changes_shape(block)]


def shortcut(block: nn.Module, x: Tensor) -> Tensor:
    """A block's shortcut: the identity, option A's subsample-and-pad, or option B's projection
    (``block.downsample``). A plain net's block that changes the shape has no shortcut: an error."""
    if block.downsample is not None:
        return block.downsample(x)
    if changes_shape(block):
        raise ValueError("this block changes the shape and has no shortcut (a plain net's): it cannot be deleted")
    return x


def deleted(block: nn.Module, x: Tensor) -> Tensor:
    """What a block computes once its residual branch is deleted (Veit et al., 2016): its output with the
    branch set to zero, ``relu(shortcut(x))``. The ReLU changes nothing after the identity or option A
    (their input is a ReLU's output), but it does after a projection with batch norm (option B)."""
    return torch.relu(shortcut(block, x))


class Lesioned(nn.Module):
    """A block with its residual branch deleted: ``y = relu(shortcut(x))`` (see :func:`deleted`)."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: Tensor) -> Tensor:
        return deleted(self.block, x)


@contextlib.contextmanager
def replaced(model: ResNet, replacements: dict[str, nn.Module]) -> Iterator[ResNet]:
    """Within the block, each block named in ``replacements`` is that module instead; restored after."""
    table = dict(blocks(model))
    unknown = [name for name in replacements if name not in table]
    if unknown:
        raise ValueError(f"names must be blocks of the model ({', '.join(table)}), got {unknown}")
    stages = dict(zip(model.stage_names, model.stages(), strict=True))

    def put(name: str, module: nn.Module) -> None:
        stage_name, index = name.split(".")
        stages[stage_name][int(index)] = module

    try:
        for name, module in replacements.items():
            put(name, module)
        yield model
    finally:
        for name in replacements:
            put(name, table[name])


def lesioned(model: ResNet, names: Iterable[str]) -> contextlib.AbstractContextManager[ResNet]:
    """Within the block, ``model`` runs with the blocks ``names`` deleted (see :class:`Lesioned`).

    >>> with lesioned(model, ["layer2.3"]):
    ...     error = 1 - evaluate(model, loader)["acc"]
    """
    table = dict(blocks(model))
    names = list(names)
    unknown = [name for name in names if name not in table]
    if unknown:
        raise ValueError(f"names must be blocks of the model ({', '.join(table)}), got {unknown}")
    return replaced(model, {name: Lesioned(table[name]) for name in names})


@torch.no_grad()
def lesion_errors(model: ResNet, images: Tensor, labels: Tensor, lesions: Sequence[Sequence[str]],
                  batch_size: int = 500, progress: bool = False) -> list[float]:
    """Test error (0..1) of ``model`` on ``images`` with each set of blocks in ``lesions`` deleted (an
    empty set: the intact net). The same numbers as evaluating under :func:`lesioned`, computed once per
    batch up to the first deleted block: the blocks before it see the intact net's activations."""
    table = blocks(model)
    order = {name: i for i, (name, _) in enumerate(table)}
    for lesion in lesions:
        unknown = [name for name in lesion if name not in order]
        if unknown:
            raise ValueError(f"lesions must name blocks of the model ({', '.join(order)}), got {unknown}")
    was_training = model.training
    model.eval()
    wrong = torch.zeros(len(lesions))
    try:
        for start in tqdm(range(0, len(images), batch_size), desc="lesions", disable=not progress, leave=False):
            x, y = images[start:start + batch_size], labels[start:start + batch_size]
            h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
            inputs = []  # the intact net's input to every block
            for _, block in table:
                inputs.append(h)
                h = block(h)
            intact = h
            for i, lesion in enumerate(lesions):
                gone = {order[name] for name in lesion}
                first = min(gone, default=len(table))
                h = inputs[first] if gone else intact
                for j in range(first, len(table)):
                    h = deleted(table[j][1], h) if j in gone else table[j][1](h)
                logits = model.fc(torch.flatten(model.avgpool(h), 1))
                wrong[i] += (logits.argmax(1) != y).sum().item()
    finally:
        model.train(was_training)
    return (wrong / len(images)).tolist()


def random_lesions(candidates: Sequence[str], k: int, draws: int, seed: int = 0) -> list[list[str]]:
    """``draws`` different random sets of ``k`` blocks out of ``candidates`` (fewer when fewer exist)."""
    integer("k", k, 0, len(candidates))
    integer("draws", draws)
    generator = torch.Generator().manual_seed(seed)
    possible = math.comb(len(candidates), k)
    chosen: list[list[str]] = []
    while len(chosen) < min(draws, possible):
        pick = sorted(torch.randperm(len(candidates), generator=generator)[:k].tolist())
        lesion = [candidates[i] for i in pick]
        if lesion not in chosen:
            chosen.append(lesion)
    return chosen


def lesion_study(model: ResNet, images: Tensor, labels: Tensor, max_k: int = 10, draws: int = 5, seed: int = 0,
                 batch_size: int = 500, progress: bool = False) -> dict:
    """Veit et al.'s two experiments, as JSON-ready numbers: the test error with each single block deleted
    (None for a plain net's shape-changing blocks, which cannot be), and with k = 1..``max_k`` random
    blocks deleted out of those that keep the shape (``draws`` different sets per k)."""
    names = [name for name, _ in blocks(model)]
    shape_changing = downsampling(model)
    residual = all(getattr(block, "residual", False) for _, block in blocks(model))
    candidates = [name for name in names if name not in shape_changing]
    singles = [name for name in names if residual or name not in shape_changing]
    random_sets = {k: random_lesions(candidates, k, draws, seed + k) for k in range(1, min(max_k, len(candidates)) + 1)}
    lesions = [[]] + [[name] for name in singles] + [lesion for sets in random_sets.values() for lesion in sets]
    errors = iter(lesion_errors(model, images, labels, lesions, batch_size, progress))
    intact = next(errors)
    single = {name: (next(errors) if name in singles else None) for name in names}
    return {"blocks": names, "downsampling": shape_changing, "residual": residual, "images": len(images),
            "intact_error": intact, "single": single,
            "random": {str(k): {"lesions": sets, "errors": [next(errors) for _ in sets]} for k, sets in random_sets.items()}}


def plot_lesions(studies: dict[str, dict], title: str = "", axes=None):
    """Left: test error with each single block deleted (downsampling blocks marked); right: test error
    against the number k of random blocks deleted (each draw a dot, the mean a line). One colour per net."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    fig = axes[0].figure
    for i, (label, study) in enumerate(studies.items()):
        color = f"C{i}"
        xs = range(len(study["blocks"]))
        single = [None if e is None else 100 * e for e in study["single"].values()]
        axes[0].plot(xs, [float("nan") if e is None else e for e in single], marker="o", markersize=3,
                     color=color, label=f"{label} (intact {100 * study['intact_error']:.1f}%)")
        axes[0].axhline(100 * study["intact_error"], color=color, linewidth=0.8, linestyle=":")
        ks = [0] + [int(k) for k in study["random"]]
        means = [100 * study["intact_error"]] + [100 * sum(r["errors"]) / len(r["errors"])
                                                 for r in study["random"].values()]
        axes[1].plot(ks, means, color=color, label=label)
        for k, r in study["random"].items():
            axes[1].scatter([int(k)] * len(r["errors"]), [100 * e for e in r["errors"]], color=color, s=8, alpha=0.5)
    first = next(iter(studies.values()))
    for j, name in enumerate(first["blocks"]):
        if name in first["downsampling"]:
            axes[0].axvline(j, color="0.6", linewidth=0.8)
            axes[0].text(j + 0.2, 0.97, f"{name} (downsampling)", transform=axes[0].get_xaxis_transform(),
                         fontsize=7, va="top", color="0.4")
    axes[0].set_xlabel("deleted block (forward order)")
    axes[0].set_ylabel("test error (%)")
    axes[0].set_title("one block deleted")
    axes[1].axhline(90, color="0.5", linewidth=0.8, linestyle="--")
    axes[1].text(0.2, 88, "chance (90%)", fontsize=7, va="top", color="0.4")
    axes[1].set_xlabel("number of random blocks deleted, k")
    axes[1].set_title("k blocks deleted (dots: draws, line: mean)")
    for ax in axes:
        ax.set_ylim(0, 100)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="center right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- paths

def path_counts(n: int) -> list[int]:
    """How many of the 2**n paths through n residual blocks pass through k residual branches, k = 0..n:
    each block is passed either through its branch or through its shortcut, so C(n, k)."""
    integer("n", n, 0)
    return [math.comb(n, k) for k in range(n + 1)]


class Routed(nn.Module):
    """A block with the same output as ``block`` whose backward pass goes through one route only: its
    residual branch (``branch=True``) or its shortcut. The forward values do not change, so the ReLU masks
    and batch-norm statistics are the intact net's, and the backward pass is linear in the gradient: the
    input gradient of the whole net is the sum of the gradients of all 2**n routings, one per path."""

    def __init__(self, block: nn.Module, branch: bool) -> None:
        super().__init__()
        if not getattr(block, "residual", False):
            raise ValueError("only a residual block has two routes (this one has no shortcut)")
        self.block, self.branch = block, branch

    def forward(self, x: Tensor) -> Tensor:
        b = self.block
        x_branch, x_shortcut = (x, x.detach()) if self.branch else (x.detach(), x)
        if hasattr(b, "conv3"):  # Bottleneck
            out = b.relu(b.bn2(b.conv2(b.relu(b.bn1(b.conv1(x_branch))))))
            out = b.bn3(b.conv3(out))
        else:
            out = b.bn2(b.conv2(b.relu(b.bn1(b.conv1(x_branch)))))
        return b.relu(out + shortcut(b, x_shortcut))


def input_gradient_along(model: ResNet, branches: Sequence[bool], images: Tensor, labels: Tensor) -> Tensor:
    """The gradient of the summed cross-entropy with respect to ``images`` through one path only: block i
    is passed through its residual branch where ``branches[i]`` and through its shortcut elsewhere (eval
    mode). Summed over all 2**n paths this is the ordinary input gradient."""
    table = blocks(model)
    if len(branches) != len(table):
        raise ValueError(f"branches must hold one bool per block ({len(table)}), got {len(branches)}")
    routed = {name: Routed(block, bool(branch)) for (name, block), branch in zip(table, branches, strict=True)}
    was_training = model.training
    model.eval()
    try:
        with replaced(model, routed):
            x = images.clone().requires_grad_(True)
            loss = nn.functional.cross_entropy(model(x), labels, reduction="sum")
            (gradient,) = torch.autograd.grad(loss, x)
    finally:
        model.train(was_training)
    return gradient


def gradient_by_path_length(model: ResNet, images: Tensor, labels: Tensor, samples: int = 10,
                            seed: int = 0) -> list[float]:
    """Veit et al.'s measurement: for each path length k = 0..n (the number of residual branches a path
    passes through), the mean norm of the input gradient along one path of that length, averaged over
    ``samples`` random paths and over the images. Times :func:`path_counts`, it estimates how much
    gradient all paths of length k carry together (an upper bound: paths can cancel)."""
    integer("samples", samples)
    n = len(blocks(model))
    generator = torch.Generator().manual_seed(seed)
    means = []
    for k in range(n + 1):
        norms = []
        for _ in range(min(samples, math.comb(n, k))):
            chosen = set(torch.randperm(n, generator=generator)[:k].tolist())
            gradient = input_gradient_along(model, [i in chosen for i in range(n)], images, labels)
            norms.append(torch.linalg.vector_norm(gradient.flatten(1), dim=1).mean().item())
        means.append(sum(norms) / len(norms))
    return means


# --------------------------------------------------------------------------- loss landscapes

def filter_normalised_direction(model: nn.Module, generator: torch.Generator) -> list[Tensor]:
    """A random direction in weight space, one tensor per parameter (Li et al., 2018): Gaussian, then
    each filter (output channel of a convolution, row of a linear layer) rescaled to the norm of the same
    filter of the weights. Biases and batch-norm parameters get zero (Li et al.'s "ignore biasbn"),
    since batch norm makes the loss blind to the scale of the filter before it."""
    direction = []
    for weight in model.parameters():
        if weight.dim() <= 1:
            direction.append(torch.zeros_like(weight))
            continue
        d = torch.randn(weight.shape, generator=generator).to(weight)
        dims = tuple(range(1, weight.dim()))
        norm = torch.linalg.vector_norm
        d = d * (norm(weight, dim=dims, keepdim=True) / norm(d, dim=dims, keepdim=True).clamp_min(1e-12))
        direction.append(d)
    return direction


@torch.no_grad()
def loss_on_grid(model: nn.Module, directions: Sequence[Sequence[Tensor]], coordinates: Sequence[Sequence[float]],
                 images: Tensor, labels: Tensor, batch_size: int = 500, progress: bool = False) -> list[float]:
    """The mean cross-entropy on ``images`` at weights ``w + sum_i c_i d_i`` for each point ``c`` of
    ``coordinates`` (each a tuple with one number per direction), in eval mode. The weights are restored."""
    params = list(model.parameters())
    for d in directions:
        if len(d) != len(params) or any(a.shape != p.shape for a, p in zip(d, params, strict=False)):
            raise ValueError("directions must hold one tensor per model parameter, shaped like it")
    original = [p.detach().clone() for p in params]
    was_training = model.training
    model.eval()
    losses = []
    try:
        for point in tqdm(coordinates, desc="loss", disable=not progress, leave=False):
            if len(point) != len(directions):
                raise ValueError(f"each coordinate needs {len(directions)} numbers, got {point!r}")
            for p, w, *ds in zip(params, original, *directions, strict=True):
                p.copy_(w + sum(c * d for c, d in zip(point, ds, strict=True)))
            total = 0.0
            for start in range(0, len(images), batch_size):
                x, y = images[start:start + batch_size], labels[start:start + batch_size]
                total += nn.functional.cross_entropy(model(x), y, reduction="sum").item()
            losses.append(total / len(images))
    finally:
        for p, w in zip(params, original, strict=True):
            p.copy_(w)
        model.train(was_training)
    return losses


def top_hessian_eigenvalue(model: nn.Module, images: Tensor, labels: Tensor, iterations: int = 20,
                           seed: int = 0, batch_size: int = 500) -> float:
    """The largest-magnitude eigenvalue of the Hessian of the mean training loss (eval mode) with respect
    to all parameters, by power iteration: v <- Hv / |Hv|, with Hv from a second backward pass
    (Pearlmutter's trick), never forming H. Returns the Rayleigh quotient v.Hv of the last iterate."""
    integer("iterations", iterations)
    params = [p for p in model.parameters() if p.requires_grad]
    generator = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=generator).to(p) for p in params]
    norm = torch.sqrt(sum((t * t).sum() for t in v))
    v = [t / norm for t in v]
    was_training = model.training
    model.eval()
    try:
        eigenvalue = 0.0
        for _ in range(iterations):
            hv = hessian_vector_product(model, params, v, images, labels, batch_size)
            eigenvalue = sum((a * b).sum() for a, b in zip(hv, v, strict=True)).item()
            norm = torch.sqrt(sum((t * t).sum() for t in hv))
            v = [t / norm for t in hv]
    finally:
        model.train(was_training)
        model.zero_grad(set_to_none=True)
    return eigenvalue


def hessian_vector_product(model: nn.Module, params: list[Tensor], v: list[Tensor], images: Tensor, labels: Tensor,
                           batch_size: int = 500) -> list[Tensor]:
    """H v for the mean cross-entropy over ``images``: the gradient of (dL/dw . v), summed over batches."""
    total = [torch.zeros_like(p) for p in params]
    for start in range(0, len(images), batch_size):
        x, y = images[start:start + batch_size], labels[start:start + batch_size]
        loss = nn.functional.cross_entropy(model(x), y, reduction="sum") / len(images)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * t).sum() for g, t in zip(grads, v, strict=True))
        for acc, h in zip(total, torch.autograd.grad(dot, params), strict=True):
            acc += h
    return total


def landscape(model: nn.Module, images: Tensor, labels: Tensor, steps: int = 11, span: float = 1.0, seed: int = 0,
              hessian_iterations: int = 20, batch_size: int = 500, progress: bool = False) -> dict:
    """Li et al.'s slices of the loss around ``model``'s weights, as JSON-ready numbers: along one
    filter-normalised direction (``steps`` points in [-span, span]), on the plane of two
    (``steps`` x ``steps``), and the top Hessian eigenvalue (sharpness), all on ``images`` in eval mode.
    The directions come from ``seed``, so two nets of the same shape get the same random draw."""
    integer("steps", steps, 2)
    generator = torch.Generator().manual_seed(seed)
    d1 = filter_normalised_direction(model, generator)
    d2 = filter_normalised_direction(model, generator)
    alphas = torch.linspace(-span, span, steps).tolist()
    line = loss_on_grid(model, [d1], [(a,) for a in alphas], images, labels, batch_size, progress)
    plane = loss_on_grid(model, [d1, d2], [(a, b) for b in alphas for a in alphas], images, labels, batch_size, progress)
    return {"alphas": alphas, "loss_1d": line, "loss_2d": [plane[i * steps:(i + 1) * steps] for i in range(steps)],
            "top_eigenvalue": top_hessian_eigenvalue(model, images, labels, hessian_iterations, seed, batch_size),
            "images": len(images), "seed": seed}


def plot_landscapes(landscapes: dict[str, dict], title: str = "", levels: int = 20):
    """One row: the 1-D slices of every net on shared axes, then each net's 2-D contours on one shared
    colour scale (log of the loss), so that a flatter bowl reads as wider rings of the same colours."""
    n = len(landscapes)
    fig, axes = plt.subplots(1, n + 1, figsize=(4.6 * (n + 1) + 1, 4.2), layout="constrained")
    lows = [min(min(row) for row in ls["loss_2d"]) for ls in landscapes.values()]
    highs = [max(max(row) for row in ls["loss_2d"]) for ls in landscapes.values()]
    contour_levels = np.geomspace(max(min(lows), 1e-3), max(highs), levels)
    norm = plt.matplotlib.colors.LogNorm(contour_levels[0], contour_levels[-1])
    for i, (label, ls) in enumerate(landscapes.items()):
        axes[0].plot(ls["alphas"], ls["loss_1d"], color=f"C{i}",
                     label=f"{label} (top Hessian eigenvalue {ls['top_eigenvalue']:.3g})")
        ax = axes[i + 1]
        grid = np.array(ls["loss_2d"])
        ax.contourf(ls["alphas"], ls["alphas"], grid, levels=contour_levels, cmap="viridis", norm=norm)
        ax.contour(ls["alphas"], ls["alphas"], grid, levels=contour_levels, colors="white", linewidths=0.3)
        ax.plot(0, 0, marker="+", color="red")
        ax.set_title(f"{label}: loss on a plane", fontsize=10)
        ax.set_xlabel("direction 1")
        ax.set_ylabel("direction 2")
        ax.set_aspect("equal")
    bar = fig.colorbar(plt.matplotlib.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=axes[1:], shrink=0.9,
                       label="training loss (log scale, same for every net)")
    bar.ax.yaxis.set_major_formatter(plt.matplotlib.ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step along a filter-normalised direction")
    axes[0].set_ylabel("training loss (log scale)")
    axes[0].set_title("a 1-D slice", fontsize=10)
    axes[0].grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9, wrap=True)
    return fig


# --------------------------------------------------------------------------- command line

def cifar10_tensors(split: str, n: int | None = None, root=None, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` class-balanced images of a CIFAR-10 split (all when None), normalised, channels-last, with labels."""
    data = load_cifar10(split, root)
    index = np.arange(len(data.labels)) if n is None else balanced_subset(data.labels, n, seed)
    images = normalize(torch.from_numpy(data.images[index]).permute(0, 3, 1, 2))
    return images.contiguous(memory_format=torch.channels_last), torch.from_numpy(data.labels[index]).long()


def main(argv: list[str] | None = None, prog: str = "python -m helpers.shortcuts", experiment: str | None = None) -> dict:
    """The command line of the lesion and landscape studies: ``experiment`` names one (as ``python -m
    helpers.experiments lesions|landscape`` does), or None for the old spelling, which takes it as its first
    argument. ``argv`` None reads ``sys.argv[1:]``."""
    parser = argparse.ArgumentParser(prog=prog, description="Lesions and loss landscapes of the shipped ResNet-56 "
                                                            "and plain-56.")
    if experiment is None:
        parser.add_argument("experiment", choices=("lesions", "landscape"))
    else:
        parser.set_defaults(experiment=experiment)
    parser.add_argument("--nets", nargs="+", default=["resnet56", "plain56"], help="shipped networks (helpers.pretrained)")
    parser.add_argument("--images", type=int, default=None,
                        help="test images for lesions (default: all 10,000), training images for the landscape "
                             "(default: 5,000, class-balanced)")
    parser.add_argument("--max-k", type=int, default=10, help="lesions: delete up to this many random blocks")
    parser.add_argument("--draws", type=int, default=5, help="lesions: random sets per k")
    parser.add_argument("--steps", type=int, default=31, help="landscape: grid points per direction")
    parser.add_argument("--span", type=float, default=1.0, help="landscape: grid from -span to span")
    parser.add_argument("--hessian-iterations", type=int, default=20, help="landscape: power-iteration steps")
    run_arguments(parser, "each net's study and the shipped net's record it measured (notebook 07 shows "
                          "results/lesions_cpu.json and results/landscape_cpu.json)")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        integer("seed", args.seed, 0)
    except ValueError as error:
        parser.error(f"argument --seed: {error}")  # worded as the other experiments word it
    try:
        device = pick_device()  # CUDA when present (RESNET_DEVICE=cpu forces the CPU); the result says which
        if device.type == "cpu":
            adapt_threads()  # RESNET_THREADS, checked here rather than mid-run
        for name in args.nets:
            pretrained.record(name)
        if args.images is not None:
            integer("--images", args.images)
        integer("--max-k", args.max_k)
        integer("--draws", args.draws)
        integer("--steps", args.steps, 2)
        integer("--hessian-iterations", args.hessian_iterations)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    check_save(parser, args.save, args.overwrite)
    # a run that saves a result keeps one thread count throughout, as every experiment does (README, Seeds)
    with hold_threads(args.save is not None and device.type == "cpu"):
        return _study(parser, args, argv, device)


def _study(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str], device: torch.device) -> dict:
    """Run the study ``main`` checked the options of, print its JSON line and save it when asked."""
    origin, start = provenance(), time.perf_counter()
    split, n = ("test", args.images) if args.experiment == "lesions" else ("train", args.images or 5_000)
    try:
        images, labels = (t.to(device) for t in cifar10_tensors(split, n, args.data, args.seed))
    except DataNotFoundError as error:
        parser.error(error.for_command_line())
    data: dict = {"images": len(images), "split": split, "nets": {}}
    for name in args.nets:
        model = pretrained.load(name).to(device, memory_format=torch.channels_last)
        if args.experiment == "lesions":
            data["nets"][name] = lesion_study(model, images, labels, args.max_k, args.draws, args.seed,
                                              progress=not args.no_progress)
        else:
            data["nets"][name] = landscape(model, images, labels, args.steps, args.span, args.seed,
                                           args.hessian_iterations, progress=not args.no_progress)
        data["nets"][name]["record"] = {k: pretrained.record(name)[k] for k in ("net", "seed", "test_error", "sha256")}
        print(f"{name}: done after {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - start
    if args.save:
        path = save_result(args.save, data, command_line(parser.prog, argv), wall_s=wall,
                           device=device_name(device), origin=origin, overwrite=args.overwrite)
        print(f"saved {path}", file=sys.stderr)
    print(json.dumps({"experiment": args.experiment, "images": len(images), "wall_s": round(wall, 1)}))
    return data


if __name__ == "__main__":
    main()
