"""Checks for the exercises of 07_what_the_shortcuts_do.

Exercise 1 (delete blocks) is compared with ``helpers.shortcuts.lesioned`` on a CIFAR ResNet-20 and on
a ResNet-18 with projection shortcuts and a max-pool stem, a network the notebook does not show.
Exercise 2 (filter-normalise) is compared with ``helpers.shortcuts.filter_normalised_direction`` fed the
same random numbers, on a ResNet, a bottleneck ResNet and a two-layer perceptron. Exercise 3 (power
iteration) runs on matrices whose eigenvalues are known by construction, one with a negative dominant
eigenvalue, and on the Hessian of a small network's loss. Exercise 4 (count paths) is compared with
counts multiplied out as polynomials, on nets that mix blocks with and without shortcuts.
Every check refuses the helper that computes its answer, and names the likely cause of a wrong one.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from helpers import shortcuts
from helpers.checks import (
    CheckFailed,
    close,
    describe,
    exercise_check,
    fail,
    passed,
    precomputed,
    randomise_batch_norm,
    refusing,
)
from helpers.models import Bottleneck, ResNet, cifar_resnet, resnet

# --------------------------------------------------------------------------- Exercise 1: delete blocks

# (net, deleted blocks): net 0 is a CIFAR ResNet-20 (identity and option-A shortcuts), net 1 a ResNet-18 of
# width 8 with the ImageNet stem (7x7 conv, max pool) and projection shortcuts with batch norm (option B).
_LESION_CASES = [(0, ()), (0, ("layer1.0",)), (0, ("layer2.0",)), (0, ("layer1.2", "layer3.1")),
                 (0, ("layer2.0", "layer3.0", "layer3.2")), (1, ("layer2.0",)), (1, ("layer1.1", "layer4.0", "layer4.1"))]
_LESION_REFUSED = {shortcuts: ["lesioned", "Lesioned", "replaced", "lesion_errors", "lesion_study", "deleted", "shortcut"]}


def _lesion_net(net: int) -> tuple[nn.Module, torch.Tensor]:
    """A net with random weights and batch-norm statistics, in eval mode, and its input images."""
    g = torch.Generator().manual_seed(70 + net)
    torch.manual_seed(70 + net)
    if net == 0:
        model, images = cifar_resnet(20), torch.randn(6, 3, 32, 32, generator=g)
    else:
        model, images = resnet(18, num_classes=10, width=8), torch.randn(4, 3, 64, 64, generator=g)
    return randomise_batch_norm(model, g).eval(), images


@precomputed(lambda: [(net, names, kind) for net, names in _LESION_CASES if names for kind in ("no_relu", "no_shortcut")])
def _lesion_mistaken(net: int, names: tuple[str, ...], kind: str) -> torch.Tensor:
    """The logits of a mistaken deletion: ``kind`` 'no_relu' returns the shortcut without the block's ReLU,
    'no_shortcut' keeps the residual branch and drops the shortcut."""

    class _Swapped(nn.Module):
        def __init__(self, block: nn.Module, kind: str) -> None:
            super().__init__()
            self.block, self.kind = block, kind

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b = self.block
            if self.kind == "no_relu":
                return shortcuts.shortcut(b, x)
            return b.relu(b.bn2(b.conv2(b.relu(b.bn1(b.conv1(x))))))

    model, images = _lesion_net(net)
    table = dict(shortcuts.blocks(model))
    with torch.no_grad(), shortcuts.replaced(model, {name: _Swapped(table[name], kind) for name in names}):
        return model(images)


@exercise_check("lesioned_logits")
def check_lesioned_logits(lesioned_logits) -> None:
    for net, names in _LESION_CASES:
        model, images = _lesion_net(net)
        with torch.no_grad():
            intact = model(images)
            with shortcuts.lesioned(model, names):
                expected = model(images)
        what = ("ResNet-18 (projection shortcuts, max-pool stem)" if net else "ResNet-20") + f", deleted {list(names)}"
        before = [id(block) for _, block in shortcuts.blocks(model)]
        with refusing(_LESION_REFUSED, lesioned_logits, exercise="lesioned_logits",
                      hint="Walk the stem, the blocks and the head yourself."), torch.no_grad():
            got = lesioned_logits(model, images.clone(), list(names))
        if [id(block) for _, block in shortcuts.blocks(model)] != before or model.training:
            fail(f"lesioned_logits({what}): the model must be left as it was (the same blocks, in eval mode); "
                 "put back every block you swapped out.")
        with torch.no_grad():
            if not torch.equal(model(images), intact):
                fail(f"lesioned_logits({what}): the model computes something else after your call; restore it.")
        if close(got, expected, rtol=1e-4, atol=1e-4):
            continue
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            fail(f"lesioned_logits({what}): expected logits of shape {tuple(expected.shape)}, got {describe(got)}.")
        hint = ""
        if names and close(got, intact, rtol=1e-4, atol=1e-4):
            hint = " These are the intact net's logits: the blocks named in `deleted` still ran."
        elif names and close(got, _lesion_mistaken(net, names, "no_relu"), rtol=1e-4, atol=1e-4):
            hint = (" A deleted block still ends with its ReLU: it outputs relu(shortcut(x)). After a projection "
                    "with batch norm (this net's downsampling blocks) the shortcut can be negative.")
        elif names and close(got, _lesion_mistaken(net, names, "no_shortcut"), rtol=1e-4, atol=1e-4):
            hint = " You dropped the shortcut and kept the residual branch: deleting a block removes its branch."
        elif net == 1:
            hint = (" This net's stem is conv1, bn1, relu, then a 3x3 max pool (`model.maxpool`); the CIFAR "
                    "nets' maxpool is the identity, so forgetting it shows here only.")
        fail(f"lesioned_logits({what}): the logits differ from the lesioned net's (largest difference "
             f"{(got.double() - expected.double()).abs().max().item():.3g}).{hint}")
    passed("lesioned_logits", f"{len(_LESION_CASES)} cases on a ResNet-20 and a ResNet-18 with projection shortcuts, "
                              "downsampling blocks deleted too, the model left as it was")


# --------------------------------------------------------------------------- Exercise 2: filter-normalise

_DIRECTION_CASES = (0, 1, 2)
_DIRECTION_REFUSED = {shortcuts: ["filter_normalised_direction"]}


def _direction_net(case: int) -> nn.Module:
    torch.manual_seed(80 + case)
    if case == 0:
        return cifar_resnet(8, width=4)
    if case == 1:
        return ResNet(Bottleneck, [1, 1], num_classes=4, stem="cifar", width=4)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


def _raw_direction(model: nn.Module, case: int) -> list[torch.Tensor]:
    """Gaussian numbers for every parameter, drawn in filter_normalised_direction's order (a generator
    seeded 90 + case, one draw per parameter with more than one dimension); the others get numbers from
    another generator, so that leaving them as they are shows."""
    g, other = torch.Generator().manual_seed(90 + case), torch.Generator().manual_seed(190 + case)
    return [torch.randn(p.shape, generator=g if p.dim() > 1 else other) for p in model.parameters()]


@precomputed(lambda: [(case, kind) for case in _DIRECTION_CASES
                      for kind in ("whole_tensor", "unit_filters", "biases_kept", "per_input_channel")])
def _direction_mistaken(case: int, kind: str) -> list[torch.Tensor]:
    model = _direction_net(case)
    out = []
    for w, d in zip(model.parameters(), _raw_direction(model, case), strict=True):
        w = w.detach()
        if w.dim() <= 1:
            out.append(d.clone() if kind == "biases_kept" else torch.zeros_like(w))
            continue
        dims = tuple(range(1, w.dim()))
        norm = torch.linalg.vector_norm
        if kind == "whole_tensor":
            out.append(d * norm(w) / norm(d))
        elif kind == "unit_filters":
            out.append(d / norm(d, dim=dims, keepdim=True))
        elif kind == "per_input_channel":
            other = tuple(i for i in range(w.dim()) if i != 1)
            out.append(d * norm(w, dim=other, keepdim=True) / norm(d, dim=other, keepdim=True))
        else:  # biases_kept: the filters are right, only the 1-D tensors are wrong
            out.append(d * norm(w, dim=dims, keepdim=True) / norm(d, dim=dims, keepdim=True))
    return out


def _same_direction(got: object, expected: list[torch.Tensor]) -> bool:
    return isinstance(got, (list, tuple)) and len(got) == len(expected) and all(
        close(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(got, expected, strict=True))


@exercise_check("filter_normalise")
def check_filter_normalise(filter_normalise) -> None:
    names = ["a CIFAR ResNet-8", "a ResNet of bottleneck blocks", "a two-layer perceptron (nn.Linear rows)"]
    for case in _DIRECTION_CASES:
        model = _direction_net(case)
        expected = shortcuts.filter_normalised_direction(model, torch.Generator().manual_seed(90 + case))
        weights = [p.detach().clone() for p in model.parameters()]
        direction = _raw_direction(model, case)
        with refusing(_DIRECTION_REFUSED, filter_normalise, exercise="filter_normalise"):
            got = filter_normalise([d.clone() for d in direction], weights)
        if _same_direction(got, expected):
            continue
        what = f"filter_normalise on {names[case]}"
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            fail(f"{what}: expected a list of {len(expected)} tensors (one per parameter, in order), got "
                 f"{type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (list, tuple)) else "") + ".")
        hints = {"whole_tensor": " You scaled each tensor as a whole; Li et al. scale each filter (each output "
                                 "channel of a convolution, each row of a linear layer) to its own weights' norm.",
                 "unit_filters": " Each filter has norm 1; it should have the norm of the same filter of the weights.",
                 "biases_kept": " Biases and batch-norm parameters (tensors of one dimension) get zero in the "
                                "direction; you kept their random numbers.",
                 "per_input_channel": " You normalised per input channel (dim 1); a filter is an output channel "
                                      "(dim 0): norms over all the other dimensions."}
        hint = next((text for kind, text in hints.items() if _same_direction(got, _direction_mistaken(case, kind))), "")
        index = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True))
                     if not close(a, b, rtol=1e-4, atol=1e-6))
        shape = tuple(weights[index].shape)
        fail(f"{what}: tensor {index} (the parameter of shape {shape}) differs from the filter-normalised "
             f"direction.{hint}")
    passed("filter_normalise", "a ResNet, a bottleneck ResNet and a perceptron, biases and batch norm zeroed")


# --------------------------------------------------------------------------- Exercise 3: power iteration

_EIGEN_REFUSED = {torch.linalg: ["eigvalsh", "eigh", "eig", "eigvals", "svd", "svdvals"],
                  torch: ["lobpcg", "svd", "pca_lowrank", "svd_lowrank"],
                  torch.autograd.functional: ["hessian", "jacobian"],
                  shortcuts: ["top_hessian_eigenvalue", "hessian_vector_product"]}
# Matrices Q diag(eigenvalues) Q^T with a random rotation Q: the dominant eigenvalue is known by construction.
_SPECTRA = [("a 3x3 matrix", [5.0, 1.0, -2.0]), ("a 50x50 matrix whose dominant eigenvalue is negative",
                                                   [-6.0, 3.0, 2.0] + [0.5] * 47),
            ("a 200x200 matrix", [40.0, 12.0] + [math.sin(i) for i in range(198)])]


def _symmetric(eigenvalues: list[float], seed: int) -> torch.Tensor:
    n = len(eigenvalues)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return (q * torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T


def _small_net_loss() -> tuple[nn.Module, Callable[[], torch.Tensor]]:
    """A 4-8-3 perceptron with a tanh and its cross-entropy on 20 fixed points, in float64."""
    g = torch.Generator().manual_seed(33)
    torch.manual_seed(33)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    x, y = torch.randn(20, 4, generator=g, dtype=torch.float64), torch.randint(0, 3, (20,), generator=g)
    return net, lambda: nn.functional.cross_entropy(net(x), y)


def _net_hvp() -> tuple[Callable[[torch.Tensor], torch.Tensor], int]:
    net, loss_fn = _small_net_loss()
    params = list(net.parameters())

    def hvp(v: torch.Tensor) -> torch.Tensor:
        grads = torch.autograd.grad(loss_fn(), params, create_graph=True)
        flat = torch.cat([g.reshape(-1) for g in grads])
        return torch.cat([h.reshape(-1) for h in torch.autograd.grad(flat @ v.to(flat), params)]).detach()

    return hvp, sum(p.numel() for p in params)


@precomputed(lambda: [()])
def _net_top_eigenvalue() -> float:
    """The small net's top Hessian eigenvalue (largest magnitude), from the whole Hessian."""
    net, loss_fn = _small_net_loss()
    params = list(net.parameters())
    grads = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss_fn(), params, create_graph=True)])
    rows = [torch.cat([h.reshape(-1) for h in torch.autograd.grad(g, params, retain_graph=True)]) for g in grads]
    values = torch.linalg.eigvalsh(torch.stack(rows))
    return values[values.abs().argmax()].item()


def _counting(product: Callable[[torch.Tensor], torch.Tensor], n: int, what: str,
              calls: list[int]) -> Callable[[torch.Tensor], torch.Tensor]:
    """The hvp handed to the learner: ``product``, refusing a wrong shape, counting its calls."""
    def hvp(v: torch.Tensor) -> torch.Tensor:
        if not isinstance(v, torch.Tensor) or tuple(v.shape) != (n,):
            raise CheckFailed(f"top_eigenvalue on {what}: hvp takes one vector of shape ({n},), got {describe(v)}.")
        calls.append(1)
        return product(v)
    return hvp


@exercise_check("top_eigenvalue")
def check_top_eigenvalue(top_eigenvalue) -> None:
    cases = [(what, (lambda m: lambda v: m @ v.to(m))(_symmetric(values, 5 + i)), len(values),
              max(values, key=abs)) for i, (what, values) in enumerate(_SPECTRA)]
    hvp, dim = _net_hvp()
    cases.append(("the Hessian of a small perceptron's loss (Hessian-vector products by double backward)", hvp, dim,
                  _net_top_eigenvalue()))
    iterations = 100
    for what, product, n, expected in cases:
        calls: list[int] = []
        counted = _counting(product, n, what, calls)
        with refusing(_EIGEN_REFUSED, top_eigenvalue, exercise="top_eigenvalue",
                      hint="Power iteration needs only hvp, a norm and a dot product."):
            got = top_eigenvalue(counted, n, iterations=iterations, seed=0)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            fail(f"top_eigenvalue on {what}: expected a number (the eigenvalue), got {describe(got)}.")
        if len(calls) > iterations + 2:
            fail(f"top_eigenvalue on {what}: hvp was called {len(calls)} times for {iterations} iterations; power "
                 "iteration multiplies by H once per iteration (building H column by column is not the exercise).")
        if math.isclose(got, expected, rel_tol=1e-3):
            continue
        hint = ""
        if math.isclose(got, abs(expected), rel_tol=1e-3):
            hint = (" That is its absolute value: the norm of Hv gives |lambda|. The Rayleigh quotient v . Hv of a "
                    "unit vector v keeps the sign.")
        elif not math.isfinite(got) or abs(got) < 1e-12:
            hint = " Normalise v after every multiplication: without it v grows or shrinks geometrically."
        elif len(calls) < iterations:
            hint = (f" hvp was called {len(calls)} times for {iterations} iterations: multiply, normalise, and "
                    "repeat, then take the Rayleigh quotient.")
        fail(f"top_eigenvalue on {what}: expected {expected:.6g}, got {got:.6g}.{hint}")
    passed("top_eigenvalue", f"{len(cases)} cases, a negative dominant eigenvalue and a network's Hessian among them, "
                             "hvp called once per iteration")


# --------------------------------------------------------------------------- Exercise 4: count paths

_PATH_PATTERNS = [(True,) * 27, (False,) * 5, (True, False, True, True, False), (), (False, True) * 4,
                  (True,) * 3 + (False,) + (True,) * 6]


@precomputed(lambda: [(pattern,) for pattern in _PATH_PATTERNS])
def _path_counts(has_shortcut: tuple[bool, ...]) -> list[int]:
    """Multiply out prod_i (x + 1) for blocks with a shortcut and prod_i x for those without."""
    counts = [1]
    for shortcut in has_shortcut:
        counts = [(counts[k - 1] if k >= 1 else 0) + (counts[k] if shortcut and k < len(counts) else 0)
                  for k in range(len(counts) + 1)]
    return counts


@exercise_check("path_length_counts")
def check_path_length_counts(path_length_counts) -> None:
    for pattern in _PATH_PATTERNS:
        expected = _path_counts(pattern)
        call = f"path_length_counts({list(pattern)})" if len(pattern) < 12 else \
            f"path_length_counts([True] * {len(pattern)})" if all(pattern) else f"path_length_counts({list(pattern)})"
        with refusing({shortcuts: ["path_counts"]}, path_length_counts, exercise="path_length_counts"):
            got = path_length_counts(list(pattern))
        if isinstance(got, torch.Tensor):
            got = got.tolist()
        if isinstance(got, (list, tuple)) and [int(v) for v in got] == expected and \
                all(float(v).is_integer() for v in got):
            continue
        if not isinstance(got, (list, tuple)):
            fail(f"{call}: expected a list of {len(pattern) + 1} counts (k = 0..{len(pattern)}), got {describe(got)}.")
        n, plain = len(pattern), pattern.count(False)
        hint = ""
        if len(got) != n + 1:
            hint = f" There are n + 1 = {n + 1} possible lengths, k = 0 to {n}: one count for each."
        elif list(got) == [math.comb(n, k) for k in range(n + 1)]:
            hint = (" Those are the counts if every block had a shortcut. A block without one has a single route, "
                    "through its layers, so every path passes it.")
        elif list(got) == [math.comb(n - plain, k) if k <= n - plain else 0 for k in range(n + 1)]:
            hint = (" A block without a shortcut is on every path and adds 1 to its length: shift the counts by the "
                    "number of such blocks.")
        elif sum(got) != 2 ** (n - plain):
            hint = f" Your counts add up to {sum(got)} paths; this net has 2^{n - plain} = {2 ** (n - plain)}."
        fail(f"{call}: expected {expected}, got {list(got)}.{hint}")
    passed("path_length_counts", f"{len(_PATH_PATTERNS)} nets, with and without shortcuts, and the empty one")
