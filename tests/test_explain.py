"""--explain, the window grids, the audits, --cell, the identities, shape and the exports."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from cases import SWEEP, decimal_values, make_case
from conftest import ROOT, SAMPLES, SEED, shown

import convgrad
from convgrad.identities import dA_by_transposed_convolution, dW_by_correlation

SAMPLE = {p.stem: p for p in SAMPLES}


def test_explain_tells_the_seed(cli):
    out = cli("backward", SEED, "--explain").stdout
    flat = " ".join(out.split())
    assert "The kernel covers A_prev positions 0..1: the slice [1, 2]. Z[0] = 0.3·1 + 0.5·2 = 1.3." in flat
    assert "adds dZ·W = [0.06, 0.1] to dA_prev at positions 1..2, giving [-0.03, 0.01, 0.1]." in flat
    assert "adds dZ·A_slice = [0.4, 0.6] to dW, which becomes [0.3, 0.4]" in flat
    assert "Why the weights stay shared" in out
    assert "dW = Σ dZ·A_slice = [0.3, 0.4]" in flat
    assert "Both ways give the same numbers: equal." in flat


def test_explain_mentions_the_padding(cli):
    out = " ".join(cli("backward", SAMPLE["stride2_pad1"], "--explain", "--overlays", "1").stdout.split())
    assert "rows -1..1, cols -1..1 (part of it hangs in the padding, which reads 0)" in out
    assert "(the 5 values on the padding, 0.1, 0, -0.1, 0.2, 0.1, are discarded)" in out


def test_forward_explain(cli):
    result = cli("forward", SAMPLE["basic_2d"], "--explain")
    assert result.exit_code == 0
    assert "Z[0, 0] = 0.1·1 + 0.2·2 + 0.3·4 + 0.4·5 + 0.5 = 4.2." in " ".join(result.stdout.split())
    assert "Why the weights stay shared" not in result.stdout


def test_grids_mark_the_window_without_color(cli):
    out = shown(cli("backward", SEED, env={"NO_COLOR": "1"}), "Totals")
    assert "\x1b[" not in out
    assert "[1] [2]  3" in out and " 1  [2] [3]" in out


def test_grids_are_colored_on_a_terminal(cli):
    out = cli("backward", SEED, env={"FORCE_COLOR": "1", "TERM": "xterm-256color"}).stdout
    assert "\x1b[" in out  # the window highlighted
    assert "[1][2]" in out.replace("\x1b[0m", "").replace("\x1b[1;30;43m", "") or "[1]" in out


def test_blocks_show_the_output_cell(cli):
    out = cli("backward", SAMPLE["stride2_pad1"], "--overlays", "2").stdout
    assert "Z, this output in [ ]" in out
    assert "[-2]" in out


# -- audits -------------------------------------------------------------------------------------


def test_stride_leftovers_only_where_they_apply(cli):
    out = cli("backward", SAMPLE["stride_leftover"], "--overlays", "none").stdout
    flat = " ".join(out.split())
    assert "Stride leftovers" in out
    assert (
        "A_prev row 5 is never under any window: along this axis out = floor((6 + 0 + 0 - 1·(3-1) - 1) / 2) "
        "+ 1 = floor(3/2) + 1 = 2, and the last window ends at index 4, before index 5."
    ) in flat
    assert "A_prev column 5 is never under any window" in flat
    for name in ("seed_1d", "basic_2d", "stride2_pad1"):
        assert "Stride leftovers" not in shown(cli("backward", SAMPLE[name]), "Totals")
    doc = json.loads(cli("backward", SAMPLE["stride_leftover"], "--json").stdout)
    assert [(a["axis"], a["indices"]) for a in doc["audits"]["stride_leftovers"]] == [(0, [5]), (1, [5])]
    dA = np.array(doc["dA_prev"])
    assert (dA[5, :] == 0).all() and (dA[:, 5] == 0).all()


def test_leftover_reasons_name_each_gap(cli):
    out = shown(
        cli("backward", "-x", "1 2 3 4 5 6", "-w", "[1,1]", "--dZ", "1 1", "--stride", "3", "-o", "none"),
        "Stride leftovers",
    )
    assert "stride 3 steps over index 2; the last window ends at index 4, before index 5" in " ".join(out.split())


def test_dilation_gaps_are_leftovers_too():
    from convgrad.audits import stride_leftovers

    r = convgrad.forward(np.ones(7), np.ones(2), stride=4, dilation=2)  # taps 0,2 and 4,6
    assert [left.indices for left in stride_leftovers(r.problem.geom)] == [(1, 3, 5)]


def test_padding_crop_only_where_it_applies(cli):
    out = shown(
        cli("backward", SAMPLE["stride2_pad1"], "--overlays", "none"), "Padding crop", "the inner 5×5 is dA_prev"
    )
    assert "(discarded magnitudes add up to" not in out
    assert "Padding crop" not in shown(cli("backward", SAMPLE["basic_2d"]), "Totals")
    assert "Padding crop" not in shown(cli("forward", SAMPLE["stride2_pad1"]), "Result")
    doc = json.loads(cli("backward", SAMPLE["stride2_pad1"], "--json", "--exact").stdout)
    crop = doc["audits"]["padding_crop"]
    padded = np.array(crop["padded_gradient"], dtype=float)
    assert padded.shape == (7, 7)
    np.testing.assert_allclose(padded[1:-1, 1:-1], np.array(doc["dA_prev"], dtype=float))
    inner = np.zeros((7, 7), dtype=bool)
    inner[1:-1, 1:-1] = True
    assert crop["discarded_magnitude"] == pytest.approx(np.abs(padded[~inner]).sum())
    assert json.loads(cli("backward", SAMPLE["basic_2d"], "--json").stdout)["audits"]["padding_crop"] is None


def test_cell_reverse_view(cli):
    out = cli("backward", SAMPLE["stride_leftover"], "--overlays", "none", "--cell", "2,2").stdout
    assert "Every overlay that touched A_prev[2, 2]" in out
    assert "dA_prev[2, 2] = sum of the 4 terms = -0.25" in out
    doc = json.loads(cli("backward", SAMPLE["stride_leftover"], "--json", "--cell", "A_prev[2,2]").stdout)
    cell = doc["audits"]["cell"]
    assert cell["gradient"] == pytest.approx(-0.25) == doc["dA_prev"][2][2]
    assert [t["overlay"] for t in cell["terms"]] == [1, 2, 3, 4]
    assert cell["terms"][0]["W"] == {"index": [2, 2], "value": -0.5}
    w = json.loads(cli("backward", SAMPLE["stride2_pad1"], "--json", "--cell", "W[0,0]").stdout)
    assert w["audits"]["cell"]["gradient"] == pytest.approx(w["dW"][0][0])
    assert (
        "Overlays 1-4, 7 put W[0, 0] on the padding"
        in cli("backward", SAMPLE["stride2_pad1"], "--overlays", "none", "--cell", "W:0,0").stdout
    )
    b = json.loads(cli("backward", SAMPLE["batch_channels"], "--json", "--cell", "b[1]").stdout)
    assert b["audits"]["cell"]["gradient"] == pytest.approx(b["db"][1])
    chan = json.loads(cli("backward", SAMPLE["batch_channels"], "--json", "--cell", "1,0,2,1").stdout)
    assert chan["audits"]["cell"]["gradient"] == pytest.approx(chan["dA_prev"][1][0][2][1])


@pytest.mark.parametrize(
    "cell,message",
    [
        (
            "9,9",
            "--cell '9,9' is not an entry of A_prev: A_prev has shape (3, 3): indexes 0..2, 0..2 "
            "(2 indexes, counting from 0)",
        ),
        (
            "1",
            "--cell '1' is not an entry of A_prev: A_prev has shape (3, 3): indexes 0..2, 0..2 "
            "(2 indexes, counting from 0)",
        ),
        (
            "dW[2,0]",
            "--cell 'dW[2,0]' is not an entry of dW: dW has shape (2, 2): indexes 0..1, 0..1 "
            "(2 indexes, counting from 0)",
        ),
        ("db[1]", "--cell 'db[1]' is not an entry of db: db is a single number: leave out the index"),
        ("Q[1]", "--cell 'Q[1]' is not an entry such as 1,2 or dA_prev[1,2] or dW[0,1] or db[1] or Z[0,1]"),
    ],
)
def test_bad_cell(cli, cell, message):
    result = cli("backward", SAMPLE["basic_2d"], "--cell", cell)
    assert result.exit_code == 2 and result.stderr == f"error: {message}\n"


@pytest.mark.parametrize(
    "sample,gradient,plain",
    [
        ("basic_2d", "dW[0,0]", "W[0,0]"),
        ("basic_2d", "dA_prev[1,2]", "A_prev[1,2]"),
        ("nhwc", "dA_prev[0,1,2,1]", "A_prev[0,1,2,1]"),
        ("batch_channels", "db[1]", "b[1]"),
        ("nhwc", "dW[1,0,1,0]", "W[1,0,1,0]"),
    ],
)
def test_cell_takes_the_gradient_names(cli, sample, gradient, plain):
    by_gradient = json.loads(cli("backward", SAMPLE[sample], "--json", "--cell", gradient).stdout)["audits"]["cell"]
    by_entry = json.loads(cli("backward", SAMPLE[sample], "--json", "--cell", plain).stdout)["audits"]["cell"]
    assert by_gradient == by_entry
    table = cli("backward", SAMPLE[sample], "--overlays", "none", "--cell", gradient)
    assert table.exit_code == 0 and "Every overlay that touched" in table.stdout


def test_cell_of_z_shows_the_overlay_that_made_it(cli):
    doc = json.loads(cli("backward", SAMPLE["nhwc"], "--json", "--overlays", "all", "--cell", "Z[0,1,0,1]").stdout)
    cell = doc["audits"]["cell"]
    assert cell["array"] == "Z" and cell["gradient"] == pytest.approx(doc["Z"][0][1][0][1])
    (number,) = {t["overlay"] for t in cell["terms"]}
    overlay = doc["overlays"][number - 1]
    assert overlay["Z"] == pytest.approx(doc["Z"][0][1][0][1]) and overlay["c_out"] == 1
    assert overlay["position"] == [1, 0]
    assert sum(t["product"] for t in cell["terms"]) == pytest.approx(cell["gradient"])
    assert cell["terms"][-1]["b"] == {"index": [1], "value": 0.5}
    out = " ".join(cli("backward", SAMPLE["basic_2d"], "--overlays", "none", "--cell", "Z[0,1]").stdout.split())
    assert "The overlay that made Z[0, 1]: overlay 2" in out
    assert "W[1,1] = 0.4 A_prev[1,2] = 6 2.4" in out
    assert "Z[0, 1] = sum of the 4 products plus the bias = 5.2" in out
    forward = cli("forward", SAMPLE["basic_2d"], "--overlays", "none", "--cell", "Z[1,1]")
    assert forward.exit_code == 0 and "overlay 4" in forward.stdout


# -- identities -----------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(SWEEP)))
def test_identities_hold_across_the_sweep(index):
    rng = np.random.default_rng(7000 + index)
    problem, _, _ = make_case(rng, **SWEEP[index])
    config = {k: v for k, v in problem.items() if k not in ("A_prev", "W", "dZ", "b")}
    r = convgrad.backward(problem["A_prev"], problem["W"], problem["dZ"], problem.get("b"), **config)
    _, dW, _, dA = r.canonical_totals
    np.testing.assert_allclose(dW_by_correlation(r.problem), dW, rtol=1e-10, atol=1e-12)
    _padded, cropped = dA_by_transposed_convolution(r.problem)
    np.testing.assert_allclose(cropped, dA, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("index", range(0, len(SWEEP), 5))
def test_identities_are_exact_in_rationals(index):
    rng = np.random.default_rng(8000 + index)
    problem, _, _ = make_case(rng, **SWEEP[index], values=decimal_values)
    config = {k: v for k, v in problem.items() if k not in ("A_prev", "W", "dZ", "b")}
    r = convgrad.backward(problem["A_prev"], problem["W"], problem["dZ"], problem.get("b"), exact=True, **config)
    _, dW, _, dA = r.canonical_totals
    assert (dW_by_correlation(r.problem) == dW).all()
    assert (dA_by_transposed_convolution(r.problem).dA_prev == dA).all()


# -- shape ------------------------------------------------------------------------------------


def test_shape_counts_weights_4_16_36(cli):
    out = cli("shape", "--A-prev-shape", "3x3", "--W-shape", "2x2").stdout
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "this layer (shared kernels)                   4" in out
    assert "locally connected (a kernel per overlay)     16" in out
    assert "dense (same input and output)                36" in out
    assert "floor((3 + 0 + 0 - 1·(2-1) - 1) / 1) + 1 = floor(1/1) + 1 = 2" in out
    assert "Z (2, 2): 4 overlays" in out and rows


def test_shape_json_from_a_file_and_from_shapes(cli_json):
    doc = cli_json("shape", SAMPLE["stride2_pad1"])
    assert doc["output_size"] == [3, 3] and doc["padding"] == [[1, 1], [1, 1]] and doc["overlays"] == 9
    assert doc["weights"] == {"conv": 9, "locally_connected": 81, "dense": 225}
    same = cli_json(
        "shape", "--A-prev-shape", "1x3x32x32", "--W-shape", "16x3x5x5", "--stride", "2", "--padding", "same"
    )
    assert same["output_size"] == [16, 16] and same["padding"] == [[1, 2], [1, 2]]
    assert same["weights"]["conv"] == 16 * 3 * 25 and same["biases"]["conv"] == 16
    seed = cli_json("shape", "--A-prev-shape", "3x3", "--W-shape", "2x2")
    assert seed["weights"] == {"conv": 4, "locally_connected": 16, "dense": 36}


def test_shape_needs_something(cli):
    result = cli("shape", "--A-prev-shape", "3x3")
    assert result.exit_code == 2
    assert "shape needs a problem file, or --A-prev-shape and --W-shape" in result.stderr


# -- exports --------------------------------------------------------------------------------


def test_markdown_export(cli):
    out = cli("backward", SEED, "--format", "markdown").stdout
    assert out.startswith("# convgrad backward")
    for part in (
        "## Problem",
        "## Overlays",
        "**Overlay 2**",
        "- dA_prev += dZ · W on the window = 0.2 · [0.3, 0.5] = [0.06, 0.1]",
        "## Totals",
        "| 0.3 | 0.4 |",
    ):
        assert part in out, part


def csv_tables(text: str) -> tuple[list[dict], list[dict]]:
    """The two tables of a CSV export, split at the blank line between them (as docs/json.md says)."""
    overlays, totals = text.split("\n\n")
    return list(csv.DictReader(io.StringIO(overlays))), list(csv.DictReader(io.StringIO(totals)))


def test_csv_export_one_row_per_overlay(cli):
    out = cli("backward", SAMPLE["batch_channels"], "--format", "csv").stdout
    rows, _ = csv_tables(out)
    doc = json.loads(cli("backward", SAMPLE["batch_channels"], "--json").stdout)
    assert len(rows) == doc["config"]["overlay_count"] == 16
    for row, overlay in zip(rows, doc["overlays"]):
        assert json.loads(row["dW"]) == overlay["dW"]
        assert float(row["Z"]) == overlay["Z"] and float(row["dZ"]) == overlay["dZ"]
        assert json.loads(row["position"]) == overlay["position"]
    exact, _ = csv_tables(cli("backward", SEED, "--format", "csv", "--exact").stdout)
    assert exact[0]["dA_prev"] == "[-0.03, -0.05]" and exact[0]["Z"] == "1.3"
    forward = cli("forward", SEED, "--format", "csv").stdout.splitlines()
    assert forward[0] == "number,n,c_out,position,window_start,A_slice,Z"


@pytest.mark.parametrize("sample", ["nhwc", "batch_channels", "seed_1d"])
def test_csv_export_has_the_totals(cli, sample):
    doc = json.loads(cli("backward", SAMPLE[sample], "--json").stdout)
    for overlays in ("all", "none"):
        rows, totals = csv_tables(cli("backward", SAMPLE[sample], "--format", "csv", "--overlays", overlays).stdout)
        assert len(rows) == (doc["config"]["overlay_count"] if overlays == "all" else 0)
        seen = {}
        for row in totals:
            seen.setdefault(row["quantity"], {})[tuple(json.loads(row["index"]))] = float(row["value"])
        assert sorted(seen) == ["Z", "dA_prev", "dW", "db"]
        for name, entries in seen.items():
            array = np.asarray(doc[name], dtype=float)
            assert len(entries) == array.size
            for index, value in entries.items():
                assert value == array[index]
    forward = cli("forward", SEED, "--format", "csv", "--overlays", "none").stdout
    assert forward == "number,n,c_out,position,window_start,A_slice,Z\n\nquantity,index,value\nZ,[0],1.3\nZ,[1],2.1\n"


@pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="no LaTeX engine installed (apt-get install texlive-latex-base to run this)",
)
@pytest.mark.parametrize("sample", ["seed_1d", "stride2_pad1", "batch_channels", "nhwc"])
def test_latex_compiles(cli, tmp_path, sample):
    tex = cli("backward", SAMPLE[sample], "--format", "latex", "--exact").stdout
    (tmp_path / "out.tex").write_text(tex)
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "out.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "out.pdf").stat().st_size > 1000


def test_latex_text(cli):
    tex = cli("backward", "-x", "1 2 3", "-w", '["1/3","2/3"]', "--dZ", "1 1", "--exact", "--format", "latex").stdout
    assert r"\begin{document}" in tex and r"\end{document}" in tex
    assert r"\frac{5}{3}" in tex and r"A_{prev}" in tex and "A\\_prev" in tex


def test_svg_and_html_record_save_what_the_terminal_shows(cli, tmp_path):
    svg, html = tmp_path / "seed.svg", tmp_path / "seed.html"
    result = cli("backward", SEED, "--svg", svg, "--html-record", html)
    assert result.exit_code == 0
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = svg.read_text()
    assert "0.3·1" in text.replace("&#160;", " ") or "0.3" in text
    assert "<html" in html.read_text().lower() and "[-0.03, 0.01, 0.1]" in html.read_text()
    assert "0.3·1 + 0.5·2 = 1.3" in result.stdout  # still printed to the terminal
    bad = cli("backward", SEED, "--json", "--svg", svg)
    assert bad.exit_code == 2 and "--svg and --html-record save the table view" in bad.stderr


def test_readme_svg_is_made_by_the_tool():
    svg = ROOT / "docs" / "seed.svg"
    assert ET.parse(svg).getroot().tag.endswith("svg")
    assert "convgrad" in svg.read_text() and "rich-terminal" in svg.read_text()
