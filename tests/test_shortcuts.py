"""helpers.shortcuts, checked against the plain ways of computing the same numbers."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers import shortcuts
from helpers.models import cifar_resnet


def _trained_like(depth=8, residual=True, seed=0):
    """A CIFAR net with random weights and random batch-norm statistics (eval mode then does something)."""
    torch.manual_seed(seed)
    model = cifar_resnet(depth, residual=residual)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
    return model.eval()


def _data(n=40, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=generator), torch.randint(0, 10, (n,), generator=generator)


def test_blocks_and_downsampling_name_the_state_dict_entries(one_thread):
    model = cifar_resnet(20)
    names = [name for name, _ in shortcuts.blocks(model)]
    assert names == [f"layer{s}.{i}" for s in (1, 2, 3) for i in range(3)]
    assert shortcuts.downsampling(model) == ["layer2.0", "layer3.0"]
    with pytest.raises(TypeError, match="model must be a helpers.models.ResNet"):
        shortcuts.blocks(nn.Linear(2, 2))


def test_a_lesioned_block_computes_its_shortcut_and_is_restored(one_thread):
    model = _trained_like()
    x, _ = _data(4)
    before = [id(block) for _, block in shortcuts.blocks(model)]
    with torch.no_grad():
        h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        expected = model.layer1(h)  # layer1.0 deleted: the identity, then the intact layer1.1 ... (n=1: nothing)
        expected = model.layer3(model.layer2[0].downsample(expected))  # layer2.0 deleted: subsample and pad
        expected = model.fc(torch.flatten(model.avgpool(expected), 1))
        with shortcuts.lesioned(model, ["layer2.0"]):
            got = model(x)
    torch.testing.assert_close(got, expected)
    assert [id(block) for _, block in shortcuts.blocks(model)] == before
    with pytest.raises(ValueError, match="names must be blocks of the model"), shortcuts.lesioned(model, ["layer9.0"]):
        pass


def test_a_deleted_projection_block_keeps_the_blocks_relu(one_thread):
    """Option B's shortcut ends in batch norm, so it can be negative: a block with its branch set to zero
    outputs relu(projection(x)), and lesion_errors agrees with evaluating the lesioned net."""
    from helpers.models import resnet

    torch.manual_seed(0)
    model = resnet(18, num_classes=10, stem="cifar", width=4).eval()
    block = model.layer2[0]
    x = torch.rand(3, 4, 8, 8)
    with torch.no_grad():
        projected = block.downsample(x)
        assert (projected < 0).any()
        torch.testing.assert_close(shortcuts.Lesioned(block)(x), torch.relu(projected))
        images, labels = _data(20)
        with shortcuts.lesioned(model, ["layer2.0", "layer4.1"]):
            expected = (model(images).argmax(1) != labels).float().mean().item()
    got = shortcuts.lesion_errors(model, images, labels, [["layer2.0", "layer4.1"]], batch_size=7)
    assert got[0] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("residual", [True, False])
def test_lesion_errors_equal_evaluating_each_lesioned_net(residual, one_thread):
    model = _trained_like(depth=20, residual=residual)
    images, labels = _data(60)
    candidates = [name for name, _ in shortcuts.blocks(model) if name not in shortcuts.downsampling(model)]
    assert len(candidates) == 7
    lesions = [[], ["layer1.0"], ["layer3.2"], ["layer2.1", "layer1.1"], *shortcuts.random_lesions(candidates, 4, 3)]
    if residual:
        lesions.append(["layer2.0", "layer3.0"])
    got = shortcuts.lesion_errors(model, images, labels, lesions, batch_size=25)
    for lesion, error in zip(lesions, got, strict=True):
        with torch.no_grad(), shortcuts.lesioned(model, lesion):
            expected = (model(images).argmax(1) != labels).float().mean().item()
        assert error == pytest.approx(expected, abs=1e-6), lesion
    with pytest.raises(ValueError, match="lesions must name blocks"):
        shortcuts.lesion_errors(model, images, labels, [["fc"]])
    if not residual:
        assert shortcuts.downsampling(model) == ["layer2.0", "layer3.0"]
        with pytest.raises(ValueError, match="changes the shape and has no shortcut"):
            shortcuts.lesion_errors(model, images, labels, [["layer2.0"]])


def test_random_lesions_are_distinct_seeded_and_bounded():
    names = [f"b{i}" for i in range(6)]
    draws = shortcuts.random_lesions(names, 2, 10, seed=3)
    assert len(draws) == 10 and all(len(d) == 2 for d in draws)
    assert len({tuple(d) for d in draws}) == 10
    assert draws == shortcuts.random_lesions(names, 2, 10, seed=3) != shortcuts.random_lesions(names, 2, 10, seed=4)
    assert len(shortcuts.random_lesions(names, 6, 5)) == 1  # only one way to delete all six
    with pytest.raises(ValueError, match="k must be an int between 0 and 6"):
        shortcuts.random_lesions(names, 7, 1)


def test_path_counts_are_binomial():
    counts = shortcuts.path_counts(27)
    assert sum(counts) == 2**27 and counts[0] == counts[27] == 1 and counts[13] == math.comb(27, 13)
    assert max(range(28), key=counts.__getitem__) in (13, 14)
    with pytest.raises(ValueError, match="n must be"):
        shortcuts.path_counts(-1)


def test_the_paths_gradients_add_up_to_the_input_gradient(one_thread):
    import itertools

    model = _trained_like(depth=8).double()  # 3 blocks: 8 paths
    images, labels = _data(6)
    images = images.double()
    total = sum(shortcuts.input_gradient_along(model, list(routing), images, labels)
                for routing in itertools.product([False, True], repeat=3))
    x = images.clone().requires_grad_(True)
    nn.functional.cross_entropy(model(x), labels, reduction="sum").backward()
    torch.testing.assert_close(total, x.grad)
    only_shortcuts = shortcuts.input_gradient_along(model, [False] * 3, images, labels)
    assert 0 < only_shortcuts.norm() < x.grad.norm() * 10
    means = shortcuts.gradient_by_path_length(model, images, labels, samples=5)
    assert len(means) == 4 and all(m > 0 for m in means)
    with pytest.raises(ValueError, match="only a residual block has two routes"):
        shortcuts.input_gradient_along(_trained_like(depth=8, residual=False), [True] * 3, images.float(), labels)


def test_filter_normalised_direction_matches_each_filters_norm(one_thread):
    model = _trained_like()
    direction = shortcuts.filter_normalised_direction(model, torch.Generator().manual_seed(0))
    for (name, weight), d in zip(model.named_parameters(), direction, strict=True):
        assert d.shape == weight.shape
        if weight.dim() == 1:
            assert not d.any(), f"{name}: biases and batch-norm parameters stay put"
        else:
            for w_filter, d_filter in zip(weight, d, strict=True):
                assert d_filter.norm().item() == pytest.approx(w_filter.norm().item(), rel=1e-5)


def test_loss_on_grid_moves_the_weights_and_restores_them(one_thread):
    model = _trained_like()
    images, labels = _data(30)
    generator = torch.Generator().manual_seed(0)
    d1 = shortcuts.filter_normalised_direction(model, generator)
    d2 = shortcuts.filter_normalised_direction(model, generator)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    losses = shortcuts.loss_on_grid(model, [d1, d2], [(0, 0), (0.3, -0.2)], images, labels, batch_size=7)
    moved = _trained_like()
    with torch.no_grad():
        for p, a, b in zip(moved.parameters(), d1, d2, strict=True):
            p += 0.3 * a - 0.2 * b
        expected = [nn.functional.cross_entropy(m(images), labels).item() for m in (model, moved)]
    assert losses == pytest.approx(expected, rel=1e-5)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="each coordinate needs 2 numbers"):
        shortcuts.loss_on_grid(model, [d1, d2], [(0,)], images, labels)


def test_power_iteration_finds_the_top_eigenvalue_of_the_explicit_hessian(one_thread):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    images = torch.randn(20, 3, 2, 2, dtype=torch.float64)
    labels = torch.randint(0, 3, (20,))
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])

    def loss(vector):
        tensors, offset = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            tensors[name] = vector[offset:offset + shape.numel()].view(shape)
            offset += shape.numel()
        return nn.functional.cross_entropy(torch.func.functional_call(model, tensors, (images,)), labels)

    eigenvalues = torch.linalg.eigvalsh(torch.func.hessian(loss)(flat))
    top = eigenvalues[eigenvalues.abs().argmax()].item()
    got = shortcuts.top_hessian_eigenvalue(model, images, labels, iterations=300, batch_size=8)
    assert got == pytest.approx(top, rel=1e-4)


def test_lesion_study_and_landscape_are_json_ready_and_plot(one_thread):
    import json

    images, labels = _data(20)
    studies = {}
    for residual in (True, False):
        model = _trained_like(depth=8, residual=residual)
        study = shortcuts.lesion_study(model, images, labels, max_k=3, draws=2, batch_size=7)
        with torch.no_grad(), shortcuts.lesioned(model, ["layer1.0"]):
            expected = (model(images).argmax(1) != labels).float().mean().item()
        assert study["single"]["layer1.0"] == pytest.approx(expected, abs=1e-6)
        assert study["downsampling"] == ["layer2.0", "layer3.0"]
        assert (study["single"]["layer2.0"] is None) == (not residual)
        assert list(study["random"]) == ["1"]  # only one block of depth 8 keeps the shape
        studies["ResNet-8" if residual else "plain-8"] = json.loads(json.dumps(study))
    assert shortcuts.plot_lesions(studies).axes[0].get_ylabel() == "test error (%)"
    model = _trained_like(depth=8)
    ls = shortcuts.landscape(model, images, labels, steps=3, span=0.5, hessian_iterations=3)
    json.dumps(ls)
    assert len(ls["loss_2d"]) == 3 and all(len(row) == 3 for row in ls["loss_2d"])
    assert ls["loss_1d"][1] == pytest.approx(ls["loss_2d"][1][1], rel=1e-5)  # both pass through the weights
    assert ls["loss_1d"][1] == pytest.approx(nn.functional.cross_entropy(model(images), labels).item(), rel=1e-5)
    fig = shortcuts.plot_landscapes({"a": ls, "b": ls})
    assert len(fig.axes) == 4  # the 1-D slices, two contour plots, a shared colour bar


def test_command_line_saves_with_provenance_and_refuses_overwrites(tmp_path, monkeypatch, image_folder, capsys,
                                                                      one_thread):
    from helpers import experiments, pretrained
    from helpers.results import load_result
    from tests.test_pretrained import _finished_run

    (tmp_path / "results").mkdir()
    monkeypatch.setenv("RESNET_RESULTS_DIR", str(tmp_path / "results"))
    checkpoints, _ = _finished_run(tmp_path, nets=("ResNet-20", "plain-20"))
    pretrained.export(checkpoints, "run", "export")
    root, _ = image_folder
    common = ["--nets", "resnet20", "plain20", "--data", str(root), "--no-progress"]
    experiments.main(["lesions", *common, "--max-k", "2", "--draws", "2", "--save", "lesions"])
    saved = load_result("lesions")
    assert saved["command"].startswith("python -m helpers.experiments lesions --nets resnet20 plain20")
    assert saved["data"]["images"] == 20 and set(saved["data"]["nets"]) == {"resnet20", "plain20"}
    assert saved["data"]["nets"]["plain20"]["single"]["layer2.0"] is None
    assert saved["data"]["nets"]["resnet20"]["record"]["seed"] == 1
    before = (tmp_path / "results" / "lesions.json").read_text()
    for argv in (["lesions", *common, "--save", "lesions"], ["landscape", "--nets", "resnet110"],
                 ["landscape", *common, "--steps", "1"]):
        with pytest.raises(SystemExit) as exit_info:
            shortcuts.main(argv)  # the spelling the saved results record still runs, and refuses alike
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --save:" in err and "lesions.json already exists" in err and "--overwrite" in err
    assert "name must be one of" in err and "--steps must be" in err
    assert (tmp_path / "results" / "lesions.json").read_text() == before
    experiments.main(["lesions", *common, "--max-k", "1", "--draws", "1", "--save", "lesions", "--overwrite"])
    assert load_result("lesions")["command"].endswith("--max-k 1 --draws 1 --save lesions --overwrite")
    data = shortcuts.main(["landscape", *common, "--steps", "2", "--images", "10", "--hessian-iterations", "2",
                           "--save", "landscape"])
    assert len(data["nets"]["plain20"]["loss_2d"]) == 2 and load_result("landscape")["data"]["images"] == 10
