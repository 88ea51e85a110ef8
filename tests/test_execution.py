"""tools.execution: waits in slices find a message that one long wait missed, and still time out."""
from __future__ import annotations

import asyncio
import time
from queue import Empty

import nbformat
import pytest

from tools import execution
from tools.execution import NotebookClient, _in_slices


class MissedWakeUp:
    """A channel whose message arrives at ``arrives`` seconds, but a wait that is already running when it
    arrives never sees it (the missed wake-up): only a wait that starts later finds it."""

    def __init__(self, arrives: float):
        self.start, self.arrives, self.waits = time.monotonic(), arrives, []

    async def get_msg(self, timeout=None):
        begun = time.monotonic() - self.start
        self.waits.append(timeout)
        if begun >= self.arrives:
            return {"msg": "reply"}
        await asyncio.sleep(timeout if timeout is not None else 3600)
        raise Empty


def test_a_missed_wake_up_costs_one_slice_not_the_whole_timeout(monkeypatch):
    monkeypatch.setattr(execution, "SLICE_S", 0.05)
    channel = MissedWakeUp(arrives=0.12)
    start = time.monotonic()
    assert asyncio.run(_in_slices(channel.get_msg)(timeout=30)) == {"msg": "reply"}
    assert time.monotonic() - start < 0.5
    assert len(channel.waits) >= 3 and all(w <= 0.05 for w in channel.waits)
    # a single wait as long as the timeout, as nbclient does, would have slept all of it
    assert asyncio.run(_in_slices(MissedWakeUp(arrives=0.0).get_msg)(timeout=None)) == {"msg": "reply"}


def test_waits_in_slices_still_end_at_the_timeout(monkeypatch):
    monkeypatch.setattr(execution, "SLICE_S", 0.05)
    channel = MissedWakeUp(arrives=10)
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(_in_slices(channel.get_msg)(timeout=0.2))
    assert 0.19 < time.monotonic() - start < 0.6


@pytest.mark.slow
def test_the_client_runs_a_notebook_with_an_explorer_and_keeps_the_widget_state(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from helpers.widgets import output_size_explorer"),
        nbformat.v4.new_code_cell("output_size_explorer()"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in nb.cells[1].outputs)
    assert nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
