"""Checks for the exercises of 03_residual_blocks.

Each check runs the learner's code on real ``nn`` modules, ``helpers.models`` blocks and whole CIFAR
ResNets (random batch-norm parameters and running statistics, train and eval mode, stride 1 and 2,
odd sizes, option A and B shortcuts) and compares with a reference written here or with
``helpers.models``. Where a wrong answer has a common cause (the post-activation order, a ReLU after
the addition, zeros on the wrong side, a forgotten beta or stem...) the message names it.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import resnet34

from helpers import flops, models
from helpers.checks import (
    close,
    exercise_check,
    expect_tensor,
    fail,
    passed,
    precomputed,
    randomise_batch_norm,
    refusing,
)
from helpers.models import PadShortcut, count_parameters, make_shortcut

_HINTS = {"pad_shortcut": "The point is to do it yourself, with slicing and zeros (torch.cat), not with "
                          "helpers.models' shortcut or a padding function.",
          "shortcut_params": "The point is to count with a formula, not to build helpers.models' shortcut or "
                             "layers and count their parameters."}


def _without_ready_made_shortcuts(exercise: str, function, *args):
    """Call ``function`` while ``make_shortcut``, ``PadShortcut`` (and ``F.pad``, its one line) and building
    convolutions or batch norms are refused: the exercise is to write option A (or count the parameters)
    without ``helpers.models`` doing it."""
    with refusing({models: ["make_shortcut"], PadShortcut: ["__init__", "forward"], nn.Conv2d: ["__init__"],
                   nn.BatchNorm2d: ["__init__"], F: ["pad"], flops: ["_conv_bn", "conv_macs"]}, function,
                  exercise=exercise, hint=_HINTS[exercise]):
        return function(*args)


# --------------------------------------------------------------------------- exercise 1

def _preact_modules(in_channels: int, out_channels: int, stride: int, kind: str | None, g: torch.Generator):
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
    bn1 = randomise_batch_norm(nn.BatchNorm2d(in_channels), g)
    conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
    bn2 = randomise_batch_norm(nn.BatchNorm2d(out_channels), g)
    conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
    shortcut = make_shortcut(kind, in_channels, out_channels, stride) if kind else None
    if isinstance(shortcut, nn.Sequential):
        randomise_batch_norm(shortcut, g)
    return [bn1, conv1, bn2, conv2, shortcut]


def _in_mode(modules: list, training: bool) -> list:
    """A deep copy of the block's modules, in training or eval mode."""
    copies = copy.deepcopy(modules)
    for m in copies:
        if m is not None:
            m.train(training)
    return copies


def _preact_block_cases() -> list[tuple[str, list, Tensor, str | None]]:
    """(what, the block's modules, x, shortcut kind): identity blocks, option A and B transitions, odd sizes."""
    g = torch.Generator().manual_seed(3)
    cases = []
    for in_channels, out_channels, stride, kind, size in [(8, 8, 1, None, 6), (4, 4, 1, None, 5), (4, 8, 2, "A", 8),
                                                           (6, 12, 2, "B", 7), (5, 7, 1, "B", 5)]:
        modules = _preact_modules(in_channels, out_channels, stride, kind, g)
        x = torch.randn(4, in_channels, size, size, generator=g) * 1.5 + 0.3
        what = (f"a block {in_channels} -> {out_channels} channels, stride {stride}, "
                + (f"option-{kind} shortcut" if kind else "identity shortcut") + f", on a {size}x{size} input")
        cases.append((what, modules, x, kind))
    return cases


_PREACT_WHY = [
    "the shortcut was applied to x. In this exercise it takes the pre-activated input relu(bn1(x)), like the "
    "branch.",
    "you added relu(bn1(x)) instead of x. Without a shortcut module the block adds its input x itself.",
    "that is the original post-activation block (convolution, then batch norm and ReLU, and a ReLU after the "
    "addition). The pre-activation block applies batch norm and ReLU *before* each convolution, and returns the "
    "sum itself.",
    "that is the post-activation order (convolution, then batch norm and ReLU). The pre-activation block applies "
    "batch norm and ReLU *before* each convolution: relu(bn1(x)) goes into conv1, relu(bn2(...)) into conv2.",
]


@precomputed(lambda: [(k, training) for k in range(len(_preact_block_cases())) for training in (True, False)])
def _preact_block_expected(case: int, training: bool) -> tuple[Tensor, list[Tensor], list[Tensor | None]]:
    """The block's output on case ``case`` in training or eval mode, its batch norms' running statistics after
    one call, and what each mistake of _PREACT_WHY gives (None where it cannot show)."""
    _, modules, x, kind = _preact_block_cases()[case]
    bn1, conv1, bn2, conv2, shortcut = _in_mode(modules, training)
    out = F.relu(bn1(x))
    expected = conv2(F.relu(bn2(conv1(out)))) + (x if shortcut is None else shortcut(out))
    stats = [bn1.running_mean.clone(), bn2.running_mean.clone()]
    variants: list[Tensor | None] = [None] * 4
    if kind:
        variants[0] = expected - shortcut(out) + shortcut(x)
    else:  # the channels stay the same, so the modules also run in the post-activation order
        variants[1] = expected - x + out
        b1, c1, b2, c2, _ = _in_mode(modules, training)
        variants[2] = F.relu(b2(c2(F.relu(b1(c1(x))))) + x)
        b1, c1, b2, c2, _ = _in_mode(modules, training)
        variants[3] = b2(c2(F.relu(b1(c1(x))))) + x
    return expected.detach(), stats, [v if v is None else v.detach() for v in variants]


@exercise_check("preact_block")
def check_preact_block(preact_block) -> None:
    cases = _preact_block_cases()
    for k, (what, modules, x, kind) in enumerate(cases):
        for training in (True, False):
            theirs = _in_mode(modules, training)
            x_before = x.clone()
            try:
                got = preact_block(x.clone(), *theirs)
            except RuntimeError as error:
                if kind and "running_mean" in str(error):
                    fail(f"on {what}: your code raised RuntimeError: {error}. bn1 normalises the block's input "
                         f"({modules[0].num_features} channels), so it comes before conv1: in the pre-activation "
                         "block batch norm and ReLU come *before* each convolution (the post-activation order, "
                         "conv1 then bn1, does not fit here).")
                raise
            expected, stats, variants = _preact_block_expected(k, training)
            mode = "training" if training else "eval"
            if not torch.equal(x, x_before):
                fail("preact_block changed its input x in place (an in-place ReLU on x?); compute new tensors.")
            if isinstance(got, Tensor) and got.shape == expected.shape and not close(got, expected):
                if close(got, F.relu(expected)) and not close(expected, F.relu(expected)):
                    fail(f"on {what}: your output has a ReLU after the addition. The pre-activation block "
                         "returns the sum itself, so the shortcut path stays a pure identity from block to block.")
                for variant, why in zip(variants, _PREACT_WHY, strict=True):
                    if variant is not None and close(got, variant):
                        fail(f"on {what}: {why}")
            expect_tensor(got, expected, f"preact_block on {what}, {mode} mode")
            for name, a, b in (("bn1", theirs[0], stats[0]), ("bn2", theirs[2], stats[1])):
                if training and not torch.allclose(a.running_mean, b):
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
    for what, x in (("a bfloat16 input", torch.randn(2, 4, 5, 5, generator=g).bfloat16()),
                    ("an input on another device ('meta', standing in for a GPU)", torch.empty(2, 4, 5, 5,
                                                                                              device="meta"))):
        try:
            got = _without_ready_made_shortcuts("pad_shortcut", pad_shortcut, x, 8, 2)
        except RuntimeError as error:
            if "device" not in str(error):
                raise
            got = error
        if not isinstance(got, Tensor) or got.dtype != x.dtype or got.device != x.device:
            fail(f"pad_shortcut on {what}: " + (f"your code raised RuntimeError: {got}. " if isinstance(got, Exception)
                                                else f"the result has dtype {got.dtype} on {got.device}. ")
                 + "The zero channels must have x's dtype and device (torch.zeros makes float32 tensors on the CPU "
                   "unless told otherwise): torch.zeros(..., dtype=x.dtype, device=x.device), or x.new_zeros(...).")
    passed("pad_shortcut", f"equal to helpers.models.PadShortcut on {len(cases)} inputs, odd sizes and strides "
                           "1, 2, 3 included; keeps a bfloat16 input's dtype and a 'meta' input's device")


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
    # the transfer question: torchvision's ResNet-34, counted from its downsample modules
    stages = [(64, 64, 1)] + [(c, 2 * c, 2) for c in (64, 128, 256)]
    mine = sum(_without_ready_made_shortcuts("shortcut_params", shortcut_params, i, o, s, "B") for i, o, s in stages)
    reference = resnet34()
    measured = sum(count_parameters(block.downsample) for block in reference.modules()
                   if getattr(block, "downsample", None) is not None)
    if mine != measured:
        fail(f"ResNet-34's option-B shortcuts (stages of 64, 128, 256 and 512 channels): your shortcut_params adds "
             f"up to {mine:,} parameters, but torchvision's resnet34 holds {measured:,} in its downsample layers.")
    passed("shortcut_params", f"equal to count_parameters(make_shortcut(...)) in {len(cases)} cases, identity "
                              "shapes included; option B adds 2,752 parameters to any CIFAR ResNet, ResNet-110 too")
    print(f"ResNet-34's option-B shortcuts hold {mine:,} parameters by your formula, as many as torchvision's "
          "resnet34 has in its downsample layers. Is that your number from paper?")


# --------------------------------------------------------------------------- exercise 4

def _random_net(depth: int, width: int, classes: int, g: torch.Generator) -> nn.Module:
    """A CIFAR ResNet whose every parameter and running statistic is random: no zero bias or unit
    variance left at its default, so a forgotten step shows."""
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))  # the convolutions' random init
    net = models.cifar_resnet(depth, num_classes=classes, width=width)
    randomise_batch_norm(net, g)
    with torch.no_grad():
        net.fc.weight.copy_(torch.randn(net.fc.weight.shape, generator=g) * 0.2)
        net.fc.bias.copy_(torch.randn(classes, generator=g))
    return net


def _floats(module: nn.Module) -> dict[str, Tensor]:
    return {k: v for k, v in module.state_dict().items() if v.is_floating_point()}


def _differing(source: nn.Module, target: nn.Module) -> list[str] | None:
    """The float entries of the two state dicts that differ (None: not even the same keys and shapes)."""
    a, b = _floats(source), _floats(target)
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        return None
    return [k for k in a if not torch.equal(a[k], b[k])]


def _copy_problem(what: str, source: nn.Module, target: nn.Module) -> str | None:
    """Why ``target`` is not a copy of ``source``, or None if it is."""
    differing = _differing(source, target)
    if differing == []:
        return None
    if differing and all(k.rsplit(".", 1)[-1] in ("running_mean", "running_var") for k in differing):
        return (f"{what}: the batch norms' running statistics (running_mean, running_var) were not copied. "
                "They are buffers, not parameters (.parameters() does not list them), and in eval mode batch "
                "norm normalises with them. Copy the state_dict, which holds both.")
    differing = differing or ["its shapes"]
    return f"{what} was not copied from shallow ({', '.join(differing)} {'differs' if len(differing) == 1 else 'differ'})."


def _is_identity(block: nn.Module, g: torch.Generator) -> bool:
    """Whether a stride-1 block passes a non-negative input through unchanged in eval mode."""
    x = torch.relu(torch.randn(2, block.conv1.in_channels, 6, 6, generator=g))
    with torch.no_grad():
        return close(block.eval()(x), x)


def _blocks_problem(shallow: nn.Module, deep: nn.Module, g: torch.Generator) -> str | None:
    """What is wrong with deep's blocks, stage by stage, or None if nothing recognisable."""
    for s, (small, big) in enumerate(zip(shallow.stages(), deep.stages(), strict=True), 1):
        stage = f"layer{s}"
        where = [[k for k, target in enumerate(big) if _differing(block, target) == []] for block in small]
        for j, found in enumerate(where):
            if found:
                continue
            problem = _copy_problem(f"shallow.{stage}[{j}] is in no block of deep.{stage}; deep.{stage}[{j}]",
                                    small[j], big[j]) if j < len(big) else None
            if problem and "running statistics" in problem:
                return problem
            hint = (f" It is the block that changes shape (stride 2, {small[j].conv1.in_channels} -> "
                    f"{small[j].conv1.out_channels} channels): only deep.{stage}[0] has its shapes."
                    if j == 0 and s > 1 else "")
            return f"shallow.{stage}[{j}] was copied into no block of deep.{stage}.{hint}"
        positions = [found[0] for found in where]
        if positions != sorted(positions):
            return (f"shallow's blocks of {stage} are in deep.{stage} at positions {positions}: out of order. "
                    "Keep them in shallow's order.")
        for k, block in enumerate(big):
            if k in positions or _is_identity(block, g):
                continue
            name = f"deep.{stage}[{k}]"
            gamma, beta = block.bn2.weight.detach(), block.bn2.bias.detach()
            if gamma.abs().max() == 0 and beta.abs().max() > 0:
                return (f"{name}, an extra block, is not the identity: its last batch norm's gamma is zero but "
                        "its beta is not, so bn2 outputs beta, and that bias still adds to every pixel before the "
                        "relu. Zero beta too.")
            return (f"{name}, an extra block, is not the identity. Its branch must output zero whatever its "
                    "input and running statistics (section 2 shows how); then relu(0 + x) = x.")
    return None


@exercise_check("embed")
def check_embed(embed) -> None:
    g = torch.Generator().manual_seed(6)
    # (shallow depth, deep depth, width, classes): n = 3 -> 5 and 3 -> 9 blocks per stage, and n = 1 (only
    # the stage's first block is copied), narrower and with fewer classes
    cases = [(20, 32, 16, 10), (20, 56, 16, 10), (8, 20, 8, 5)]
    for shallow_depth, deep_depth, width, classes in cases:
        shallow = _random_net(shallow_depth, width, classes, g)
        deep = _random_net(deep_depth, width, classes, g)
        what = f"embed(shallow=ResNet-{shallow_depth}, deep=ResNet-{deep_depth}" + (
            f", width {width}, {classes} classes)" if width != 16 else ")")
        shallow_before = {k: v.clone() for k, v in shallow.state_dict().items()}
        deep_before = {k: v.clone() for k, v in deep.state_dict().items()}
        deep_tensors = dict(deep.state_dict(keep_vars=True))
        shallow_tensors = list(shallow.state_dict(keep_vars=True).values())
        try:
            result = embed(shallow, deep)
        except RuntimeError as error:
            message = " ".join(str(error).split())[:300]
            if "size" in message:
                fail(f"{what} raised RuntimeError: {message} A shape does not fit. The first block of layer2 and "
                     "of layer3 changes shape (stride 2, twice the channels), so only deep's first block of that "
                     "stage has those shapes: shallow's block i of a stage goes into deep's block i of the same "
                     "stage, and the extra blocks come after them.")
            if "Missing key" in message:
                fail(f"{what} raised RuntimeError: {message} shallow's state_dict has no entries for deep's "
                     "extra blocks: copy what shallow has, part by part, and make the extra blocks the identity.")
            raise
        shallow_now = shallow.state_dict()
        changed = [k for k in shallow_now.keys() | shallow_before.keys()
                   if k not in shallow_now or k not in shallow_before or not torch.equal(shallow_now[k],
                                                                                        shallow_before[k])]
        if changed:
            fail(f"{what} changed shallow ({sorted(changed)[0]}" + (f" and {len(changed) - 1} more" if len(changed) > 1
                                                                     else "") +
                 "). Copy from shallow into deep; shallow must stay as it was.")
        deep_now = deep.state_dict()
        unchanged = deep_now.keys() == deep_before.keys() and all(torch.equal(deep_now[k], deep_before[k])
                                                                  for k in deep_now)
        if isinstance(result, nn.Module) and result is not deep:
            fail(f"{what} returned a new model" + ("; deep itself is unchanged" if unchanged else "") +
                 ". Change deep in place: the caller keeps using the net it passed in.")
        if unchanged:
            fail(f"{what} left deep unchanged. (Assigning `deep = ...` inside the function only makes the local "
                 "name point to another object; change the values of the net you were given.)")
        tensors = dict(deep.state_dict(keep_vars=True))
        if tensors.keys() != deep_tensors.keys():
            fail(f"{what} changed deep's structure (its state_dict now has other entries). Change values only.")
        for k, tensor in tensors.items():
            if tensor is not deep_tensors[k]:
                shared = any(tensor is t for t in shallow_tensors)
                fail(f"{what} replaced deep's {k} by another tensor (or its module by another module)"
                     + ("; deep now shares it with shallow, so training one would change the other" if shared
                        else "")
                     + ". Copy values into deep's own tensors (load_state_dict, or copy_ / zero_ under "
                       "torch.no_grad()), which are what an optimiser of deep holds.")
        for k, tensor in deep_now.items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                fail(f"{what} left NaN or infinite values in deep's {k}: deep must stay a valid network.")
        shallow.eval(), deep.eval()
        for shape in ((4, 3, 32, 32), (2, 3, 13, 13)):
            x = torch.randn(*shape, generator=g)
            with torch.no_grad():
                expected, got = shallow(x), deep(x)
            scale = expected.abs().max().item()
            if close(got, expected, rtol=1e-4, atol=1e-5 * max(1.0, scale)):
                continue
            problem = (_copy_problem("deep's stem convolution conv1", shallow.conv1, deep.conv1)
                       or _copy_problem("deep's stem batch norm bn1", shallow.bn1, deep.bn1)
                       or _copy_problem("deep's classifier fc", shallow.fc, deep.fc)
                       or _blocks_problem(shallow, deep, g)
                       or "The stem, the classifier and shallow's blocks are all in deep, and the extra blocks "
                          "are the identity: what else did your code change?")
            if problem.startswith("deep's stem") and "running statistics" not in problem:
                problem += " Every input goes through the stem first, so deep needs shallow's stem as well as its blocks."
            fail(f"{what}: in eval mode deep(x) differs from shallow(x) on inputs of shape {shape}, by up to "
                 f"{(got - expected).abs().max().item():.3g} (the outputs are up to {scale:.3g}). {problem}")
    passed("embed", "in eval mode, ResNet-32 and ResNet-56 compute exactly what ResNet-20 does, and ResNet-20 what "
                    "ResNet-8 does, with every parameter and running statistic random; shallow unchanged")
