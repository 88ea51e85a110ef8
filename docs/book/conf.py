"""Sphinx configuration of the book (``make book``; tools/book.py arranges the sources and calls sphinx-build).

Sphinx + MyST-NB renders the committed notebooks with their outputs and never executes them; Furo gives
navigation (previous/next, a sidebar), search and a layout that reads on a phone; sphinx-mathjax-offline
ships MathJax with the book so that equations render without the internet.
"""
from __future__ import annotations

project = "Residual Networks, cell by cell"
author = "the course authors"
copyright = "the course authors"

extensions = ["myst_nb", "sphinx.ext.mathjax", "sphinx-mathjax-offline"]  # the last is its module name, with dashes
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "furo"
html_title = project
html_static_path: list[str] = []
html_copy_source = False
html_show_sourcelink = False

# The notebooks as committed: outputs shown, nothing re-executed (no kernel, no torch needed to build).
nb_execution_mode = "off"
nb_merge_streams = True
# A solution cell is tagged hide-input by tools/book.py: its code sits behind this toggle, closed.
nb_code_prompt_show = "Show solution"
nb_code_prompt_hide = "Hide solution"
# Explorers: the committed notebooks hold each one's first state as a still PNG with alt text, and a line that
# the live version runs in JupyterLab (helpers.widgets + tools.authoring); no widget state to render here.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]



def _alt_from_output_metadata(app, doctree, docname):
    """Give each figure the alt text its notebook output carries (``metadata["image/png"]["alt"]``, written by
    helpers.alt_text from the figure's data). MyST-NB 1.4 copies only width and height from an output's
    metadata; it names each image file by the sha256 of its bytes, so the alt text is found by that hash."""
    import base64
    import hashlib
    from pathlib import Path

    import nbformat
    from docutils import nodes

    source = Path(app.env.doc2path(docname))
    if source.suffix != ".ipynb":
        return
    alts = {}
    for cell in nbformat.read(source, as_version=4).cells:
        for output in cell.get("outputs", []):
            for mime in ("image/png", "image/jpeg"):
                alt = output.get("metadata", {}).get(mime, {}).get("alt")
                if alt and mime in output.get("data", {}):
                    alts[hashlib.sha256(base64.b64decode(output["data"][mime])).hexdigest()] = alt
    for image in doctree.findall(nodes.image):
        alt = alts.get(Path(image.get("uri", "")).stem)
        if alt:
            image["alt"] = alt


def setup(app):
    app.connect("doctree-resolved", _alt_from_output_metadata)
