"""What the benchmarks compare against: the pipeline a tutorial would build from torchvision."""
from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torchvision
from torch import nn
from torch.utils.data import Dataset

from helpers.train import synchronize


class ArrayDataset(Dataset):
    """The tutorial pipeline: one PIL image at a time through torchvision transforms."""

    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def torchvision_resnet34_cifar(num_classes: int = 10) -> nn.Module:
    """torchvision's resnet34 with the usual CIFAR edit: a 3x3 stride-1 first conv, no max-pool."""
    model = torchvision.models.resnet34(num_classes=num_classes)
    model.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


def timed(run: Callable[[], int], device: torch.device) -> float:
    """Images per second of ``run()`` (which returns how many images it processed)."""
    synchronize(device)
    start = time.perf_counter()
    images = run()
    synchronize(device)
    return images / (time.perf_counter() - start)
