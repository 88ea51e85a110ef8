"""Checks for the exercises of 06_resnet34_on_cifar10.

Each check runs the learner's function on several cases, including the edge cases that real
predictions produce (a class that is never predicted, a class with no examples, one example,
repeated (true, predicted) pairs, k equal to the number of classes, odd image sizes, the first and
last step of a schedule, a resume after the last epoch), and compares it with a reference: counting
in a plain loop, ``torch.topk``, the ImageNet stem of ``helpers.models`` run on a real tensor, the
optimiser and scheduler that ``helpers.train`` builds, stepped as ``fit`` steps them, and a tiny run
trained without interruption. Common mistakes get named; a resume's by rerunning the interrupted
run with resumes that each forget a known piece of the checkpoint.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from helpers import evaluation, train
from helpers.checks import describe, exercise_check, fail, passed, precomputed, refusing
from helpers.models import BasicBlock, ResNet
from helpers.runtime import one_thread
from helpers.train import TrainConfig, make_optimizer


def _confusion_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, int]]:
    g = torch.Generator().manual_seed(6)
    return [  # what, labels, predictions, num_classes
        ("200 random labels and predictions, 10 classes",
         torch.randint(0, 10, (200,), generator=g), torch.randint(0, 10, (200,), generator=g), 10),
        ("classes 5..9 never predicted", torch.randint(0, 10, (100,), generator=g),
         torch.randint(0, 5, (100,), generator=g), 10),
        ("classes 7..9 absent from both labels and predictions (num_classes=10)",
         torch.randint(0, 7, (50,), generator=g), torch.randint(0, 7, (50,), generator=g), 10),
        ("the same (true, predicted) pair 5 times", torch.full((5,), 2), torch.full((5,), 1), 3),
        ("a single example", torch.tensor([3]), torch.tensor([0]), 4),
    ]


@precomputed(lambda: [(t.tolist(), p.tolist(), n) for _, t, p, n in _confusion_cases()])
def _loop_confusion(labels: list[int], predictions: list[int], num_classes: int) -> torch.Tensor:
    counts = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for t, p in zip(labels, predictions, strict=True):
        counts[t, p] += 1
    return counts


@exercise_check("confusion_matrix")
def check_confusion_matrix(confusion_matrix) -> None:
    cases = _confusion_cases()
    for what, labels, predictions, num_classes in cases:
        expected = _loop_confusion(labels.tolist(), predictions.tolist(), num_classes)
        call = f"confusion_matrix for {what}"
        with refusing({evaluation: ["confusion_matrix"]}, confusion_matrix, exercise="confusion_matrix",
                      hint="Count the pairs with torch.bincount, index_put_ or a loop."):
            try:
                got = confusion_matrix(labels.clone(), predictions.clone(), num_classes)
            except (RuntimeError, ValueError) as error:
                if expected[-1, -1] == 0 and "size" in str(error):
                    fail(f"{call}: your code raised {type(error).__name__}: {error}. Here the last cell (true="
                         f"{num_classes - 1}, predicted={num_classes - 1}) is empty, so counts sized from the data "
                         "come out short: size them from num_classes (bincount's minlength, or start from zeros).")
                raise
        if not isinstance(got, torch.Tensor):
            fail(f"{call}: expected a torch.Tensor of shape {tuple(expected.shape)}, got {type(got).__name__}.")
        if tuple(got.shape) != tuple(expected.shape):
            hint = ""
            if got.ndim == 2 and got.shape[0] == got.shape[1] < num_classes:
                hint = (" It looks sized from the largest label seen; a class may be absent from a batch of "
                        "predictions, so use num_classes.")
            fail(f"{call}: expected shape {tuple(expected.shape)} (num_classes x num_classes), got "
                 f"{tuple(got.shape)}.{hint}")
        if got.dtype.is_floating_point or got.dtype.is_complex or got.dtype == torch.bool:
            fail(f"{call}: the entries must be integer counts of examples (an integer dtype such as torch.long); "
                 f"got dtype {got.dtype}. Start from torch.zeros(..., dtype=torch.long), or count with "
                 "torch.bincount, which counts in integers.")
        if torch.equal(got, expected):
            continue
        hint = ""
        if torch.equal(got, expected.T):
            hint = " Your matrix is transposed: rows are the TRUE class, columns the PREDICTED class."
        elif torch.equal(got, (expected > 0).long()):
            hint = (" Each cell is 1 where it should count repeated pairs: `cm[labels, predictions] += 1` adds "
                    "1 only once per distinct cell. Count with a loop, torch.bincount or index_put_(accumulate=True).")
        elif got.sum() != len(labels):
            hint = f" The counts add up to {int(got.sum())}, but there are {len(labels)} examples."
        diff = (got != expected).nonzero()[0].tolist()
        fail(f"{call}: cell (true={diff[0]}, predicted={diff[1]}) holds {int(got[diff[0], diff[1]])}, but "
             f"{int(expected[diff[0], diff[1]])} examples of class {diff[0]} were predicted as {diff[1]}.{hint}")
    # a fresh random case each run: the rows add up to the labels' counts, the columns to the predictions'
    fresh = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
    n = int(torch.randint(2, 12, (), generator=fresh))
    size = int(torch.randint(1, 300, (), generator=fresh))
    labels, predictions = (torch.randint(0, n, (size,), generator=fresh) for _ in range(2))
    with refusing({evaluation: ["confusion_matrix"]}, confusion_matrix, exercise="confusion_matrix"):
        got = confusion_matrix(labels.clone(), predictions.clone(), n)
    hits = [int(((labels == c) & (predictions == c)).sum()) for c in range(n)]
    if not (isinstance(got, torch.Tensor) and got.shape == (n, n) and not got.dtype.is_floating_point
            and torch.equal(got.sum(1).long(), torch.bincount(labels, minlength=n))
            and torch.equal(got.sum(0).long(), torch.bincount(predictions, minlength=n))
            and got.diagonal().long().tolist() == hits):
        fail(f"confusion_matrix on {len(labels)} fresh random examples of {n} classes: the rows should add up to "
             "the number of examples of each true class, the columns to the number predicted as each class, and "
             f"the diagonal should count the hits; got {describe(got)}.")
    passed("confusion_matrix", f"{len(cases)} cases, including classes never predicted and repeated pairs, and a "
                               "fresh random one")


@exercise_check("top_k_accuracy")
def check_top_k_accuracy(top_k_accuracy) -> None:
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(300, 10, generator=g)
    labels = torch.randint(0, 10, (300,), generator=g)
    cases = [(logits, labels, k, f"300 examples, 10 classes, k={k}") for k in (1, 3, 5, 10)]
    small = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.5, 0.4], [0.0, 0.2, 0.1], [1.0, -2.0, 0.9]])
    small_labels = torch.tensor([1, 2, 0, 2])
    cases += [(small, small_labels, 1, "4 examples, 3 classes, k=1"),
              (small, small_labels, 2, "4 examples, 3 classes, k=2"),
              (logits[:7, :4], torch.tensor([3, 3, 3, 3, 3, 3, 3]), 4, "7 examples, 4 classes, k=4 (= all classes)")]
    for x, y, k, what in cases:
        expected = (x.topk(k, 1).indices == y[:, None]).any(1).float().mean().item()
        with refusing({evaluation: ["top_k_accuracy"]}, top_k_accuracy, exercise="top_k_accuracy",
                      hint="torch.topk gives the k largest logits of each row."):
            got = top_k_accuracy(x.clone(), y.clone(), k)
        if isinstance(got, torch.Tensor):
            if got.numel() != 1:
                fail(f"top_k_accuracy for {what}: expected one number, got {describe(got)}.")
            got = got.item()
        if isinstance(got, (int, float)) and not isinstance(got, bool) and math.isclose(got, expected, abs_tol=1e-6):
            continue
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            fail(f"top_k_accuracy for {what}: expected a number between 0 and 1, got {describe(got)}.")
        lowest = (x.topk(k, 1, largest=False).indices == y[:, None]).any(1).float().mean().item()
        hint = ""
        if math.isclose(got, expected * len(y), abs_tol=1e-6) and len(y) > 1:
            hint = " That is the number of hits; return the fraction (divide by the number of examples)."
        elif math.isclose(got, lowest, abs_tol=1e-6):
            hint = " You took the k SMALLEST logits; the prediction is the largest (topk, or argsort descending)."
        elif math.isclose(got, 100 * expected, abs_tol=1e-4) and expected > 0:
            hint = " That is a percentage; return a fraction between 0 and 1."
        elif k > 1 and math.isclose(got, (x.topk(k, 1).indices[:, -1] == y).float().mean().item(), abs_tol=1e-6):
            hint = (f" You checked only the last of the {k} largest logits (topk's last column); an example is a "
                    f"hit when its true class is any of the {k}.")
        elif k > 1 and math.isclose(got, (x.argmax(1) == y).float().mean().item(), abs_tol=1e-6):
            hint = f" That is the top-1 accuracy; with k={k} the true class may be any of the {k} highest logits."
        fail(f"top_k_accuracy for {what} returned {got:.6g}, but the true class is among the {k} largest logits "
             f"for a fraction {expected:.6g} of the examples.{hint}")
    fresh = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))  # a new case every run
    n, classes = (int(torch.randint(low, high, (), generator=fresh)) for low, high in ((1, 200), (2, 20)))
    x, y = torch.randn(n, classes, generator=fresh), torch.randint(0, classes, (n,), generator=fresh)
    k = int(torch.randint(1, classes + 1, (), generator=fresh))
    expected = (x.topk(k, 1).indices == y[:, None]).any(1).float().mean().item()
    with refusing({evaluation: ["top_k_accuracy"]}, top_k_accuracy, exercise="top_k_accuracy"):
        got = top_k_accuracy(x.clone(), y.clone(), k)
    got = got.item() if isinstance(got, torch.Tensor) and got.numel() == 1 else got
    if not (isinstance(got, (int, float)) and math.isclose(got, expected, abs_tol=1e-6)):
        fail(f"top_k_accuracy on {n} fresh random examples of {classes} classes, k={k}: returned {describe(got)}, "
             f"but torch.topk finds the true class among the {k} largest logits for a fraction {expected:.6g}.")
    passed("top_k_accuracy", f"equal to torch.topk in {len(cases)} cases, k = 1 to the number of classes, and on "
                             "a fresh random case")


_STEM_SIZES = [224, 32, 33, 31, 64, 7, 2, 1, 100, 225]
# Common mistakes, in the order _stem_mistaken computes them, and what to say when an answer equals one at
# every size checked (several agree at some sizes: 224 -> 55 is a forgotten padding of either layer).
_STEM_WHY = [
    "That is the size after the 7x7 convolution; the max-pool (3x3, stride 2, padding 1) halves it again.",
    "size // 4 is right only for sizes divisible by 4: apply the output-size formula floor((n + 2p - k) / s) + 1 "
    "twice, once per layer.",
    "The max-pool has padding 1 as well: floor((n + 2 * 1 - 3) / 2) + 1.",
    "The 7x7 convolution has padding 3: floor((n + 2 * 3 - 7) / 2) + 1.",
    "You left out both paddings: the convolution pads by 3 and the max-pool by 1 (the 2p in "
    "floor((n + 2p - k) / s) + 1).",
]


@precomputed(lambda: [(n,) for n in _STEM_SIZES])
def _stem_mistaken(n: int) -> list[int]:
    """What each mistake of _STEM_WHY gives for an n x n image."""
    def formula(size: int, conv_padding: int = 3, pool_padding: int = 1) -> int:
        after_conv = (size + 2 * conv_padding - 7) // 2 + 1
        return (after_conv + 2 * pool_padding - 3) // 2 + 1

    return [(n + 2 * 3 - 7) // 2 + 1, n // 4, formula(n, pool_padding=0), formula(n, conv_padding=0),
            formula(n, conv_padding=0, pool_padding=0)]


@precomputed(lambda: [(n,) for n in _STEM_SIZES])
def _stem_output(size: int) -> int:
    """Height after the ImageNet stem (7x7 stride-2 conv, 3x3 stride-2 max-pool) of helpers.models."""
    model = ResNet(BasicBlock, [1], num_classes=2, stem="imagenet", width=2)
    with torch.no_grad():
        out = model.maxpool(model.conv1(torch.zeros(1, 3, size, size)))
    return out.shape[-1]


@exercise_check("stem_output_size")
def check_stem_output_size(stem_output_size) -> None:
    sizes = _STEM_SIZES

    def answer(size: int):
        with refusing({nn.Conv2d: ["__init__"], nn.MaxPool2d: ["__init__"], ResNet: ["__init__"],
                       nn.functional: ["conv2d", "max_pool2d"], torch: ["conv2d", "max_pool2d"]}, stem_output_size,
                      exercise="stem_output_size", hint="Apply the output-size formula, once per layer; building "
                                                        "the layers and running them measures instead."):
            got = stem_output_size(size)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, float) and got.is_integer():
            fail(f"stem_output_size({size}) returned the float {got!r}; a size is a whole number of pixels "
                 "(use // for floor division).")
        return got

    for size in sizes:
        expected = _stem_output(size)
        got = answer(size)
        if got == expected:
            continue
        hint = next((f" {say}" for m, say in enumerate(_STEM_WHY) if all(answer(n) == _stem_mistaken(n)[m]
                                                                         for n in sizes)), "")
        fail(f"stem_output_size({size}) returned {got!r}, but the ImageNet stem of helpers.models turns a "
             f"{size}x{size} image into a {expected}x{expected} map.{hint}")
    passed("stem_output_size", f"equal to the real stem for {len(sizes)} sizes, odd ones and 1x1 included")


def _reference_lrs(total_steps: int, peak_lr: float, warmup: float) -> list[float]:
    """The learning rate of every step, read from the optimiser as helpers.train.fit steps it."""
    model = nn.Linear(1, 1)
    config = TrainConfig(epochs=1, lr=peak_lr, warmup=warmup)
    optimizer, schedule = make_optimizer(model, config, steps_per_epoch=total_steps)
    lrs = []
    with warnings.catch_warnings():  # stepping the schedule alone: no gradients needed to read the rates
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(total_steps):
            lrs.append(optimizer.param_groups[0]["lr"])
            schedule.step()
    return lrs


# (total steps, peak, warmup): warm-up lengths 15, 6, 3, 0, 4, 90, 6 and 1 steps (none at .5, where rounding
# conventions differ; 38 * 0.15 = 5.7 separates round(), 6, from int(), which truncates to 5; 10 * 0.04 rounds to
# 0 steps, where the text asks for at least one)
_LR_CASES = [(100, 0.2, 0.15), (40, 0.4, 0.15), (12, 1.0, 0.25), (50, 0.1, 0.0), (8, 0.2, 0.5), (300, 0.2, 0.3),
             (38, 0.3, 0.15), (10, 0.2, 0.04)]


def _lr_steps(total: int, warmup: float) -> list[int]:
    """The steps checked: the first, the middle, the last, and around the end of the warm-up."""
    w = round(total * warmup)
    return sorted({0, 1, total // 2, total - 1, w, w - 1, w + 1} & set(range(total)))


def _one_cycle_cases() -> list[tuple[int, int, float, int]]:
    cases = []
    for total, peak, warmup in _LR_CASES:
        w = max(1, round(total * warmup)) if warmup > 0 else 0
        for step in _lr_steps(total, warmup):
            cases += [(step + 1, total, peak, w), (step, total, peak, max(1, int(total * warmup))),
                      (step, total, peak, 0)]
    return cases


@precomputed(_one_cycle_cases)
def _one_cycle(step: int, total: int, peak: float, warmup_steps: int) -> float:
    if step < warmup_steps:
        return peak * (0.1 + 0.9 * step / warmup_steps)
    return peak * (total - step) / (total - warmup_steps)


@exercise_check("one_cycle_lr")
def check_one_cycle_lr(one_cycle_lr) -> None:
    cases = _LR_CASES
    for total, peak, warmup in cases:
        expected = _reference_lrs(total, peak, warmup)
        for step in _lr_steps(total, warmup):
            call = f"one_cycle_lr(step={step}, total_steps={total}, peak_lr={peak}, warmup={warmup})"
            with refusing({train: ["one_cycle", "make_optimizer"]}, one_cycle_lr, exercise="one_cycle_lr",
                          hint="Write the two linear pieces from the formula in the text."):
                try:
                    got = one_cycle_lr(step, total, peak, warmup)
                except ZeroDivisionError:
                    if warmup == 0:
                        fail(f"{call} divided by zero. With warmup=0 the warm-up lasts w = 0 steps, so no step "
                             "belongs to it (and its formula, which divides by w, must not run): a step is in the "
                             "warm-up only when step < w.")
                    raise
            if isinstance(got, torch.Tensor) and got.numel() == 1:
                got = got.item()
            want = expected[step]
            if isinstance(got, (int, float)) and not isinstance(got, bool) and math.isclose(got, want, rel_tol=1e-6,
                                                                                           abs_tol=1e-9):
                continue
            w = max(1, round(total * warmup)) if warmup > 0 else 0
            hint = ""
            if isinstance(got, (int, float)) and step < w and math.isclose(got, peak * step / w, abs_tol=1e-9):
                hint = " The warm-up starts at peak_lr / 10, not at 0: 0.1 + 0.9 * step / warmup_steps."
            elif isinstance(got, (int, float)) and step >= w and math.isclose(
                    got, peak * 0.5 * (1 + math.cos(math.pi * (step - w) / max(1, total - w))), abs_tol=1e-9):
                hint = " That is a cosine decay; this schedule decays linearly to 0."
            elif isinstance(got, (int, float)) and step >= w and math.isclose(
                    got, _one_cycle(step + 1, total, peak, w), rel_tol=1e-6, abs_tol=1e-12):
                hint = (f" That is the rate of step {step + 1}: your decay runs one step early. At step w = {w} the "
                        "rate is still peak_lr, and it would reach 0 at step total_steps, one after the last.")
            elif step == 0 and warmup == 0:
                hint = " With warmup=0 there is no warm-up: step 0 runs at the peak."
            elif warmup > 0 and round(total * warmup) == 0 and isinstance(got, (int, float)) and math.isclose(
                    got, _one_cycle(step, total, peak, 0), rel_tol=1e-6, abs_tol=1e-12):
                hint = (f" Here round(total_steps * warmup) = round({total} * {warmup}) = 0, and your schedule has no "
                        "warm-up; the text asks for at least one warm-up step whenever warmup > 0: "
                        "max(1, round(total_steps * warmup)).")
            elif int(total * warmup) != w and isinstance(got, (int, float)) and math.isclose(
                    got, _one_cycle(step, total, peak, max(1, int(total * warmup))), rel_tol=1e-6):
                hint = (f" Your warm-up lasts int(total_steps * warmup) = {int(total * warmup)} steps; the schedule "
                        f"rounds: round({total} * {warmup}) = {w}. int() truncates.")
            elif step < w:
                hint = f" This step is in the warm-up (the first round(total_steps * warmup) = {w} steps)."
            else:
                hint = f" After the {w} warm-up steps the rate falls linearly: peak_lr * (total - step) / (total - {w})."
            fail(f"{call} returned {got!r}, but the optimiser that helpers.train builds uses {want:.6g} at that "
                 f"step.{hint}")
    fresh = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))  # a new schedule every run
    total = int(torch.randint(5, 200, (), generator=fresh))
    peak, warmup = float(torch.rand((), generator=fresh)) + 0.01, float(torch.rand((), generator=fresh)) * 0.5
    if (total * warmup) % 1 == 0.5:  # where rounding conventions differ
        warmup += 1e-3
    expected = _reference_lrs(total, peak, warmup)
    for step in _lr_steps(total, warmup):
        with refusing({train: ["one_cycle", "make_optimizer"]}, one_cycle_lr, exercise="one_cycle_lr"):
            got = one_cycle_lr(step, total, peak, warmup)
        got = got.item() if isinstance(got, torch.Tensor) and got.numel() == 1 else got
        if not (isinstance(got, (int, float)) and math.isclose(got, expected[step], rel_tol=1e-6, abs_tol=1e-9)):
            fail(f"one_cycle_lr(step={step}, total_steps={total}, peak_lr={peak:.6g}, warmup={warmup:.6g}), a fresh "
                 f"random schedule, returned {got!r}; helpers.train's optimiser uses {expected[step]:.6g}.")
    passed("one_cycle_lr", f"equal to helpers.train's optimiser at the key steps of {len(cases)} schedules and of a "
                           "fresh random one")


# --------------------------------------------------------------------------- Exercise 5: resume

# The tiny run of Exercise 5, as the notebook writes it: 24 points, 4 shuffled mini-batches of 6 per epoch,
# SGD with momentum and the one-cycle schedule of helpers.train stepped after every batch, a save after
# every epoch. The shuffling draws from torch's global generator, so the random-number state matters.
_TINY_POINTS, _TINY_BATCH = 24, 6
_TINY_PIECES = {  # what a resume may forget, and what that does to the run after it
    "model": "the weights were not loaded (model.load_state_dict(state[\"model\"])): training continued from the "
             "fresh model's random initialisation",
    "optimizer": "the optimiser state was not restored (optimizer.load_state_dict(state[\"optimizer\"])): momentum "
                 "restarted from zero, and the first step used the fresh optimiser's learning rate",
    "schedule": "the schedule was not restored (schedule.load_state_dict(state[\"schedule\"])): the learning-rate "
                "schedule started over from its first step",
    "rng": "the random-number state was not restored (torch.set_rng_state(state[\"rng\"])): the epochs after "
           "resuming shuffled the mini-batches in another order than the straight run",
}


def save(path, model: nn.Module, optimizer: torch.optim.Optimizer, schedule, epoch: int) -> None:
    """The checkpoint of Exercise 5: everything the run needs to continue; ``epoch`` is the last finished
    epoch, counted from 0."""
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                "epoch": epoch, "rng": torch.get_rng_state()}, path)


def _tiny_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(_TINY_POINTS, 4, generator=g), torch.randint(0, 3, (_TINY_POINTS,), generator=g)


def _tiny_setup(epochs: int):
    """A fresh model, optimiser and schedule (the model's initialisation draws from torch's global generator)."""
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    steps = epochs * _TINY_POINTS // _TINY_BATCH
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, train.one_cycle(steps, 0.25))
    return model, optimizer, schedule


def _tiny_epochs(objects, first: int, last: int, path, data) -> torch.Tensor:
    """Train epochs first, ..., last - 1, saving after each; return the model's weights, flattened."""
    model, optimizer, schedule = objects
    x, y = data
    for epoch in range(first, last):
        for batch in torch.randperm(_TINY_POINTS).split(_TINY_BATCH):
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        save(path, model, optimizer, schedule, epoch)
    return torch.cat([p.detach().flatten() for p in model.parameters()])



def _tiny_resumed(resume, epochs: int, stop: int, seed: int, path, guard=None):
    """``stop`` epochs, a new session (another seed, fresh objects), ``resume``, then the remaining epochs.
    Returns the final weights (None when resume returned no epoch number) and what resume returned."""
    data = _tiny_data(seed)
    torch.manual_seed(seed)
    _tiny_epochs(_tiny_setup(epochs), 0, stop, path, data)
    torch.manual_seed(seed + 1000)  # the new session: other random numbers, fresh objects
    objects = _tiny_setup(epochs)
    with guard or contextlib.nullcontext():
        start = resume(path, *objects)
    if isinstance(start, torch.Tensor) and start.numel() == 1 and not start.dtype.is_floating_point:
        start = start.item()
    if not isinstance(start, int) or isinstance(start, bool):
        return None, start
    return _tiny_epochs(objects, start, epochs, path, data), start


_RESUME_CASES = [(3, 2, 0), (4, 1, 1), (3, 3, 2)]  # epochs, epochs before the interruption, seed
_OMISSIONS = [skip for size in range(1, len(_TINY_PIECES) + 1) for skip in itertools.combinations(_TINY_PIECES, size)]


@precomputed(lambda: [(skip, *case) for case in _RESUME_CASES for skip in _OMISSIONS])
def _forgotten_weights(skip: tuple[str, ...], epochs: int, stop: int, seed: int) -> torch.Tensor:
    """The final weights of the interrupted run when the resume restores everything but the pieces in ``skip``."""
    def resume(path, model, optimizer, schedule):
        state = torch.load(path)
        if "model" not in skip:
            model.load_state_dict(state["model"])
        if "optimizer" not in skip:
            optimizer.load_state_dict(state["optimizer"])
        if "schedule" not in skip:
            schedule.load_state_dict(state["schedule"])
        if "rng" not in skip:
            torch.set_rng_state(state["rng"])
        return state["epoch"] + 1

    with torch.random.fork_rng(devices=[]), tempfile.TemporaryDirectory() as directory, one_thread():
        return _tiny_resumed(resume, epochs, stop, seed, Path(directory) / "tiny.pt")[0]


def _what_was_forgotten(got: torch.Tensor, epochs: int, stop: int, seed: int) -> str:
    """Which pieces a resume that ends with the weights ``got`` forgot: the fewest whose omission gives them."""
    for skip in _OMISSIONS:
        if torch.allclose(got, _forgotten_weights(skip, epochs, stop, seed), rtol=0, atol=1e-6):
            return (" Your run ends with exactly the weights of a resume that forgets this: "
                    + "; and ".join(_TINY_PIECES[piece] for piece in skip) + ".")
    return (" None of the usual omissions explains it: restore each piece save wrote (model, optimizer, schedule, "
            "rng) and do nothing else (no extra schedule.step(), no new random draws).")


@exercise_check("resume")
def check_resume(resume) -> None:
    cases = _RESUME_CASES
    with torch.random.fork_rng(devices=[]), tempfile.TemporaryDirectory() as directory, one_thread():
        path = Path(directory) / "tiny.pt"
        for epochs, stop, seed in cases:
            what = (f"{stop} epochs, save, a new session (fresh model, optimizer and schedule), your resume, then "
                    f"the rest of a {epochs}-epoch run")
            torch.manual_seed(seed)
            expected = _tiny_epochs(_tiny_setup(epochs), 0, epochs, path, _tiny_data(seed))
            guard = refusing({train: ["resume_from", "fit"]}, resume, exercise="resume",
                             hint="Load the file with torch.load and restore each piece yourself.")
            got, start = _tiny_resumed(resume, epochs, stop, seed, path, guard)
            if got is None:
                if start is None:
                    fail(f"resume returned None after {what}; it must return the epoch to continue from: save "
                         "stored the last finished epoch (counted from 0), so return state[\"epoch\"] + 1.")
                fail(f"resume returned {start!r}; it must return the epoch to continue from, a whole number "
                     f"(here {stop}).")
            if start == stop - 1:
                fail(f"resume returned {start}, the epoch stored in the checkpoint. save stores the last FINISHED "
                     f"epoch (counted from 0), so the loop `for epoch in range({start}, {epochs})` would train "
                     f"epoch {start} a second time: return state[\"epoch\"] + 1.")
            if start != stop:
                fail(f"resume returned {start}, but after {stop} finished epochs the run continues from epoch "
                     f"{stop} (counted from 0): save stores the last finished epoch, return state[\"epoch\"] + 1.")
            if not torch.allclose(got, expected, rtol=0, atol=1e-6):
                fail(f"After {what}, the weights differ from {epochs} epochs trained straight (largest difference "
                     f"{(got - expected).abs().max().item():.3g}); a correct resume makes them equal."
                     + _what_was_forgotten(got, epochs, stop, seed))
    passed("resume", f"{len(cases)} interrupted runs end with the weights of the uninterrupted ones, "
                     "a resume after the last epoch included")
