"""Checks for the exercises of 00_start_here."""
from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F1
import torchvision.transforms.v2 as T2
import torchvision.transforms.v2.functional as F

from helpers.checks import close, exercise_check, expect_tensor, fail, passed, refusing
from helpers.data import MEAN, STD


@exercise_check("class_histogram")
def check_class_histogram(class_histogram) -> None:
    rng = np.random.default_rng(0)
    cases = [rng.integers(0, 10, size=n) for n in (1, 7, 100)] + [np.array([9, 9, 9]), np.arange(10)]
    for labels in cases:
        got = class_histogram(labels)
        expected = np.bincount(labels, minlength=10)
        if len(got) != 10:
            fail(f"class_histogram({labels.tolist()[:10]}...) returned {len(got)} counts; expected one per class (10), "
                 "including classes that do not occur (count 0).")
        if not np.array_equal(np.asarray(got), expected):
            fail(f"class_histogram({labels.tolist()}) returned {list(np.asarray(got))}; expected {expected.tolist()}.")
    passed("class_histogram", f"{len(cases)} label arrays, including classes with no images")


@exercise_check("to_input")
def check_to_input(to_input) -> None:
    normalize = T.Normalize(MEAN, STD)
    reference = T.Compose([T.ToTensor(), normalize])
    rng = np.random.default_rng(1)
    for image in (rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), np.zeros((32, 32, 3), np.uint8),
                  np.full((32, 32, 3), 255, np.uint8)):
        got = to_input(image)
        if isinstance(got, torch.Tensor) and got.dtype != torch.float32:
            fail(f"to_input should return float32 values, got {got.dtype}.")
        expected = reference(image)
        if not close(got, expected):
            pixels = torch.from_numpy(image).float()  # (H, W, C), 0..255
            for variant, cause in (
                (normalize(pixels.permute(2, 0, 1)), "the values were not scaled to 0..1 before normalising: "
                                                     "divide by 255 first, then subtract MEAN and divide by STD"),
                (pixels.permute(2, 0, 1) / 255, "the values are scaled to 0..1 but not normalised: subtract MEAN "
                                                "and divide by STD, channel by channel"),
                (normalize(pixels.reshape(3, 32, 32) / 255), "the shape is (3, 32, 32) but the numbers are "
                                                             "scrambled: reshape (or view) regroups the values "
                                                             "without moving the channels; move the channel axis "
                                                             "first with permute"),
            ):
                if close(got, variant):
                    fail(f"to_input(image): {cause}.")
        expect_tensor(got, expected, "to_input(image) compared with torchvision's ToTensor + Normalize")
    passed("to_input", "equal to ToTensor + Normalize on 3 images")


@exercise_check("hflip")
def check_hflip(hflip) -> None:
    """``Tensor.flip`` / ``torch.flip`` on the right axis is the answer; torchvision's ready-made
    horizontal flip (functional or RandomHorizontalFlip) is refused."""
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)  # H != W: catches the wrong axis
    expected = F.horizontal_flip(x)
    with refusing({F: ["horizontal_flip", "hflip", "horizontal_flip_image"], F1: ["hflip"],
                   T2.RandomHorizontalFlip: ["transform"]}, hflip,
                  exercise="hflip", hint="Which dimension of (B, C, H, W) runs left-right? Tensor.flip "
                                         "mirrors any dimension you name."):
        got = hflip(x.clone())
    if isinstance(got, torch.Tensor) and torch.equal(got, x.flip(2)):
        fail("hflip turned the images upside down (it flipped the height axis, dim 2); a horizontal flip "
             "mirrors left and right: the width axis, dim 3.")
    if isinstance(got, torch.Tensor) and torch.equal(got, x):
        fail("hflip returned the batch unchanged; mirror the width axis (dim 3) and return the result "
             "(Tensor.flip returns a new tensor, it does not flip in place).")
    if isinstance(got, torch.Tensor) and torch.equal(got, x.flip(1)):
        fail("hflip reversed the colour channels (dim 1), swapping red and blue; in a (B, C, H, W) batch "
             "left-right is the width axis, dim 3.")
    expect_tensor(got, expected, "hflip(batch) compared with torchvision's horizontal_flip")
    passed("hflip", "mirrors left-right, keeps the batch and channel order")
