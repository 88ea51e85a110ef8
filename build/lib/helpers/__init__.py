"""Shared code for the *Residual Networks, cell by cell* notebooks.

Import what you need explicitly, e.g. ``from helpers.models import resnet34``; the
package itself imports nothing heavy.
"""
