"""Training-step throughput: our ResNet-34 and loop settings vs torchvision's resnet34 in a plain loop.

Ours: ``helpers.models.resnet34(stem="cifar")`` run through ``helpers.train.prepare`` and
``helpers.train.train_step`` with the loop's defaults for the device (channels-last on CUDA and CPU,
bf16 autocast on CUDA and on CPUs with native bf16, AMX or AVX512-BF16; ``torch.compile`` with ``--compile``;
Nesterov SGD with label smoothing). Baseline: torchvision's
``resnet34`` with the same CIFAR stem, fp32, contiguous tensors, ``SGD`` and plain cross-entropy,
the loop a tutorial would write. Same device, batch and random input; the two alternate in rounds
(so that a busy machine slows both alike) and the median round of each is reported. One JSON line.

    python bench/train_step.py [--batch-size 128] [--steps 10] [--rounds 3] [--compile]
"""
from __future__ import annotations

import argparse
import json
import statistics

import torch
from common import timed, torchvision_resnet34_cifar  # bench/common.py
from torch import nn

from helpers.models import resnet34
from helpers.results import cpu_model
from helpers.runtime import cpu_kind, device_name, pick_device, seed_everything
from helpers.train import TrainConfig, make_optimizer, prepare, train_step, uses_amp, uses_channels_last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=None, help="default: 512 on CUDA, 128 elsewhere")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per round (default: 50 CUDA, 8 CPU)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--width", type=int, default=64, help="channels of the first stage (64 = the real network)")
    parser.add_argument("--channels-last", choices=("auto", "on", "off"), default="auto",
                        help="auto = the loop's default for the device")
    parser.add_argument("--amp", choices=("auto", "on", "off"), default="auto",
                        help="bf16 autocast; auto = the loop's default for the device")
    parser.add_argument("--compile", action="store_true", help="torch.compile our model (the CLI's --compile)")
    args = parser.parse_args()
    if args.width != 64:
        parser.error("--width other than 64 has no torchvision counterpart; use the default")

    device = pick_device()
    cuda = device.type == "cuda"
    batch = args.batch_size or (512 if cuda else 128)
    steps = args.steps or (50 if cuda else 8)
    seed_everything(0)
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    channels_last = {"auto": None, "on": True, "off": False}[args.channels_last]
    amp_choice = {"auto": None, "on": True, "off": False}[args.amp]
    config = TrainConfig(compile=args.compile, channels_last=channels_last, amp=amp_choice)
    ours_model = resnet34(10, stem="cifar", width=args.width).to(device)
    ours_step_model = prepare(ours_model, config)
    channels_last = uses_channels_last(config, device)
    ours_x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    optimizer, _ = make_optimizer(ours_model, config, steps_per_epoch=1000)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    amp = uses_amp(config, device)

    def ours(n: int) -> int:
        for _ in range(n):
            train_step(ours_step_model, ours_x, y, criterion, optimizer, amp)
        return n * batch

    tv_model = torchvision_resnet34_cifar().to(device)
    tv_optimizer = torch.optim.SGD(tv_model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)

    def baseline(n: int) -> int:
        for _ in range(n):
            loss = nn.functional.cross_entropy(tv_model(x), y)
            tv_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            tv_optimizer.step()
        return n * batch

    warmup = 5 if args.compile else 2
    timed(lambda: ours(warmup), device)  # first calls allocate (and compile): not timed
    timed(lambda: baseline(warmup), device)
    ours_rates, baseline_rates = [], []
    for _ in range(args.rounds):
        ours_rates.append(timed(lambda: ours(steps), device))
        baseline_rates.append(timed(lambda: baseline(steps), device))
    ours_rate, baseline_rate = statistics.median(ours_rates), statistics.median(baseline_rates)
    print(json.dumps({
        "bench": "train_step",
        "device": device_name(device), "cpu": cpu_model(), "cpu_kind": cpu_kind(),
        "batch_size": batch,
        "steps_per_round": steps,
        "rounds": args.rounds,
        "ours": {"model": "helpers.models.resnet34(stem='cifar')", "channels_last": channels_last,
                 "bf16_autocast": amp, "compile": args.compile,
                 "images_per_s": round(ours_rate, 1)},
        "baseline": {"model": "torchvision resnet34 + CIFAR stem, fp32, plain loop",
                     "images_per_s": round(baseline_rate, 1)},
        "ratio": round(ours_rate / baseline_rate, 3),
    }))


if __name__ == "__main__":
    main()
