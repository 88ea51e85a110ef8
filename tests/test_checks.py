"""helpers.checks.refusing: a "write it yourself" check refuses the library function that does it.

The per-exercise behaviour (each delegating answer fails) is covered by tests/test_exercises.py
through the wrong answers in tests/wrong_answers/; these tests pin the mechanism itself.
"""
from __future__ import annotations

import types

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import convolution
from helpers.checks import CheckFailed, exercise_check, refusing


def _learner(source: str, namespace: dict | None = None):
    """Define ``answer`` as a notebook cell would: in a namespace of its own (the notebook's globals)."""
    namespace = {"__name__": "__main__", **(namespace or {})}
    exec(source, namespace)
    return namespace["answer"], namespace


def test_refuses_the_module_attribute_and_restores_it():
    original = F.conv2d
    answer, _ = _learner("import torch.nn.functional as F\ndef answer(x, w):\n    return F.conv2d(x, w)\n")
    with pytest.raises(CheckFailed, match=r"ex: this exercise asks you to write it yourself; you called "
                                          r"torch\.nn\.functional\.conv2d\. Use unfold\."):
        with refusing({F: ["conv2d"]}, answer, exercise="ex", hint="Use unfold."):
            answer(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2))
    assert F.conv2d is original
    assert answer(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2)).shape == (1, 1, 2, 2)


def test_refuses_a_name_imported_into_the_notebook_under_any_name():
    answer, namespace = _learner(
        "from helpers.convolution import conv_output_size\n"
        "from helpers.convolution import conv_output_size as size_of\n"
        "def answer(h, k, s, p):\n"
        "    return size_of(h, k, s, p)\n")
    with pytest.raises(CheckFailed, match=r"helpers\.convolution\.conv_output_size"):
        with refusing({convolution: ["conv_output_size"]}, answer, exercise="output_size"):
            answer(8, 3, 1, 1)
    # restored in the notebook, under both names, although the block raised
    assert namespace["conv_output_size"] is convolution.conv_output_size
    assert namespace["size_of"] is convolution.conv_output_size
    assert answer(8, 3, 1, 1) == 8


def test_a_helper_function_of_the_learner_is_caught_too():
    answer, _ = _learner(
        "from helpers.convolution import conv_output_size\n"
        "def helper(h):\n"
        "    return conv_output_size(h, 3, 1, 1)\n"
        "def answer(h, k, s, p):\n"
        "    return helper(h)\n")
    with pytest.raises(CheckFailed), refusing({convolution: ["conv_output_size"]}, answer, exercise="x"):
        answer(8, 3, 1, 1)


def test_refusing_a_constructor_names_the_class():
    answer, _ = _learner("from torch import nn\ndef answer():\n    return nn.Conv2d(1, 1, 1)\n")
    with pytest.raises(CheckFailed, match=r"you called nn\.Conv2d\."):
        with refusing({nn.Conv2d: ["__init__"]}, answer, exercise="x"):
            answer()
    assert isinstance(answer(), nn.Conv2d)


def test_other_code_and_unrelated_globals_are_untouched():
    answer, namespace = _learner("def answer(x):\n    return torch.flip(x, [-1])\n", {"torch": torch, "n": 3})
    with refusing({F: ["conv2d"], torch: ["conv2d"]}, answer, exercise="x"):
        assert torch.equal(answer(torch.tensor([1, 2])), torch.tensor([2, 1]))
    assert namespace["n"] == 3 and namespace["torch"] is torch


def test_an_exercise_check_passes_the_refusal_through():
    @exercise_check("ex")
    def check(answer):
        with refusing({F: ["relu"]}, answer, exercise="ex"):
            answer(torch.ones(2))

    with pytest.raises(CheckFailed, match="you called torch.nn.functional.relu") as failure:
        check(lambda x: F.relu(x))
    assert "raised" not in str(failure.value)


def test_works_without_globals():
    module = types.ModuleType("somewhere")
    module.f = lambda: 1
    with pytest.raises(CheckFailed, match="you called somewhere.f"), refusing({module: ["f"]}, len, exercise="x"):
        module.f()  # len, a builtin, has no __globals__ to patch
    assert module.f() == 1


def test_the_residual_std_measurement_follows_the_algebra_for_any_number_of_convolutions(one_thread):
    """04's exercise 4 predicts stacks with 1 to 4 convolutions per branch; its check prints measurements
    next to the prediction. With batch norm the algebra is close; without it the prediction is the average
    over weight draws, above a typical draw (notebook 04, section 3), but it still orders the depths right."""
    import numpy as np

    from helpers.checks.nb04 import expected_residual_std, measured_residual_std

    def median(batch_norm, convs):
        with torch.no_grad():
            return float(np.median([measured_residual_std(10, 1.2, 0.5, batch_norm, convs, seed=s) for s in range(5)]))

    for convs in (1, 3):
        assert median(True, convs) == pytest.approx(expected_residual_std(10, 1.2, 0.5, True, convs), rel=0.1)
        assert 0.3 < median(False, convs) / expected_residual_std(10, 1.2, 0.5, False, convs) < 1.3
    assert median(False, 3) > 2 * median(False, 1)
