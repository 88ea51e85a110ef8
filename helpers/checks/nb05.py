"""Checks for the exercises of 05_bottleneck_and_the_resnet_family.

Each check builds the real thing (``helpers.models.Bottleneck`` with torchvision's projection
shortcut, ``F.conv2d`` with ``groups``), measures it (``count_parameters``, ``FlopCounterMode``,
its forward pass) on several configurations, including stride 2, projection shortcuts, odd sizes,
ResNeXt groups and eval mode, and compares with the learner's answer. Where a wrong answer has a
common cause (batch-norm parameters forgotten, the shortcut forgotten, FLOPs instead of
multiply-adds, the ReLU before the addition ...) the message names it.

Exercise 5's pre-activation bottleneck (He et al., 2016b) is :class:`PreActBottleneck`, defined here;
its check compares with a reference written with ``F.batch_norm`` and ``F.conv2d``.
"""
from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from helpers import flops, models
from helpers.checks import (
    CheckFailed,
    close,
    exercise_check,
    expect_tensor,
    fail,
    passed,
    precomputed,
    randomise_batch_norm,
    refuse_reaching,
    refusing,
    substituting,
)
from helpers.models import Bottleneck, count_parameters, make_shortcut

# (in_channels, channels, stride): identity, projection at stride 1 (first block of ResNet-50),
# projection at stride 2 (first block of stages 2-4), and deeper stages.
_BLOCKS = [(256, 64, 1), (64, 64, 1), (256, 128, 2), (512, 128, 1), (1024, 512, 2), (32, 8, 2), (16, 4, 1)]


# Counting by building the block (or its layers) and measuring it, or by helpers.flops' formulas.
_READY_MADE = {models: ["make_shortcut"], Bottleneck: ["__init__"], nn.Conv2d: ["__init__"],
               nn.BatchNorm2d: ["__init__"], flops: ["bottleneck_cost", "basic_block_cost", "conv_macs", "count_macs",
                                                    "macs_by_module"]}


def _bottleneck(in_channels: int, channels: int, stride: int, groups: int = 1, width_per_group: int = 64) -> Bottleneck:
    downsample = make_shortcut("B", in_channels, channels * Bottleneck.expansion, stride)
    return Bottleneck(in_channels, channels, stride, downsample, groups=groups, base_width=width_per_group)


@exercise_check("bottleneck_params")
def check_bottleneck_params(bottleneck_params) -> None:
    for in_channels, channels, stride in _BLOCKS:
        block = _bottleneck(in_channels, channels, stride)
        expected = count_parameters(block)
        call = f"bottleneck_params({in_channels}, {channels}, stride={stride})"
        with refusing(_READY_MADE, bottleneck_params, exercise="bottleneck_params",
                      hint="Count with a formula; measure your predictions in a scratch cell instead."):
            got = bottleneck_params(in_channels, channels, stride)
        if got == expected:
            continue
        out = 4 * channels
        has_projection = block.downsample is not None
        bn = 2 * (channels + channels + out) + (2 * out if has_projection else 0)
        projection = in_channels * out + 2 * out
        no_expansion = (in_channels * channels + 9 * channels * channels + channels * channels + 6 * channels
                        + (in_channels * channels + 2 * channels if stride != 1 or in_channels != channels else 0))
        hint = ""
        if got == expected - bn:
            hint = " That is the convolutions alone: each batch norm adds 2 parameters (gamma, beta) per channel."
        elif has_projection and got == expected - projection:
            hint = (f" The shape changes here ({in_channels} -> {out} channels, stride {stride}), so the shortcut "
                    "is a 1x1 convolution with its own batch norm: count it too.")
        elif has_projection and got == expected - in_channels * out:
            hint = " The projection shortcut's 1x1 convolution is missing."
        elif got == no_expansion:
            hint = f" The last 1x1 convolution expands to 4 x channels = {out}: remember the expansion."
        elif not has_projection and got == expected + projection:
            hint = (f" Here the input already has {in_channels} = 4 x {channels} channels and stride is 1: the "
                    "shortcut is the identity, with no parameters.")
        fail(f"{call} returned {got!r}, but the block has {expected:,} parameters "
             f"(count_parameters on helpers.models.Bottleneck with its shortcut).{hint}")
    passed("bottleneck_params", f"{len(_BLOCKS)} blocks, with and without a projection shortcut, stride 1 and 2")


_MACS_CASES = [(256, 64, 1, 56), (64, 64, 1, 56), (256, 128, 2, 56), (1024, 512, 2, 14), (32, 8, 2, 7), (16, 4, 1, 5),
               (64, 16, 2, 9)]  # in_channels, channels, stride, size


def _macs_hint_cases() -> list[tuple[int, int, int, int, int, int | None]]:
    """The arguments the hints of check_bottleneck_macs give _bottleneck_macs."""
    cases = []
    for cin, c, stride, size in _MACS_CASES:
        small, projection = (size - 1) // stride + 1, stride != 1 or cin != 4 * c
        cases += [(cin, c, size, small, small, None), (cin, c, small, small, small, small),
                  (cin, c, size, size, size, size), (cin, c, size, size // 2, size // 2, size // 2 if projection else None),
                  (cin, c, size, small, size, small if projection else None)]
    return cases


@precomputed(_macs_hint_cases)
def _bottleneck_macs(in_channels: int, channels: int, size1: int, size2: int, size3: int,
                     size_projection: int | None) -> int:
    """Multiply-adds of the bottleneck's convs with each one's output size given: for the hints."""
    out = 4 * channels
    macs = in_channels * channels * size1**2 + 9 * channels * channels * size2**2 + channels * out * size3**2
    return macs + (in_channels * out * size_projection**2 if size_projection else 0)


@exercise_check("bottleneck_macs")
def check_bottleneck_macs(bottleneck_macs) -> None:
    cases = _MACS_CASES
    for in_channels, channels, stride, size in cases:
        block = _bottleneck(in_channels, channels, stride).eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            block(torch.zeros(1, in_channels, size, size))
        expected = counter.get_total_flops() // 2
        call = f"bottleneck_macs({in_channels}, {channels}, stride={stride}, size={size})"
        with refusing({**_READY_MADE, F: ["conv2d"], torch: ["conv2d"]}, bottleneck_macs, exercise="bottleneck_macs",
                      hint="Count with a formula: one term per convolution, at its output size."):
            got = bottleneck_macs(in_channels, channels, stride, size)
        if got == expected:
            continue
        has_projection = block.downsample is not None
        small = (size - 1) // stride + 1  # output size of the strided convs
        hint = ""
        if got == 2 * expected:
            hint = " That is the FLOP count: one multiply-add is 2 FLOPs, count it once."
        elif has_projection and got == _bottleneck_macs(in_channels, channels, size, small, small, None):
            hint = " The projection shortcut (a 1x1 convolution at the output size) costs multiply-adds too."
        elif stride > 1 and got == _bottleneck_macs(in_channels, channels, small, small, small, small):
            hint = (" You put the stride in the first 1x1 convolution (the paper's original block); here, as in "
                    "torchvision, the 3x3 convolution carries it and the 1x1 reduce runs at the input size.")
        elif stride > 1 and got == _bottleneck_macs(in_channels, channels, size, size, size, size):
            hint = " The stride is missing: after a stride-2 3x3 convolution the map is half as wide and high."
        elif stride > 1 and size % 2 and got == _bottleneck_macs(in_channels, channels, size, size // 2, size // 2,
                                                                  size // 2 if has_projection else None):
            hint = (f" A 3x3 convolution with padding 1 and stride 2 turns {size}x{size} into {small}x{small}: "
                    "floor((size + 2 - 3) / 2) + 1, not size // 2.")
        elif stride > 1 and got == _bottleneck_macs(in_channels, channels, size, small, size,
                                                    small if has_projection else None):
            hint = " After the strided 3x3, the last 1x1 convolution runs at the *output* size."
        fail(f"{call} returned {got!r}, but FlopCounterMode measures {expected:,} multiply-adds for that block "
             f"on one {in_channels} x {size} x {size} input.{hint}")
    passed("bottleneck_macs", f"equal to FlopCounterMode on {len(cases)} blocks (stride 2, projection, odd sizes)")


def _not_the_block(*args, **kwargs):
    raise AssertionError("bottleneck_forward called the block itself")


@contextlib.contextmanager
def _call_log(block: nn.Module) -> Iterator[list[str]]:
    """The names of the block's layers (``conv1``, ``bn1`` ...), in the order the learner's code calls them."""
    log: list[str] = []
    handles = [module.register_forward_pre_hook(lambda module, args, name=name: log.append(name))
               for name, module in block.named_children()]
    try:
        yield log
    finally:
        for handle in handles:
            handle.remove()


def _follows(log: list[str], first: str, second: str) -> bool:
    """Whether ``second`` was called right after ``first`` somewhere in ``log``."""
    return any(a == first and b == second for a, b in zip(log, log[1:], strict=False))


@exercise_check("bottleneck_forward")
def check_bottleneck_forward(bottleneck_forward) -> None:
    g = torch.Generator().manual_seed(5)
    cases = [  # what, (in, channels, stride, groups, width_per_group), input size, train mode?
        ("identity shortcut (256 -> 256 channels, stride 1), eval mode", (256, 64, 1, 1, 64), 8, False),
        ("projection shortcut at stride 1 (64 -> 256 channels), eval mode", (64, 64, 1, 1, 64), 8, False),
        ("stride 2 with a projection shortcut (256 -> 512 channels), eval mode", (256, 128, 2, 1, 64), 8, False),
        ("stride 2 on an odd 7x7 input, eval mode", (32, 16, 2, 1, 64), 7, False),
        ("stride 2 with a projection, training mode (batch statistics)", (64, 32, 2, 1, 64), 6, True),
        ("a ResNeXt block (4 groups), identity shortcut, eval mode", (64, 16, 1, 4, 8), 5, False),
    ]
    with torch.no_grad():
        for what, (cin, c, stride, groups, wpg), size, training in cases:
            block = _bottleneck(cin, c, stride, groups, wpg)
            randomise_batch_norm(block, g)
            block.train(training)
            theirs, probe = copy.deepcopy(block), copy.deepcopy(block)
            x = torch.randn(3, cin, size, size, generator=g)
            expected = block(x.clone())
            no_conv3 = (f"for {what}: your branch stops after conv2 and bn2, as the basic block's does. The "
                        "bottleneck has a third convolution: block.conv3 (1x1, expanding to 4 x channels) and "
                        "block.bn3 come after the second ReLU, before the addition.")
            refuse_reaching("bottleneck_forward", [bottleneck_forward], {Bottleneck: ["forward"]},
                            hint="Write the forward pass from the block's layers: conv1, bn1, conv2, bn2, conv3, "
                                 "bn3 and downsample.")
            with mock.patch.object(Bottleneck, "forward", _not_the_block), _call_log(theirs) as log:
                try:
                    got = bottleneck_forward(theirs, x.clone())
                except AssertionError:
                    fail("bottleneck_forward called the block itself (block(x) or block.forward(x)); write the "
                         "forward pass from its layers: conv1, bn1, conv2, bn2, conv3, bn3 and downsample.")
                except RuntimeError as error:
                    if "conv2" in log and "conv3" not in log and "size" in str(error):
                        fail(no_conv3 + f" (Adding the shortcut failed: {error}.)")
                    if theirs.downsample is not None and "size" in str(error):
                        fail(f"for {what}: adding the shortcut failed ({error}). The input and the output have "
                             "different shapes here: pass the input through block.downsample first "
                             "(when it is not None).")
                    raise
            if "conv2" in log and "conv3" not in log and not close(got, expected, atol=1e-4):
                fail(no_conv3)
            if isinstance(got, torch.Tensor) and got.shape == expected.shape:
                shortcut = x if probe.downsample is None else probe.downsample(x)
                branch = probe.bn3(probe.conv3(F.relu(probe.bn2(probe.conv2(F.relu(probe.bn1(probe.conv1(x))))))))
                if torch.allclose(got, F.relu(branch) + shortcut, atol=1e-5) and not torch.allclose(got, expected):
                    fail(f"for {what}: you apply the last ReLU before adding the shortcut; add first, then ReLU "
                         "(relu(bn3(conv3(...)) + shortcut)).")
                if torch.allclose(got, F.relu(F.relu(branch) + shortcut), atol=1e-5) and not torch.allclose(
                        got, expected):
                    fail(f"for {what}: you apply a ReLU to the branch before adding the shortcut, and another after "
                         "it; only the one after the addition belongs there (relu(bn3(conv3(...)) + shortcut)).")
                if bool((got < 0).any()):
                    fail(f"for {what}: the output has negative values; a block ends with a ReLU, after the addition.")
                if torch.allclose(got, F.relu(branch), atol=1e-5) and not torch.allclose(got, expected):
                    fail(f"for {what}: the shortcut is missing; a residual block adds its input (or "
                         "block.downsample(input)) to the branch.")
                no_norm = probe.conv3(F.relu(probe.conv2(F.relu(probe.conv1(x)))))
                if torch.allclose(got, F.relu(no_norm + shortcut), atol=1e-4) and not torch.allclose(got, expected):
                    fail(f"for {what}: the batch norms are missing; each convolution of the branch is followed by "
                         "its own batch norm (bn1, bn2, bn3), before the ReLU.")
            expect_tensor(got, expected, f"bottleneck_forward for {what}, compared with helpers.models.Bottleneck",
                          rtol=1e-4, atol=1e-4)
            if training and not torch.allclose(theirs.bn1.running_mean, block.bn1.running_mean):
                fail(f"for {what}: the batch-norm running statistics were not updated as the block's own forward "
                     "pass updates them; call block.bn1(...) etc. exactly once each.")
    passed("bottleneck_forward", f"equal to helpers.models.Bottleneck in {len(cases)} cases (stride 2, projection, "
                                 "odd size, training mode, groups)")


@exercise_check("grouped_conv2d")
def check_grouped_conv2d(grouped_conv2d) -> None:
    g = torch.Generator().manual_seed(7)
    cases = [  # what, x shape, weight shape, groups, stride, padding
        ("4 groups, 8 -> 12 channels, 3x3, padding 1 (the notebook's example)", (2, 8, 6, 6), (12, 2, 3, 3), 4, 1, 1),
        ("2 groups, 4 -> 6 channels, 3x3, padding 1", (2, 4, 6, 6), (6, 2, 3, 3), 2, 1, 1),
        ("4 groups, 8 -> 8 channels, stride 2, padding 1, odd 7x9 input", (1, 8, 7, 9), (8, 2, 3, 3), 4, 2, 1),
        ("1 group (an ordinary convolution)", (2, 3, 5, 5), (4, 3, 3, 3), 1, 1, 0),
        ("depthwise: 6 groups of 1 channel each", (1, 6, 5, 5), (6, 1, 3, 3), 6, 1, 1),
        ("32 groups of 4 channels (ResNeXt's 32x4d), 1x1 output map", (1, 128, 3, 3), (128, 4, 3, 3), 32, 2, 0),
    ]
    real_conv2d = F.conv2d
    case = {"channels": 0, "groups": 1}  # the input channels and groups of the case being run

    def ungrouped_only(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if groups != 1:
            raise CheckFailed("grouped_conv2d passed groups=... to F.conv2d; the point is to build it from ordinary "
                              "convolutions, one per group, and concatenate the results.")
        if case["groups"] > 1 and x.shape[1] == case["channels"]:
            raise CheckFailed(f"grouped_conv2d ran one convolution over all {case['channels']} input channels (a "
                              "block-diagonal weight, as the notebook built one?). This exercise "
                              "asks for the other construction: one ordinary convolution per group, on that "
                              f"group's {case['channels'] // case['groups']} input channels, and the "
                              f"{case['groups']} results concatenated along the channels.")
        return real_conv2d(x, weight, bias, stride, padding, dilation, 1)

    for what, xs, ws, groups, stride, padding in cases:
        case.update(channels=xs[1], groups=groups)
        x, w = torch.randn(*xs, generator=g), torch.randn(*ws, generator=g)
        expected = real_conv2d(x, w, stride=stride, padding=padding, groups=groups)
        # also where the learner imported it (from torch.nn.functional import conv2d) or called torch.conv2d
        with substituting({F: {"conv2d": ungrouped_only}, torch: {"conv2d": ungrouped_only}}, grouped_conv2d):
            got = grouped_conv2d(x, w, groups, stride, padding)
        if isinstance(got, torch.Tensor) and not close(got, expected, atol=1e-4):
            for s, p in sorted({(1, 0), (stride, 0), (1, padding)} - {(stride, padding)}):
                if close(got, real_conv2d(x, w, stride=s, padding=p, groups=groups), atol=1e-4):
                    missing = [name for name, used, given in (("stride", s, stride), ("padding", p, padding))
                               if used != given]
                    fail(f"for {what}: your output is what the convolution gives without the "
                         f"{' and '.join(missing)}: pass stride={stride} and padding={padding} on to every "
                         "group's convolution.")
            if close(got, expected.unflatten(1, (groups, -1)).sum(1), atol=1e-4):
                fail(f"for {what}: you added up the groups' outputs. Each group makes {ws[0] // groups} of the "
                     f"{ws[0]} output channels: concatenate the groups' outputs along the channels.")
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and groups > 1:
            same_input = torch.cat([real_conv2d(x[:, : xs[1] // groups], wg, stride=stride, padding=padding)
                                    for wg in w.chunk(groups, 0)], 1)
            if torch.allclose(got, same_input, atol=1e-4):
                fail(f"for {what}: every group saw the first group's input channels; group i must see input "
                     f"channels i*C_in/groups ... (i+1)*C_in/groups - 1 (x.chunk(groups, dim=1)).")
        expect_tensor(got, expected, f"grouped_conv2d for {what}, compared with F.conv2d(..., groups={groups})",
                      rtol=1e-4, atol=1e-4)
    passed("grouped_conv2d", f"equal to F.conv2d with groups in {len(cases)} cases (stride 2, depthwise, 32 groups)")


class PreActBottleneck(nn.Module):
    """The pre-activation bottleneck of He et al. (2016b), "Identity Mappings in Deep Residual Networks".

    Batch norm and ReLU come before each convolution; the sum is returned without a ReLU. ``bn1``
    normalises the block's input (``in_channels``), ``bn2`` and ``bn3`` the inner ``channels``.
    ``downsample`` is None (identity shortcut) or a strided 1x1 convolution without batch norm, which
    gets the pre-activated input ``relu(bn1(x))``, as in the paper's reference code. The layers are
    defined in the order the forward pass uses them. The forward pass is Exercise 5: the class has none.
    """

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        out = channels * self.expansion
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, out, 1, bias=False)
        self.downsample = None
        if stride != 1 or in_channels != out:
            self.downsample = nn.Conv2d(in_channels, out, 1, stride, bias=False)

def _preact_cases() -> list[tuple[str, PreActBottleneck, torch.Tensor, bool]]:
    """(what, block, x, training mode?): identity and projection shortcuts, stride 1 and 2, train and eval."""
    g = torch.Generator().manual_seed(11)
    cases = []
    for what, (cin, c, stride), size, training in [  # what, (in_channels, channels, stride), input size, train?
        ("an identity shortcut (64 -> 64 channels, stride 1), eval mode", (64, 16, 1), 6, False),
        ("a projection at stride 1 (16 -> 64 channels), eval mode", (16, 16, 1), 6, False),
        ("a projection at stride 2 (64 -> 128 channels) on an odd 7x7 input, eval mode", (64, 32, 2), 7, False),
        ("a projection at stride 2 (32 -> 32 channels, in_channels == 4 x channels), training mode", (32, 8, 2), 6,
         True),
        ("an identity shortcut (32 -> 32 channels, stride 1), training mode", (32, 8, 1), 5, True),
        ("a projection at stride 1 (24 -> 64 channels), training mode", (24, 16, 1), 5, True),
    ]:
        with torch.random.fork_rng():  # the same convolution weights every time, the learner's RNG untouched
            torch.manual_seed(int(torch.randint(2**31 - 1, (1,), generator=g)))
            block = PreActBottleneck(cin, c, stride)
        randomise_batch_norm(block, g)
        block.train(training)
        cases.append((what, block, torch.randn(3, cin, size, size, generator=g) * 1.5 + 0.3, training))
    return cases


_PREACT_SLIPS = {  # a typical mistake, and what to say about it
    "raw_projection": "the projection shortcut got the raw input x. In this block it gets the pre-activated input "
                      "relu(bn1(x)), the same tensor that goes into conv1.",
    "preact_identity": "the identity shortcut adds relu(bn1(x)); it must add x itself, unchanged. Only the "
                       "projection (when downsample is not None) sees the pre-activated input.",
    **{f"skip_{name}": f"block.{name} is missing. Each convolution of the branch is preceded by its own batch norm "
                       "and a ReLU." for name in ("bn1", "bn2", "bn3")},
}


@precomputed(lambda: [(k,) for k in range(len(_preact_cases()))])
def _preact_expected(case: int) -> tuple[torch.Tensor, dict[str, tuple[torch.Tensor, torch.Tensor]],
                                         dict[str, torch.Tensor]]:
    """Case ``case``'s output, the running statistics one forward pass leaves in bn1..bn3, and what each
    mistake of _PREACT_SLIPS gives (only those that can show on this block)."""
    _, block, x, _ = _preact_cases()[case]

    def forward(block: PreActBottleneck, skip: str = "", raw_projection: bool = False,
                preact_identity: bool = False) -> torch.Tensor:
        def bn(name: str, t: torch.Tensor) -> torch.Tensor:
            return t if name == skip else getattr(block, name)(t)

        pre = F.relu(bn("bn1", x))
        out = block.conv3(F.relu(bn("bn3", block.conv2(F.relu(bn("bn2", block.conv1(pre)))))))
        if block.downsample is None:
            return out + (pre if preact_identity else x)
        return out + block.downsample(x if raw_projection else pre)

    with torch.no_grad():
        own = copy.deepcopy(block)
        expected = forward(own)
        stats = {name: (getattr(own, name).running_mean.clone(), getattr(own, name).running_var.clone())
                 for name in ("bn1", "bn2", "bn3")}
        slips = {f"skip_{name}": forward(copy.deepcopy(block), skip=name) for name in ("bn1", "bn2", "bn3")}
        if block.downsample is None:
            slips["preact_identity"] = forward(copy.deepcopy(block), preact_identity=True)
        else:
            slips["raw_projection"] = forward(copy.deepcopy(block), raw_projection=True)
    return expected, stats, slips


@exercise_check("preact_bottleneck_forward")
def check_preact_bottleneck_forward(preact_bottleneck_forward) -> None:
    cases = _preact_cases()
    with torch.no_grad():
        for k, (what, block, x, _) in enumerate(cases):
            cin, c = block.bn1.num_features, block.bn2.num_features
            theirs = copy.deepcopy(block)
            expected, stats, slips = _preact_expected(k)
            x_given = x.clone()
            post_order = (f"for {what}: that is the post-activation order of Exercise 3 (convolution, then batch "
                          "norm). In the pre-activation block batch norm and ReLU come *before* each convolution: "
                          f"bn1 normalises the block's input ({cin} channels), relu, conv1, then bn2, relu, conv2, "
                          "then bn3, relu, conv3, and the sum is returned without a ReLU.")
            bn3_last = (f"for {what}: you applied bn3 after conv3. bn3 normalises conv2's output ({c} channels) "
                        "before the last ReLU and conv3; nothing follows conv3 but the addition.")
            with refusing({PreActBottleneck: ["forward"]}, preact_bottleneck_forward,
                          exercise="preact_bottleneck_forward",
                          hint="Write the forward pass from the block's layers, bn1, conv1, bn2, conv2, bn3, conv3 "
                               "and downsample, instead of calling block(x)."), _call_log(theirs) as log:
                try:
                    got = preact_bottleneck_forward(theirs, x_given)
                except RuntimeError as error:
                    if _follows(log, "conv1", "bn1") or _follows(log, "conv2", "bn2"):
                        fail(post_order + f" (Your code raised: {error}.)")
                    if _follows(log, "conv3", "bn3"):
                        fail(bn3_last + f" (Your code raised: {error}.)")
                    raise
            if not torch.equal(x_given, x):
                fail(f"for {what}: preact_bottleneck_forward changed its input x in place (an in-place ReLU on "
                     "x?); the identity shortcut needs x unchanged, so compute new tensors.")
            if isinstance(got, torch.Tensor) and got.shape == expected.shape and not close(got, expected, atol=1e-4):
                if close(got, F.relu(expected), atol=1e-4):
                    fail(f"for {what}: your output is relu(...) of the right one. The pre-activation block has no "
                         "ReLU after the addition: it returns the sum, so that the shortcuts form a clean path "
                         "from block to block (the next block's bn1 and ReLU come first).")
                for slip, variant in sorted(slips.items(), key=lambda item: list(_PREACT_SLIPS).index(item[0])):
                    if close(got, variant, atol=1e-4):
                        fail(f"for {what}: {_PREACT_SLIPS[slip]}")
                if _follows(log, "conv1", "bn1") or _follows(log, "conv2", "bn2"):
                    fail(post_order)
                if _follows(log, "conv3", "bn3"):
                    fail(bn3_last)
            expect_tensor(got, expected, f"preact_bottleneck_forward for {what}, compared with the reference",
                          rtol=1e-4, atol=1e-4)
            for name in ("bn1", "bn2", "bn3"):
                mine, (running_mean, running_var) = getattr(theirs, name), stats[name]
                if not (torch.allclose(mine.running_mean, running_mean) and torch.allclose(mine.running_var, running_var)):
                    times = log.count(name)
                    fail(f"for {what}: block.{name}'s running statistics differ from those one forward pass "
                         f"leaves" + (f": it ran {times} times in one call, as if it had seen {times} batches" if
                                      times != 1 else "") + ". Call each batch norm once and reuse its output "
                         "(relu(bn1(x)) feeds both conv1 and the projection).")
    passed("preact_bottleneck_forward", f"equal to the reference in {len(cases)} cases (identity and projection "
                                        "shortcuts, stride 1 and 2, training and eval mode)")
