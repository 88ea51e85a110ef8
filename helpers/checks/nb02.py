"""Checks for the exercises of 02_shattered_gradients."""
from __future__ import annotations

import math
import re
import types

import numpy as np
import torch

from helpers import diagnostics, variance
from helpers.checks import close, exercise_check, expect_tensor, fail, passed, precomputed, refusing
from helpers.diagnostics import (
    ShatterMLP,
    activation_variances,
    calibrate_batch_norm,
    gradient_over_grid,
    input_grid,
    lag1_correlation,
    lag1_vs_depth,
)


@exercise_check("input_gradient")
def check_input_gradient(input_gradient) -> None:
    rng = torch.Generator().manual_seed(0)
    points = torch.rand(7, 1, generator=rng, dtype=torch.float64) * 4 - 2
    net = calibrate_batch_norm(ShatterMLP(5, 50, batch_norm=True, seed=3), input_grid(32))
    grid = input_grid(32)
    cases = [
        ("f(x) = sin(x)", torch.sin, points, torch.cos(points[:, 0])),
        ("f(x) = x^3", lambda t: t**3, points, 3 * points[:, 0] ** 2),
        ("a 5-layer ShatterMLP with batch norm", net, grid, gradient_over_grid(net, grid)),
    ]
    for what, f, inputs, expected in cases:
        calls = []

        def counted(t, f=f, calls=calls):
            calls.append(isinstance(t, torch.Tensor) and t.requires_grad)  # autograd's way: on the inputs themselves
            return f(t)

        before = inputs.clone()
        with refusing({torch.autograd.functional: ["jacobian"], torch.func: ["jacrev", "jacfwd"],
                       diagnostics: ["gradient_over_grid"]}, input_gradient, exercise="input_gradient",
                      hint="The whole Jacobian costs one backward pass per output; output i depends only on "
                           "input i, so one backward pass of the summed outputs gives every dy_i/dx_i at once."):
            got = input_gradient(counted, inputs)
        if isinstance(got, torch.Tensor) and got.shape == (len(inputs), 1):
            fail(f"input_gradient returned shape {tuple(got.shape)}; return one number per input, shape "
                 f"({len(inputs)},) (take column 0 of the gradient).")
        if isinstance(got, torch.Tensor) and not close(got, expected, rtol=1e-6, atol=1e-8):
            with torch.no_grad():
                outputs = f(inputs)[:, 0]
            if close(got, outputs):
                fail(f"input_gradient for {what} returned the outputs f(x) themselves, not their derivatives "
                     "dy_i/dx_i: differentiate the output with autograd.")
            if close(got, expected / len(inputs), rtol=1e-6, atol=1e-8):
                fail(f"input_gradient for {what}: every derivative is divided by {len(inputs)}, the number of "
                     "inputs: you differentiated the mean of the outputs. Differentiate their sum: output i "
                     "depends only on input i, so d(sum)/dx_i = dy_i/dx_i.")
            if close(got, expected, rtol=0.05, atol=0.05 * expected.abs().max().item()):
                fail(f"input_gradient for {what}: close to the derivative, but not exact (a finite difference "
                     "such as (f(x + h) - f(x)) / h?); autograd gives the exact derivative with one backward pass.")
        if calls and not any(calls):
            fail(f"input_gradient for {what} never called f on inputs that require grad, so autograd did not "
                 "differentiate it (a finite difference such as (f(x + h) - f(x - h)) / (2h) only approximates the "
                 "derivative, and costs extra forward passes). Call f once on "
                 "inputs.detach().clone().requires_grad_(True) and differentiate the sum of its outputs.")
        expect_tensor(got, expected, f"input_gradient for {what}", rtol=1e-6, atol=1e-8)
        if inputs.requires_grad or not torch.equal(inputs, before):
            fail("input_gradient changed the tensor it was given (it now requires grad or holds other values); "
                 "work on a copy: inputs.detach().clone().requires_grad_(True).")
        if len(calls) > 2:
            fail(f"input_gradient called f {len(calls)} times for {len(inputs)} inputs; one forward pass on the "
                 "whole batch and one backward pass of the summed output give every derivative at once.")
    passed("input_gradient", "sin, x^3 and a batch-norm net, by autograd, with at most two calls of f each")


def _reference_acf(g: np.ndarray, max_lag: int) -> np.ndarray:
    d = g - g.mean()
    return np.correlate(d, d, mode="full")[len(d) - 1:][: max_lag + 1] / (d @ d)


def _acf_without_mean(g: np.ndarray, max_lag: int) -> np.ndarray:
    return np.correlate(g, g, mode="full")[len(g) - 1:][: max_lag + 1] / (g @ g)


def _acf_per_lag(g: np.ndarray, max_lag: int) -> np.ndarray:
    """Pearson's correlation of the two overlapping copies at every lag (np.corrcoef style)."""
    return np.array([1.0] + [np.corrcoef(g[:-k], g[k:])[0, 1] for k in range(1, max_lag + 1)])


@exercise_check("my_autocorrelation")
def check_autocorrelation(my_autocorrelation) -> None:
    rng = np.random.default_rng(0)
    white = rng.standard_normal(50)
    cases = [
        ("a sine wave around 100 (large mean)", 100 + np.sin(np.arange(40) / 3), 10),
        ("white noise of length 50", white, 5),
        ("brown noise of length 256 (cumulative sum of white noise)", np.cumsum(rng.standard_normal(256)), 20),
        ("[1.0, 3.0] (length 2)", np.array([1.0, 3.0]), 1),
        ("white noise with max_lag=0", white, 0),
    ]
    for what, g, max_lag in cases:
        with refusing({diagnostics: ["autocorrelation", "lag1_correlation"], np: ["correlate", "convolve"]},
                      my_autocorrelation, exercise="my_autocorrelation",
                      hint="Write the sum over pairs yourself, as defined above."):
            try:
                got = my_autocorrelation(g.copy(), max_lag)
            except (ValueError, IndexError, RuntimeError) as error:
                if re.search(r"[(\[]0[,)\]]|from 0\)|\b0 \(dim", str(error)):  # an operand of length 0
                    fail(f"for {what}: your code raised {type(error).__name__}: {error}. An empty array appeared: "
                         "for lag k = 0, g[:-k] is g[:-0] = g[:0], which is empty. Slice the first n - k values "
                         "with g[:len(g) - k].")
                raise
        got = np.asarray(got, dtype=np.float64)
        expected = _reference_acf(g, max_lag)
        if got.shape != expected.shape:
            fail(f"for {what} with max_lag={max_lag} you returned {got.shape[0] if got.ndim else 'a scalar'} values; "
                 f"expected max_lag + 1 = {max_lag + 1} (r(0) to r(max_lag)).")
        if not np.allclose(got, expected, rtol=1e-7, atol=1e-9):
            k = int(np.argmax(np.abs(got - expected)))
            hint = ""
            if not np.isclose(got[0], 1.0):
                hint = " r(0) must be 1: divide every lag by the same sum of squares, sum (g_i - m)^2."
            elif np.allclose(got, _acf_without_mean(g, max_lag), rtol=1e-6, atol=1e-9):
                hint = " Subtract the mean of g before multiplying: this signal is far from zero on average."
            elif np.allclose(got, _acf_per_lag(g, max_lag), rtol=1e-6, atol=1e-9):
                hint = (" You normalised each lag by its own pairs, as np.corrcoef of the two shifted copies does; "
                        "the definition subtracts one mean and divides every lag by the same sum of squares over "
                        "the whole signal.")
            elif k > 0 and np.isclose(got[k], expected[k] * len(g) / (len(g) - k)):
                hint = " Divide every lag by the same sum of squares, not by the number of pairs at that lag."
            fail(f"for {what}, r({k}) should be {expected[k]:.5f} but you returned {got[k]:.5f}.{hint}")
    passed("my_autocorrelation", f"{len(cases)} signals, equal to np.correlate")


def _uncalibrated_lag1(depth: int, residual: bool, seeds: list[int]) -> float:
    """Mean r(1) of batch-norm nets put in eval mode without calibration (running mean 0, variance 1)."""
    grid = input_grid()
    return float(np.mean([lag1_correlation(gradient_over_grid(
        ShatterMLP(depth, residual=residual, batch_norm=True, seed=seed).eval(), grid)) for seed in seeds]))


@exercise_check("mean_lag1")
def check_mean_lag1(mean_lag1) -> None:
    cases = [(1, False, False, [0]), (6, False, True, [0, 1]), (6, True, True, [2]), (5, True, False, [0, 1])]
    refused = {diagnostics: ["lag1_vs_depth"]}
    own = getattr(mean_lag1, "__globals__", {}).get("grid_gradient")  # the notebook's cell that builds and measures
    if callable(own):
        notebook = types.ModuleType("notebook")
        notebook.grid_gradient = own
        refused[notebook] = ["grid_gradient"]
    for depth, residual, batch_norm, seeds in cases:
        with refusing(refused, mean_lag1, exercise="mean_lag1",
                      hint="lag1_vs_depth and the notebook's grid_gradient do the whole measurement; build each "
                           "seed's net and average r(1) yourself."):
            got = mean_lag1(depth, residual, batch_norm, list(seeds))
        per_seed = lag1_vs_depth([depth], seeds, residual=residual, batch_norm=batch_norm)[0]
        expected = float(per_seed.mean())
        try:
            value = float(got)
        except (TypeError, ValueError):
            fail(f"mean_lag1 should return one number (the mean r(1)), got {got!r}.")
        if math.isclose(value, 1.0):
            fail("mean_lag1 returned 1.0: that is r(0), which is always 1; r(1) is the next value.")
        if not math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9):
            hint = (" Build ShatterMLP(depth, residual=..., batch_norm=..., seed=seed) for every seed and average "
                    "r(1) over the seeds.")
            flipped = lag1_vs_depth([depth], seeds, residual=not residual, batch_norm=batch_norm).mean()
            if len(seeds) > 1 and any(math.isclose(value, r, rel_tol=1e-6) for r in per_seed):
                hint = f" That is r(1) of one seed's net; build a net for every seed in {seeds} and average r(1)."
            elif math.isclose(value, flipped, rel_tol=1e-6):
                hint = (f" That is the value of the {'plain' if residual else 'residual'} nets: pass "
                        f"residual={residual} on to ShatterMLP.")
            elif batch_norm and math.isclose(value, _uncalibrated_lag1(depth, residual, seeds), rel_tol=1e-6):
                hint = (" That is what the nets give in eval mode with batch norm's initial statistics: measure the "
                        "running statistics on the grid first (calibrate_batch_norm(model, x) does it and leaves "
                        "the model in eval mode).")
            fail(f"mean_lag1(depth={depth}, residual={residual}, batch_norm={batch_norm}, seeds={seeds}) "
                 f"returned {value:.4f}; measured with the helpers: {expected:.4f}.{hint}")
    passed("mean_lag1", "equal to the reference on 4 nets (plain/residual, with/without batch norm)")
    plain = mean_lag1(20, False, True, [0, 1, 2])
    residual = mean_lag1(20, True, True, [0, 1, 2])
    print(f"Your measurement at depth 20 (3 seeds): plain + batch norm r(1) = {plain:.2f}; "
          f"residual + batch norm r(1) = {residual:.2f}. How close was your guess?")


@exercise_check("predicted_variance")
def _predict_variance(predicted_variance, *args):
    """The learner's prediction, with the helpers that compute or measure it refused (notebook 04's variance law)."""
    with refusing({variance: ["predicted_std", "measure_stack"], diagnostics: ["activation_variances"]},
                  predicted_variance, exercise="predicted_variance",
                  hint="Work the law out from one block and compound it: the check measures, you predict."):
        return predicted_variance(*args)


def check_predicted_variance(predicted_variance) -> None:
    x = input_grid()
    for batch_norm in (False, True):
        got = _predict_variance(predicted_variance, 3.0, 0.5, 0, batch_norm)
        if not math.isclose(float(got), 3.0):
            fail(f"with 0 blocks nothing happens, so predicted_variance(3.0, 0.5, 0, batch_norm={batch_norm}) "
                 f"should be 3.0; got {got!r}.")
    cases = [(0.3, 20, False), (1.0, 6, False), (0.7, 12, False), (1.0, 20, True), (0.2, 40, True), (0.6, 30, True)]
    for beta, blocks, batch_norm in cases:
        runs = np.array([activation_variances(ShatterMLP(blocks + 1, residual=True, beta=beta, batch_norm=batch_norm,
                                                         seed=s), x) for s in range(3)])
        var0, measured = runs[:, 0].mean(), runs[:, -1].mean()
        got = float(_predict_variance(predicted_variance, var0, beta, blocks, batch_norm))
        if not (0.7 * measured <= got <= 1.5 * measured):
            if batch_norm and math.isclose(got, var0 + blocks * beta, rel_tol=1e-6):
                hint = (" Each block adds beta^2, not beta: scaling a signal by beta scales its variance by "
                        "beta^2.")
            elif not batch_norm and math.isclose(got, var0 * (1 + beta) ** blocks, rel_tol=1e-6):
                hint = (" You multiplied by (1 + beta) per block; variances add in squares: the branch, scaled by "
                        "beta, adds beta^2 times the variance of h.")
            elif batch_norm:
                hint = " With batch norm, BN(h) has variance 1 whatever h is, so each block adds the same amount."
            else:
                hint = " Without normalisation each block multiplies the variance."
            fail(f"{blocks} residual blocks with beta={beta}, batch_norm={batch_norm}, starting from variance "
                 f"{var0:.3g}: you predict {got:.4g}, the nets measure {measured:.4g} (mean of 3 seeds).{hint}")
    passed("predicted_variance", "within the seed-to-seed spread of 6 measured residual stacks")


def _log_growth(beta: float, blocks: int) -> float:
    """log of (1 + beta^2)^blocks, computed without losing a small beta^2 next to 1 (and without overflow)."""
    return blocks * math.log1p(beta**2)


_SCALE_CASES = [(49, 2.0), (10, 1.5), (1, 3.0), (100, 10.0), (5, 1000.0), (20, 1.01)]  # blocks, max_growth


@precomputed(lambda: [(b + d, g) for b, g in _SCALE_CASES for d in (-1, 0, 1) if b + d >= 1])
def _max_beta(blocks: int, max_growth: float) -> float:
    return math.sqrt(math.expm1(math.log(max_growth) / blocks))


@exercise_check("max_branch_scale")
def check_max_branch_scale(max_branch_scale) -> None:
    cases = _SCALE_CASES
    for blocks, max_growth in cases:
        got = max_branch_scale(blocks, max_growth)
        call = f"max_branch_scale(blocks={blocks}, max_growth={max_growth})"
        try:
            beta = float(got)
        except (TypeError, ValueError):
            fail(f"{call} should return one number, β; got {got!r}.")
        expected = _max_beta(blocks, max_growth)
        if not math.isfinite(beta) or beta <= 0:
            fail(f"{call} returned {beta!r}; expected a positive β (about {expected:.6g}).")
        log_growth, limit = _log_growth(beta, blocks), math.log(max_growth)
        ok = log_growth <= limit + 1e-9 and _log_growth(beta * (1 + 1e-6), blocks) > limit
        growth = math.exp(min(log_growth, 700.0))
        if ok:
            continue
        root = max_growth ** (1 / blocks)
        mistakes = [
            (root - 1, "that is max_growth^(1/blocks) - 1, which is β² (or β under a (1 + β) law per block). "
                       "A branch scaled by β adds β² times the variance, so each block multiplies it by "
                       "(1 + β²): solve (1 + β²)^blocks = max_growth for β, a square root"),
            (math.sqrt(max_growth - 1), "that β lets every block grow the variance by max_growth, so the stack "
                                        "grows by max_growth^blocks; max_growth is the limit for the whole stack: "
                                        "(1 + β²)^blocks <= max_growth"),
            (math.sqrt((max_growth - 1) / blocks), "that β comes from additive growth, 1 + blocks·β², batch norm's "
                                                   "law; without normalisation each block multiplies the variance "
                                                   "by (1 + β²)"),
            (math.sqrt(math.log(max_growth) / blocks), "that is the approximation (1 + β²)^blocks ≈ exp(blocks·β²), "
                                                       "which gives a slightly smaller β than the exact answer"),
        ]
        if blocks > 1:
            mistakes.append((_max_beta(blocks - 1, max_growth), "that is the answer for blocks - 1 blocks; the "
                                                                "exponent is the number of blocks itself (a "
                                                                "ShatterMLP of depth L has L - 1 of them)"))
        mistakes.append((_max_beta(blocks + 1, max_growth), "that is the answer for blocks + 1 blocks; the exponent "
                                                            "is the number of blocks itself"))
        for value, cause in mistakes:
            if math.isclose(beta, value, rel_tol=1e-6) and not math.isclose(value, expected, rel_tol=1e-6):
                fail(f"{call} returned {beta:.6g}: {cause}. Expected {expected:.6g}.")
        if log_growth > limit + 1e-9:
            fail(f"{call} returned {beta:.6g}: too large, {blocks} blocks grow the variance by (1 + β²)^{blocks} "
                 f"= {growth:.6g} > {max_growth}. Expected {expected:.6g}.")
        fail(f"{call} returned {beta:.6g}: the growth (1 + β²)^{blocks} = {growth:.6g} stays below {max_growth}, "
             f"but β is not the largest such value: a β larger by one part in a million would still be allowed. "
             f"Solve (1 + β²)^blocks = max_growth exactly. Expected {expected:.6g}.")
    passed("max_branch_scale", f"the largest allowed β, to 1 part in a million, in {len(cases)} cases")

    x = input_grid()
    print("Measured in ShatterMLPs with your β (no batch norm), growth of Var(h) over the blocks, 3 seeds:")
    for blocks, max_growth in ((49, 2.0), (49, 10.0), (10, 2.0)):
        beta = float(max_branch_scale(blocks, max_growth))
        runs = [activation_variances(ShatterMLP(blocks + 1, residual=True, batch_norm=False, beta=beta, seed=s), x)
                for s in range(3)]
        measured = [r[-1] / r[0] for r in runs]
        print(f"  {blocks} blocks, β = {beta:.4f}: measured x {', '.join(f'{m:.2f}' for m in measured)} "
              f"(mean {np.mean(measured):.2f}); max_growth {max_growth:g}")
