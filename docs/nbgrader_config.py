"""nbgrader configuration for a course built on *Residual Networks, cell by cell*.

Copy it into the course folder (the one holding ``source/``) as ``nbgrader_config.py``; the walk-through
is in docs/instructors.md ("Grading with nbgrader"), and tests/test_nbgrader.py runs that round trip.

The notebooks find ``helpers``, CIFAR-10 and ``results/`` from any working directory (nbgrader runs
them in ``autograded/<student>/<assignment>/``) as long as ``helpers`` is installed in the grading
environment (``make install`` or ``pip install -e .`` in the repository) and the data is where
``helpers.data`` looks (``CIFAR10_DIR``, or the repository's ``data/``).
"""
import os

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
# is interrupted after this long and scores zero for its exercise; the rest of the notebook is graded.
c.Execute.timeout = 900
