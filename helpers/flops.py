"""What a network costs: parameters and multiply-adds, by formula and as PyTorch counts them.

Two ways to the same numbers, so that each checks the other:

* formulas: :func:`basic_block_cost`, :func:`bottleneck_cost` and :func:`resnet_cost` add up the
  convolutions (``helpers.convolution.conv2d_params``/``conv2d_macs``), batch norms and the fc layer;
* measurement: :func:`count_macs` runs a model under ``torch.utils.flop_counter.FlopCounterMode``
  on the *meta* device (shapes only, no arithmetic), so even ResNet-152 at 224x224 costs well under
  a second and the model's own weights are never touched.

Multiply-adds (MACs) are what the ResNet paper and torchvision's model tables call "FLOPs";
``FlopCounterMode`` counts 2 floating-point operations per multiply-add, and only in convolutions
and matrix products (batch norm, ReLU, pooling and the residual additions are a few percent more
and are left out, as in the paper).

:func:`shape_table` lists a model's layers in the order they run, with output shapes, parameters
and multiply-adds; :func:`format_table` prints any such table.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.func import functional_call
from torch.utils.flop_counter import FlopCounterMode

from helpers.arguments import integer, pair
from helpers.convolution import conv2d_macs, conv2d_params, conv_output_size
from helpers.models import DEPTHS, BasicBlock, Bottleneck

__all__ = ["Cost", "LayerRow", "count_macs", "macs_by_module", "shape_table", "format_table", "weighted_depth",
           "conv_macs", "basic_block_cost", "bottleneck_cost", "resnet_cost"]


class Cost(NamedTuple):
    """Parameters and multiply-adds (per image) of a layer, a block or a network."""

    params: int
    macs: int

    def __add__(self, other: object) -> Cost:  # type: ignore[override]
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(self.params + other.params, self.macs + other.macs)


class LayerRow(NamedTuple):
    """One line of :func:`shape_table`: a module call, in the order the forward pass makes it."""

    name: str
    kind: str
    shape: tuple[int, ...]
    params: int
    macs: int


# --------------------------------------------------------------------------------------------------
# measurement


def _input_shape(input_shape: Any) -> tuple[int, ...]:
    if isinstance(input_shape, torch.Size):
        input_shape = tuple(input_shape)
    if (not isinstance(input_shape, (tuple, list)) or len(input_shape) < 2
            or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in input_shape)):
        raise ValueError(f"input_shape must be a tuple of positive ints such as (1, 3, 224, 224), got {input_shape!r}")
    return tuple(input_shape)


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")


def _run_on_meta(model: nn.Module, input_shape: tuple[int, ...]) -> None:
    """One forward pass (in eval mode) with every parameter, buffer and the input replaced by meta
    tensors: all the shapes and none of the arithmetic. The model itself is left exactly as it was."""
    state = {name: torch.empty_like(t, device="meta") for name, t in
             [*model.named_parameters(remove_duplicate=False), *model.named_buffers(remove_duplicate=False)]}
    x = torch.empty(input_shape, device="meta")
    # eval mode: the cost is the same, and batch norm accepts a batch of one image at 1x1
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            functional_call(model, state, (x,))
    finally:
        for m, training in modes:
            m.training = training


def _flop_counts(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """FLOPs per module name (``''`` is the whole model, ``'layer1.0'`` a block ...)."""
    with FlopCounterMode(display=False, depth=None) as counter:
        _run_on_meta(model, input_shape)
    root = type(model).__name__
    counts: dict[str, int] = {}
    for name, per_op in counter.get_flop_counts().items():
        if name == "Global":
            continue
        key = "" if name == root else name.removeprefix(root + ".")
        counts[key] = sum(per_op.values())
    counts.setdefault("", 0)
    return counts


def count_macs(model: nn.Module, input_shape: Sequence[int] = (1, 3, 224, 224)) -> int:
    """Multiply-adds of one forward pass of ``model`` on a batch of ``input_shape``, as counted by
    ``FlopCounterMode`` (its FLOPs / 2), measured on the meta device.

    >>> count_macs(resnet34(), (1, 3, 224, 224))  # 3.66 billion, torchvision's "GFLOPS" 3.664
    3663761408
    """
    _check_model(model)
    return _flop_counts(model, _input_shape(input_shape))[""] // 2


def macs_by_module(model: nn.Module, input_shape: Sequence[int] = (1, 3, 224, 224)) -> dict[str, int]:
    """Multiply-adds per named module (``'conv1'``, ``'layer1'``, ``'layer1.0'``, ``'layer1.0.conv1'`` ...);
    ``''`` is the whole model. Modules that do no convolution or matrix product are left out."""
    _check_model(model)
    return {name: flops // 2 for name, flops in _flop_counts(model, _input_shape(input_shape)).items()}


def _rows_at(model: nn.Module, depth: int) -> list[tuple[str, nn.Module]]:
    """Modules ``depth`` levels down (fewer where a module has no children); containers are opened."""
    rows = []

    def walk(prefix: str, module: nn.Module, level: int) -> None:
        for name, child in module.named_children():
            full = f"{prefix}{name}"
            if level < depth and any(True for _ in child.children()):
                walk(full + ".", child, level + 1)
            else:
                rows.append((full, child))

    walk("", model, 1)
    return rows


def shape_table(model: nn.Module, input_shape: Sequence[int] = (1, 3, 32, 32), *, depth: int = 2) -> list[LayerRow]:
    """Every call of a module ``depth`` levels down (for a ResNet, depth 2 gives the stem layers, each
    block ``layer1.0`` ..., the pool and ``fc``), in the order the forward pass makes them, with the
    output shape, the module's parameters and its multiply-adds. Runs on the meta device.
    """
    _check_model(model)
    shape = _input_shape(input_shape)
    integer("depth", depth)
    rows: list[tuple[str, nn.Module, tuple[int, ...]]] = []
    handles = []
    for name, module in _rows_at(model, depth):
        def hook(module: nn.Module, args: Any, output: Any, name: str = name) -> None:
            out = output[0] if isinstance(output, (tuple, list)) else output
            rows.append((name, module, tuple(out.shape)))
        handles.append(module.register_forward_hook(hook))
    try:
        with FlopCounterMode(display=False, depth=None) as counter:
            _run_on_meta(model, shape)
    finally:
        for handle in handles:
            handle.remove()
    root = type(model).__name__
    flops = {name.removeprefix(root + "."): sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    return [LayerRow(name, type(module).__name__, out_shape, sum(p.numel() for p in module.parameters()),
                     flops.get(name, 0) // 2) for name, module, out_shape in rows]


def weighted_depth(model: nn.Module) -> int:
    """The "N" of ResNet-N: convolutions and fully connected layers on the main path (projection
    shortcuts, inside ``downsample``, do not count)."""
    _check_model(model)
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) and "downsample" not in name.split(".")
               for name, m in model.named_modules())


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, floatfmt: str = ".2f") -> str:
    """A plain-text table: ints with thousands separators, floats with ``floatfmt``, text left-aligned
    and numbers right-aligned."""
    if not rows or any(len(row) != len(headers) for row in rows):
        raise ValueError(f"rows must be non-empty, each with len(headers) = {len(headers)} entries")

    def cell(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        return f"{value:,}" if isinstance(value, int) else format(value, floatfmt)

    cells = [[cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool) for row in rows)
               for i in range(len(headers))]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        columns = zip(values, widths, numeric, strict=True)
        padded = (v.rjust(w) if num else v.ljust(w) for v, w, num in columns)
        return " | ".join(padded).rstrip()

    return "\n".join([line(headers), "-+-".join("-" * w for w in widths), *(line(r) for r in cells)])


# --------------------------------------------------------------------------------------------------
# formulas


def conv_macs(c_in: int, c_out: int, kernel: int, size: int | tuple[int, int], *, stride: int = 1,
              padding: int | None = None, groups: int = 1) -> int:
    """Multiply-adds of ``nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups)`` on one image
    of ``size`` (its *input* size): C_out * H_out * W_out * (C_in / groups) * K * K.
    ``padding=None`` means "same" padding, ``kernel // 2``, as every conv in a ResNet uses."""
    h, w = pair("size", size)
    padding = kernel // 2 if padding is None else padding
    h_out = conv_output_size(h, kernel, stride, padding)
    w_out = conv_output_size(w, kernel, stride, padding)
    return conv2d_macs(c_in, c_out, kernel, h_out, w_out, groups=groups)


def _conv_bn(c_in: int, c_out: int, kernel: int, size: tuple[int, int], stride: int = 1, groups: int = 1) -> Cost:
    """A bias-free conv followed by batch norm (gamma and beta: 2 parameters per channel)."""
    return Cost(conv2d_params(c_in, c_out, kernel, bias=False, groups=groups) + 2 * c_out,
                conv_macs(c_in, c_out, kernel, size, stride=stride, groups=groups))


def _out(size: tuple[int, int], stride: int) -> tuple[int, int]:
    return conv_output_size(size[0], 3, stride, 1), conv_output_size(size[1], 3, stride, 1)


def basic_block_cost(in_channels: int, channels: int, stride: int = 1, size: int | tuple[int, int] = 56) -> Cost:
    """Two 3x3 convs with batch norm, plus a 1x1 projection shortcut (option B) where the shape
    changes; ``size`` is the input's height and width. Without the shortcut: 18 C^2 H W multiply-adds
    at C channels in and out, and 18 C^2 + 4 C parameters."""
    integer("in_channels", in_channels), integer("channels", channels), integer("stride", stride)
    hw = pair("size", size)
    cost = _conv_bn(in_channels, channels, 3, hw, stride) + _conv_bn(channels, channels, 3, _out(hw, stride))
    if stride != 1 or in_channels != channels:
        cost = cost + _conv_bn(in_channels, channels, 1, hw, stride)
    return cost


def bottleneck_cost(in_channels: int, channels: int, stride: int = 1, size: int | tuple[int, int] = 56, *,
                    groups: int = 1, width_per_group: int = 64) -> Cost:
    """1x1 reduce to ``inner`` channels, 3x3 (grouped for ResNeXt, carrying the stride), 1x1 expand to
    4 ``channels``, batch norm after each, plus a projection shortcut where the shape changes.
    ``inner = channels * width_per_group / 64 * groups`` (= ``channels`` for a ResNet). For a ResNet
    block with 4C channels in and out: 17 C^2 H W multiply-adds (4 C^2 + 9 C^2 + 4 C^2)."""
    integer("in_channels", in_channels), integer("channels", channels), integer("stride", stride)
    integer("groups", groups), integer("width_per_group", width_per_group)
    hw = pair("size", size)
    inner = int(channels * (width_per_group / 64.0)) * groups
    out = channels * Bottleneck.expansion
    cost = (_conv_bn(in_channels, inner, 1, hw) + _conv_bn(inner, inner, 3, hw, stride, groups)
            + _conv_bn(inner, out, 1, _out(hw, stride)))
    if stride != 1 or in_channels != out:
        cost = cost + _conv_bn(in_channels, out, 1, hw, stride)
    return cost


def resnet_cost(depth: int, size: int = 224, *, stem: str = "imagenet", num_classes: int = 1000,
                width: int = 64, groups: int = 1, width_per_group: int = 64) -> Cost:
    """A whole ResNet-``depth`` added up from its parts: stem, every block (first block of a stage
    with stride 2 and a projection), global pool, fc. Equal to :func:`count_macs` and
    ``count_parameters`` on ``helpers.models.resnet(depth, ...)``."""
    if depth not in DEPTHS:
        raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {depth!r}")
    if stem not in ("imagenet", "cifar"):
        raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
    block, layers = DEPTHS[depth]
    if block is BasicBlock and (groups != 1 or width_per_group != 64):
        raise ValueError(f"ResNet-{depth} is made of basic blocks, which need groups=1 and width_per_group=64")
    hw = pair("size", size)
    if stem == "imagenet":
        cost = _conv_bn(3, width, 7, hw, 2)
        hw = (conv_output_size(hw[0], 7, 2, 3), conv_output_size(hw[1], 7, 2, 3))
        hw = (conv_output_size(hw[0], 3, 2, 1), conv_output_size(hw[1], 3, 2, 1))  # max-pool
    else:
        cost = _conv_bn(3, width, 3, hw)
    in_channels = width
    for i, blocks in enumerate(layers):
        channels = width * 2**i
        for b in range(blocks):
            stride = 2 if (i > 0 and b == 0) else 1
            if block is BasicBlock:
                cost = cost + basic_block_cost(in_channels, channels, stride, hw)
            else:
                cost = cost + bottleneck_cost(in_channels, channels, stride, hw, groups=groups,
                                              width_per_group=width_per_group)
            hw = _out(hw, stride)
            in_channels = channels * block.expansion
    return cost + Cost(in_channels * num_classes + num_classes, in_channels * num_classes)
