"""The ResNet family, written from He et al. (2016), "Deep Residual Learning for Image Recognition".

Module and parameter names follow torchvision's ``models/resnet.py`` exactly (``conv1``, ``bn1``,
``layer1..4``, ``downsample``, ``fc``), so with the default ImageNet stem and projection shortcuts
a torchvision ``state_dict`` loads into these models and gives the same outputs.

The options a learner toggles in the notebooks:

* ``stem="cifar"``: a 3x3 stride-1 convolution and no max-pool, for 32x32 images (the ImageNet
  stem would shrink them to 8x8 before the first block);
* ``residual=False``: the *plain* network of the same depth: the same layers, no shortcuts;
* ``shortcut="A"``: parameter-free shortcuts (subsample by 2, zero-pad the new channels) or
  ``"B"``: a 1x1 convolution + batch norm where the shape changes (torchvision's choice);
* ``zero_init_residual``: the last batch norm of every block starts with gamma = 0 (without batch
  norm: the last convolution starts at zero), so every residual block starts as the identity;
* ``batch_norm=False``: every batch norm replaced by the identity (nothing takes its place; no bias
  is added), for notebook 04's training run without normalisation;
* ``width``: channels of the first stage (64 in the paper; later stages double it).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from helpers.arguments import integer

STEMS = ("imagenet", "cifar")
SHORTCUTS = ("A", "B")


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding 1, no bias (the batch norm after it has one)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution: mixes channels at each pixel, looks at no neighbours."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class PadShortcut(nn.Module):
    """Option A: the identity, subsampled by ``stride`` and zero-padded with extra channels.

    It has no parameters: the new channels start (and stay) zero on the shortcut path.
    """

    def __init__(self, stride: int, extra_channels: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra_channels = extra_channels

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        # pad (W: 0, 0), (H: 0, 0), (C: 0, extra): new channels appended at the end
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.extra_channels))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, extra_channels={self.extra_channels}"


def norm(channels: int, batch_norm: bool = True) -> nn.Module:
    """A batch norm over ``channels``, or the identity when ``batch_norm`` is False."""
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


def make_shortcut(kind: str, in_channels: int, out_channels: int, stride: int,
                  batch_norm: bool = True) -> nn.Module | None:
    """The shortcut for a block whose input is ``in_channels`` and output ``out_channels`` at ``stride``.

    ``None`` means the plain identity (shapes already agree).
    """
    if kind not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {kind!r}")
    if stride == 1 and in_channels == out_channels:
        return None
    if kind == "A":
        if out_channels < in_channels:
            raise ValueError("option A shortcuts can only add channels, not remove them")
        return PadShortcut(stride, out_channels - in_channels)
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), norm(out_channels, batch_norm))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions: out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        groups: int = 1,
        base_width: int = 64,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock supports only groups=1 and base_width=64")
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = norm(channels, batch_norm)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = norm(channels, batch_norm)
        self.downsample = downsample
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carries the stride, as torchvision's "ResNet v1.5"), 1x1 expand by 4."""

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        groups: int = 1,
        base_width: int = 64,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        # ResNeXt widens the 3x3 and splits it into `groups`; groups=1, base_width=64 is ResNet.
        inner = int(channels * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(in_channels, inner)
        self.bn1 = norm(inner, batch_norm)
        self.conv2 = conv3x3(inner, inner, stride, groups)
        self.bn2 = norm(inner, batch_norm)
        self.conv3 = conv1x1(inner, channels * self.expansion)
        self.bn3 = norm(channels * self.expansion, batch_norm)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


Block = type[BasicBlock] | type[Bottleneck]


class ResNet(nn.Module):
    """A stem, stages of residual blocks (``layer1``, ``layer2``, ...), global average pool, ``fc``.

    ``layers`` gives the number of blocks per stage; stage i has ``width * 2**i`` channels
    (times ``block.expansion`` at its output) and every stage after the first halves the
    resolution with a stride-2 first block.
    """

    def __init__(
        self,
        block: Block,
        layers: Sequence[int],
        num_classes: int = 1000,
        *,
        stem: str = "imagenet",
        width: int = 64,
        residual: bool = True,
        shortcut: str = "B",
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        if not (isinstance(block, type) and issubclass(block, (BasicBlock, Bottleneck))):
            raise ValueError(f"block must be BasicBlock or Bottleneck, got {block!r}")
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {shortcut!r}")
        integer("width", width)
        if not isinstance(batch_norm, bool):
            raise ValueError(f"batch_norm must be True or False, got {batch_norm!r}")
        if not layers or any(not isinstance(n, int) or n < 1 for n in layers):
            raise ValueError(f"layers must be a non-empty list of positive ints, got {layers!r}")
        integer("num_classes", num_classes)
        self.residual = residual
        self.shortcut = shortcut
        self.groups = groups
        self.base_width = width_per_group
        self.batch_norm = batch_norm
        self.in_channels = width

        if stem == "imagenet":
            # 224x224 -> 112x112 (conv, stride 2) -> 56x56 (max-pool)
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            # Departure for 32x32 CIFAR images: the ImageNet stem would divide the resolution by 4
            # before the first block; here the first stage sees all 32x32 pixels.
            self.conv1 = conv3x3(3, width)
            self.maxpool = nn.Identity()
        self.bn1 = norm(width, batch_norm)
        self.relu = nn.ReLU(inplace=True)

        self.stage_names: list[str] = []
        for i, blocks in enumerate(layers):
            name = f"layer{i + 1}"
            setattr(self, name, self._make_layer(block, width * 2**i, blocks, stride=1 if i == 0 else 2))
            self.stage_names.append(name)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.in_channels, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        """He-normal convolutions (fan-out), batch norm as the identity; with ``zero_init_residual``
        the last batch norm of every block (without batch norm: its last convolution) starts at zero, so
        that every block starts as the identity."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    last = (m.bn3, m.conv3) if isinstance(m, Bottleneck) else (m.bn2, m.conv2)
                    nn.init.zeros_(last[0].weight if self.batch_norm else last[1].weight)

    def _make_layer(self, block: Block, channels: int, blocks: int, stride: int) -> nn.Sequential:
        out_channels = channels * block.expansion
        downsample = None
        if self.residual:
            downsample = make_shortcut(self.shortcut, self.in_channels, out_channels, stride, self.batch_norm)
        options = dict(residual=self.residual, groups=self.groups, base_width=self.base_width, batch_norm=self.batch_norm)
        layers = [block(self.in_channels, channels, stride, downsample, **options)]
        self.in_channels = out_channels
        for _ in range(1, blocks):
            layers.append(block(self.in_channels, channels, 1, None, **options))
        return nn.Sequential(*layers)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, name) for name in self.stage_names]

    def features(self, x: Tensor) -> Tensor:
        """Everything up to the global pool: (N, 3, H, W) -> (N, C, H/s, W/s)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in self.stages():
            x = stage(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))  # (N, C, 1, 1)
        return self.fc(torch.flatten(x, 1))  # (N, num_classes)


#: blocks per stage for each depth in the paper's Table 1
DEPTHS: dict[int, tuple[Block, list[int]]] = {
    18: (BasicBlock, [2, 2, 2, 2]),
    34: (BasicBlock, [3, 4, 6, 3]),
    50: (Bottleneck, [3, 4, 6, 3]),
    101: (Bottleneck, [3, 4, 23, 3]),
    152: (Bottleneck, [3, 8, 36, 3]),
}


def resnet(depth: int, num_classes: int = 1000, **options) -> ResNet:
    """ResNet-18/34/50/101/152 by depth; options as for :class:`ResNet`."""
    if depth not in DEPTHS:
        raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {depth!r}")
    block, layers = DEPTHS[depth]
    return ResNet(block, layers, num_classes, **options)


def resnet18(num_classes: int = 1000, **options) -> ResNet:
    """ResNet-18: BasicBlock, [2, 2, 2, 2]."""
    return resnet(18, num_classes, **options)


def resnet34(num_classes: int = 1000, **options) -> ResNet:
    """ResNet-34: BasicBlock, [3, 4, 6, 3]."""
    return resnet(34, num_classes, **options)


def resnet50(num_classes: int = 1000, **options) -> ResNet:
    """ResNet-50: Bottleneck, [3, 4, 6, 3]."""
    return resnet(50, num_classes, **options)


def resnet101(num_classes: int = 1000, **options) -> ResNet:
    """ResNet-101: Bottleneck, [3, 4, 23, 3]."""
    return resnet(101, num_classes, **options)


def resnet152(num_classes: int = 1000, **options) -> ResNet:
    """ResNet-152: Bottleneck, [3, 8, 36, 3]."""
    return resnet(152, num_classes, **options)


def cifar_resnet(
    depth: int,
    num_classes: int = 10,
    *,
    residual: bool = True,
    shortcut: str = "A",
    width: int = 16,
    zero_init_residual: bool = False,
    batch_norm: bool = True,
) -> ResNet:
    """The paper's CIFAR-10 networks (Section 4.2): depth = 6n + 2, three stages of n basic blocks
    with 16, 32 and 64 channels on 32x32, 16x16 and 8x8 maps, option-A shortcuts.

    ResNet-20/32/44/56/110 have 0.27M/0.46M/0.66M/0.85M/1.7M parameters; ``residual=False`` gives
    the plain nets of the degradation experiment.
    """
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110, ...), got {depth!r}")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, [n, n, n], num_classes, stem="cifar", width=width, residual=residual,
                  shortcut=shortcut, zero_init_residual=zero_init_residual, batch_norm=batch_norm)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


MODELS: dict[str, Callable[..., ResNet]] = {
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnet152": resnet152,
}
