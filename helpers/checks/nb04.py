"""Checks for the exercises of 04_batch_norm.

Each check runs the learner's function on several inputs (4-D and 2-D, batches of 1 and 2, odd
sizes, a small eps and a large one) and compares it with ``torch.nn.functional.batch_norm`` or
``nn.BatchNorm2d``/``nn.BatchNorm1d``. When the answer is wrong in a way learners often get wrong
(the unbiased variance, the wrong axes, batch statistics in eval mode...) the message names it.
"""
from __future__ import annotations

import math
import sys

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from helpers.checks import CheckFailed, close, exercise_check, expect_tensor, fail, passed, refusing


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


def _normalise(x: Tensor, dims: tuple[int, ...], gamma: Tensor, beta: Tensor, eps: float, unbiased: bool = False,
               sqrt: bool = True) -> Tensor:
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, unbiased=unbiased)
    denom = (var + eps).sqrt() if sqrt else var + eps
    return (x - mean) / denom * gamma.view(_shape(len(gamma), x)) + beta.view(_shape(len(beta), x))


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


def _diagnose_train(got: Tensor, x: Tensor, gamma: Tensor, beta: Tensor, eps: float) -> None:
    """Name the usual mistakes in a batch-norm training-mode forward pass, if one fits."""
    dims = _channel_dims(x)
    ones, zeros = torch.ones_like(gamma), torch.zeros_like(beta)
    if x.numel() // x.shape[1] > 1 and close(got, _normalise(x, dims, gamma, beta, eps, unbiased=True)):
        fail("your output uses the unbiased variance (dividing by n - 1). Batch norm normalises with the "
             "biased variance (divide by n, `unbiased=False`); the unbiased one is used only for the running "
             "estimate.")
    if x.ndim > 2 and close(got, _normalise(x, (0,), gamma, beta, eps)):
        fail("you normalised over the batch axis only, separately at every pixel. Batch norm for images "
             "computes one mean and one variance per channel, over the batch AND the height and width: "
             "dims (0, 2, 3).")
    per_sample = tuple(range(1, x.ndim))
    if x.shape[0] > 1 and close(got, _normalise(x, per_sample, gamma, beta, eps)):
        fail("you normalised each image separately (over channels and pixels: that is layer norm). Batch norm "
             "computes one mean and one variance per channel, over the batch: dims (0, 2, 3) for images, "
             "dim 0 for (N, C) inputs.")
    if close(got, _normalise(x, dims, gamma, beta, 0.0)):
        fail("you forgot eps: divide by sqrt(var + eps), not sqrt(var).")
    if close(got, _normalise(x, dims, gamma, beta, eps, sqrt=False)):
        fail("you divided by (var + eps) itself; divide by its square root, the standard deviation.")
    if close(got, _normalise(x, dims, ones, zeros, eps)):
        fail("the normalisation is right but gamma and beta are missing: return gamma * x_hat + beta "
             "(reshaped to (1, C, 1, 1) so they apply per channel).")


@exercise_check("batch_norm_train")
def check_batch_norm_train(batch_norm_train) -> None:
    cases = _cases(0)
    for x, gamma, beta, eps in cases:
        x_before = x.clone()
        got = _call(batch_norm_train, x, (x, gamma, beta, eps), from_scratch="batch_norm_train")
        if not torch.equal(x, x_before):
            fail("batch_norm_train changed its input x in place; compute a new tensor instead.")
        expected = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
        if isinstance(got, Tensor) and got.shape == expected.shape and not close(got, expected):
            _diagnose_train(got, x, gamma, beta, eps)
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
            result = _call(update_running_stats, x, (running_mean.clone(), running_var.clone(), x.clone(), momentum))
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
            running_mean, running_var = new_mean.detach().double(), new_var.detach().double()
    passed("update_running_stats", "running mean and variance equal to nn.BatchNorm2d/1d's over several steps, "
                                   "4-D and 2-D inputs, 4 momenta")


@exercise_check("batch_norm_eval")
def check_batch_norm_eval(batch_norm_eval) -> None:
    g = torch.Generator().manual_seed(2)
    for shape, eps in (((8, 3, 5, 7), 1e-5), ((1, 4, 3, 3), 1e-5), ((5, 6), 1e-5), ((4, 3, 2, 2), 0.5)):
        c = shape[1]
        # The batch is deliberately far from the running statistics, so using the batch's own
        # mean and variance gives a visibly different answer.
        x = torch.randn(shape, generator=g) * 3 + 1.5
        running_mean = torch.randn(c, generator=g)
        running_var = torch.rand(c, generator=g) + 0.3
        gamma, beta = torch.rand(c, generator=g) + 0.5, torch.randn(c, generator=g)
        args = [t.clone() for t in (x, running_mean, running_var, gamma, beta)]
        got = _call(batch_norm_eval, x, (*args, eps), from_scratch="batch_norm_eval")
        if not (torch.equal(args[1], running_mean) and torch.equal(args[2], running_var)):
            fail("batch_norm_eval changed the running statistics; in eval mode they are only read, never updated.")
        expected = F.batch_norm(x, running_mean, running_var, gamma, beta, training=False, eps=eps)
        if isinstance(got, Tensor) and got.shape == expected.shape and not close(got, expected):
            for unbiased in (False, True):
                if x.numel() // c > 1 and close(got, _normalise(x, _channel_dims(x), gamma, beta, eps, unbiased)):
                    fail(f"on an input of shape {shape} your output is normalised with the batch's own mean and "
                         "variance. In eval mode batch norm uses the running statistics collected during training, "
                         "so that an image's output does not depend on the other images in its batch.")
            view = _shape(c, x)
            centred = x - running_mean.view(view)
            if close(got, centred / running_var.view(view).sqrt() * gamma.view(view) + beta.view(view)):
                fail("you forgot eps: divide by sqrt(running_var + eps).")
            if close(got, centred / (running_var.view(view) + eps) * gamma.view(view) + beta.view(view)):
                fail("you divided by running_var + eps itself; divide by its square root, the standard deviation.")
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


def expected_residual_std(depth: int, gain: float, branch_scale: float, batch_norm: bool, convs: int = 2) -> float:
    """The reference: the std of a unit-variance input after ``depth`` pre-activation residual blocks whose
    branch has ``convs`` convolutions (each after a relu, with batch norm before it if ``batch_norm``)."""
    if batch_norm:
        return math.sqrt(1 + depth * branch_scale**2 * gain**2)
    return (1 + branch_scale**2 * gain ** (2 * convs)) ** (depth / 2)


def _hint(value: float, depth: int, gain: float, scale: float, batch_norm: bool, convs: int) -> str:
    """The most likely cause of a wrong prediction, from the slips learners make ('' if none fits)."""
    def near(other: float) -> bool:
        return math.isclose(value, other, rel_tol=1e-6)

    if near(expected_residual_std(depth, gain, scale, not batch_norm, convs)):
        return (f"That is the answer for batch_norm={not batch_norm}: without normalisation the variance is "
                "MULTIPLIED by the same factor in every block; with BN in the branch a fixed amount is ADDED per block.")
    if near(expected_residual_std(depth, gain, scale, batch_norm, convs) ** 2):
        return "You returned the variance; the question asks for the standard deviation (its square root)."
    if not batch_norm and convs != 2 and near(expected_residual_std(depth, gain, scale, False, 2)):
        return (f"That is the answer for a branch of two convolutions, but this one has convs={convs}: each "
                "convolution after a relu multiplies the variance by gain**2, so the branch's variance is "
                "gain**(2 * convs) times its input's.")
    if not batch_norm and near((1 + scale**2 * gain**2) ** (depth / 2)):
        return (f"The branch has convs={convs} convolutions, each multiplying the variance by gain**2, so an "
                "unnormalised branch has variance gain**(2 * convs) times its input's.")
    if batch_norm and convs != 1 and near(math.sqrt(1 + depth * scale**2 * gain ** (2 * convs))):
        return ("With batch norm before every relu, each convolution's input is normalised again: only the LAST "
                "convolution's gain reaches the branch's output, whatever the number of convolutions.")
    if batch_norm and near(math.sqrt(1 + depth * scale**2)):
        return ("Batch norm normalises what goes INTO the last convolution, but that convolution's weights still "
                "carry the gain: the branch's output has variance gain**2 (times branch_scale**2).")
    unsquared = math.sqrt(1 + depth * scale * gain**2) if batch_norm else (1 + scale * gain ** (2 * convs)) ** (depth / 2)
    if near(unsquared):
        return "The branch is multiplied by branch_scale, so its VARIANCE is multiplied by branch_scale**2."
    return ""


@exercise_check("predict_residual_std")
def check_predict_residual_std(predict_residual_std) -> None:
    cases = [(1, 1.0, 1.0, 2), (10, 1.0, 1.0, 2), (20, 1.0, 0.5, 2), (8, 1.5, 0.3, 2), (30, 0.7, 1.2, 2),
             (5, 2.0, 0.0, 2), (12, 1.2, 0.5, 3), (6, 0.8, 1.0, 1), (9, 1.1, 0.7, 4)]
    for batch_norm in (False, True):
        for depth, gain, scale, convs in cases:
            with refusing({sys.modules[__name__]: ["expected_residual_std", "measured_residual_std"]},
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


@exercise_check("fold_batch_norm")
def check_fold_batch_norm(fold_batch_norm) -> None:
    g = torch.Generator().manual_seed(3)
    for c_in, c_out, k, eps in ((3, 4, 3, 1e-5), (5, 2, 1, 1e-5), (2, 3, 3, 0.5)):
        conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
        bn = nn.BatchNorm2d(c_out, eps=eps)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g))
            bn.running_mean.copy_(torch.randn(c_out, generator=g))
            bn.running_var.copy_(torch.rand(c_out, generator=g) + 0.2)
            bn.weight.copy_(torch.rand(c_out, generator=g) + 0.5)
            bn.bias.copy_(torch.randn(c_out, generator=g))
        bn.eval()
        result = fold_batch_norm(conv.weight.detach().clone(), bn.running_mean.clone(), bn.running_var.clone(),
                                 bn.weight.detach().clone(), bn.bias.detach().clone(), eps)
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            fail(f"fold_batch_norm should return a pair (weight, bias), got {type(result).__name__}.")
        weight, bias = result
        x = torch.randn(2, c_in, 6, 5, generator=g)
        with torch.no_grad():
            expected = bn(conv(x))
        std = (bn.running_var + eps).sqrt()
        expected_w = conv.weight.detach() * (bn.weight.detach() / std).view(-1, 1, 1, 1)
        expected_b = bn.bias.detach() - bn.weight.detach() * bn.running_mean / std
        if not (isinstance(weight, Tensor) and isinstance(bias, Tensor)):
            fail(f"fold_batch_norm should return two tensors (weight, bias), got {type(weight).__name__} and "
                 f"{type(bias).__name__}.")
        right = (weight.shape == expected_w.shape and bias.shape == expected_b.shape and close(weight, expected_w)
                 and close(bias, expected_b))
        if right:
            with torch.no_grad():
                right = close(F.conv2d(x, weight, bias, padding=k // 2), expected)
        if not right and weight.shape == expected_w.shape and bias.shape == expected_b.shape:
            no_eps = bn.weight.detach() / bn.running_var.sqrt()
            if close(weight, conv.weight.detach() * no_eps.view(-1, 1, 1, 1)) and close(
                    bias, bn.bias.detach() - no_eps * bn.running_mean):
                fail("you forgot eps: the scale is gamma / sqrt(running_var + eps).")
            if close(weight, expected_w) and close(bias, bn.bias.detach() - bn.running_mean / std):
                fail("the bias forgets to scale the running mean by gamma: bias = beta - gamma * mean / sqrt(var + eps).")
            if close(weight, expected_w) and close(bias, bn.bias.detach()):
                fail("the bias must also absorb the running mean: bias = beta - gamma * mean / sqrt(var + eps).")
        expect_tensor(weight, expected_w, f"folded weight ({c_out} output channels, {k}x{k} kernel)")
        expect_tensor(bias, expected_b, f"folded bias ({c_out} output channels)")
        with torch.no_grad():
            folded = F.conv2d(x, weight, bias, padding=k // 2)
        expect_tensor(folded, expected, "conv with the folded weight and bias, compared with conv then eval-mode BN")
    passed("fold_batch_norm", "one convolution gives the output of conv + eval-mode batch norm, 3 layer shapes")
