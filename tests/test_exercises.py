"""Every exercise's check can fail, and passes on the master solution.

For each check cell of every notebook in notebooks/ (found by its nbgrader metadata, so a new
notebook is covered as soon as it lands) the check must
  (a) fail with "not implemented" on the student edition's stub,
  (b) fail (CheckFailed) on every plausible wrong answer in tests/wrong_answers/nbNN.py, with a
      message that names the likely cause (each wrong answer registers a fragment of that message),
  (c) pass on the master solution.
Each notebook's `setup`-tagged cells run once, in-process; each variant then runs its solution cell
and the check cell in a copy of that namespace (an exercise may use only what setup defines).

The student edition itself: it contains no solution text and no outputs, its cells before the first
exercise are the master's (which nbval runs), and it runs up to the first exercise in a real kernel
(02 and 05 by default; all with RESNET_STUDENT_RUN=all, or a comma list of prefixes like 00,04).
"""
from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
import time
from functools import cache
from pathlib import Path

import nbformat
import pytest
import torch

import tests.wrong_answers
from helpers.checks import CheckFailed
from tests.conftest import REAL_CIFAR10_DIR
from tools import student
from tools.execution import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
# Executed by default up to their first exercise (~10-25 s each): 01 and 02 show ipywidgets explorers
# before it, which stalled nbclient's own client here (until the cell timeout, about one cell in ten
# under load; bench/stalls.py) and run through tools.execution.NotebookClient, which waits in slices.
# Not 03, 04 and 06 by default: they train networks before their first exercise (2-3 min each).
DEFAULT_STUDENT_RUN = ("00", "01", "02", "05")


@cache
def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


EXERCISES = [(path, exercise) for path in NOTEBOOKS for exercise in student.exercises(read(path), path.name)]
BY_ID = {exercise.grade_id: (path, exercise) for path, exercise in EXERCISES}


def prefix(grade_id: str) -> str:
    """'nb04_batch_norm_train' -> 'nb04' (the wrong-answer module's name)."""
    return grade_id.split("_", 1)[0]


@cache
def wrong_answer_cases() -> dict[str, list[tuple[str, str]]]:
    """Every registered wrong answer, by grade id, from every module in tests/wrong_answers/, as
    (body, fragment): the body replaces the master solution; the fragment is a case-sensitive part
    of the check's failure message that names the cause of that mistake."""
    found: dict[str, list[tuple[str, str]]] = {}
    for module in pkgutil.iter_modules(tests.wrong_answers.__path__):
        wrong = importlib.import_module(f"tests.wrong_answers.{module.name}").WRONG
        for grade_id, entries in wrong.items():
            if grade_id in found:
                raise AssertionError(f"{grade_id} registered twice (second time in {module.name}.py)")
            for k, entry in enumerate(entries):
                if not (isinstance(entry, tuple) and len(entry) == 2
                        and all(isinstance(part, str) and part.strip() for part in entry)):
                    raise AssertionError(f"{module.name}.py: {grade_id} wrong answer {k} should be a pair "
                                         f"(body, fragment of the failure message), got {entry!r}")
            found[grade_id] = list(entries)
    return found


@cache
def wrong_answers() -> dict[str, list[str]]:
    """The bodies of every registered wrong answer, by grade id (see wrong_answer_cases)."""
    return {grade_id: [body for body, _ in entries] for grade_id, entries in wrong_answer_cases().items()}


WRONG_CASES = [pytest.param(grade_id, k, id=f"{grade_id}-wrong{k}")
               for grade_id, entries in wrong_answer_cases().items() if grade_id in BY_ID
               for k in range(len(entries))]


@pytest.fixture(autouse=True)
def _notebook_environment(monkeypatch):
    """What the notebooks see under `make test`: quick budgets, no display, the real data if CI has it."""
    monkeypatch.setenv("RESNET_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if REAL_CIFAR10_DIR:
        monkeypatch.setenv("CIFAR10_DIR", REAL_CIFAR10_DIR)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # setup cells may set one thread; do not leak it into other tests
    if "matplotlib.pyplot" in __import__("sys").modules:
        import matplotlib.pyplot as plt

        plt.close("all")


_SETUP: dict[Path, tuple[dict, int]] = {}


def setup_namespace(path: Path) -> dict:
    """The namespace after the notebook's setup cells, computed once per notebook (per session).

    Setup cells may change process-wide state the checks then run under (torch's thread count):
    that is re-applied for every exercise of the notebook, and undone after each test.
    """
    if path not in _SETUP:
        namespace: dict = {"__name__": "__main__"}
        for k, source in enumerate(student.setup_sources(read(path))):
            exec(compile(student.python_source(source), f"<{path.name} setup cell {k + 1}>", "exec"), namespace)
        _SETUP[path] = namespace, torch.get_num_threads()
    namespace, threads = _SETUP[path]
    torch.set_num_threads(threads)
    return namespace


def run_exercise(grade_id: str, solution_source: str) -> None:
    """Run one variant of an exercise's solution cell, then its check cell, on a copy of setup's namespace."""
    path, exercise = BY_ID[grade_id]
    nb = read(path)
    namespace = dict(setup_namespace(path))
    exec(compile(student.python_source(solution_source), f"<{grade_id} solution>", "exec"), namespace)
    check = nb.cells[exercise.check_index].source
    exec(compile(student.python_source(check), f"<{grade_id} check>", "exec"), namespace)


def master_source(grade_id: str) -> str:
    path, exercise = BY_ID[grade_id]
    return read(path).cells[exercise.solution_index].source


# ------------------------------------------------------------------------------------------------
# The exercises are well formed
# ------------------------------------------------------------------------------------------------

def test_notebooks_have_exercises():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"
    for path in NOTEBOOKS:
        n = len(student.exercises(read(path), path.name))
        assert n >= 3, f"{path.name} has {n} exercises; every notebook ends with at least 3"


def test_grade_ids_are_unique_and_named_after_their_notebook():
    ids = [exercise.grade_id for _, exercise in EXERCISES]
    assert len(ids) == len(set(ids)), f"duplicate grade ids: {sorted(i for i in ids if ids.count(i) > 1)}"
    for path, exercise in EXERCISES:
        assert prefix(exercise.grade_id) == f"nb{path.name[:2]}", (
            f"{path.name}: grade id {exercise.grade_id} should start with nb{path.name[:2]}_")


@pytest.mark.parametrize("grade_id", list(BY_ID))
def test_exercise_cells_follow_nbgrader(grade_id):
    path, exercise = BY_ID[grade_id]
    nb = read(path)
    solution, check = nb.cells[exercise.solution_index], nb.cells[exercise.check_index]
    assert exercise.solution_index < exercise.check_index
    assert solution.source.count(student.BEGIN_SOLUTION) >= 1
    assert solution.source.count(student.BEGIN_SOLUTION) == solution.source.count(student.END_SOLUTION)
    meta = check.metadata["nbgrader"]
    assert meta["grade_id"] == f"{grade_id}_check", "the check cell's grade id is the exercise's plus _check"
    assert meta["grade"] and meta["locked"] and not meta["solution"] and meta.get("points", 0) > 0
    assert "helpers.checks" in check.source, "a check cell calls a check from helpers.checks"
    assert not solution.metadata["nbgrader"]["grade"] and not solution.metadata["nbgrader"].get("locked")


def test_every_check_has_a_wrong_answer():
    registered = wrong_answers()
    missing = [grade_id for grade_id in BY_ID if not registered.get(grade_id)]
    assert not missing, f"exercises with no wrong answer in tests/wrong_answers/: {missing}"
    for grade_id in registered:
        module = importlib.import_module(f"tests.wrong_answers.{prefix(grade_id)}")
        assert grade_id in module.WRONG, f"{grade_id} belongs in tests/wrong_answers/{prefix(grade_id)}.py"


def test_no_wrong_answer_is_orphaned():
    """Every registered wrong answer belongs to an exercise of a notebook. While a notebook is being
    written its wrong answers may land first: those are reported as a skip, not a failure."""
    notebooks = {f"nb{path.name[:2]}" for path in NOTEBOOKS}
    orphans = [grade_id for grade_id in wrong_answers() if grade_id not in BY_ID]
    assert not [g for g in orphans if prefix(g) in notebooks], (
        f"wrong answers for exercises that their notebook does not have: {[g for g in orphans if prefix(g) in notebooks]}")
    if orphans:
        pytest.skip(f"wrong answers for notebooks not in notebooks/ yet: {orphans}")


# ------------------------------------------------------------------------------------------------
# Stub fails, wrong answers fail, master passes
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("grade_id", list(BY_ID))
def test_master_solution_passes(grade_id, capsys):
    run_exercise(grade_id, master_source(grade_id))
    assert "\u2714" in capsys.readouterr().out, "a passing check prints one line starting with \u2714"


@pytest.mark.parametrize("grade_id", list(BY_ID))
def test_stub_fails_as_not_implemented(grade_id):
    stub = student.stub_source(master_source(grade_id))
    with pytest.raises(CheckFailed, match="not implemented"):
        run_exercise(grade_id, stub)


@pytest.mark.parametrize(("grade_id", "k"), WRONG_CASES)
def test_wrong_answer_fails(grade_id, k):
    body, fragment = wrong_answer_cases()[grade_id][k]
    source = student.replace_solution(master_source(grade_id), body, keep_markers=True)
    compile(source, f"<{grade_id} wrong answer {k}>", "exec")  # a syntax error would prove nothing
    with pytest.raises(CheckFailed) as failure:
        run_exercise(grade_id, source)
    message = str(failure.value)
    assert message.strip(), "the failure says what is wrong"
    assert "not implemented" not in message
    assert fragment in message, (
        f"the failure should name the cause of this mistake ({fragment!r}); it says: {message!r}")


# ------------------------------------------------------------------------------------------------
# The student edition
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_edition_has_no_solutions_and_no_outputs(path):
    master = read(path)
    edition = student.student_notebook(master)
    nbformat.validate(edition)
    assert len(edition.cells) == len(master.cells)
    solution_ids = {e.solution_index for e in student.exercises(master, path.name)}
    for i, (mine, theirs) in enumerate(zip(edition.cells, master.cells, strict=True)):
        assert mine.metadata.get("nbgrader") == theirs.metadata.get("nbgrader"), f"cell {i}: nbgrader metadata kept"
        assert mine.metadata.get("tags") == theirs.metadata.get("tags")
        if mine.cell_type != "code":
            assert mine.source == theirs.source
            continue
        assert mine.outputs == [] and mine.execution_count is None, f"cell {i} keeps outputs"
        ast.parse(student.python_source(mine.source))
        if i not in solution_ids:
            assert mine.source == theirs.source, f"cell {i} changed although it is no solution cell"
            continue
        regions = student._regions(mine.source.split("\n"), student.BEGIN_SOLUTION, student.END_SOLUTION)
        assert regions, f"cell {i}: the student edition keeps the markers the prose points at"
        for start, stop in regions:
            between = [line.strip() for line in mine.source.split("\n")[start + 1: stop]]
            assert between == student.STUB.split("\n"), f"cell {i}: only the stub between the markers: {between}"
        solution_lines = [line.strip() for start, stop in student._regions(
            theirs.source.split("\n"), student.BEGIN_SOLUTION, student.END_SOLUTION)
            for line in theirs.source.split("\n")[start + 1: stop]]
        kept = {line.strip() for line in mine.source.split("\n")}
        leaked = [line for line in solution_lines if line and not line.startswith("#") and line in kept]
        assert not leaked, f"cell {i}: solution lines in the student edition: {leaked}"
        above = theirs.source.split(student.BEGIN_SOLUTION)[0].rstrip(" ")
        assert mine.source.startswith(above), f"cell {i}: signature, docstring and hints are kept"
    assert "widgets" not in edition.metadata


def _student_runs() -> list[str]:
    wanted = os.environ.get("RESNET_STUDENT_RUN", ",".join(DEFAULT_STUDENT_RUN))
    return [p.name[:2] for p in NOTEBOOKS] if wanted == "all" else [w.strip() for w in wanted.split(",") if w.strip()]


def _slowest(nb, n: int = 3) -> str:
    from datetime import datetime

    times = []
    for i, cell in enumerate(nb.cells):
        timing = cell.metadata.get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            began, ended = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                            for k in ("iopub.execute_input", "shell.execute_reply"))
            times.append(((ended - began).total_seconds(), i))
    return ", ".join(f"cell {i} {t:.1f} s" for t, i in sorted(times, reverse=True)[:n])


def _uses_data(cells) -> bool:
    return any(re.search(r"load_cifar10|cifar10_loaders", c.source) for c in cells if c.cell_type == "code")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_edition_runs_up_to_the_first_exercise(path, tmp_path):
    """The student edition opens and runs, in a kernel, up to its first exercise without errors.

    The cells before the first exercise are the master's (asserted above), which nbval runs in full;
    executing them again for every notebook is slow, so by default two notebooks run here.
    """
    if path.name[:2] not in _student_runs():
        pytest.skip("set RESNET_STUDENT_RUN=all (or a list like 00,04) to run this notebook's student edition")
    written = student.write_student_edition(NOTEBOOK_DIR, tmp_path / "student")
    edition = nbformat.read(next(p for p in written if p.name == path.name), as_version=4)
    first = next(i for i, cell in enumerate(edition.cells) if student.is_solution(cell))
    edition.cells = edition.cells[:first]
    if _uses_data(edition.cells) and not REAL_CIFAR10_DIR and not (NOTEBOOK_DIR.parent / "data").exists():
        pytest.skip("needs CIFAR-10: set CIFAR10_DIR")
    start = time.perf_counter()
    NotebookClient(edition, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path / "student")}}).execute()
    print(f"{path.name}: {first} cells in {time.perf_counter() - start:.1f} s; slowest cells:", _slowest(edition))
    errors = [o for c in edition.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
