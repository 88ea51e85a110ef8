"""helpers.data: finding, decoding, caching and batching CIFAR-10, on data the tests write."""
from __future__ import annotations

import hashlib
import http.server
import os
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import data as D
from helpers.data import CLASSES, DeviceLoader, load_cifar10

from .conftest import write_batches

# --------------------------------------------------------------------------- reading both layouts

def test_image_folder_pixels_and_labels_round_trip(image_folder):
    root, written = image_folder
    for split, n in (("train", 4), ("test", 2)):
        loaded = load_cifar10(split, root)
        assert loaded.images.dtype == np.uint8 and loaded.images.shape == (10 * n, 32, 32, 3)
        np.testing.assert_array_equal(loaded.images, written[split])  # PNG is lossless
        np.testing.assert_array_equal(loaded.labels, np.repeat(np.arange(10), n))
        assert loaded.class_counts() == {c: n for c in CLASSES}


def test_batches_format_round_trip(batches_dir):
    root, written = batches_dir
    for split in ("train", "test"):
        loaded = load_cifar10(split, root)
        np.testing.assert_array_equal(loaded.images, written[split][0])
        np.testing.assert_array_equal(loaded.labels, written[split][1])
    # the batches folder itself is accepted too
    assert len(load_cifar10("test", root / "cifar-10-batches-py")) == 20


def test_cifar10_dir_environment_and_root_precedence(image_folder, batches_dir, monkeypatch):
    folder, _ = image_folder
    batches, _ = batches_dir
    monkeypatch.setenv("CIFAR10_DIR", str(folder))
    assert len(load_cifar10("train")) == 40
    assert len(load_cifar10("train", root=batches)) == 100  # root= wins over the environment


def test_folder_inside_a_cifar10_subdirectory_is_found(tmp_path):
    from .conftest import write_image_folder

    write_image_folder(tmp_path / "cifar10", {"test": 1})
    assert D.locate_cifar10(tmp_path) == ("folder", tmp_path / "cifar10")


def test_unknown_split_is_rejected(image_folder):
    with pytest.raises(ValueError, match="split must be one of"):
        load_cifar10("validation", image_folder[0])


# --------------------------------------------------------------------------- the cache

def test_cache_is_written_then_used(image_folder, monkeypatch):
    root, written = image_folder
    load_cifar10("train", root)
    assert (root / "_uint8_cache" / "train.npz").is_file()

    def no_decoding(path):
        raise AssertionError("decoded although the cache is valid")

    monkeypatch.setattr(D, "_decode", no_decoding)
    np.testing.assert_array_equal(load_cifar10("train", root).images, written["train"])


def test_cache_is_rebuilt_when_a_source_image_changes(image_folder):
    root, written = image_folder
    load_cifar10("train", root)
    changed = root / "train" / "cat" / "0001.png"
    new_pixels = np.full((32, 32, 3), 7, dtype=np.uint8)
    Image.fromarray(new_pixels).save(changed)
    os.utime(changed, ns=(1, 1))  # a different mtime even on coarse file systems
    reloaded = load_cifar10("train", root)
    np.testing.assert_array_equal(reloaded.images[CLASSES.index("cat") * 4 + 1], new_pixels)


def test_cache_is_rebuilt_when_an_image_is_added(image_folder):
    root, _ = image_folder
    load_cifar10("test", root)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "test" / "dog" / "9999.png")
    assert load_cifar10("test", root).class_counts()["dog"] == 3


def test_unwritable_source_falls_back_to_the_user_cache(image_folder, monkeypatch, tmp_path):
    root, _ = image_folder
    real_write = D._write_cache

    def refuse_beside_source(path, *args):
        return False if path.parent == root / "_uint8_cache" else real_write(path, *args)

    monkeypatch.setattr(D, "_write_cache", refuse_beside_source)
    load_cifar10("test", root)
    assert list((tmp_path / "user-cache" / "resnet-cell-by-cell").glob("*/test.npz"))


def test_corrupt_cache_is_ignored_and_rebuilt(image_folder):
    root, written = image_folder
    load_cifar10("test", root)
    (root / "_uint8_cache" / "test.npz").write_bytes(b"not an npz")
    np.testing.assert_array_equal(load_cifar10("test", root).images, written["test"])


# --------------------------------------------------------------------------- clear errors

def test_missing_directory_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"CIFAR10_DIR points to .*nowhere.*not an existing directory"):
        load_cifar10("train")


def test_directory_without_cifar_layout_says_what_is_expected(tmp_path):
    (tmp_path / "something").mkdir()
    with pytest.raises(FileNotFoundError, match="neither cifar-10-batches-py nor train/"):
        load_cifar10("train", tmp_path)


def test_no_data_and_no_network_says_where_to_put_the_files(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10

    monkeypatch.setattr(D, "DOWNLOAD_DIR", tmp_path / "data")
    monkeypatch.setattr(CIFAR10, "url", "http://127.0.0.1:9/cifar-10-python.tar.gz")  # port 9: discard
    with pytest.raises(D.DataNotFoundError) as info:
        load_cifar10("train")
    message = str(info.value)
    assert "could not download" in message and "CIFAR10_DIR" in message and "cifar-10-batches-py" in message


def test_download_false_never_touches_the_network(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "DOWNLOAD_DIR", tmp_path / "data")
    monkeypatch.setattr(D, "_download", lambda d: pytest.fail("tried to download"))
    with pytest.raises(D.DataNotFoundError, match="download=False"):
        load_cifar10("train", download=False)


def test_missing_class_folder_is_named(image_folder):
    root, _ = image_folder
    (root / "train" / "frog").rename(root / "train" / "frogs")
    with pytest.raises(ValueError, match=r"missing: \['frog'\], unexpected: \['frogs'\]"):
        load_cifar10("train", root)


def test_truncated_image_names_the_file(image_folder):
    root, _ = image_folder
    bad = root / "train" / "ship" / "0002.png"
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cannot read image .*ship/0002\.png"):
        load_cifar10("train", root)


def test_unreadable_image_names_the_file(image_folder):
    root, _ = image_folder
    (root / "test" / "bird" / "0000.png").write_bytes(b"this is not a PNG")
    with pytest.raises(ValueError, match=r"cannot read image .*bird/0000\.png"):
        load_cifar10("test", root)


def test_wrong_image_size_names_the_file_and_the_size(image_folder):
    root, _ = image_folder
    Image.fromarray(np.zeros((28, 30, 3), np.uint8)).save(root / "test" / "deer" / "0001.png")
    with pytest.raises(ValueError, match=r"deer/0001\.png is 30x28 pixels; CIFAR-10 images are 32x32"):
        load_cifar10("test", root)


def test_non_image_file_is_named(image_folder):
    root, _ = image_folder
    (root / "test" / "horse" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt is not an image file"):
        load_cifar10("test", root)


def test_damaged_batch_file_is_named(batches_dir):
    root, _ = batches_dir
    (root / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x04 broken")
    with pytest.raises(ValueError, match="cannot read CIFAR-10 batch file .*data_batch_3"):
        load_cifar10("train", root)


def test_incomplete_batches_folder_lists_what_is_missing(batches_dir):
    root, _ = batches_dir
    (root / "cifar-10-batches-py" / "data_batch_5").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_5"):
        load_cifar10("train", root)


def test_batch_size_larger_than_the_data_set(image_folder):
    test = load_cifar10("test", image_folder[0])
    with pytest.raises(ValueError, match=r"batch_size=64 is larger than the data set \(20 images\)"):
        DeviceLoader(test, 64, train=True, device="cpu")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DeviceLoader(test, 0, device="cpu")


# --------------------------------------------------------------------------- torchvision's download

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_torchvision_download_path_with_a_local_stand_in(tmp_path, monkeypatch):
    """The real users' path: no CIFAR10_DIR, torchvision downloads into data/ (here from localhost)."""
    from torchvision.datasets import CIFAR10

    written = write_batches(tmp_path / "build" / "cifar-10-batches-py", n_per_batch=10, seed=3)
    served = tmp_path / "served"
    served.mkdir()
    archive = served / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "build" / "cifar-10-batches-py", arcname="cifar-10-batches-py")

    def md5(path):
        return hashlib.md5(Path(path).read_bytes()).hexdigest()

    folder = tmp_path / "build" / "cifar-10-batches-py"
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5(archive))
    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5(folder / f"data_batch_{i}")] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5(folder / "test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names", "md5": md5(folder / "batches.meta")})

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **k: _QuietHandler(*a, directory=str(served), **k)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(CIFAR10, "url", f"http://127.0.0.1:{server.server_address[1]}/cifar-10-python.tar.gz")
        monkeypatch.setattr(D, "DOWNLOAD_DIR", tmp_path / "data")
        train = load_cifar10("train")
    finally:
        server.shutdown()
    np.testing.assert_array_equal(train.images, written["train"][0])
    assert (tmp_path / "data" / "cifar-10-batches-py" / "_uint8_cache" / "train.npz").is_file()
    # the second call finds data/ and does not download again
    monkeypatch.setattr(D, "_download", lambda d: pytest.fail("downloaded twice"))
    assert len(load_cifar10("test")) == 10


# --------------------------------------------------------------------------- the on-device loader

def _reference_augment(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """One image at a time, the way torchvision's RandomCrop(32, padding=4) + RandomHorizontalFlip do it."""
    import torchvision.transforms.v2.functional as F

    b = len(images)
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    flip = torch.rand(b, generator=generator) < 0.5
    out = []
    for image, y, x, f in zip(images, dy.tolist(), dx.tolist(), flip.tolist(), strict=True):
        crop = F.crop(F.pad(image, [pad]), y, x, 32, 32)
        out.append(F.horizontal_flip(crop) if f else crop)
    return torch.stack(out)


def test_batched_augmentation_equals_per_image_crop_and_flip():
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (64, 3, 32, 32), dtype=np.uint8))
    ours = D.augment(images, torch.Generator().manual_seed(5))
    reference = _reference_augment(images, torch.Generator().manual_seed(5))
    assert torch.equal(ours, reference)
    assert not torch.equal(ours, images)


def test_normalize_matches_torchvision_to_tensor_and_normalize():
    import torchvision.transforms as T

    image = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    reference = T.Normalize(D.MEAN, D.STD)(T.ToTensor()(image))
    ours = D.normalize(torch.from_numpy(image).permute(2, 0, 1)[None])[0]
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(D.denormalize(ours[None])[0], T.ToTensor()(image), rtol=1e-5, atol=1e-5)


def test_training_loader_shapes_shuffle_and_seeding(image_folder):
    train = load_cifar10("train", image_folder[0])
    loader = DeviceLoader(train, 16, train=True, device="cpu", seed=3)
    assert len(loader) == 2  # 40 images, drop_last
    batches = list(loader)
    x, y = batches[0]
    assert x.shape == (16, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.long
    again = DeviceLoader(train, 16, train=True, device="cpu", seed=3)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))  # same seed, batches
    next_epoch = list(loader)  # the loader moved on to epoch 1: new order and crops
    assert not torch.equal(next_epoch[0][0], x)
    loader.set_epoch(0)
    assert torch.equal(next(iter(loader))[0], x)  # an epoch can be replayed (resume)
    other = DeviceLoader(train, 16, train=True, device="cpu", seed=4)
    assert not torch.equal(next(iter(other))[0], x)


def test_eval_loader_keeps_order_and_every_image(image_folder):
    test = load_cifar10("test", image_folder[0])
    loader = DeviceLoader(test, 8, device="cpu")
    xs, ys = zip(*loader, strict=True)
    assert len(loader) == 3 and sum(len(y) for y in ys) == 20
    assert torch.equal(torch.cat(ys), torch.from_numpy(test.labels))
    expected = D.normalize(torch.from_numpy(test.images).permute(0, 3, 1, 2))
    torch.testing.assert_close(torch.cat(xs), expected)


def test_channels_last_output(image_folder):
    test = load_cifar10("test", image_folder[0])
    x, _ = next(iter(DeviceLoader(test, 4, device="cpu", channels_last=True)))
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_balanced_subset_is_balanced_seeded_and_checked():
    labels = np.repeat(np.arange(10), 50)
    chosen = D.balanced_subset(labels, 30, seed=1)
    assert np.bincount(labels[chosen], minlength=10).tolist() == [3] * 10
    assert np.array_equal(chosen, D.balanced_subset(labels, 30, seed=1))
    assert not np.array_equal(chosen, D.balanced_subset(labels, 30, seed=2))
    assert np.bincount(labels[D.balanced_subset(labels, 25)], minlength=10).max() == 3
    with pytest.raises(ValueError, match="subset must be an int between 1 and 500"):
        D.balanced_subset(labels, 501)


def test_loader_subset(image_folder):
    train = load_cifar10("train", image_folder[0])
    loader = DeviceLoader(train, 10, train=True, device="cpu", subset=20)
    assert loader.num_images == 20 and len(loader) == 2
    assert torch.bincount(loader.labels, minlength=10).tolist() == [2] * 10


def test_bad_image_array_is_rejected():
    with pytest.raises(ValueError, match=r"images must be uint8 of shape \(N, H, W, 3\)"):
        DeviceLoader((np.zeros((4, 3, 32, 32), np.float32), np.zeros(4)), 2, device="cpu")


# --------------------------------------------------------------------------- the real data set

def test_real_cifar10_from_ci(real_cifar10_dir):
    train, test = load_cifar10("train", real_cifar10_dir), load_cifar10("test", real_cifar10_dir)
    assert train.images.shape == (50_000, 32, 32, 3) and test.images.shape == (10_000, 32, 32, 3)
    assert train.class_counts() == {c: 5000 for c in CLASSES}
    assert test.class_counts() == {c: 1000 for c in CLASSES}
    # real photographs, not blank files: per-channel means near CIFAR-10's published ones
    means = train.images.reshape(-1, 3).mean(0) / 255
    np.testing.assert_allclose(means, D.MEAN, atol=0.01)
