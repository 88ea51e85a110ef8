"""Instructor and maintainer tooling beside the teaching package (no notebook imports it).

- ``student``: the student edition (``make student``), the exercise table and the grader (``make grade``);
- ``authoring``: percent-format drafts to executed notebooks;
- ``reproduce``: every full-size experiment in one command on a GPU (``make results``).

Run from the repository root, e.g. ``python -m tools.student --list``.
"""
