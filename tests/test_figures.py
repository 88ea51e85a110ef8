"""helpers.figures: the diagrams are drawn from the model, and `python -m helpers.figures DIR` writes them."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402
from PIL import Image  # noqa: E402

from helpers import figures  # noqa: E402
from helpers import models as M  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def boxes(fig: plt.Figure) -> list[str]:
    """The text in every layer box of a diagram."""
    ax = fig.axes[0]
    centres = [(p.get_x() + p.get_width() / 2, p.get_y() + p.get_height() / 2) for p in ax.patches
               if isinstance(p, FancyBboxPatch)]
    texts = {(round(t.get_position()[0], 3), round(t.get_position()[1], 3)): t.get_text() for t in ax.texts}
    return [texts[(round(x, 3), round(y, 3))] for x, y in centres]


def test_save_figures_writes_every_figure_as_a_png(tmp_path):
    written = figures.save_figures(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(figures.FIGURES)
    for path in written:
        assert path.stat().st_size > 10_000
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.width > 500 and image.height > 300
    assert not plt.get_fignums()  # every figure closed


def test_command_line_regenerates_one_figure(tmp_path, capsys):
    assert figures.main([str(tmp_path), "--only", "basic_vs_bottleneck.png"]) == 0
    assert (tmp_path / "basic_vs_bottleneck.png").stat().st_size > 0
    assert "wrote" in capsys.readouterr().out


def test_committed_figures_exist():
    for name in figures.FIGURES:
        assert (ROOT / "figures" / name).is_file(), f"run `python -m helpers.figures figures` to create {name}"


def test_resnet34_diagram_has_one_box_per_layer():
    with torch.device("meta"):
        fig = figures.network_diagram(M.resnet34(), input_size=224)
    labels = boxes(fig)
    assert len(labels) == 33 + 3  # 33 convolutions, max-pool, avg-pool, fc
    assert labels[0] == "7x7 conv, 64, /2" and labels[1] == "3x3 max pool, /2"
    assert sum("/2" in t for t in labels) == 5  # the stem conv, the pool, and the first conv of stages 2-4
    assert labels[-1] == "fc, 1000"
    assert "3.66" in fig.axes[0].get_title() and "34 weighted layers" in fig.axes[0].get_title()
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["identity shortcut", "1x1 conv projection shortcut"]
    plt.close(fig)


def test_diagram_follows_the_model():
    with torch.device("meta"):
        cifar = M.resnet18(num_classes=10, stem="cifar", shortcut="A")
        r50 = M.resnet50()
    fig = figures.network_diagram(cifar, input_size=32)
    labels = boxes(fig)
    assert len(labels) == 17 + 2 and labels[0] == "3x3 conv, 64" and "max pool" not in " ".join(labels)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["identity shortcut",
                                                                            "zero-pad shortcut (option A)"]
    assert "512 channels, 4x4" in " ".join(t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)
    fig = figures.network_diagram(r50)
    assert len(boxes(fig)) == 49 + 3
    plt.close(fig)
    with torch.device("meta"):
        fig = figures.network_diagram(M.resnet34(residual=False))
    assert fig.axes[0].get_legend() is None and fig.axes[0].get_title().startswith("The plain 34-layer net")
    plt.close(fig)


def test_block_diagram_numbers():
    fig = figures.block_diagram(56)
    titles = [ax.get_title() for ax in fig.axes]
    assert "73,984 parameters" in titles[0] and "231M" in titles[0]
    assert "70,400 parameters" in titles[1] and "218M" in titles[1]
    plt.close(fig)


@pytest.mark.parametrize("call,error,match", [
    (lambda: figures.network_diagram(torch.nn.Linear(2, 2)), TypeError, "model"),
    (lambda: figures.network_diagram(input_size=0), ValueError, "input_size"),
    (lambda: figures.block_diagram(0), ValueError, "size"),
    (lambda: figures.save_figures("unused", ["nope.png"]), ValueError, "names"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
