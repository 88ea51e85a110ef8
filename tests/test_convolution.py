"""helpers.convolution against F.conv2d, nn.Conv2d and torch's FlopCounterMode."""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from helpers.convolution import (
    conv2d_loops,
    conv2d_macs,
    conv2d_params,
    conv2d_unfold,
    conv_cost,
    conv_output_size,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see conftest.one_thread


def test_output_size_matches_conv2d():
    for h, k, s, p, d in itertools.product(range(1, 11), range(1, 5), range(1, 4), range(0, 3), (1, 2)):
        if d * (k - 1) + 1 > h + 2 * p:
            with pytest.raises(ValueError, match="does not fit"):
                conv_output_size(h, k, s, p, d)
            continue
        expected = F.conv2d(torch.zeros(1, 1, h, h), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d).shape[-1]
        assert conv_output_size(h, k, s, p, d) == expected, (h, k, s, p, d)


@pytest.mark.parametrize("bad", [dict(size=0), dict(kernel=0), dict(stride=0), dict(padding=-1), dict(size=3.0),
                                 dict(kernel=True)])
def test_output_size_rejects_bad_arguments(bad):
    args = dict(size=8, kernel=3, stride=1, padding=0) | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        conv_output_size(**args)


CASES = [  # x shape, weight shape, bias, stride, padding
    ((1, 3, 5, 5), (2, 3, 3, 3), True, 1, 0),
    ((2, 3, 8, 7), (4, 3, 3, 3), True, 2, 1),
    ((2, 4, 9, 11), (5, 4, 3, 5), False, (2, 1), (1, 2)),
    ((1, 2, 6, 6), (3, 2, 1, 1), True, 3, 0),
]


@pytest.mark.parametrize("xs, ws, has_bias, stride, padding", CASES)
def test_loops_and_unfold_equal_conv2d(xs, ws, has_bias, stride, padding):
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(*xs, generator=g), torch.randn(*ws, generator=g)
    b = torch.randn(ws[0], generator=g) if has_bias else None
    expected = F.conv2d(x, w, b, stride=stride, padding=padding)
    torch.testing.assert_close(conv2d_loops(x, w, b, stride, padding), expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(conv2d_unfold(x, w, b, stride, padding), expected, rtol=1e-4, atol=1e-5)


def test_conv_functions_reject_bad_input():
    x, w = torch.zeros(1, 3, 5, 5), torch.zeros(2, 3, 3, 3)
    with pytest.raises(ValueError, match="input channels"):
        conv2d_unfold(torch.zeros(1, 4, 5, 5), w)
    with pytest.raises(ValueError, match="bias must have shape"):
        conv2d_loops(x, w, torch.zeros(3))
    with pytest.raises(ValueError, match="x must be"):
        conv2d_unfold(torch.zeros(3, 5, 5), w)
    with pytest.raises(ValueError, match="stride"):
        conv2d_unfold(x, w, stride=0)


@pytest.mark.parametrize("layer, size", [
    (nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), 224),
    (nn.Conv2d(64, 64, 3, padding=1), 56),
    (nn.Conv2d(256, 64, 1, bias=False), 56),
    (nn.Conv2d(32, 64, 3, stride=2, padding=1, groups=4), (15, 9)),
    (nn.Conv2d(8, 6, (3, 5), stride=(2, 1), padding=(0, 2)), (11, 7)),
])
def test_cost_matches_parameters_and_flop_counter(layer, size):
    h, w = size if isinstance(size, tuple) else (size, size)
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(2, layer.in_channels, h, w))
    params, macs = conv_cost(layer, size, batch=2)
    assert params == sum(p.numel() for p in layer.parameters())
    assert 2 * macs == counter.get_total_flops()  # the counter counts a multiply-add as 2 FLOPs


def test_param_and_mac_formulas():
    assert conv2d_params(3, 64, 7, bias=False) == 9408
    assert conv2d_params(64, 64, 3) == 64 * 64 * 9 + 64
    assert conv2d_macs(64, 64, 3, 56, 56) == 64 * 56 * 56 * 64 * 9
    assert conv2d_macs(32, 64, 3, 8, 8, groups=4, batch=3) == 3 * 64 * 8 * 8 * 8 * 9
    with pytest.raises(ValueError, match="groups"):
        conv2d_params(6, 4, 3, groups=4)
    with pytest.raises(TypeError, match="nn.Conv2d"):
        conv_cost(nn.Linear(3, 3), 8)
    with pytest.raises(ValueError, match="padding"):
        conv_cost(nn.Conv2d(3, 3, 3, padding="same"), 8)
