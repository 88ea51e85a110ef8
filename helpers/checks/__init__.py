"""Self-checks for the exercises: they test what your code *does*, and say what went wrong.

Every check function in the per-notebook modules (``helpers.checks.nb01`` ...) takes the learner's
function or value, compares it with a reference (usually ``torch.nn`` or torchvision) on several
inputs, including edge cases, and either prints one line saying it passed or raises
:class:`CheckFailed` with what was expected and what came back.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

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


def describe(value: Any) -> str:
    """A short description of a value for a failure message."""
    if isinstance(value, torch.Tensor):
        if value.numel() <= 6:
            return f"tensor {value.detach().flatten().tolist()} (shape {tuple(value.shape)})"
        return f"a tensor of shape {tuple(value.shape)}, dtype {value.dtype}"
    return repr(value)


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
