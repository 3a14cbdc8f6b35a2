"""Every ```python block on every page (README, CONTRIBUTING, docs/*.md) runs as pasted.

A page's blocks run in order in one namespace, from the repository root, as a reader would paste
them into one notebook. A ```text block right after a ```python block is that block's output and
must be what it prints. A block that cannot run here says why in a comment just above it,
``<!-- not run: ... -->``; a block importing a library that is not installed is skipped, saying so.

``python tests/test_api_docs.py`` rewrites the shown outputs after an intended change.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(
    r"(<!-- not run: (?P<why>.*?) -->\n)?```python\n(?P<code>.*?)```(?P<after>\n\n```text\n(?P<shown>.*?)```)?", re.S
)


def pages() -> list[Path]:
    found = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [page for page in found if page.exists() and "```python" in page.read_text(encoding="utf-8")]


def blocks(text: str) -> list[re.Match[str]]:
    return list(BLOCK.finditer(text))


def missing_modules(code: str) -> list[str]:
    names = re.findall(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", code, re.M)
    names += re.findall(r"^\s*import\s+[\w.]+(?:\s*,\s*([A-Za-z_]\w*))", code, re.M)
    return sorted({name for name in names if name and importlib.util.find_spec(name) is None})


def run_page(page: Path) -> list[tuple[re.Match[str], str | None, str]]:
    """Run a page's blocks in order: (block, why it was not run or None, what it printed)."""
    namespace: dict = {"__name__": "__main__"}
    results = []
    previous = os.getcwd()
    os.chdir(ROOT)
    try:
        for block in blocks(page.read_text(encoding="utf-8")):
            if block["why"]:
                results.append((block, block["why"], ""))
                continue
            missing = missing_modules(block["code"])
            if missing:
                results.append((block, f"{', '.join(missing)} not installed", ""))
                continue
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(block["code"], f"{page.name} block at {block.start()}", "exec"), namespace)
            results.append((block, None, out.getvalue()))
    finally:
        os.chdir(previous)
    return results


def normal(text: str) -> str:
    return "".join(line.rstrip() + "\n" for line in text.rstrip("\n").splitlines())


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_blocks_run_as_pasted(page):
    skipped = []
    for block, why, printed in run_page(page):
        if why is not None:
            skipped.append(why)
            continue
        if block["shown"] is not None:
            assert normal(printed) == normal(block["shown"]), f"{page.name}: the output shown after\n{block['code']}"
    if skipped:
        assert all(why.strip() for why in skipped)
        if len(skipped) == len(blocks(page.read_text(encoding="utf-8"))):
            pytest.skip(f"{page.name}: no block runs here ({'; '.join(skipped)})")


def test_the_notebook_walkthrough_shows_outputs():
    text = (ROOT / "docs" / "notebook.md").read_text(encoding="utf-8")
    found = blocks(text)
    assert len(found) >= 8 and sum(block["shown"] is not None for block in found) >= 6
    assert not any(block["why"] for block in found)  # the walkthrough runs whole
    for name in ("table(", "explain(", "cell(", "to_dict(", "save(", "_repr_html_(", "repr(", "--html"):
        assert name in text, name


def test_a_wrong_shown_output_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nprint(1 + 1)\n```\n\n```text\n3\n```\n", encoding="utf-8")
    ((block, why, printed),) = run_page(page)
    assert why is None and normal(printed) != normal(block["shown"])


def refresh() -> None:
    """Rewrite each shown output with what its block prints now."""
    for page in pages():
        text = page.read_text(encoding="utf-8")
        pieces, last = [], 0
        for block, why, printed in run_page(page):
            if why is None and block["shown"] is not None:
                pieces += [text[last : block.start("shown")], normal(printed)]
                last = block.end("shown")
        page.write_text("".join(pieces) + text[last:], encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    refresh()
