"""The interactive page (--html FILE): self-contained, its data the JSON document, and in a real
headless Chromium (Debian's chromium, driven over the DevTools protocol by tests/browser.py) the
highlighted cells, the sums of products and the running totals it shows equal the JSON output at
every step. The browser tests skip, saying why, when no Chromium is installed."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from browser import Browser
from conftest import ROOT, SEED

SAMPLES = ROOT / "samples"
ALL_SAMPLES = sorted(SAMPLES.glob("*.json"))
#: Channels-first samples stepped through overlay by overlay (seed, a 2-D multi-channel batch, padding, groups, dilation).
STEPPED = ["seed_1d.json", "batch_channels.json", "stride2_pad1.json", "grouped.json", "dilation.json"]


def embedded(html: str, name: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', html, re.S)
    assert match, name
    return json.loads(match.group(1))


def make_page(cli, tmp_path: Path, sample: Path, command: str = "backward", *extra: str) -> tuple[Path, dict]:
    page = tmp_path / (sample.stem + f"-{command}.html")
    result = cli(command, sample, "--html", page, *extra)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(cli(command, sample, "--json", "--overlays", "all").stdout)
    return page, doc


# -- without a browser ---------------------------------------------------------------------------


@pytest.mark.parametrize("sample", ALL_SAMPLES, ids=lambda p: p.stem)
def test_page_embeds_the_json_document_and_needs_no_network(cli, tmp_path, sample):
    doc = json.loads(sample.read_text())
    if "layers" in doc or doc.get("layer", "conv") != "conv":
        refused = cli("backward", sample, "--html", tmp_path / "p.html")
        assert refused.exit_code == 2 and "--html draws convolution layers only so far" in refused.stderr
        assert not (tmp_path / "p.html").exists()
        return
    page, doc = make_page(cli, tmp_path, sample)
    html = page.read_text(encoding="utf-8")
    assert embedded(html, "convgrad-json") == doc  # the same numbers as --json --overlays all
    view = embedded(html, "convgrad-view")
    assert view["shown"] == doc["config"]["overlay_count"] == len(view["overlays"])
    assert not re.search(r"(src|href)\s*=|https?://|<link|@import|url\(", html, re.I)  # nothing to fetch
    assert "default-src 'none'" in html  # and the page says so to the browser


def test_html_with_json_writes_both(cli, tmp_path):
    page = tmp_path / "p.html"
    result = cli("backward", SEED, "--json", "--html", page)
    assert result.exit_code == 0 and json.loads(result.stdout)["db"] == 0.1
    assert "convgrad-view" in page.read_text()


def test_html_record_keeps_the_terminal_export(cli, tmp_path):
    record = tmp_path / "r.html"
    result = cli("backward", SEED, "--html-record", record)
    assert result.exit_code == 0 and "[-0.03, 0.01, 0.1]" in record.read_text()
    bad = cli("backward", SEED, "--json", "--html-record", record)
    assert bad.exit_code == 2 and "--html-record save the table view" in bad.stderr


def big_problem(tmp_path: Path, side: int) -> Path:
    """A 1-D-free 2-D problem with (side-2)**2 overlays: small integers, a 3x3 kernel."""
    rng = np.random.default_rng(7)
    problem = {
        "A_prev": rng.integers(-3, 4, (side, side)).tolist(),
        "W": rng.integers(-2, 3, (3, 3)).tolist(),
        "b": 0.5,
        "dZ": rng.integers(-2, 3, (side - 2, side - 2)).tolist(),
    }
    path = tmp_path / f"big{side}.json"
    path.write_text(json.dumps(problem))
    return path


def test_huge_problems_are_capped_with_a_note(cli, tmp_path, monkeypatch):
    from convgrad.render import webpage

    monkeypatch.setattr(webpage, "MAX_PAGE_OVERLAYS", 5)
    page = tmp_path / "capped.html"
    result = cli("backward", SAMPLES / "basic_2d.json", "--html", page, "--json")
    assert result.exit_code == 0
    assert "the page holds overlays 1-5 of" not in result.stderr  # basic_2d has 4 overlays
    result = cli("backward", SAMPLES / "stride2_pad1.json", "--html", page)
    assert "note: the page holds overlays 1-5 of 9" in result.stderr
    view = embedded(page.read_text(), "convgrad-view")
    assert view["shown"] == 5 and len(view["overlays"]) == 5 and view["overlay_count"] == 9
    assert len(embedded(page.read_text(), "convgrad-json")["overlays"]) == 5
    # wide windows hold fewer overlays: batch_channels has 2 channels x 2x2 taps per overlay
    monkeypatch.setattr(webpage, "MAX_PAGE_TAPS", 20)
    result = cli("backward", SAMPLES / "batch_channels.json", "--html", page)
    assert "note: the page holds overlays 1-2 of 16" in result.stderr
    assert embedded(page.read_text(), "convgrad-view")["shown"] == 2


# -- in a browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    path = Browser.find()
    if path is None:
        pytest.skip("no Chromium installed (apt-get install chromium; .ci/run installs it): browser tests skipped")
    b = Browser(path)
    yield b
    b.quit()


def open_page(browser: Browser, page: Path) -> float:
    browser.errors.clear()
    return browser.open(page.as_uri())


def number(text: str) -> float:
    return float(text.replace(" (x)", ""))


def close(shown: str, value: float) -> bool:
    """A display text equals a computed value: the same up to the digits the display keeps."""
    return abs(number(shown) - value) <= 1e-9 * max(1.0, abs(value))


def label_index(title: str) -> tuple[int, ...]:
    inner = re.fullmatch(r"\w+(?:\[([\d,]*)\])?", title)
    assert inner, title
    return tuple(int(i) for i in inner.group(1).split(",")) if inner.group(1) else ()


def cells(browser: Browser, selector: str) -> list[tuple[str, str]]:
    """(title, text) of every cell matching selector."""
    return browser.evaluate(
        f"Array.from(document.querySelectorAll({json.dumps(selector)})).map(e => [e.title, e.textContent])"
    )


def activation_index(config: dict, n: int, c: int, pos: tuple[int, ...]) -> tuple[int, ...]:
    """A channels-first entry's index in the problem's form (bare, unbatched or batched)."""
    return {"bare": pos, "unbatched": (c, *pos)}.get(config["form"], (n, c, *pos))


def window_of(overlay: dict, config: dict) -> dict[tuple[int, ...], float]:
    """The A_prev entries (user index, channels-first forms) under an overlay's taps -> A_slice values."""
    k, d, size = config["kernel_size"], config["dilation"], config["input_size"]
    per_group_in = config["in_channels"] // config["groups"]
    first = overlay["c_out"] // (config["out_channels"] // config["groups"]) * per_group_in
    values = np.asarray(overlay["A_slice"], dtype=float).reshape(per_group_in, *k)
    found = {}
    for ci in range(per_group_in):
        for tap in np.ndindex(*k):
            pos = tuple(s + t * dd for s, t, dd in zip(overlay["window_start"], tap, d))
            if all(0 <= p < n for p, n in zip(pos, size)):
                found[activation_index(config, overlay["n"], first + ci, pos)] = float(values[(ci, *tap)])
    return found


@pytest.mark.parametrize("name", STEPPED)
def test_stepping_shows_the_json_numbers(browser, cli, tmp_path, name):
    page, doc = make_page(cli, tmp_path, SAMPLES / name)
    config = doc["config"]
    assert config["layout"].startswith("NC")  # window_of reads channels-first indices
    open_page(browser, page)
    bare = config["form"] == "bare"
    dW = np.zeros(config["shapes"]["dW"])
    db = np.zeros(config["shapes"]["db"])
    dA = np.zeros(config["shapes"]["dA_prev"])
    per_group_in = config["in_channels"] // config["groups"]
    for step, overlay in enumerate(doc["overlays"], start=1):
        if step > 1:
            browser.key("ArrowRight", "ArrowRight", 39)
        assert browser.evaluate("document.getElementById('counter').textContent") == (
            f"overlay {step} of {config['overlay_count']}"
        )
        # the window highlighted on A_prev: exactly the entries under the taps, with their values
        shown = {label_index(t): v for t, v in cells(browser, "#grid-A td.win") if t != "padding"}
        expected = window_of(overlay, config)
        assert set(shown) == set(expected), step
        assert all(close(shown[i], expected[i]) for i in expected), step
        # its Z cell and the sum of products written out
        z_cell = cells(browser, "#grid-Z td.cur")
        assert len(z_cell) == 1 and close(z_cell[0][1], overlay["Z"])
        formula = browser.evaluate("document.querySelector('#step .zformula').textContent")
        assert close(formula.rsplit("= ", 1)[1], overlay["Z"]), formula
        # the running totals after this overlay
        c, n = overlay["c_out"], overlay["n"]
        share = np.asarray(overlay["dW"], dtype=float)
        if bare:
            dW += share
            db += overlay["db"]
        else:
            dW[c] += share
            db[c] += overlay["db"]
        first = c // (config["out_channels"] // config["groups"]) * per_group_in
        dA_share = np.asarray(overlay["dA_prev"], dtype=float).reshape(per_group_in, *config["kernel_size"])
        for ci in range(per_group_in):
            for tap in np.ndindex(*config["kernel_size"]):
                pos = tuple(s + t * dd for s, t, dd in zip(overlay["window_start"], tap, config["dilation"]))
                if all(0 <= p < size for p, size in zip(pos, config["input_size"])):
                    dA[activation_index(config, n, first + ci, pos)] += dA_share[(ci, *tap)]
        for title, text in cells(browser, "#grid-dW td"):
            assert close(text, dW[label_index(title)]), (step, title, text)
        for title, text in cells(browser, "#grid-db td"):
            assert close(text, db[label_index(title)]), (step, title, text)
        for title, text in cells(browser, "#grid-dA td:not(.pad)"):
            assert close(text, dA[label_index(title)]), (step, title, text)
    # ... ending at the totals
    for name_, total in (("dW", doc["dW"]), ("db", doc["db"]), ("dA", doc["dA_prev"])):
        for title, text in cells(browser, f"#grid-{name_} td:not(.pad)"):
            assert close(text, np.asarray(total, dtype=float)[label_index(title)]), (title, text)
    assert browser.errors == []


@pytest.mark.parametrize("name", ["seed_1d.json", "batch_channels.json"])
def test_hovering_a_dW_entry_lists_its_terms(browser, cli, tmp_path, name):
    page, _ = make_page(cli, tmp_path, SAMPLES / name)
    open_page(browser, page)
    titles = [t for t, _ in cells(browser, "#grid-dW td")]
    for i, title in enumerate(titles):
        browser.hover(f'#grid-dW td[data-i="{i}"]')
        entry = title.replace("dW", "W", 1)
        terms = json.loads(cli("backward", SAMPLES / name, "--json", "--cell", entry).stdout)["audits"]["cell"]
        listed = browser.evaluate(
            "Array.from(document.querySelectorAll('#info-terms li')).map(e => [e.dataset.overlay, e.textContent])"
        )
        assert [int(o) for o, _ in listed] == [t["overlay"] for t in terms["terms"]], title
        for (_, text), term in zip(listed, terms["terms"]):
            assert close(text.rsplit("= ", 1)[1], term["product"]), text
        total = browser.evaluate("document.getElementById('info-total').textContent")
        assert total.startswith("total = ") and close(total.removeprefix("total = "), terms["gradient"])
        touched = browser.evaluate("document.querySelectorAll('#grid-Z td.touch').length")
        assert touched == sum(1 for t in terms["terms"] if t["dZ"]["index"][:1] == [0] or name == "seed_1d.json")
    assert browser.errors == []


def test_hovering_dA_prev_and_Z_entries(browser, cli, tmp_path):
    page, doc = make_page(cli, tmp_path, SAMPLES / "stride2_pad1.json")
    open_page(browser, page)
    title = cells(browser, '#grid-dA td[data-i="8"]')[0][0]  # row 1, col 1 of the 7x7 padded grid: A_prev[0,0]
    browser.hover('#grid-dA td[data-i="8"]')
    terms = json.loads(
        cli("backward", SAMPLES / "stride2_pad1.json", "--json", "--cell", title.replace("dA_prev", "A_prev")).stdout
    )
    listed = browser.evaluate("Array.from(document.querySelectorAll('#info-terms li')).map(e => +e.dataset.overlay)")
    assert listed == [t["overlay"] for t in terms["audits"]["cell"]["terms"]]
    browser.hover('#grid-Z td[data-i="4"]')
    info = browser.evaluate("document.getElementById('info').textContent")
    assert info.startswith("Z[1,1] = ") and close(info.rsplit("= ", 1)[1], doc["overlays"][4]["Z"])
    # the audits are marked: the padding of dA_prev is struck through (its gradient is discarded)
    assert browser.evaluate("document.querySelectorAll('#grid-dA td.pad.crop').length") == 49 - 25
    assert browser.errors == []


def test_stride_leftovers_are_marked(browser, cli, tmp_path):
    page, doc = make_page(cli, tmp_path, SAMPLES / "stride_leftover.json")
    open_page(browser, page)
    left = {label_index(t) for t, _ in cells(browser, "#grid-A td.left")}
    rows = {i for a in doc["audits"]["stride_leftovers"] if a["axis"] == 0 for i in a["indices"]}
    cols = {i for a in doc["audits"]["stride_leftovers"] if a["axis"] == 1 for i in a["indices"]}
    assert rows and left == {i for i in left if i[-2] in rows or i[-1] in cols}
    assert len(left) == sum(1 for r in range(6) for c in range(6) if r in rows or c in cols)
    assert "Stride leftover" in browser.evaluate("document.getElementById('audits').textContent")


def test_controls_forward_pages_and_other_forms(browser, cli, tmp_path):
    page, _ = make_page(cli, tmp_path, SAMPLES / "batch_channels.json")
    open_page(browser, page)
    browser.key("End", "End", 35)
    assert browser.evaluate("document.getElementById('counter').textContent") == "overlay 16 of 16"
    assert browser.evaluate("document.getElementById('sample').value") == "1"  # the sample follows the step
    browser.key("Home", "Home", 36)
    browser.evaluate("document.getElementById('next').click()")
    assert browser.evaluate("document.getElementById('slider').value") == "2"
    browser.evaluate("document.getElementById('prev').click()")
    assert browser.evaluate("document.getElementById('counter').textContent") == "overlay 1 of 16"
    browser.evaluate("document.getElementById('play').click()")
    time.sleep(2.0)
    browser.evaluate("document.getElementById('play').click()")  # pause
    played = browser.evaluate("+document.getElementById('slider').value")
    time.sleep(1.0)
    assert 1 < played == browser.evaluate("+document.getElementById('slider').value")
    browser.evaluate("document.getElementById('mode-forward').click()")
    assert browser.evaluate("getComputedStyle(document.getElementById('grid-dW')).display") == "none"
    assert browser.evaluate("document.querySelector('#step .dz') === null")
    # a forward page, a channels-last page and a 3-D page load without errors
    forward, _ = make_page(cli, tmp_path, SEED, "forward")
    open_page(browser, forward)
    assert browser.evaluate("document.getElementById('mode-backward').disabled")
    for sample in ("nhwc.json",):
        p, _ = make_page(cli, tmp_path, SAMPLES / sample)
        open_page(browser, p)
        browser.hover("#grid-dW td")
        assert browser.evaluate("document.querySelectorAll('#info-terms li').length") > 0
    # exact and symbolic numbers are shown as the terminal shows them
    exact = tmp_path / "exact.html"
    assert cli("backward", "-x", "1 2 3", "-w", "1/3 2/3", "--dZ", "1 1", "--exact", "--html", exact).exit_code == 0
    open_page(browser, exact)
    browser.key("End", "End", 35)
    assert cells(browser, "#grid-dA td") == [["dA_prev[0]", "1/3"], ["dA_prev[1]", "1"], ["dA_prev[2]", "2/3"]]
    symbolic = tmp_path / "symbolic.html"
    made = cli("backward", "--symbolic", "--A-prev-shape", "3", "--W-shape", "2", "--dZ-shape", "2", "--html", symbolic)
    assert made.exit_code == 0
    open_page(browser, symbolic)
    assert "w1*x1 + w2*x2" in browser.evaluate("document.querySelector('#step .zformula').textContent")
    cube = tmp_path / "cube.json"
    cube.write_text(
        json.dumps(
            {
                "A_prev": np.arange(27).reshape(3, 3, 3).tolist(),
                "W": [[[1, 0], [0, 1]], [[0, 1], [1, 0]]],
                "dZ": np.ones((2, 2, 2)).tolist(),
                "dims": 3,
            }
        )
    )
    p, _ = make_page(cli, tmp_path, cube)
    open_page(browser, p)
    assert browser.evaluate("document.querySelectorAll('#grid-A .slices > div').length") == 3
    assert browser.errors == []


@pytest.mark.slow
def test_ten_thousand_overlays_stay_responsive(browser, cli, tmp_path):
    page = tmp_path / "big.html"
    made = time.monotonic()
    assert cli("backward", big_problem(tmp_path, 102), "--html", page).exit_code == 0
    made = time.monotonic() - made
    seconds = open_page(browser, page)
    start = time.monotonic()
    browser.key("End", "End", 35)
    browser.key("ArrowLeft", "ArrowLeft", 37)
    browser.hover("#grid-W td")
    step_seconds = time.monotonic() - start
    print(
        f"\n10,000 overlays: page {page.stat().st_size / 1e6:.1f} MB made in {made:.1f} s, "
        f"ready in {seconds:.2f} s, jump+step+hover {step_seconds:.2f} s"
    )
    assert browser.evaluate("document.getElementById('counter').textContent") == "overlay 9999 of 10000"
    assert seconds < 30 and step_seconds < 10  # generous: CI machines are shared
    assert browser.errors == []


def test_a_page_over_the_output_limit_is_refused_before_anything_is_written(cli, tmp_path):
    page = tmp_path / "big.html"
    result = cli("backward", big_problem(tmp_path, 20), "--overlays", "none", "--html", page, "--max-output-mb", "0.1")
    assert result.exit_code == 2 and result.stdout == ""
    assert "the --html page would be about" in result.stderr and "--max-output-mb" in result.stderr
    assert not page.exists()
