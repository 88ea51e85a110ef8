"""Checks for the exercises of 00_start_here."""
from __future__ import annotations

import functools

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F1
import torchvision.transforms.v2 as T2
import torchvision.transforms.v2.functional as F

from helpers import data
from helpers.checks import close, describe, exercise_check, expect_tensor, fail, passed, precomputed, refusing
from helpers.data import MEAN, STD, DataNotFoundError, balanced_subset, load_cifar10


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


# What does the work of to_input for you: torchvision's transforms (the check's reference) and helpers.data.
_READY_NORMALISE = {T.ToTensor: ["__init__"], T.Normalize: ["__init__"], T2.Normalize: ["__init__"],
                    F1: ["to_tensor", "normalize"], F: ["normalize"], data: ["normalize"]}


@exercise_check("to_input")
def check_to_input(to_input) -> None:
    normalize = T.Normalize(MEAN, STD)
    reference = T.Compose([T.ToTensor(), normalize])
    rng = np.random.default_rng(1)
    # a non-square image too (H=24, W=40): a swapped height and width shows only there
    for image in (rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), np.zeros((32, 32, 3), np.uint8),
                  np.full((32, 32, 3), 255, np.uint8), rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)):
        h, w, _ = image.shape
        with refusing(_READY_NORMALISE, to_input, exercise="to_input",
                      hint="Scale, move the channels first and normalise with tensor operations yourself; the "
                           "check compares your result with torchvision's ToTensor + Normalize."):
            got = to_input(image.copy())
        if isinstance(got, torch.Tensor) and got.dtype != torch.float32:
            fail(f"to_input should return float32 values, got {got.dtype}.")
        expected = reference(image)
        if not close(got, expected):
            pixels = torch.from_numpy(image).float()  # (H, W, C), 0..255
            if isinstance(got, torch.Tensor) and (close(got, normalize(pixels.permute(2, 1, 0) / 255))
                                                  or (h != w and tuple(got.shape) == (3, w, h))):
                fail(f"to_input(image of shape {image.shape}): the height and width are swapped (you returned "
                     f"shape {tuple(got.shape)}, expected {tuple(expected.shape)}): move only the channel axis "
                     "to the front, permute(2, 0, 1), which keeps (H, W) in order.")
            for variant, cause in (
                (normalize(pixels.permute(2, 0, 1)), "the values were not scaled to 0..1 before normalising: "
                                                     "divide by 255 first, then subtract MEAN and divide by STD"),
                (pixels.permute(2, 0, 1) / 255, "the values are scaled to 0..1 but not normalised: subtract MEAN "
                                                "and divide by STD, channel by channel"),
                (normalize(pixels.reshape(3, h, w) / 255), f"the shape is (3, {h}, {w}) but the numbers are "
                                                           "scrambled: reshape (or view) regroups the values "
                                                           "without moving the channels; move the channel axis "
                                                           "first with permute"),
            ):
                if close(got, variant):
                    fail(f"to_input(image): {cause}.")
        expect_tensor(got, expected, f"to_input(image of shape {image.shape}) compared with torchvision's "
                                     "ToTensor + Normalize")
    passed("to_input", "equal to ToTensor + Normalize on 4 images, one of them 24x40")


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


@functools.cache
def _cifar10_sample() -> np.ndarray | None:
    """1,000 CIFAR-10 training images, 100 per class (None where the data is not on this machine)."""
    try:
        train = load_cifar10("train", download=False)
    except DataNotFoundError:
        return None
    return train.images[balanced_subset(train.labels, 1000, seed=0)]


def _channel_stats_cases() -> list[tuple[str, object]]:
    rng = np.random.default_rng(4)
    scaled = np.stack([rng.integers(0, 16, (7, 4, 9)), rng.integers(200, 256, (7, 4, 9)),
                       rng.integers(0, 256, (7, 4, 9))], axis=-1).astype(np.uint8)
    tiny = np.array([[[[0, 255, 10]], [[255, 255, 20]]]], dtype=np.uint8)  # (1, 2, 1, 3): 2 values per channel
    photos = [rng.integers(0, 61, (32, 32, 3), dtype=np.uint8),  # a large dark image
              rng.integers(180, 256, (4, 6, 3), dtype=np.uint8),  # a small bright one
              rng.integers(0, 256, (10, 7, 3), dtype=np.uint8)]
    return [
        ("5 random images of 8x6 pixels, shape (5, 8, 6, 3)", rng.integers(0, 256, (5, 8, 6, 3), dtype=np.uint8)),
        ("7 images of 4x9 pixels whose channels have very different ranges (R 0..15, G 200..255, B 0..255)",
         scaled),
        ("one image of 2x1 pixels, shape (1, 2, 1, 3)", tiny),
        ("a list of 3 images of different sizes, 32x32 (dark), 4x6 (bright) and 10x7", photos),
    ]


@precomputed(lambda: [(k,) for k in range(len(_channel_stats_cases()))])
def _channel_stats_expected(case: int) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray, str]]]:
    """The mean and std per channel of case ``case`` of _channel_stats_cases, and (mean, std, what to say) for
    each typical mistake."""
    images = _channel_stats_cases()[case][1]
    pixels = np.concatenate([np.asarray(image, dtype=np.float64).reshape(-1, 3) for image in images]) / 255
    mean, std = pixels.mean(0), pixels.std(0)
    per_image = [np.asarray(image, dtype=np.float64).reshape(-1, 3) / 255 for image in images]
    mistakes = [
        (std, mean, "mean and std are swapped: return (mean, std), in that order"),
        (255 * mean, 255 * std, "the values were not scaled to 0..1: divide by 255 first (MEAN and STD are in "
                                "0..1, since to_input divides by 255 before normalising)"),
        (mean, pixels.std(0, ddof=1) if len(pixels) > 1 else std,
         "the std divides by count - 1 (ddof=1, the sample std); the normalisation constants are the population "
         "std, which divides by the count (numpy's default, ddof=0; torch.std needs correction=0)"),
        (mean, np.mean([p.std(0) for p in per_image], axis=0),
         "the std is the average of the images' own stds; that misses how much the images differ from each "
         "other (think of a dark image and a bright one, each of one flat colour: each has std 0, all pixels "
         "together do not). Take the std over all pixels of all images at once"),
        (np.mean([p.mean(0) for p in per_image], axis=0), std,
         "the mean is the average of the images' own means, which counts a small image as much as a large one; "
         "every pixel should count once: take the mean over all pixels of all images at once"),
        (np.asarray(MEAN), np.asarray(STD), "that is CIFAR-10's published constants MEAN and STD; compute the "
                                            "statistics of the images you are given"),
    ]
    if isinstance(images, np.ndarray):
        x = images / 255
        mistakes.append((mean, x.std(0).mean((0, 1)),
                         "the std is the average of the per-pixel stds (taken over the images at each pixel "
                         "position); take the std over all pixels of all images at once"))
        mistakes.append((x.reshape(3, -1).mean(1), x.reshape(3, -1).std(1),
                         "the values are grouped wrongly: reshape(3, -1) cuts the array into three blocks "
                         "without gathering the channels, which are the last axis; use reshape(-1, 3), or "
                         "reduce over axes (0, 1, 2)"))
    return pixels.mean(0), pixels.std(0), mistakes


@exercise_check("channel_stats")
def check_channel_stats(channel_stats) -> None:
    def run(what, images):
        copy = [image.copy() for image in images] if isinstance(images, list) else images.copy()
        try:
            got = channel_stats(copy)
        except (AttributeError, ValueError, TypeError) as error:
            if isinstance(images, list):
                fail(f"channel_stats on {what} raised {type(error).__name__}: {error}. Another data set's photos "
                     "usually come in different sizes, so they do not stack into one (N, H, W, 3) array (and a "
                     "list has no .reshape): gather the pixels of every image as rows of 3 values "
                     "(image.reshape(-1, 3)) and compute the statistics over all those rows.")
            raise
        try:
            mean, std = got
        except (TypeError, ValueError):
            fail(f"channel_stats should return a pair (mean, std), two arrays of 3 numbers; got {describe(got)}.")
        return np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)

    def shape_cause(shape, images) -> str:
        if shape == ():
            return ("one number for all channels together; compute one per colour channel (R, G, B): reduce over "
                    "the images, rows and columns, not over the channel axis")
        if isinstance(images, np.ndarray):
            n, h, w, _ = images.shape
            if shape == (h, w, 3):
                return ("one value per pixel position (you reduced over the images only, axis 0); reduce over the "
                        "images, rows and columns, axes (0, 1, 2)")
            if shape in ((n, 3), (n,)):
                return ("one value per image; reduce over the images too: over axes (0, 1, 2), all pixels of all "
                        "images, one value per channel")
        return "reduce over all images and pixels and keep the channel axis: 3 numbers, R, G and B"

    cases = _channel_stats_cases()
    for k, (what, images) in enumerate(cases):
        mean, std = run(what, images)
        expected_mean, expected_std, mistakes = _channel_stats_expected(k)
        for name, value in (("mean", mean), ("std", std)):
            if value.shape != (3,):
                fail(f"channel_stats on {what}: the {name} has shape {value.shape}, expected (3,): "
                     f"{shape_cause(value.shape, images)}.")
        ok_mean = np.allclose(mean, expected_mean, rtol=1e-5, atol=1e-7)
        ok_std = np.allclose(std, expected_std, rtol=1e-5, atol=1e-7)
        if ok_mean and ok_std:
            continue
        for wrong_mean, wrong_std, cause in mistakes:
            if (np.allclose(mean, wrong_mean, rtol=1e-5, atol=1e-7) and np.allclose(std, wrong_std, rtol=1e-5, atol=1e-7)
                    and not (np.allclose(wrong_mean, expected_mean) and np.allclose(wrong_std, expected_std))):
                fail(f"channel_stats on {what}: {cause}.")
        name, value, expected = ("mean", mean, expected_mean) if not ok_mean else ("std", std, expected_std)
        fail(f"channel_stats on {what}: the {name} per channel (R, G, B) should be {np.round(expected, 5).tolist()}, "
             f"got {np.round(value, 5).tolist()}. Scale to 0..1, then take the {name} of all values of each channel.")

    # Fresh random images each run: brightening every pixel by 40 raises the mean by 40/255 and keeps the std;
    # the same images twice keep both.
    fresh = np.random.default_rng()
    images = [fresh.integers(0, 216, (int(fresh.integers(1, 12)), int(fresh.integers(1, 12)), 3), dtype=np.uint8)
              for _ in range(int(fresh.integers(1, 6)))]
    base_mean, base_std = run("fresh random images", images)
    brighter_mean, brighter_std = run("the same images, 40 brighter", [image + 40 for image in images])
    twice_mean, twice_std = run("the same images twice", images + images)
    if not (np.allclose(brighter_mean, base_mean + 40 / 255, atol=1e-6) and np.allclose(brighter_std, base_std,
                                                                                        atol=1e-6)
            and np.allclose(twice_mean, base_mean, atol=1e-9) and np.allclose(twice_std, base_std, atol=1e-9)):
        fail("channel_stats on fresh random images: brightening every pixel by 40 should raise the mean by 40/255 "
             "and keep the std, and the same images twice should give the same statistics; yours gave mean "
             f"{np.round(base_mean, 5).tolist()} -> {np.round(brighter_mean, 5).tolist()} (brighter), "
             f"{np.round(twice_mean, 5).tolist()} (twice); std {np.round(base_std, 5).tolist()} -> "
             f"{np.round(brighter_std, 5).tolist()} (brighter), {np.round(twice_std, 5).tolist()} (twice).")
    sample = _cifar10_sample()
    if sample is not None:
        mean, std = run("1,000 CIFAR-10 training images", sample)
        mirrored_mean, mirrored_std = run("the same images, mirrored and in reverse order", sample[::-1, :, ::-1])
        for name, value, again, published in (("mean", mean, mirrored_mean, MEAN), ("std", std, mirrored_std, STD)):
            if value.shape != (3,) or not np.allclose(value, again, atol=1e-6) or np.abs(value - published).max() > 0.02:
                fail(f"channel_stats on 1,000 CIFAR-10 training images: the {name} should stay the same for the "
                     f"images mirrored and reordered and lie near the published {name} "
                     f"{np.round(published, 4).tolist()}; got {np.round(value, 5).tolist()} and "
                     f"{np.round(again, 5).tolist()}.")
    passed("channel_stats", f"equal to numpy on {len(cases)} data sets, consistent on fresh random images"
           + (" and on 1,000 CIFAR-10 training images" if sample is not None else ""))
    if sample is None:
        print("(CIFAR-10 is not on this machine, so the comparison with MEAN and STD is left out.)")
        return

    def row(values) -> str:
        return " ".join(f"{v:.4f}" for v in values)

    print("Your channel_stats on 1,000 CIFAR-10 training images (100 per class), R G B:")
    print(f"  mean {row(mean)} | published MEAN {row(MEAN)} | largest difference {np.abs(mean - MEAN).max():.4f}")
    print(f"  std  {row(std)} | published STD  {row(STD)} | largest difference {np.abs(std - STD).max():.4f}")
