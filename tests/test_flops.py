"""helpers.flops against PyTorch's FlopCounterMode on real tensors, count_parameters, and torchvision."""
from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from helpers import models as M
from helpers.flops import (
    Cost,
    basic_block_cost,
    bottleneck_cost,
    conv_macs,
    count_macs,
    format_table,
    macs_by_module,
    resnet_cost,
    shape_table,
    weighted_depth,
)


def real_macs(model: nn.Module, x: torch.Tensor) -> int:
    """The reference: FlopCounterMode on an ordinary forward pass with real numbers."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(x)
    return counter.get_total_flops() // 2


def test_count_macs_on_meta_equals_a_real_forward_pass():
    torch.manual_seed(0)
    for model, shape in [(M.resnet18(num_classes=10), (2, 3, 64, 48)),
                         (M.ResNet(M.Bottleneck, [1, 1, 1, 1], groups=4, width_per_group=8, width=16), (1, 3, 33, 33)),
                         (M.cifar_resnet(20), (3, 3, 32, 32))]:
        assert count_macs(model, shape) == real_macs(model, torch.randn(shape))


def test_count_macs_scales_with_batch_and_leaves_the_model_alone():
    model = M.resnet18(num_classes=10).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    one, four = count_macs(model, (1, 3, 32, 32)), count_macs(model, (4, 3, 32, 32))
    assert four == 4 * one
    assert model.training and all(m.training for m in model.modules())  # mode restored
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running statistics untouched
    assert next(model.parameters()).device.type == "cpu"


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_resnet_cost_formula_equals_measurement_and_torchvision(depth):
    with torch.device("meta"):
        imagenet = M.resnet(depth)
        cifar = M.resnet(depth, num_classes=10, stem="cifar")
        odd = M.resnet(depth, num_classes=7)
    assert resnet_cost(depth, 224) == (M.count_parameters(imagenet), count_macs(imagenet, (1, 3, 224, 224)))
    assert resnet_cost(depth, 32, stem="cifar", num_classes=10) == (M.count_parameters(cifar),
                                                                    count_macs(cifar, (1, 3, 32, 32)))
    assert resnet_cost(depth, 97, num_classes=7) == (M.count_parameters(odd), count_macs(odd, (1, 3, 97, 97)))
    meta = getattr(torchvision.models, f"ResNet{depth}_Weights").IMAGENET1K_V1.meta
    cost = resnet_cost(depth, 224)
    assert cost.params == meta["num_params"]
    assert round(cost.macs / 1e9, 3) == meta["_ops"]  # torchvision's "GFLOPS" are multiply-adds
    assert weighted_depth(imagenet) == depth


def test_resnext_cost_equals_measurement_and_torchvision():
    with torch.device("meta"):
        model = M.ResNet(M.Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4)
    cost = resnet_cost(50, 224, groups=32, width_per_group=4)
    assert cost == (M.count_parameters(model), count_macs(model))
    assert cost.params == torchvision.models.ResNeXt50_32X4D_Weights.IMAGENET1K_V1.meta["num_params"]


@pytest.mark.parametrize("in_channels,channels,stride,size", [(64, 64, 1, 56), (64, 128, 2, 56), (32, 64, 2, 7),
                                                               (16, 16, 1, 5)])
def test_basic_block_cost(in_channels, channels, stride, size):
    block = M.BasicBlock(in_channels, channels, stride, M.make_shortcut("B", in_channels, channels, stride))
    measured = Cost(M.count_parameters(block), real_macs(block, torch.randn(1, in_channels, size, size)))
    assert basic_block_cost(in_channels, channels, stride, size) == measured


@pytest.mark.parametrize("in_channels,channels,stride,size,groups,wpg", [
    (256, 64, 1, 56, 1, 64), (64, 64, 1, 56, 1, 64), (256, 128, 2, 56, 1, 64), (32, 8, 2, 7, 1, 64),
    (256, 64, 1, 14, 32, 4), (64, 16, 2, 9, 4, 8)])
def test_bottleneck_cost(in_channels, channels, stride, size, groups, wpg):
    out = channels * M.Bottleneck.expansion
    block = M.Bottleneck(in_channels, channels, stride, M.make_shortcut("B", in_channels, out, stride),
                         groups=groups, base_width=wpg)
    measured = Cost(M.count_parameters(block), real_macs(block, torch.randn(1, in_channels, size, size)))
    assert bottleneck_cost(in_channels, channels, stride, size, groups=groups, width_per_group=wpg) == measured


def test_block_formulas_in_closed_form():
    # 18 D^2 H W for a basic block, 17 C^2 H W for a bottleneck (4C in and out), plus batch norm
    assert basic_block_cost(64, 64, 1, 56) == (18 * 64**2 + 4 * 64, 18 * 64**2 * 56**2)
    assert bottleneck_cost(256, 64, 1, 56) == (17 * 64**2 + 2 * (64 + 64 + 256), 17 * 64**2 * 56**2)


@pytest.mark.parametrize("c_in,c_out,k,size,stride,padding,groups", [
    (3, 64, 7, 224, 2, 3, 1), (64, 64, 3, 56, 1, None, 1), (8, 12, 3, (7, 9), 2, 1, 4), (6, 6, 3, 5, 1, 0, 6)])
def test_conv_macs(c_in, c_out, k, size, stride, padding, groups):
    h, w = size if isinstance(size, tuple) else (size, size)
    layer = nn.Conv2d(c_in, c_out, k, stride, k // 2 if padding is None else padding, groups=groups, bias=False)
    assert conv_macs(c_in, c_out, k, size, stride=stride, padding=padding, groups=groups) == \
        real_macs(layer, torch.randn(1, c_in, h, w))


def test_macs_by_module_adds_up():
    with torch.device("meta"):
        model = M.resnet34()
    macs = macs_by_module(model)
    assert macs[""] == count_macs(model)
    assert macs[""] == macs["conv1"] + sum(macs[f"layer{i}"] for i in range(1, 5)) + macs["fc"]
    assert macs["layer1"] == sum(macs[f"layer1.{b}"] for b in range(3))
    assert macs["fc"] == 512 * 1000


def test_shape_table_both_stems():
    with torch.device("meta"):
        imagenet = M.resnet34(num_classes=10)
        cifar = M.resnet34(num_classes=10, stem="cifar")
    rows = shape_table(imagenet, (1, 3, 32, 32))
    assert [r.name for r in rows[:5]] == ["conv1", "bn1", "relu", "maxpool", "layer1.0"]
    shapes = {r.name: r.shape for r in rows}
    assert shapes["maxpool"] == (1, 64, 8, 8) and shapes["layer4.2"] == (1, 512, 1, 1) and shapes["fc"] == (1, 10)
    assert sum(r.macs for r in rows) == count_macs(imagenet, (1, 3, 32, 32))
    assert sum(r.params for r in rows) == M.count_parameters(imagenet)
    cifar_rows = shape_table(cifar, (2, 3, 32, 32))
    shapes = {r.name: r.shape for r in cifar_rows}
    assert shapes["maxpool"] == (2, 64, 32, 32) and shapes["layer2.0"] == (2, 128, 16, 16)
    assert shapes["layer4.2"] == (2, 512, 4, 4)
    assert len(cifar_rows) == len(rows) == 4 + 16 + 2


def test_shape_table_matches_real_shapes_and_lists_every_call():
    torch.manual_seed(0)
    model = M.resnet50(num_classes=10, width=8).eval()
    rows = shape_table(model, (1, 3, 40, 40), depth=3)
    block = [r for r in rows if r.name.startswith("layer2.0.")]
    # call order inside a bottleneck, the shared ReLU module once per call, the projection last
    assert [r.name.split(".", 2)[2] for r in block] == ["conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3",
                                                       "downsample", "relu"]
    x = model.maxpool(model.relu(model.bn1(model.conv1(torch.randn(1, 3, 40, 40)))))
    real = model.layer2(model.layer1(x))
    assert {r.name: r.shape for r in rows}["layer2.3.bn3"] == tuple(real.shape)


def test_weighted_depth():
    assert weighted_depth(M.cifar_resnet(20)) == 20
    assert weighted_depth(M.cifar_resnet(56, residual=False)) == 56
    assert weighted_depth(M.resnet50(residual=False)) == 50


def test_format_table():
    text = format_table(["name", "n", "x"], [("a", 1234, 0.5), ("bbb", 5, 12.25)], floatfmt=".1f")
    lines = text.splitlines()
    assert lines[0] == "name |     n |    x"
    assert lines[1] == "-----+-------+-----"
    assert lines[2] == "a    | 1,234 |  0.5"
    assert lines[3] == "bbb  |     5 | 12.2"


@pytest.mark.parametrize("call,error,match", [
    (lambda: count_macs("resnet18"), TypeError, "model"),
    (lambda: count_macs(nn.Linear(2, 2), (2,)), ValueError, "input_shape"),
    (lambda: count_macs(nn.Linear(2, 2), (1, 0)), ValueError, "input_shape"),
    (lambda: shape_table(nn.Linear(2, 2), (1, 2), depth=0), ValueError, "depth"),
    (lambda: resnet_cost(19), ValueError, "depth"),
    (lambda: resnet_cost(18, stem="tiny"), ValueError, "stem"),
    (lambda: resnet_cost(34, groups=32, width_per_group=4), ValueError, "groups"),
    (lambda: bottleneck_cost(256, 0), ValueError, "channels"),
    (lambda: basic_block_cost(64, 64, 1, 0), ValueError, "size"),
    (lambda: conv_macs(8, 12, 3, 8, groups=5), ValueError, "groups"),
    (lambda: format_table(["a", "b"], [(1,)]), ValueError, "rows"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
