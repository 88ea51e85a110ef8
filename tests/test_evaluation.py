"""helpers.evaluation against references written out the slow way, and its plots and live curves."""
from __future__ import annotations

from unittest import mock

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import evaluation  # noqa: E402
from helpers.train import History  # noqa: E402


def loop_confusion(labels, predictions, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for t, p in zip(labels.tolist(), predictions.tolist(), strict=True):
        counts[t, p] += 1
    return counts


def test_confusion_matrix_equals_counting_in_a_loop():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (500,), generator=g)
    predictions = torch.randint(0, 6, (500,), generator=g)  # classes 6..9 never predicted
    got = evaluation.confusion_matrix(labels, predictions, 10)
    assert got.dtype == torch.long and got.shape == (10, 10)
    assert torch.equal(got, loop_confusion(labels, predictions, 10))
    assert torch.equal(got.sum(1), torch.bincount(labels, minlength=10))
    assert (got[:, 6:] == 0).all()


def test_confusion_matrix_counts_repeated_pairs_and_keeps_absent_classes():
    got = evaluation.confusion_matrix(torch.tensor([1, 1, 1]), torch.tensor([0, 0, 0]), num_classes=4)
    assert got.shape == (4, 4) and got[1, 0] == 3 and got.sum() == 3
    assert evaluation.confusion_matrix(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long), 3).sum() == 0


@pytest.mark.parametrize("labels, predictions, num_classes, match", [
    (torch.tensor([0, 1]), torch.tensor([0]), 2, "same length"),
    (torch.tensor([0, 5]), torch.tensor([0, 1]), 3, "labels must lie in 0..2"),
    (torch.tensor([0, 1]), torch.tensor([0, -1]), 3, "predictions must lie"),
    (torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), 3, "integer class indices"),
    (torch.tensor([0, 1]), torch.tensor([0, 1]), 0, "num_classes"),
])
def test_confusion_matrix_rejects_bad_input(labels, predictions, num_classes, match):
    with pytest.raises(ValueError, match=match):
        evaluation.confusion_matrix(labels, predictions, num_classes)


def test_per_class_accuracy_is_recall_with_nan_for_absent_classes():
    confusion = torch.tensor([[3, 1, 0], [2, 2, 0], [0, 0, 0]])
    got = evaluation.per_class_accuracy(confusion)
    assert torch.allclose(got[:2], torch.tensor([0.75, 0.5]))
    assert torch.isnan(got[2])
    with pytest.raises(ValueError, match="square"):
        evaluation.per_class_accuracy(torch.zeros(2, 3))


def test_top_k_accuracy_against_a_sorted_reference():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(200, 10, generator=g)
    labels = torch.randint(0, 10, (200,), generator=g)
    ranks = (logits > logits.gather(1, labels[:, None])).sum(1)  # classes scored above the true one
    for k in (1, 2, 5, 10):
        assert evaluation.top_k_accuracy(logits, labels, k) == pytest.approx((ranks < k).float().mean().item())
    assert evaluation.top_k_accuracy(logits, labels, 10) == 1.0
    assert evaluation.top_k_accuracy(logits, labels, 1) == pytest.approx((logits.argmax(1) == labels).float().mean().item())
    with pytest.raises(ValueError, match="k must be"):
        evaluation.top_k_accuracy(logits, labels, 11)
    with pytest.raises(ValueError, match="logits must be"):
        evaluation.top_k_accuracy(logits[:5], labels, 1)


def test_most_confident_mistakes_are_wrong_and_sorted():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(100, 10, generator=g) * 3
    labels = torch.randint(0, 10, (100,), generator=g)
    index, predicted, confidence = evaluation.most_confident_mistakes(logits, labels, k=8)
    probabilities = logits.softmax(1)
    assert len(index) == 8
    assert (predicted != labels[index]).all() and torch.equal(predicted, logits[index].argmax(1))
    assert torch.allclose(confidence, probabilities[index].max(1).values)
    assert (confidence[:-1] >= confidence[1:]).all()
    wrong = logits.argmax(1) != labels
    assert confidence[0] == probabilities.max(1).values[wrong].max()  # the surest mistake of all comes first


def test_most_confident_mistakes_with_fewer_mistakes_than_asked():
    logits = torch.eye(4) * 5
    labels = torch.tensor([0, 1, 3, 3])  # one mistake: image 2
    index, predicted, confidence = evaluation.most_confident_mistakes(logits, labels, k=10)
    assert index.tolist() == [2] and predicted.tolist() == [2]
    none = evaluation.most_confident_mistakes(logits, torch.arange(4), k=3)[0]
    assert len(none) == 0


def small_history(epochs: int = 3) -> History:
    h = History()
    for e in range(1, epochs + 1):
        h.epoch.append(e)
        h.train_loss.append(2.0 / e)
        h.test_loss.append(2.1 / e)
        h.train_acc.append(0.2 * e)
        h.test_acc.append(0.18 * e)
    return h


def test_plots_have_titles_and_labels():
    fig = evaluation.plot_histories({"a": small_history(), "b": small_history(2).to_dict()}, title="runs", epochs=5)
    loss, acc = fig.axes
    assert loss.get_xlabel() == "epoch" and "loss" in loss.get_ylabel() and acc.get_ylabel() == "accuracy (%)"
    assert len(acc.lines) == 4 and acc.get_xlim() == (0.5, 5.5)
    plt.close(fig)
    fig = evaluation.plot_confusion_matrix(torch.eye(10, dtype=torch.long) * 100)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class" and ax.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="10x10"):
        evaluation.plot_confusion_matrix(torch.eye(3))
    with pytest.raises(ValueError, match="empty"):
        evaluation.plot_histories({})


def test_live_curves_display_once_then_update_in_place():
    handle = mock.Mock()
    open_before = set(plt.get_fignums())  # other tests may have left figures open
    with mock.patch("IPython.display.display", return_value=handle) as display:
        live = evaluation.LiveCurves("run", epochs=3)
        for epochs in (1, 2, 3):
            live(small_history(epochs))
    assert display.call_count == 1 and display.call_args.kwargs["display_id"] is True
    assert handle.update.call_count == 2 and live.updates == 3
    alt = handle.update.call_args.kwargs["metadata"]["image/png"]["alt"]  # issue 27: the curves' alt text, from the data
    assert "epoch" in alt and "ends at" in alt, alt
    image = handle.update.call_args.args[0]
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(plt.get_fignums()) == open_before  # no figure of its own left open to be shown a second time
