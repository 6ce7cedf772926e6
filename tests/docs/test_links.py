"""Every link in the README and docs/ leads somewhere: a moved or renamed page must not
leave a newcomer at a dead end.

Checked: relative Markdown links (the file exists; a `#fragment` names a heading of the
target page, GitHub's way) and plain `docs/....md` mentions in the docs and in the code's
docstrings and comments (the page exists).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
SOURCES = sorted(p for folder in ("app", "core", "worker", "benchmarks", "migrations") for p in (REPO / folder).rglob("*.py"))
MENTION = re.compile(r"(?<![\w/.])docs/[\w./-]*?\.md\b")
PARSER = MarkdownIt("commonmark").enable("table")


def links(page: Path) -> list[str]:
    """The targets of every inline link and image in `page`."""
    found = []
    stack = list(PARSER.parse(page.read_text()))
    while stack:
        token = stack.pop()
        stack.extend(token.children or [])
        target = token.attrGet("href") or token.attrGet("src")
        if target:
            found.append(str(target))
    return found


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    tokens = PARSER.parse(page.read_text())
    titles = [tokens[i + 1].content for i, token in enumerate(tokens) if token.type == "heading_open"]
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_there_are_pages_to_check():
    assert REPO / "README.md" in PAGES and len(PAGES) > 5


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_relative_links_resolve(page: Path):
    broken = []
    for target in links(page):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue  # an outside address: not this test's to check
        path = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not path.exists():
            broken.append(f"{target}: no file {path}")
        elif parts.fragment and path.suffix == ".md" and parts.fragment not in anchors(path):
            broken.append(f"{target}: no heading #{parts.fragment} in {rel(path)}")
    assert not broken, f"{rel(page)}: " + "; ".join(broken)


@pytest.mark.parametrize("page", PAGES + SOURCES, ids=rel)
def test_docs_mentions_name_existing_pages(page: Path):
    missing = sorted({m for m in MENTION.findall(page.read_text()) if not (REPO / m).is_file()})
    assert not missing, f"{rel(page)} mentions pages that do not exist: {missing}"


def test_the_checks_see_links_anchors_and_mentions(tmp_path: Path):
    """Links inside code spans are not links; headings give anchors; paths ending in
    docs/ only as a suffix of another folder are not mentions."""
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[there](missing.md) [here](#title) [out](https://example.org) `[code](x.md)`\n")
    assert sorted(links(page)) == ["#title", "https://example.org", "missing.md"]
    assert anchors(page) == {"title"}
    assert MENTION.findall("see docs/results/verifier.md, not mydocs/x.md") == ["docs/results/verifier.md"]
