"""The explorers' callbacks, called with several slider values, and the widgets around them."""
from __future__ import annotations

import matplotlib
import pytest

from helpers.convolution import conv_output_size
from helpers.widgets import (
    build_explorer,
    output_size_explorer,
    output_size_view,
    shattered_gradients_explorer,
    shattered_gradients_view,
    toggle,
    variance_explorer,
)

matplotlib.use("Agg")


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see conftest.one_thread


@pytest.mark.parametrize("h, k, s, p", [(7, 3, 2, 1), (8, 3, 2, 0), (16, 7, 1, 3), (5, 1, 4, 0), (1, 1, 1, 0)])
def test_output_size_view_numbers(h, k, s, p):
    fig, numbers = output_size_view(h, k, s, p)
    out = conv_output_size(h, k, s, p)
    assert numbers["output"] == out
    assert numbers["padded"] == h + 2 * p
    assert numbers["unused"] == (h + 2 * p - k) % s  # cells after the last window
    assert len(fig.axes) == 2 and f"= {out}" in fig._suptitle.get_text()


def test_output_size_view_when_the_kernel_does_not_fit_and_bad_values():
    fig, numbers = output_size_view(2, 7, 1, 1)
    assert numbers["output"] == 0 and "does not fit" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="k must be"):
        output_size_view(5, 0, 1, 0)
    with pytest.raises(ValueError, match="p must be"):
        output_size_view(5, 3, 1, -1)


def test_output_size_explorer_redraws_on_slider_change():
    box = output_size_explorer(h=7, k=3, s=2, p=1)
    assert "explorer-output-size" in box._dom_classes
    assert [c.description for c in box.controls.values()] == ["H", "K", "S", "P"]
    assert all(c.continuous_update is False for c in box.controls.values())
    assert "output size 4" in box.numbers_line.value
    box.controls["s"].value = 1  # (7 + 2 - 3) / 1 + 1 = 7
    assert "output size 7" in box.numbers_line.value
    box.controls["h"].value = 1
    box.controls["k"].value = 7  # 7 > 1 + 2
    assert "no output" in box.numbers_line.value


def test_shattered_view_depth_residual_and_batch_norm():
    _, shallow = shattered_gradients_view(depth=1, batch_norm=True, n=128)
    _, plain = shattered_gradients_view(depth=30, batch_norm=True, n=128)
    fig, residual = shattered_gradients_view(depth=30, residual=True, batch_norm=True, n=128)
    assert len(fig.axes) == 2
    assert shallow["lag1"] > 0.9 and shallow["lag1"] == pytest.approx(shallow["lag1_depth1"])
    assert abs(plain["lag1"]) < 0.3  # shattered
    assert residual["lag1"] > plain["lag1"] + 0.4  # the shortcut keeps neighbours correlated
    assert plain["depth"] == 30


def test_shattered_view_init_scale():
    # Without batch norm the hidden layers of a plain net are positively homogeneous: the init scale
    # changes the size of the gradient (by scale^(depth - 1)) but not its shape.
    _, one = shattered_gradients_view(depth=10, init_scale=1.0, batch_norm=False, n=64)
    _, half = shattered_gradients_view(depth=10, init_scale=0.5, batch_norm=False, n=64)
    assert half["lag1"] == pytest.approx(one["lag1"], abs=1e-9)
    assert half["grad_std"] / one["grad_std"] == pytest.approx(0.5**9, rel=1e-6)
    # In a residual stack without batch norm it is the branch scale: bigger branches, bigger activations.
    _, small = shattered_gradients_view(depth=20, init_scale=0.2, residual=True, batch_norm=False, n=64)
    _, big = shattered_gradients_view(depth=20, init_scale=1.5, residual=True, batch_norm=False, n=64)
    assert big["activation_std"] > 100 * small["activation_std"]
    with pytest.raises(ValueError, match="depth"):
        shattered_gradients_view(depth=0)
    with pytest.raises(ValueError, match="init_scale"):
        shattered_gradients_view(depth=3, init_scale=0.0)


def test_shattered_explorer_controls_and_redraw():
    box = shattered_gradients_explorer(depth=2, batch_norm=True)
    assert "explorer-shattered" in box._dom_classes
    assert [c.description for c in box.controls.values()] == ["depth", "init scale", "residual: off",
                                                               "batch norm: on"]
    assert box.controls["depth"].continuous_update is False
    assert box.controls["init_scale"].continuous_update is False
    before = box.numbers_line.value
    assert "lag-1 correlation" in before
    box.controls["depth"].value = 25
    after = box.numbers_line.value
    assert after != before
    box.controls["residual"].value = True
    assert box.numbers_line.value != after
    numbers = box.redraw()
    assert numbers["depth"] == 25


def test_a_toggle_says_on_or_off_in_words_colour_and_icon():
    button = toggle("residual", False, "tip")
    assert (button.description, button.button_style, button.icon) == ("residual: off", "", "")
    button.value = True
    assert (button.description, button.button_style, button.icon) == ("residual: on", "success", "check")
    button.value = False
    assert (button.description, button.button_style, button.icon) == ("residual: off", "", "")


@pytest.mark.parametrize("explorer", [shattered_gradients_explorer, variance_explorer])
def test_explorer_toggles_show_their_state(explorer):
    box = explorer(depth=3, residual=False, batch_norm=True)
    residual, batch_norm = box.controls["residual"], box.controls["batch_norm"]
    assert (residual.description, residual.button_style) == ("residual: off", "")
    assert (batch_norm.description, batch_norm.button_style) == ("batch norm: on", "success")
    before = box.numbers_line.value
    residual.value = True
    assert (residual.description, residual.button_style, residual.icon) == ("residual: on", "success",
                                                                             "check")
    assert box.numbers_line.value != before  # and the explorer redrew


def test_build_explorer_rejects_bad_names():
    with pytest.raises(ValueError, match="name"):
        build_explorer("bad name!", {}, lambda: None, str)


@pytest.mark.parametrize("explorer", [lambda: output_size_explorer(h=9), lambda: shattered_gradients_explorer(depth=4),
                                      lambda: variance_explorer(depth=5)])
def test_static_explorers_create_no_widget_and_show_the_first_state(explorer, monkeypatch, capsys):
    from ipywidgets.widgets import widget

    monkeypatch.setenv("RESNET_STATIC_EXPLORERS", "1")
    before = set(widget._instances)
    assert explorer() is None
    assert set(widget._instances) == before  # no widget, so no comm message
    shown = capsys.readouterr().out  # outside a notebook, display() prints each output's text form
    assert "Image" in shown and "HTML" in shown
    monkeypatch.setenv("RESNET_STATIC_EXPLORERS", "maybe")
    with pytest.raises(ValueError, match="RESNET_STATIC_EXPLORERS must be one of 1/true/yes/on/0/false/no/off"):
        explorer()
    monkeypatch.setenv("RESNET_STATIC_EXPLORERS", "0")
    assert explorer() is not None
