"""Self-checks for the exercises: they test what your code *does*, and say what went wrong.

Every check function in the per-notebook modules (``helpers.checks.nb01`` ...) takes the learner's
function or value, compares it with a reference (usually ``torch.nn`` or torchvision) on several
inputs, including edge cases, and either prints one line saying it passed or raises
:class:`CheckFailed` with what was expected and what came back.
"""
from __future__ import annotations

import builtins
import collections
import contextlib
import copy
import dis
import functools
import inspect
import sys
import sysconfig
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
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
    """Decorate a check: refuses an answer that reaches into helpers.checks (:func:`refuse_reaching`), and
    turns a stub's ``NotImplementedError`` and crashes in the learner's code into a :class:`CheckFailed`
    that names the exercise."""

    def decorate(check: F) -> F:
        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                refuse_reaching(name, [*args, *kwargs.values()])
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


# ----------------------------------------------------------------------------------------------
# What an answer reaches, read from its code: the one refusal every check applies
# ----------------------------------------------------------------------------------------------

_PACKAGE = __name__  # "helpers.checks": no answer may use anything in it
# Code that is not the learner's: the interpreter's library, installed packages and helpers (the
# package that holds this module). Its functions are compared by identity, never read.
_LIBRARY = tuple(Path(p).resolve() for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib",
                                                                                 "platlib")}
                 | {str(Path(__file__).resolve().parent.parent)})
_SKIP = {"RESUME", "CACHE", "PRECALL", "NOP", "EXTENDED_ARG", "KW_NAMES", "PUSH_NULL"}
_VARIABLE = {"LOAD_FAST", "STORE_FAST", "LOAD_DEREF", "STORE_DEREF", "LOAD_CLOSURE", "LOAD_NAME", "STORE_NAME",
             "DELETE_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_AND_CLEAR", "MAKE_CELL", "COPY_FREE_VARS"}
_LIMIT = 5000  # objects looked at, at most: a guard against huge graphs (cycles are guarded by `seen`)
# Reading the check's own variables (its expected values) through the call stack: no answer needs a frame.
_FRAMES = {"f_back", "f_locals", "f_globals", "tb_frame", "gi_frame", "cr_frame", "_getframe", "currentframe",
           "stack", "getouterframes", "extract_stack", "walk_stack", "get_referrers", "get_objects"}
_STACK_OWNERS = ("sys", "inspect", "traceback", "gc")
_PATHS = (_PACKAGE.replace(".", "/"), _PACKAGE.replace(".", "\\"))  # the checks' folder, and their data files


def _in_package(obj: Any) -> bool:
    """Whether ``obj`` is helpers.checks, one of its modules, or something defined there."""
    name = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
    return isinstance(name, str) and (name == _PACKAGE or name.startswith(_PACKAGE + "."))


def _is_learners(obj: Any) -> bool:
    """Whether a function or class is the learner's code (a notebook's, or a module of their own), to be read."""
    name = getattr(obj, "__module__", None)
    if name in (None, "__main__"):
        return True
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if module is None:
        return True
    if file is None:
        return False  # built into the interpreter
    path = Path(file).resolve()
    return not any(path.is_relative_to(root) for root in _LIBRARY)


def _name_of(obj: Any) -> str:
    if isinstance(obj, (types.ModuleType, types.SimpleNamespace)):
        return obj.__name__
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def _code_references(code: types.CodeType, namespace: dict, cells: Mapping[str, Any]) -> Iterator[tuple[Any, str]]:
    """What the code of a function names: globals, closure variables, attributes of modules and classes
    (``helpers.checks.nb01.check_output_size``), imports, string constants naming helpers.checks, nested functions."""
    local_imports: dict[str, Any] = {}
    current: Any = None
    reached_owners: list[Any] = []
    strings: list[str] = []
    last_import: Any = None
    for instruction in dis.get_instructions(code):
        op, arg = instruction.opname, instruction.argval
        if op in _SKIP:
            continue
        found: Any = None
        if op in ("LOAD_GLOBAL", "LOAD_NAME"):
            found = namespace.get(arg, getattr(builtins, arg, None)) if isinstance(arg, str) else None
            captured = not isinstance(found, types.ModuleType) and getattr(found, "__name__", arg) != arg
            yield found, f"the global {arg}" if captured else ""
        elif op in ("LOAD_DEREF", "LOAD_CLASSDEREF") and arg in cells:
            found = cells[arg]
        elif op in ("LOAD_FAST", "LOAD_FAST_CHECK") and arg in local_imports:
            found = local_imports[arg]
        elif op in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM") and arg in _FRAMES and (
                arg.startswith(("f_", "tb_", "gi_", "cr_")) or getattr(current, "__name__", "") in _STACK_OWNERS):
            yield types.SimpleNamespace(__name__=f"{_PACKAGE} (through the call stack: .{arg})", __module__=_PACKAGE), ""
        elif op in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM") and current is not None:
            if isinstance(current, types.ModuleType):
                found = getattr(current, arg, None) or sys.modules.get(f"{current.__name__}.{arg}")
            elif isinstance(current, type):
                found = inspect.getattr_static(current, arg, None)
                found = getattr(found, "__func__", found)  # staticmethod, classmethod
            yield found, ""
            if op == "IMPORT_FROM":
                last_import, current = found, current  # `from m import a, b`: the module stays current
                continue
        elif op == "IMPORT_NAME":
            if arg == _PACKAGE or str(arg).startswith(_PACKAGE + "."):
                yield types.SimpleNamespace(__name__=arg, __module__=arg), ""
            found = sys.modules.get(arg)
            yield found, ""
            last_import = found
        elif op in ("STORE_FAST", "STORE_NAME") and last_import is not None:
            local_imports[arg] = last_import
        elif op == "LOAD_CONST":
            if isinstance(arg, types.CodeType):
                yield from _code_references(arg, namespace, {})
            elif isinstance(arg, str):
                strings.append(arg)
                if _PACKAGE in arg or any(path in arg for path in _PATHS):
                    yield types.SimpleNamespace(__name__=_PACKAGE, __module__=_PACKAGE), f"the string {arg!r}"
        if op not in ("STORE_FAST", "STORE_NAME", "IMPORT_FROM", "SWAP", "POP_TOP"):
            last_import = None if op != "IMPORT_NAME" else last_import
        current = found if isinstance(found, (types.ModuleType, type)) else None
        if current is not None:
            reached_owners.append(current)
    for owner in reached_owners:  # getattr(module, "name") with a constant name
        for text in strings:
            if text.isidentifier():
                attribute = (getattr(owner, text, None) if isinstance(owner, types.ModuleType)
                             else inspect.getattr_static(owner, text, None))
                if attribute is not None:
                    yield attribute, ""


def _references(obj: Any, answer: Any) -> Iterator[tuple[Any, str]]:
    """The objects ``obj`` holds or names, each with how, for the failure message ('' where the answer
    names it plainly)."""
    if isinstance(obj, functools.partial):
        yield obj.func, "functools.partial"
        yield from ((a, "an argument bound by functools.partial") for a in obj.args)
        yield from ((v, f"the keyword {k}= bound by functools.partial") for k, v in obj.keywords.items())
    elif isinstance(obj, (types.MethodType, staticmethod, classmethod)):
        yield obj.__func__, "the method's function"
        if isinstance(obj, types.MethodType):
            yield obj.__self__, "the object the method is bound to"
    elif isinstance(obj, property):
        yield from ((f, "a property") for f in (obj.fget, obj.fset, obj.fdel) if f is not None)
    elif isinstance(obj, types.FunctionType):
        if not _is_learners(obj):
            return
        code = obj.__code__
        cells = {}
        for name, cell in zip(code.co_freevars, obj.__closure__ or (), strict=False):
            try:
                cells[name] = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            yield cells[name], f"the closure variable {name}"
        positional = reversed(code.co_varnames[:code.co_argcount])
        for name, value in zip(positional, reversed(obj.__defaults__ or ()), strict=False):
            yield value, f"the default argument {name}"
        for name, value in (obj.__kwdefaults__ or {}).items():
            yield value, f"the default argument {name}"
        if hasattr(obj, "__wrapped__"):
            yield obj.__wrapped__, "the function it wraps"
        yield from ((found, how or (f"your function {obj.__name__}" if obj is not answer else ""))
                    for found, how in _code_references(code, obj.__globals__, cells))
    elif isinstance(obj, type):
        if _is_learners(obj):
            yield from ((value, f"{obj.__qualname__}.{name}") for name, value in vars(obj).items())
            yield from ((base, f"the base class {base.__qualname__}") for base in obj.__bases__)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from ((item, "a container") for item in list(obj)[:100])
    elif isinstance(obj, dict):
        yield from ((item, "a container") for item in list(obj.values())[:100])
    elif not isinstance(obj, (types.ModuleType, str, bytes, int, float, complex, bool, type(None), torch.Tensor)):
        kind = type(obj)
        if _is_learners(kind):  # an object of the learner's class: its class and its attributes
            yield kind, f"its class {kind.__qualname__}"
            yield from ((value, f"its attribute {name}") for name, value in getattr(obj, "__dict__", {}).items())
        elif callable(obj) and isinstance(inspect.getattr_static(kind, "__call__", None), types.FunctionType):
            yield kind.__call__, f"{kind.__qualname__}.__call__"


def _walk(answer: Any) -> Iterator[tuple[Any, list[str]]]:
    """Every object ``answer`` reaches (see :func:`reaches`), each with its route, once."""
    queue = collections.deque([(answer, [])])  # breadth first: the first refused name in the code is named
    seen: set[int] = set()
    while queue and len(seen) < _LIMIT:
        obj, route = queue.popleft()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj, route
        try:
            queue.extend((child, [*route, how] if how else route) for child, how in _references(obj, answer))
        except Exception:  # noqa: BLE001 - an object that cannot be read holds nothing we can see
            continue


def reaches(answer: Any, refused: Mapping[int, str]) -> tuple[str, list[str]] | None:
    """How ``answer`` reaches something it may not use: (its name, the route), or None.

    ``refused`` maps ``id(obj)`` to the name a message gives ``obj``; anything in helpers.checks is
    refused too. The learner's code is read, not run: every function's code (the globals it reads,
    attributes of modules and classes it names, its imports), default arguments, closure variables,
    methods of its classes, ``functools.partial`` objects and bound methods, recursively, so that
    an alias, a default argument, a closure or a global captured before the check all count.
    """
    for obj, route in _walk(answer):
        if id(obj) in refused:
            return refused[id(obj)], route
        if _in_package(obj) and (callable(obj) or isinstance(obj, (types.ModuleType, types.SimpleNamespace))):
            return _name_of(obj), route
    return None


def _lines(function: types.FunctionType) -> list[tuple[str, ...]]:
    """A function's code as one tuple of normalised instructions per source line: variable names do not
    count (``self.stride`` reads as a variable too), what it calls and its constants do."""
    lines: list[list[str]] = []
    previous = ""
    for instruction in dis.get_instructions(function):
        if instruction.starts_line is not None:
            lines.append([])
        if instruction.opname in _SKIP or not lines:
            continue
        op = instruction.opname
        if op in _VARIABLE or (op in ("LOAD_ATTR", "LOAD_METHOD") and previous == "self"):
            token = "VAR"
            if lines[-1] and lines[-1][-1] == "VAR" and op == "LOAD_ATTR":
                continue
        elif isinstance(instruction.argval, types.CodeType) or "JUMP" in op:
            token = op
        else:
            token = f"{op} {instruction.argrepr}"
        previous = "self" if op in ("LOAD_FAST", "LOAD_DEREF") and instruction.argval == "self" else ""
        lines[-1].append(token)
    return [tuple(line) for line in lines if line and line not in (["RETURN_VALUE"], ["RETURN_CONST None"])]


def _common_lines(a: list[tuple[str, ...]], b: list[tuple[str, ...]]) -> int:
    """The length of the longest common subsequence of two lists of lines."""
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def copied(answer: Any, reference: Any, share: float = 0.8, min_lines: int = 4) -> bool:
    """Whether a function the answer reaches holds a copy of ``reference``'s code: at least ``share`` of its
    lines (at least ``min_lines``), in order, whatever the variables are called."""
    reference = getattr(reference, "__func__", reference)
    if not isinstance(reference, types.FunctionType):
        return False
    theirs = _lines(reference)
    if len(theirs) < min_lines:
        return False
    return any(isinstance(obj, types.FunctionType) and _is_learners(obj)
               and _common_lines(_lines(obj), theirs) >= share * len(theirs) for obj, _ in _walk(answer))


def _refused_ids(refused: Mapping[Any, Iterable[str]]) -> dict[int, str]:
    """``{owner: [names]}`` (as :func:`refusing` takes it) as ``{id(object): name}``; a refused
    ``__init__`` refuses the class itself."""
    ids: dict[int, str] = {}
    for owner, names in refused.items():
        for name in names:
            label = _label(owner, name)
            target = owner if name == "__init__" else inspect.getattr_static(owner, name, None)
            target = getattr(target, "__func__", target)
            if target is not None:
                ids.setdefault(id(target), label)
    return ids


def refuse_reaching(exercise: str, answers: Iterable[Any], refused: Mapping[Any, Iterable[str]] | None = None,
                    hint: str = "") -> None:
    """Raise :class:`CheckFailed` if an answer reaches anything in helpers.checks or in ``refused``
    (``{owner: [attribute names]}``), by whatever route (see :func:`reaches`)."""
    ids = _refused_ids(refused or {})
    for answer in answers:
        found = reaches(answer, ids)
        if found is None:
            continue
        name, route = found
        via = f" (through {', then '.join(route)})" if route else ""
        if _PACKAGE in name:
            fail(f"{exercise}: your answer uses {name}{via}. The checks' code is not an answer to borrow: "
                 "write the exercise yourself.")
        fail(f"{exercise}: this exercise asks you to write it yourself; you called {name}{via}."
             + (f" {hint}" if hint else ""))
    for owner, names in (refused or {}).items():
        for name in names:
            reference = owner.__init__ if name == "__init__" and isinstance(owner, type) else getattr(owner, name, None)
            if any(copied(answer, reference) for answer in answers):
                fail(f"{exercise}: your answer is a copy of {_label(owner, name)}, which this exercise asks you "
                     "to write yourself." + (f" {hint}" if hint else ""))


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
    :func:`substituting`), and they are read first: one that reaches a refused attribute by any route,
    a default argument, a closure or a global captured earlier included, is refused before it runs
    (see :func:`refuse_reaching`).
    """
    refuse_reaching(exercise, functions, refused, hint)
    return substituting({owner: {name: _refuser(exercise, _label(owner, name), hint) for name in names}
                         for owner, names in refused.items()}, *functions)


# ----------------------------------------------------------------------------------------------
# Reference values the student edition ships as data instead of code
# ----------------------------------------------------------------------------------------------

# module name -> function name -> (the function, the argument tuples it is precomputed on)
PRECOMPUTED: dict[str, dict[str, tuple[Callable[..., Any], Callable[[], Iterable[tuple]]]]] = {}
_TABLES: dict[str, dict[str, dict[str, Any]]] = {}


def _key(function: Callable[..., Any], args: tuple, kwargs: Mapping[str, Any]) -> str:
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    return repr(tuple(bound.arguments.values()))


def precomputed(cases: Callable[[], Iterable[tuple]]) -> Callable[[F], F]:
    """Mark a function of a check module whose values would answer the exercise (the reference, or a
    mistake one line away from it). The masters run it; ``make student`` evaluates it on ``cases()``
    (argument tuples: the check's seeded cases), ships the values as data and replaces its body by
    :func:`recorded`, so the student edition's checks hold no reference code. The masters refuse a call
    outside ``cases()``, so that the tests prove the data covers every call a check makes."""

    def decorate(function: F) -> F:
        covered: set[str] = set()

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            if not covered:
                covered.update(_key(function, tuple(case), {}) for case in cases())
            key = _key(function, args, kwargs)
            if key not in covered:
                raise AssertionError(f"{function.__qualname__}{key}: not among its precomputed cases; add it there")
            return function(*args, **kwargs)

        PRECOMPUTED.setdefault(function.__module__, {})[function.__name__] = (function, cases)
        return run  # type: ignore[return-value]

    return decorate


@functools.cache
def precompute(module: str) -> dict[str, dict[str, Any]]:
    """The values of every precomputed function of ``module`` on its cases, as ``make student`` ships them
    (computed once per process: they depend on the code only)."""
    return {name: {_key(function, tuple(case), {}): function(*case) for case in cases()}
            for name, (function, cases) in PRECOMPUTED.get(module, {}).items()}


def recorded(module: str, name: str, args: tuple) -> Any:
    """In the student edition, a precomputed function's value, read from the data shipped beside its module."""
    if module not in _TABLES:
        path = Path(sys.modules[module].__file__).with_suffix(".pt")
        _TABLES[module] = torch.load(path, weights_only=False)
    key = repr(tuple(args))
    table = _TABLES[module][name]
    if key not in table:
        fail(f"{name}{key}: the student edition's check knows the expected values of its own cases only.")
    value = table[key]
    return value.clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)


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
