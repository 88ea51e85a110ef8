"""pytest plugin (loaded from pyproject's addopts): nbval settings that have no command-line flag.

stderr is never compared: it carries warnings and progress bars whose text depends on the machine
and the library versions, not on what the notebook teaches.
"""
from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    seen = set()
    for item in items:
        notebook = item.parent
        if id(notebook) in seen or not hasattr(notebook, "skip_compare"):
            continue
        seen.add(id(notebook))
        notebook.skip_compare = tuple(notebook.skip_compare) + ("stderr",)
