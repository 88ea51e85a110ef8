"""Alt text for every figure, generated from the data the figure plots (never written by hand afterwards).

A screen-reader user reading the book or the notebook learns from a figure only what its alt text says,
and exported notebooks otherwise give every figure the placeholder ``alt="Image"`` (jupyter/nbconvert#2021).

- :func:`describe` reads a matplotlib figure's own artists (titles, axis labels, each line's label and
  last point, bars, images) and writes one paragraph: what it shows and its key numbers.
- :func:`attach` lets the code that draws a figure give it a better description from its own data
  (``plot_seeds`` states each net's final error, an explorer states what its sliders are set to).
- :func:`show_figure` displays a figure as PNG with the alt text in the output's metadata
  (``{"image/png": {"alt": ...}}``), which the book (MyST-NB) turns into ``<img alt="...">``.
- :func:`register` makes ``plt.show()`` and a figure as a cell's last value do the same in IPython
  (``helpers`` calls it on import inside a kernel), so every figure a notebook draws carries its text.
"""
from __future__ import annotations

import math
from typing import Any

from matplotlib.figure import Figure

__all__ = ["describe", "attach", "alt_of", "show_figure", "register", "ALT_ATTRIBUTE"]

ALT_ATTRIBUTE = "_resnet_alt_text"
MAX_LINES_PER_AXES = 8
MAX_BARS = 10


def _number(value: float, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "not a number"
    if percent:
        return f"{value:.1f}%"
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-2):
        return f"{value:.2e}"
    return f"{value:.3g}"


def _text(label: Any) -> str:
    return " ".join(str(label or "").replace("$", "").split())


def _is_percent(label: str) -> bool:
    return "%" in label


def _describe_axes(ax) -> str:
    parts = []
    title = _text(ax.get_title())
    if title:
        parts.append(f"panel '{title}'")
    xlabel, ylabel = _text(ax.get_xlabel()), _text(ax.get_ylabel())
    if not ylabel:  # a panel that shares its y axis with a labelled one (sharey=True labels the first only)
        ylabel = next((_text(other.get_ylabel()) for other in ax.get_shared_y_axes().get_siblings(ax)
                       if _text(other.get_ylabel())), "")
    if xlabel or ylabel:
        parts.append(f"x: {xlabel or 'unlabelled'}, y: {ylabel or 'unlabelled'}"
                     + (" (log scale)" if ax.get_yscale() == "log" and "log" not in ylabel else ""))
    percent = _is_percent(ylabel)
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) > 1] if ax.axison else []  # a diagram's lines are strokes
    named = [line for line in lines if not str(line.get_label()).startswith("_")]
    for line in (named or lines)[:MAX_LINES_PER_AXES]:
        x, y = list(line.get_xdata()), list(line.get_ydata())
        label = _text(line.get_label())
        label = "" if label.startswith("_") else label
        try:
            end, low, high = float(y[-1]), float(min(y)), float(max(y))
            end_x = float(x[-1])
        except (TypeError, ValueError):
            continue
        parts.append(f"{label or 'a line'} ends at {_number(end, percent)} (x = {_number(end_x)}; "
                     f"range {_number(low, percent)} to {_number(high, percent)})")
    if len(named or lines) > MAX_LINES_PER_AXES:
        parts.append(f"and {len(named or lines) - MAX_LINES_PER_AXES} more lines")
    bars = [patch for container in ax.containers for patch in getattr(container, "patches", [])]
    if bars:  # each bar by its tick label where one stands at its centre (class names), else by its x; then its height
        ticks = {round(float(x), 6): _text(t.get_text()) for x, t in zip(ax.get_xticks(), ax.get_xticklabels(), strict=False)}

        def name(bar) -> str:
            centre = bar.get_x() + bar.get_width() / 2
            return ticks.get(round(centre, 6)) or _number(centre)

        values = [f"{name(bar)}: {_number(bar.get_height(), percent)}" for bar in bars[:MAX_BARS]]
        parts.append(f"{len(bars)} bars: " + ", ".join(values) + (", ..." if len(bars) > MAX_BARS else ""))
    images = ax.get_images()
    if images:
        shape = images[0].get_array().shape
        parts.append("an image" + (f" of {shape[0]} x {shape[1]} cells" if len(shape) >= 2 else ""))
    return "; ".join(parts)


def describe(fig: Figure) -> str:
    """What ``fig`` shows, from its own artists: title, each panel's axes, each line's label and last value
    (and its range), bar heights, image sizes. Percent axes (a "%" in the y label) are written as percent."""
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    suptitle = _text(fig._suptitle.get_text()) if getattr(fig, "_suptitle", None) is not None else ""
    panels = [ax for ax in fig.get_axes() if ax.get_visible() and ax.get_label() != "<colorbar>"]
    head = f"Figure: {suptitle}" if suptitle else "Figure"
    if len(panels) > 1:
        head += f", {len(panels)} panels"
    pictures = [ax for ax in panels if ax.get_images() and not ax.get_lines()]
    if len(pictures) > 2 and len(pictures) == len(panels):  # a grid of pictures: their size and titles, once
        shapes = sorted({"{} x {}".format(*ax.get_images()[0].get_array().shape[:2]) for ax in panels})
        titles = [_text(ax.get_title()) for ax in panels if _text(ax.get_title())]
        return (f"{head}: {len(panels)} images of {' or '.join(shapes)} pixels"
                + (f", titled {', '.join(titles)}" if titles else "") + ".")
    described = []
    for text in (_describe_axes(ax) for ax in panels):  # a grid of untitled pictures: one sentence, with a count
        if text and described and described[-1][0] == text:
            described[-1][1] += 1
        elif text:
            described.append([text, 1])
    described = [text if n == 1 else f"{n} panels, each: {text}" for text, n in described]
    if not described:
        return head + "."
    return head + ". " + ". ".join(d[0].upper() + d[1:] for d in described) + "."


def attach(fig: Figure, alt: str) -> Figure:
    """Give ``fig`` the alt text ``alt`` (written by the code that drew it, from its data); returns ``fig``."""
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"alt must be a non-empty string, got {alt!r}")
    setattr(fig, ALT_ATTRIBUTE, " ".join(alt.split()))
    return fig


def alt_of(fig: Figure) -> str:
    """The alt text attached to ``fig``, else :func:`describe`'s."""
    return getattr(fig, ALT_ATTRIBUTE, None) or describe(fig)


def _png(fig: Figure, dpi: int = 90) -> bytes:
    from helpers.figures import figure_png  # lazily: helpers.figures imports torch

    return figure_png(fig, dpi=dpi)


def show_figure(fig: Figure, alt: str | None = None) -> None:
    """Display ``fig`` as a PNG whatever the backend, with its alt text in the output's metadata."""
    from IPython.display import Image, display

    if alt is not None:
        attach(fig, alt)
    display(Image(data=_png(fig), format="png"), metadata={"image/png": {"alt": alt_of(fig)}})


def _png_with_alt(fig: Figure):
    from IPython.core.pylabtools import print_figure

    if not fig.axes and not fig.texts:
        return None  # as the inline backend: an empty figure shows nothing
    return print_figure(fig, "png", bbox_inches="tight", base64=True), {"alt": alt_of(fig)}


def register(shell=None) -> bool:
    """In IPython, format every matplotlib Figure as PNG with its alt text in the metadata (so ``plt.show()``
    carries it); re-installed before each cell in case ``%matplotlib inline`` set the default back.
    Returns whether a shell was found."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    import matplotlib.pyplot as plt

    # Load the backend now: the inline backend installs its own PNG formatter when it loads, which would
    # otherwise happen in the cell that draws the first figure, after this formatter, and replace it there.
    getattr(plt, "_get_backend_mod", plt.get_backend)()
    png = shell.display_formatter.formatters["image/png"]

    def install(*_: Any) -> None:
        if png.type_printers.get(Figure) is not _png_with_alt:
            png.for_type(Figure, _png_with_alt)

    install()
    if not getattr(shell, "_resnet_alt_registered", False):
        shell.events.register("pre_run_cell", install)
        shell.events.register("post_execute", install)  # before the inline backend's flush of open figures
        shell._resnet_alt_registered = True
    return True
