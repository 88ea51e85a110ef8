"""One short training epoch end to end: the CLI's path vs a typical tutorial pipeline.

Ours: what ``python -m helpers.experiments resnet34`` runs (``cifar10_loaders`` with the whole split on the
device and batched augmentation, ``helpers.models.resnet34(stem="cifar")``, ``helpers.train.fit``
with its defaults for the device: channels-last on CUDA and CPU, bf16 autocast on CUDA and on CPUs
with native bf16, AMX or AVX512-BF16, ``--compile`` optional). Baseline: a
``DataLoader`` over the same images with torchvision transforms (RandomCrop 32 pad 4,
RandomHorizontalFlip, ToTensor, Normalize) in worker processes, torchvision's ``resnet34`` with the
CIFAR stem in fp32, a plain SGD loop. Both train two epochs over the same ``--images`` training
images; the second is timed (data loading included), the first warms up. One JSON line.

    python bench/end_to_end.py [--images 1024] [--batch-size 128] [--workers 2] [--compile]
"""
from __future__ import annotations

import argparse
import json
import os

import torch
import torchvision.transforms as T
from common import ArrayDataset, timed, torchvision_resnet34_cifar  # bench/common.py
from torch import nn
from torch.utils.data import DataLoader

from helpers.data import MEAN, STD, DeviceLoader, balanced_subset, load_cifar10
from helpers.models import resnet34
from helpers.results import cpu_model
from helpers.runtime import cpu_kind, device_name, pick_device, seed_everything
from helpers.train import TrainConfig, fit, uses_channels_last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=None, help="training images (default: 50,000 CUDA, 1,024 CPU)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 512 on CUDA, 128 elsewhere")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="DataLoader workers")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()

    device = pick_device()
    cuda = device.type == "cuda"
    batch = args.batch_size or (512 if cuda else 128)
    n = args.images or (50_000 if cuda else 1_024)
    train = load_cifar10("train")
    test = load_cifar10("test")
    index = balanced_subset(train.labels, n, seed=0)
    images, labels = train.images[index], train.labels[index]

    # Ours: the CLI's loaders and loop (evaluation on a few test images only; it is not timed here).
    seed_everything(0)
    config = TrainConfig(epochs=2, batch_size=batch, compile=args.compile)
    channels_last = uses_channels_last(config, device)
    train_loader = DeviceLoader((images, labels), batch, train=True, device=device, seed=0, channels_last=channels_last)
    test_loader = DeviceLoader((test.images[:batch], test.labels[:batch]), batch, device=device,
                               channels_last=channels_last)
    model = resnet34(10, stem="cifar").to(device)
    history = fit(model, train_loader, test_loader, config, progress=False)
    ours_rate = history.images_per_s[-1]  # the second epoch: the first pays for start-up (and compilation)

    # Baseline: DataLoader + torchvision transforms + torchvision model, fp32.
    seed_everything(0)
    transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    loader = DataLoader(ArrayDataset(images, labels, transform), batch_size=batch, shuffle=True, drop_last=True,
                        num_workers=args.workers, pin_memory=cuda, persistent_workers=args.workers > 0)
    tv_model = torchvision_resnet34_cifar().to(device)
    optimizer = torch.optim.SGD(tv_model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)

    def epoch() -> int:
        seen = 0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = nn.functional.cross_entropy(tv_model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += len(y)
        return seen

    epoch()  # warm-up: starts the workers and the kernels, like our first epoch
    baseline_rate = timed(epoch, device)
    print(json.dumps({
        "bench": "end_to_end",
        "device": device_name(device), "cpu": cpu_model(), "cpu_kind": cpu_kind(),
        "images": int(len(labels)),
        "batch_size": batch,
        "ours": {"path": "DeviceLoader + helpers.models.resnet34 + helpers.train.fit", "compile": args.compile,
                 "train_images_per_s": round(ours_rate, 1)},
        "baseline": {"path": "DataLoader + torchvision transforms + torchvision resnet34, fp32",
                     "workers": args.workers, "train_images_per_s": round(baseline_rate, 1)},
        "ratio": round(ours_rate / baseline_rate, 3),
        "note": "the second of two epochs each (the first warms up: workers, kernels, compilation)",
    }))


if __name__ == "__main__":
    main()
