"""Diagnostics for notebook 02 (shattered gradients) and the explorers built on it.

Balduzzi et al. (2017), "The shattered gradients problem": feed a 1-D input grid through a
fully connected ReLU net, take the derivative of the scalar output with respect to the input at
every grid point, and look at how correlated neighbouring derivatives are. This module holds the
pieces: the grid, the small nets (plain or residual, with or without batch norm), the gradient
over the grid, its autocorrelation, and the per-block activation variance.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from helpers.arguments import integer, number

__all__ = [
    "ShatterMLP",
    "input_grid",
    "calibrate_batch_norm",
    "gradient_over_grid",
    "autocorrelation",
    "lag1_correlation",
    "lag1_vs_depth",
    "activation_variances",
    "shared_active_fraction",
]


def input_grid(n: int = 256, low: float = -2.0, high: float = 2.0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``n`` evenly spaced scalar inputs in [low, high], shaped (n, 1) as a batch for the nets."""
    integer("n", n, 2)
    if not low < high:
        raise ValueError(f"low must be smaller than high, got low={low!r}, high={high!r}")
    return torch.linspace(low, high, n, dtype=dtype)[:, None]


class ShatterMLP(nn.Module):
    """A fully connected ReLU net from one input to one output, ``depth`` hidden layers wide ``width``.

    The input layer computes ``h = w x + b``; then come ``depth - 1`` blocks
    ``[BatchNorm] -> ReLU -> Linear`` (pre-activation order, as in the theory), applied either as
    ``h = block(h)`` (plain) or ``h = h + beta * block(h)`` (residual); the output is
    ``[BatchNorm] -> ReLU -> Linear`` to one number. So there are ``depth`` ReLU layers. Hidden weights are drawn
    from N(0, init_scale**2 * 2 / width) (He et al., 2015) and hidden layers have no bias.

    The input layer does have a bias (N(0, input_bias_std**2)): with zero biases everywhere a ReLU
    net without normalisation satisfies f(c x) = c f(x) for c > 0, so on a 1-D input its gradient
    is one constant for x < 0 and another for x > 0, and there is nothing to shatter. Batch norm
    layers normalise with statistics of the grid (see :func:`calibrate_batch_norm`), have no
    learned scale or shift, and in eval mode act on each input separately.

    All weights come from a generator seeded with ``seed``, in an order that makes the net of depth
    L with a given seed the first L - 1 blocks of any deeper net with that seed (same input layer,
    same read-out): :meth:`outputs_at_every_depth` uses this to measure all depths in one pass.
    """

    def __init__(
        self,
        depth: int,
        width: int = 200,
        *,
        residual: bool = False,
        batch_norm: bool = False,
        beta: float = 1.0,
        init_scale: float = 1.0,
        input_weight_std: float = math.sqrt(2.0),
        input_bias_std: float = 1.0,
        hidden_bias_std: float = 0.0,
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        self.depth = integer("depth", depth)
        self.width = integer("width", width)
        integer("seed", seed, 0)
        if not isinstance(residual, bool) or not isinstance(batch_norm, bool):
            raise TypeError(f"residual and batch_norm must be bools, got {residual!r} and {batch_norm!r}")
        self.residual = residual
        self.batch_norm = batch_norm
        self.beta = number("beta", beta, 0.0)
        self.init_scale = number("init_scale", init_scale, 0.0)
        number("input_weight_std", input_weight_std, 0.0)
        number("input_bias_std", input_bias_std, 0.0)
        number("hidden_bias_std", hidden_bias_std, 0.0)

        g = torch.Generator().manual_seed(seed)

        def draw(*shape: int) -> torch.Tensor:  # always drawn in float64, so every dtype gets the same net
            return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)

        std = init_scale * math.sqrt(2.0 / width)

        def norm() -> list[nn.Module]:
            return [nn.BatchNorm1d(width, affine=False, momentum=None, dtype=dtype)] if batch_norm else []

        # skip_init: the weights are drawn below from our own generator; nn.Linear's default init is wasted work.
        self.stem = nn.utils.skip_init(nn.Linear, 1, width, dtype=dtype)
        self.blocks = nn.ModuleList()
        # The output layer reads the last hidden layer through the same [BatchNorm] -> ReLU.
        readout = nn.utils.skip_init(nn.Linear, width, 1, bias=False, dtype=dtype)
        self.head = nn.Sequential(*norm(), nn.ReLU(), readout)
        with torch.no_grad():
            # Draw order: input layer, read-out, then the blocks. So a net of depth L is exactly the
            # first L - 1 blocks of a deeper net with the same seed, with the same read-out.
            self.stem.weight.copy_(draw(width, 1) * input_weight_std)
            self.stem.bias.copy_(draw(width) * input_bias_std)
            readout.weight.copy_(draw(1, width) / math.sqrt(width))
            for _ in range(depth - 1):
                linear = nn.utils.skip_init(nn.Linear, width, width, bias=hidden_bias_std > 0, dtype=dtype)
                linear.weight.copy_(draw(width, width) * std)
                if linear.bias is not None:
                    linear.bias.copy_(draw(width) * hidden_bias_std)
                self.blocks.append(nn.Sequential(*norm(), nn.ReLU(), linear))

    def hidden_states(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The pre-activation ``h`` after the input layer and after every block: ``depth`` tensors."""
        h = self.stem(x)  # (n, width)
        states = [h]
        for block in self.blocks:
            h = h + self.beta * block(h) if self.residual else block(h)
            states.append(h)
        return states

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden_states(x)[-1])  # (n, 1)

    def outputs_at_every_depth(self, x: torch.Tensor) -> torch.Tensor:
        """(n, depth): column L - 1 is the output of the depth-L net with the same seed and options.

        Batch norm must be calibrated (eval mode); the read-out's batch norm uses the statistics of
        each depth's last hidden layer on ``x``, exactly as calibrating the shallower net would.
        """
        norm = self.head[0] if self.batch_norm else None
        outputs = []
        for h in self.hidden_states(x):
            if norm is not None:
                stats = h.detach()  # frozen statistics: no gradient flows through them, as in eval mode
                h = (h - stats.mean(0)) / torch.sqrt(stats.var(0, unbiased=False) + norm.eps)
            outputs.append(self.head[-1](torch.relu(h)))
        return torch.cat(outputs, dim=1)

    def extra_repr(self) -> str:
        kind = ("residual" if self.residual else "plain") + (" + batch norm" if self.batch_norm else "")
        return f"depth={self.depth}, width={self.width}, {kind}, beta={self.beta}, init_scale={self.init_scale}"


def calibrate_batch_norm(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """Set every batch norm layer's statistics to those of ``x`` and switch the model to eval mode.

    In training mode batch norm mixes the inputs of a batch, so "the gradient at one grid point"
    would depend on all the others. With the statistics of the grid frozen, batch norm is a fixed
    per-unit affine map and each point's gradient is its own. The model then computes on ``x``
    exactly what it computes in training mode (the same mean and the same biased variance).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if norms:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average: after one batch, exactly that batch's statistics
        model.train()
        with torch.no_grad():
            model(x)
        n = x.shape[0]
        for m in norms:  # running_var holds the unbiased variance; training mode divides by the biased one
            m.running_var.mul_((n - 1) / n)
    return model.eval()


def gradient_over_grid(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """d model(x_i) / d x_i at every grid point, with autograd: a tensor of shape (n,).

    One backward pass suffices because point i's output depends only on input i: the derivative
    of the sum of the outputs with respect to x_i is d y_i / d x_i. (That is why batch norm layers
    must be in eval mode: see :func:`calibrate_batch_norm`.)
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != 1:
        raise ValueError(f"x must be a tensor of shape (n, 1), got {getattr(x, 'shape', type(x).__name__)}")
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training for m in model.modules()):
        raise ValueError("model has batch norm in training mode, which couples the grid points: "
                         "call calibrate_batch_norm(model, x) first")
    x = x.detach().clone().requires_grad_(True)
    y = model(x)
    if y.shape != (x.shape[0], 1):
        raise ValueError(f"model must map (n, 1) to (n, 1), got output shape {tuple(y.shape)}")
    (grad,) = torch.autograd.grad(y.sum(), x)
    return grad[:, 0].detach()


def autocorrelation(g: np.ndarray | torch.Tensor | Sequence[float], max_lag: int | None = None) -> np.ndarray:
    """Normalised autocorrelation of a 1-D signal at lags 0..max_lag (default: all lags).

    r(k) = sum_i (g_i - m)(g_{i+k} - m) / sum_i (g_i - m)^2, with m the mean of g: the sum runs
    over the n - k pairs k apart, so r(0) = 1 and |r(k)| <= 1 (the same normalisation as
    ``np.correlate(d, d, "full")[n - 1:] / (d @ d)`` with d = g - m).
    """
    values = np.asarray(g.detach().cpu() if isinstance(g, torch.Tensor) else g, dtype=np.float64)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"g must be a 1-D signal of at least 2 values, got shape {values.shape}")
    n = len(values)
    max_lag = n - 1 if max_lag is None else integer("max_lag", max_lag, 0)
    if max_lag > n - 1:
        raise ValueError(f"max_lag must be at most len(g) - 1 = {n - 1}, got {max_lag}")
    d = values - values.mean()
    energy = d @ d
    if energy <= 1e-300 * n or not np.isfinite(energy):
        raise ValueError("g is constant (or not finite): its autocorrelation is undefined")
    return np.array([d[: n - k] @ d[k:] for k in range(max_lag + 1)]) / energy


def lag1_correlation(g: np.ndarray | torch.Tensor | Sequence[float]) -> float:
    """Correlation between neighbouring values of g: 1 for a smooth signal, about 0 for white noise."""
    return float(autocorrelation(g, 1)[1])


def lag1_vs_depth(
    depths: Sequence[int], seeds: Sequence[int], *, n: int = 256, dtype: torch.dtype = torch.float64,
    **model_options,
) -> np.ndarray:
    """Lag-1 correlation of the input gradient for every depth and seed: shape (len(depths), len(seeds)).

    Measures ``ShatterMLP(depth, seed=seed, **model_options)``. float32 is about 1.5 times faster on
    a CPU and builds the same nets, but where the gradient is shattered its rounding moves r(1) by a
    few hundredths (inside the seed-to-seed spread); float64, the default, repeats across machines.
    """
    if len(depths) == 0 or len(seeds) == 0:
        raise ValueError(f"depths and seeds must be non-empty, got {list(depths)} and {list(seeds)}")
    depths = [integer("depth", d) for d in depths]
    x = input_grid(n, dtype=dtype)
    ones = torch.ones_like(x)
    out = np.empty((len(depths), len(seeds)))
    for j, seed in enumerate(seeds):
        # One net as deep as the deepest, and forward-mode differentiation (a Jacobian-vector product
        # with a vector of ones: output i depends only on input i) gives every depth's gradient in one pass.
        model = calibrate_batch_norm(ShatterMLP(max(depths), seed=seed, dtype=dtype, **model_options), x)
        with torch.no_grad(), warnings.catch_warnings():
            # torch's first forward-mode call scripts some decompositions and warns that
            # torch.jit.script is deprecated: an internal detail, not something to act on here.
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated", category=FutureWarning)
            _, grads = torch.func.jvp(model.outputs_at_every_depth, (x,), (ones,))  # (n, max depth)
        for i, depth in enumerate(depths):
            out[i, j] = lag1_correlation(grads[:, depth - 1])
    return out


@torch.no_grad()
def activation_variances(model: ShatterMLP, x: torch.Tensor) -> np.ndarray:
    """Variance of the hidden pre-activations (over grid points and units) after the input layer
    and after every block: ``depth`` numbers. Calibrates batch norm to ``x`` first."""
    calibrate_batch_norm(model, x)
    return np.array([h.double().var(unbiased=False).item() for h in model.hidden_states(x)])


@torch.no_grad()
def shared_active_fraction(model: ShatterMLP, x: torch.Tensor) -> np.ndarray:
    """For each of the ``depth`` ReLU layers: of the units active at a grid point, the fraction
    also active at its right-hand neighbour (averaged over the grid). 1 means neighbours share
    their activation pattern; 1/2 means the patterns are independent, the assumption behind
    Balduzzi et al.'s 2^-L result. Calibrates batch norm to ``x`` first."""
    calibrate_batch_norm(model, x)
    fractions = []
    for h, layer in zip(model.hidden_states(x), [*model.blocks, model.head], strict=True):
        relu_input = layer[0](h) if model.batch_norm else h
        on = (relu_input > 0).double()
        both = (on[:-1] * on[1:]).sum(1)
        mean_on = 0.5 * (on[:-1].sum(1) + on[1:].sum(1))
        fractions.append((both / mean_on.clamp(min=1)).mean().item())
    return np.array(fractions)
