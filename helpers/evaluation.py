"""What a trained classifier gets right and wrong, and curves of a run while it trains.

* :func:`confusion_matrix`, :func:`per_class_accuracy`, :func:`top_k_accuracy` and
  :func:`most_confident_mistakes` work on the logits and labels that
  :func:`helpers.train.predict` returns (CPU tensors);
* :func:`plot_confusion_matrix` and :func:`plot_histories` draw them (titles, axis labels, units);
* :class:`LiveCurves` is an ``on_epoch_end`` callback for :func:`helpers.train.fit` that redraws
  the loss and accuracy curves in place after every epoch (one PNG, replaced through an IPython
  display handle, so it works with any matplotlib backend and in a saved notebook).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from helpers.alt_text import alt_of
from helpers.arguments import integer
from helpers.data import CLASSES
from helpers.figures import figure_png

__all__ = ["confusion_matrix", "per_class_accuracy", "top_k_accuracy", "most_confident_mistakes",
           "plot_confusion_matrix", "plot_histories", "LiveCurves"]


def _labels(values: Any, name: str) -> torch.Tensor:
    values = torch.as_tensor(values)
    if values.ndim != 1 or values.dtype.is_floating_point or values.dtype == torch.bool:
        raise ValueError(f"{name} must be a 1-D tensor of integer class indices, got shape {tuple(values.shape)} "
                         f"and dtype {values.dtype}")
    return values.long().cpu()


def _logits(logits: Any, labels: torch.Tensor) -> torch.Tensor:
    logits = torch.as_tensor(logits)
    if logits.ndim != 2 or len(logits) != len(labels):
        raise ValueError(f"logits must be (N, num_classes) with N = len(labels) = {len(labels)}, "
                         f"got shape {tuple(logits.shape)}")
    return logits.float().cpu()


def confusion_matrix(labels: Any, predictions: Any, num_classes: int = len(CLASSES)) -> torch.Tensor:
    """(num_classes, num_classes) int64 counts: row = true class, column = predicted class.

    Row i sums to the number of examples of class i; the diagonal holds the correct ones.
    """
    labels, predictions = _labels(labels, "labels"), _labels(predictions, "predictions")
    if len(labels) != len(predictions):
        raise ValueError(f"labels and predictions must have the same length, got {len(labels)} and {len(predictions)}")
    integer("num_classes", num_classes)
    for name, values in (("labels", labels), ("predictions", predictions)):
        if len(values) and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must lie in 0..{num_classes - 1}, found {values.min().item()}..{values.max().item()}")
    # one flat bincount: pair (i, j) lands in bin i * C + j, duplicates counted (unlike cm[i, j] += 1)
    flat = torch.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return flat.view(num_classes, num_classes)


def per_class_accuracy(confusion: torch.Tensor) -> torch.Tensor:
    """Fraction of each true class predicted correctly (the diagonal over the row sums), as float.

    A class with no examples gets NaN: its accuracy is not zero, it is undefined.
    """
    confusion = torch.as_tensor(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must be a square matrix, got shape {tuple(confusion.shape)}")
    confusion = confusion.double()
    return (confusion.diagonal() / confusion.sum(1)).float()


def top_k_accuracy(logits: Any, labels: Any, k: int = 1) -> float:
    """Fraction of examples whose true class is among the ``k`` highest logits."""
    labels = _labels(labels, "labels")
    logits = _logits(logits, labels)
    integer("k", k, 1, logits.shape[1])  # at most the number of classes
    top = logits.topk(k, dim=1).indices  # (N, k)
    return (top == labels[:, None]).any(1).float().mean().item()


def most_confident_mistakes(logits: Any, labels: Any, k: int = 16) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``k`` wrong predictions the model was surest of: ``(indices, predicted, confidence)``,
    most confident first, where confidence is the softmax probability of the predicted class."""
    labels = _labels(labels, "labels")
    logits = _logits(logits, labels)
    integer("k", k)
    confidence, predicted = logits.softmax(1).max(1)
    wrong = torch.nonzero(predicted != labels).flatten()
    order = confidence[wrong].argsort(descending=True, stable=True)[:k]
    chosen = wrong[order]
    return chosen, predicted[chosen], confidence[chosen]


# --------------------------------------------------------------------------- plots

def plot_confusion_matrix(confusion: torch.Tensor, classes: Sequence[str] = CLASSES, *, title: str = "") -> Figure:
    """The confusion matrix as row percentages (each true class sums to 100%), counts in the cells."""
    confusion = torch.as_tensor(confusion)
    if confusion.ndim != 2 or confusion.shape != (len(classes), len(classes)):
        raise ValueError(f"confusion must be {len(classes)}x{len(classes)} (one row and column per class), "
                         f"got shape {tuple(confusion.shape)}")
    counts = confusion.double().numpy()
    rows = counts.sum(1, keepdims=True)
    percent = np.divide(100 * counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig, ax = plt.subplots(figsize=(7.2, 6.2))
    image = ax.imshow(percent, cmap="Blues", vmin=0, vmax=100)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if counts[i, j]:
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=7,
                        color="white" if percent[i, j] > 60 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel="predicted class", ylabel="true class",
           title=title or "Confusion matrix\n(colour: % of the true class; numbers: images)")
    fig.colorbar(image, ax=ax, label="% of the true class")
    fig.tight_layout()
    return fig


def _get(history: Any, name: str) -> list[float]:
    return list(history[name] if isinstance(history, Mapping) else getattr(history, name))


def plot_histories(histories: Mapping[str, Any], *, title: str = "", epochs: int | None = None) -> Figure:
    """Loss and accuracy per epoch of one or more runs, side by side: train solid, test dashed.

    ``histories`` maps a label to a :class:`helpers.train.History` (or its ``to_dict()``);
    ``epochs`` fixes the x axis (useful while a run is still going).
    """
    if not histories:
        raise ValueError("histories is empty: nothing to plot")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, (label, history) in enumerate(histories.items()):
        color = f"C{i}"
        epoch = _get(history, "epoch")
        prefix = f"{label}: " if label else ""
        ax_loss.plot(epoch, _get(history, "train_loss"), "-o", color=color, ms=3, label=f"{prefix}train")
        ax_loss.plot(epoch, _get(history, "test_loss"), "--s", color=color, ms=3, label=f"{prefix}test")
        ax_acc.plot(epoch, [100 * a for a in _get(history, "train_acc")], "-o", color=color, ms=3,
                    label=f"{prefix}train (augmented)")
        ax_acc.plot(epoch, [100 * a for a in _get(history, "test_acc")], "--s", color=color, ms=3,
                    label=f"{prefix}test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss (train: with label smoothing)", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (ax_loss, ax_acc):
        if epochs:
            ax.set_xlim(0.5, epochs + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


class LiveCurves:
    """``fit(..., on_epoch_end=LiveCurves(...))``: loss and accuracy redrawn in place after each epoch.

    The first call displays the figure, later calls replace it (an IPython display handle), so a
    notebook shows one figure that grows instead of one figure per epoch. Call it once more with the
    final history after ``fit`` returns: a run resumed from a finished checkpoint trains no epoch.
    """

    def __init__(self, title: str = "", epochs: int | None = None, dpi: int = 80) -> None:
        self.title, self.epochs, self.dpi = title, epochs, dpi
        self.handle: Any = None
        self.updates = 0

    def __call__(self, history: Any) -> None:
        from IPython.display import Image, display

        done = len(_get(history, "epoch"))
        title = self.title + (f" (epoch {done} of {self.epochs})" if self.epochs else "")
        fig = plot_histories({"": history}, title=title, epochs=self.epochs)
        image = Image(data=figure_png(fig, dpi=self.dpi), format="png")
        alt = {"image/png": {"alt": alt_of(fig)}}  # what the curves show, from their data (helpers.alt_text)
        plt.close(fig)  # the PNG is what is shown; no second copy at the end of the cell
        if self.handle is None:
            self.handle = display(image, display_id=True, metadata=alt)
        else:
            self.handle.update(image, metadata=alt)
        self.updates += 1

