"""The learner's `make lab`: no instructor install, the student edition as its workspace, nbgrader off.

The Makefile is read through `make -n` (what it would run), so the stamp logic is tested as make applies it.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.paths import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "tools" / "learner_lab"


def dry_run(*args: str) -> str:
    """What `make` would run for ``args`` (``-W FILE``: as if FILE had just changed)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return subprocess.run(["make", "-n", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          check=True).stdout


def test_make_lab_installs_no_instructor_tooling_and_opens_the_student_edition():
    lab = dry_run("-W", "requirements.txt", "-W", "requirements-instructor.txt", "lab")
    assert "-r requirements.txt" in lab and "requirements-instructor" not in lab
    assert f"{CONFIG}" in lab and "--ServerApp.root_dir=." in lab
    assert "/lab/tree/student/00_start_here.ipynb" in lab


@pytest.mark.parametrize("changed", ["requirements.txt", "requirements-instructor.txt"])
@pytest.mark.parametrize("target", ["test", "grade-roundtrip", "lab-masters"])
def test_instructor_targets_reinstall_when_either_requirements_file_changes(target, changed):
    commands = dry_run("-W", changed, target)
    assert "-r requirements-instructor.txt" in commands
    if changed == "requirements.txt":
        assert "-r requirements.txt" in commands


def requirements(name: str) -> list[str]:
    """The requirement lines of ``name``, comments dropped."""
    lines = [line.split("#")[0].strip() for line in (PROJECT_ROOT / name).read_text().splitlines()]
    return [line for line in lines if line]


def test_both_files_are_pinned_and_only_the_instructors_has_grading_and_test_tools():
    learners, instructors = requirements("requirements.txt"), requirements("requirements-instructor.txt")
    assert instructors[0] == "-r requirements.txt"
    assert all("==" in line for line in learners + instructors[1:])
    tools = {"nbgrader", "nbval", "pytest", "playwright"}
    assert tools <= {line.split("==")[0].lower() for line in instructors[1:]}
    assert not tools & {line.split("==")[0].lower() for line in learners}


def test_the_learner_lab_config_switches_off_what_nbgrader_registers():
    nbgrader = pytest.importorskip("nbgrader", reason="nbgrader is not installed (requirements-instructor.txt)")
    server = json.loads((CONFIG / "jupyter_server_config.json").read_text())
    server = server["ServerApp"]["jpserver_extensions"]
    shipped = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "nbgrader.json"
    if not shipped.exists():
        pytest.skip(f"nbgrader's server config is not at {shipped} (installed outside this environment)")
    enabled = json.loads(shipped.read_text())["ServerApp"]["jpserver_extensions"]
    assert enabled and {name: False for name in enabled} == server
    page = json.loads((CONFIG / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    assert {entry["dest"]: True for entry in nbgrader._jupyter_labextension_paths()} == page
