"""Checks for the exercises of 03_residual_blocks.

Each check runs the learner's code on real ``nn`` modules and ``helpers.models`` blocks (random
batch-norm parameters and running statistics, train and eval mode, stride 1 and 2, odd sizes,
option A and B shortcuts) and compares with a reference written here or with ``helpers.models``.
Where a wrong answer has a common cause (the post-activation order, a ReLU after the addition,
zeros on the wrong side, a dead branch...) the message names it.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from helpers import models
from helpers.checks import close, exercise_check, expect_equal, expect_tensor, fail, passed, refusing
from helpers.models import BasicBlock, PadShortcut, count_parameters, make_shortcut


def _random_bn(bn: nn.BatchNorm2d, g: torch.Generator) -> nn.BatchNorm2d:
    """Batch-norm parameters and running statistics far from their defaults, so mistakes show."""
    c = bn.num_features
    with torch.no_grad():
        bn.weight.copy_(torch.rand(c, generator=g) + 0.5)
        bn.bias.copy_(torch.randn(c, generator=g) * 0.5)
        bn.running_mean.copy_(torch.randn(c, generator=g))
        bn.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    return bn


def _without_ready_made_shortcuts(exercise: str, function, *args):
    """Call ``function`` while ``make_shortcut``, ``PadShortcut`` and building convolutions or batch
    norms are refused: the exercise is to write option A (or count the parameters) without
    ``helpers.models`` doing it."""
    with refusing({models: ["make_shortcut"], PadShortcut: ["__init__", "forward"], nn.Conv2d: ["__init__"],
                   nn.BatchNorm2d: ["__init__"]}, function, exercise=exercise,
                  hint="The point is to do it yourself, with slicing and zeros (or with a formula), not to "
                       "build helpers.models' shortcut or layers and measure them."):
        return function(*args)


# --------------------------------------------------------------------------- exercise 1

def _preact_modules(in_channels: int, out_channels: int, stride: int, kind: str | None, g: torch.Generator):
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
    bn1 = _random_bn(nn.BatchNorm2d(in_channels), g)
    conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
    bn2 = _random_bn(nn.BatchNorm2d(out_channels), g)
    conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
    shortcut = make_shortcut(kind, in_channels, out_channels, stride) if kind else None
    if isinstance(shortcut, nn.Sequential):
        _random_bn(shortcut[1], g)
    return [bn1, conv1, bn2, conv2, shortcut]


def _preact_reference(x: Tensor, bn1, conv1, bn2, conv2, shortcut=None) -> Tensor:
    out = F.relu(bn1(x))
    identity = x if shortcut is None else shortcut(out)
    return conv2(F.relu(bn2(conv1(out)))) + identity


def _in_mode(modules: list, training: bool) -> list:
    """A deep copy of the block's modules, in training or eval mode."""
    copies = copy.deepcopy(modules)
    for m in copies:
        if m is not None:
            m.train(training)
    return copies


@exercise_check("preact_block")
def check_preact_block(preact_block) -> None:
    g = torch.Generator().manual_seed(3)
    # (in, out, stride, shortcut kind, input size): identity blocks, option A and B transitions, odd sizes
    cases = [(8, 8, 1, None, 6), (4, 4, 1, None, 5), (4, 8, 2, "A", 8), (6, 12, 2, "B", 7), (5, 7, 1, "B", 5)]
    for in_channels, out_channels, stride, kind, size in cases:
        modules = _preact_modules(in_channels, out_channels, stride, kind, g)
        x = torch.randn(4, in_channels, size, size, generator=g) * 1.5 + 0.3
        what = (f"a block {in_channels} -> {out_channels} channels, stride {stride}, "
                + (f"option-{kind} shortcut" if kind else "identity shortcut") + f", on a {size}x{size} input")
        for training in (True, False):
            theirs, ours = _in_mode(modules, training), _in_mode(modules, training)
            x_before = x.clone()
            got = preact_block(x.clone(), *theirs)
            expected = _preact_reference(x, *ours)
            mode = "training" if training else "eval"
            if not torch.equal(x, x_before):
                fail("preact_block changed its input x in place (an in-place ReLU on x?); compute new tensors.")
            if isinstance(got, Tensor) and got.shape == expected.shape and not close(got, expected):
                identity = x if ours[4] is None else ours[4](F.relu(ours[0](x)))
                if close(got, F.relu(expected)) and not close(expected, F.relu(expected)):
                    fail(f"on {what}: your output has a ReLU after the addition. The pre-activation block "
                         "returns the sum itself, so the shortcut path stays a pure identity from block to block.")
                if kind and close(got, expected - identity + ours[4](x)):
                    fail(f"on {what}: the shortcut was applied to x. In this exercise it takes the pre-activated "
                         "input relu(bn1(x)), like the branch.")
                if not kind and close(got, expected - x + F.relu(ours[0](x))):
                    fail(f"on {what}: you added relu(bn1(x)) instead of x. Without a shortcut module the "
                         "block adds its input x itself.")
                if not kind:  # the channels stay the same, so the modules also run in the post-activation order
                    bn1, conv1, bn2, conv2, _ = _in_mode(modules, training)
                    if close(got, F.relu(bn2(conv2(F.relu(bn1(conv1(x))))) + x)):
                        fail(f"on {what}: that is the original post-activation block (convolution, then batch norm "
                             "and ReLU, and a ReLU after the addition). The pre-activation block applies batch "
                             "norm and ReLU *before* each convolution, and returns the sum itself.")
            expect_tensor(got, expected, f"preact_block on {what}, {mode} mode")
            for name, a, b in (("bn1", theirs[0], ours[0]), ("bn2", theirs[2], ours[2])):
                if training and not torch.allclose(a.running_mean, b.running_mean):
                    fail(f"on {what}: {name}'s running statistics were updated a different number of times than "
                         f"in one forward pass; call each batch norm once per call.")
    passed("preact_block", f"equal to the reference on {len(cases)} blocks (identity, option A and B shortcuts, "
                           "odd sizes), in training and eval mode")


# --------------------------------------------------------------------------- exercise 2

@exercise_check("pad_shortcut")
def check_pad_shortcut(pad_shortcut) -> None:
    g = torch.Generator().manual_seed(4)
    # (N, C, H, W, out_channels, stride): even and odd sizes, non-square, stride 1 and 3, a batch of 1
    cases = [(2, 16, 8, 8, 32, 2), (3, 4, 7, 7, 8, 2), (1, 3, 5, 6, 8, 2), (2, 5, 9, 9, 6, 3), (2, 6, 4, 4, 10, 1),
             (2, 8, 4, 4, 8, 2)]
    for n, c, h, w, out_channels, stride in cases:
        x = torch.randn(n, c, h, w, generator=g) + 1.0
        x_before = x.clone()
        got = _without_ready_made_shortcuts("pad_shortcut", pad_shortcut, x, out_channels, stride)
        expected = PadShortcut(stride, out_channels - c)(x)
        call = f"pad_shortcut(x of shape {(n, c, h, w)}, out_channels={out_channels}, stride={stride})"
        if not torch.equal(x, x_before):
            fail(f"{call} changed x in place.")
        branch = nn.Conv2d(c, out_channels, 3, stride=stride, padding=1)(x).shape
        if isinstance(got, Tensor) and got.shape[2:] != branch[2:]:
            fail(f"{call} returned height x width {tuple(got.shape[2:])}, but the branch (3x3 conv, padding 1, "
                 f"stride {stride}) gives {tuple(branch[2:])}: they could not be added. Keep pixels 0, "
                 f"{stride}, {2 * stride}, ... (x[:, :, ::{stride}, ::{stride}]); for odd sizes that keeps the "
                 "last row too.")
        if isinstance(got, Tensor) and got.shape == expected.shape and not close(got, expected):
            sub = x[:, :, ::stride, ::stride]
            extra = out_channels - c
            if close(got[:, extra:], sub) and extra > 0:
                fail(f"{call}: the zero channels come first. Append them after the existing channels, so that "
                     "channel k of the input stays channel k.")
            if extra > 0 and close(got[:, extra // 2: extra // 2 + c], sub):
                fail(f"{call}: you split the zero channels between both sides. This exercise (and "
                     "helpers.models.PadShortcut) appends all of them after the existing channels.")
            if any(close(got[:, :c], x[:, :, i::stride, j::stride]) for i in range(stride) for j in range(stride)
                   if i or j):
                fail(f"{call}: you kept a pixel of each {stride}x{stride} square other than the top-left one. "
                     f"Start with the first: keep rows and columns 0, {stride}, {2 * stride}, ...")
            if extra > 0 and close(got[:, :c], sub) and not close(got[:, c:], torch.zeros_like(got[:, c:])):
                fail(f"{call}: the {c} input channels are right, but the {extra} added channels are not zero "
                     f"(channel {c} starts with {got[0, c, 0, 0].item():g}); option A pads with zeros, so that "
                     "they add nothing to the branch.")
            if close(got[:, :c], F.max_pool2d(x, stride, stride, ceil_mode=True)) or close(
                    got[:, :c], F.avg_pool2d(x, stride, stride, ceil_mode=True)):
                fail(f"{call}: you pooled. Option A keeps one pixel of each {stride}x{stride} square, the "
                     "top-left one, as a stride-2 1x1 convolution would see it.")
        expect_tensor(got, expected, call)
        if got.shape[1] > c and got[:, c:].abs().max() != 0:
            fail(f"{call}: the new channels must be exactly zero.")
    passed("pad_shortcut", f"equal to helpers.models.PadShortcut on {len(cases)} inputs, odd sizes and strides "
                           "1, 2, 3 included")


# --------------------------------------------------------------------------- exercise 3

@exercise_check("shortcut_params")
def check_shortcut_params(shortcut_params) -> None:
    # identity shapes with both kinds, the CIFAR transitions, torchvision's, a stride-1 channel change
    cases = [(16, 16, 1, "A"), (16, 16, 1, "B"), (16, 32, 2, "A"), (16, 32, 2, "B"), (32, 64, 2, "B"),
             (64, 128, 2, "B"), (256, 512, 2, "B"), (8, 12, 1, "B"), (8, 12, 1, "A"), (10, 10, 2, "B"),
             (10, 10, 2, "A")]
    for in_channels, out_channels, stride, kind in cases:
        shortcut = make_shortcut(kind, in_channels, out_channels, stride)
        expected = 0 if shortcut is None else count_parameters(shortcut)
        call = f"shortcut_params({in_channels}, {out_channels}, stride={stride}, kind={kind!r})"
        got = _without_ready_made_shortcuts("shortcut_params", shortcut_params, in_channels, out_channels, stride,
                                            kind)
        if got == expected:
            continue
        hint = ""
        if shortcut is None and got == in_channels * out_channels + 2 * out_channels:
            hint = (" Here the shapes already agree (same channels, stride 1): the shortcut is the plain identity "
                    "for either option, with no parameters.")
        elif kind == "B" and got == in_channels * out_channels:
            hint = " That is the 1x1 convolution alone: its batch norm adds 2 parameters (gamma, beta) per channel."
        elif kind == "B" and got == in_channels * out_channels + 3 * out_channels:
            hint = " The 1x1 convolution has no bias (the batch norm after it has one)."
        elif kind == "B" and got == 9 * in_channels * out_channels + 2 * out_channels:
            hint = " The projection is a 1x1 convolution, not 3x3."
        elif kind == "A" and got == out_channels - in_channels:
            hint = " The padded channels are zeros, not parameters: option A learns nothing."
        fail(f"{call} returned {got!r}, but make_shortcut builds a shortcut with {expected:,} parameters.{hint}")
    passed("shortcut_params", f"equal to count_parameters(make_shortcut(...)) in {len(cases)} cases, identity "
                              "shapes included; option B adds 2,752 parameters to any CIFAR ResNet, ResNet-110 too")


# --------------------------------------------------------------------------- exercise 4

@exercise_check("make_identity")
def check_make_identity(make_identity) -> None:
    g = torch.Generator().manual_seed(5)
    changed_total = 0
    for channels, size in ((8, 6), (4, 5), (16, 3)):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
        block = BasicBlock(channels, channels)
        for bn in (block.bn1, block.bn2):
            _random_bn(bn, g)
        before = {k: v.clone() for k, v in block.state_dict().items()}
        result = make_identity(block)
        if isinstance(result, nn.Module) and result is not block:
            fail("make_identity returned a new module; change the parameters of the block you were given, in place.")
        changed_total += sum(int((before[k] != v).sum()) for k, v in block.state_dict().items()
                             if k in before and v.dtype.is_floating_point)
        what = f"a BasicBlock({channels}, {channels}) with random batch-norm parameters and running statistics"
        for training in (True, False):
            block.train(training)
            x = torch.relu(torch.randn(4, channels, size, size, generator=g))
            with torch.no_grad():
                got = block(x.clone())
            if not close(got, x):
                detail = ""
                if not training:
                    detail = (" In eval mode batch norm uses the running statistics: a zero input to bn2 comes out "
                              "as beta - gamma * running_mean / sqrt(running_var + eps), not as zero.")
                elif block.bn2.weight.abs().max() == 0 and block.bn2.bias.abs().max() > 0:
                    detail = (" With gamma = 0, bn2 outputs beta everywhere: the branch adds a constant per "
                              "channel.")
                elif not block.residual:
                    detail = " The block was made plain (residual=False): without the shortcut it cannot pass x on."
                fail(f"on {what}, in {'training' if training else 'eval'} mode, block(x) differs from x by up to "
                     f"{(got.detach() - x).abs().max().item() if isinstance(got, Tensor) else float('nan'):.3g}."
                     + detail)
        block.train()
        block.zero_grad(set_to_none=True)
        x = torch.relu(torch.randn(4, channels, size, size, generator=g)).requires_grad_()
        block(x).square().sum().backward()
        grad = block.bn2.weight.grad
        if grad is None or grad.abs().max() == 0:
            fail(f"on {what}: the block is the identity, but its branch is dead: after a backward pass the last "
                 "batch norm's gamma gets no gradient, so training can never turn the branch back on. Leave the "
                 "convolutions and bn1 alone, so that bn2 still sees a varying input.")
    expect_equal(changed_total > 0, True, "whether make_identity changed any parameter")
    passed("make_identity", f"identity in training and eval mode on 3 blocks, branch still trainable; you changed "
                            f"{changed_total} numbers in {3} blocks")
