"""helpers.diagnostics against simple references: np.correlate, finite differences, identity stacks."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers.diagnostics import (
    ShatterMLP,
    activation_variances,
    autocorrelation,
    calibrate_batch_norm,
    gradient_over_grid,
    input_grid,
    lag1_correlation,
    lag1_vs_depth,
    shared_active_fraction,
)

X = input_grid(64)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see conftest.one_thread


def finite_difference(model, x, eps=1e-6):
    with torch.no_grad():
        return ((model(x + eps) - model(x - eps)) / (2 * eps))[:, 0]


def test_input_grid():
    x = input_grid(256)
    assert x.shape == (256, 1) and x.dtype == torch.float64
    assert x[0, 0] == -2 and x[-1, 0] == 2
    assert torch.allclose(x[1:] - x[:-1], torch.full((255, 1), 4 / 255, dtype=torch.float64))
    with pytest.raises(ValueError, match="n must be"):
        input_grid(1)
    with pytest.raises(ValueError, match="low must be smaller"):
        input_grid(10, 2.0, -2.0)


@pytest.mark.parametrize("n, max_lag", [(2, 1), (50, 0), (50, 10), (257, 256)])
def test_autocorrelation_matches_np_correlate(n, max_lag):
    g = np.random.default_rng(n).standard_normal(n).cumsum() + 5.0
    d = g - g.mean()
    expected = np.correlate(d, d, mode="full")[n - 1:][: max_lag + 1] / (d @ d)
    got = autocorrelation(g, max_lag)
    assert got.shape == (max_lag + 1,)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert got[0] == pytest.approx(1.0)
    np.testing.assert_allclose(autocorrelation(torch.from_numpy(g), max_lag), expected, rtol=1e-10, atol=1e-12)


def test_autocorrelation_default_is_all_lags_and_bad_input():
    g = np.arange(10.0) ** 2
    assert autocorrelation(g).shape == (10,)
    with pytest.raises(ValueError, match="constant"):
        autocorrelation(np.ones(10))
    with pytest.raises(ValueError, match="max_lag must be at most"):
        autocorrelation(g, 10)
    with pytest.raises(ValueError, match="max_lag must be an int"):
        autocorrelation(g, -1)
    with pytest.raises(ValueError, match="1-D signal"):
        autocorrelation(np.ones((3, 3)))


def test_lag1_separates_white_and_brown_noise():
    white = np.random.default_rng(0).standard_normal(20_000)
    assert abs(lag1_correlation(white)) < 0.03
    assert lag1_correlation(np.cumsum(white)) > 0.99


@pytest.mark.parametrize("options", [
    dict(),
    dict(residual=True, beta=0.5),
    dict(batch_norm=True),
    dict(residual=True, batch_norm=True),
    dict(init_scale=0.7, hidden_bias_std=0.1),
])
def test_gradient_over_grid_matches_finite_differences(options):
    model = calibrate_batch_norm(ShatterMLP(6, 32, seed=1, **options), X)
    grad = gradient_over_grid(model, X)
    assert grad.shape == (64,)
    torch.testing.assert_close(grad, finite_difference(model, X), rtol=1e-5, atol=1e-6)


def test_gradient_over_grid_refuses_training_mode_batch_norm_and_bad_shapes():
    model = ShatterMLP(3, 16, batch_norm=True)
    with pytest.raises(ValueError, match="calibrate_batch_norm"):
        gradient_over_grid(model, X)
    with pytest.raises(ValueError, match=r"shape \(n, 1\)"):
        gradient_over_grid(calibrate_batch_norm(model, X), X[:, 0])


def test_residual_with_beta_zero_is_the_identity_stack():
    shallow = ShatterMLP(1, 32, seed=4)
    deep = ShatterMLP(12, 32, seed=4, residual=True, beta=0.0)
    states = deep.hidden_states(X)
    for h in states:
        torch.testing.assert_close(h, states[0])  # every block adds 0 * branch
    torch.testing.assert_close(deep(X), shallow(X))
    torch.testing.assert_close(gradient_over_grid(deep, X), gradient_over_grid(shallow, X))


def test_plain_net_is_the_textbook_formula():
    model = ShatterMLP(3, 8, seed=2)
    w0, b0 = model.stem.weight, model.stem.bias
    w1, w2 = model.blocks[0][-1].weight, model.blocks[1][-1].weight
    v = model.head[-1].weight
    h = X @ w0.T + b0
    h = torch.relu(h) @ w1.T
    h = torch.relu(h) @ w2.T
    torch.testing.assert_close(model(X), torch.relu(h) @ v.T)


def test_he_initialisation_scale_and_seeds():
    model = ShatterMLP(3, 400, seed=0, init_scale=1.5)
    w = model.blocks[0][-1].weight
    assert w.std().item() == pytest.approx(1.5 * math.sqrt(2 / 400), rel=0.02)
    assert model.blocks[0][-1].bias is None
    torch.testing.assert_close(ShatterMLP(3, 16, seed=7)(X), ShatterMLP(3, 16, seed=7)(X))
    assert not torch.allclose(ShatterMLP(3, 16, seed=7)(X), ShatterMLP(3, 16, seed=8)(X))
    f32 = ShatterMLP(3, 16, seed=7, dtype=torch.float32)
    torch.testing.assert_close(f32.blocks[1][-1].weight.double(), ShatterMLP(3, 16, seed=7).blocks[1][-1].weight,
                               rtol=1e-6, atol=1e-7)


def test_calibrated_batch_norm_reproduces_training_mode():
    model = ShatterMLP(5, 32, batch_norm=True, residual=True, seed=3)
    model.train()
    with torch.no_grad():
        expected = model(X)
    calibrate_batch_norm(model, X)
    assert not model.training
    torch.testing.assert_close(model(X), expected)


@pytest.mark.parametrize("options", [dict(batch_norm=True), dict(residual=True, beta=0.3), dict(residual=True, batch_norm=True)])
def test_shallower_nets_are_prefixes_and_lag1_vs_depth_matches_autograd(options):
    deep = calibrate_batch_norm(ShatterMLP(9, 32, seed=5, **options), X)
    every = deep.outputs_at_every_depth(X)
    assert every.shape == (64, 9)
    expected = []
    for depth in (1, 4, 9):
        shallow = calibrate_batch_norm(ShatterMLP(depth, 32, seed=5, **options), X)
        torch.testing.assert_close(every[:, depth - 1: depth], shallow(X))
        expected.append(lag1_correlation(gradient_over_grid(shallow, X)))
    got = lag1_vs_depth([1, 4, 9], [5], width=32, n=64, **options)
    assert got.shape == (3, 1)
    np.testing.assert_allclose(got[:, 0], expected, rtol=1e-9)


def test_lag1_vs_depth_shape_and_bad_input():
    assert lag1_vs_depth([1, 2], [0, 1, 2], width=16, n=32).shape == (2, 3)
    with pytest.raises(ValueError, match="non-empty"):
        lag1_vs_depth([], [0])
    with pytest.raises(ValueError, match="depth must be"):
        lag1_vs_depth([0], [0])


def test_deep_plain_batch_norm_shatters_and_residual_does_not():
    r = lag1_vs_depth([1, 30], [0, 1], batch_norm=True).mean(1)
    res = lag1_vs_depth([30], [0, 1], residual=True, batch_norm=True).mean()
    assert r[0] > 0.9 and abs(r[1]) < 0.25 and res > 0.6


def test_activation_variance_growth_per_block():
    x = input_grid(128)
    plain = activation_variances(ShatterMLP(21, seed=0), x)
    doubling = activation_variances(ShatterMLP(21, seed=0, residual=True, beta=1.0), x)
    additive = activation_variances(ShatterMLP(21, seed=0, residual=True, batch_norm=True), x)
    assert plain.shape == (21,)
    assert 0.2 < plain[-1] / plain[0] < 5  # He init keeps the scale (up to finite-width wandering)
    per_block = (doubling[-1] / doubling[0]) ** (1 / 20)
    assert 1.6 < per_block < 2.5  # theory: 1 + beta^2 = 2
    assert (additive[-1] - additive[0]) / 20 == pytest.approx(1.0, rel=0.2)  # theory: + beta^2 = 1 per block


def test_shared_active_fraction():
    x = input_grid(256)
    with_bn = shared_active_fraction(ShatterMLP(40, seed=0, batch_norm=True), x)
    without = shared_active_fraction(ShatterMLP(40, seed=0), x)
    assert with_bn.shape == without.shape == (40,)
    assert ((with_bn > 0) & (with_bn <= 1)).all()
    assert with_bn[0] > 0.95 and with_bn[-1] < 0.7  # neighbours drift apart, towards 1/2
    assert without.min() > 0.95  # co-active units without batch norm


@pytest.mark.parametrize("kwargs, error", [
    (dict(depth=0), ValueError), (dict(depth=2.5), ValueError), (dict(depth=3, width=0), ValueError),
    (dict(depth=3, beta=-1.0), ValueError), (dict(depth=3, init_scale=float("nan")), ValueError),
    (dict(depth=3, residual=1), TypeError), (dict(depth=3, seed=-1), ValueError),
])
def test_shatter_mlp_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        ShatterMLP(**kwargs)
