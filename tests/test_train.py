"""helpers.train: the loop learns, checkpoints resume exactly; the ResNet-34 experiment's command line
(helpers.experiments.resnet34_main) prints its JSON line."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from helpers import experiments as E
from helpers import train as T
from helpers.data import DeviceLoader
from helpers.models import cifar_resnet


def toy_data(n: int = 96, seed: int = 0):
    """Images whose class is written in their mean colour: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 64, size=(n, 32, 32, 3)).astype(np.int64)
    images[..., 0] += labels[:, None, None] * 19
    return images.clip(0, 255).astype(np.uint8), labels


def loaders(seed: int = 0):
    images, labels = toy_data()
    train = DeviceLoader((images, labels), 16, train=True, device="cpu", seed=seed)
    test = DeviceLoader((images, labels), 32, device="cpu")
    return train, test


#: the command-line tests' width: 4 crashes (double free, segfault) in channels-last backward with torch 2.14.1
#: on a Zen 3 EPYC without AVX-512 (ResNet-18/34, 2026-12-04); 8 does not
NARROW = "8"


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    return cifar_resnet(8, width=4)


def test_loss_falls_and_history_is_complete():
    train, test = loaders()
    config = T.TrainConfig(epochs=6, batch_size=16, lr=0.05, seed=0, warmup=0.1)
    history = T.fit(tiny_model(), train, test, config, progress=False)
    assert history.epoch == [1, 2, 3, 4, 5, 6]
    assert history.train_loss[-1] < 0.8 * history.train_loss[0]
    assert len(history.step_lr) == len(history.step_loss) == 6 * len(train)
    assert max(history.step_lr) == pytest.approx(0.05, rel=0.1) and history.lr[-1] == pytest.approx(0.0, abs=1e-9)
    assert all(0 <= a <= 1 for a in history.test_acc) and all(r > 0 for r in history.images_per_s)
    assert history.elapsed_s == sorted(history.elapsed_s)


def test_one_cycle_schedule_shape():
    multiplier = T.one_cycle(total_steps=100, warmup=0.2)
    values = [multiplier(s) for s in range(101)]
    assert values[0] == pytest.approx(0.1) and values[20] == pytest.approx(1.0)
    assert values[100] == 0.0
    assert values[:21] == sorted(values[:21]) and values[20:] == sorted(values[20:], reverse=True)


def test_no_weight_decay_on_batch_norm_and_biases():
    model = tiny_model()
    decay, no_decay = T.parameter_groups(model, 5e-4)
    names = {id(p): n for n, p in model.named_parameters()}
    assert all("bn" in names[id(p)] or names[id(p)].endswith("bias") for p in no_decay["params"])
    assert all(p.ndim > 1 for p in decay["params"]) and decay["weight_decay"] == 5e-4
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


class Interrupt(Exception):
    pass


def test_interrupted_and_resumed_run_equals_uninterrupted_run(tmp_path):
    config = T.TrainConfig(epochs=3, batch_size=16, lr=0.05, seed=1)
    train, test = loaders(seed=1)
    full_model = tiny_model(5)
    full = T.fit(full_model, train, test, config, progress=False)

    def stop_after_first_epoch(history):
        if len(history.epoch) == 1:
            raise Interrupt

    checkpoint = tmp_path / "run.pt"
    train, test = loaders(seed=1)
    with pytest.raises(Interrupt):
        T.fit(tiny_model(5), train, test, config, checkpoint=checkpoint, progress=False,
              on_epoch_end=stop_after_first_epoch)
    assert checkpoint.is_file()

    train, test = loaders(seed=1)
    torch.manual_seed(1234)  # a fresh process would not share the first run's random state
    resumed_model = cifar_resnet(8, width=4)  # different initial weights: all must come from the checkpoint
    resumed = T.fit(resumed_model, train, test, config, checkpoint=checkpoint, progress=False)
    resumed_state = resumed_model.state_dict().values()
    for (name, a), b in zip(full_model.state_dict().items(), resumed_state, strict=True):
        assert torch.equal(a, b), name
    assert resumed.train_loss == full.train_loss and resumed.test_acc == full.test_acc
    assert resumed.step_lr == full.step_lr


def test_resume_refuses_a_checkpoint_with_other_settings(tmp_path):
    train, test = loaders()
    checkpoint = tmp_path / "run.pt"
    T.fit(tiny_model(), train, test, T.TrainConfig(epochs=1, batch_size=16, lr=0.05), checkpoint=checkpoint,
          progress=False)
    with pytest.raises(ValueError, match="different configuration"):
        T.fit(tiny_model(), train, test, T.TrainConfig(epochs=2, batch_size=16, lr=0.1), checkpoint=checkpoint,
              progress=False)
    # resume=False starts over and overwrites
    history = T.fit(tiny_model(), train, test, T.TrainConfig(epochs=1, batch_size=16, lr=0.1),
                    checkpoint=checkpoint, resume=False, progress=False)
    assert history.epoch == [1]


def test_finished_run_resumes_to_nothing(tmp_path):
    train, test = loaders()
    checkpoint = tmp_path / "run.pt"
    config = T.TrainConfig(epochs=1, batch_size=16, lr=0.05)
    first = T.fit(tiny_model(), train, test, config, checkpoint=checkpoint, progress=False)
    again = T.fit(tiny_model(), train, test, config, checkpoint=checkpoint, progress=False)
    assert again.test_acc == first.test_acc


def test_a_diverged_run_stops_says_so_and_stays_finished(tmp_path, capsys):
    train, test = loaders()
    checkpoint = tmp_path / "run.pt"
    config = T.TrainConfig(epochs=3, batch_size=16, lr=1e6, warmup=0.0)  # a learning rate that blows up
    torch.manual_seed(0)
    history = T.fit(cifar_resnet(8, width=4, batch_norm=False), train, test, config, checkpoint=checkpoint,
                    progress=False)
    assert history.diverged and history.epoch == [1]
    assert "Training diverged in epoch 1" in capsys.readouterr().out
    again = T.fit(cifar_resnet(8, width=4, batch_norm=False), train, test, config, checkpoint=checkpoint,
                  progress=False)
    assert again.epoch == [1] and again.diverged
    assert not T.fit(tiny_model(), train, test, T.TrainConfig(epochs=1, batch_size=16, lr=0.05),
                     progress=False).diverged


def test_evaluate_matches_a_hand_computation():
    train, test = loaders()
    model = tiny_model().eval()
    scores = T.evaluate(model, test)
    x = torch.cat([b[0] for b in test])
    y = torch.cat([b[1] for b in test])
    with torch.no_grad():
        logits = model(x)
    assert scores["acc"] == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert scores["loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-5)


@pytest.mark.parametrize("bad,message", [
    (dict(epochs=0), "epochs must be a positive int"),
    (dict(batch_size=-1), "batch_size must be a positive int"),
    (dict(lr=0), "lr must be a positive number"),
    (dict(momentum=1.5), "momentum must be in"),
    (dict(label_smoothing=1.0), "label_smoothing must be in"),
    (dict(warmup=1.0), "warmup must be a fraction"),
])
def test_bad_config_is_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        T.TrainConfig(**bad)


def test_unknown_model_name():
    with pytest.raises(ValueError, match="model must be one of"):
        E.build_model("vgg16", 16)


def test_tensorboard_missing_says_how_to_install(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard") or name == "tensorboard":
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        T._tensorboard_writer(tmp_path)


def test_cli_trains_checkpoints_resumes_and_prints_json(image_folder, tmp_path, capsys):
    root, _ = image_folder
    checkpoint = tmp_path / "cli.pt"
    common = ["--model", "resnet18", "--width", NARROW, "--batch-size", "8", "--data", str(root), "--no-progress",
              "--checkpoint", str(checkpoint)]
    E.resnet34_main(common + ["--epochs", "1"])
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["model"] == "resnet18" and first["epochs"] == 1 and first["test_images"] == 20
    assert {"params", "test_acc", "train_images_per_s", "wall_s", "device"} <= set(first)
    E.resnet34_main(common + ["--epochs", "2", "--resume"])
    out = capsys.readouterr().out
    assert "Resuming from" in out and "1 of 2 epochs done" in out
    epoch_lines = [line for line in out.splitlines() if line.startswith("epoch ")]  # a log says how far the run is
    assert len(epoch_lines) == 1 and epoch_lines[0].startswith("epoch 2: train loss ") and "test accuracy" in out
    assert json.loads(out.strip().splitlines()[-1])["epochs"] == 2


def test_cli_saves_a_result_file_for_the_notebooks(image_folder, tmp_path, capsys, monkeypatch):
    from helpers.results import load_result

    (tmp_path / "results").mkdir()
    monkeypatch.setenv("RESNET_RESULTS_DIR", str(tmp_path / "results"))
    root, _ = image_folder
    argv = ["--model", "resnet18", "--width", "8", "--batch-size", "8", "--epochs", "1", "--data", str(root),
            "--no-progress", "--save", "r18_test"]
    E.resnet34_main(argv)
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    saved = load_result("r18_test")
    assert saved["command"] == "python -m helpers.experiments resnet34 " + " ".join(argv)
    assert saved["device"] == printed["device"] and saved["date"]
    assert saved["data"]["test_acc"] == printed["test_acc"] and saved["data"]["history"]["epoch"] == [1]
    assert saved["data"]["train_images"] > 0


def test_a_gpu_sized_run_off_cuda_needs_allow_long(image_folder, capsys, monkeypatch):
    root, _ = image_folder
    monkeypatch.setattr(E, "measure_rate", lambda *a, **k: 1.0)  # one image per second: hours for anything real
    argv = ["--width", NARROW, "--batch-size", "8", "--epochs", "300", "--data", str(root), "--no-progress"]
    with pytest.raises(SystemExit):
        E.resnet34_main(argv)
    captured = capsys.readouterr()
    assert "estimate on cpu" in captured.out and "sized for a GPU" in captured.err and "--allow-long" in captured.err
    monkeypatch.setattr(E, "measure_rate", lambda *a, **k: 1e9)
    E.resnet34_main([*argv[:-3], "--epochs", "1", "--data", str(root), "--no-progress"])  # short: runs without the flag
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["epochs"] == 1


def test_quick_preset_keeps_explicit_options(image_folder, capsys):
    root, _ = image_folder
    argv = ["--quick", "--epochs", "1", "--width", NARROW, "--batch-size", "8", "--data", str(root), "--no-progress"]
    E.resnet34_main(argv)
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["model"], result["epochs"], result["width"], result["batch_size"]) == ("resnet18", 1, 8, 8)
    E.resnet34_main([*argv, "--model", "resnet34"])  # the preset's net, too, gives way to an explicit one
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["model"], result["epochs"], result["train_images"]) == ("resnet34", 1, 40)


def test_resume_refuses_another_data_size_and_fewer_epochs(tmp_path):
    images, labels = toy_data()
    checkpoint = tmp_path / "run.pt"
    config = T.TrainConfig(epochs=2, batch_size=16, lr=0.05)
    train, test = loaders()
    T.fit(tiny_model(), train, test, config, checkpoint=checkpoint, progress=False)
    smaller = DeviceLoader((images[:48], labels[:48]), 16, train=True, device="cpu")
    with pytest.raises(ValueError, match="batches per epoch"):
        T.fit(tiny_model(), smaller, test, config, checkpoint=checkpoint, progress=False)
    with pytest.raises(ValueError, match="more than epochs=1"):
        T.fit(tiny_model(), train, test, T.TrainConfig(epochs=1, batch_size=16, lr=0.05), checkpoint=checkpoint,
              progress=False)


def test_extending_a_finished_run_says_it_is_a_warm_restart(tmp_path, capsys):
    checkpoint = tmp_path / "run.pt"
    train, test = loaders()
    T.fit(tiny_model(), train, test, T.TrainConfig(epochs=1, batch_size=16, lr=0.05), checkpoint=checkpoint,
          progress=False)
    history = T.fit(tiny_model(), train, test, T.TrainConfig(epochs=2, batch_size=16, lr=0.05),
                    checkpoint=checkpoint, progress=False)
    assert history.epoch == [1, 2] and "warm restart" in capsys.readouterr().out


# --------------------------------------------------------------------------- the CUDA-only paths, on the CPU

@pytest.mark.parametrize("kind, amp, channels_last", [("cuda", True, True), ("mps", False, False)])
def test_device_defaults(kind, amp, channels_last):
    device = torch.device(kind)
    assert T.default_amp(device) is amp and T.default_channels_last(device) is channels_last
    config = T.TrainConfig()
    assert T.uses_amp(config, device) is amp and T.uses_channels_last(config, device) is channels_last


def test_cpu_defaults_follow_the_hardware(monkeypatch):
    cpu = torch.device("cpu")
    assert T.default_channels_last(cpu)
    monkeypatch.setattr(T, "cpu_has_bf16_units", lambda: True)
    assert T.default_amp(cpu)
    monkeypatch.setattr(T, "cpu_has_bf16_units", lambda: False)
    assert not T.default_amp(cpu)
    # an explicit choice always wins
    assert T.uses_amp(T.TrainConfig(amp=True), cpu) and not T.uses_channels_last(T.TrainConfig(channels_last=False), cpu)


@pytest.mark.parametrize(("amx", "avx512_bf16", "kind"), [(True, False, "AMX"), (False, True, "AVX512-BF16"),
                                                         (True, True, "AMX"), (False, False, "no bf16 units")])
def test_bf16_is_the_default_on_amx_and_on_avx512_bf16(monkeypatch, amx, avx512_bf16, kind):
    """Issue 26: a Zen 4 EPYC (AVX512-BF16, no AMX) trains 1.8x faster in bf16, so it gets bf16 too."""
    from helpers import runtime

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    assert runtime.cpu_kind() == kind
    assert T.default_amp(torch.device("cpu")) is (kind != "no bf16 units")


def test_bf16_is_refused_on_mps():
    with pytest.raises(ValueError, match="amp"):
        T.uses_amp(T.TrainConfig(amp=True), torch.device("mps"))


@pytest.mark.slow
def test_bf16_channels_last_compiled_run_checkpoints_and_resumes_on_the_cpu(tmp_path):
    """What a GPU run does (bf16 autocast, channels-last, torch.compile, RNG states in the checkpoint), on the CPU."""
    config = T.TrainConfig(epochs=2, batch_size=16, lr=0.05, seed=3, amp=True, channels_last=True, compile=True)
    checkpoint = tmp_path / "gpu-like.pt"

    def stop(history):
        if len(history.epoch) == 1:
            raise Interrupt

    train, test = loaders(seed=3)
    model = tiny_model(3)
    with pytest.raises(Interrupt):
        T.fit(model, train, test, config, checkpoint=checkpoint, progress=False, on_epoch_end=stop)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    assert state["rng"]["torch"].dtype == torch.uint8 and state["rng"]["torch"].device.type == "cpu"
    assert not any(k.startswith("_orig_mod") for k in state["model"])  # saved unwrapped: loads without compile
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert model(next(iter(test))[0]).dtype == torch.bfloat16  # the path fit trained under

    train, test = loaders(seed=3)
    history = T.fit(tiny_model(9), train, test, config, checkpoint=checkpoint, progress=False)
    assert history.epoch == [1, 2] and all(np.isfinite(history.train_loss))


@pytest.mark.slow
@pytest.mark.parametrize("amp", [False, True])
def test_narrow_channels_last_training_does_not_hang(amp):
    """Channels-last is the CPU default, and at widths 4 and 6 it hangs on AVX2 CPUs (torch 2.14.1's oneDNN, see
    helpers.experiments.narrow_channels_last_hangs, which the command line refuses): the narrowest width it allows,
    8, trains a few steps with 2 threads in a child process within a time limit, in float32 and in bf16."""
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from helpers.experiments import build_model\n"
        "from helpers.train import TrainConfig, make_optimizer, prepare, train_step\n"
        "torch.manual_seed(0)\n"
        f"config = TrainConfig(batch_size=32, channels_last=True, amp={amp})\n"
        "model = build_model('resnet34', 8)\n"
        "step_model = prepare(model, config)\n"
        "optimizer, _ = make_optimizer(model, config, steps_per_epoch=10)\n"
        "x = torch.randn(32, 3, 32, 32).contiguous(memory_format=torch.channels_last)\n"
        "y = torch.randint(0, 10, (32,))\n"
        "for _ in range(5):\n"
        f"    loss, _ = train_step(step_model, x, y, torch.nn.CrossEntropyLoss(), optimizer, {amp})\n"
        "assert torch.isfinite(loss)\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_command_line_refuses_the_width_that_hangs_on_avx2(monkeypatch, capsys):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    monkeypatch.setenv("RESNET_DEVICE", "cpu")
    with pytest.raises(SystemExit) as exit_info:
        E.resnet34_main(["--model", "resnet34", "--width", "4", "--epochs", "1"])
    assert exit_info.value.code == 2
    assert "--width: 4 with channels-last hangs" in capsys.readouterr().err
    assert not E.narrow_channels_last_hangs("resnet34", 4, channels_last=False)
    assert E.narrow_channels_last_hangs("resnet34", 6, channels_last=True)  # hung in 2 of 3 tries on a Zen 3
    assert not E.narrow_channels_last_hangs("resnet34", 8, channels_last=True)
    assert not E.narrow_channels_last_hangs("cifar_resnet20", 4, channels_last=True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert not E.narrow_channels_last_hangs("resnet34", 4, channels_last=True)


@pytest.mark.parametrize("config", [None, T.TrainConfig(batch_size=8)], ids=["plain loop", "the loop's settings"])
def test_seconds_per_step_times_a_copy_and_leaves_the_run_alone(config, one_thread):
    model = tiny_model()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    random_state = torch.get_rng_state()
    seconds = E.seconds_per_step(model, 8, torch.device("cpu"), config)
    assert 0 < seconds < 60
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())  # BN statistics too
    assert torch.equal(random_state, torch.get_rng_state())  # the notebook's random stream is not consumed


# --------------------------------------------------------------------------- runs you can trust (issue 25)

def _cli(image_folder, *extra: str) -> list[str]:
    root, _ = image_folder
    return ["--model", "resnet18", "--width", NARROW, "--batch-size", "8", "--epochs", "1", "--data", str(root),
            "--no-progress", *extra]


def _refused(argv, capsys) -> str:
    """Run the command line expecting a usage error; return its one error line."""
    with pytest.raises(SystemExit) as exit_:
        E.resnet34_main(argv)
    assert exit_.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("python -m helpers.experiments resnet34: error: "), errors
    return errors[0]


@pytest.fixture
def no_data_loading(monkeypatch):
    """Refusals come before the data is read (and so before anything trains)."""
    monkeypatch.setattr(E, "cifar10_loaders", lambda *a, **k: pytest.fail("loaded the data before refusing"))


def test_save_result_refuses_to_overwrite_before_training_unless_asked(image_folder, tmp_path, capsys, monkeypatch):
    (tmp_path / "results").mkdir()
    monkeypatch.setenv("RESNET_RESULTS_DIR", str(tmp_path / "results"))
    committed = tmp_path / "results" / "resnet34_cifar10_cpu.json"
    committed.write_text('{"the": "real run"}')
    with monkeypatch.context() as m:
        m.setattr(E, "cifar10_loaders", lambda *a, **k: pytest.fail("loaded the data before refusing"))
        line = _refused(_cli(image_folder, "--save", "resnet34_cifar10_cpu"), capsys)
    assert "argument --save:" in line and "already exists" in line and "--overwrite" in line
    assert committed.read_text() == '{"the": "real run"}'
    E.resnet34_main(_cli(image_folder, "--save", "resnet34_cifar10_cpu", "--overwrite"))
    assert json.loads(committed.read_text())["data"]["model"] == "resnet18"


@pytest.mark.parametrize("extra, expected", [
    (["--epochs", "0"], "argument --epochs: epochs must be a positive int, got 0"),
    (["--batch-size", "-1"], "argument --batch-size: batch_size must be a positive int, got -1"),
    (["--lr", "0"], "argument --lr: lr must be a positive number"),
    (["--model", "cifar_resnet"], "argument --model: model must be one of"),
    (["--model", "cifar_resnet21"], "argument --model: depth must be 6n+2"),
    (["--width", "0"], "argument --width: width must be a positive int, got 0"),
    (["--seed", "-1"], "argument --seed: seed must be an int >= 0"),
    (["--resume"], "argument --resume: needs --checkpoint FILE"),
    (["--save", "../up"], "argument --save: name must be a plain file stem"),
])
def test_every_argument_error_is_one_line_naming_the_option(image_folder, capsys, no_data_loading, extra, expected):
    assert expected in _refused(_cli(image_folder, *extra), capsys)


@pytest.mark.parametrize("variable, value, expected", [
    ("RESNET_DEVICE", "gpu", "RESNET_DEVICE must be one of cpu, cuda, cuda:N, mps"),
    ("RESNET_THREADS", "99", "RESNET_THREADS=99 is more than"),
    ("RESNET_RESULTS_DIR", "/no/such/folder", "RESNET_RESULTS_DIR='/no/such/folder' is not an existing folder"),
])
def test_a_bad_environment_variable_is_one_line_naming_it(image_folder, capsys, no_data_loading, monkeypatch,
                                                          variable, value, expected):
    from helpers import runtime

    monkeypatch.setattr(runtime, "available_cores", lambda: 2)
    monkeypatch.setenv(variable, value)
    runtime.pick_device.cache_clear()
    try:
        assert expected in _refused(_cli(image_folder, "--save", "x"), capsys)
    finally:
        runtime.pick_device.cache_clear()


def test_a_garbage_checkpoint_is_one_line_naming_it(image_folder, tmp_path, capsys, no_data_loading):
    garbage = tmp_path / "run.pt"
    garbage.write_text("garbage\n")
    line = _refused(_cli(image_folder, "--checkpoint", str(garbage), "--resume"), capsys)
    assert f"argument --checkpoint: checkpoint {garbage} cannot be read as a checkpoint" in line


def test_missing_data_on_the_command_line_says_data_not_root(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        E.resnet34_main(["--data", str(tmp_path / "nowhere"), "--width", NARROW, "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"--data points to '{tmp_path / 'nowhere'}', which is not an existing" in err
    assert "(or pass --data=DIR)" in err and "root=" not in err and "root points" not in err


def test_width_acts_on_cifar_resnets(image_folder, capsys):
    E.resnet34_main(_cli(image_folder, "--model", "cifar_resnet20", "--width", "8"))
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["width"] == 8 and result["params"] == sum(p.numel() for p in cifar_resnet(20, width=8).parameters())
    assert E.build_model("cifar_resnet20").conv1.out_channels == 16 == E.default_width("cifar_resnet20")
    assert E.build_model("resnet18").conv1.out_channels == 64


def test_a_diverged_run_exits_non_zero_and_its_json_says_so(image_folder, tmp_path, capsys, monkeypatch):
    (tmp_path / "results").mkdir()
    monkeypatch.setenv("RESNET_RESULTS_DIR", str(tmp_path / "results"))
    with pytest.raises(SystemExit) as exit_:
        E.resnet34_main(_cli(image_folder, "--lr", "1e9", "--epochs", "3", "--save", "blown"))
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert exit_.value.code == 1 and "training diverged in epoch 1" in captured.err
    assert result["diverged"] is True and result["epochs"] == 1 and result["epochs_asked"] == 3
    from helpers.results import load_result

    saved = load_result("blown")["data"]
    assert saved["diverged"] is True and saved["history"]["train_loss"] == [None]


def test_a_checkpoint_of_another_network_is_refused_naming_each_field(image_folder, tmp_path, capsys):
    checkpoint = tmp_path / "run.pt"
    E.resnet34_main(_cli(image_folder, "--checkpoint", str(checkpoint)))
    capsys.readouterr()
    state = torch.load(checkpoint, weights_only=False)
    assert state["identity"] == {"model": "resnet18", "width": 8, "plain": False, "stem": "cifar",
                                 "batch_norm": True, "num_classes": 10}
    line = _refused(_cli(image_folder, "--checkpoint", str(checkpoint), "--resume", "--epochs", "2", "--plain"), capsys)
    assert "holds another network (plain False there, True here)" in line
    line = _refused(_cli(image_folder, "--checkpoint", str(checkpoint), "--resume", "--model", "resnet34",
                         "--width", "16"), capsys)
    assert "model 'resnet18' there, 'resnet34' here; width 8 there, 16 here" in line


def test_a_checkpoint_without_a_record_resumes_when_its_layers_fit(tmp_path):
    """Checkpoints written before they recorded their network (the degradation runs' own) still resume; a
    different depth is refused with a one-line summary instead of hundreds of state-dict keys."""
    train, test = loaders()
    config = T.TrainConfig(epochs=2, batch_size=16, lr=0.05)
    checkpoint = tmp_path / "old.pt"
    identity = {"model": "cifar_resnet", "depth": 8}
    T.fit(tiny_model(), train, test, T.TrainConfig(epochs=1, batch_size=16, lr=0.05), checkpoint=checkpoint,
          progress=False, identity=identity)
    state = torch.load(checkpoint, weights_only=False)
    del state["identity"], state["threads"]
    torch.save(state, checkpoint)
    with pytest.raises(ValueError) as refused:
        T.fit(cifar_resnet(14, width=4), train, test, config, checkpoint=checkpoint, progress=False,
              identity={"model": "cifar_resnet", "depth": 14})
    message = str(refused.value)
    assert "\n" not in message and len(message) < 400
    assert "holds another network" in message and "of this model's tensors are not in it" in message
    history = T.fit(tiny_model(), train, test, config, checkpoint=checkpoint, progress=False, identity=identity)
    assert history.epoch == [1, 2]


def test_a_fresh_run_refuses_to_replace_a_checkpoint(image_folder, tmp_path, capsys, monkeypatch):
    checkpoint = tmp_path / "run.pt"
    E.resnet34_main(_cli(image_folder, "--checkpoint", str(checkpoint)))
    before = checkpoint.read_bytes()
    with monkeypatch.context() as m:
        m.setattr(E, "cifar10_loaders", lambda *a, **k: pytest.fail("loaded the data before refusing"))
        line = _refused(_cli(image_folder, "--checkpoint", str(checkpoint)), capsys)
    assert "already exists; pass --resume to continue it, or --overwrite to start over" in line
    assert checkpoint.read_bytes() == before
    E.resnet34_main(_cli(image_folder, "--checkpoint", str(checkpoint), "--overwrite", "--seed", "1"))
    assert "Resuming" not in capsys.readouterr().out
    assert torch.load(checkpoint, weights_only=False)["config"]["seed"] == 1


def test_an_unwritable_checkpoint_is_refused_before_training(tmp_path, image_folder, capsys, no_data_loading):
    train, test = loaders()
    config = T.TrainConfig(epochs=1, batch_size=16, lr=0.05)
    (tmp_path / "a_file").write_text("")
    for bad, words in ((tmp_path, "is a directory"), (tmp_path / "a_file" / "run.pt", "cannot be written")):
        with pytest.raises(ValueError, match=f"checkpoint {bad} {words}"):
            T.fit(tiny_model(), train, test, config, checkpoint=bad, progress=False,
                  on_epoch_end=lambda h: pytest.fail("trained before refusing"))
        assert f"argument --checkpoint: checkpoint {bad} {words}" in _refused(_cli(image_folder, "--checkpoint",
                                                                                   str(bad)), capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "cifar-folder"]  # no .tmp, no probe left


def test_a_failed_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(T.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        T.save_checkpoint(tmp_path / "run.pt", epoch=0)
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_prints_one_line_with_the_command_that_resumes(image_folder, tmp_path, capsys, monkeypatch):
    import shlex

    checkpoint = tmp_path / "run.pt"
    real_epoch, calls = T.train_epoch, []

    def interrupted_in_epoch_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(T, "train_epoch", interrupted_in_epoch_2)
    with pytest.raises(SystemExit) as exit_:
        E.resnet34_main(_cli(image_folder, "--checkpoint", str(checkpoint), "--epochs", "2"))
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 130 and len(err) == 1
    assert err[0].startswith(f"stopped (Ctrl-C); {checkpoint} holds 1 epoch(s); to resume: python -m helpers.experiments resnet34 ")
    command = err[0].split("to resume: ")[1]
    assert command.endswith("--resume")
    E.resnet34_main(shlex.split(command)[4:])  # the printed command, run: it continues from epoch 1
    assert "1 of 2 epochs done" in capsys.readouterr().out


def test_a_run_that_saves_a_result_keeps_one_thread_count_and_records_it(image_folder, tmp_path, capsys,
                                                                           monkeypatch):
    """The README's Seeds bullet: the thread policy may change the count while a run trains (another summation
    order, other last bits), except in a run that saves a result, which holds the count chosen at its start."""
    from helpers import runtime
    from helpers.results import load_result

    threads = torch.get_num_threads()
    (tmp_path / "results").mkdir()
    monkeypatch.setenv("RESNET_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.delenv("RESNET_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runtime, "_DEFAULT_THREADS", 2)
    monkeypatch.setattr(runtime, "_applied", threads)
    monkeypatch.setattr(runtime, "_CHECK_EVERY_S", 0.0)  # the policy checks before every step
    monkeypatch.setattr(runtime, "available_cores", lambda: 2)
    load = iter([0.0, 1.0] * 1000)  # another process takes a core, leaves it, takes it...
    monkeypatch.setattr(runtime, "busy_cores_elsewhere", lambda: next(load))
    seen = []
    real_step = T.train_step
    monkeypatch.setattr(T, "train_step", lambda *a: seen.append(torch.get_num_threads()) or real_step(*a))
    try:
        E.resnet34_main(_cli(image_folder, "--epochs", "2"))
        assert len(set(seen)) == 2  # without a saved result the count follows the load
        seen.clear()
        E.resnet34_main(_cli(image_folder, "--epochs", "2", "--save", "held"))
        assert len(set(seen)) == 1 and load_result("held")["threads"] == seen[0]
    finally:
        torch.set_num_threads(threads)



def test_resuming_at_another_thread_count_says_the_weights_will_differ(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(T, "adapt_threads", lambda force=True: torch.get_num_threads())  # the counts set here
    threads = torch.get_num_threads()
    checkpoint = tmp_path / "run.pt"

    def stop(history):
        raise Interrupt

    try:
        torch.set_num_threads(1)
        train, test = loaders()
        with pytest.raises(Interrupt):
            T.fit(tiny_model(), train, test, T.TrainConfig(epochs=2, batch_size=16, lr=0.05), checkpoint=checkpoint,
                  progress=False, on_epoch_end=stop)
        assert torch.load(checkpoint, weights_only=False)["threads"] == 1
        torch.set_num_threads(2)
        T.fit(tiny_model(), train, test, T.TrainConfig(epochs=2, batch_size=16, lr=0.05), checkpoint=checkpoint,
              progress=False)
        assert "written with 1 CPU threads, this process has 2" in capsys.readouterr().out
        T.fit(tiny_model(), train, test, T.TrainConfig(epochs=2, batch_size=16, lr=0.05), checkpoint=checkpoint,
              progress=False)  # finished: nothing left to train, nothing to warn about
        assert "CPU threads" not in capsys.readouterr().out
    finally:
        torch.set_num_threads(threads)
