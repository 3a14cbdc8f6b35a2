"""Remake the interactive page's screenshots in docs/ (needs a system Chromium):

    python docs/screenshots.py

Each page is made by the CLI (`convgrad backward SAMPLE --html`), opened in headless Chromium
(tests/browser.py), stepped and hovered with real key and mouse events, then captured whole.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser import Browser  # noqa: E402

#: (sample, picture, steps forward from overlay 1, the dW entry hovered)
SHOTS = [
    ("seed_1d.json", "page-seed.png", 1, 1),
    ("batch_channels.json", "page-2d.png", 5, 0),
]


def main() -> None:
    path = Browser.find()
    if path is None:
        sys.exit("no Chromium found: apt-get install chromium")
    browser = Browser(path, width=1100, height=800)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for sample, picture, steps, entry in SHOTS:
                page = Path(tmp) / (Path(sample).stem + ".html")
                subprocess.run(
                    [sys.executable, "-m", "convgrad", "backward", str(ROOT / "samples" / sample), "--html", str(page)],
                    check=True,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                )
                browser.open(page.as_uri())
                for _ in range(steps):
                    browser.key("ArrowRight", "ArrowRight", 39)
                browser.hover(f'#grid-dW td[data-i="{entry}"]')
                browser.screenshot(str(ROOT / "docs" / picture))
                if browser.errors:
                    sys.exit(f"{sample}: {browser.errors}")
                print(f"docs/{picture}")
    finally:
        browser.quit()


if __name__ == "__main__":
    main()
