"""Shared code for the *Residual Networks, cell by cell* notebooks: what the notebooks import, and
nothing else (instructor and maintainer tooling lives in ``tools/`` beside this package).

Import what you need explicitly, e.g. ``from helpers.models import resnet34``; the package itself
imports nothing heavy.

Which notebook uses which module (each also uses ``runtime``, and its own ``checks.nbNN``):

====  ===========================================================================================
00    ``data`` (CIFAR-10, ``DeviceLoader``, ``show_images``)
01    ``convolution``, ``data``, ``train`` (the run-time estimate), ``widgets`` (output-size explorer)
02    ``diagnostics``, ``widgets`` (shattered-gradients explorer)
03    ``degradation`` (the experiment, built on ``train``), ``models``, ``data``, ``train``
04    ``variance``, ``widgets`` (activation-variance explorer), ``models``, ``data``, ``train``
05    ``flops``, ``figures``, ``models``
06    ``train``, ``evaluation``, ``results``, ``paths``, ``flops``, ``models``, ``data``
====  ===========================================================================================

Underneath: ``arguments`` (argument checks, used by every module), ``paths`` (where data, results
and checkpoints live, used by ``data`` and ``results``).
"""
