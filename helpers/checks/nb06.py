"""Checks for the exercises of 06_resnet34_on_cifar10.

Each check runs the learner's function on several cases, including the edge cases that real
predictions produce (a class that is never predicted, a class with no examples, one example,
repeated (true, predicted) pairs, k equal to the number of classes, odd image sizes, the first and
last step of a schedule), and compares it with a reference: counting in a plain loop, ``torch.topk``,
the ImageNet stem of ``helpers.models`` run on a real tensor, and the optimiser and scheduler that
``helpers.train`` builds, stepped as ``fit`` steps them. Common mistakes get named.
"""
from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from helpers import evaluation, train
from helpers.checks import describe, exercise_check, fail, passed, refusing
from helpers.models import BasicBlock, ResNet
from helpers.train import TrainConfig, make_optimizer


def _loop_confusion(labels: list[int], predictions: list[int], num_classes: int) -> torch.Tensor:
    counts = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for t, p in zip(labels, predictions):
        counts[t, p] += 1
    return counts


@exercise_check("confusion_matrix")
def check_confusion_matrix(confusion_matrix) -> None:
    g = torch.Generator().manual_seed(6)
    cases = [  # what, labels, predictions, num_classes
        ("200 random labels and predictions, 10 classes",
         torch.randint(0, 10, (200,), generator=g), torch.randint(0, 10, (200,), generator=g), 10),
        ("classes 5..9 never predicted", torch.randint(0, 10, (100,), generator=g),
         torch.randint(0, 5, (100,), generator=g), 10),
        ("classes 7..9 absent from both labels and predictions (num_classes=10)",
         torch.randint(0, 7, (50,), generator=g), torch.randint(0, 7, (50,), generator=g), 10),
        ("the same (true, predicted) pair 5 times", torch.full((5,), 2), torch.full((5,), 1), 3),
        ("a single example", torch.tensor([3]), torch.tensor([0]), 4),
    ]
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
        if got.dtype.is_floating_point and not torch.equal(got.round(), got):
            fail(f"{call}: the entries must be whole counts of examples; got fractions ({describe(got)}).")
        got = got.long()
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
    passed("confusion_matrix", f"{len(cases)} cases, including classes never predicted and repeated pairs")


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
    passed("top_k_accuracy", f"equal to torch.topk in {len(cases)} cases, k = 1 to the number of classes")


def _stem_formula(size: int, conv_padding: int = 3, pool_padding: int = 1) -> int:
    """The output-size formula applied to the 7x7/2 convolution, then the 3x3/2 max-pool."""
    after_conv = (size + 2 * conv_padding - 7) // 2 + 1
    return (after_conv + 2 * pool_padding - 3) // 2 + 1


# Common mistakes, as functions of the size, and what to say when an answer equals one at every size checked
# (several agree at some sizes: 224 -> 55 is a forgotten padding of either layer).
_STEM_MISTAKES = [
    (lambda n: (n + 2 * 3 - 7) // 2 + 1,
     "That is the size after the 7x7 convolution; the max-pool (3x3, stride 2, padding 1) halves it again."),
    (lambda n: n // 4, "size // 4 is right only for sizes divisible by 4: apply the output-size formula "
                       "floor((n + 2p - k) / s) + 1 twice, once per layer."),
    (lambda n: _stem_formula(n, pool_padding=0), "The max-pool has padding 1 as well: floor((n + 2 * 1 - 3) / 2) + 1."),
    (lambda n: _stem_formula(n, conv_padding=0), "The 7x7 convolution has padding 3: floor((n + 2 * 3 - 7) / 2) + 1."),
    (lambda n: _stem_formula(n, conv_padding=0, pool_padding=0),
     "You left out both paddings: the convolution pads by 3 and the max-pool by 1 (the 2p in "
     "floor((n + 2p - k) / s) + 1)."),
]


def _stem_output(size: int) -> int:
    """Height after the ImageNet stem (7x7 stride-2 conv, 3x3 stride-2 max-pool) of helpers.models."""
    model = ResNet(BasicBlock, [1], num_classes=2, stem="imagenet", width=2)
    with torch.no_grad():
        out = model.maxpool(model.conv1(torch.zeros(1, 3, size, size)))
    return out.shape[-1]


@exercise_check("stem_output_size")
def check_stem_output_size(stem_output_size) -> None:
    sizes = [224, 32, 33, 31, 64, 7, 2, 1, 100, 225]

    def answer(size: int):
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
        hint = next((f" {say}" for mistake, say in _STEM_MISTAKES if all(answer(n) == mistake(n) for n in sizes)), "")
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


def _one_cycle(step: int, total: int, peak: float, warmup_steps: int) -> float:
    if step < warmup_steps:
        return peak * (0.1 + 0.9 * step / warmup_steps)
    return peak * (total - step) / (total - warmup_steps)


@exercise_check("one_cycle_lr")
def check_one_cycle_lr(one_cycle_lr) -> None:
    # warm-up lengths 15, 6, 3, 0, 4, 90 and 6 steps (none at .5, where rounding conventions differ; 38 * 0.15
    # = 5.7 separates round(), 6, from int(), which truncates to 5)
    cases = [(100, 0.2, 0.15), (40, 0.4, 0.15), (12, 1.0, 0.25), (50, 0.1, 0.0), (8, 0.2, 0.5), (300, 0.2, 0.3),
             (38, 0.3, 0.15)]
    for total, peak, warmup in cases:
        expected = _reference_lrs(total, peak, warmup)
        for step in sorted({0, 1, total // 2, total - 1, round(total * warmup), round(total * warmup) - 1,
                            round(total * warmup) + 1} & set(range(total))):
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
    passed("one_cycle_lr", f"equal to helpers.train's optimiser at the key steps of {len(cases)} schedules")
