"""Small CIFAR-10 stand-ins that the tests write themselves."""
from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import runtime
from helpers.data import CLASSES


def random_images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


def write_image_folder(root: Path, per_class: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    """train/<class>/NNNN.png and test/<class>/NNNN.png; returns the pixels written, per split."""
    written = {}
    for split, n in per_class.items():
        images = random_images(n * len(CLASSES), seed + (split == "test"))
        for i, image in enumerate(images):
            folder = root / split / CLASSES[i // n]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i % n:04d}.png")
        written[split] = images
    return written


def write_batches(directory: Path, n_per_batch: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """torchvision's cifar-10-batches-py format: pickled dicts with 'data' (N, 3072) and 'labels'."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {"train": [], "test": []}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, size=(n_per_batch, 32, 32, 3), dtype=np.uint8)
        labels = [i % 10 for i in range(n_per_batch)]
        entry = {"batch_label": name, "labels": labels,
                 "data": images.transpose(0, 3, 1, 2).reshape(n_per_batch, -1),
                 "filenames": [f"{name}_{i}.png" for i in range(n_per_batch)]}
        with open(directory / name, "wb") as f:
            pickle.dump(entry, f)
        written["test" if name == "test_batch" else "train"].append((images, np.array(labels)))
    with open(directory / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(CLASSES), "num_cases_per_batch": n_per_batch}, f)
    return {k: (np.concatenate([x for x, _ in v]), np.concatenate([y for _, y in v])) for k, v in written.items()}


@pytest.fixture
def image_folder(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "cifar-folder"
    return root, write_image_folder(root, {"train": 4, "test": 2})


@pytest.fixture
def batches_dir(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "cifar-batches"
    return root, write_batches(root / "cifar-10-batches-py")


# Read once, before any test clears the environment: the real data set CI unpacks.
REAL_CIFAR10_DIR = os.environ.get("CIFAR10_DIR")


@pytest.fixture
def real_cifar10_dir() -> Path:
    if not REAL_CIFAR10_DIR:
        pytest.skip("CIFAR10_DIR is not set (CI sets it to the unpacked ../shared copy)")
    return Path(REAL_CIFAR10_DIR)


@pytest.fixture
def one_thread():
    """For tests on tiny tensors: one thread is as fast, and does not stall when the cores are busy."""
    with runtime.one_thread():
        yield


@pytest.fixture(autouse=True)
def _isolate_environment(monkeypatch, tmp_path):
    """No test sees the developer's CIFAR10_DIR, RESNET_QUICK or user cache unless it sets them."""
    monkeypatch.delenv("RESNET_QUICK", raising=False)
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.delenv("RESNET_DEVICE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    # a notebook setup cell executed in-process (test_exercises) declares a GPU-sized full mode: not for the next test
    monkeypatch.setattr(runtime, "_full_needs_gpu", False)


# --------------------------------------------------------------------------- headless chromium (browser tests)

def chromium_path() -> str | None:
    """``$CHROMIUM`` if set, else Debian's ``chromium`` (or a similar name) on the PATH."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser():
    """Headless chromium driven by Playwright (tests/test_browser.py, tests/test_book.py). Skipped, with the
    reason, when Playwright or chromium is missing; Playwright's own browser download is never used."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-instructor.txt)")
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()
