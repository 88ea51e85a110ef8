"""Stalled cells under nbclient: how often a cell sits idle until its timeout, with nbclient's own client
and with ``tools.execution.NotebookClient`` (which waits in slices), in the same run. One JSON line.

Each run executes a small notebook in a fresh kernel: an import cell, then two cells that show the
explorers of notebooks 01 and 04 (``widget``) or two that print (``print``). A cell counts as stalled
when it takes more than half its timeout (a stall waits for all of it; these cells take under a
second). Stalls need a busy machine: run it next to a training run, e.g.

    python -m helpers.experiments resnet34 --quick --epochs 50 &  # or any process that keeps a core busy
    python -m bench.stalls --runs 25 --kind widget      # from the repository root
"""
from __future__ import annotations

import argparse
import json
import os
import time

import nbclient
import nbformat

from tools.execution import NotebookClient

CELLS = {
    "widget": ["variance_explorer(depth=30)", "output_size_explorer()"],
    "print": ["print('one')", "print('two')"],
}
SETUP = "import torch\ntorch.set_num_threads(1)\nfrom helpers.widgets import output_size_explorer, variance_explorer"


def stress(runs: int, kind: str, limit: int, client_class) -> dict:
    """Execute the notebook ``runs`` times with ``client_class``; count and time the stalled cells."""
    stalled, longest = 0, 0.0
    for _ in range(runs):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in [SETUP, *CELLS[kind]]])
        client = client_class(nb, timeout=limit, kernel_name="python3", store_widget_state=True)
        with client.setup_kernel():
            client.execute_cell(nb.cells[0], 0)
            for k, cell in enumerate(nb.cells[1:], start=1):
                start = time.perf_counter()
                client.execute_cell(cell, k)
                seconds = time.perf_counter() - start
                stalled += seconds > limit / 2
                longest = max(longest, seconds)
    return {"cells": runs * len(CELLS[kind]), "stalled": int(stalled), "longest_s": round(longest, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="fresh kernels per client")
    parser.add_argument("--kind", choices=CELLS, default="widget")
    parser.add_argument("--limit", type=int, default=30, help="each cell's timeout, in seconds")
    args = parser.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    results = {name: stress(args.runs, args.kind, args.limit, cls)
               for name, cls in (("nbclient", nbclient.NotebookClient), ("sliced", NotebookClient))}
    print(json.dumps({"bench": "stalls", "kind": args.kind, "runs": args.runs, "limit_s": args.limit, **results,
                      "load_average": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d")}))


if __name__ == "__main__":
    main()
