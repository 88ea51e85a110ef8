"""For maintainers: build a notebook from a plain-text draft and execute it, as CI will run it.

The committed ``.ipynb`` files are the source learners open. Drafting one is easier as a plain
Python file in the "percent" format that editors and jupytext understand:

    # %% [markdown]
    # # A title
    # Some prose.

    # %% tags=["setup"]
    import torch

    # %% [solution] id=nb01_output_size
    def output_size(h, k, s, p):
        ### BEGIN SOLUTION
        return (h + 2 * p - k) // s + 1
        ### END SOLUTION

    # %% [check] id=nb01_output_size points=1
    check_output_size(output_size)

``[solution]`` and ``[check]`` cells get nbgrader's cell metadata (a solution cell, and a locked,
autograded test cell), so the notebooks can be collected with nbgrader as they are.

    python -m tools.authoring draft.py notebooks/01_convolution_as_dot_product.ipynb

writes the notebook and executes it in place (quick mode unless ``--full``), keeping outputs and
execution counts (nbval needs both). ``--no-execute`` only converts. Given an ``.ipynb`` instead of a
draft, it re-executes that notebook (``python -m tools.authoring notebooks/04_batch_norm.ipynb``).

Written notebooks carry no saved widget state: JupyterLab would rewrite it as soon as a learner opens
the notebook, and a clean checkout would show as modified. An explorer's output then reads as a line
of text that says to run the cell.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from pathlib import Path

import nbformat

from tools.execution import NotebookClient

_HEADER = re.compile(r"^# %%(?:\s*\[(?P<kind>\w+)\])?(?P<rest>.*)$")


def _parse_options(rest: str) -> dict[str, str]:
    options = {}
    for token in shlex.split(rest.strip()):
        key, _, value = token.partition("=")
        options[key] = value
    return options


def _markdown(lines: list[str]) -> str:
    out = []
    for line in lines:
        if line.startswith("# "):
            out.append(line[2:])
        elif line.strip() == "#":
            out.append("")
        else:
            out.append(line)
    return "\n".join(out).strip("\n")


def parse_percent(text: str) -> nbformat.NotebookNode:
    """A percent-format draft as an (unexecuted) notebook."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    chunks: list[tuple[str | None, dict[str, str], list[str]]] = []
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            chunks.append((match["kind"], _parse_options(match["rest"]), []))
        elif chunks:
            chunks[-1][2].append(line)
    for kind, options, lines in chunks:
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(_markdown(lines))
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines).strip("\n"))
        tags = options.get("tags")
        if tags:
            cell.metadata["tags"] = [t.strip(" '\"") for t in tags.strip("[]").split(",") if t.strip()]
        if kind in ("solution", "check"):
            grade_id = options.get("id")
            if not grade_id:
                raise ValueError(f"a [{kind}] cell needs id=...: {lines[:2]}")
            cell.metadata["nbgrader"] = {
                "grade": kind == "check",
                "grade_id": grade_id if kind == "solution" else f"{grade_id}_check",
                "locked": kind == "check",
                "schema_version": 3,
                "solution": kind == "solution",
                **({"points": int(options.get("points", 1))} if kind == "check" else {}),
            }
        elif kind not in (None, "markdown"):
            raise ValueError(f"unknown cell kind [{kind}]")
        elif "id" in options:  # a cell that tests name: `# %% [markdown] id=cell-intro`
            if not options["id"].startswith("cell-"):
                raise ValueError(f"a cell id starts with 'cell-': {options['id']!r}")
            cell["id"] = options["id"]
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        if not cell.get("id", "").startswith("cell-"):
            cell["id"] = f"cell-{i:03d}"
    ids = [cell["id"] for cell in nb.cells]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two cells have the same id: {sorted({i for i in ids if ids.count(i) > 1})}")
    return nb


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
EXPLORER_PLACEHOLDER = "An interactive explorer: run this cell to show it (its sliders need a running kernel)."
LIVE_NOTE = ("Above: the explorer's first state, as a still figure. The live version, with its sliders, "
             "runs in JupyterLab: run this cell there.")


def strip_widget_state(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop the saved widget state (``metadata.widgets``) and, in outputs, the widget views that pointed into it
    (without the state JupyterLab would show "model not found"); returns ``nb``, changed in place.

    An explorer that put its first state into its display (a PNG with alt text, helpers.widgets) keeps it as a
    still figure, followed by a line saying that the live version runs in JupyterLab: that is what the book
    and any page without a kernel show."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                outputs.append(output)
            elif "image/png" in data:
                still = nbformat.v4.new_output("display_data", data={"image/png": data["image/png"]},
                                               metadata={"image/png": output.get("metadata", {}).get("image/png", {})})
                note = nbformat.v4.new_output("display_data", data={"text/plain": LIVE_NOTE})
                outputs += [still, note]
            else:
                output["data"] = {"text/plain": EXPLORER_PLACEHOLDER}
                outputs.append(output)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return nb


def execute(nb: nbformat.NotebookNode, workdir: Path, quick: bool = True, timeout: int = 1800) -> None:
    """Run every cell in a fresh kernel in ``workdir``, keeping outputs and execution counts."""
    os.environ["RESNET_QUICK"] = "1" if quick else "0"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    client.execute()
    for cell in nb.cells:  # timing metadata changes on every run: keep diffs small
        cell.metadata.pop("execution", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("draft", type=Path, help="percent-format .py draft, or an .ipynb to re-execute")
    parser.add_argument("notebook", type=Path, nargs="?", help="the .ipynb to write (default: the .ipynb given)")
    parser.add_argument("--no-execute", action="store_true", help="convert only")
    parser.add_argument("--full", action="store_true", help="execute in full mode (default: quick)")
    args = parser.parse_args(argv)
    if not args.draft.is_file():
        parser.error(f"draft: no such file: {args.draft}")
    if args.draft.suffix == ".ipynb":
        nb = nbformat.read(args.draft, as_version=4)
        args.notebook = args.notebook or args.draft
    elif args.notebook is None:
        parser.error("notebook: the .ipynb to write is required with a .py draft")
    else:
        nb = parse_percent(args.draft.read_text())
    if not args.no_execute:
        execute(nb, args.notebook.resolve().parent, quick=not args.full)
    strip_widget_state(nb)
    nbformat.validate(nb)
    nbformat.write(nb, args.notebook)
    print(f"wrote {args.notebook} ({len(nb.cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
