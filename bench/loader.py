"""Loader throughput: helpers.data.DeviceLoader vs the usual DataLoader + torchvision transforms.

Both produce the same thing, augmented and normalised training batches of CIFAR-10 (random crop
with 4-pixel padding, horizontal flip, normalisation), over the same images. Prints one JSON line.

    python bench/loader.py [--images 10000] [--batch-size 512] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch
import torchvision.transforms as T
from common import ArrayDataset  # bench/common.py (the script's folder is on sys.path)
from torch.utils.data import DataLoader

from helpers.data import MEAN, STD, DeviceLoader, load_cifar10
from helpers.results import cpu_model
from helpers.runtime import cpu_kind, device_name, pick_device


def images_per_second(batches, device, min_seconds: float = 2.0) -> float:
    """Consume batches (moving them to ``device``, as training would) until min_seconds have passed."""
    seen, start = 0, time.perf_counter()
    while True:
        for x, y in batches():
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            seen += len(y)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return seen / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10_000, help="training images to stream per pass")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="DataLoader workers")
    args = parser.parse_args()

    device = pick_device()
    train = load_cifar10("train")
    images, labels = train.images[: args.images], train.labels[: args.images]

    ours = DeviceLoader((images, labels), args.batch_size, train=True, device=device)
    # Ours first, before any DataLoader worker exists to compete for the CPU; best of two passes each.
    ours_rate = max(images_per_second(lambda: ours, device) for _ in range(2))
    transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    baseline = DataLoader(ArrayDataset(images, labels, transform), batch_size=args.batch_size, shuffle=True,
                          drop_last=True, num_workers=args.workers, pin_memory=device.type == "cuda",
                          persistent_workers=args.workers > 0)
    next(iter(baseline))  # start the workers outside the timed region
    baseline_rate = max(images_per_second(lambda: baseline, device) for _ in range(2))
    print(json.dumps({
        "bench": "loader",
        "device": device_name(device), "cpu": cpu_model(), "cpu_kind": cpu_kind(),
        "images": len(labels),
        "batch_size": args.batch_size,
        "device_loader_images_per_s": round(ours_rate),
        "dataloader_images_per_s": round(baseline_rate),
        "dataloader_workers": args.workers,
        "ratio": round(ours_rate / baseline_rate, 2),
    }))


if __name__ == "__main__":
    main()
