"""Checks for the exercises of 01_convolution_as_dot_product."""
from __future__ import annotations

import itertools
import math
import os

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from helpers import convolution, flops
from helpers.checks import close, exercise_check, expect_tensor, fail, passed, precomputed, refusing

# Measuring instead of computing: running a convolution (F.conv2d; nn.Conv2d calls it) or unfolding.
_BUILTIN_CONV = {F: ["conv2d"], torch: ["conv2d"]}


@exercise_check("output_size")
def check_output_size(output_size) -> None:
    checked = 0
    x_cache: dict[int, torch.Tensor] = {}
    for h, k, s, p in itertools.product(range(1, 13), range(1, 6), range(1, 4), range(0, 3)):
        if k > h + 2 * p:
            continue
        x = x_cache.setdefault(h, torch.zeros(1, 1, h, h))
        expected = F.conv2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p).shape[-1]
        with refusing({convolution: ["conv_output_size", "conv2d_loops", "conv2d_unfold"], F: ["conv2d", "unfold"],
                       torch: ["conv2d"]}, output_size, exercise="output_size",
                      hint="Count the window positions with a formula (floor division `//`)."):
            got = output_size(h, k, s, p)
        if isinstance(got, float) and got != int(got):
            fail(f"output_size(h={h}, k={k}, s={s}, p={p}) returned {got}, a fraction; a window either fits or "
                 f"it does not, so round down: floor division `//`. nn.Conv2d gives {expected}.")
        if got != expected and got == -(-(h + 2 * p - k) // s) + 1:
            fail(f"output_size(h={h}, k={k}, s={s}, p={p}) returned {got!r}: you rounded up. A window that would "
                 f"stick out past the padding does not count, so round down (floor division `//`); nn.Conv2d "
                 f"produces {expected}.")
        if got != expected:
            fail(f"output_size(h={h}, k={k}, s={s}, p={p}) returned {got!r}; nn.Conv2d produces {expected} "
                 "(padding is added on both sides, and the first window counts too).")
        checked += 1
    passed("output_size", f"equal to nn.Conv2d's output size in {checked} cases, strides 1-3, padding 0-2")


@exercise_check("conv2d_im2col")
def check_conv2d_im2col(conv2d_im2col) -> None:
    g = torch.Generator().manual_seed(0)
    cases = [  # (what, x shape, weight shape, bias?, stride, padding)
        ("a 5x5 image, 3x3 kernel", (1, 3, 5, 5), (2, 3, 3, 3), True, 1, 0),
        ("stride 2 and padding 1", (2, 3, 8, 8), (4, 3, 3, 3), True, 2, 1),
        ("a non-square 7x10 image", (1, 2, 7, 10), (3, 2, 3, 3), True, 1, 1),
        ("a non-square 2x3 kernel", (1, 2, 5, 6), (2, 2, 2, 3), True, 1, 0),
        ("a non-square 3x5 kernel, stride 2, odd sizes", (2, 4, 9, 11), (5, 4, 3, 5), True, 2, 2),
        ("no bias (bias=None), one output channel", (3, 3, 6, 6), (1, 3, 2, 2), False, 2, 0),
    ]
    for what, xs, ws, has_bias, stride, padding in cases:
        x, w = torch.randn(*xs, generator=g), torch.randn(*ws, generator=g)
        b = torch.randn(ws[0], generator=g) if has_bias else None
        expected = F.conv2d(x, w, b, stride=stride, padding=padding)
        with refusing({**_BUILTIN_CONV, convolution: ["conv2d_unfold", "conv2d_loops"]}, conv2d_im2col,
                      exercise="conv2d_im2col", hint="Build it from F.unfold and one matrix product (a "
                                                     "convolution function or an nn.Conv2d does it for you)."):
            try:
                got = conv2d_im2col(x, w, b, stride, padding)
            except RuntimeError as error:
                if ws[2] != ws[3]:
                    fail(f"for {what}: your code raised RuntimeError: {error}. The kernel here is {ws[2]}x{ws[3]}, "
                         "not square: take K_h = weight.shape[2] and K_w = weight.shape[3] separately (unfold's "
                         "kernel_size=(K_h, K_w), and H_out from K_h, W_out from K_w).")
                if (stride > 1 or padding > 0) and "shape" in str(error):
                    fail(f"for {what}: your code raised RuntimeError: {error}. Did your reshape ignore the stride "
                         f"or the padding? Here the output is {tuple(expected.shape[2:])}: H_out = "
                         "floor((H + 2 * padding - K_h) / stride) + 1, and the same for W_out.")
                raise
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and has_bias:
            if torch.allclose(got + b.view(1, -1, 1, 1), expected, atol=1e-4):
                fail(f"for {what}: every value is off by the bias; add bias.view(1, -1, 1) (one per output channel).")
        n, c_out, h_out, w_out = expected.shape
        column_major = expected.reshape(n, c_out, w_out, h_out).transpose(2, 3)  # the columns read as (W_out, H_out)
        if not close(got, expected, atol=1e-4) and close(got, column_major, atol=1e-4):
            fail(f"for {what}: the output's rows and columns are mixed up. The columns of unfold run along each "
                 "output row first (row-major, like reading), so they reshape to (H_out, W_out) directly; "
                 "no transpose.")
        if isinstance(got, torch.Tensor) and got.shape != expected.shape and got.numel() == expected.numel():
            fail(f"for {what}: got shape {tuple(got.shape)}, expected {tuple(expected.shape)} = (N, C_out, H_out, "
                 "W_out); the columns of unfold run over output rows first, then output columns.")
        expect_tensor(got, expected, f"conv2d_im2col for {what}, compared with F.conv2d", rtol=1e-4, atol=1e-4)
    passed("conv2d_im2col", f"equal to F.conv2d in {len(cases)} cases (stride 2, padding, non-square images and "
                            "kernels, no bias)")


@exercise_check("conv_cost")
def check_conv_cost(conv_cost) -> None:
    cases = [  # c_in, c_out, k, h, w, stride, padding, bias
        (3, 64, 7, 224, 224, 2, 3, False),  # ResNet's ImageNet stem
        (64, 64, 3, 56, 56, 1, 1, False),
        (256, 64, 1, 56, 56, 1, 0, False),  # a bottleneck's 1x1 reduce
        (3, 16, 3, 32, 32, 1, 1, True),
        (8, 5, 3, 11, 9, 2, 0, True),  # odd, non-square, stride 2, with bias
    ]
    for c_in, c_out, k, h, w, stride, padding, bias in cases:
        layer = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias)
        with FlopCounterMode(display=False) as counter:
            layer(torch.zeros(1, c_in, h, w))
        expected_params = sum(p.numel() for p in layer.parameters())
        expected_macs = counter.get_total_flops() // 2  # the counter counts a multiply-add as 2 FLOPs
        call = f"conv_cost({c_in}, {c_out}, {k}, {h}, {w}, stride={stride}, padding={padding}, bias={bias})"
        with refusing({convolution: ["conv_cost", "conv2d_params", "conv2d_macs"], **_BUILTIN_CONV,
                       nn.Conv2d: ["__init__"], flops: ["conv_macs", "_conv_bn", "count_macs"]}, conv_cost,
                      exercise="conv_cost",
                      hint="Count with formulas; building or running a layer measures instead of counting."):
            got = conv_cost(c_in, c_out, k, h, w, stride, padding, bias)
        if not isinstance(got, tuple) or len(got) != 2:
            fail(f"{call} should return a pair (parameters, multiply_adds), got {got!r}.")
        params, macs = got
        if params != expected_params:
            hint = " Each output channel has a bias too." if bias and params == expected_params - c_out else ""
            fail(f"{call}: {params!r} parameters, but the layer has {expected_params}.{hint}")
        if macs != expected_macs:
            hint = ""
            if macs == 2 * expected_macs:
                hint = " That is the FLOP count: one multiply-add is 2 FLOPs, count it once."
            elif stride > 1 and macs == expected_macs * stride * stride:
                hint = " Count one dot product per *output* element: use the output size, not the input size."
            elif c_in > 1 and macs * c_in == expected_macs:
                hint = (f" That is {c_in} times too few: the input channels are missing. Each output element is a "
                        f"dot product over a whole c_in x k x k = {c_in} x {k} x {k} window.")
            fail(f"{call}: {macs!r} multiply-adds, but torch's FlopCounterMode measures {expected_macs}.{hint}")
    passed("conv_cost", f"{len(cases)} layers, equal to nn.Conv2d's parameters and FlopCounterMode")


@exercise_check("pointwise_conv")
def check_pointwise_conv(pointwise_conv) -> None:
    g = torch.Generator().manual_seed(1)
    # a square weight first: there a transposed weight gives numbers (and its diagnosis), not a shape error
    cases = [("4 -> 4 channels, batch 2, 3x5", (2, 4, 3, 5), (4, 4)), ("8 -> 3 channels, 4x4", (1, 8, 4, 4), (3, 8)),
             ("3 -> 6 channels, 1x1 image", (2, 3, 1, 1), (6, 3))]
    for what, xs, ws in cases:
        x, w = torch.randn(*xs, generator=g), torch.randn(*ws, generator=g)
        expected = F.conv2d(x, w[:, :, None, None])
        # torch.einsum too: the lesson's cell computes exactly this with einsum, so copying it is no answer
        with refusing({F: ["conv2d"], torch: ["conv2d", "einsum"], convolution: ["conv2d_unfold", "conv2d_loops"]},
                      pointwise_conv, exercise="pointwise_conv",
                      hint="Write it as a matrix product over the channels, with `@` (or torch.matmul)."):
            got = pointwise_conv(x, w)
        if not close(got, expected):
            n, c, h, width = xs
            reshaped = x.reshape(n, h, width, c) @ w.T  # "channels last" by reshape: the values regrouped
            if close(got, reshaped.permute(0, 3, 1, 2)) or close(got, reshaped.reshape(n, -1, h, width)):
                fail(f"pointwise_conv for {what}: reshape (or view) regroups the numbers without moving them, so "
                     "each 'pixel' mixed values of different pixels and channels. Move the channel axis with "
                     "permute (or movedim), and back again after the product.")
            if close(got, F.conv2d(x, w.T[:, :, None, None])):
                fail(f"pointwise_conv for {what}: you applied weight transposed. weight is (C_out, C): output "
                     "channel o is row o of weight dotted with a pixel's C input values.")
            if close(got, expected.sum(1, keepdim=True)):
                fail(f"pointwise_conv for {what}: you summed over the output channels (shape {tuple(got.shape)}); "
                     f"each of the {ws[0]} rows of weight gives an output channel of its own: shape "
                     f"{tuple(expected.shape)}.")
        expect_tensor(got, expected, f"pointwise_conv for {what}, compared with a 1x1 nn.Conv2d", rtol=1e-4, atol=1e-5)
    passed("pointwise_conv", f"equal to a 1x1 convolution in {len(cases)} cases")


def _rf_cases() -> list[tuple[str, list[tuple[int, int]]]]:
    """(what, layers): the stacks the check measures, a seeded random one included."""
    g = torch.Generator().manual_seed(5)
    random_stack = [(int(torch.randint(1, 6, (), generator=g)), int(torch.randint(1, 4, (), generator=g)))
                    for _ in range(5)]
    stem_and_stage = [(7, 2), (3, 2)] + [(3, 1)] * 6  # ResNet-34: 7x7/2 conv, 3x3/2 max-pool, six 3x3 convs
    return [
        ("one 5x5 layer", [(5, 1)]),
        ("one 3x3 layer with stride 2", [(3, 2)]),
        ("two 3x3 layers, stride 1", [(3, 1), (3, 1)]),
        ("three 3x3 layers, stride 1", [(3, 1)] * 3),
        ("two 3x3 layers with stride 2", [(3, 2), (3, 2)]),
        ("a 3x3 layer with stride 2, then one with stride 1", [(3, 2), (3, 1)]),
        ("three 2x2 poolings with stride 2", [(2, 2)] * 3),
        ("one 1x1 layer", [(1, 1)]),
        ("a 1x1 layer with stride 2 between two 3x3 layers", [(3, 1), (1, 2), (3, 1)]),
        ("ResNet-34's stem and first stage", stem_and_stage),
        ("a random stack", random_stack),
    ]


@precomputed(lambda: [(layers,) for _, layers in _rf_cases()])
def _measured_receptive_field(layers: list[tuple[int, int]]) -> int:
    """The side of the input window that one output unit of the stack depends on, measured with autograd.

    Every layer is a k x k convolution with stride s, weights of ones and no padding (a pooling layer
    reads the same window; a max-pool would pass gradient to its maximum only). With positive weights
    every input pixel that reaches the unit gets a positive gradient (a count of paths), the others 0.
    """
    size = 1  # the smallest power of 2 the stack produces an output on (no padding: windows stay inside)
    while True:
        out = size
        for k, s in layers:
            out = (out - k) // s + 1 if out >= k else 0
        if out >= 1:
            break
        size *= 2
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s in layers:
        y = F.conv2d(y, torch.ones(1, 1, k, k, dtype=torch.float64), stride=s)
    centre = y.shape[-1] // 2
    (grad,) = torch.autograd.grad(y[0, 0, centre, centre], x)
    rows = grad[0, 0].abs().sum(1).nonzero().flatten()  # the input rows the unit depends on
    return int(rows[-1] - rows[0]) + 1


_RF_MISTAKES = [  # why each mistake of _rf_mistaken is wrong, in its order
    "you ignored the strides (1 + the sum of k - 1). After a layer with stride s, neighbouring units of its "
    "output are s pixels apart in its input, so a later window of k units spans more input pixels than k.",
    "you added k for every layer (the sum of the kernel sizes). One unit sees 1 pixel to start with, and a "
    "k-wide window widens that by k - 1 units (a 1x1 layer widens nothing).",
    "you multiplied a layer's k - 1 by its own stride as well. A layer's stride spaces its outputs; the units "
    "its window reads are spaced by the strides of the layers before it (1 pixel for the first layer).",
    "you multiplied the kernel sizes. The windows of neighbouring units overlap, so a receptive field grows "
    "by adding, not by multiplying.",
    "you inverted the output-size formula (size_in = (size_out - 1) * s + k) but applied it from the first "
    "layer to the last. That inversion walks from an output back to its input: start from the last layer.",
]


@precomputed(lambda: [(layers,) for _, layers in _rf_cases()])
def _rf_mistaken(layers: list[tuple[int, int]]) -> list[int]:
    """What each mistake of _RF_MISTAKES computes for ``layers``, in its order."""
    own_stride = jump = 1
    for k, s in layers:
        jump *= s  # updated before the add: the layer's own stride counts too
        own_stride += (k - 1) * jump
    first_to_last = 1
    for k, s in layers:  # the inverted output-size formula, but from the first layer to the last
        first_to_last = (first_to_last - 1) * s + k
    return [1 + sum(k - 1 for k, _ in layers), sum(k for k, _ in layers), own_stride,
            math.prod(k for k, _ in layers), first_to_last]


@exercise_check("receptive_field")
def check_receptive_field(receptive_field) -> None:
    cases = _rf_cases()
    expected = [_measured_receptive_field(layers) for _, layers in cases]
    got = [receptive_field(list(layers)) for _, layers in cases]
    for (what, layers), value, measured in zip(cases, got, expected, strict=True):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != measured:
            # the mistake that explains every answer, else the first that explains this one
            mistaken = [_rf_mistaken(ls) for _, ls in cases]
            everywhere = [why for m, why in enumerate(_RF_MISTAKES)
                          if all(ms[m] == v for ms, v in zip(mistaken, got, strict=True))]
            causes = everywhere or [why for m, why in enumerate(_RF_MISTAKES) if _rf_mistaken(layers)[m] == value]
            fail(f"receptive_field({layers}) ({what}) returned {value!r}; measured with autograd, one output unit "
                 f"depends on a {measured} x {measured} window of the input." + (f" It looks like {causes[0]}"
                                                                                  if causes else ""))
    # a fresh random stack every run: a 1x1 layer of stride 1 at either end adds nothing, and the last layer's
    # stride spaces only outputs that come after it
    fresh = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
    stack = [(int(torch.randint(1, 6, (), generator=fresh)), int(torch.randint(1, 4, (), generator=fresh)))
             for _ in range(int(torch.randint(1, 6, (), generator=fresh)))]
    value = receptive_field(list(stack))
    for other, why in (([(1, 1), *stack], "a 1x1 layer of stride 1 in front"),
                       ([*stack, (1, 1)], "a 1x1 layer of stride 1 at the end"),
                       ([*stack[:-1], (stack[-1][0], stack[-1][1] % 3 + 1)], "another stride in the last layer")):
        if receptive_field(list(other)) != value:
            fail(f"receptive_field({stack}) returned {value!r}, but receptive_field({other}) returned "
                 f"{receptive_field(list(other))!r}: {why} changes nothing that one output unit sees.")
    stem = dict(zip((what for what, _ in cases), expected, strict=True))["ResNet-34's stem and first stage"]
    passed("receptive_field", f"equal to the autograd measurement on {len(cases)} stacks, consistent on a fresh "
                              f"random one; one unit after ResNet-34's "
                              f"stem and first stage sees {stem} x {stem} input pixels")
