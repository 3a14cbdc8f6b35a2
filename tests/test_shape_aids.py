"""shape's lecture aids: stride leftovers, thousands separators, plurals."""

from __future__ import annotations

from conftest import ROOT


def test_stride_leftover_rows_and_columns_are_named(cli):
    out = cli("shape", ROOT / "samples" / "stride_leftover.json").stdout
    assert "Input rows no window reaches (of 0..5): 5 left over after the last window." in " ".join(out.split())


def test_gaps_and_leftover_told_apart(cli):
    out = " ".join(cli("shape", "--A-prev-shape", "7", "--W-shape", "2", "--stride", "3").stdout.split())
    assert "Input positions no window reaches (of 0..6): 5 and 6 left over after the last window; 2 skipped" in out


def test_no_leftover_line_when_every_input_is_reached(cli):
    out = cli("shape", "--A-prev-shape", "9", "--W-shape", "2", "--dilation", "3").stdout
    assert "no window reaches" not in out


def test_json_lists_unreached_indices(cli_json):
    assert cli_json("shape", ROOT / "samples" / "stride_leftover.json")["unreached"] == [[5], [5]]
    assert cli_json("shape", "--A-prev-shape", "4", "--W-shape", "2")["unreached"] == [[]]


def test_thousands_separators(cli):
    args = ("shape", "--A-prev-shape", "1x3x224x224", "--W-shape", "64x3x3x3", "--padding", "same")
    out = " ".join(cli(*args).stdout.split())
    assert "150,528 inputs" in out and "3,211,264 outputs" in out
    assert "483,385,147,392" in out  # dense weights 150528 * 3211264
    assert "1,728" in out


def test_one_overlay_is_singular(cli):
    out = cli("shape", "--A-prev-shape", "1", "--W-shape", "1").stdout
    assert "1 overlay (" in out and "1 overlays" not in out
    assert "1 input × 1 output" in out
