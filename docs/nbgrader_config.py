"""nbgrader configuration for a course built on *Residual Networks, cell by cell*.

Copy it into the course folder (the one holding ``source/``) as ``nbgrader_config.py``; the walk-through
is in docs/instructors.md ("Grading with nbgrader"), and tests/test_nbgrader.py runs that round trip.

The notebooks find ``helpers``, CIFAR-10 and ``results/`` from any working directory (nbgrader runs
them in ``autograded/<student>/<assignment>/``) as long as ``helpers`` is installed in the grading
environment (``make install`` or ``pip install -e .`` in the repository) and the data is where
``helpers.data`` looks (``CIFAR10_DIR``, or the repository's ``data/``).
"""
import json
import os
from pathlib import Path

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError
from nbgrader.converters.autograde import Autograde
from nbgrader.preprocessors import Execute
from traitlets.log import get_logger

c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = "resnets"

# Grade in quick mode unless the grader asks otherwise (RESNET_QUICK=0): autograde runs every cell,
# training included, and the kernels inherit this environment.
os.environ.setdefault("RESNET_QUICK", "1")

# The explorers of notebooks 01, 02 and 04 show a still figure instead of widgets: nothing is graded in
# them, and a cell that creates widgets can leave nbgrader's executor waiting until the cell timeout below
# (a missed reply under load, jupyter/nbclient#312; measured by bench/stalls.py, explained in
# tools/execution.py).
os.environ.setdefault("RESNET_STATIC_EXPLORERS", "1")

# Seconds per cell. The slowest quick-mode cells (03's four-net experiment, 06's two training runs)
# take a few minutes on a 2-core CPU; nbgrader's default of 30 s would kill them. A solution that hangs
# is interrupted after this long and scores zero for its exercise; the rest of the notebook is graded (one
# that does not stop when interrupted too: RestartingExecute below).
c.Execute.timeout = 900


# ------------------------------------------------------------------------------------------------
# Two things nbgrader 0.9.6 does not do by itself (tests/test_nbgrader.py checks both)
# ------------------------------------------------------------------------------------------------

def _grade_ids(path: Path) -> set[str]:
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    return {gid for cell in cells
            if (gid := (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id"))}


def match_by_content(assignment, student, notebooks: list[str]) -> None:
    """nbgrader grades a submitted notebook by its file name and skips any other ("Skipping unknown
    notebook"), but browsers and LMSs save a re-download as ``00_start_here (1).ipynb``. Before autograde,
    rename such a file to the notebook it was made from: the one in ``source/<assignment>/`` that shares the
    most nbgrader grade ids with it, if only one does (the rule of ``make grade``, tools.student._master_for),
    and only if no file of that name was submitted and no other file matches it. A file nothing matches
    stays as it is: nbgrader skips it and that notebook scores 0. Its locked check cells are restored from
    the gradebook either way, so a renamed file with edited checks gains nothing. A file that cannot be read
    as JSON is left out of this run (nbgrader would drop the student's whole assignment): that notebook
    scores 0, the others are graded.
    """
    log = get_logger()
    if not notebooks:
        return
    folder = Path(notebooks[0]).parent  # <course>/submitted/<student>/<assignment>/
    source = folder.parents[2] / "source" / folder.name
    masters = {p.name: _grade_ids(p) for p in source.glob("*.ipynb")}
    keep: dict[str, str] = {}  # the files autograde goes on with: as listed -> as named after this hook
    made_from: dict[str, list[str]] = {}
    for listed in notebooks:
        path = Path(listed)
        try:
            ids = _grade_ids(path)
        except (OSError, ValueError, AttributeError) as error:
            log.warning("Cannot read %s as a notebook (%s): it scores 0, the rest is graded", path, error)
            continue
        keep[listed] = listed
        shared = {name: len(ids & master) for name, master in masters.items()}
        best = [name for name, n in shared.items() if n and n == max(shared.values())]
        if path.name in masters:
            made_from.setdefault(path.name, []).append(listed)
        elif len(best) == 1:
            made_from.setdefault(best[0], []).append(listed)
    for name, found in made_from.items():
        if len(found) == 1 and Path(found[0]).name != name:
            target = Path(found[0]).with_name(name)
            Path(found[0]).rename(target)
            keep[found[0]] = str(target)
            log.warning("Renamed %s to %s: made from that notebook (matched by nbgrader grade ids)",
                        found[0], name)
    notebooks[:] = keep.values()


class RestartingExecute(Execute):
    """nbgrader's Execute, for solutions that outlive the timeout's interrupt.

    After a cell's timeout nbgrader interrupts the kernel. A solution that catches KeyboardInterrupt (or
    ignores SIGINT) keeps running; nbclient then gives up waiting for its output, and nbgrader 0.9.6 drops
    the student's whole assignment ("Removing failed assignment"): every notebook scores 0. Here that
    cell gets an error instead (its exercise scores 0), the kernel is restarted, the cells tagged ``setup``
    above it run again, and the rest of the notebook is graded.
    """

    def preprocess_cell(self, cell, resources, index):
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            grade_id = (cell.metadata.get("nbgrader") or {}).get("grade_id") or f"cell {index}"
            message = (f"{grade_id} ran longer than {self.timeout} s and did not stop when interrupted "
                       f"(does it catch KeyboardInterrupt?); the kernel was restarted and the setup cells "
                       f"run again")
            self.log.error(message)
            cell.outputs.append(nbformat.v4.new_output("error", ename="CellTimeoutError", evalue=message,
                                                       traceback=[message]))
            run_sync(self.km.restart_kernel)(now=True)
            run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
            for k, setup in enumerate(self.nb.cells[:index]):
                if "setup" in setup.metadata.get("tags", []):
                    self.execute_cell(setup, k, store_history=True)
            return cell, self.resources


c.Autograde.pre_convert_hook = match_by_content
c.Autograde.autograde_preprocessors = [RestartingExecute if p is Execute else p
                                       for p in Autograde.class_traits()["autograde_preprocessors"].default()]
