"""Checks for the exercises of 04_batch_norm.

Each check runs the learner's function on several inputs (4-D and 2-D, batches of 1 and 2, odd
sizes, a small eps and a large one) and compares it with ``torch.nn.functional.batch_norm`` or
``nn.BatchNorm2d``/``nn.BatchNorm1d``. When the answer is wrong in a way learners often get wrong
(the unbiased variance, the wrong axes, batch statistics in eval mode...) the message names it.
"""
from __future__ import annotations

import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from helpers import variance
from helpers.checks import (
    CheckFailed,
    close,
    exercise_check,
    expect_tensor,
    fail,
    passed,
    precomputed,
    refusing,
)


def _channel_dims(x: Tensor) -> tuple[int, ...]:
    return (0,) + tuple(range(2, x.ndim))


def _shape(c: int, x: Tensor) -> tuple[int, ...]:
    return (1, c) + (1,) * (x.ndim - 2)


def _cases(seed: int) -> list[tuple[Tensor, Tensor, Tensor, float]]:
    """(x, gamma, beta, eps): 4-D and 2-D inputs whose channels have their own mean and scale."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    for shape, eps in (((8, 3, 5, 7), 1e-5), ((2, 4, 1, 1), 1e-5), ((6, 5), 1e-5), ((1, 2, 3, 3), 1e-5),
                       ((4, 3, 2, 2), 0.5)):
        c = shape[1]
        scale = torch.rand((1, c) + (1,) * (len(shape) - 2), generator=g) * 3 + 0.2
        shift = torch.randn((1, c) + (1,) * (len(shape) - 2), generator=g) * 2
        x = torch.randn(shape, generator=g) * scale + shift
        gamma = torch.rand(c, generator=g) + 0.5
        beta = torch.randn(c, generator=g)
        cases.append((x, gamma, beta, eps))
    return cases


_TRAIN_WHY = [  # what _train_mistaken's variants are, in its order
    "your output uses the unbiased variance (dividing by n - 1). Batch norm normalises with the "
    "biased variance (divide by n, `unbiased=False`); the unbiased one is used only for the running estimate.",
    "you normalised over the batch axis only, separately at every pixel. Batch norm for images computes one mean "
    "and one variance per channel, over the batch AND the height and width: dims (0, 2, 3).",
    "you normalised each image separately (over channels and pixels: that is layer norm). Batch norm computes one "
    "mean and one variance per channel, over the batch: dims (0, 2, 3) for images, dim 0 for (N, C) inputs.",
    "you forgot eps: divide by sqrt(var + eps), not sqrt(var).",
    "you divided by (var + eps) itself; divide by its square root, the standard deviation.",
    "the normalisation is right but gamma and beta are missing: return gamma * x_hat + beta (reshaped to "
    "(1, C, 1, 1) so they apply per channel).",
]


@precomputed(lambda: [(k,) for k in range(len(_cases(0)))])
def _train_mistaken(case: int) -> list[Tensor | None]:
    """What each mistake of _TRAIN_WHY gives on case ``case`` of _cases(0) (None where it cannot show)."""
    x, gamma, beta, eps = _cases(0)[case]
    dims = _channel_dims(x)

    def normalise(dims, gamma=gamma, beta=beta, eps=eps, unbiased=False, sqrt=True):
        mean = x.mean(dims, keepdim=True)
        var = x.var(dims, keepdim=True, unbiased=unbiased)
        denom = (var + eps).sqrt() if sqrt else var + eps
        return (x - mean) / denom * gamma.view(_shape(len(gamma), x)) + beta.view(_shape(len(beta), x))

    return [normalise(dims, unbiased=True) if x.numel() // x.shape[1] > 1 else None,
            normalise((0,)) if x.ndim > 2 else None,
            normalise(tuple(range(1, x.ndim))) if x.shape[0] > 1 else None,
            normalise(dims, eps=0.0), normalise(dims, sqrt=False),
            normalise(dims, gamma=torch.ones_like(gamma), beta=torch.zeros_like(beta))]


def _call(function, x: Tensor, args: tuple, from_scratch: str = "") -> object:
    """Call the learner's function; a crash names the input's shape (and the 2-D case's axes).

    With ``from_scratch`` (the exercise's name), PyTorch's batch norm (``F.batch_norm``, which the
    ``nn.BatchNorm`` layers call too) refuses to run while the function does.
    """
    try:
        if not from_scratch:
            return function(*args)
        with refusing({F: ["batch_norm"], torch: ["batch_norm"]}, function, exercise=from_scratch,
                      hint="F.batch_norm is what the nn.BatchNorm layers call too; the point is to write it "
                           "from scratch, with mean, var and sqrt."):
            return function(*args)
    except (NotImplementedError, CheckFailed):
        raise
    except Exception as error:
        hint = (" It is a 2-D (N, C) input, as nn.BatchNorm1d takes: the statistics are over dim 0 only."
                if x.ndim == 2 else "")
        fail(f"on an input of shape {tuple(x.shape)} your code raised {type(error).__name__}: {error}.{hint}")


@exercise_check("batch_norm_train")
def check_batch_norm_train(batch_norm_train) -> None:
    cases = _cases(0)
    for k, (x, gamma, beta, eps) in enumerate(cases):
        x_before = x.clone()
        got = _call(batch_norm_train, x, (x, gamma, beta, eps), from_scratch="batch_norm_train")
        if not torch.equal(x, x_before):
            fail("batch_norm_train changed its input x in place; compute a new tensor instead.")
        expected = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
        if isinstance(got, Tensor) and got.shape == expected.shape and not close(got, expected):
            for variant, why in zip(_train_mistaken(k), _TRAIN_WHY, strict=True):
                if variant is not None and close(got, variant):
                    fail(why)
        expect_tensor(got, expected, f"batch_norm_train on an input of shape {tuple(x.shape)} (eps={eps}) "
                                     "compared with F.batch_norm(training=True)")
    passed("batch_norm_train", f"equal to F.batch_norm in training mode on {len(cases)} inputs, "
                               "4-D and 2-D, batches of 1 and 2, eps 1e-5 and 0.5")


@exercise_check("update_running_stats")
def check_update_running_stats(update_running_stats) -> None:
    g = torch.Generator().manual_seed(1)
    for shape, momentum, steps in (((8, 3, 4, 5), 0.1, 4), ((2, 4, 1, 1), 0.3, 3), ((5, 6), 0.1, 3),
                                   ((3, 2, 3, 3), 0.9, 2)):
        c = shape[1]
        reference = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(c, momentum=momentum).double()
        running_mean = torch.zeros(c, dtype=torch.float64)
        running_var = torch.ones(c, dtype=torch.float64)
        for step in range(1, steps + 1):
            scale = torch.rand((1, c) + (1,) * (len(shape) - 2), generator=g, dtype=torch.float64) * 3 + 0.2
            x = torch.randn(shape, generator=g, dtype=torch.float64) * scale + 2 * step
            reference(x)
            given = (running_mean.clone(), running_var.clone())
            # the last batch requires grad, as a batch inside a network does: the statistics must not carry it
            batch = x.clone().requires_grad_(step == steps)
            result = _call(update_running_stats, x, (*given, batch, momentum), from_scratch="update_running_stats")
            if not (torch.equal(given[0], running_mean) and torch.equal(given[1], running_var)):
                fail("update_running_stats changed the running_mean or running_var it was given in place; return "
                     "new tensors (the caller decides whether to keep them), as the exercise asks.")
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                fail(f"update_running_stats should return a pair (new_running_mean, new_running_var), got "
                     f"{type(result).__name__}.")
            new_mean, new_var = result
            what = f"on an input of shape {shape} with momentum={momentum}, step {step}"
            dims = _channel_dims(x)
            batch_mean, biased = x.mean(dims), x.var(dims, unbiased=False)
            if isinstance(new_var, Tensor) and new_var.shape == (c,) and torch.allclose(
                    new_var.double(), (1 - momentum) * running_var + momentum * biased) and not torch.allclose(
                    biased, x.var(dims)):
                fail(f"{what}: the running variance was updated with the biased batch variance (divide by n). "
                     "PyTorch's running estimate uses the unbiased variance (divide by n - 1), because it "
                     "estimates the variance of the whole data set from a sample.")
            if isinstance(new_mean, Tensor) and new_mean.shape == (c,) and torch.allclose(
                    new_mean.double(), batch_mean) and momentum < 1:
                fail(f"{what}: you returned the batch's own mean. The running estimate mixes it into the old one: "
                     "running = (1 - momentum) * running + momentum * batch.")
            if isinstance(new_mean, Tensor) and new_mean.shape == (c,) and torch.allclose(
                    new_mean.double(), momentum * running_mean + (1 - momentum) * batch_mean):
                fail(f"{what}: the weights are swapped. PyTorch's momentum is the weight of the NEW batch: "
                     "running = (1 - momentum) * running + momentum * batch.")
            expect_tensor(new_mean, reference.running_mean, f"new running mean {what}, compared with nn.BatchNorm")
            expect_tensor(new_var, reference.running_var, f"new running variance {what}, compared with nn.BatchNorm")
            if new_mean.requires_grad or new_var.requires_grad:
                fail(f"{what}, x requires grad, and the running statistics you returned carry a gradient: a buffer "
                     "kept from them would hold on to the whole graph of the batch. nn.BatchNorm updates its running "
                     "statistics outside autograd; detach x (x.detach()) before computing them.")
            running_mean, running_var = new_mean.detach().double(), new_var.detach().double()
    passed("update_running_stats", "running mean and variance equal to nn.BatchNorm2d/1d's over several steps, "
                                   "4-D and 2-D inputs, 4 momenta")


def _eval_cases() -> tuple[list[tuple[Tensor, Tensor, Tensor, Tensor, Tensor, float]], torch.Generator]:
    """(x, running_mean, running_var, gamma, beta, eps) of each case, and the generator, to draw on from."""
    g = torch.Generator().manual_seed(2)
    cases = []
    for shape, eps in (((8, 3, 5, 7), 1e-5), ((1, 4, 3, 3), 1e-5), ((5, 6), 1e-5), ((4, 3, 2, 2), 0.5)):
        c = shape[1]
        # The batch is deliberately far from the running statistics, so using the batch's own
        # mean and variance gives a visibly different answer.
        x = torch.randn(shape, generator=g) * 3 + 1.5
        running_mean = torch.randn(c, generator=g)
        running_var = torch.rand(c, generator=g) + 0.3
        gamma, beta = torch.rand(c, generator=g) + 0.5, torch.randn(c, generator=g)
        cases.append((x, running_mean, running_var, gamma, beta, eps))
    return cases, g


_EVAL_WHY = [
    "your output is normalised with the batch's own mean and variance. In eval mode batch norm uses the running "
    "statistics collected during training, so that an image's output does not depend on the other images in its "
    "batch.",
    "your output is normalised with the batch's own mean and variance. In eval mode batch norm uses the running "
    "statistics collected during training, so that an image's output does not depend on the other images in its "
    "batch.",
    "you forgot eps: divide by sqrt(running_var + eps).",
    "you divided by running_var + eps itself; divide by its square root, the standard deviation.",
]


@precomputed(lambda: [(k,) for k in range(len(_eval_cases()[0]))])
def _eval_mistaken(case: int) -> list[Tensor | None]:
    """What each mistake of _EVAL_WHY gives on case ``case`` of _eval_cases (None where it cannot show)."""
    x, running_mean, running_var, gamma, beta, eps = _eval_cases()[0][case]
    view = _shape(len(gamma), x)
    dims = _channel_dims(x)
    batch = [(x - x.mean(dims, keepdim=True)) / (x.var(dims, keepdim=True, unbiased=unbiased) + eps).sqrt()
             * gamma.view(view) + beta.view(view) if x.numel() // x.shape[1] > 1 else None
             for unbiased in (False, True)]
    centred = x - running_mean.view(view)
    return batch + [centred / running_var.view(view).sqrt() * gamma.view(view) + beta.view(view),
                    centred / (running_var.view(view) + eps) * gamma.view(view) + beta.view(view)]


@exercise_check("batch_norm_eval")
def check_batch_norm_eval(batch_norm_eval) -> None:
    cases, g = _eval_cases()
    for k, (x, running_mean, running_var, gamma, beta, eps) in enumerate(cases):
        shape = tuple(x.shape)
        args = [t.clone() for t in (x, running_mean, running_var, gamma, beta)]
        got = _call(batch_norm_eval, x, (*args, eps), from_scratch="batch_norm_eval")
        if not (torch.equal(args[1], running_mean) and torch.equal(args[2], running_var)):
            fail("batch_norm_eval changed the running statistics; in eval mode they are only read, never updated.")
        expected = F.batch_norm(x, running_mean, running_var, gamma, beta, training=False, eps=eps)
        if isinstance(got, Tensor) and got.shape == expected.shape and not close(got, expected):
            for variant, why in zip(_eval_mistaken(k), _EVAL_WHY, strict=True):
                if variant is not None and close(got, variant):
                    fail(f"on an input of shape {shape}: {why}")
        expect_tensor(got, expected, f"batch_norm_eval on an input of shape {shape} (eps={eps}), compared with "
                                     "F.batch_norm(training=False)")
    # One image alone gives the same output as inside its batch: no batch statistics.
    x = torch.randn(6, 3, 4, 4, generator=g)
    stats = (torch.randn(3, generator=g), torch.rand(3, generator=g) + 0.5, torch.ones(3), torch.zeros(3))
    alone = batch_norm_eval(x[:1].clone(), *stats, 1e-5)
    in_batch = batch_norm_eval(x.clone(), *stats, 1e-5)[:1]
    expect_tensor(alone, in_batch, "one image alone compared with the same image inside a batch of 6")
    passed("batch_norm_eval", "equal to F.batch_norm in eval mode on 4 inputs, including a batch of 1; an "
                              "image's output does not depend on its batch")


# (depth, gain, branch_scale, convs), each with and without batch norm
_RESIDUAL_CASES = [(1, 1.0, 1.0, 2), (10, 1.0, 1.0, 2), (20, 1.0, 0.5, 2), (8, 1.5, 0.3, 2), (30, 0.7, 1.2, 2),
                   (5, 2.0, 0.0, 2), (12, 1.2, 0.5, 3), (6, 0.8, 1.0, 1), (9, 1.1, 0.7, 4)]


def _residual_cases() -> list[tuple[int, float, float, bool, int]]:
    return [(d, g, s, bn, c) for bn in (False, True) for d, g, s, c in _RESIDUAL_CASES]


@precomputed(_residual_cases)
def expected_residual_std(depth: int, gain: float, branch_scale: float, batch_norm: bool, convs: int = 2) -> float:
    """The reference: the std of a unit-variance input after ``depth`` pre-activation residual blocks whose
    branch has ``convs`` convolutions (each after a relu, with batch norm before it if ``batch_norm``)."""
    if batch_norm:
        return math.sqrt(1 + depth * branch_scale**2 * gain**2)
    return (1 + branch_scale**2 * gain ** (2 * convs)) ** (depth / 2)


@precomputed(_residual_cases)
def _residual_std_mistaken(depth: int, gain: float, scale: float, batch_norm: bool, convs: int) -> list[float | None]:
    """What each slip of _hint predicts, in its order (None where it does not apply)."""
    def law(batch_norm: bool, convs: int) -> float:
        return math.sqrt(1 + depth * scale**2 * gain**2) if batch_norm else (1 + scale**2 * gain ** (2 * convs)) ** (
            depth / 2)

    unsquared = math.sqrt(1 + depth * scale * gain**2) if batch_norm else (1 + scale * gain ** (2 * convs)) ** (
        depth / 2)
    return [law(not batch_norm, convs), law(batch_norm, convs) ** 2,
            law(False, 2) if not batch_norm and convs != 2 else None,
            (1 + scale**2 * gain**2) ** (depth / 2) if not batch_norm else None,
            math.sqrt(1 + depth * scale**2 * gain ** (2 * convs)) if batch_norm and convs != 1 else None,
            math.sqrt(1 + depth * scale**2) if batch_norm else None, unsquared]


def _hint(value: float, depth: int, gain: float, scale: float, batch_norm: bool, convs: int) -> str:
    """The most likely cause of a wrong prediction, from the slips learners make ('' if none fits)."""
    why = [
        f"That is the answer for batch_norm={not batch_norm}: without normalisation the variance is MULTIPLIED by "
        "the same factor in every block; with BN in the branch a fixed amount is ADDED per block.",
        "You returned the variance; the question asks for the standard deviation (its square root).",
        f"That is the answer for a branch of two convolutions, but this one has convs={convs}: each convolution "
        "after a relu multiplies the variance by gain**2, so the branch's variance is gain**(2 * convs) times its "
        "input's.",
        f"The branch has convs={convs} convolutions, each multiplying the variance by gain**2, so an unnormalised "
        "branch has variance gain**(2 * convs) times its input's.",
        "With batch norm before every relu, each convolution's input is normalised again: only the LAST "
        "convolution's gain reaches the branch's output, whatever the number of convolutions.",
        "Batch norm normalises what goes INTO the last convolution, but that convolution's weights still carry the "
        "gain: the branch's output has variance gain**2 (times branch_scale**2).",
        "The branch is multiplied by branch_scale, so its VARIANCE is multiplied by branch_scale**2.",
    ]
    mistaken = _residual_std_mistaken(depth, gain, scale, batch_norm, convs)
    return next((say for other, say in zip(mistaken, why, strict=True)
                 if other is not None and math.isclose(value, other, rel_tol=1e-6)), "")


@exercise_check("predict_residual_std")
def check_predict_residual_std(predict_residual_std) -> None:
    cases = _RESIDUAL_CASES
    for batch_norm in (False, True):
        for depth, gain, scale, convs in cases:
            with refusing({sys.modules[__name__]: ["expected_residual_std", "measured_residual_std"],
                           variance: ["predicted_std", "measure_stack"]},
                          predict_residual_std, exercise="predict_residual_std",
                          hint="Derive the law of one block, then compound it over depth blocks."):
                got = predict_residual_std(depth, gain, scale, batch_norm, convs)
            expected = expected_residual_std(depth, gain, scale, batch_norm, convs)
            try:
                value = float(got)
            except (TypeError, ValueError):
                fail(f"predict_residual_std should return a number, got {got!r}.")
            if math.isclose(value, expected, rel_tol=1e-6):
                continue
            hint = _hint(value, depth, gain, scale, batch_norm, convs)
            fail(f"depth={depth}, gain={gain}, branch_scale={scale}, batch_norm={batch_norm}, convs={convs}: expected "
                 f"{expected:.4g}, got {value:.4g}." + (f" {hint}" if hint else ""))
    passed("predict_residual_std", f"{2 * len(cases)} settings, with and without batch norm in the branch, "
                                   "branches of 1 to 4 convolutions")
    _compare_with_measurement(predict_residual_std)


def measured_residual_std(depth: int, gain: float, branch_scale: float, batch_norm: bool, convs: int,
                          seed: int = 0, width: int = 16, size: int = 8, batch: int = 32) -> float:
    """The std after ``depth`` blocks x + b F(x), measured on random inputs, relative to the input's: F is
    ``convs`` times (batch norm in training mode if asked, relu, 3x3 convolution with He init times
    ``gain``), with circular padding as in notebook 04's stack."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, width, size, size, generator=g)
    input_std, weight_std = x.std().item(), gain * math.sqrt(2 / (width * 9))
    for _ in range(depth):
        h = x
        for _ in range(convs):
            h = torch.relu(F.batch_norm(h, None, None, training=True) if batch_norm else h)
            weight = torch.randn(width, width, 3, 3, generator=g) * weight_std
            h = F.conv2d(F.pad(h, (1, 1, 1, 1), mode="circular"), weight)
        x = x + branch_scale * h
    return x.std().item() / input_std


def _compare_with_measurement(predict_residual_std, depth: int = 30, seeds: int = 3) -> None:
    """Print the learner's prediction next to the std measured on such stacks."""
    print(f"Now measured: {depth} blocks of 16 channels, {seeds} random weight draws each")
    for batch_norm in (False, True):
        for gain, scale, convs in ((1.0, 1.0, 2), (1.5, 0.5, 2), (1.2, 0.5, 3)):
            with torch.no_grad():
                measured = [measured_residual_std(depth, gain, scale, batch_norm, convs, seed=s) for s in range(seeds)]
            print(f"  batch norm {str(batch_norm):5}  gain {gain:3}  branch scale {scale:3}  convs {convs}:  your "
                  f"prediction {float(predict_residual_std(depth, gain, scale, batch_norm, convs)):9.3g}   measured "
                  f"{min(measured):9.3g} .. {max(measured):.3g}")


def _fold_cases() -> list[tuple[nn.Conv2d, nn.BatchNorm2d, Tensor, int, float]]:
    """(conv, bn in eval mode, x, k, eps): three layer shapes with random weights and statistics."""
    g = torch.Generator().manual_seed(3)
    cases = []
    for c_in, c_out, k, eps in ((3, 4, 3, 1e-5), (5, 2, 1, 1e-5), (2, 3, 3, 0.5)):
        conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
        bn = nn.BatchNorm2d(c_out, eps=eps)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g))
            bn.running_mean.copy_(torch.randn(c_out, generator=g))
            bn.running_var.copy_(torch.rand(c_out, generator=g) + 0.2)
            bn.weight.copy_(torch.rand(c_out, generator=g) + 0.5)
            bn.bias.copy_(torch.randn(c_out, generator=g))
        cases.append((conv, bn.eval(), torch.randn(2, c_in, 6, 5, generator=g), k, eps))
    return cases


@precomputed(lambda: [(k,) for k in range(len(_fold_cases()))])
def _fold_expected(case: int) -> tuple[Tensor, Tensor, list[tuple[Tensor, Tensor, str]]]:
    """The folded weight and bias of case ``case``, and (weight, bias, what to say) for each typical mistake."""
    conv, bn, _, _, eps = _fold_cases()[case]
    weight, gamma, beta, mean = conv.weight.detach(), bn.weight.detach(), bn.bias.detach(), bn.running_mean
    std = (bn.running_var + eps).sqrt()
    folded_w = weight * (gamma / std).view(-1, 1, 1, 1)
    no_eps = gamma / bn.running_var.sqrt()
    return folded_w, beta - gamma * mean / std, [
        (weight * no_eps.view(-1, 1, 1, 1), beta - no_eps * mean, "you forgot eps: the scale is gamma / "
                                                                  "sqrt(running_var + eps)"),
        (folded_w, beta - mean / std, "the bias forgets to scale the running mean by gamma: bias = beta - gamma * "
                                      "mean / sqrt(var + eps)"),
        (folded_w, beta - mean, "the bias subtracts the running mean unscaled: the mean goes through the same "
                                "per-channel scale gamma / sqrt(var + eps) as the weights, so bias = beta - scale * "
                                "running_mean"),
        (folded_w, beta - gamma * mean, "the bias scales the running mean by gamma but does not divide it by "
                                        "sqrt(var + eps): use the same scale as the weights, gamma / sqrt(var + eps)"),
        (folded_w, beta, "the bias must also absorb the running mean: bias = beta - gamma * mean / sqrt(var + eps)"),
    ]


@exercise_check("fold_batch_norm")
def check_fold_batch_norm(fold_batch_norm) -> None:
    cases = _fold_cases()
    for case, (conv, bn, x, k, eps) in enumerate(cases):
        c_out = conv.out_channels
        result = fold_batch_norm(conv.weight.detach().clone(), bn.running_mean.clone(), bn.running_var.clone(),
                                 bn.weight.detach().clone(), bn.bias.detach().clone(), eps)
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            fail(f"fold_batch_norm should return a pair (weight, bias), got {type(result).__name__}.")
        weight, bias = result
        with torch.no_grad():
            expected = bn(conv(x))
        expected_w, expected_b, mistakes = _fold_expected(case)
        if not (isinstance(weight, Tensor) and isinstance(bias, Tensor)):
            fail(f"fold_batch_norm should return two tensors (weight, bias), got {type(weight).__name__} and "
                 f"{type(bias).__name__}.")
        right = (weight.shape == expected_w.shape and bias.shape == expected_b.shape and close(weight, expected_w)
                 and close(bias, expected_b))
        if right:
            with torch.no_grad():
                right = close(F.conv2d(x, weight, bias, padding=k // 2), expected)
        if not right and weight.shape == expected_w.shape and bias.shape == expected_b.shape:
            for wrong_w, wrong_b, why in mistakes:
                if close(weight, wrong_w) and close(bias, wrong_b):
                    fail(f"{why}.")
        expect_tensor(weight, expected_w, f"folded weight ({c_out} output channels, {k}x{k} kernel)")
        expect_tensor(bias, expected_b, f"folded bias ({c_out} output channels)")
        with torch.no_grad():
            folded = F.conv2d(x, weight, bias, padding=k // 2)
        expect_tensor(folded, expected, "conv with the folded weight and bias, compared with conv then eval-mode BN")
    # fresh random layers each run: one convolution with the folded weight and bias equals conv then batch norm
    fresh = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
    c_in, c_out = (int(torch.randint(1, 6, (), generator=fresh)) for _ in range(2))
    conv, bn = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out).eval()
    with torch.no_grad():
        for tensor in (conv.weight, bn.running_mean, bn.weight, bn.bias):
            tensor.copy_(torch.randn(tensor.shape, generator=fresh))
        bn.running_var.copy_(torch.rand(c_out, generator=fresh) + 0.2)
        x = torch.randn(2, c_in, 5, 6, generator=fresh)
        weight, bias = fold_batch_norm(conv.weight.clone(), bn.running_mean.clone(), bn.running_var.clone(),
                                       bn.weight.clone(), bn.bias.clone(), bn.eps)
        expect_tensor(F.conv2d(x, weight, bias, padding=1), bn(conv(x)), f"on fresh random layers ({c_in} -> {c_out} "
                      "channels), conv with the folded weight and bias compared with conv then eval-mode BN",
                      rtol=1e-4, atol=1e-4)
    passed("fold_batch_norm", "one convolution gives the output of conv + eval-mode batch norm, 3 layer shapes and "
                              "fresh random layers")
