"""Tests of helpers.variance (the activation-variance stack and the ResNet diagnostics) and of the
variance explorer widget in helpers.widgets."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from helpers.models import resnet18
from helpers.variance import (
    StackConfig,
    VarianceStack,
    format_stage_table,
    measure_stack,
    plot_stage_statistics,
    plot_update_ratios,
    predicted_std,
    stack_input,
    stage_statistics,
)
from helpers.widgets import variance_view

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see conftest.one_thread


# --------------------------------------------------------------------------- the stack and its laws

def test_block_is_the_written_formula():
    """A residual block without BN computes x + b * conv2(relu(conv1(relu(x)))), circular padding."""
    config = StackConfig(depth=2, branch_scale=0.5, batch_size=3)
    stack = VarianceStack(config)
    x = stack_input(config)
    outputs = stack(x)
    block = stack.blocks[0]

    def conv(layer, t):
        return nn.functional.conv2d(nn.functional.pad(t, (1, 1, 1, 1), mode="circular"), layer.weight)

    expected = x + 0.5 * conv(block.conv2, torch.relu(conv(block.conv1, torch.relu(x))))
    torch.testing.assert_close(outputs[1], expected)
    plain = VarianceStack(StackConfig(depth=1, residual=False, seed=config.seed))
    torch.testing.assert_close(plain(x)[1], (expected - x) / 0.5)


def test_weights_are_he_init_times_gain_and_do_not_depend_on_depth():
    short = VarianceStack(StackConfig(depth=3, gain=1.5, seed=4))
    long = VarianceStack(StackConfig(depth=60, gain=1.5, seed=4))
    for a, b in zip(short.blocks, long.blocks, strict=False):  # the first 3 of 60
        torch.testing.assert_close(a.conv1.weight, b.conv1.weight)
    weights = torch.cat([p.flatten() for b in long.blocks for p in (b.conv1.weight, b.conv2.weight)])
    expected = 1.5 * (2 / (16 * 9)) ** 0.5
    assert abs(weights.std().item() / expected - 1) < 0.02


def test_same_seed_same_numbers_other_seed_other_numbers():
    a = measure_stack(depth=10, seed=3)
    b = measure_stack(depth=10, seed=3)
    c = measure_stack(depth=10, seed=4)
    np.testing.assert_array_equal(a.std, b.std)
    assert not np.allclose(a.std, c.std)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unnormalised_residual_stack_grows_every_block_near_the_predicted_rate(seed):
    stats = measure_stack(depth=30, residual=True, batch_norm=False, seed=seed)
    # Var(x + F(x)) = Var(x) + Var(F) + 2 Cov(x, F): the covariance is zero only on average over
    # weights, so one unlucky block may shrink the std a little; nearly all of them grow it.
    assert np.mean(np.diff(stats.std) > 0) >= 0.9, "the std should grow in (nearly) every block"
    assert stats.predicted_growth_per_block == pytest.approx(2**0.5)
    # A 16-channel network lands a little below the expected value (see predicted_std); well above 1.2.
    assert 1.2 < stats.growth_per_block < 1.45
    assert stats.regime == "exponential" and stats.verdict == "explodes"


@pytest.mark.parametrize("gain,scale", [(1.0, 1.0), (1.5, 0.5), (0.6, 1.5)])
def test_bn_inside_the_branch_grows_the_variance_linearly(gain, scale):
    stats = measure_stack(depth=40, residual=True, batch_norm=True, bn_position="branch", gain=gain,
                          branch_scale=scale)
    var = stats.std**2
    slope, intercept = np.polyfit(np.arange(len(var)), var, 1)
    fit = slope * np.arange(len(var)) + intercept
    r2 = 1 - ((var - fit) ** 2).sum() / ((var - var.mean()) ** 2).sum()
    assert r2 > 0.98, f"variance vs block should be a straight line, R^2 = {r2:.3f}"
    assert slope == pytest.approx(scale**2 * gain**2, rel=0.15)
    assert stats.variance_step == pytest.approx(scale**2 * gain**2, rel=0.15)
    assert stats.regime == "linear"


def test_bn_after_the_add_keeps_unit_std():
    stats = measure_stack(depth=25, residual=True, batch_norm=True, bn_position="after_add", gain=2.0)
    np.testing.assert_allclose(stats.std[1:], 1.0, rtol=0.01)
    assert stats.regime == "constant" and stats.verdict == "stays"


def test_plain_nets_vanish_or_explode_with_the_gain():
    small = measure_stack(depth=40, residual=False, gain=0.7)
    large = measure_stack(depth=40, residual=False, gain=1.4)
    assert small.std[-1] < 1e-8 and small.verdict == "vanishes"
    assert large.std[-1] > 1e8 and large.verdict == "explodes"
    # The theory's per-block factor is gain**2 for the std; the measured one is close to it.
    assert small.growth_per_block == pytest.approx(0.49, rel=0.2)
    assert large.growth_per_block == pytest.approx(1.96, rel=0.2)
    with_bn = measure_stack(depth=40, residual=False, gain=1.4, batch_norm=True)
    assert 0.5 < with_bn.std[-1] / 1.4 < 2


def test_predicted_std_formulas():
    def pred(**kw):
        return predicted_std(StackConfig(**kw))

    np.testing.assert_allclose(pred(depth=4, residual=True, gain=1.0), np.sqrt(2.0 ** np.arange(5)))
    np.testing.assert_allclose(pred(depth=3, residual=True, batch_norm=True, gain=2.0, branch_scale=0.5),
                               np.sqrt(1 + np.arange(4) * 1.0))
    np.testing.assert_allclose(pred(depth=3, residual=False, gain=0.5), 0.25 ** np.arange(4))
    np.testing.assert_allclose(pred(depth=3, residual=False, batch_norm=True, gain=1.5), [1, 1.5, 1.5, 1.5])
    np.testing.assert_allclose(pred(depth=3, batch_norm=True, bn_position="after_add"), 1.0)


def test_huge_values_do_not_overflow_and_rescaling_changes_nothing():
    stats = measure_stack(depth=100, residual=False, gain=2.0, batch_size=2)
    assert np.isfinite(stats.std).all() and stats.std[-1] > 1e50
    # measure_stack rescales between blocks; a plain float64 forward pass gives the same numbers.
    config = StackConfig(depth=30, gain=1.3, residual=True, batch_size=4)
    outputs = VarianceStack(config).double()(stack_input(config).double())
    np.testing.assert_allclose(measure_stack(config).std, [o.std().item() for o in outputs], rtol=1e-4)


def test_histograms_of_first_middle_last_block():
    stats = measure_stack(depth=9, batch_size=4)
    assert sorted(stats.histograms) == [1, 5, 9]
    assert all(len(v) == 4 * 16 * 8 * 8 for v in stats.histograms.values())
    assert sorted(measure_stack(depth=1, batch_size=2).histograms) == [1]


@pytest.mark.parametrize("kwargs,error", [
    (dict(depth=0), ValueError), (dict(depth=101), ValueError), (dict(depth=2.5), ValueError),
    (dict(gain=0.0), ValueError), (dict(gain="1"), TypeError), (dict(branch_scale=-1.0), ValueError),
    (dict(batch_size=0), ValueError), (dict(batch_size=65), ValueError), (dict(residual="yes"), TypeError), (dict(batch_norm=1), TypeError),
    (dict(bn_position="before"), ValueError),
])
def test_bad_settings_name_the_argument(kwargs, error):
    name = next(iter(kwargs))
    with pytest.raises(error, match=name):
        StackConfig(**kwargs)


def test_measure_stack_rejects_config_and_keywords_together():
    with pytest.raises(TypeError, match="either"):
        measure_stack(StackConfig(), depth=3)
    with pytest.raises(TypeError, match="config"):
        measure_stack({"depth": 3})


# --------------------------------------------------------------------------- the explorer's callback

@pytest.mark.parametrize("settings", [
    dict(),
    dict(depth=1, residual=False),
    dict(depth=60, gain=1.8, residual=False),
    dict(depth=20, batch_norm=True, bn_position="after_add", batch_size=2),
    dict(depth=100, gain=2.0, branch_scale=2.0, batch_size=1),
    dict(depth=100, batch_norm=True, gain=2.0, branch_scale=2.0, batch_size=64),
    dict(depth=10, branch_scale=0.0),
])
def test_variance_view_returns_a_figure_and_the_measured_numbers(settings):
    fig, numbers = variance_view(**settings)
    assert isinstance(fig, Figure)
    top = fig.axes[0]
    assert top.get_yscale() == "log" and top.get_title() and top.get_xlabel() and top.get_ylabel()
    depth = settings.get("depth", 30)
    assert len(fig.axes) == 1 + len({1, max(1, (depth + 1) // 2), depth})
    assert len(numbers["std"]) == depth + 1
    measured = top.get_lines()[0].get_ydata()
    np.testing.assert_allclose(measured, numbers["std"])
    assert numbers["final_std"] == numbers["std"][-1]
    assert f"{numbers['final_std']:.3g}" in numbers["summary"]
    assert numbers["verdict"] in numbers["summary"]


def test_zero_branch_scale_is_the_identity():
    _, numbers = variance_view(depth=10, branch_scale=0.0)
    np.testing.assert_allclose(numbers["std"], numbers["std"][0])


# --------------------------------------------------------------------------- real networks

def _small_resnet():
    torch.manual_seed(0)
    return resnet18(num_classes=10, stem="cifar", width=4)


def test_stage_statistics_match_hand_made_hooks_and_leave_the_model_alone():
    model = _small_resnet()
    x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    rows = stage_statistics(model, x, y)
    assert not model.training, "the mode is restored"
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k], msg=f"{k} changed")
    assert all(p.grad is None for p in model.parameters())
    assert [r.name for r in rows] == ["stem", "layer1", "layer2", "layer3", "layer4"]
    assert rows[-1].shape == (8, 32, 2, 2)

    # The same numbers by hand: forward in training mode, hooks on the stage outputs.
    acts, grads = {}, {}
    reference = _small_resnet().train()
    modules = {"stem": reference.maxpool, **{n: getattr(reference, n) for n in reference.stage_names}}

    def keep(name):
        def hook(module, inputs, output):
            acts[name] = output
            output.register_hook(lambda g: grads.__setitem__(name, g))
        return hook

    for name, module in modules.items():
        module.register_forward_hook(keep(name))
    nn.functional.cross_entropy(reference(x), y).backward()
    for row in rows:
        assert row.act_mean == pytest.approx(acts[row.name].mean().item(), rel=1e-5)
        assert row.act_std == pytest.approx(acts[row.name].std().item(), rel=1e-5)
        assert row.grad_std == pytest.approx(grads[row.name].std().item(), rel=1e-4)
    table = format_stage_table(rows, "title")
    assert table.splitlines()[0] == "title" and "layer4" in table


def test_stage_statistics_keeps_existing_gradients():
    model = _small_resnet()
    x, y = torch.randn(4, 3, 16, 16), torch.randint(0, 10, (4,))
    nn.functional.cross_entropy(model(x), y).backward()
    saved = model.fc.weight.grad.clone()
    stage_statistics(model, x, y)
    torch.testing.assert_close(model.fc.weight.grad, saved)


def test_stage_statistics_bad_input():
    model = _small_resnet()
    with pytest.raises(ValueError, match="images"):
        stage_statistics(model, torch.randn(3, 16, 16), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="labels"):
        stage_statistics(model, torch.randn(2, 3, 16, 16), torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="model"):
        stage_statistics(nn.Linear(3, 3), torch.randn(2, 3, 16, 16), torch.zeros(2, dtype=torch.long))


def test_plots_have_labels_and_check_shapes():
    import matplotlib.pyplot as plt

    model = _small_resnet()
    rows = stage_statistics(model, torch.randn(4, 3, 16, 16), torch.randint(0, 10, (4,)))
    fig = plot_stage_statistics(rows, rows)
    assert all(ax.get_xlabel() and ax.get_ylabel() and ax.get_title() for ax in fig.axes)
    plt.close(fig)
    fig = plot_update_ratios(np.full((5, 3), 1e-3), ["a", "b", "c"])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 4  # 3 layers + the 1e-3 line
    plt.close(fig)
    with pytest.raises(ValueError, match="ratios"):
        plot_update_ratios(np.ones((5, 2)), ["a", "b", "c"])


# --------------------------------------------------------------------------- the widget

def test_variance_explorer_widget():
    pytest.importorskip("ipywidgets")
    from helpers.widgets import variance_explorer

    box = variance_explorer(depth=12)
    assert "explorer-variance" in box._dom_classes
    controls = box.controls
    descriptions = {c.description.removesuffix(": on").removesuffix(": off") for c in controls.values()}
    assert {"depth", "init scale", "branch scale", "batch size", "residual", "batch norm", "BN position"} <= descriptions
    for control in controls.values():
        if hasattr(control, "continuous_update"):
            assert control.continuous_update is False
    first = box.numbers_line.value
    assert "explodes" in first or "grows" in first
    # (Outside a kernel the Output widget captures nothing, so the numbers line is what we check.)
    controls["batch_norm"].value = True
    controls["bn_position"].value = "after_add"
    assert box.numbers_line.value != first and "constant" in box.numbers_line.value
    controls["residual"].value = False
    controls["batch_norm"].value = False
    controls["gain"].value = 0.5
    assert "vanishes" in box.numbers_line.value


def test_variance_explorer_bad_input():
    pytest.importorskip("ipywidgets")
    from helpers.widgets import variance_explorer

    with pytest.raises(ValueError, match="depth"):
        variance_explorer(depth=0)
    with pytest.raises(ValueError, match="bn_position"):
        variance_explorer(bn_position="middle")
