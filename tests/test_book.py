"""The static book (``make book``, tools/book.py) read in headless chromium, page by page.

Uses the book CI built (``RESNET_BOOK_DIR``, set by .ci/run after ``make book``), else builds it once into a
temporary folder (seconds: nothing is executed), then opens the landing page and every notebook's page and
checks what a reader meets: no console error, every internal link
resolves (file and anchor), every image has alt text that is not a placeholder, and no solution's code is
in plain view. One full-page screenshot per page goes to ``$CI_LOG_DIR/book/`` (default ``ci-logs/book/``).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from tools import book

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("CI_LOG_DIR") or ROOT / "ci-logs") / "book"
NOTEBOOK_PAGES = [path.stem for path in book.notebooks()]
PAGES = ["index", *NOTEBOOK_PAGES, "search"]  # search: Sphinx's search page, which a reader uses offline too
PLACEHOLDERS = {"", "image", "png", "img", "figure", "picture", "output", "none", "alt"}


def is_placeholder(alt: str | None, src: str | None) -> bool:
    """No alt, a word like "Image", or a file name (Sphinx's fallback when an output carries no alt text)."""
    text = (alt or "").strip()
    return (text.lower() in PLACEHOLDERS or text == src or bool(re.fullmatch(r"\S+\.(png|jpe?g|svg|gif)", text, re.I)))


def test_placeholder_alt_texts_are_caught():
    assert is_placeholder("Image", "x.png") and is_placeholder("_images/ab12.png", "_images/ab12.png")
    assert is_placeholder(None, "x.png") and is_placeholder("  ", "x.png")
    assert not is_placeholder("Figure: training error per epoch. plain-56 ends at 52.9%.", "x.png")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The book's html folder: the one CI's ``make book`` built (``RESNET_BOOK_DIR``), else built here."""
    given = os.environ.get("RESNET_BOOK_DIR")
    if given:
        html = Path(given) / "html"
        assert (html / "index.html").is_file(), f"RESNET_BOOK_DIR={given} holds no built book (make book)"
        return html
    return book.build(tmp_path_factory.mktemp("book")).parent


def solution_lines(name: str) -> list[str]:
    """Lines of code that only the notebook's solutions contain (long enough to be unmistakable)."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    solutions, others = set(), set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = {line.strip() for line in cell.source.splitlines()}
        if cell.metadata.get("nbgrader", {}).get("solution"):
            solutions |= lines
        else:
            others |= lines
    return sorted(line for line in solutions - others if len(line) >= 25 and not line.startswith("#"))


def test_landing_page_has_the_table_with_run_times_and_links(built):
    index = (built / "index.html").read_text()
    for name in NOTEBOOK_PAGES:
        assert f'href="{name}.html"' in index, f"the landing page does not link to {name}"
    assert "quick mode" in index and re.search(r"\b\d+ s\b", index), "the notebook table with run times is missing"


def test_a_figure_output_keeps_its_alt_text(built):
    """The alt text in an output's metadata (helpers.alt_text) reaches the page's <img alt>."""
    page = (built / "03_residual_blocks.html").read_text()
    alts = re.findall(r'<img[^>]*alt="([^"]*)"', page)
    assert any("plain-56" in alt and "%" in alt for alt in alts), f"no alt text states plain-56's error: {alts}"


@pytest.mark.parametrize("name", PAGES)
def test_page_in_chromium(browser, built, name):
    path = built / f"{name}.html"
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(300)  # scripts that run after load (search, theme)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

        assert not errors, f"console errors on {name}: {errors}"

        broken = []
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            parts = urlsplit(href)
            if parts.scheme or href.startswith("//") or href.startswith("mailto:"):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.is_file():
                broken.append(href)
            elif parts.fragment and f'id="{unquote(parts.fragment)}"' not in target.read_text():
                broken.append(href)
        assert not broken, f"internal links on {name} that lead nowhere: {broken}"

        images = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.getAttribute('src'), i.getAttribute('alt')])")
        bad = [(src[:60], alt) for src, alt in images if is_placeholder(alt, src)]
        assert not bad, f"images on {name} without real alt text: {bad}"

        if name == "03_residual_blocks":  # the evidence: the real-scale degradation figure, with its alt text
            figure = page.locator('img[alt*="Real scale"]').first
            figure.scroll_into_view_if_needed()
            figure.screenshot(path=str(SHOTS / f"{name}-real-scale-figure.png"))
            print(f"03's real-scale figure, alt text: {figure.get_attribute('alt')}")

        if name == "search":  # the search works offline: a word from 05 finds 05's page
            page.goto(path.as_uri() + "?q=bottleneck", wait_until="load")
            page.wait_for_selector("#search-results li a", timeout=15_000)
            found = page.eval_on_selector_all("#search-results li a", "links => links.map(a => a.getAttribute('href'))")
            assert any("05_bottleneck" in href for href in found), f"searching 'bottleneck' found {found}"

        if name in NOTEBOOK_PAGES:
            visible_code = page.eval_on_selector_all(
                "pre", "pres => pres.filter(p => p.checkVisibility()).map(p => p.innerText).join('\\n')")
            assert "BEGIN SOLUTION" not in visible_code, f"a solution is in plain view on {name}"
            shown = [line for line in solution_lines(name) if line in visible_code]
            assert not shown, f"solution code in plain view on {name}: {shown[:3]}"
            toggles = page.locator("details.hide-above-input, details.above-input, details").count()
            assert toggles >= 1, f"no 'Show solution' toggle on {name}"
    finally:
        page.close()
