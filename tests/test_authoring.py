"""tools.authoring: a percent-format draft becomes a notebook with nbgrader's cell metadata."""
from __future__ import annotations

import re

import nbformat
import pytest

from helpers.paths import PROJECT_ROOT
from tools import authoring

DRAFT = '''# %% [markdown]
# # A title
#
# Some prose.

# %% tags=["setup"]
import math

# %% [solution] id=nb99_double
def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

# %% [check] id=nb99_double points=2
assert double(math.pi) == 2 * math.pi
'''


def test_a_draft_becomes_cells_with_nbgrader_metadata():
    nb = authoring.parse_percent(DRAFT)
    nbformat.validate(nb)
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "code", "code", "code"]
    assert nb.cells[0].source == "# A title\n\nSome prose."
    assert nb.cells[1].metadata["tags"] == ["setup"] and nb.cells[1].source == "import math"
    solution, check = nb.cells[2].metadata["nbgrader"], nb.cells[3].metadata["nbgrader"]
    assert solution["solution"] and not solution["grade"] and solution["grade_id"] == "nb99_double"
    assert check["grade"] and check["locked"] and check["points"] == 2 and check["grade_id"] == "nb99_double_check"
    assert [c["id"] for c in nb.cells] == ["cell-000", "cell-001", "cell-002", "cell-003"]


@pytest.mark.parametrize("draft, message", [
    ("# %% [solution]\nx = 1\n", r"a \[solution\] cell needs id="),
    ("# %% [answer] id=x\nx = 1\n", r"unknown cell kind \[answer\]"),
])
def test_bad_drafts_are_refused(draft, message):
    with pytest.raises(ValueError, match=message):
        authoring.parse_percent(draft)


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_every_header_states_measured_run_times_with_the_machine(path):
    """Issue: run times without their machine and conditions mislead (a busy core made 04 take 9x its stated
    time). Each header gives seconds measured by bench/notebooks.py, on a named machine, and says how."""
    header = nbformat.read(path, as_version=4).cells[0].source
    run_time = header[header.index("**Run time"):]
    assert "python -m bench.notebooks" in run_time and "2-core" in run_time and "nothing else running" in run_time
    assert re.search(r"\b\d+ s\b", run_time), "no measured time in seconds"
