"""Where the project's files live, for a checkout and for an installed package alike.

From a checkout (``make lab``, ``pip install -e .``) everything is under the project root: ``data/``,
``results/``, ``checkpoints/``. Installed from a wheel (``pip install .`` on Colab, Kaggle or a lab's
conda environment) there is no project root: the saved results ship inside the package, the data set
goes to a per-user cache directory, and checkpoints go to ``checkpoints/`` in the working directory.
A folder an instructor hands out (``helpers/``, ``results/``, ``figures/`` and the notebooks side by side,
no ``pyproject.toml``) is neither: its ``results/`` beside ``helpers/`` is found all the same.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent  # the checkout, when helpers is imported from one


def in_checkout() -> bool:
    """True when ``helpers`` is imported from the repository (not from an installed wheel)."""
    return (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "notebooks").is_dir()


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/resnet-cell-by-cell`` (default ``~/.cache/resnet-cell-by-cell``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "resnet-cell-by-cell"


def data_dir() -> Path:
    """Where torchvision downloads CIFAR-10 when ``CIFAR10_DIR`` is not set."""
    return PROJECT_ROOT / "data" if in_checkout() else user_cache_dir() / "data"


def results_dirs() -> list[Path]:
    """Where the saved result files may be, in the order searched: ``results/`` at the root of a checkout;
    else ``results/`` beside the notebook (the working directory), ``results/`` beside ``helpers/`` (a
    handed-out folder; not when ``helpers`` is installed in site-packages) and the copy inside an installed
    package."""
    if in_checkout():
        return [PROJECT_ROOT / "results"]
    dirs = [Path.cwd() / "results"]
    if PROJECT_ROOT.name not in ("site-packages", "dist-packages"):
        dirs.append(PROJECT_ROOT / "results")
    dirs.append(PACKAGE_DIR / "results_files")
    return list(dict.fromkeys(d.resolve() for d in dirs))


def shipped_results_dir() -> Path:
    """The first of :func:`results_dirs` that holds result files (``*.json``); the first of them when none does
    (a notebook then says which folders it looked in)."""
    dirs = results_dirs()
    return next((d for d in dirs if d.is_dir() and any(d.glob("*.json"))), dirs[0])


def result_not_found(filename: str, folder: Path) -> str:
    """The sentence a notebook prints when a result file is absent: the file it looked for, and the folders tried
    (``folder`` is the one :func:`helpers.results.results_dir` chose: the first of them holding results, or one
    that ``RESNET_RESULTS_DIR`` names)."""
    dirs = results_dirs()
    if Path(folder).resolve() not in dirs:
        return f"{Path(folder) / filename} does not exist (the results folder set by RESNET_RESULTS_DIR)"
    tried = ", ".join(str(d) for d in dirs)
    return f"{Path(folder) / filename} does not exist (result folders tried, in this order: {tried})"


def checkpoints_dir() -> Path:
    """``checkpoints/`` at the project root in a checkout, else in the current working directory."""
    return PROJECT_ROOT / "checkpoints" if in_checkout() else Path.cwd() / "checkpoints"
