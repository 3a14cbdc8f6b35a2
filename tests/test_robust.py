"""Limits, overflow, closed streams and atomic writes: bad situations end in one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import SEED


def _stdin_error(cli, text, *args):
    result = cli("backward", "-", *args, input=text)
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    return result.stderr


def test_overflowing_inputs_and_results(cli):
    assert _stdin_error(cli, '{"A_prev": [1e400, 1], "W": [1], "dZ": [1, 1]}') == (
        "error: A_prev[0] is 1e+400, which overflows float64 (the largest is about 1.8e308) "
        "(--exact computes with it exactly)\n")
    assert _stdin_error(cli, '{"A_prev": ["1e999", 1], "W": [1], "dZ": [1, 1]}').startswith(
        "error: A_prev[0] is 1e999, which overflows float64")
    assert _stdin_error(cli, '{"A_prev": [1e200, 1], "W": [1e200], "dZ": [1, 1]}') == (
        "error: the result overflows float64: Z[0] is beyond about 1.8e308 (the inputs are too large for floats; "
        "--exact computes without overflow)\n")
    exact = cli("backward", "-", "--exact", "--json", "--overlays", "none",
                input='{"A_prev": [1e200, 1], "W": [1e200], "dZ": [1, 1]}')
    assert exact.exit_code == 0 and '"Z": [1' + "0" * 400 in exact.stdout


def test_limits_are_checked_with_a_way_out(cli, tmp_path):
    big = {"A_prev": np.ones((1, 2, 24, 24)).tolist(), "W": np.ones((2, 2, 3, 3)).tolist(),
           "dZ": np.ones((1, 2, 22, 22)).tolist()}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(big))
    out = cli("backward", path, "--json", "--overlays", "all", "--max-output-mb", "1")
    assert out.exit_code == 2 and out.stdout == ""
    assert "the json output would be about" in out.stderr and "--format jsonl" in out.stderr
    assert cli("backward", path, "--json", "--overlays", "none", "--max-output-mb", "1").exit_code == 0
    assert cli("backward", path, "--format", "jsonl", "--max-output-mb", "1").exit_code == 0  # streams
    elements = cli("backward", path, "--max-elements", "1000")
    assert elements.stderr == "error: A_prev has 1,001 entries, over the limit of 1,000 (raise it with --max-elements)\n"
    assert cli("backward", path, "--max-elements", "1152", "--overlays", "none").exit_code == 0
    size = cli("backward", path, "--max-input-mb", "0.01")
    assert size.exit_code == 2 and "over the 10.2 kB input limit (raise it with --max-input-mb" in size.stderr
    deep = "[" * 12 + "1" + "]" * 12
    assert _stdin_error(cli, '{"A_prev": ' + deep + ', "W": [1], "dZ": 1}').startswith(
        "error: A_prev is nested more than 8 lists deep (at A_prev[0][0][0][0][0][0][0][0]")
    very_deep = "[" * 100000 + "]" * 100000
    assert _stdin_error(cli, '{"A_prev": ' + very_deep + '}') == "error: stdin is nested too deeply to read\n"
    symbolic = cli("backward", "--symbolic", "--A-prev-shape", "1x4x16x16", "--W-shape", "4x4x3x3")
    assert symbolic.exit_code == 2 and "symbolic multiply-adds, over the limit of 20,000" in symbolic.stderr


def test_npz_bomb_is_refused_before_unpacking(cli, tmp_path):
    np.savez_compressed(tmp_path / "bomb.npz", A_prev=np.zeros(2_000_000), W=np.ones(2))
    result = cli("backward", tmp_path / "bomb.npz", "--max-elements", "1000")
    assert result.exit_code == 2 and "unpacks to" in result.stderr


def test_invalid_utf8_on_stdin(cli):
    result = cli("backward", "-", input=b'{"A_prev": [1, 2], "W": "\xed\xa0\x80"}')
    assert result.exit_code == 2 and result.stderr.startswith("error: stdin is not UTF-8 text")


def test_closed_stdout_is_one_line():
    run = subprocess.run(f"{sys.executable} -m convgrad backward {SEED} --json >&-", shell=True,
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr == "error: stdout is closed, so the result has nowhere to go\n"


def test_errors_after_output_cannot_happen(cli):
    """Failures are found before anything is printed: --cell on forward, an overflow, a bad selection."""
    for args in (["forward", SEED, "--cell", "0"], ["backward", SEED, "--overlays", "7"]):
        result = cli(*args)
        assert result.exit_code == 2 and result.stdout == ""


@pytest.mark.parametrize("flag,name", [("--save", "r.npz"), ("--svg", "r.svg"), ("--html", "r.html")])
def test_an_interrupted_write_leaves_no_partial_file(cli, tmp_path, monkeypatch, flag, name):
    target = tmp_path / name
    target.write_bytes(b"the user's own file")

    def interrupted(src, dst):
        raise KeyboardInterrupt  # as if Ctrl-C came just before the finished file replaced the old one

    monkeypatch.setattr(os, "replace", interrupted)
    result = cli("backward", SEED, flag, target)
    assert result.exit_code == 130
    assert target.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left behind


def test_a_failed_write_is_one_line(cli, tmp_path):
    result = cli("backward", SEED, "--save", tmp_path / "missing" / "r.npz")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot write {str(tmp_path / 'missing' / 'r.npz')!r}")
    key = cli("generate", "--seed", "1", "--output", tmp_path / "nodir" / "p.json")
    assert key.exit_code == 2 and "cannot write" in key.stderr


def test_paths_in_json_are_only_read(cli, tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": "../../../etc/passwd.npy", "W": [1]}))
    result = cli("forward", tmp_path / "p.json")
    assert result.exit_code == 2 and "which does not exist" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]
