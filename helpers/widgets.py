"""Interactive explorers for the notebooks (ipywidgets 8; no JupyterLab extension needed).

Each explorer is two functions:

- a *view*: a plain function of the slider values that returns ``(figure, numbers)``, a
  matplotlib Figure and a dict of what it measured. Tests call it directly; a notebook can call
  it to show one state as a static figure;
- an *explorer*: the sliders and toggles around that view, built by :func:`build_explorer`
  (a ``VBox`` with CSS class ``explorer-<name>``; every change redraws the figure as a PNG and
  rewrites the line of numbers under it).

Explorers: :func:`output_size_explorer` (notebook 01), :func:`shattered_gradients_explorer`
(notebook 02), :func:`variance_explorer` (notebook 04). Add a new one as one more view + explorer
pair built with :func:`build_explorer`.

With ``RESNET_STATIC_EXPLORERS=1`` an explorer creates no widget at all: it shows its first figure
and its line of numbers as plain outputs. That is for runs without a front end, such as nbgrader's
autograde (docs/nbgrader_config.py sets it): every widget sends comm messages as it is created, and
under load nbclient-based runners can miss the reply of such a cell and sit idle until the cell's
timeout (measured by bench/stalls.py; tools.execution explains it and fixes it for this project's own
tools).
"""
from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np
from IPython.display import HTML, Image, display
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers import alt_text
from helpers.arguments import integer
from helpers.convolution import conv_output_size
from helpers.diagnostics import (
    ShatterMLP,
    activation_variances,
    autocorrelation,
    calibrate_batch_norm,
    gradient_over_grid,
    input_grid,
)
from helpers.figures import figure_png
from helpers.runtime import env_flag
from helpers.variance import BN_POSITION_LABELS, LIMITS, StackConfig, histogram_blocks, measure_stack

__all__ = [
    "build_explorer",
    "toggle",
    "show_figure",
    "output_size_view",
    "output_size_explorer",
    "shattered_gradients_view",
    "shattered_gradients_explorer",
    "variance_view",
    "variance_explorer",
]

View = Callable[..., "tuple[Figure, dict[str, Any]]"]


def show_figure(fig: Figure, alt: str | None = None) -> None:
    """Display a view's figure in the notebook as a PNG, whatever the matplotlib backend, with its alt text
    (``alt``, else described from the figure's data) in the output's metadata."""
    alt_text.show_figure(fig, alt)


LIVE_LINE = "The live version of this explorer, with its sliders, runs in JupyterLab (run this cell there)."


def still_alt(fig: Figure, summary_html: str) -> str:
    """Alt text of an explorer's still figure: what the figure plots, then the explorer's own line of numbers."""
    numbers = re.sub(r"<[^>]+>", "", summary_html)
    return f"{alt_text.alt_of(fig)} Measured: {html.unescape(numbers)}"


STATIC_ENV = "RESNET_STATIC_EXPLORERS"


def static_explorers() -> bool:
    """Whether explorers show a still picture instead of widgets (``RESNET_STATIC_EXPLORERS=1``)."""
    return env_flag(STATIC_ENV) is True  # 1/true/yes/on, as every RESNET_* switch


def show_still(view: View, summary: Callable[[dict[str, Any]], str], **values: Any) -> None:
    """An explorer without widgets: ``view(**values)``'s figure and the summary line, as plain outputs."""
    fig, numbers = view(**values)
    line = summary(numbers)
    show_figure(fig, still_alt(fig, line))
    display(HTML(line))
    display(HTML(f"<p><i>{LIVE_LINE}</i></p>"))


def build_explorer(
    name: str,
    controls: Mapping[str, Any],
    view: View,
    summary: Callable[[dict[str, Any]], str],
    caption: str = "",
):
    """Wire ``controls`` (keyword argument of ``view`` -> widget) to ``view``, in a VBox.

    Sliders should be created with ``continuous_update=False`` so that a drag redraws once, when
    released. The figure is drawn once now and again after every change; ``summary(numbers)``
    gives the text line under it. The box gets the CSS class ``explorer-<name>`` and keeps its
    parts as attributes ``controls``, ``output``, ``numbers_line`` and ``redraw`` (for tests).
    """
    if not name or not name.replace("-", "").isalnum():
        raise ValueError(f"name must be letters, digits and dashes (it becomes a CSS class), got {name!r}")
    output = widgets.Output()
    numbers_line = widgets.HTML()
    numbers_line.add_class(f"explorer-{name}-numbers")

    def redraw(change: Any = None) -> dict[str, Any]:
        values = {key: control.value for key, control in controls.items()}
        fig, numbers = view(**values)
        png = figure_png(fig)
        if not hasattr(box, "still"):  # the first state: what a page without a kernel shows (the book)
            box.still = (png, still_alt(fig, summary(numbers)))
        with output:
            output.clear_output(wait=True)
            display(Image(data=png, format="png"), metadata={"image/png": {"alt": still_alt(fig, summary(numbers))}})
        numbers_line.value = summary(numbers)
        return numbers

    for control in controls.values():
        control.observe(redraw, names="value")
    parts = [widgets.HTML(caption)] if caption else []
    box = _ExplorerBox([*parts, widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                        output, numbers_line])
    box.add_class(f"explorer-{name}")
    box.controls, box.output, box.numbers_line, box.redraw = dict(controls), output, numbers_line, redraw
    redraw()
    return box


class _ExplorerBox(widgets.VBox):
    """A VBox whose display also carries the first state as a PNG with its alt text: JupyterLab shows the
    widget; a page without a kernel (the book, an exported notebook) can show the still picture instead."""

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        still = getattr(self, "still", None)
        if data is None or still is None:
            return data
        png, alt = still
        data = {**data, "image/png": base64.b64encode(png).decode("ascii")}
        return data, {"image/png": {"alt": alt}}


def toggle(label: str, value: bool, tooltip: str) -> widgets.ToggleButton:
    """An on/off button whose state reads at a glance, not only as a slightly darker grey: "label: on"
    in green with a check mark, "label: off" in the default style without one."""
    button = widgets.ToggleButton(value=value, tooltip=tooltip)

    def show(change: Any = None) -> None:
        button.description = f"{label}: {'on' if button.value else 'off'}"
        button.button_style = "success" if button.value else ""
        button.icon = "check" if button.value else ""

    button.observe(show, names="value")  # registered before build_explorer's redraw: the label changes first
    show()
    return button


# --------------------------------------------------------------------------- notebook 01: output size

def output_size_view(h: int = 7, k: int = 3, s: int = 2, p: int = 1) -> tuple[Figure, dict[str, Any]]:
    """An H x H input with P cells of zero padding, where a K x K window with stride S lands, and
    the output it makes: floor((H + 2P - K) / S) + 1 per side.

    ``numbers``: ``output`` (the output size, 0 when the window does not fit), ``padded``
    (H + 2P), ``unused`` (padded rows/columns at the far edge no window reaches).
    """
    h, k, s, p = integer("h", h), integer("k", k), integer("s", s), integer("p", p, 0)
    padded = h + 2 * p
    fits = k <= padded
    out = conv_output_size(h, k, s, p) if fits else 0
    reach = (out - 1) * s + k if fits else 0  # cells covered by some window, from the top-left
    unused = padded - reach if fits else padded

    fig = Figure(figsize=(9.5, 4.4))
    ax_in, ax_out = fig.subplots(1, 2, gridspec_kw={"width_ratios": [padded, max(out, 1)]})
    for i in range(padded):
        for j in range(padded):
            is_pad = not (p <= i < p + h and p <= j < p + h)
            ax_in.add_patch(Rectangle((j, i), 1, 1, facecolor="#dddddd" if is_pad else "white",
                                      edgecolor="#999999", lw=0.5))
    if fits:
        if unused:
            ax_in.add_patch(Rectangle((reach, 0), unused, padded, facecolor="#e6550d", alpha=0.2, lw=0))
            ax_in.add_patch(Rectangle((0, reach), padded, unused, facecolor="#e6550d", alpha=0.2, lw=0))
        centres = (np.arange(out) * s + (k - 1) / 2 + 0.5)
        cx, cy = np.meshgrid(centres, centres)
        ax_in.plot(cx.ravel(), cy.ravel(), "o", color="#3182bd", ms=max(2, 7 - out // 6),
                   label=f"window centres ({out} x {out})")
        ax_in.add_patch(Rectangle((0, 0), k, k, fill=False, edgecolor="#08519c", lw=2.5, label="first window"))
        if out > 1:
            ax_in.add_patch(Rectangle((s, 0), k, k, fill=False, edgecolor="#6baed6", lw=2, ls="--",
                                      label=f"next window (stride {s})"))
        ax_in.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, fontsize=8, frameon=False)
    ax_in.set_xlim(0, padded)
    ax_in.set_ylim(padded, 0)
    ax_in.set_aspect("equal")
    ax_in.set_xticks([])
    ax_in.set_yticks([])
    ax_in.set_xlabel(f"columns ({padded} cells incl. padding)")
    ax_in.set_ylabel(f"rows ({padded} cells)")
    ax_in.set_title(f"input {h}x{h} + padding {p} (grey)" + (f"; {unused} row/col never read (orange)" if fits and unused else ""),
                    fontsize=9)
    if fits:
        for i in range(out):
            for j in range(out):
                ax_out.add_patch(Rectangle((j, i), 1, 1, facecolor="#9ecae1", edgecolor="#3182bd", lw=0.8))
        ax_out.set_xlim(0, out)
        ax_out.set_ylim(out, 0)
        ax_out.set_title(f"output {out}x{out}", fontsize=9)
    else:
        ax_out.text(0.5, 0.5, "no output:\nK > H + 2P", ha="center", va="center", color="#a50f15")
        ax_out.set_title("output", fontsize=9)
    ax_out.set_aspect("equal")
    ax_out.set_xticks([])
    ax_out.set_yticks([])
    ax_out.set_xlabel(f"columns ({out})")
    ax_out.set_ylabel(f"rows ({out})")
    formula = (f"floor(({h} + 2*{p} - {k}) / {s}) + 1 = {out}" if fits
               else f"K = {k} > H + 2P = {padded}: the kernel does not fit")
    fig.suptitle(f"Output size = floor((H + 2P - K) / S) + 1:  {formula}", fontsize=10)
    return fig, {"output": out, "padded": padded, "unused": unused}


def output_size_explorer(h: int = 7, k: int = 3, s: int = 2, p: int = 1):
    """Sliders ``H``, ``K``, ``S``, ``P`` around :func:`output_size_view` (CSS class ``explorer-output-size``)."""
    def summary(numbers: dict[str, Any]) -> str:
        if numbers["output"] == 0:
            return "<b>no output</b>: the window is larger than the padded input"
        return (f"<b>output size {numbers['output']}</b> per side; padded input {numbers['padded']}; "
                f"cells never read at the far edge: {numbers['unused']}")

    if static_explorers():
        return show_still(output_size_view, summary, h=h, k=k, s=s, p=p)

    def slider(description: str, value: int, low: int, high: int, tooltip: str):
        return widgets.IntSlider(value=value, min=low, max=high, step=1, description=description,
                                 continuous_update=False, tooltip=tooltip, layout=widgets.Layout(width="240px"))

    controls = {
        "h": slider("H", h, 1, 16, "input height and width"),
        "k": slider("K", k, 1, 7, "kernel size"),
        "s": slider("S", s, 1, 4, "stride"),
        "p": slider("P", p, 0, 3, "zero padding on each side"),
    }
    return build_explorer("output-size", controls, output_size_view, summary,
                          caption="<b>H</b> input size, <b>K</b> kernel size, <b>S</b> stride, <b>P</b> padding")


# --------------------------------------------------------------------------- notebook 02: shattered gradients

def shattered_gradients_view(
    depth: int = 24,
    init_scale: float = 1.0,
    residual: bool = False,
    batch_norm: bool = True,
    *,
    beta: float = 1.0,
    width: int = 200,
    n: int = 256,
    seed: int = 0,
    max_lag: int = 64,
) -> tuple[Figure, dict[str, Any]]:
    """Gradient of a :class:`~helpers.diagnostics.ShatterMLP` over a grid of ``n`` inputs in [-2, 2],
    and its autocorrelation, next to those of the depth-1 net with the same seed.

    ``numbers``: ``lag1`` (correlation of neighbouring gradients), ``lag1_depth1`` (the same for
    the 1-layer net), ``grad_std`` (spread of the gradient over the grid), ``activation_std``
    (std of the last hidden layer's pre-activations), ``depth``.
    """
    integer("depth", depth)
    if not isinstance(init_scale, (int, float)) or not init_scale > 0:
        raise ValueError(f"init_scale must be a positive number, got {init_scale!r}")
    depth = int(depth)
    x = input_grid(n)
    options = dict(width=width, residual=bool(residual), batch_norm=bool(batch_norm), beta=beta,
                   init_scale=float(init_scale), seed=seed)
    model = ShatterMLP(depth, **options)
    variances = activation_variances(model, x)  # also calibrates batch norm to the grid (eval mode)
    grad = gradient_over_grid(model, x).numpy()
    shallow = ShatterMLP(1, **options)
    grad1 = gradient_over_grid(calibrate_batch_norm(shallow, x), x).numpy()
    max_lag = min(max_lag, n - 1)
    acf, acf1 = autocorrelation(grad, max_lag), autocorrelation(grad1, max_lag)

    kind = ("residual" if residual else "plain") + (" + batch norm" if batch_norm else "")
    fig = Figure(figsize=(10, 3.8))
    ax_g, ax_a = fig.subplots(1, 2)
    xs = x[:, 0].numpy()
    ax_g.plot(xs, grad / (np.abs(grad).max() or 1), lw=1, color="#d62728" if acf[1] < 0.5 else "#1f77b4")
    ax_g.set_xlabel("input x")
    ax_g.set_ylabel("dy/dx (scaled to max |dy/dx| = 1)")
    ax_g.set_title(f"gradient of a {depth}-layer {kind} net", fontsize=10)
    lags = np.arange(max_lag + 1)
    spacing = (xs[1] - xs[0])
    ax_a.axhspan(-2 / math.sqrt(n), 2 / math.sqrt(n), color="#cccccc", alpha=0.5, lw=0,
                 label="white-noise band (±2/√n)")
    ax_a.plot(lags, acf1, color="#7f7f7f", lw=1.5, ls="--", label="1-layer net")
    ax_a.plot(lags, acf, color="#d62728" if acf[1] < 0.5 else "#1f77b4", lw=2, label=f"{depth}-layer {kind}")
    ax_a.set_ylim(-0.5, 1.02)
    ax_a.set_xlabel(f"lag (grid steps of {spacing:.4f} in x)")
    ax_a.set_ylabel("autocorrelation of dy/dx")
    ax_a.set_title(f"autocorrelation: lag-1 = {acf[1]:.2f}", fontsize=10)
    ax_a.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    numbers = {
        "depth": depth,
        "lag1": float(acf[1]),
        "lag1_depth1": float(acf1[1]),
        "grad_std": float(grad.std()),
        "activation_std": float(math.sqrt(variances[-1])),
    }
    return fig, numbers


def shattered_gradients_explorer(depth: int = 24, init_scale: float = 1.0, residual: bool = False,
                                 batch_norm: bool = True, *, beta: float = 1.0, seed: int = 0):
    """Sliders ``depth`` and ``init scale`` and toggles ``residual`` and ``batch norm`` around
    :func:`shattered_gradients_view` (CSS class ``explorer-shattered``)."""
    def view(**values: Any) -> tuple[Figure, dict[str, Any]]:
        return shattered_gradients_view(**values, beta=beta, seed=seed)

    def summary(numbers: dict[str, Any]) -> str:
        return (f"lag-1 correlation <b>{numbers['lag1']:.3f}</b> (1-layer net: {numbers['lag1_depth1']:.3f}) | "
                f"gradient std {numbers['grad_std']:.3g} | "
                f"std of the last hidden layer {numbers['activation_std']:.3g}")

    if static_explorers():
        return show_still(view, summary, depth=depth, init_scale=init_scale, residual=residual, batch_norm=batch_norm)
    layout = widgets.Layout(width="300px")
    controls = {
        "depth": widgets.IntSlider(value=depth, min=1, max=100, step=1, description="depth",
                                   continuous_update=False, layout=layout),
        "init_scale": widgets.FloatSlider(value=init_scale, min=0.1, max=2.0, step=0.05, description="init scale",
                                          continuous_update=False, readout_format=".2f", layout=layout),
        "residual": toggle("residual", residual, "h = h + beta * block(h) instead of h = block(h)"),
        "batch_norm": toggle("batch norm", batch_norm, "batch norm before every ReLU"),
    }
    caption = ("Fully connected ReLU net, width 200, He init (times <b>init scale</b>), on 256 inputs in [-2, 2]. "
               f"<b>residual</b>: each block adds {'its output' if beta == 1 else f'beta = {beta} times its output'} "
               "to its input; <b>batch norm</b>: before every ReLU.")
    return build_explorer("shattered", controls, view, summary, caption=caption)


# --------------------------------------------------------------------------- notebook 04: activation variance

def variance_view(
    depth: int = 30,
    gain: float = 1.0,
    branch_scale: float = 1.0,
    batch_size: int = 32,
    residual: bool = True,
    batch_norm: bool = False,
    bn_position: str = "branch",
    *,
    seed: int = 0,
) -> tuple[Figure, dict[str, Any]]:
    """The explorer's callback: measure the stack for these slider values and draw it.

    Top: the std of the activations after every block (log scale), measured (solid) and predicted
    by the variance algebra (dashed). Bottom: histograms of the first, middle and last block.
    Returns a matplotlib ``Figure`` (not attached to pyplot: nothing to close; ``display(fig)``
    shows it) and the measured numbers: ``std`` (per block, input first), ``final_std``,
    ``growth_per_block``, ``variance_step``, their ``predicted_`` counterparts, ``verdict``,
    ``regime``, ``summary`` (one line of text) and ``stats`` (the :class:`StackStats`).
    """
    stats = measure_stack(StackConfig(depth, gain, branch_scale, batch_size, residual, batch_norm, bn_position,
                                      seed=seed))
    fig = Figure(figsize=(10, 6.2))
    grid = fig.add_gridspec(2, 3, height_ratios=[1.35, 1], hspace=0.55, wspace=0.3)
    ax = fig.add_subplot(grid[0, :])
    blocks = np.arange(stats.depth + 1)
    finite = np.isfinite(stats.std) & (stats.std > 0)
    ax.plot(blocks[finite], stats.std[finite], "o-", ms=3, label="measured")
    ax.plot(blocks, stats.predicted, "--", color="0.4", label="variance algebra (expected value)")
    ax.set_yscale("log")
    ax.set_xlabel("block (0 = input)")
    ax.set_ylabel("activation std (log scale)")
    ax.set_title(f"Activation std through the stack: {stats.config.describe()}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    for i, block in enumerate(histogram_blocks(stats.depth)):
        hax = fig.add_subplot(grid[1, i])
        values = stats.histograms[block]
        values = values[np.isfinite(values)]
        if values.size:
            hax.hist(values, bins=60, density=True, color=f"C{i + 1}")
        hax.set_title(f"block {block}: std {stats.std[block]:.3g}", fontsize=9)
        hax.set_xlabel("activation value")
        hax.set_ylabel("density" if i == 0 else "")
        hax.set_yticks([])  # the shape is the point; density values change with the scale
        hax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
    numbers = {
        "depth": stats.depth,
        "std": stats.std.tolist(),
        "final_std": float(stats.std[-1]),
        "growth_per_block": stats.growth_per_block,
        "variance_step": stats.variance_step,
        "predicted_growth_per_block": stats.predicted_growth_per_block,
        "predicted_variance_step": stats.predicted_variance_step,
        "verdict": stats.verdict,
        "regime": stats.regime,
        "summary": stats.summary(),
        "stats": stats,
    }
    return fig, numbers


def variance_explorer(depth: int = 30, gain: float = 1.0, branch_scale: float = 1.0, batch_size: int = 32,
                      residual: bool = True, batch_norm: bool = False, bn_position: str = "branch", *,
                      seed: int = 0):
    """Sliders ``depth``, ``init scale``, ``branch scale`` and ``batch size``, toggles ``residual`` and
    ``batch norm`` and a ``BN position`` dropdown around :func:`variance_view`
    (CSS class ``explorer-variance``): the activation std after every block of a deep stack, and
    histograms of three blocks, redrawn on every change."""

    StackConfig(depth, gain, branch_scale, batch_size, residual, batch_norm, bn_position, seed=seed)  # checks

    def view(**values):
        return variance_view(**values, seed=seed)

    def summary(numbers) -> str:
        return f"<b>measured</b> ({html.escape(numbers['regime'])} regime): {html.escape(numbers['summary'])}"

    if static_explorers():
        return show_still(view, summary, depth=depth, gain=gain, branch_scale=branch_scale, batch_size=batch_size,
                          residual=residual, batch_norm=batch_norm, bn_position=bn_position)
    layout = widgets.Layout(width="320px")
    style = {"description_width": "90px"}  # wide enough for "branch scale" without truncation
    controls = {
        "depth": widgets.IntSlider(value=depth, min=int(LIMITS["depth"][0]), max=int(LIMITS["depth"][1]), step=1,
                                   description="depth", continuous_update=False, layout=layout, style=style),
        "gain": widgets.FloatSlider(value=gain, min=LIMITS["gain"][0], max=LIMITS["gain"][1], step=0.05,
                                    description="init scale", continuous_update=False, readout_format=".2f",
                                    layout=layout, style=style, tooltip="convolution weights: He init times this factor"),
        "branch_scale": widgets.FloatSlider(value=branch_scale, min=LIMITS["branch_scale"][0],
                                            max=LIMITS["branch_scale"][1], step=0.05, description="branch scale",
                                            continuous_update=False, readout_format=".2f", layout=layout, style=style,
                                            tooltip="x + branch_scale * F(x)"),
        "batch_size": widgets.IntSlider(value=batch_size, min=int(LIMITS["batch_size"][0]),
                                        max=int(LIMITS["batch_size"][1]), step=1, description="batch size",
                                        continuous_update=False, layout=layout, style=style),
        "residual": toggle("residual", residual, "x + branch_scale * F(x) instead of F(x)"),
        "batch_norm": toggle("batch norm", batch_norm, "batch norm (training mode: batch statistics)"),
        "bn_position": widgets.Dropdown(options=[(label, key) for key, label in BN_POSITION_LABELS.items()],
                                        value=bn_position, description="BN position",
                                        layout=widgets.Layout(width="260px")),
    }
    caption = ("A stack of pre-activation blocks on a batch of random 16-channel 8x8 inputs: "
               "F(x) = conv(relu([BN] conv(relu([BN] x)))), used as x + <b>branch scale</b> &middot; F(x) "
               "(<b>residual</b>) or F(x) (plain); convolutions start He-normal times <b>init scale</b>. "
               "<b>BN position</b> matters when <b>batch norm</b> is on: inside the branch, or on the sum after "
               "the add. Solid: measured; dashed: the variance algebra's expected value.")
    return build_explorer("variance", controls, view, summary, caption=caption)
