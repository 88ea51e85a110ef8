"""The diagrams in ``figures/``, drawn by code from the models themselves (matplotlib only).

``python -m helpers.figures figures`` (or ``make figures``) regenerates every file listed in
:data:`FIGURES`; the notebooks call the same functions, so the picture on screen and the file
always agree.

* :func:`network_diagram`: a ResNet as the paper draws it (Figure 3): one box per weighted layer,
  a shortcut arc around every block, solid for the identity and dashed where a 1x1 projection
  changes the shape; one column per stage, with the feature-map size it runs at.
* :func:`block_diagram`: the basic block next to the bottleneck (the paper's Figure 5), each layer
  labelled with its parameters and multiply-adds.
"""
from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

if __name__ == "__main__":  # writing files from the command line: no window needed
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch
from torch import nn

from helpers.alt_text import attach
from helpers.arguments import integer
from helpers.flops import (
    basic_block_cost,
    bottleneck_cost,
    conv_macs,
    count_macs,
    shape_table,
    weighted_depth,
)
from helpers.models import Bottleneck, PadShortcut, ResNet, count_parameters, resnet34

__all__ = ["network_diagram", "block_diagram", "FIGURES", "save_figures"]

_STAGE_COLOURS = ["#cfe2f3", "#d9ead3", "#fff2cc", "#f4cccc", "#d9d2e9", "#fce5cd"]
_STEM_COLOUR = "#e6e6e6"


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes (independent of the notebook's matplotlib backend)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _conv_label(conv: nn.Conv2d) -> str:
    k = conv.kernel_size[0]
    label = f"{k}x{k} conv, {conv.out_channels}"
    if conv.stride[0] > 1:
        label += f", /{conv.stride[0]}"
    if conv.groups > 1:
        label += f", {conv.groups} groups"
    return label


def _block_convs(block: nn.Module) -> list[nn.Conv2d]:
    return [block.conv1, block.conv2] + ([block.conv3] if isinstance(block, Bottleneck) else [])


def _box(ax: plt.Axes, x: float, y: float, w: float, h: float, text: str, colour: str) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=colour, edgecolor="#444444", linewidth=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=8)


def _arrow(ax: plt.Axes, x0: float, y0: float, x1: float, y1: float, **style) -> None:
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                arrowprops=dict(arrowstyle="-|>", color=style.pop("color", "#444444"), lw=0.8,
                                shrinkA=0, shrinkB=0, mutation_scale=7, **style))


def _diagram_columns(model: ResNet, shapes: dict) -> tuple[list, list]:
    """The stem's items and one column per stage: ``(header, colour, items)``, where an item is
    ``("box", text)`` or ``("block", [texts], shortcut kind)``."""
    stages = model.stages()
    stem: list = [("box", _conv_label(model.conv1))]
    if isinstance(model.maxpool, nn.MaxPool2d):
        stem.append(("box", f"{model.maxpool.kernel_size}x{model.maxpool.kernel_size} max pool, /{model.maxpool.stride}"))
    columns = []
    for i, (name, stage) in enumerate(zip(model.stage_names, stages, strict=True)):
        items = list(stem) if i == 0 else []
        for block in stage:
            kind = "identity"
            if not block.residual:
                kind = "none"
            elif isinstance(block.downsample, PadShortcut):
                kind = "pad"
            elif block.downsample is not None:
                kind = "projection"
            items.append(("block", [_conv_label(c) for c in _block_convs(block)], kind))
        if i == len(stages) - 1:
            items += [("box", "global avg pool"), ("box", f"fc, {model.fc.out_features}")]
        _, c, h, w = shapes[name]
        header = f"{'stem, then ' if i == 0 else ''}{name}: {len(stage)} x {type(stage[0]).__name__}\n{c} channels, {h}x{w}"
        columns.append((header, _STAGE_COLOURS[i % len(_STAGE_COLOURS)], items))
    return stem, columns


def _draw_shortcut(ax, x: float, xr: float, top: float, add_y: float, kind: str, legend_done: dict) -> None:
    """A block's shortcut: out of the block's input at height ``top``, down the right at ``xr`` and
    into the sum at ``add_y``; its line style says its kind (labelled once for the legend)."""
    style = {"identity": "-", "projection": "--", "pad": ":"}[kind]
    colour_line = {"identity": "#1f5fa8", "projection": "#c0392b", "pad": "#7d3c98"}[kind]
    ax.plot([x, xr, xr], [top, top, add_y], color=colour_line, lw=1.1, linestyle=style,
            label=None if legend_done[kind] else {"identity": "identity shortcut",
                                                  "projection": "1x1 conv projection shortcut",
                                                  "pad": "zero-pad shortcut (option A)"}[kind])
    legend_done[kind] = True
    _arrow(ax, xr, add_y, x + 0.13, add_y, color=colour_line)


def network_diagram(model: ResNet | None = None, *, input_size: int = 224, title: str | None = None) -> plt.Figure:
    """Draw ``model`` (default: ResNet-34 with the ImageNet stem) layer by layer, one column per stage.

    Every box is a convolution (or the pool / fc), labelled as in the paper: kernel, output
    channels, "/2" where it halves the resolution. Each column's header gives the stage's output
    channels and feature-map size for an ``input_size`` x ``input_size`` input.
    """
    model = resnet34() if model is None else model
    if not isinstance(model, ResNet):
        raise TypeError(f"model must be a helpers.models.ResNet, got {type(model).__name__}")
    integer("input_size", input_size)
    shapes = {row.name: row.shape for row in shape_table(model, (1, 3, input_size, input_size), depth=1)}
    stem, columns = _diagram_columns(model, shapes)

    box_w, box_h, step, add_gap, col_gap = 2.3, 0.62, 0.95, 0.45, 1.35
    heights = []
    for _, _, items in columns:
        n_boxes = sum(1 if it[0] == "box" else len(it[1]) for it in items)
        heights.append(n_boxes * step + sum(add_gap for it in items if it[0] == "block"))
    total_h = max(heights) + 0.6
    fig_w = len(columns) * (box_w + col_gap) * 0.95 + 0.3
    fig, ax = plt.subplots(figsize=(fig_w, total_h * 0.62 + 1.3))
    legend_done = {"identity": False, "projection": False, "pad": False}
    for ci, (header, colour, items) in enumerate(columns):
        x = ci * (box_w + col_gap)
        ax.text(x, 0.55, header, ha="center", va="bottom", fontsize=8.5, fontweight="bold")
        y = 0.0
        prev_bottom = None
        for item in items:
            if item[0] == "box":
                y -= step
                text = item[1]
                _box(ax, x, y, box_w, box_h, text, _STEM_COLOUR if (ci == 0 and item in stem) or "pool" in text
                     or text.startswith("fc") else colour)
                if prev_bottom is not None:
                    _arrow(ax, x, prev_bottom, x, y + box_h / 2)
                prev_bottom = y - box_h / 2
                continue
            _, texts, kind = item
            start = prev_bottom if prev_bottom is not None else y - step + box_h / 2 + 0.15
            for text in texts:
                y -= step
                _box(ax, x, y, box_w, box_h, text, colour)
                if prev_bottom is not None:
                    _arrow(ax, x, prev_bottom, x, y + box_h / 2)
                prev_bottom = y - box_h / 2
            y -= add_gap
            add_y = prev_bottom - add_gap / 2 - 0.05
            if kind != "none":
                ax.add_patch(Circle((x, add_y), 0.13, facecolor="white", edgecolor="#444444", lw=0.8, zorder=3))
                ax.text(x, add_y, "+", ha="center", va="center", fontsize=8, zorder=4)
                _arrow(ax, x, prev_bottom, x, add_y + 0.13)
                _draw_shortcut(ax, x, x + box_w / 2 + 0.28, start - 0.1, add_y, kind, legend_done)
                prev_bottom = add_y - 0.13
        if ci + 1 < len(columns):  # carry on at the top of the next column
            xn = (ci + 1) * (box_w + col_gap)
            xm = x + box_w / 2 + 0.75
            ax.plot([x, x, xm, xm], [prev_bottom, prev_bottom - 0.2, prev_bottom - 0.2, 0.25],
                    color="#999999", lw=0.8)
            ax.plot([xm, xn], [0.25, 0.25], color="#999999", lw=0.8)
            _arrow(ax, xn, 0.25, xn, -step + box_h / 2, color="#999999")

    depth = weighted_depth(model)
    params = count_parameters(model)
    macs = count_macs(model, (1, 3, input_size, input_size))
    name = f"ResNet-{depth}" if depth in (18, 34, 50, 101, 152) else f"a {depth}-layer ResNet"
    if not model.residual:
        name = f"The plain {depth}-layer net (no shortcuts)"
    ax.set_title(title or f"{name}: {depth} weighted layers, {params / 1e6:.1f}M parameters, "
                 f"{macs / 1e9:.2f} G multiply-adds at {input_size}x{input_size}", fontsize=11)
    ax.set_xlim(-box_w / 2 - 0.2, (len(columns) - 1) * (box_w + col_gap) + box_w / 2 + col_gap * 0.7)
    ax.set_ylim(-total_h - 0.3, 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    if any(legend_done.values()):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    stages = []
    for header, _, items in columns:
        blocks = [it for it in items if it[0] == "block"]
        shortcuts = sorted({it[2] for it in blocks if it[2] != "none"})
        convs = [text for it in items for text in ([it[1]] if it[0] == "box" else it[1])]
        stages.append(" ".join(header.split()) + f": {len(blocks)} blocks" * bool(blocks)
                      + f" of {', '.join(dict.fromkeys(convs))}" + (f"; shortcuts: {', '.join(shortcuts)}" if shortcuts else ""))
    return attach(fig, f"Diagram of {ax.get_title()}, drawn top to bottom, one column per stage. " + ". ".join(stages) + ".")


def block_diagram(size: int = 56) -> plt.Figure:
    """The basic block on 64 channels next to the bottleneck on 256 channels (inner width 64), as
    in the paper's Figure 5, with each layer's parameters and multiply-adds at ``size`` x ``size``."""
    integer("size", size)
    blocks = [
        ("basic block, 64 channels in and out", [(64, 64, 3), (64, 64, 3)], basic_block_cost(64, 64, 1, size)),
        ("bottleneck, 256 channels in and out", [(256, 64, 1), (64, 64, 3), (64, 256, 1)],
         bottleneck_cost(256, 64, 1, size)),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(9, 5.2))
    for ax, (title, layers, cost) in zip(axes, blocks, strict=True):
        x, w, h, step = 0.0, 2.2, 0.6, 1.15
        y = 0.0
        ax.text(x, y + 0.25, f"in: {layers[0][0]} x {size} x {size}", ha="center", va="bottom", fontsize=9)
        prev = y + 0.2
        for j, (c_in, c_out, k) in enumerate(layers):
            y -= step
            _box(ax, x, y, w, h, f"{k}x{k} conv, {c_out}", _STAGE_COLOURS[0] if k == 3 else _STAGE_COLOURS[1])
            params = c_out * c_in * k * k
            ax.text(x + w / 2 + 0.15, y, f"{params:,} params\n{conv_macs(c_in, c_out, k, size) / 1e6:.0f}M MACs",
                    ha="left", va="center", fontsize=8, color="#333333")
            _arrow(ax, x, prev, x, y + h / 2)
            if j + 1 < len(layers):
                ax.text(x + 0.1, y - step / 2, "BN, ReLU", ha="left", va="center", fontsize=7, color="#666666")
            prev = y - h / 2
        add_y = prev - 0.45
        ax.add_patch(Circle((x, add_y), 0.14, facecolor="white", edgecolor="#444444", lw=0.8, zorder=3))
        ax.text(x, add_y, "+", ha="center", va="center", fontsize=9, zorder=4)
        ax.text(x + 0.1, prev - 0.2, "BN", ha="left", va="center", fontsize=7, color="#666666")
        _arrow(ax, x, prev, x, add_y + 0.14)
        xl = x - w / 2 - 0.9
        ax.plot([x, xl, xl], [0.2, 0.2, add_y], color="#1f5fa8", lw=1.1)
        _arrow(ax, xl, add_y, x - 0.14, add_y, color="#1f5fa8")
        ax.text(xl - 0.08, (0.2 + add_y) / 2, "identity", rotation=90, ha="right", va="center", fontsize=8,
                color="#1f5fa8")
        _arrow(ax, x, add_y - 0.14, x, add_y - 0.6)
        ax.text(x, add_y - 0.7, f"ReLU -> out: {layers[-1][1]} x {size} x {size}", ha="center", va="top", fontsize=9)
        ax.set_title(f"{title}\n{cost.params:,} parameters (with BN), {cost.macs / 1e6:.0f}M multiply-adds",
                     fontsize=10)
        ax.set_xlim(-3.6, 3.6)
        ax.set_ylim(-4.9, 0.9)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle(f"Basic block vs bottleneck at {size}x{size}: about the same cost, 4x the channels", fontsize=11)
    fig.tight_layout()
    described = [f"{title}: " + ", then ".join(f"{k}x{k} conv to {c_out} channels" for _, c_out, k in layers)
                 + f", plus the identity shortcut; {cost.params:,} parameters, {cost.macs / 1e6:.0f}M multiply-adds"
                 for title, layers, cost in blocks]
    return attach(fig, f"Diagram: basic block vs bottleneck at {size}x{size}, side by side. " + ". ".join(described) + ".")


#: file name in figures/ -> the function that draws it
FIGURES: dict[str, Callable[[], plt.Figure]] = {
    "resnet34_diagram.png": lambda: network_diagram(resnet34(), input_size=224),
    "basic_vs_bottleneck.png": lambda: block_diagram(56),
}


def save_figures(directory: str | Path, names: list[str] | None = None, dpi: int = 130) -> list[Path]:
    """Draw the figures in :data:`FIGURES` (or only ``names``) into ``directory``; return the paths."""
    directory = Path(directory)
    unknown = sorted(set(names or []) - set(FIGURES))
    if unknown:
        raise ValueError(f"names must be among {sorted(FIGURES)}, got unknown {unknown}")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or list(FIGURES):
        fig = FIGURES[name]()
        path = directory / name
        fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})  # no version stamp: stable files
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the figures in figures/ from code.")
    parser.add_argument("directory", type=Path, nargs="?", default=Path("figures"))
    parser.add_argument("--only", nargs="*", default=None, help=f"a subset of {sorted(FIGURES)}")
    args = parser.parse_args(argv)
    for path in save_figures(args.directory, args.only):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
