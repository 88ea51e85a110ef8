"""CIFAR-10, read once and kept whole on the training device.

Where the images come from, in order:

1. ``root=`` or the ``CIFAR10_DIR`` environment variable: a directory holding either
   torchvision's ``cifar-10-batches-py`` (or being that folder), or an image-folder tree
   ``train/<class>/*.png|jpg`` and ``test/<class>/*`` (a ``cifar10/`` folder inside is found too);
2. otherwise ``data/`` at the project root (a per-user cache directory when ``helpers`` is installed
   rather than used from a checkout, see :mod:`helpers.paths`), downloaded there by torchvision when missing.

Decoded images are cached as uint8 arrays beside the source (``_uint8_cache/``; a per-user cache
directory when the source is read-only) and rebuilt whenever the source files change.

The training loader keeps the whole split on the device as one uint8 tensor and does random
crop (4-pixel zero padding, as torchvision's ``RandomCrop(32, padding=4)``) and horizontal flip on
whole batches there: no per-image Python work in the training loop. :func:`show_images` draws a
grid of images with their class names.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.datasets import CIFAR10

from helpers.arguments import integer
from helpers.paths import data_dir, user_cache_dir
from helpers.runtime import pick_device

# CIFAR-10's canonical label order (the order of batches.meta and torchvision's `classes`).
CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
# Per-channel mean and std of the 50,000 training images, on the 0..1 scale.
MEAN: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
STD: tuple[float, float, float] = (0.2470, 0.2435, 0.2616)

DOWNLOAD_DIR = data_dir()
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}
SPLITS = ("train", "test")
_CACHE_VERSION = 1

HOW_TO_GET_DATA = (
    "Put CIFAR-10 in a directory and set CIFAR10_DIR to it (or pass {root}=DIR). Either layout works:\n"
    "  - torchvision's python version: <dir>/cifar-10-batches-py/data_batch_1 ... test_batch\n"
    "    (https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, unpacked), or\n"
    "  - an image folder: <dir>/train/<class>/*.png and <dir>/test/<class>/*.png with the ten\n"
    f"    class folders {', '.join(CLASSES)}.\n"
    f"With internet access and no CIFAR10_DIR, torchvision downloads it into {DOWNLOAD_DIR}."
)


class DataNotFoundError(FileNotFoundError):
    """CIFAR-10 is not where we were told to look, and could not be downloaded. The message names the
    directory argument as Python's ``root=``; :meth:`for_command_line` names it as a command line's ``--data``."""

    def __init__(self, template: str) -> None:
        self.template = template  # "{root}" marks where the argument is named
        super().__init__(template.replace("{root}", "root"))

    def for_command_line(self, option: str = "--data") -> str:
        """The message for a command line whose ``option`` gives the directory."""
        return self.template.replace("{root}", option)


@dataclass(frozen=True)
class CIFAR10Split:
    """One split: ``images`` (N, 32, 32, 3) uint8 in HWC order, ``labels`` (N,) int64."""

    images: np.ndarray
    labels: np.ndarray
    split: str
    source: Path
    classes: tuple[str, ...] = CLASSES

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {name: int(c) for name, c in zip(self.classes, counts, strict=True)}


# --------------------------------------------------------------------------- locating the files

def _layout(directory: Path) -> tuple[str, Path] | None:
    """('batches', dir) or ('folder', dir) if ``directory`` holds a layout we can read."""
    if (directory / "data_batch_1").is_file() or (directory / "test_batch").is_file():
        return "batches", directory
    if (directory / "cifar-10-batches-py").is_dir():
        return "batches", directory / "cifar-10-batches-py"
    for candidate in (directory, directory / "cifar10"):
        if (candidate / "train").is_dir() or (candidate / "test").is_dir():
            return "folder", candidate
    return None


def locate_cifar10(root: str | os.PathLike | None = None, download: bool = True) -> tuple[str, Path]:
    """Find CIFAR-10 and return ``(layout, directory)`` with layout ``'batches'`` or ``'folder'``.

    ``root`` wins over ``CIFAR10_DIR``; with neither, ``data/`` at the project root is used and
    filled by torchvision's download if it is empty and ``download`` is true.
    """
    given, origin = root, "{root}"
    if given is None and os.environ.get("CIFAR10_DIR"):
        given, origin = os.environ["CIFAR10_DIR"], "CIFAR10_DIR"
    if given is not None:
        directory = Path(given).expanduser()
        if not directory.is_dir():
            raise DataNotFoundError(
                f"{origin} points to {str(directory)!r}, which is not an existing directory.\n"
                + HOW_TO_GET_DATA
            )
        found = _layout(directory)
        if found is None:
            raise DataNotFoundError(
                f"{origin}={str(directory)!r} holds neither cifar-10-batches-py nor train/ and "
                "test/ class folders.\n" + HOW_TO_GET_DATA
            )
        return found
    found = _layout(DOWNLOAD_DIR) if DOWNLOAD_DIR.is_dir() else None
    if found is not None:
        return found
    if not download:
        raise DataNotFoundError(f"CIFAR-10 is not in {DOWNLOAD_DIR} and download=False.\n" + HOW_TO_GET_DATA)
    return "batches", _download(DOWNLOAD_DIR)


def _download(directory: Path) -> Path:
    """torchvision's download into ``directory``; a clear error when there is no network."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        CIFAR10(str(directory), train=True, download=True)
    except Exception as error:  # URLError, HTTPError, timeouts, a bad checksum...
        raise DataNotFoundError(
            f"CIFAR-10 is not in {directory} and torchvision could not download it "
            f"({type(error).__name__}: {error}).\n" + HOW_TO_GET_DATA
        ) from error
    return directory / CIFAR10.base_folder


# --------------------------------------------------------------------------- reading the files

def _folder_files(directory: Path, split: str) -> list[tuple[Path, int]]:
    """All image files of one split of an image-folder tree, with their labels, in a fixed order."""
    split_dir = directory / split
    if not split_dir.is_dir():
        raise DataNotFoundError(f"{directory} has no {split}/ folder; expected {split}/<class>/*.png.")
    present = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    missing = [c for c in CLASSES if c not in present]
    extra = [c for c in present if c not in CLASSES]
    if missing or extra:
        raise ValueError(
            f"{split_dir} must hold exactly the ten CIFAR-10 class folders {list(CLASSES)}; "
            f"missing: {missing or 'none'}, unexpected: {extra or 'none'} (check the spelling)."
        )
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(CLASSES):
        entries = sorted(p for p in (split_dir / name).iterdir() if not p.name.startswith("."))
        for path in entries:
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                raise ValueError(f"{path} is not an image file (expected one of {sorted(IMAGE_SUFFIXES)}).")
        if not entries:
            raise ValueError(f"class folder {split_dir / name} is empty.")
        files.extend((path, label) for path in entries)
    return files


def _decode(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()  # decodes now, so a truncated file fails here, with its name
            array = np.asarray(image.convert("RGB"))
    except Exception as error:
        raise ValueError(f"cannot read image {path}: {type(error).__name__}: {error}") from error
    if array.shape != (32, 32, 3):
        raise ValueError(f"image {path} is {array.shape[1]}x{array.shape[0]} pixels; CIFAR-10 images are 32x32.")
    return array


def _read_folder(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    files = _folder_files(directory, split)
    # Pillow releases the GIL while decoding, so a few threads help even on two cores.
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        images = list(pool.map(_decode, [p for p, _ in files], chunksize=256))
    return np.stack(images), np.array([label for _, label in files], dtype=np.int64)


def _batch_files(directory: Path, split: str) -> list[Path]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    paths = [directory / n for n in names]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DataNotFoundError(f"{directory} lacks {missing}: an incomplete cifar-10-batches-py.\n" + HOW_TO_GET_DATA)
    return paths


def _read_batches(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for path in _batch_files(directory, split):
        try:
            with open(path, "rb") as f:
                entry = pickle.load(f, encoding="latin1")
            data = np.asarray(entry["data"], dtype=np.uint8)
            batch_labels = np.asarray(entry.get("labels", entry.get("fine_labels")), dtype=np.int64)
        except Exception as error:
            raise ValueError(f"cannot read CIFAR-10 batch file {path}: {type(error).__name__}: {error}") from error
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(batch_labels) != len(data):
            raise ValueError(
                f"{path} holds data of shape {data.shape} with {len(batch_labels)} labels; expected "
                "(N, 3072) uint8 rows (32x32 RGB images) and N labels."
            )
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(batch_labels)
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


# --------------------------------------------------------------------------- the cache

def _fingerprint(layout: str, directory: Path, split: str) -> str:
    """A hash of every source file's name, size and modification time: it changes when they do."""
    if layout == "batches":
        paths = _batch_files(directory, split)
    else:
        paths = [p for p, _ in _folder_files(directory, split)]
    digest = hashlib.sha1(f"v{_CACHE_VERSION}|{layout}|{split}".encode())
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.relative_to(directory)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _cache_dirs(directory: Path) -> list[Path]:
    """Beside the source first; a per-user cache when the source directory is read-only."""
    user_cache = user_cache_dir()
    key = hashlib.sha1(str(directory.resolve()).encode()).hexdigest()[:16]
    return [directory / "_uint8_cache", user_cache / key]


def _read_cache(path: Path, fingerprint: str) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path) as cached:
            if str(cached["fingerprint"]) != fingerprint:
                return None
            return cached["images"], cached["labels"]
    except Exception:  # a missing, partial or foreign file: rebuild it
        return None


def _write_cache(path: Path, images: np.ndarray, labels: np.ndarray, fingerprint: str) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            np.savez(tmp, images=images, labels=labels, fingerprint=np.array(fingerprint))
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, path)  # atomic: a reader never sees half a cache
        return True
    except OSError:
        return False


def load_cifar10(
    split: str = "train", root: str | os.PathLike | None = None, download: bool = True
) -> CIFAR10Split:
    """Load one split of CIFAR-10 as uint8 arrays (decoded once, then read from the cache).

    >>> train = load_cifar10("train")            # 50,000 images
    >>> train.images.shape, train.images.dtype
    ((50000, 32, 32, 3), dtype('uint8'))
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    layout, directory = locate_cifar10(root, download=download)
    fingerprint = _fingerprint(layout, directory, split)
    cache_paths = [d / f"{split}.npz" for d in _cache_dirs(directory)]
    for path in cache_paths:
        cached = _read_cache(path, fingerprint)
        if cached is not None:
            return CIFAR10Split(cached[0], cached[1], split, directory)
    reader = _read_batches if layout == "batches" else _read_folder
    images, labels = reader(directory, split)
    if labels.min() < 0 or labels.max() >= len(CLASSES):
        raise ValueError(f"labels in {directory} ({split}) must lie in 0..9, found {labels.min()}..{labels.max()}")
    for path in cache_paths:
        if _write_cache(path, images, labels, fingerprint):
            break
    return CIFAR10Split(images, labels, split, directory)


# --------------------------------------------------------------------------- on-device batches

def balanced_subset(labels: np.ndarray | torch.Tensor, n: int, seed: int = 0) -> np.ndarray:
    """Indices of ``n`` examples with the classes as equal as possible, chosen with ``seed``."""
    labels = np.asarray(labels)
    integer("subset", n, 1, len(labels))  # at most the data set size
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    # Interleave the classes (one of each, in turn), then keep the first n: balanced for any n.
    order = np.argsort(np.concatenate([np.arange(len(p)) for p in per_class]), kind="stable")
    chosen = np.concatenate(per_class)[order][:n]
    return np.sort(chosen)


def normalize(images_uint8: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 (N, 3, H, W) in 0..255 to float, standardised with CIFAR-10's channel mean and std.

    Computed as ``x * (1 / (255 std)) - mean / std``: one multiply-add per pixel.
    """
    std = torch.tensor(STD, dtype=dtype)
    scale = (1 / (255 * std)).view(1, 3, 1, 1).to(images_uint8.device)
    shift = (-torch.tensor(MEAN, dtype=dtype) / std).view(1, 3, 1, 1).to(images_uint8.device)
    return images_uint8.to(dtype).mul_(scale).add_(shift)


def denormalize(images: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize`, to 0..1 floats (for showing images)."""
    mean = torch.tensor(MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=images.device).view(1, 3, 1, 1)
    return (images.float() * std + mean).clamp(0, 1)


def augment(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop after ``pad`` pixels of zero padding, and a random horizontal flip, per image.

    ``images`` is a (B, C, H, W) batch on any device; the random numbers come from the CPU
    ``generator`` so the same seed gives the same crops on every device.
    """
    b, c, h, w = images.shape
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator).to(images.device)
    flip = (torch.rand(b, generator=generator) < 0.5).to(images.device)
    padded_w = w + 2 * pad
    padded = torch.nn.functional.pad(images, (pad, pad, pad, pad)).flatten(2)  # (B, C, (H + 2p) * (W + 2p))
    # Output pixel (i, j) of image b reads padded row dy[b] + i, column dx[b] + j (or dx[b] + W - 1 - j
    # when flipped): one flat index per pixel, shared by the channels, so one gather does crop and flip
    # (about 3x faster than gathering rows and then columns).
    rows = dy[:, None] + torch.arange(h, device=images.device)  # (B, H)
    cols = torch.arange(w, device=images.device).expand(b, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols) + dx[:, None]  # (B, W)
    flat = (rows[:, :, None] * padded_w + cols[:, None, :]).view(b, 1, h * w)
    return padded.gather(2, flat.expand(b, c, h * w)).view(b, c, h, w)


class DeviceLoader:
    """Batches from one split held whole on ``device`` as uint8; augmentation runs batched there.

    ``train=True`` shuffles, augments and drops the last incomplete batch; ``train=False`` keeps
    the order and every image. Each epoch's order and crops depend only on ``(seed, epoch)``, so a
    resumed run sees exactly the batches an uninterrupted one would.
    """

    def __init__(
        self,
        data: CIFAR10Split | tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor],
        batch_size: int,
        *,
        train: bool = False,
        device: torch.device | str | None = None,
        seed: int = 0,
        subset: int | None = None,
        augment: bool | None = None,
        channels_last: bool = False,
    ) -> None:
        images, labels = (data.images, data.labels) if isinstance(data, CIFAR10Split) else data
        images = torch.as_tensor(images)
        labels = torch.as_tensor(labels, dtype=torch.long)
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must be uint8 of shape (N, H, W, 3), got {tuple(images.shape)} {images.dtype}")
        if len(labels) != len(images):
            raise ValueError(f"got {len(images)} images but {len(labels)} labels")
        if subset is not None:
            index = torch.from_numpy(balanced_subset(labels.numpy(), subset, seed))
            images, labels = images[index], labels[index]
        integer("batch_size", batch_size)
        if batch_size > len(images):
            raise ValueError(f"batch_size={batch_size} is larger than the data set ({len(images)} images)")
        self.device = torch.device(device) if device is not None else pick_device()
        # (N, H, W, C) -> (N, C, H, W), contiguous: the layout in which batched gathers are fastest
        # (channels_last=True converts each finished batch, for models that run channels-last).
        self.images = images.permute(0, 3, 1, 2).contiguous().to(self.device)
        self.labels = labels.to(self.device)
        self.batch_size = batch_size
        self.train = train
        self.augment = train if augment is None else augment
        self.seed = seed
        self.epoch = 0
        self.channels_last = channels_last

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.train else -(-n // self.batch_size)

    @property
    def num_images(self) -> int:
        return len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        """Choose which epoch's shuffle and crops the next iteration produces."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        n = len(self.labels)
        order = torch.randperm(n, generator=generator).to(self.device) if self.train else None
        for i in range(len(self)):
            index = slice(i * self.batch_size, (i + 1) * self.batch_size)
            if order is not None:
                x, y = self.images[order[index]], self.labels[order[index]]
            else:
                x, y = self.images[index], self.labels[index]
            if self.augment:
                x = augment(x, generator)
            x = normalize(x)
            x = x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
            yield x, y
        self.epoch += 1


def cifar10_loaders(
    batch_size: int = 512,
    *,
    root: str | os.PathLike | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    train_subset: int | None = None,
    test_subset: int | None = None,
    test_batch_size: int = 1000,
    channels_last: bool = False,
) -> tuple[DeviceLoader, DeviceLoader]:
    """The usual pair: an augmented, shuffled training loader and a plain test loader."""
    train = load_cifar10("train", root)
    test = load_cifar10("test", root)
    train_loader = DeviceLoader(train, batch_size, train=True, device=device, seed=seed,
                                subset=train_subset, channels_last=channels_last)
    n_test = test_subset or len(test)
    test_loader = DeviceLoader(test, min(test_batch_size, n_test), device=device, seed=seed,
                               subset=test_subset, channels_last=channels_last)
    return train_loader, test_loader


def class_names(labels: Sequence[int] | torch.Tensor) -> list[str]:
    """Class names for integer labels."""
    return [CLASSES[int(i)] for i in labels]


# --------------------------------------------------------------------------- looking at images

def _as_hwc_uint8(image: np.ndarray | torch.Tensor, normalized: bool) -> np.ndarray:
    """One image as (H, W, 3) for imshow, from HWC uint8, CHW uint8 or a normalised CHW float."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()
        if normalized:
            image = denormalize(image[None])[0]
        if image.ndim == 3 and image.shape[0] in (1, 3):
            image = image.permute(1, 2, 0)
        image = image.numpy()
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    return image


def show_images(
    images: Sequence | np.ndarray | torch.Tensor,
    labels: Sequence[int] | None = None,
    *,
    ncols: int = 10,
    title: str | None = None,
    normalized: bool = False,
    captions: Sequence[str] | None = None,
    size: float = 1.2,
) -> plt.Figure:
    """A grid of images with their class names (or ``captions``) under each one.

    Accepts the uint8 HWC arrays of :func:`helpers.data.load_cifar10`, uint8 CHW tensors, or
    normalised float batches from a loader (``normalized=True``).
    """
    n = len(images)
    if n == 0:
        raise ValueError("images is empty: nothing to show")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    # constrained layout leaves room for each caption above its image (tight_layout let the captions of
    # one row overlap the images above them once the axes were switched off)
    caption_room = 0.25 if captions is not None or labels is not None else 0
    height = (size + caption_room) * nrows + (0.4 if title else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, height), squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(_as_hwc_uint8(images[i], normalized), interpolation="nearest")
        caption = captions[i] if captions is not None else (CLASSES[int(labels[i])] if labels is not None else None)
        if caption:
            ax.set_title(caption, fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
