"""`pip install .` outside the repository, as on Colab, Kaggle or a lab's conda env: the package installs
with version ranges that accept the torch already present (nothing is downloaded), and a notebook copied to
a temporary folder finds helpers, the data and the saved results from there."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import nbformat
import pytest

from helpers.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv that sees this environment's packages (torch...) through a .pth file, with the project
    installed into it from the repository, not editable."""
    venv = tmp_path_factory.mktemp("venv")
    # without pip: pip and setuptools then come from this environment too (a fresh venv's own setuptools
    # is too old to build a wheel without the network)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "project_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # from a copy of what the package is made of: a build inside the checkout would leave build/ behind
    source = tmp_path_factory.mktemp("source")
    for name in ("helpers", "results"):
        shutil.copytree(PROJECT_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", source)
    (source / "notebooks").mkdir()  # as in a clone; the installed package must not rely on it
    done = subprocess.run([python, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--quiet",
                           str(source)], capture_output=True, text=True, timeout=600, cwd=venv)
    # --no-index: had the ranges not accepted the torch already present, pip would have had to download
    assert done.returncode == 0, done.stderr[-3000:]
    return python


def test_installed_package_uses_its_own_files_and_the_present_torch(installed, tmp_path):
    probe = textwrap.dedent("""
        import json, torch, helpers, helpers.data, helpers.paths, helpers.results
        print(json.dumps({"helpers": helpers.__file__, "torch": torch.__file__, "checkout": helpers.paths.in_checkout(),
                          "data": str(helpers.data.DOWNLOAD_DIR), "results": str(helpers.results.results_dir()),
                          "saved": sorted(p.name for p in helpers.results.results_dir().glob("*.json"))}))
    """)
    out = subprocess.run([installed, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")})
    info = json.loads(out.stdout)
    assert str(PROJECT_ROOT) not in info["helpers"] and not info["checkout"]
    assert info["torch"].startswith(sysconfig.get_paths()["purelib"])  # the torch that was already there
    assert info["data"] == str(tmp_path / "cache" / "resnet-cell-by-cell" / "data")
    shipped = sorted(p.name for p in (PROJECT_ROOT / "results").glob("*.json"))
    assert info["saved"] == shipped


def test_a_notebook_copied_elsewhere_runs_to_its_first_exercise(installed, tmp_path, real_cifar10_dir):
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / "00_start_here.ipynb", as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    nb.cells = nb.cells[:first]
    path = tmp_path / "copied.ipynb"
    nbformat.write(nb, path)
    run = textwrap.dedent(f"""
        import nbformat
        from nbclient import NotebookClient
        nb = nbformat.read({str(path)!r}, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={{"metadata": {{"path": {str(tmp_path)!r}}}}}).execute()
        print("ran", len(nb.cells), "cells")
    """)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "CIFAR10_DIR": str(real_cifar10_dir), "RESNET_QUICK": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run([installed, "-c", run], capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert f"ran {first} cells" in done.stdout


def _cells(nb: nbformat.NotebookNode, ids: list[str]) -> list:
    """The notebook's setup cells, then the cells with these ids, in that order."""
    by_id = {c.get("id"): c for c in nb.cells}
    return [c for c in nb.cells if "setup" in c.metadata.get("tags", [])] + [by_id[i] for i in ids]


def test_a_handed_out_folder_shows_the_saved_runs(tmp_path):
    """A folder as an instructor hands it out (helpers/, results/, figures/ and the student notebooks side by
    side; no pyproject.toml, no notebooks/): the cells that show the saved runs find results/ there, and with
    results/ gone they say which folders they looked in."""
    from tools.student import student_notebook

    folder = tmp_path / "course"
    for name in ("helpers", "results", "figures"):
        shutil.copytree(PROJECT_ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    probe = nbformat.v4.new_code_cell("import helpers\nprint('helpers from', helpers.__file__)")
    wanted = {"03_residual_blocks": ["cell-008", "cell-real-0"], "04_batch_norm": ["cell-bn-3", "cell-bn-5"]}
    for name, ids in wanted.items():
        nb = student_notebook(nbformat.read(PROJECT_ROOT / "notebooks" / f"{name}.ipynb", as_version=4))
        nb.cells = [probe, *_cells(nb, ids)]
        for cell in nb.cells[-len(ids):-1]:  # their definitions only: this notebook's own runs are not trained here
            lines = cell.source.splitlines()
            cell.source = "\n".join(lines[:next(i for i, line in enumerate(lines) if line.startswith(("print(", "compare_bn(")))])
        nbformat.write(nb, folder / f"{name}.ipynb")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "RESNET_QUICK": "1", "RESNET_THREADS": "1", "MPLBACKEND": "Agg"}

    def run(name: str) -> str:
        script = textwrap.dedent(f"""
            import nbformat
            from nbclient import NotebookClient
            nb = nbformat.read({str(folder / name)!r}, as_version=4)
            NotebookClient(nb, timeout=600, kernel_name="python3", resources={{"metadata": {{"path": {str(folder)!r}}}}}).execute()
            print("".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])))
        """)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900,
                              cwd=folder, env=env)
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        return done.stdout

    shown = {"03_residual_blocks": "final errors over ", "04_batch_norm": "saved run: "}  # read from results/
    for name in wanted:
        out = run(f"{name}.ipynb")
        assert f"helpers from {folder / 'helpers'}" in out  # the folder's own copy, not the checkout's
        assert shown[name] in out and "does not exist" not in out, out[-2000:]
    (folder / "results").rename(folder / "elsewhere")
    out = run("03_residual_blocks.ipynb")
    assert f"{folder / 'results' / 'degradation_cpu.json'} does not exist (result folders tried" in out, out[-2000:]
