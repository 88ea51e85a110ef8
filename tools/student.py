"""For instructors: the student edition of the notebooks, an exercise list, and a grader.

    python -m tools.student notebooks student     # write the student edition (make student)
    python -m tools.student --list                # the exercises of every notebook, as a table
    python -m tools.student --grade submissions/  # grade submitted notebooks (make grade STUDENT_DIR=...)

The exercises follow nbgrader's conventions, so nbgrader can also work on the notebooks as they are:
a solution cell (nbgrader metadata ``solution: true``) holds the answer between ``### BEGIN SOLUTION``
and ``### END SOLUTION``; the student edition replaces the code between them with nbgrader's stub
(``# YOUR CODE HERE`` / ``raise NotImplementedError()``) at the marker's indentation, keeping the
signature, docstring and hints above it. Unlike ``nbgrader generate_assignment`` it keeps the two
marker lines, because the notebooks tell learners to write their code between them. A check cell (``grade: true``, ``locked: true``, grade id
``<exercise>_check``, ``points``) follows and calls ``helpers.checks``. Cells tagged ``setup`` define
everything an exercise may use, so the grader runs only those, then each exercise's solution and
check cells, in a fresh kernel per notebook: one broken exercise does not stop the others. It finds each
submission's master by its grade ids (not its file name) and runs the master's setup and check cells,
never the submission's.
"""
from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError, DeadKernelError

from helpers.paths import PROJECT_ROOT
from tools.execution import NotebookClient

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"  # nbgrader's default code stub

NOTEBOOKS = PROJECT_ROOT / "notebooks"


# ----------------------------------------------------------------------------------------------
# Reading the exercises of a notebook
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exercise:
    """One exercise: its solution cell, the check cell that grades it, and the points."""

    notebook: str  # file name, e.g. "04_batch_norm.ipynb"
    grade_id: str  # the solution cell's nbgrader grade_id, e.g. "nb04_batch_norm_train"
    solution_index: int
    check_index: int
    points: float
    function: str  # the name the solution cell defines (first ``def``), for the exercise table
    summary: str  # first line of its docstring


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_setup(cell) -> bool:
    return cell.cell_type == "code" and "setup" in cell.get("metadata", {}).get("tags", [])


def is_solution(cell) -> bool:
    return cell.cell_type == "code" and bool(_nbgrader(cell).get("solution"))


def is_check(cell) -> bool:
    return cell.cell_type == "code" and bool(_nbgrader(cell).get("grade")) and not _nbgrader(cell).get("solution")


_DEF = re.compile(r"^\s*def\s+(\w+)\s*\(", re.M)
_DOC = re.compile(r'^\s*(?:"""|\'\'\')\s*(.*?)\s*(?:"""|\'\'\'|$)', re.M)


def exercises(nb: nbformat.NotebookNode, name: str = "") -> list[Exercise]:
    """The exercises of ``nb`` in order: each solution cell paired with its check cell.

    The check cell is the one whose grade_id is ``<solution grade_id>_check``; failing that, the
    next graded cell after the solution cell.
    """
    checks = {_nbgrader(c).get("grade_id"): i for i, c in enumerate(nb.cells) if is_check(c)}
    found = []
    for i, cell in enumerate(nb.cells):
        if not is_solution(cell):
            continue
        grade_id = _nbgrader(cell).get("grade_id", f"cell{i}")
        check_index = checks.get(f"{grade_id}_check")
        if check_index is None:
            check_index = next((j for j in range(i + 1, len(nb.cells)) if is_check(nb.cells[j])), None)
        if check_index is None:
            raise ValueError(f"{name or 'notebook'}: solution cell {grade_id!r} has no check cell after it")
        source = cell.source
        function = _DEF.search(source)
        doc = _DOC.search(source[function.end():]) if function else None
        found.append(Exercise(name, grade_id, i, check_index, float(_nbgrader(nb.cells[check_index]).get("points", 0)),
                              function[1] if function else "", doc[1] if doc else ""))
    return found


def setup_sources(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if is_setup(c)]


# ----------------------------------------------------------------------------------------------
# Rewriting solution regions
# ----------------------------------------------------------------------------------------------

def _regions(lines: list[str], begin: str, end: str) -> list[tuple[int, int]]:
    """(begin line, end line) index pairs of every marked region."""
    regions, start = [], None
    for i, line in enumerate(lines):
        text = line.strip()
        if text == begin:
            if start is not None:
                raise ValueError(f"{begin!r} twice without {end!r} in between (line {i + 1})")
            start = i
        elif text == end:
            if start is None:
                raise ValueError(f"{end!r} without {begin!r} before it (line {i + 1})")
            regions.append((start, i))
            start = None
    if start is not None:
        raise ValueError(f"{begin!r} on line {start + 1} has no {end!r}")
    return regions


def replace_solution(source: str, body: str, *, keep_markers: bool = False) -> str:
    """``source`` with every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region replaced by ``body``,
    re-indented to the marker's indentation (``body`` is written unindented).

    Without ``keep_markers`` the marker lines go too (as in nbgrader's student version).
    """
    lines = source.split("\n")
    regions = _regions(lines, BEGIN_SOLUTION, END_SOLUTION)
    if not regions:
        raise ValueError("no ### BEGIN SOLUTION / ### END SOLUTION region in this cell")
    for start, stop in reversed(regions):
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        new = [indent + line if line.strip() else "" for line in body.strip("\n").split("\n")]
        if keep_markers:
            new = [lines[start], *new, lines[stop]]
        lines[start: stop + 1] = new
    return "\n".join(lines)


def stub_source(source: str, keep_markers: bool = True) -> str:
    """The student's version of a solution cell: the code in each marked region becomes nbgrader's stub.

    The markers stay (the notebooks' prose points learners at them) unless ``keep_markers=False``,
    which gives exactly what ``nbgrader generate_assignment`` writes.
    """
    return replace_solution(source, STUB, keep_markers=keep_markers)


def strip_hidden_tests(source: str) -> str:
    lines = source.split("\n")
    for start, stop in reversed(_regions(lines, BEGIN_HIDDEN, END_HIDDEN)):
        del lines[start: stop + 1]
    return "\n".join(lines)


def python_source(source: str) -> str:
    """Cell source that plain ``exec`` can run: IPython magics and shell escapes become comments."""
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


# ----------------------------------------------------------------------------------------------
# The student edition
# ----------------------------------------------------------------------------------------------

def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solutions stubbed, hidden tests removed, outputs and counts cleared;
    nbgrader's cell metadata is kept so instructors can still use nbgrader on it."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # saved widget state belongs to the cleared outputs
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if is_solution(cell):
                if BEGIN_SOLUTION not in cell.source:  # nothing to stub: the edition would give the answer away
                    raise ValueError(f"solution cell {_nbgrader(cell).get('grade_id')!r} has no "
                                     f"{BEGIN_SOLUTION!r} / {END_SOLUTION!r} markers around its answer")
                cell.source = stub_source(cell.source)
            if BEGIN_HIDDEN in cell.source:
                cell.source = strip_hidden_tests(cell.source)
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
    return nb


_README = """\
# Student edition

Your workspace. These notebooks are the exercises' version of the masters in `../notebooks/`: the code
between `### BEGIN SOLUTION` and `### END SOLUTION` is replaced by `raise NotImplementedError()`, and all
outputs are cleared.

Open them with `make lab` from the project root: it builds this folder if it is missing, starts
JupyterLab at the project root and opens `student/00_start_here.ipynb`. The masters, with every
solution, are one folder up, in `notebooks/`: open them when you want to compare, not before.

`make student` updates this folder from the masters and never overwrites a notebook you changed (or
ran: saved outputs count as a change). Yours is kept; when the masters have changed since, their new
version goes to `updates/` in this folder, and one line says so. `.edition.json` records what the last
build wrote, to tell the two apart. For a fresh copy of a notebook, rename yours and run `make student`.

Each exercise is a function to complete: replace the stub between the two markers with your code,
run the cell, then run the check cell below it. It prints one line when your answer is right and says what is wrong
otherwise. Everything an exercise may use is defined in the cells tagged `setup` (the imports and
setup cells at the top of the notebook) and in its own cell.
"""


MANIFEST = ".edition.json"  # in the edition's folder: the SHA-256 of every file as the last build wrote it
UPDATES = "updates"  # where the new version of a file the learner changed goes


def _write_unless_changed(target: Path, name: str, data: bytes, manifest: dict[str, str]) -> Path | None:
    """Write ``data`` to ``target/name`` and record its hash, unless the file there holds the learner's
    work: it exists and differs both from ``data`` and from what the last build wrote (``manifest``).
    Then nothing is written and the result is None."""
    path = target / name
    if path.exists():
        current = path.read_bytes()
        if current != data and hashlib.sha256(current).hexdigest() != manifest.get(name):
            return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    manifest[name] = hashlib.sha256(data).hexdigest()
    return path


def _write_edition_file(target: Path, name: str, data: bytes, manifest: dict[str, str],
                        log: Callable[[str], None]) -> Path:
    """``data`` into ``target/name``; a file the learner changed is kept and, if ``data`` is new since the
    last build, it goes to ``target/updates/name`` instead, with one line through ``log``. Returns where
    ``data`` is (or the kept file)."""
    written = _write_unless_changed(target, name, data, manifest)
    if written is not None:
        return written
    if hashlib.sha256(data).hexdigest() == manifest.get(name):  # the learner's file is all there is: no news
        return target / name
    update = _write_unless_changed(target, f"{UPDATES}/{name}", data, manifest)
    if update is None:
        log(f"kept your changed {target / name} and {target / UPDATES / name}; the new version was not "
            f"written (move one of them away and run again)")
        return target / name
    log(f"kept your changed {target / name}; the new version is {update}")
    return update


def write_student_edition(source: Path, target: Path, log: Callable[[str], None] = print) -> list[Path]:
    """Write the student edition of every notebook in ``source`` into ``target``; returns the files.

    A notebook the learner changed since the last build is never overwritten (see ``_write_edition_file``).
    """
    source, target = Path(source), Path(target)
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"no notebooks (*.ipynb) in {source}")
    target.mkdir(parents=True, exist_ok=True)
    manifest_path = target / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):  # none yet, or damaged: every differing file then counts as the learner's
        manifest = {}
    written = []
    for path in notebooks:
        text = nbformat.writes(student_notebook(nbformat.read(path, as_version=4)))
        data = (text if text.endswith("\n") else text + "\n").encode()  # as nbformat.write would save it
        written.append(_write_edition_file(target, path.name, data, manifest, log))
    # Anything next to the notebooks that they read (images, data files), except other notebooks.
    for extra in sorted(source.iterdir()):
        if extra.suffix == ".ipynb" or extra.name.startswith(".") or extra.name == "__pycache__":
            continue
        destination = target / extra.name
        if extra.is_dir():
            shutil.copytree(extra, destination, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        else:
            shutil.copy2(extra, destination)
    _write_edition_file(target, "README.md", _README.encode(), manifest, log)
    for name, data in student_files():  # helpers/ (checks without references), results/, figures/
        _write_edition_file(target, name, data, manifest, log)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return written


# ----------------------------------------------------------------------------------------------
# What the student edition ships besides the notebooks
# ----------------------------------------------------------------------------------------------

SHIPPED = ("helpers", "results", "figures")  # beside the notebooks: what they import, read and show
WITHHELD = '"""Withheld from the student edition: its values on the check\'s own cases are read from {data}."""'


def _without_references(module: str, source: str) -> tuple[str, bytes | None]:
    """A check module's source for the student edition, and the data its checks read instead.

    Every function marked ``@precomputed`` (a reference, or a mistake one line away from it) keeps its
    signature, loses its body and returns :func:`helpers.checks.recorded`: its values on the check's own
    seeded cases, computed here by the masters and returned as ``torch.save`` bytes (None: nothing withheld).
    """
    import importlib
    import io

    import torch

    from helpers import checks

    importlib.import_module(module)
    values = checks.precompute(module)
    if not values:
        return source, None
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    marked = [node for node in tree.body if isinstance(node, ast.FunctionDef) and any(
        isinstance(d, ast.Call) and getattr(d.func, "id", "") == "precomputed" for d in node.decorator_list)]
    if {node.name for node in marked} != set(values):
        raise ValueError(f"{module}: the @precomputed functions in its source ({sorted(n.name for n in marked)}) "
                         f"are not the ones it registers ({sorted(values)})")
    data_name = module.rsplit(".", 1)[-1] + ".pt"
    for node in sorted(marked, key=lambda n: n.lineno, reverse=True):
        arguments = node.args
        names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
        header = lines[node.lineno - 1: node.body[0].lineno - 1]
        indent = " " * node.body[0].col_offset
        body = [f"{indent}{WITHHELD.format(data=data_name)}\n",
                f"{indent}return recorded(__name__, {node.name!r}, ({''.join(n + ', ' for n in names)}))\n"]
        lines[node.decorator_list[0].lineno - 1: node.end_lineno] = header + body
    last_import = max(node.end_lineno for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)))
    lines.insert(last_import, "from helpers.checks import recorded  # the student edition's reference values\n")
    buffer = io.BytesIO()
    torch.save(values, buffer)
    return "".join(lines), buffer.getvalue()


def student_files(root: Path = PROJECT_ROOT) -> Iterator[tuple[str, bytes]]:
    """(path in the edition, content) of every file the student edition ships besides the notebooks and its
    README: ``helpers/``, ``results/`` and ``figures/``, so that the folder runs on its own. The check modules
    hold no reference solution: see :func:`_without_references`; their data goes beside them (``nbNN.pt``)."""
    for folder in SHIPPED:
        for path in sorted((root / folder).rglob("*")):
            generated = path.suffix == ".pt" and path.parent == root / "helpers" / "checks"  # written below
            if (not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc" or generated
                    or any(part.startswith(".") for part in path.relative_to(root).parts)):
                continue
            name, data = path.relative_to(root).as_posix(), path.read_bytes()
            if path.parent == root / "helpers" / "checks" and path.suffix == ".py" and path.stem != "__init__":
                source, table = _without_references(f"helpers.checks.{path.stem}", data.decode())
                data = source.encode()
                if table is not None:
                    yield path.with_suffix(".pt").relative_to(root).as_posix(), table
            yield name, data


# ----------------------------------------------------------------------------------------------
# The exercise table
# ----------------------------------------------------------------------------------------------

def exercise_table(directory: Path = NOTEBOOKS) -> list[Exercise]:
    table = []
    for path in sorted(Path(directory).glob("*.ipynb")):
        table.extend(exercises(nbformat.read(path, as_version=4), path.name))
    return table


def format_exercise_table(table: Iterable[Exercise], markdown: bool = False) -> str:
    rows = [(e.notebook.removesuffix(".ipynb"), e.grade_id, f"{e.points:g}", f"{e.function}()", e.summary)
            for e in table]
    header = ("notebook", "grade id", "points", "function", "what it asks")
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(f"`{c}`" if k in (1, 3) else c.replace("|", "\\|") for k, c in enumerate(row))
                  + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[k])) for r in [header, *rows]) for k in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    return "\n".join(fmt.format(*row) for row in [header, *rows])


# ----------------------------------------------------------------------------------------------
# Grading
# ----------------------------------------------------------------------------------------------

NOTEBOOK_ROW = "(notebook)"  # the grade id of a report row about a whole submitted file, not an exercise
TIMEOUT_ENAME = "CellTimeoutError"  # the error a cell that ran past the grader's timeout gets


@dataclass
class Result:
    notebook: str  # the master's file name (for a refused file: the file's own name)
    grade_id: str  # the exercise's grade id, or NOTEBOOK_ROW
    points: float
    passed: bool
    message: str  # first line of the check's output (pass) or of the error (fail)
    submitted: str = ""  # the file graded for this notebook, when its name differs from the master's

    @property
    def score(self) -> float:
        return self.points if self.passed else 0.0


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
        if line:
            return line
    return ""


def _error_message(error: BaseException) -> str:
    ename = getattr(error, "ename", None)
    if ename:  # nbclient's CellExecutionError: the kernel's exception name and value
        evalue = getattr(error, "evalue", "") or ""
        return _first_line(f"{ename}: {evalue}") if ename != "CheckFailed" else _first_line(evalue)
    return _first_line(f"{type(error).__name__}: {error}")


def _outputs_text(outputs: list) -> str:
    return "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _grade_ids(nb: nbformat.NotebookNode) -> set[str]:
    return {gid for cell in nb.cells if (gid := _nbgrader(cell).get("grade_id"))}


class Unmatched(ValueError):
    """A submitted notebook that cannot be matched to exactly one master."""


def _master_for(submitted: nbformat.NotebookNode, masters: dict[str, nbformat.NotebookNode]) -> str:
    """The name of the master that ``submitted`` was made from, found by content: the one sharing the most
    nbgrader grade ids with it. File names do not count (browsers and LMSs save a re-download as
    ``01_convolution_as_dot_product (1).ipynb``). Raises Unmatched saying why when none, or more than one,
    fits.
    """
    ids = _grade_ids(submitted)
    shared = {name: len(ids & _grade_ids(master)) for name, master in masters.items()}
    best = max(shared.values(), default=0)
    if best == 0:
        raise Unmatched("it matches no master notebook: "
                        "none of its cells carries one of their nbgrader grade ids")
    tied = [name for name, n in shared.items() if n == best]
    if len(tied) > 1:
        raise Unmatched(f"it matches {' and '.join(tied)} equally well (by nbgrader grade ids)")
    return tied[0]


def grade_notebook(path: Path, master_path: Path, timeout: int = 300,
                   kernel_name: str = "python3") -> list[Result]:
    """Grade the submitted notebook ``path`` against ``master_path``, the master it was made from; one result
    per exercise of the master.

    Only the learner's solution cells (found by grade id) come from the submission: the master's setup cells
    run first, in a fresh kernel, then each exercise's solution cell and the master's check cell. Editing,
    deleting or moving a check or setup cell therefore changes nothing; a deleted exercise fails. A cell
    that runs longer than ``timeout`` seconds is interrupted and fails its exercise. If the cell does not
    stop when interrupted (a solution that catches KeyboardInterrupt), or the kernel dies, a fresh kernel
    runs the setup cells again for the remaining exercises.
    """
    path, master_path = Path(path), Path(master_path)
    name = master_path.name
    submitted_name = path.name if path.name != name else ""
    submitted, master = nbformat.read(path, as_version=4), nbformat.read(master_path, as_version=4)
    wanted = exercises(master, name)
    solutions = {_nbgrader(c).get("grade_id"): c.source for c in submitted.cells if is_solution(c)}
    setups = setup_sources(master)
    grace = min(timeout, 10)  # seconds an interrupted cell gets to stop before the kernel is replaced

    results: list[Result] = []
    pending = list(wanted)
    env = {"RESNET_QUICK": os.environ.get("RESNET_QUICK", "1"), "MPLBACKEND": os.environ.get("MPLBACKEND", "Agg")}
    old_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        while pending:
            run = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": kernel_name, "display_name": kernel_name,
                                                                    "language": "python"}})
            client = NotebookClient(
                run, timeout=timeout, kernel_name=kernel_name, allow_errors=False, interrupt_on_timeout=True,
                error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": f"the cell ran longer than {timeout} s",
                                  "traceback": []},
                resources={"metadata": {"path": str(path.parent.resolve())}})

            def execute(source: str, client=client, run=run):
                cell = nbformat.v4.new_code_cell(source)
                run.cells.append(cell)
                client.execute_cell(cell, len(run.cells) - 1)
                return cell

            def stuck(error: CellExecutionError, client=client, execute=execute) -> bool:
                """After a timeout: True if the interrupted cell still runs (a probe cell gets no reply within
                ``grace`` seconds); the kernel is then killed, not shut down politely, when the client
                closes."""
                if getattr(error, "ename", None) != TIMEOUT_ENAME:
                    return False
                client.timeout = grace
                try:
                    execute("pass")
                except (CellExecutionError, DeadKernelError):
                    client.shutdown_kernel = "immediate"
                    return True
                finally:
                    client.timeout = timeout
                return False

            with client.setup_kernel():
                setup_error = None
                for k, source in enumerate(setups):
                    try:
                        execute(source)
                    except (CellExecutionError, DeadKernelError) as error:
                        setup_error = f"setup cell {k + 1} failed: {_error_message(error)}"
                        break
                if setup_error:
                    results += [Result(name, e.grade_id, e.points, False, setup_error, submitted_name)
                                for e in pending]
                    pending = []
                restart = False  # the kernel died, or is stuck in a cell: a fresh one for the rest
                while pending and not restart:
                    exercise = pending.pop(0)
                    result = Result(name, exercise.grade_id, exercise.points, False, "", submitted_name)
                    results.append(result)
                    if exercise.grade_id not in solutions:
                        result.message = "the solution cell is missing from the submission"
                        continue
                    for what, source in (("solution cell", solutions[exercise.grade_id]),
                                         ("check", master.cells[exercise.check_index].source)):
                        try:
                            cell = execute(source)
                        except CellExecutionError as error:
                            restart = stuck(error)
                            if restart:
                                result.message = (f"{TIMEOUT_ENAME}: the {what} ran longer than {timeout} s and "
                                                  f"did not stop when interrupted (does it catch "
                                                  f"KeyboardInterrupt?); a fresh kernel grades the exercises "
                                                  f"after it")
                            elif what == "check":
                                result.message = _error_message(error)
                            else:
                                result.message = f"the solution cell raised {_error_message(error)}"
                            break
                        except DeadKernelError:
                            restart = True
                            result.message = (f"the kernel died while running the {what}; "
                                              f"a fresh one grades the rest")
                            break
                    else:
                        result.passed = True
                        result.message = _first_line(_outputs_text(cell.outputs)) or "passed"
    finally:
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return results


def format_results(results: list[Result], width: int = 100) -> str:
    """The report: one row per exercise and per refused file, notes on renamed files, and the total."""
    rows = [(r.notebook.removesuffix(".ipynb"), r.grade_id, f"{r.points:g}",
             "REFUSED" if r.grade_id == NOTEBOOK_ROW else "pass" if r.passed else "FAIL",
             r.message if len(r.message) <= width else r.message[: width - 3] + "...") for r in results]
    header = ("notebook", "exercise", "points", "result", "message")
    widths = [max(len(row[k]) for row in [header, *rows]) for k in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths), "-" * 7)]
    lines += [fmt.format(*row) for row in rows]
    lines += [f"{submitted} was graded as {notebook} (matched by its nbgrader grade ids)"
              for notebook, submitted in dict.fromkeys((r.notebook, r.submitted)
                                                        for r in results if r.submitted)]
    graded = [r for r in results if r.grade_id != NOTEBOOK_ROW]
    total, earned = sum(r.points for r in graded), sum(r.score for r in graded)
    passed, refused = sum(r.passed for r in graded), len(results) - len(graded)
    lines.append(f"total: {earned:g} / {total:g} points ({passed} of {len(graded)} exercises passed)"
                 + (f"; {refused} submitted file{'s' * (refused > 1)} refused" if refused else ""))
    return "\n".join(lines)


def grade(submissions: Path, master_dir: Path = NOTEBOOKS, timeout: int = 300) -> list[Result]:
    """Grade the notebooks in ``submissions`` (a folder, or one notebook file) against the masters in
    ``master_dir``.

    Each file is matched to its master by content (``_master_for``), never by name, and graded with the
    master's setup and check cells (``grade_notebook``). Every exercise of every master gets a row, so the
    total is over the whole assignment: a master that no file matches scores 0 for each of its exercises. A
    file that cannot be read or matches no master is refused (one row, no points); so are files made from
    the same master as another, except the one named as the master, which is graded.
    """
    submissions, master_dir = Path(submissions), Path(master_dir)
    paths = [submissions] if submissions.suffix == ".ipynb" else sorted(submissions.glob("*.ipynb"))
    if not paths:
        raise ValueError(f"no submitted notebooks (*.ipynb) in {submissions}")
    master_paths = {p.name: p for p in sorted(master_dir.glob("*.ipynb"))}
    if not master_paths:
        raise ValueError(f"no master notebooks (*.ipynb) in {master_dir}")
    masters = {name: nbformat.read(p, as_version=4) for name, p in master_paths.items()}

    refused, matched = [], {}  # matched: master name -> the submitted files made from it
    for path in paths:
        try:
            matched.setdefault(_master_for(nbformat.read(path, as_version=4), masters), []).append(path)
        except Exception as error:  # noqa: BLE001 - not JSON, not a notebook, unmatched: refused
            reason = str(error) if isinstance(error, Unmatched) else \
                f"cannot read it as a notebook ({_error_message(error)})"
            refused.append(Result(path.name, NOTEBOOK_ROW, 0, False, f"refused: {reason}"))

    results = []
    for name, master in masters.items():
        found = matched.get(name, [])
        if len(found) > 1:  # several files made from one master: the one with its name is graded, if any
            keep = [path for path in found if path.name == name]
            for path in found:
                if path not in keep:
                    others = " and ".join(p.name for p in found if p != path)
                    refused.append(Result(path.name, NOTEBOOK_ROW, 0, False, (
                        f"refused: {name}, made from the same master, is graded instead" if keep else
                        f"refused: {others} also matches {name}; submit one file per notebook")))
            found = keep
        if len(found) == 1:
            try:
                results += grade_notebook(found[0], master_paths[name], timeout)
                continue
            except Exception as error:  # noqa: BLE001 - e.g. a cell without a source: its exercises score 0
                why = f"could not grade {found[0].name}: {_error_message(error)}"
        elif name in matched:
            why = "more than one submitted file matches it (refused)"
        else:
            why = "no submitted file matches it"
        results += [Result(name, e.grade_id, e.points, False, why) for e in exercises(master, name)]
    return refused + results


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=NOTEBOOKS, help="notebooks to read (default notebooks/)")
    parser.add_argument("target", nargs="?", type=Path, help="where to write the student edition")
    parser.add_argument("--list", action="store_true", help="print the exercises of the notebooks in SOURCE")
    parser.add_argument("--markdown", action="store_true", help="with --list: a Markdown table")
    parser.add_argument("--grade", type=Path, metavar="DIR",
                        help="grade the submitted notebooks in DIR (or one notebook file)")
    parser.add_argument("--master", type=Path, default=NOTEBOOKS,
                        help="the master notebooks whose setup and check cells grading uses; the report covers "
                             "every exercise of each (default notebooks/)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds one cell may run when grading")
    parser.add_argument("--strict", action="store_true",
                        help="with --grade: exit with status 1 unless every exercise passed (for scripts)")
    args = parser.parse_args(argv)
    if args.grade is not None:
        if not args.grade.exists():
            parser.error(f"--grade: {args.grade} does not exist")
        if not args.master.is_dir():
            parser.error(f"--master: {args.master} is not a folder of master notebooks")
        if args.timeout <= 0:
            parser.error(f"--timeout: expected a positive number of seconds, got {args.timeout}")
        try:
            results = grade(args.grade, args.master, args.timeout)
        except ValueError as error:  # no notebooks there, or a master without a check cell
            parser.error(str(error))
        print(format_results(results))
        return 1 if args.strict and not all(r.passed for r in results) else 0
    if args.list:
        print(format_exercise_table(exercise_table(args.source), markdown=args.markdown))
        return 0
    if args.target is None:
        parser.error("give SOURCE and TARGET directories (or --list, or --grade DIR)")
    if args.target.resolve() == args.source.resolve():
        parser.error("TARGET must differ from SOURCE: the student edition would overwrite the solutions")
    written = write_student_edition(args.source, args.target)
    n = sum(len(exercises(nbformat.read(p, as_version=4))) for p in written)
    print(f"wrote {len(written)} student notebooks with {n} exercises to {args.target}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
