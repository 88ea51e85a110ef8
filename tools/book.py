"""For readers: the notebooks as a static HTML book (``make book``), readable before installing anything.

    python -m tools.book             # writes _build/book/html/index.html
    python -m tools.book --out DIR   # the build folder (sources in DIR/src, pages in DIR/html)

Arranges the sources in a build folder, then runs sphinx-build with docs/book/conf.py (Sphinx, MyST-NB,
Furo). The notebooks are rendered as committed, with their outputs, and are never executed:

- the landing page is made from the README: what the course teaches, the notebook table with run times
  (each notebook's name becomes a link to its page), how to run it;
- every solution cell (nbgrader ``solution: true``) is tagged ``hide-input``: its code sits behind a closed
  "Show solution" toggle, never in plain view;
- figures keep the alt text their outputs carry (helpers.alt_text); explorers appear as their still
  figure with the line saying the live version runs in JupyterLab (tools.authoring keeps both).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "docs" / "book"
DEFAULT_OUT = ROOT / "_build" / "book"
LANDING_SECTIONS = ("The notebooks", "Quick start")  # README sections on the landing page, in this order


def notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks of the collection, in reading order."""
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def readme_sections(text: str) -> tuple[str, dict[str, str]]:
    """The README's head (title and first paragraphs) and its ``## `` sections by title."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    head, sections = parts[0], {}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[title.strip()] = body
    return head, sections


def landing_page(readme: str, names: list[str]) -> str:
    """The book's index.md: the README's head, its notebook table (names linked to their pages), how to run
    it, and the table of contents."""
    head, sections = readme_sections(readme)
    missing = [s for s in LANDING_SECTIONS if s not in sections]
    if missing:
        raise ValueError(f"README.md has no section(s) {missing}: the landing page is made from them")
    head = "\n".join(line for line in head.splitlines() if not line.startswith(">"))  # the book note is for the repo
    table = sections["The notebooks"]
    for name in names:
        table = table.replace(f"| `{name}` |", f"| [{name}]({name}.ipynb) |")
    run = sections["Quick start"]
    toc = "\n".join(names)
    return (f"{head.strip()}\n\nThis is the static book of the collection: every notebook as committed, with its "
            "outputs. Explorers appear as still figures (the live versions run in JupyterLab), and every "
            "exercise's solution sits behind a \"Show solution\" toggle.\n\n"
            f"## The notebooks\n{table.rstrip()}\n\n## How to run it\n{run.rstrip()}\n\n"
            f"```{{toctree}}\n:maxdepth: 1\n:caption: Notebooks\n\n{toc}\n```\n")


def _relink(markdown: str) -> str:
    """Links to files of the repository (not pages of the book) as plain text: the book has no such pages."""
    return re.sub(r"\[([^\]]+)\]\((?!https?://|#)([^)]+)\)",
                  lambda m: m[0] if m[2].endswith(".ipynb") and "/" not in m[2] else f"{m[1]} (`{m[2]}`)", markdown)


def arrange(src: Path, root: Path = ROOT) -> list[str]:
    """Write the book's sources into ``src``: index.md and the notebooks, solutions tagged hide-input."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    names = []
    for path in notebooks(root):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and cell.cell_type == "code":
                tags = cell.metadata.setdefault("tags", [])
                if "hide-input" not in tags:
                    tags.append("hide-input")
            elif cell.cell_type == "markdown":
                cell.source = _relink(cell.source)
        nbformat.write(nb, src / path.name)
        names.append(path.stem)
    (src / "index.md").write_text(_relink(landing_page((root / "README.md").read_text(), names)))
    return names


def build(out: Path = DEFAULT_OUT, root: Path = ROOT, quiet: bool = True) -> Path:
    """Arrange the sources and run sphinx-build; returns the landing page's path."""
    src, html = out / "src", out / "html"
    arrange(src, root)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(CONF_DIR), "-j", "1", "-E",
               *(["-q"] if quiet else []), str(src), str(html)]
    subprocess.run(command, check=True)
    return html / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="build folder (default: _build/book)")
    args = parser.parse_args(argv)
    index = build(args.out)
    print(f"the book: {index} (open it in a browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
