"""Plausible wrong answers for every exercise, one module per notebook (``nb00.py`` ...).

Each module defines ``WRONG: dict[str, list[tuple[str, str]]]`` mapping an exercise's nbgrader
``grade_id`` (the id of its solution cell) to one or more ``(wrong solution, fragment)`` pairs. A
wrong solution is source code that replaces everything between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` (it is re-indented to the marker's indentation); ``fragment`` is a piece of the
failure message that names the cause of that mistake. The coursework test runs every check cell
with the student stub and with each wrong answer and asserts that the check fails with a message
containing the fragment; with the master solution it must pass.
"""
