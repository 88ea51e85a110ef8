"""The notebook client every tool here executes notebooks with (authoring, grading, benches, tests).

It is nbclient's ``NotebookClient`` with one change: it waits for the kernel's messages in slices of
half a second instead of in one wait as long as the cell's timeout.

Why: nbclient waits for a cell's reply with one ``await socket.poll(timeout)`` on the kernel's shell
channel, and pyzmq's asyncio poll can miss the wake-up of a message that arrives while the event
loop is busy with the other channel. The message then sits in the socket until the timeout ends the
wait, and execution goes on as if nothing had happened (jupyter/nbclient#312). Measured on a 2-core
CPU with a training run on the other core (``python -m bench.stalls``): a cell
that shows an ipywidgets explorer, whose many comm messages keep the output channel busy, sat idle
for its whole timeout in 9 of 100 cells (two runs, load average 2 and 5.6); with this client, 0 of 100
(the slowest took 2.4 s). Cells that only print did not stall in 25 runs. A fresh poll checks
the socket's queue first, so a wait cut into slices loses at most half a second to a missed wake-up.
"""
from __future__ import annotations

import time
from queue import Empty

import nbclient
from jupyter_core.utils import run_sync

SLICE_S = 0.5


def _in_slices(get_msg):
    """``get_msg(timeout)`` of a kernel channel, as a loop of waits of at most SLICE_S seconds."""

    async def sliced(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            try:
                return await get_msg(timeout=SLICE_S if left is None else max(0.0, min(SLICE_S, left)))
            except Empty:
                if left is not None and left <= SLICE_S:
                    raise

    return sliced


class NotebookClient(nbclient.NotebookClient):
    """nbclient's client, waiting on the shell and output channels in slices (see the module docstring)."""

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = _in_slices(channel.get_msg)
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)
