"""Shared code for the *Residual Networks, cell by cell* notebooks: what the notebooks import, and
nothing else (instructor and maintainer tooling lives in ``tools/`` beside this package).

Import what you need explicitly, e.g. ``from helpers.models import resnet34``; the package itself
imports nothing heavy, except inside a Jupyter kernel: there it makes every matplotlib figure's output
carry alt text generated from the figure's data (``alt_text``; the static book shows it as ``<img alt>``).

Which notebook uses which module (each also uses ``runtime``, and its own ``checks.nbNN``):

====  ===========================================================================================
00    ``data`` (CIFAR-10, ``DeviceLoader``, ``show_images``)
01    ``convolution``, ``data``, ``experiments`` (the run-time estimate), ``widgets`` (output-size explorer)
02    ``diagnostics``, ``widgets`` (shattered-gradients explorer)
03    ``degradation`` (the experiment, built on ``train``), ``models``, ``data``, ``experiments``
04    ``variance``, ``widgets`` (activation-variance explorer), ``degradation``, ``models``, ``data``,
      ``experiments``
05    ``flops``, ``figures``, ``models``
06    ``train``, ``experiments``, ``evaluation``, ``results``, ``paths``, ``flops``, ``models``, ``data``
07    ``pretrained`` (the shipped networks), ``shortcuts``, ``degradation``
====  ===========================================================================================

Underneath: ``train`` (the one training loop), ``experiments`` (every experiment's command line, budgets
and run-time estimates: ``python -m helpers.experiments NAME``), ``arguments`` (argument checks, used by
every module), ``paths`` (where data, results and checkpoints live, used by ``data`` and ``results``).
"""


def _figures_carry_alt_text() -> None:
    """Inside a Jupyter kernel, make every matplotlib figure's output carry alt text (helpers.alt_text);
    elsewhere (tests, command lines) do nothing and import nothing."""
    import sys

    if "ipykernel" not in sys.modules:
        return
    from helpers.alt_text import register

    register()


_figures_carry_alt_text()
