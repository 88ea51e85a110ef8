"""Where the project's files live, for a checkout and for an installed package alike.

From a checkout (``make lab``, ``pip install -e .``) everything is under the project root: ``data/``,
``results/``, ``checkpoints/``. Installed from a wheel (``pip install .`` on Colab, Kaggle or a lab's
conda environment) there is no project root: the saved results ship inside the package, the data set
goes to a per-user cache directory, and checkpoints go to ``checkpoints/`` in the working directory.
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


def shipped_results_dir() -> Path:
    """The committed result files: ``results/`` in a checkout, their copy inside an installed package."""
    return PROJECT_ROOT / "results" if in_checkout() else PACKAGE_DIR / "results_files"


def checkpoints_dir() -> Path:
    """``checkpoints/`` at the project root in a checkout, else in the current working directory."""
    return PROJECT_ROOT / "checkpoints" if in_checkout() else Path.cwd() / "checkpoints"
