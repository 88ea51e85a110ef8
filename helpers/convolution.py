"""A 2-D convolution three ways (loops, im2col, F.conv2d), its output size and its cost.

Notebook 01 writes each idea in a few visible lines and then checks it against these versions;
notebook 05 reuses the parameter and multiply-add counts to compare basic and bottleneck blocks.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from helpers.arguments import integer, pair

__all__ = ["conv_output_size", "conv2d_loops", "conv2d_unfold", "conv2d_params", "conv2d_macs", "conv_cost"]


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length along one axis: floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1.

    With dilation 1 this is floor((H + 2P - K) / S) + 1. Raises ValueError when the kernel does not
    fit in the padded input (no output position at all).
    """
    integer("size", size)
    integer("kernel", kernel)
    integer("stride", stride)
    integer("padding", padding, 0)
    integer("dilation", dilation)
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        raise ValueError(f"kernel={kernel} (span {span}) does not fit in the padded input of size "
                         f"{size} + 2 * {padding} = {size + 2 * padding}: no output position")
    return (size + 2 * padding - span) // stride + 1


def _check_conv_args(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a (N, C, H, W) tensor, got {getattr(x, 'shape', type(x).__name__)}")
    if not isinstance(weight, torch.Tensor) or weight.ndim != 4:
        raise ValueError(f"weight must be a (C_out, C_in, K_h, K_w) tensor, got {getattr(weight, 'shape', type(weight).__name__)}")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight expects {weight.shape[1]} input channels (weight.shape[1]) but x has {x.shape[1]}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")


def conv2d_loops(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
) -> torch.Tensor:
    """The definition, one output element at a time: a window of C x K x K inputs, multiplied
    element-wise by the kernel and summed. Slow; for checking small cases."""
    _check_conv_args(x, weight, bias)
    (sh, sw), (ph, pw) = pair("stride", stride, 1), pair("padding", padding, 0)
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out, w_out = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    xp = F.pad(x, (pw, pw, ph, ph))
    out = x.new_zeros(n, c_out, h_out, w_out)
    for b in range(n):
        for o in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    window = xp[b, :, i * sh: i * sh + kh, j * sw: j * sw + kw]  # (C, K_h, K_w)
                    out[b, o, i, j] = (window * weight[o]).sum()
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out


def conv2d_unfold(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
) -> torch.Tensor:
    """im2col: every window becomes a column of length C K K, and the whole convolution is one
    matrix product of the (C_out, C K K) kernel matrix with the (C K K, windows) column matrix."""
    _check_conv_args(x, weight, bias)
    (sh, sw), (ph, pw) = pair("stride", stride, 1), pair("padding", padding, 0)
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out, w_out = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    cols = F.unfold(x, (kh, kw), padding=(ph, pw), stride=(sh, sw))  # (N, C K K, H_out W_out)
    out = weight.reshape(c_out, -1) @ cols  # (N, C_out, H_out W_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1)
    return out.view(n, c_out, h_out, w_out)


def conv2d_params(c_in: int, c_out: int, kernel: int | tuple[int, int], *, bias: bool = True, groups: int = 1) -> int:
    """Learned numbers in a conv layer: C_out * (C_in / groups) * K_h * K_w weights, plus C_out biases."""
    integer("c_in", c_in)
    integer("c_out", c_out)
    kh, kw = pair("kernel", kernel, 1)
    integer("groups", groups)
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)


def conv2d_macs(c_in: int, c_out: int, kernel: int | tuple[int, int], h_out: int, w_out: int, *,
                groups: int = 1, batch: int = 1) -> int:
    """Multiply-adds of a conv layer: one dot product of length (C_in / groups) K_h K_w for every
    output element, of which there are batch * C_out * H_out * W_out. (Bias adds not counted.)"""
    kh, kw = pair("kernel", kernel, 1)
    integer("h_out", h_out)
    integer("w_out", w_out)
    integer("batch", batch)
    per_output = conv2d_params(c_in, c_out, (kh, kw), bias=False, groups=groups) // c_out
    return batch * c_out * h_out * w_out * per_output


def conv_cost(layer: nn.Conv2d, input_size: int | tuple[int, int], batch: int = 1) -> tuple[int, int]:
    """(parameters, multiply-adds) of ``layer`` applied to a batch of ``input_size`` images."""
    if not isinstance(layer, nn.Conv2d):
        raise TypeError(f"layer must be an nn.Conv2d, got {type(layer).__name__}")
    if layer.dilation != (1, 1) or not isinstance(layer.padding, tuple):
        raise ValueError(f"conv_cost handles dilation 1 and numeric padding, got dilation={layer.dilation}, "
                         f"padding={layer.padding!r}")
    h, w = pair("input_size", input_size, 1)
    h_out = conv_output_size(h, layer.kernel_size[0], layer.stride[0], layer.padding[0])
    w_out = conv_output_size(w, layer.kernel_size[1], layer.stride[1], layer.padding[1])
    params = conv2d_params(layer.in_channels, layer.out_channels, layer.kernel_size,
                           bias=layer.bias is not None, groups=layer.groups)
    macs = conv2d_macs(layer.in_channels, layer.out_channels, layer.kernel_size, h_out, w_out,
                       groups=layer.groups, batch=batch)
    return params, macs
