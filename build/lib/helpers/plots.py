"""Plots the notebooks share. Every figure gets a title, axis labels and units."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from helpers.data import CLASSES, denormalize


def _as_hwc_uint8(image: np.ndarray | torch.Tensor, normalized: bool) -> np.ndarray:
    """One image as (H, W, 3) for imshow, from HWC uint8, CHW uint8 or a normalised CHW float."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()
        if normalized:
            image = denormalize(image[None])[0]
        if image.ndim == 3 and image.shape[0] in (1, 3):
            image = image.permute(1, 2, 0)
        image = image.numpy()
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    return image


def show_images(
    images: Sequence | np.ndarray | torch.Tensor,
    labels: Sequence[int] | None = None,
    *,
    ncols: int = 10,
    title: str | None = None,
    normalized: bool = False,
    captions: Sequence[str] | None = None,
    size: float = 1.2,
) -> plt.Figure:
    """A grid of images with their class names (or ``captions``) under each one.

    Accepts the uint8 HWC arrays of :func:`helpers.data.load_cifar10`, uint8 CHW tensors, or
    normalised float batches from a loader (``normalized=True``).
    """
    n = len(images)
    if n == 0:
        raise ValueError("images is empty: nothing to show")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(_as_hwc_uint8(images[i], normalized), interpolation="nearest")
        caption = captions[i] if captions is not None else (CLASSES[int(labels[i])] if labels is not None else None)
        if caption:
            ax.set_title(caption, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
