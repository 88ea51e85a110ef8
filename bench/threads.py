"""Training under CPU contention: the thread policy (helpers.runtime.adapt_threads) against torch's default.

A worker process trains ResNet-20 (notebook 03's net, batch 128, the loop's CPU defaults) on random
data and records when each step ends. Each setting is measured three ways:

- ``alone``: the worker has the machine to itself;
- ``busy``: a second process spins on one core the whole time (a browser tab, a compile, ...);
- ``twin``: a second worker with the same setting starts a few seconds after the first (two
  notebooks training at once); both are reported.

Settings: ``default`` (torch's thread count, one per core), ``policy`` (helpers.runtime.adapt_threads:
checked at the start and every few seconds while training, as helpers.train.fit does) and, for
comparison, both with OpenMP's passive wait policy (``OMP_WAIT_POLICY=PASSIVE``, which must be set
before torch is imported). Rates are training images per second over the time both processes ran.
One JSON line.

    python bench/threads.py [--seconds 12] [--settings default policy default+passive policy+passive]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = ("default", "policy", "default+passive", "policy+passive")


def worker(setting: str, seconds: float) -> None:
    import torch
    from torch import nn

    from helpers.models import cifar_resnet
    from helpers.runtime import adapt_threads
    from helpers.train import TrainConfig, make_optimizer, prepare, train_step, uses_amp, uses_channels_last

    policy = setting.startswith("policy")
    if policy:
        adapt_threads()
    device = torch.device("cpu")
    config = TrainConfig(batch_size=128)
    model = cifar_resnet(20)
    step_model = prepare(model, config)
    optimizer, _ = make_optimizer(model, config, steps_per_epoch=1000)
    x = torch.randn(128, 3, 32, 32)
    if uses_channels_last(config, device):
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,))
    amp, criterion = uses_amp(config, device), nn.CrossEntropyLoss()
    train_step(step_model, x, y, criterion, optimizer, amp)  # warm-up, untimed
    ends, threads = [time.time()], []
    while ends[-1] - ends[0] < seconds:
        if policy:
            adapt_threads(force=False)
        train_step(step_model, x, y, criterion, optimizer, amp)
        ends.append(time.time())
        threads.append(torch.get_num_threads())
    print(json.dumps({"ends": ends, "threads": threads, "batch": 128}))


def spin(seconds: float) -> None:
    stop = time.time() + seconds
    while time.time() < stop:
        pass


def _start(args: list[str], setting: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "RESNET_THREADS")}
    if setting.endswith("+passive"):
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(HERE), env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, env=env)


def _rate(run: dict, start: float, stop: float) -> float:
    """Images per second from the steps that ended inside [start, stop]."""
    ends = [t for t in run["ends"] if start <= t <= stop]
    if len(ends) < 2:
        return 0.0
    return (len(ends) - 1) * run["batch"] / (ends[-1] - ends[0])


def measure(setting: str, scenario: str, seconds: float) -> dict:
    first = _start(["--worker", setting, str(seconds)], setting)
    other = None
    if scenario == "busy":
        other = _start(["--spin", str(seconds + 30)], "default")
    elif scenario == "twin":
        time.sleep(4)
        other = _start(["--worker", setting, str(seconds)], setting)
    run = json.loads(first.communicate()[0])
    if scenario == "twin":
        second = json.loads(other.communicate()[0])
        start, stop = max(run["ends"][0], second["ends"][0]), min(run["ends"][-1], second["ends"][-1])
        return {"images_per_s": [round(_rate(run, start, stop), 1), round(_rate(second, start, stop), 1)],
                "threads_at_end": [run["threads"][-1], second["threads"][-1]], "overlap_s": round(stop - start, 1)}
    if other is not None:
        other.kill()
        other.wait()
    return {"images_per_s": round(_rate(run, run["ends"][0], run["ends"][-1]), 1),
            "threads_at_end": run["threads"][-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="timed training per worker (default 12)")
    parser.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    parser.add_argument("--worker", nargs=2, metavar=("SETTING", "SECONDS"), help=argparse.SUPPRESS)
    parser.add_argument("--spin", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], float(args.worker[1]))
    if args.spin:
        return spin(args.spin)
    if args.seconds <= 0:
        parser.error(f"--seconds must be positive, got {args.seconds}")

    import torch

    from helpers.results import cpu_model
    from helpers.runtime import cpu_kind, device_name

    results = {s: {c: measure(s, c, args.seconds) for c in ("alone", "busy", "twin")} for s in args.settings}
    print(json.dumps({"bench": "threads", "model": "cifar_resnet(20), batch 128, the loop's CPU defaults",
                      "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                      "device": device_name(torch.device("cpu")), "cpu": cpu_model(), "cpu_kind": cpu_kind(),
                      "torch": torch.__version__,
                      "seconds": args.seconds, "results": results}))


if __name__ == "__main__":
    main()
