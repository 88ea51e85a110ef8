"""tools.student: stubbing, the student edition, the exercise table and the grader."""
from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import nbformat
import pytest

from tools import student

SOLUTION = textwrap.dedent('''\
    def area(w, h):
        """Area of a w x h rectangle.

        Hint: multiply.
        """
        ### BEGIN SOLUTION
        a = w * h

        return a
        ### END SOLUTION


    class Box:
        def volume(self, w, h, d):
            ### BEGIN SOLUTION
            return w * h * d
            ### END SOLUTION
    ''')


def test_stub_keeps_indentation_signature_and_docstring():
    stub = student.stub_source(SOLUTION)
    lines = stub.split("\n")
    assert "    # YOUR CODE HERE" in lines and "    raise NotImplementedError()" in lines
    assert "        # YOUR CODE HERE" in lines and "        raise NotImplementedError()" in lines
    assert stub.startswith(SOLUTION.split("### BEGIN SOLUTION")[0].rstrip(" "))  # signature, docstring, hint
    assert "w * h" not in stub
    assert "    ### BEGIN SOLUTION\n    # YOUR CODE HERE\n    raise NotImplementedError()\n    ### END SOLUTION" in stub
    assert "        ### BEGIN SOLUTION\n        # YOUR CODE HERE\n        raise NotImplementedError()\n" in stub
    nbgrader = student.stub_source(SOLUTION, keep_markers=False)  # what nbgrader generate_assignment writes
    assert "SOLUTION" not in nbgrader and "    # YOUR CODE HERE\n    raise NotImplementedError()\n\n\nclass" in nbgrader
    namespace: dict = {}
    exec(compile(stub, "<stub>", "exec"), namespace)
    with pytest.raises(NotImplementedError):
        namespace["area"](2, 3)
    with pytest.raises(NotImplementedError):
        namespace["Box"]().volume(1, 2, 3)


def test_replace_solution_reindents_a_body_and_keeps_markers_on_request():
    body = "if w < 0:\n    return 0\n\nreturn w + h\n"
    source = student.replace_solution(SOLUTION, body, keep_markers=True)
    assert "    if w < 0:\n        return 0\n\n    return w + h\n    ### END SOLUTION" in source
    assert "        if w < 0:\n            return 0" in source  # the second region, one level deeper
    namespace: dict = {}
    exec(compile(source, "<wrong>", "exec"), namespace)
    assert namespace["area"](2, 3) == 5 and namespace["area"](-1, 3) == 0


@pytest.mark.parametrize("source", [
    "def f():\n    ### BEGIN SOLUTION\n    return 1\n",
    "def f():\n    return 1\n    ### END SOLUTION\n",
    "def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
    "def f():\n    return 1\n",
])
def test_unbalanced_or_missing_markers_are_an_error(source):
    with pytest.raises(ValueError, match="SOLUTION"):
        student.stub_source(source)


def test_python_source_comments_out_magics():
    assert student.python_source("%matplotlib inline\nx = 1\n  !ls") == "# %matplotlib inline\nx = 1\n#   !ls"


# ------------------------------------------------------------------------------------------------
# A tiny generated notebook
# ------------------------------------------------------------------------------------------------

def solution_cell(grade_id: str, source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
                                 "solution": True}
    return cell


def check_cell(grade_id: str, source: str, points: int = 1):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": f"{grade_id}_check", "locked": True, "points": points,
                                 "schema_version": 3, "solution": False}
    return cell


def tiny_notebook(exercises: list[tuple[str, str, str]], setup: str = "OFFSET = 1") -> nbformat.NotebookNode:
    """A notebook with one setup cell and, per (grade id, function body, check), an exercise."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"state": "saved widget state"}
    setup_cell = nbformat.v4.new_code_cell(setup, execution_count=1,
                                           outputs=[nbformat.v4.new_output("stream", text="set up\n")])
    setup_cell.metadata["tags"] = ["setup"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny"), setup_cell]
    for grade_id, body, check in exercises:
        nb.cells.append(nbformat.v4.new_markdown_cell(f"## {grade_id}"))
        source = (f'def {grade_id}(x):\n    """Return x + OFFSET."""\n    ### BEGIN SOLUTION\n'
                  + textwrap.indent(body, "    ") + "\n    ### END SOLUTION")
        sol = solution_cell(grade_id, source)
        sol.execution_count, sol.outputs = 2, [nbformat.v4.new_output("stream", text="hello\n")]
        nb.cells += [sol, check_cell(grade_id, check)]
    return nb


def passing_check(name: str) -> str:
    return (f"from helpers.checks import fail, passed\n"
            f"if {name}(2) != 3:\n    fail(f'{name}(2): expected 3, got {{{name}(2)!r}}.')\n"
            f"passed('{name}')")


def test_student_notebook_clears_outputs_and_keeps_nbgrader_metadata():
    nb = tiny_notebook([("ex_add", "return x + OFFSET", passing_check("ex_add"))])
    edition = student.student_notebook(nb)
    nbformat.validate(edition)
    assert all(c.outputs == [] and c.execution_count is None for c in edition.cells if c.cell_type == "code")
    assert [c.metadata.get("nbgrader") for c in edition.cells] == [c.metadata.get("nbgrader") for c in nb.cells]
    assert edition.cells[1].metadata["tags"] == ["setup"]
    assert "widgets" not in edition.metadata
    assert "return x + OFFSET" not in edition.cells[3].source and "raise NotImplementedError()" in edition.cells[3].source
    assert nb.cells[3].outputs and "return x + OFFSET" in nb.cells[3].source  # the master is untouched


def test_exercises_pair_solutions_with_checks():
    nb = tiny_notebook([("ex_a", "return x + 1", "pass"), ("ex_b", "return x + 1", "pass")])
    nb.cells[-1].metadata["nbgrader"]["points"] = 3
    found = student.exercises(nb, "tiny.ipynb")
    assert [(e.grade_id, e.solution_index, e.check_index, e.points, e.function) for e in found] == [
        ("ex_a", 3, 4, 1, "ex_a"), ("ex_b", 6, 7, 3, "ex_b")]
    assert found[0].summary == "Return x + OFFSET."
    table = student.format_exercise_table(found)
    assert "ex_b" in table and "Return x + OFFSET." in table
    assert student.format_exercise_table(found, markdown=True).startswith("| notebook | grade id |")


def test_write_student_edition(tmp_path):
    source, target = tmp_path / "notebooks", tmp_path / "student"
    source.mkdir()
    nbformat.write(tiny_notebook([("ex_add", "return x + OFFSET", "pass")]), source / "01_tiny.ipynb")
    (source / "photo.png").write_bytes(b"not really a png")
    assert student.main([str(source), str(target)]) == 0
    edition = nbformat.read(target / "01_tiny.ipynb", as_version=4)
    assert "raise NotImplementedError()" in edition.cells[3].source
    assert (target / "photo.png").read_bytes() == b"not really a png" and (target / "README.md").exists()
    with pytest.raises(SystemExit):
        student.main([str(source), str(source)])  # never overwrite the solutions
    with pytest.raises(ValueError, match="no notebooks"):
        student.write_student_edition(tmp_path / "student" / "empty-does-not-exist", tmp_path / "out")


def test_rebuilding_the_student_edition_keeps_the_learners_changes(tmp_path):
    source, target = tmp_path / "notebooks", tmp_path / "student"
    source.mkdir()
    for name in ("01_a", "02_b"):
        exercise = (f"ex_{name[3:]}", "return x + OFFSET", "pass")
        nbformat.write(tiny_notebook([exercise]), source / f"{name}.ipynb")
    lines: list[str] = []
    student.write_student_edition(source, target, log=lines.append)
    assert lines == [] and (target / student.MANIFEST).exists()
    mine = nbformat.read(target / "01_a.ipynb", as_version=4)  # the learner solves exercise a
    mine.cells[3].source = mine.cells[3].source.replace("raise NotImplementedError()", "return x + 1")
    nbformat.write(mine, target / "01_a.ipynb")
    learners_bytes = (target / "01_a.ipynb").read_bytes()
    student.write_student_edition(source, target, log=lines.append)  # nothing new in the masters: no update
    assert (target / "01_a.ipynb").read_bytes() == learners_bytes and lines == []
    assert not (target / "updates").exists()
    for name in ("01_a", "02_b"):  # the masters change: a new markdown cell in each
        nb = nbformat.read(source / f"{name}.ipynb", as_version=4)
        nb.cells.insert(1, nbformat.v4.new_markdown_cell("A new paragraph."))
        nbformat.write(nb, source / f"{name}.ipynb")

    for _ in range(2):  # twice: the second build must not take the learner's file for its own
        lines.clear()
        written = student.write_student_edition(source, target, log=lines.append)
        assert (target / "01_a.ipynb").read_bytes() == learners_bytes  # the learner's work survives
        update = nbformat.read(target / "updates" / "01_a.ipynb", as_version=4)
        assert update.cells[1].source == "A new paragraph."
        assert "NotImplementedError" in update.cells[4].source
        assert nbformat.read(target / "02_b.ipynb", as_version=4).cells[1].source == "A new paragraph."
        assert not (target / "updates" / "02_b.ipynb").exists()  # untouched: updated in place
        assert lines == [f"kept your changed {target / '01_a.ipynb'}; the new version is "
                         f"{target / 'updates' / '01_a.ipynb'}"]
        assert written == [target / "updates" / "01_a.ipynb", target / "02_b.ipynb"]

    (target / "updates" / "01_a.ipynb").write_text("{}")  # the learner works in the update too: both are kept
    lines.clear()
    student.write_student_edition(source, target, log=lines.append)
    assert (target / "01_a.ipynb").read_bytes() == learners_bytes
    assert (target / "updates" / "01_a.ipynb").read_text() == "{}"
    assert len(lines) == 1 and "not written" in lines[0]


# ------------------------------------------------------------------------------------------------
# Grading, in real kernels
# ------------------------------------------------------------------------------------------------

def answered(nb: nbformat.NotebookNode, bodies: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` with the solution of each grade id in ``bodies`` replaced (the learner's answers)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if student.is_solution(cell) and grade_id in bodies:
            cell.source = student.replace_solution(cell.source, bodies[grade_id], keep_markers=True)
    return nb


def write(folder: Path, notebooks: dict[str, nbformat.NotebookNode | str]) -> Path:
    """Write notebooks (or raw text) into ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        if isinstance(nb, str):
            (folder / name).write_text(nb)
        else:
            nbformat.write(nb, folder / name)
    return folder


@pytest.mark.slow
def test_grade_table_with_a_passing_and_a_failing_exercise(tmp_path, capsys):
    master = tiny_notebook([
        ("ex_good", "return x + OFFSET", passing_check("ex_good")),
        ("ex_bad", "return x + OFFSET", passing_check("ex_bad")),
        ("ex_stub", "return x + OFFSET",
         "from helpers.checks import exercise_check, passed\n"
         "@exercise_check('ex_stub')\ndef check(f):\n    f(1)\n    passed('ex_stub')\ncheck(ex_stub)"),
        ("ex_crash", "return x + OFFSET", passing_check("ex_crash")),
    ])
    submitted = answered(master, {"ex_bad": "return x - OFFSET", "ex_stub": "raise NotImplementedError()",
                                  "ex_crash": "return x +"})  # the last: a syntax error in the learner's cell
    masters = write(tmp_path / "masters", {"01_tiny.ipynb": master})
    folder = write(tmp_path / "submissions", {"01_tiny.ipynb": submitted})
    results = student.grade(folder, master_dir=masters, timeout=120)
    assert [(r.grade_id, r.passed) for r in results] == [
        ("ex_good", True), ("ex_bad", False), ("ex_stub", False), ("ex_crash", False)]
    assert results[0].message == "\u2714 ex_good: correct."
    assert results[1].message == "ex_bad(2): expected 3, got 1."
    assert "not implemented yet" in results[2].message
    assert "SyntaxError" in results[3].message
    table = student.format_results(results)
    assert "ex_good" in table and "pass" in table and "FAIL" in table
    assert table.splitlines()[-1] == "total: 1 / 4 points (1 of 4 exercises passed)"
    assert student.main(["--grade", str(folder), "--master", str(masters)]) == 0  # grading itself worked
    assert "total: 1 / 4 points" in capsys.readouterr().out
    assert student.main(["--grade", str(folder), "--master", str(masters), "--strict"]) == 1  # not all passed


@pytest.mark.slow
def test_grade_survives_timeouts_dead_kernels_and_edited_checks(tmp_path):
    master = tiny_notebook([(name, "return x + OFFSET", f"assert {name}(2) == 3, 'expected 3'")
                            for name in ("ex_loop", "ex_exit", "ex_after", "ex_edited", "ex_deleted")])
    submitted = tiny_notebook([
        ("ex_loop", "while True:\n    pass", "assert ex_loop(2) == 3"),
        ("ex_exit", "import os\nos._exit(1)", "assert ex_exit(2) == 3"),
        ("ex_after", "return x + OFFSET", "assert ex_after(2) == 3"),
        ("ex_edited", "return 0", "pass  # the learner deleted the check"),
    ])
    (tmp_path / "master").mkdir()
    (tmp_path / "in").mkdir()
    nbformat.write(master, tmp_path / "master" / "01_tiny.ipynb")
    nbformat.write(submitted, tmp_path / "in" / "01_tiny.ipynb")
    results = student.grade(tmp_path / "in", master_dir=tmp_path / "master", timeout=3)
    got = {r.grade_id: r for r in results}
    assert [r.grade_id for r in results] == ["ex_loop", "ex_exit", "ex_after", "ex_edited", "ex_deleted"]
    assert not got["ex_loop"].passed and "TimeoutError" in got["ex_loop"].message
    assert not got["ex_exit"].passed and "died" in got["ex_exit"].message
    assert got["ex_after"].passed  # graded in a fresh kernel after the one that died
    assert not got["ex_edited"].passed and "expected 3" in got["ex_edited"].message  # the master's check ran
    assert not got["ex_deleted"].passed and "missing" in got["ex_deleted"].message


def test_a_solution_cell_without_markers_is_refused():
    nb = tiny_notebook([("ex_add", "return x + OFFSET", "pass")])
    nb.cells[3].source = "def ex_add(x):\n    return x + OFFSET"
    with pytest.raises(ValueError, match="'ex_add' has no '### BEGIN SOLUTION'"):
        student.student_notebook(nb)


@pytest.mark.slow
def test_grade_ignores_a_check_cell_the_learner_deleted(tmp_path):
    master = tiny_notebook([(name, "return x + OFFSET", f"assert {name}(2) == 3, 'expected 3'")
                            for name in ("ex_a", "ex_b")])
    submitted = copy.deepcopy(master)
    del submitted.cells[4]  # ex_a's check cell
    for folder, nb in (("master", master), ("submitted", submitted)):
        (tmp_path / folder).mkdir()
        nbformat.write(nb, tmp_path / folder / "01_tiny.ipynb")
    results = student.grade(tmp_path / "submitted", master_dir=tmp_path / "master", timeout=120)
    assert [(r.grade_id, r.passed) for r in results] == [("ex_a", True), ("ex_b", True)]


def test_grade_refuses_unreadable_unmatched_and_duplicate_files_and_counts_their_points(tmp_path):
    """Nothing here is graded (no kernel starts): every file is refused, yet every master's points count."""
    first = tiny_notebook([("ex_a", "return x + OFFSET", "assert ex_a(2) == 3")])
    second = tiny_notebook([(name, "return x + OFFSET", f"assert {name}(2) == 3")
                            for name in ("ex_b", "ex_c")])
    masters = write(tmp_path / "masters", {"01_first.ipynb": first, "02_second.ipynb": second})
    mixed = copy.deepcopy(first)
    mixed.cells += second.cells[2:5]  # ex_b's solution and check: two grade ids of each master
    notes = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('all good')")])
    folder = write(tmp_path / "in", {"01_first.ipynb": '{"cells": [', "copy one.ipynb": second,
                                     "copy two.ipynb": second, "mixed.ipynb": mixed, "notes.ipynb": notes})
    results = student.grade(folder, masters, timeout=120)
    refused = {r.notebook: r.message for r in results if r.grade_id == student.NOTEBOOK_ROW}
    assert refused.keys() == {"01_first.ipynb", "copy one.ipynb", "copy two.ipynb", "mixed.ipynb",
                              "notes.ipynb"}
    assert refused["01_first.ipynb"].startswith("refused: cannot read it as a notebook")
    assert refused["notes.ipynb"] == ("refused: it matches no master notebook: none of its cells carries "
                                      "one of their nbgrader grade ids")
    assert refused["mixed.ipynb"] == ("refused: it matches 01_first.ipynb and 02_second.ipynb equally well "
                                      "(by nbgrader grade ids)")
    assert refused["copy one.ipynb"] == ("refused: copy two.ipynb also matches 02_second.ipynb; "
                                         "submit one file per notebook")
    graded = [(r.notebook, r.grade_id, r.points, r.passed, r.message) for r in results
              if r.grade_id != student.NOTEBOOK_ROW]
    twice = "more than one submitted file matches it (refused)"
    assert graded == [("01_first.ipynb", "ex_a", 1, False, "no submitted file matches it"),
                      ("02_second.ipynb", "ex_b", 1, False, twice), ("02_second.ipynb", "ex_c", 1, False, twice)]
    table = student.format_results(results)
    assert table.splitlines()[-1] == ("total: 0 / 3 points (0 of 3 exercises passed); "
                                      "5 submitted files refused")
    assert "REFUSED" in table


@pytest.mark.slow
def test_a_renamed_submission_is_graded_by_content_with_its_masters_setup_and_checks(tmp_path):
    master = tiny_notebook([(name, "return x + OFFSET", f"assert {name}(2) == 3, 'expected 3'")
                            for name in ("ex_a", "ex_b")])
    renamed = answered(master, {"ex_a": "raise NotImplementedError()"})  # ex_a a stub, ex_b solved
    renamed.cells[1].source = "OFFSET = 0"  # an edited setup cell: ex_b would fail with it
    for cell in renamed.cells:
        if student.is_check(cell):  # fake checks, one of them without its nbgrader metadata
            cell.source = "print('all good')"
    del renamed.cells[-1].metadata["nbgrader"]
    pair = tiny_notebook([("ex_p", "return x + OFFSET", "assert ex_p(2) == 3, 'expected 3'")])
    masters = write(tmp_path / "masters", {"01_tiny.ipynb": master, "02_pair.ipynb": pair})
    folder = write(tmp_path / "in", {"01_tiny (1).ipynb": renamed, "02_pair.ipynb": pair,
                                     "02_pair (1).ipynb": answered(pair, {"ex_p": "return 0"})})
    results = student.grade(folder, masters, timeout=120)
    assert [(r.notebook, r.grade_id, r.passed, r.submitted) for r in results] == [
        ("02_pair (1).ipynb", student.NOTEBOOK_ROW, False, ""),  # the copy under another name is refused
        ("01_tiny.ipynb", "ex_a", False, "01_tiny (1).ipynb"),
        ("01_tiny.ipynb", "ex_b", True, "01_tiny (1).ipynb"),
        ("02_pair.ipynb", "ex_p", True, "")]
    assert results[0].message == "refused: 02_pair.ipynb, made from the same master, is graded instead"
    assert results[1].message == "NotImplementedError:"  # the master's check called the stub
    table = student.format_results(results).splitlines()
    assert table[-2:] == ["01_tiny (1).ipynb was graded as 01_tiny.ipynb (matched by its nbgrader grade ids)",
                          "total: 2 / 3 points (2 of 3 exercises passed); 1 submitted file refused"]


RUNAWAY = ("while True:\n    try:\n        while True:\n            pass\n"
           "    except KeyboardInterrupt:\n        pass  # swallows the grader's interrupt")


@pytest.mark.slow
def test_a_solution_that_swallows_keyboard_interrupt_gets_a_fresh_kernel_for_the_rest(tmp_path):
    master = tiny_notebook([(name, "return x + OFFSET", f"assert {name}(2) == 3, 'expected 3'")
                            for name in ("ex_runaway", "ex_after")])
    masters = write(tmp_path / "masters", {"01_tiny.ipynb": master})
    folder = write(tmp_path / "in", {"01_tiny.ipynb": answered(master, {"ex_runaway": RUNAWAY})})
    results = student.grade(folder, masters, timeout=3)
    assert [(r.grade_id, r.passed) for r in results] == [("ex_runaway", False), ("ex_after", True)]
    assert results[0].message == ("CellTimeoutError: the check ran longer than 3 s and did not stop when "
                                  "interrupted (does it catch KeyboardInterrupt?); a fresh kernel grades the "
                                  "exercises after it")
    row = next(line for line in student.format_results(results).splitlines() if "ex_runaway" in line)
    assert "FAIL" in row and "did not stop when interrupted" in row


@pytest.mark.slow
def test_notebook_00_masters_pass_stubs_fail_and_fake_checks_change_nothing(tmp_path):
    """The real notebook 00, renamed, exercise 1 a stub, every check replaced by a print; graded against
    notebooks/: the master's other solutions pass, the stub fails, and the other notebooks count as zero."""
    master = nbformat.read(student.NOTEBOOKS / "00_start_here.ipynb", as_version=4)
    ids = [e.grade_id for e in student.exercises(master)]
    submitted = copy.deepcopy(master)
    for cell in submitted.cells:
        if student.is_check(cell):
            cell.source = "print('all good')"
        elif student.is_solution(cell) and cell.metadata["nbgrader"]["grade_id"] == ids[0]:
            cell.source = student.stub_source(cell.source)
    folder = write(tmp_path / "in", {"00_start_here (1).ipynb": submitted})
    results = student.grade(folder, student.NOTEBOOKS, timeout=300)
    mine = [(r.grade_id, r.passed) for r in results if r.notebook == "00_start_here.ipynb"]
    assert mine == [(ids[0], False)] + [(grade_id, True) for grade_id in ids[1:]], results
    others = [r for r in results if r.notebook != "00_start_here.ipynb"]
    assert others and all(r.message == "no submitted file matches it" for r in others)
    total = sum(r.points for r in results)
    assert total == sum(e.points for e in student.exercise_table())
    assert student.format_results(results).splitlines()[-1] == (
        f"total: {len(ids) - 1:g} / {total:g} points ({len(ids) - 1} of {len(results)} exercises passed)")


def test_grading_on_the_command_line_says_what_is_wrong_in_one_line(tmp_path, capsys):
    folder = write(tmp_path / "in", {"a.ipynb": tiny_notebook([("ex_a", "return 1", "pass")])})
    for argv, message in (
            (["--grade", str(tmp_path / "nowhere")], "nowhere does not exist"),
            (["--grade", str(folder), "--master", "none"],
             "--master: none is not a folder of master notebooks"),
            (["--grade", str(folder), "--master", str(tmp_path)],
             f"no master notebooks (*.ipynb) in {tmp_path}"),
            (["--grade", str(folder), "--timeout", "0"],
             "--timeout: expected a positive number of seconds, got 0")):
        with pytest.raises(SystemExit) as exit_:
            student.main(argv)
        assert exit_.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1].endswith(message), argv


def test_no_markdown_cell_spells_out_nbgraders_delimiters():
    """nbgrader reads the delimiters wherever they appear, markdown included, and generate_assignment then fails
    with "No end solution statement found" (seen with nbgrader 0.9.6 on notebook 00)."""
    import glob

    for path in sorted(glob.glob(str(Path(__file__).resolve().parent.parent / "notebooks" / "*.ipynb"))):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
                    assert marker not in cell.source, f"{Path(path).name}: markdown mentions {marker!r}"
