"""Self-checks for the exercises: they test what your code *does*, and say what went wrong.

Every check function in the per-notebook modules (``helpers.checks.nb01`` ...) takes the learner's
function or value, compares it with a reference (usually ``torch.nn`` or torchvision) on several
inputs, including edge cases, and either prints one line saying it passed or raises
:class:`CheckFailed` with what was expected and what came back.
"""
from __future__ import annotations

import contextlib
import functools
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar
from unittest import mock

import torch

F = TypeVar("F", bound=Callable[..., Any])


class CheckFailed(AssertionError):
    """An exercise's answer is not right yet; the message says why, in plain words."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a long traceback
        return [f"\u2718 {self}"]


def fail(message: str) -> None:
    raise CheckFailed(message)


def passed(name: str, detail: str = "") -> None:
    print(f"\u2714 {name}: correct" + (f" ({detail})" if detail else "") + ".")


def exercise_check(name: str) -> Callable[[F], F]:
    """Decorate a check: turns a stub's ``NotImplementedError`` and crashes in the learner's code
    into a :class:`CheckFailed` that names the exercise."""

    def decorate(check: F) -> F:
        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return check(*args, **kwargs)
            except CheckFailed:
                raise
            except NotImplementedError as error:
                raise CheckFailed(
                    f"{name}: not implemented yet. Replace `raise NotImplementedError` with your code."
                ) from error
            except Exception as error:
                raise CheckFailed(f"{name}: your code raised {type(error).__name__}: {error}") from error

        return run  # type: ignore[return-value]

    return decorate


def _label(owner: Any, name: str) -> str:
    """How a failure message names a refused attribute: ``torch.nn.functional.conv2d``, ``nn.Conv2d``."""
    if isinstance(owner, types.ModuleType):
        return f"{owner.__name__}.{name}"
    module = owner.__module__
    prefix = "nn." if module.startswith("torch.nn.") else f"{module}."
    return f"{prefix}{owner.__qualname__}" if name == "__init__" else f"{owner.__qualname__}.{name}"


def _refuser(exercise: str, label: str, hint: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise CheckFailed(f"{exercise}: this exercise asks you to write it yourself; you called {label}."
                          + (f" {hint}" if hint else ""))

    return refuse


@contextlib.contextmanager
def substituting(replacements: Mapping[Any, Mapping[str, Callable[..., Any]]],
                 *functions: Callable[..., Any]) -> Iterator[None]:
    """While the block runs, ``owner.name`` is ``replacements[owner][name]``, also where the learner bound it.

    ``replacements`` maps a module or a class to ``{attribute name: replacement}``. A name imported
    into the notebook (``from helpers.convolution import conv_output_size``) is bound in the
    notebook's globals, which patching the module does not reach: every global of the given
    ``functions`` (the learner's) that *is* one of the replaced objects, under any name, is replaced
    too (by the replacement of the first attribute that held it). Everything is restored afterwards,
    also when the block raises.
    """
    originals: list[Any] = []  # kept alive, so that their ids stay theirs
    substitute: dict[int, Callable[..., Any]] = {}
    with contextlib.ExitStack() as stack:
        for owner, names in replacements.items():
            for name, replacement in names.items():
                original = getattr(owner, name)
                originals.append(original)
                substitute.setdefault(id(original), replacement)
                stack.enter_context(mock.patch.object(owner, name, replacement))
        saved: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for function in functions:
            namespace = getattr(function, "__globals__", None)
            if namespace is None or any(namespace is seen for seen, _ in saved):
                continue
            bound = {key: value for key, value in namespace.items() if id(value) in substitute}
            saved.append((namespace, bound))
            namespace.update({key: substitute[id(value)] for key, value in bound.items()})
        try:
            yield
        finally:
            for namespace, bound in saved:
                namespace.update(bound)


def refusing(refused: Mapping[Any, Iterable[str]], *functions: Callable[..., Any], exercise: str,
             hint: str = "") -> contextlib.AbstractContextManager[None]:
    """While the block runs, calling any of the ``refused`` attributes raises :class:`CheckFailed`.

    ``refused`` maps a module or a class to attribute names, e.g. ``{F: ["conv2d"], torch: ["conv2d"],
    nn.Conv2d: ["__init__"]}`` (a class's ``__init__`` refuses building one). For a "write it yourself"
    exercise the check calls the learner's function inside this block, so that handing the work to
    the library function the notebook uses fails with a message naming it (and ``hint``): "this
    exercise asks you to write it yourself; you called torch.nn.functional.conv2d." The learner's
    ``functions`` are given so that names imported into the notebook are refused too (see
    :func:`substituting`).
    """
    return substituting({owner: {name: _refuser(exercise, _label(owner, name), hint) for name in names}
                         for owner, names in refused.items()}, *functions)


def randomise_batch_norm(module: torch.nn.Module, g: torch.Generator) -> torch.nn.Module:
    """Every batch norm in ``module`` (``module`` itself included) gets parameters and running statistics
    far from their defaults (gamma and running variance in [0.5, 1.5), beta and running mean random), so
    that a forgotten step or a wrong mode changes the output. Returns ``module``."""
    with torch.no_grad():
        for bn in module.modules():
            if isinstance(bn, torch.nn.BatchNorm2d):
                c = bn.num_features
                bn.weight.copy_(torch.rand(c, generator=g) + 0.5)
                bn.bias.copy_(torch.randn(c, generator=g) * 0.5)
                bn.running_mean.copy_(torch.randn(c, generator=g))
                bn.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    return module


def describe(value: Any) -> str:
    """A short description of a value for a failure message."""
    if isinstance(value, torch.Tensor):
        if value.numel() <= 6:
            return f"tensor {value.detach().flatten().tolist()} (shape {tuple(value.shape)})"
        return f"a tensor of shape {tuple(value.shape)}, dtype {value.dtype}"
    return repr(value)


def close(got: Any, expected: torch.Tensor, *, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Whether ``got`` is a tensor of ``expected``'s shape with the same values (within tolerance)."""
    return (isinstance(got, torch.Tensor) and got.shape == expected.shape
            and torch.allclose(got.detach().double(), expected.detach().double(), rtol=rtol, atol=atol))


def expect_tensor(got: Any, expected: torch.Tensor, what: str, *, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Same type, shape and values (within tolerance) as ``expected``; otherwise say which differs."""
    if not isinstance(got, torch.Tensor):
        fail(f"{what}: expected a torch.Tensor, got {type(got).__name__}.")
    if tuple(got.shape) != tuple(expected.shape):
        fail(f"{what}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}.")
    got_f, expected_f = got.detach().double(), expected.detach().double()
    if not torch.allclose(got_f, expected_f, rtol=rtol, atol=atol):
        error = (got_f - expected_f).abs()
        where = tuple(int(i) for i in torch.unravel_index(error.argmax(), error.shape))
        fail(f"{what}: values differ from the reference; the largest difference is {error.max().item():.3g} "
             f"at index {where} (got {got_f[where].item():.5g}, expected {expected_f[where].item():.5g}).")


def expect_equal(got: Any, expected: Any, what: str) -> None:
    if got != expected:
        fail(f"{what}: expected {expected!r}, got {got!r}.")


def expect_close(got: Any, expected: float, what: str, *, rel: float = 0.05, abs_: float = 0.0) -> None:
    """A number within ``rel`` (relative) or ``abs_`` (absolute) of ``expected``."""
    try:
        value = float(got)
    except (TypeError, ValueError):
        fail(f"{what}: expected a number, got {got!r}.")
    if abs(value - expected) > max(rel * abs(expected), abs_):
        fail(f"{what}: expected about {expected:.4g}, got {value:.4g}.")
