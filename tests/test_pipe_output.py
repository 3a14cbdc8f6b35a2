"""Output read through a pipe or a file (stdout not a terminal): header lines whole, no line
ending in spaces in any view, window drawings that part their cells, grammatical counts,
uneven padding in words, and --explain in 2-D drawn as grids. Checked through a real pipe
(a subprocess with stdout=PIPE) and through the CliRunner."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SAMPLES, SEED

SAMPLE = {p.stem: p for p in SAMPLES}

#: A problem whose header passes 80 columns: batch, channels, uneven padding, dilation.
WIDE = {
    "A_prev": np.arange(64).reshape(2, 2, 4, 4).tolist(),
    "W": np.ones((3, 2, 2, 2)).tolist(),
    "padding": [[0, 1], [0, 1]],
    "dilation": 2,
}


def piped(*args: str) -> subprocess.CompletedProcess:
    """The CLI with stdout a real pipe (no terminal), 80 columns, as `convgrad ... | cat` runs it."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    env.update({"PYTHONPATH": str(ROOT), "NO_COLOR": "1"})
    return subprocess.run(
        [sys.executable, "-m", "convgrad", *map(str, args)],
        capture_output=True,  # stdout a pipe, not a terminal
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


@pytest.fixture
def wide(tmp_path):
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(WIDE))
    return path


def test_header_lines_do_not_wrap_in_a_pipe(cli, wide):
    expected = (
        "A_prev (2, 2, 4, 4) · W (3, 2, 2, 2) · stride 1 · padding rows 0 before 1 after, "
        "cols 0 before 1 after · dilation 2 → Z (2, 3, 3, 3)"
    )
    for out in (piped("forward", wide, "--overlays", "none").stdout, cli("forward", wide, "--overlays", "none").stdout):
        assert out.splitlines()[1] == expected


VIEWS = [
    ["backward", SAMPLE["stride2_pad1"], "--overlays", "all"],
    ["backward", SAMPLE["nhwc"], "--overlays", "1-3"],
    ["backward", SAMPLE["batch_channels"], "--explain", "--overlays", "1-2"],
    ["backward", SAMPLE["stride_leftover"], "--overlays", "none", "--cell", "dA_prev[2,2]"],
    ["backward", SAMPLE["basic_2d"], "--overlays", "none", "--cell", "Z[0,1]"],
    ["backward", SAMPLE["grouped"], "--view", "blocks", "--overlays", "1-2"],
    ["check", SEED, "--answer", ROOT / "samples" / "answers"],
    ["gradcheck", SAMPLE["basic_2d"]],
    ["shape", "--A-prev-shape", "1x3x32x32", "--W-shape", "8x3x3x3", "--stride", "2", "--padding", "1"],
]


@pytest.mark.parametrize("args", VIEWS, ids=lambda a: " ".join(map(str, a[:1] + a[2:])))
def test_no_line_ends_in_spaces(cli, args):
    for out in (piped(*args).stdout, cli(*args).stdout):
        assert out.strip()
        trailing = [line for line in out.splitlines() if line != line.rstrip()]
        assert trailing == []


def test_window_drawings_part_a_tap_from_the_padding_mark():
    out = piped("backward", SAMPLE["stride2_pad1"], "--overlays", "9").stdout
    assert "[0] [1] [·]" in out and "[·] [·] [·]" in out
    assert "][" not in out


def test_counts_agree_with_their_nouns(cli, tmp_path):
    # seven wrong dA_prev entries: six explained, then "1 more wrong entry"
    problem = {"A_prev": list(range(1, 9)), "W": [1, 1], "dZ": [1] * 7}
    (tmp_path / "p.json").write_text(json.dumps(problem))
    doc = json.loads(cli("backward", tmp_path / "p.json", "--json").stdout)
    answer = {"dA_prev": [v + 1 for v in doc["dA_prev"][:7]] + doc["dA_prev"][7:]}
    (tmp_path / "a.json").write_text(json.dumps(answer))
    out = cli("check", tmp_path / "p.json", "--answer", tmp_path / "a.json").stdout
    assert "1 more wrong entry (--json lists them all)" in out and "entries (--json" not in out
    one = cli("backward", "-x", "1 2", "-w", "1 1", "--dZ", "1", "--overlays", "none", "--cell", "W[0]").stdout
    assert "dW[0] = its one term = 1" in " ".join(one.split())
    shape = cli("shape", "--A-prev-shape", "2", "--W-shape", "2").stdout
    assert "1 overlay (" in shape and "1 overlays" not in shape


def test_explain_in_2d_draws_grids_not_nested_lists(cli):
    for sample in ("basic_2d", "stride2_pad1", "nhwc", "batch_channels"):
        out = cli("backward", SAMPLE[sample], "--explain").stdout
        assert "[[" not in out, sample
        assert "dZ·A_slice, to dW" in out and "dW" in out
    flat = " ".join(cli("backward", SAMPLE["basic_2d"], "--explain", "--overlays", "1").stdout.split())
    assert "adds dZ·A_slice to dW; adds 1 to db, which becomes 1; and adds dZ·W to dA_prev at rows 0..1" in flat
    for title in ("A_slice", "dZ·A_slice, to dW", "dW so far", "dZ·W, to dA_prev", "dA_prev so far"):
        assert title in flat
