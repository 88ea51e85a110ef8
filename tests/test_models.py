"""helpers.models against torchvision (the reference) and against the paper's numbers."""
from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from helpers import models as M


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_state_dict_and_outputs_equal_torchvision(depth):
    torch.manual_seed(depth)
    reference = getattr(torchvision.models, f"resnet{depth}")(weights=None).eval()
    ours = M.resnet(depth).eval()
    ref_state = reference.state_dict()
    our_state = ours.state_dict()
    assert list(our_state) == list(ref_state)  # same keys, same order
    assert all(our_state[k].shape == v.shape for k, v in ref_state.items())
    ours.load_state_dict(ref_state)  # strict: nothing missing, nothing unexpected
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-4, atol=1e-5)
    assert M.count_parameters(ours) == M.count_parameters(reference)


def test_train_mode_outputs_and_gradients_equal_torchvision():
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(num_classes=10)
    ours = M.resnet18(num_classes=10)
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(4, 3, 48, 48)
    out_ref, out = reference(x), ours(x)
    torch.testing.assert_close(out, out_ref, rtol=1e-4, atol=1e-5)
    out_ref.square().sum().backward()
    out.square().sum().backward()
    torch.testing.assert_close(ours.conv1.weight.grad, reference.conv1.weight.grad, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("depth,params_m", [(20, 0.27), (32, 0.46), (44, 0.66), (56, 0.85), (110, 1.7)])
def test_cifar_nets_have_the_papers_parameter_counts(depth, params_m):
    model = M.cifar_resnet(depth)
    assert round(M.count_parameters(model) / 1e6, 2 if depth < 110 else 1) == params_m
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    n_convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    assert n_convs + 1 == depth  # depth counts the weighted layers: convolutions + the final fc


def test_cifar_net_feature_map_sizes():
    model = M.cifar_resnet(20)
    x = torch.randn(1, 3, 32, 32)
    x = model.relu(model.bn1(model.conv1(x)))
    sizes = []
    for stage in model.stages():
        x = stage(x)
        sizes.append(tuple(x.shape[1:]))
    assert sizes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


def test_plain_nets_have_no_shortcut_and_do_not_add():
    plain = M.cifar_resnet(20, residual=False)
    assert not any(isinstance(m, M.PadShortcut) for m in plain.modules())
    assert all(block.downsample is None and not block.residual for stage in plain.stages() for block in stage)
    # the same weights with and without shortcuts compute different functions
    residual = M.cifar_resnet(20)
    residual.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    plain.eval(), residual.eval()
    assert not torch.allclose(plain(x), residual(x))
    plain_imagenet = M.resnet34(residual=False)
    assert not any("downsample" in k for k in plain_imagenet.state_dict())
    assert M.count_parameters(plain_imagenet) < M.count_parameters(M.resnet34())


def test_option_a_shortcut_has_no_parameters_and_pads_with_zeros():
    model = M.resnet34(stem="cifar", shortcut="A", num_classes=10, width=16)
    shortcuts = [m for m in model.modules() if isinstance(m, M.PadShortcut)]
    assert len(shortcuts) == 3  # one per stage transition
    assert all(sum(p.numel() for p in s.parameters()) == 0 for s in shortcuts)
    assert not any("downsample" in k for k in model.state_dict())
    x = torch.randn(2, 16, 8, 8)
    y = M.PadShortcut(stride=2, extra_channels=16)(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2]) and torch.count_nonzero(y[:, 16:]) == 0


def test_option_b_projects_only_where_the_shape_changes():
    model = M.resnet34()
    projections = [name for name, m in model.named_modules() if name.endswith("downsample")]
    assert projections == ["layer2.0.downsample", "layer3.0.downsample", "layer4.0.downsample"]
    assert M.count_parameters(M.resnet34(shortcut="A")) < M.count_parameters(model)


@pytest.mark.parametrize("builder", [lambda: M.resnet18(zero_init_residual=True, stem="cifar", width=8),
                                     lambda: M.resnet50(zero_init_residual=True, width=8),
                                     lambda: M.cifar_resnet(20, zero_init_residual=True),
                                     lambda: M.cifar_resnet(20, zero_init_residual=True, batch_norm=False),
                                     lambda: M.resnet50(zero_init_residual=True, width=8, batch_norm=False)])
def test_zero_init_makes_every_residual_block_the_identity(builder):
    torch.manual_seed(0)
    model = builder().eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        for stage in model.stages():
            for block in stage:
                shortcut = x if block.downsample is None else block.downsample(x)
                out = block(x)
                # identity on the shortcut path, then the block's final ReLU (a no-op: x >= 0)
                torch.testing.assert_close(out, torch.relu(shortcut))
                x = out
    assert not torch.equal(M.resnet18(width=8).layer1[0].bn2.weight, torch.zeros(8))


def test_width_and_stem_options():
    model = M.resnet34(num_classes=10, stem="cifar", width=16)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)
    assert model.fc.in_features == 16 * 8
    assert round(M.count_parameters(model) / 1e6, 1) == 1.3
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    imagenet = M.resnet34(num_classes=10)
    # the ImageNet stem turns a 32x32 image into 8x8 before layer1, the CIFAR stem keeps 32x32
    stem_out = imagenet.maxpool(imagenet.relu(imagenet.bn1(imagenet.conv1(torch.randn(1, 3, 32, 32)))))
    assert stem_out.shape[-1] == 8


def test_resnext_grouped_bottleneck_matches_torchvision():
    torch.manual_seed(0)
    reference = torchvision.models.resnext50_32x4d().eval()
    ours = M.ResNet(M.Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4).eval()
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: M.resnet34(stem="tiny"), "stem must be one of"),
        (lambda: M.resnet34(shortcut="C"), "shortcut must be one of"),
        (lambda: M.resnet34(width=0), "width must be a positive int"),
        (lambda: M.resnet34(width=-8), "width must be a positive int"),
        (lambda: M.cifar_resnet(21), "depth must be 6n\\+2"),
        (lambda: M.cifar_resnet(2), "depth must be 6n\\+2"),
        (lambda: M.resnet(42), "depth must be one of"),
        (lambda: M.ResNet(M.BasicBlock, []), "layers must be a non-empty list"),
        (lambda: M.ResNet(nn.Linear, [2]), "block must be BasicBlock or Bottleneck"),
        (lambda: M.resnet18(num_classes=0), "num_classes must be a positive int"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_without_batch_norm_every_norm_is_the_identity_and_the_variance_doubles_per_block():
    with_bn, without = M.cifar_resnet(56), M.cifar_resnet(56, batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in without.modules())
    bn_params = sum(p.numel() for m in with_bn.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())
    assert M.count_parameters(without) == M.count_parameters(with_bn) - bn_params
    assert [n for n, _ in without.named_parameters()] == [n for n, _ in with_bn.named_parameters() if ".bn" not in n
                                                           and not n.startswith("bn1.")]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in M.resnet18(width=8, batch_norm=False).modules())
    # He init, no normalisation: each of the 27 blocks about doubles the second moment of x
    torch.manual_seed(0)
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        features = without.features(x)
        zero = M.cifar_resnet(56, batch_norm=False, zero_init_residual=True).features(x)
    assert features.pow(2).mean().sqrt() > 1e3 * zero.pow(2).mean().sqrt()
    with pytest.raises(ValueError, match="batch_norm must be True or False"):
        M.cifar_resnet(20, batch_norm="no")
