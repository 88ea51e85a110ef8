"""helpers.checks.refusing: a "write it yourself" check refuses the library function that does it.

The per-exercise behaviour (each delegating answer fails) is covered by tests/test_exercises.py
through the wrong answers in tests/wrong_answers/; these tests pin the mechanism itself.
"""
from __future__ import annotations

import re
import types
from pathlib import Path

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

    expected_residual_std = expected_residual_std.__wrapped__  # the formula itself, outside the check's cases

    def median(batch_norm, convs):
        with torch.no_grad():
            return float(np.median([measured_residual_std(10, 1.2, 0.5, batch_norm, convs, seed=s) for s in range(5)]))

    for convs in (1, 3):
        assert median(True, convs) == pytest.approx(expected_residual_std(10, 1.2, 0.5, True, convs), rel=0.1)
        assert 0.3 < median(False, convs) / expected_residual_std(10, 1.2, 0.5, False, convs) < 1.3
    assert median(False, 3) > 2 * median(False, 1)


# ------------------------------------------------------------------------------------------------
# Every route to an answer key of issue 22, section 1, is refused by the check itself
# ------------------------------------------------------------------------------------------------

_PREAMBLE = """
import functools
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
"""

# (id, check module, check function, the name the answer is bound to, the learner's cell, message fragment)
ROUTES = [
    ("00-ex4-pixels", "nb00", "check_channel_stats", "channel_stats",
     "from helpers.checks.nb00 import _channel_stats_expected\n"
     "def channel_stats(images):\n    return _channel_stats_expected(0)[:2]\n",
     "helpers.checks.nb00._channel_stats_expected"),
    ("01-ex5-alias", "nb01", "check_receptive_field", "receptive_field",
     "from helpers.checks.nb01 import _measured_receptive_field as receptive_field\n",
     "helpers.checks.nb01._measured_receptive_field"),
    ("02-ex5-module-alias", "nb02", "check_max_branch_scale", "max_branch_scale",
     "import helpers.checks.nb02 as c\ndef max_branch_scale(blocks, max_growth):\n"
     "    return c._max_beta(blocks, max_growth)\n", "helpers.checks.nb02"),
    ("03-ex1-same-signature", "nb03", "check_preact_block", "preact_block",
     "from helpers.checks import nb03\n"
     "def preact_block(x, bn1, conv1, bn2, conv2, shortcut=None):\n    return nb03._preact_block_expected(0, True)[0]\n",
     "helpers.checks.nb03"),
    ("04-ex1-default-arguments", "nb04", "check_batch_norm_train", "batch_norm_train",
     "from helpers.checks.nb04 import _train_mistaken, _channel_dims\n"
     "def batch_norm_train(x, gamma, beta, eps, norm=_train_mistaken, *, dims=_channel_dims):\n"
     "    return norm(0)[dims(x)[0]]\n", "helpers.checks.nb04._"),
    ("04-ex4-passed-directly", "nb04", "check_predict_residual_std", "predict_residual_std",
     "from helpers.checks.nb04 import expected_residual_std as predict_residual_std\n",
     "helpers.checks.nb04.expected_residual_std"),
    ("05-ex2-closure", "nb05", "check_bottleneck_macs", "bottleneck_macs",
     "def make():\n    from helpers.checks import nb05\n    macs = nb05._bottleneck_macs\n"
     "    def bottleneck_macs(cin, c, stride, size):\n        small = (size - 1) // stride + 1\n"
     "        return macs(cin, c, size, small, small, small if stride > 1 or cin != 4 * c else None)\n"
     "    return bottleneck_macs\nbottleneck_macs = make()\n", "helpers.checks.nb05._bottleneck_macs"),
    ("05-ex5-class-method", "nb05", "check_preact_bottleneck_forward", "preact_bottleneck_forward",
     "from helpers.checks.nb05 import PreActBottleneck\n"
     "def preact_bottleneck_forward(block, x):\n    return PreActBottleneck.forward(block, x)\n",
     "helpers.checks.nb05.PreActBottleneck"),
    ("05-ex5-block-itself", "nb05", "check_preact_bottleneck_forward", "preact_bottleneck_forward",
     "def preact_bottleneck_forward(block, x):\n    return block(x)\n", "you called PreActBottleneck.forward"),
    ("07-ex4-private-reference", "nb07", "check_path_length_counts", "path_length_counts",
     "from helpers.checks.nb07 import _path_counts as counts\n"
     "def path_length_counts(has_shortcut):\n    return counts(tuple(has_shortcut))\n",
     "helpers.checks.nb07._path_counts"),
    ("07-ex3-eigen-through-default", "nb07", "check_top_eigenvalue", "top_eigenvalue",
     "def top_eigenvalue(hvp, dim, iterations=100, seed=0, solve=torch.linalg.eigvalsh):\n"
     "    h = torch.stack([hvp(e) for e in torch.eye(dim, dtype=torch.float64)])\n"
     "    values = solve(h)\n    return values[values.abs().argmax()].item()\n",
     "torch.linalg.eigvalsh"),
    ("06-ex1-lambda", "nb06", "check_confusion_matrix", "confusion_matrix",
     "import helpers.checks.nb06\nconfusion_matrix = lambda t, p, n: helpers.checks.nb06._loop_confusion("
     "t.tolist(), p.tolist(), n)\n", "your answer uses helpers.checks"),
    ("06-ex3-captured-global", "nb06", "check_stem_output_size", "stem_output_size",
     "from helpers.checks import nb06\n_size = nb06._stem_output\ndel nb06\n"
     "def stem_output_size(n):\n    return _size(n)\n", "helpers.checks.nb06._stem_output (through the global _size)"),
    ("06-ex3-stem-output", "nb06", "check_stem_output_size", "stem_output_size",
     "stem_output_size = functools.partial(__import__('helpers.checks.nb06', fromlist=['x'])._stem_output)\n",
     "helpers.checks.nb06._stem_output"),
    ("06-ex4-method", "nb06", "check_one_cycle_lr", "one_cycle_lr",
     "from helpers.checks.nb06 import _one_cycle\nclass Schedule:\n"
     "    def lr(self, step, total, peak, warmup):\n"
     "        return _one_cycle(step, total, peak, max(1, round(total * warmup)) if warmup else 0)\n"
     "one_cycle_lr = Schedule().lr\n", "helpers.checks.nb06._one_cycle"),
    ("06-ex5-forgetting", "nb06", "check_resume", "resume",
     "from helpers.checks.nb06 import _tiny_epochs\n"
     "def resume(path, model, optimizer, schedule, *, train=_tiny_epochs):\n    return 0\n",
     "helpers.checks.nb06._tiny_epochs (through the default argument train)"),
    ("06-ex5-getattr-string", "nb06", "check_resume", "resume",
     "import importlib\ndef resume(path, model, optimizer, schedule):\n"
     "    return importlib.import_module('helpers.checks.nb06')._forgotten_weights((), 3, 2, 0)\n",
     "helpers.checks"),
    # copying, or binding the refused helper where the runtime substitution does not reach
    ("01-ex1-default-argument", "nb01", "check_output_size", "output_size",
     "from helpers.convolution import conv_output_size\n"
     "def output_size(h, k, s, p, f=conv_output_size):\n    return f(h, k, s, p)\n",
     "you called helpers.convolution.conv_output_size (through the default argument f)"),
    ("01-ex2-default-argument", "nb01", "check_conv2d_im2col", "conv2d_im2col",
     "from helpers import convolution\n"
     "def conv2d_im2col(x, w, b, stride, padding, *, impl=convolution.conv2d_unfold):\n"
     "    return impl(x, w, b, stride, padding)\n", "you called helpers.convolution.conv2d_unfold"),
    ("01-ex2-copy", "nb01", "check_conv2d_im2col", "conv2d_im2col",
     "from helpers.arguments import pair\nfrom helpers.convolution import conv_output_size\n"
     "def conv2d_im2col(x, weight, bias, stride, padding):\n"
     "    (sh, sw), (ph, pw) = pair('stride', stride, 1), pair('padding', padding, 0)\n"
     "    n, _, h, w = x.shape\n    c_out, _, kh, kw = weight.shape\n"
     "    h_out, w_out = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)\n"
     "    cols = F.unfold(x, (kh, kw), padding=(ph, pw), stride=(sh, sw))\n"
     "    out = weight.reshape(c_out, -1) @ cols\n    if bias is not None:\n"
     "        out = out + bias.view(1, -1, 1)\n    return out.view(n, c_out, h_out, w_out)\n",
     "a copy of helpers.convolution.conv2d_unfold"),
    ("02-ex2-default-argument", "nb02", "check_autocorrelation", "my_autocorrelation",
     "from helpers.diagnostics import autocorrelation\n"
     "def my_autocorrelation(g, max_lag, acf=autocorrelation):\n    return acf(g, max_lag)\n",
     "you called helpers.diagnostics.autocorrelation"),
    ("03-ex2-copy", "nb03", "check_pad_shortcut", "pad_shortcut",
     "def pad_shortcut(x, out_channels, stride=2):\n    x = x[:, :, ::stride, ::stride]\n"
     "    return nn.functional.pad(x, (0, 0, 0, 0, 0, out_channels - x.shape[1]))\n",
     "you called torch.nn.functional.pad"),
    ("05-ex3-captured-global", "nb05", "check_bottleneck_forward", "bottleneck_forward",
     "from helpers.models import Bottleneck\n_forward = Bottleneck.forward\n"
     "def bottleneck_forward(block, x):\n    return _forward(block, x)\n", "Bottleneck.forward"),
    # a helper elsewhere in helpers that computes the answer (found by a read-only review, 2026-12-05)
    ("01-ex3-flops-helper", "nb01", "check_conv_cost", "conv_cost",
     "from helpers.flops import conv_macs\n"
     "def conv_cost(c_in, c_out, k, h, w, stride=1, padding=0, bias=True):\n"
     "    return c_out * (c_in * k * k + bias), conv_macs(c_in, c_out, k, (h, w), stride=stride, padding=padding)\n",
     "you called helpers.flops.conv_macs"),
    ("02-ex3-notebook-cell", "nb02", "check_mean_lag1", "mean_lag1",
     "from helpers.diagnostics import ShatterMLP, calibrate_batch_norm, gradient_over_grid, input_grid, "
     "lag1_correlation\nx = input_grid()\n"
     "def grid_gradient(depth, seed=0, **options):\n"
     "    return gradient_over_grid(calibrate_batch_norm(ShatterMLP(depth, seed=seed, **options), x), x).numpy()\n"
     "def mean_lag1(depth, residual, batch_norm, seeds):\n"
     "    return float(np.mean([lag1_correlation(grid_gradient(depth, seed=s, residual=residual, "
     "batch_norm=batch_norm)) for s in seeds]))\n",
     "you called notebook.grid_gradient"),
    ("02-ex4-variance-helper", "nb02", "check_predicted_variance", "predicted_variance",
     "from helpers.variance import StackConfig, predicted_std\n"
     "def predicted_variance(var0, beta, blocks, batch_norm):\n"
     "    if blocks == 0:\n        return var0\n"
     "    return var0 * predicted_std(StackConfig(blocks, 1.0, beta, batch_norm=batch_norm))[-1] ** 2\n",
     "you called helpers.variance.predicted_std"),
    ("03-ex3-flops-helper", "nb03", "check_shortcut_params", "shortcut_params",
     "from helpers.flops import _conv_bn\n"
     "def shortcut_params(c_in, c_out, stride, kind):\n"
     "    if c_in == c_out and stride == 1:\n        return 0\n"
     "    return 0 if kind == 'A' else _conv_bn(c_in, c_out, 1, (1, 1), stride).params\n",
     "you called helpers.flops._conv_bn"),
    ("04-ex4-variance-helper", "nb04", "check_predict_residual_std", "predict_residual_std",
     "from helpers.variance import StackConfig, predicted_std\n"
     "def predict_residual_std(depth, gain, branch_scale, batch_norm, convs=2):\n"
     "    g = gain if batch_norm else gain ** (convs / 2)\n"
     "    return float(predicted_std(StackConfig(depth, g, branch_scale, batch_norm=batch_norm))[-1])\n",
     "you called helpers.variance.predicted_std"),
    ("06-ex2-default-argument", "nb06", "check_top_k_accuracy", "top_k_accuracy",
     "from helpers import evaluation\n"
     "def top_k_accuracy(logits, labels, k, f=evaluation.top_k_accuracy):\n    return f(logits, labels, k)\n",
     "you called helpers.evaluation.top_k_accuracy"),
]


def run_route(checks_package: str, module: str, check: str, name: str, source: str) -> str:
    """Run one route's answer through a check of ``checks_package``; the failure message ('' if it passed)."""
    import importlib

    check_function = getattr(importlib.import_module(f"{checks_package}.{module}"), check)
    namespace: dict = {"__name__": "__main__"}
    exec(_PREAMBLE + source, namespace)
    try:
        check_function(namespace[name])
    except CheckFailed as failure:
        return str(failure)
    return ""


@pytest.mark.parametrize(("module", "check", "name", "source", "fragment"), [r[1:] for r in ROUTES],
                         ids=[r[0] for r in ROUTES])
def test_every_route_to_an_answer_key_is_refused(module, check, name, source, fragment, one_thread):
    message = run_route("helpers.checks", module, check, name, source)
    assert message, "the check passed an answer that takes its result from elsewhere"
    assert fragment in message, message


def test_reading_an_answer_ends_on_cycles_and_passes_honest_code():
    """The reader keeps a visited set: a cyclic default argument ends; code that only shares an attribute's
    name with a refused function (``self.conv2d``) is not refused."""
    answer, _ = _learner("loop = []\nloop.append(loop)\nclass Net:\n    conv2d = None\n"
                         "def answer(x, cycle=loop, net=Net()):\n    return net.conv2d if x is None else x\n")
    with refusing({F: ["conv2d"], torch: ["conv2d"]}, answer, exercise="x"):
        assert answer(1) == 1


# ------------------------------------------------------------------------------------------------
# The student edition's checks: no reference solution, and the same verdicts
# ------------------------------------------------------------------------------------------------

# Run inside the student edition (its helpers/ first on sys.path, the project's tests/ and tools/ after):
# every route above, and every exercise's master, stub and registered wrong answers, through its checks.
_IN_THE_EDITION = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import helpers, pytest
from helpers.checks import CheckFailed
from tests import test_checks, test_exercises as ex
from tools import student
assert helpers.__file__.startswith(sys.argv[1]), helpers.__file__
problems = []
for route, module, check, name, source, fragment in test_checks.ROUTES:
    message = test_checks.run_route("helpers.checks", module, check, name, source)
    if fragment not in message:
        problems.append(f"{route}: {message or 'passed'}")
for grade_id in ex.BY_ID:
    variants = [("master", ex.master_source(grade_id), None),
                ("stub", student.stub_source(ex.master_source(grade_id)), "not implemented")]
    variants += [(f"wrong{k}", student.replace_solution(ex.master_source(grade_id), body, keep_markers=True), fragment)
                 for k, (body, fragment) in enumerate(ex.wrong_answer_cases().get(grade_id, []))]
    for what, source, fragment in variants:
        try:
            ex.run_exercise(grade_id, source)
            message = None
        except CheckFailed as failure:
            message = str(failure)
        if (fragment is None) != (message is None) or (fragment is not None and fragment not in message):
            problems.append(f"{grade_id} {what}: {message or 'passed'}")
print(json.dumps(problems))
"""


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    """helpers/, results/ and figures/ as the student edition ships them."""
    from tools.student import student_files

    target = tmp_path_factory.mktemp("student")
    for name, data in student_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(data)
    return target


# What computes an answer (or a mistake one line from it) in the masters' checks: the student edition has none.
REFERENCES = {"nb00": ["_channel_stats_expected"],
              "nb02": ["_max_beta"],
              "nb03": ["_preact_block_expected"],
              "nb04": ["_train_mistaken", "_eval_mistaken", "expected_residual_std", "_residual_std_mistaken",
                       "_fold_expected"],
              "nb01": ["_measured_receptive_field", "_rf_mistaken"],
              "nb05": ["_bottleneck_macs", "_preact_expected"],
              "nb06": ["_loop_confusion", "_stem_mistaken", "_stem_output", "_one_cycle", "_forgotten_weights"],
              "nb07": ["_lesion_mistaken", "_direction_mistaken", "_net_top_eigenvalue", "_path_counts"]}


def test_the_student_editions_checks_hold_no_reference(edition):
    import ast

    from helpers import checks

    for module, names in REFERENCES.items():
        source = (edition / "helpers" / "checks" / f"{module}.py").read_text()
        functions = {node.name: node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}
        assert set(names) <= set(checks.PRECOMPUTED[f"helpers.checks.{module}"])
        for name in names:
            body = functions[name].body
            assert len(body) == 2 and ast.unparse(body[1]).startswith(f"return recorded(__name__, '{name}'"), (
                f"{module}.{name} still holds code in the student edition: {ast.unparse(functions[name])}")
        assert (edition / "helpers" / "checks" / f"{module}.pt").is_file()
    assert {f"helpers.checks.{m}.{n}" for m, names in REFERENCES.items() for n in names} == {
        f"{m}.{n}" for m, names in checks.PRECOMPUTED.items() for n in names}, "REFERENCES lists every one"
    # the reference code the issue found in the checks is nowhere in the edition's copy
    shipped = "\n".join(p.read_text() for p in (edition / "helpers" / "checks").glob("*.py"))
    for name in ("_pixels", "_normalise", "_diagnose_train", "_preact_reference", "_preact_variant", "_forgetting",
                 "_stem_formula", "_STEM_MISTAKES", "def forward", "F.batch_norm(t, layer.running_mean"):
        # as a whole name: nb07's exercise filter_normalise is not nb00's reference _normalise
        assert not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", shipped), f"{name} is in the student edition's checks"
    assert (edition / "results").is_dir() and (edition / "figures").is_dir()


@pytest.mark.slow
def test_the_student_editions_checks_refuse_every_route_and_judge_as_the_masters(edition):
    """In the student edition every route is refused, every master passes, every stub and wrong answer
    fails with the fragment that names its cause: the shipped values cover every call the checks make."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import REAL_CIFAR10_DIR

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "RESNET_QUICK": "1", "MPLBACKEND": "Agg", "RESNET_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(edition), str(root)])}
    if REAL_CIFAR10_DIR:
        env["CIFAR10_DIR"] = REAL_CIFAR10_DIR
    run = subprocess.run([sys.executable, "-c", _IN_THE_EDITION, str(edition), str(root)], cwd=edition, env=env,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    problems = json.loads(run.stdout.strip().splitlines()[-1])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("body", [
    "import sys\n    return sys._getframe(1).f_locals['expected']",
    "import inspect\n    return inspect.stack()[1].frame.f_locals['expected']",
    "try:\n        raise ValueError\n    except ValueError as e:\n        return e.__traceback__.tb_frame.f_back.f_locals['x']",
    "import torch\n    return torch.load('student/helpers/checks/nb01.pt', weights_only=False)",
], ids=["getframe", "inspect-stack", "traceback", "data-file"])
def test_an_answer_that_reads_the_checks_variables_or_data_is_refused(body):
    """The check's expected values sit in its frame, and the student edition's in helpers/checks/nbNN.pt."""
    message = run_route("helpers.checks", "nb01", "check_receptive_field", "receptive_field",
                        f"def receptive_field(layers):\n    {body}\n")
    assert "your answer uses helpers.checks" in message, message
