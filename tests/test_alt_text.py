"""helpers.alt_text: a figure's alt text states what it plots and its real end values, from the figure's data."""
from __future__ import annotations

import base64

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers import alt_text  # noqa: E402
from helpers.degradation import plot_seeds  # noqa: E402


def two_curves() -> Figure:
    fig = Figure()
    ax = fig.subplots()
    ax.plot([1, 2, 3], [60.0, 55.0, 52.9], label="plain-56")
    ax.plot([1, 2, 3], [40.0, 25.0, 20.1], label="plain-20")
    ax.set(title="training error", xlabel="epoch", ylabel="error (%)")
    return fig


def test_describe_states_each_line_and_its_end_value():
    alt = alt_text.describe(two_curves())
    assert "training error" in alt and "epoch" in alt
    assert "plain-56 ends at 52.9%" in alt and "plain-20 ends at 20.1%" in alt


def test_describe_follows_the_data_not_a_template():
    fig = two_curves()
    fig.axes[0].lines[0].set_ydata([60.0, 55.0, 47.3])
    assert "plain-56 ends at 47.3%" in alt_text.describe(fig)


def test_the_saved_degradation_figure_states_every_nets_final_mean_error():
    runs = {"plain-20": {"epoch": [1, 2], "train_error": [0.4, 0.2], "test_error": [0.45, 0.25]},
            "plain-56": {"epoch": [1, 2], "train_error": [0.6, 0.5], "test_error": [0.62, 0.55]}}
    seeds = {"runs": [runs, {k: {**v, "train_error": [e + 0.02 for e in v["train_error"]]} for k, v in runs.items()}]}
    fig = plot_seeds(seeds, "degradation")
    alt = alt_text.alt_of(fig)
    plt.close(fig)  # a pyplot figure: leave none open for the next test
    assert "plain-56 ends at 51.0%" in alt and "plain-20 ends at 21.0%" in alt  # train error, mean of 2 seeds
    assert "plain-56 ends at 55.0%" in alt  # test error


def test_attached_alt_text_wins_and_bad_alt_is_refused():
    fig = alt_text.attach(two_curves(), "  depth 20:  std 1.0 ")
    assert alt_text.alt_of(fig) == "depth 20: std 1.0"
    with pytest.raises(ValueError, match="alt must be a non-empty string"):
        alt_text.attach(fig, " ")
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        alt_text.describe("not a figure")


class FakeShell:
    """Just enough of an IPython shell: the display formatter and the events register() uses."""

    def __init__(self):
        from IPython.core.formatters import DisplayFormatter

        self.display_formatter = DisplayFormatter()
        self.hooks = []

        class Events:
            def register(inner, name, function):
                self.hooks.append((name, function))

        self.events = Events()


def test_register_puts_the_alt_text_into_the_png_outputs_metadata():
    shell = FakeShell()
    assert alt_text.register(shell)
    data, metadata = shell.display_formatter.format(two_curves())
    assert base64.b64decode(data["image/png"])[:4] == b"\x89PNG"
    assert "plain-56 ends at 52.9%" in metadata["image/png"]["alt"]
    assert {name for name, _ in shell.hooks} == {"pre_run_cell", "post_execute"}


def test_a_grid_of_pictures_is_one_sentence_and_a_diagram_describes_itself():
    fig, axes = plt.subplots(1, 3)
    for ax, name in zip(axes, ("cat", "dog", "ship"), strict=True):
        ax.imshow([[0, 1], [1, 0]])
        ax.set_title(name)
    alt = alt_text.describe(fig)
    plt.close(fig)
    assert alt == "Figure, 3 panels: 3 images of 2 x 2 pixels, titled cat, dog, ship."
    from helpers.figures import block_diagram

    fig = block_diagram(56)
    alt = alt_text.alt_of(fig)
    plt.close(fig)
    assert "70,400 parameters" in alt and "73,984 parameters" in alt and "1x1 conv to 256 channels" in alt


def test_bars_are_named_by_their_tick_label_or_position():
    fig = Figure()
    ax = fig.subplots()
    ax.bar(range(3), [91.5, 80.0, 70.25])
    ax.set_xticks(range(3), ["cat", "dog", "ship"])
    ax.set_ylabel("accuracy (%)")
    assert "3 bars: cat: 91.5%, dog: 80.0%, ship: 70.2%" in alt_text.describe(fig)
    fig = Figure()
    fig.subplots().bar([0, 5, 10], [1, 27, 351])
    assert "3 bars: 0: 1, 5: 27, 10: 351" in alt_text.describe(fig)
