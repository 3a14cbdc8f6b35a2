"""Limits, overflow, closed streams and atomic writes: bad situations end in one clear line."""

from __future__ import annotations

import json
import os
import stat
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
        "(--exact computes with it exactly)\n"
    )
    assert _stdin_error(cli, '{"A_prev": ["1e999", 1], "W": [1], "dZ": [1, 1]}').startswith(
        "error: A_prev[0] is 1e999, which overflows float64"
    )
    assert _stdin_error(cli, '{"A_prev": [1e200, 1], "W": [1e200], "dZ": [1, 1]}') == (
        "error: the result overflows float64: Z[0] is beyond about 1.8e308 (the inputs are too large for floats; "
        "--exact computes without overflow)\n"
    )
    exact = cli(
        "backward",
        "-",
        "--exact",
        "--json",
        "--overlays",
        "none",
        input='{"A_prev": [1e200, 1], "W": [1e200], "dZ": [1, 1]}',
    )
    assert exact.exit_code == 0 and '"Z": [1' + "0" * 400 in exact.stdout


@pytest.mark.slow
def test_limits_are_checked_with_a_way_out(cli, tmp_path):
    big = {
        "A_prev": np.ones((1, 2, 24, 24)).tolist(),
        "W": np.ones((2, 2, 3, 3)).tolist(),
        "dZ": np.ones((1, 2, 22, 22)).tolist(),
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps(big))
    out = cli("backward", path, "--json", "--overlays", "all", "--max-output-mb", "1")
    assert out.exit_code == 2 and out.stdout == ""
    assert "the json output would be about" in out.stderr and "--format jsonl" in out.stderr
    assert cli("backward", path, "--json", "--overlays", "none", "--max-output-mb", "1").exit_code == 0
    assert cli("backward", path, "--format", "jsonl", "--max-output-mb", "1").exit_code == 0  # streams
    elements = cli("backward", path, "--max-elements", "1000")
    assert (
        elements.stderr == "error: A_prev has 1,152 entries, over the limit of 1,000 (raise it with --max-elements)\n"
    )
    assert cli("backward", path, "--max-elements", "1152", "--overlays", "none").exit_code == 0
    size = cli("backward", path, "--max-input-mb", "0.01")
    assert size.exit_code == 2 and "over the 10.2 kB input limit (raise it with --max-input-mb" in size.stderr
    deep = "[" * 12 + "1" + "]" * 12
    assert _stdin_error(cli, '{"A_prev": ' + deep + ', "W": [1], "dZ": 1}').startswith(
        "error: A_prev is nested more than 8 lists deep (at A_prev[0][0][0][0][0][0][0][0]"
    )
    very_deep = "[" * 100000 + "]" * 100000
    assert _stdin_error(cli, '{"A_prev": ' + very_deep + "}") == "error: stdin is nested too deeply to read\n"
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
    run = subprocess.run(
        f"{sys.executable} -m convgrad backward {SEED} --json >&-", shell=True, capture_output=True, text=True
    )
    assert run.returncode == 2
    assert run.stderr == "error: stdout is closed, so the result has nowhere to go\n"


def test_errors_after_output_cannot_happen(cli):
    """Failures are found before anything is printed: --cell on forward, an overflow, a bad selection."""
    for args in (["forward", SEED, "--cell", "0"], ["backward", SEED, "--overlays", "7"]):
        result = cli(*args)
        assert result.exit_code == 2 and result.stdout == ""


@pytest.mark.parametrize(
    "flag,name", [("--save", "r.npz"), ("--svg", "r.svg"), ("--html", "r.html"), ("--html-record", "r.html")]
)
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


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["backward", SEED, "--svg", "{tmp}/no/x.svg"],
            "cannot write '{tmp}/no/x.svg' (--svg): the folder '{tmp}/no' does not exist",
        ),
        (
            ["backward", SEED, "--save", "{tmp}/no/x.npz"],
            "cannot write '{tmp}/no/x.npz' (--save): the folder '{tmp}/no' does not exist",
        ),
        (
            ["generate", "--seed", "1", "--key", "{tmp}/no/k"],
            "cannot write '{tmp}/no/k.json' (--key): the folder '{tmp}/no' does not exist",
        ),
        (["generate", "--seed", "1", "--output", "{tmp}/no/p.json"], "cannot write '{tmp}/no/p.json'"),
        (["generate", "--seed", "1", "--output", "{tmp}"], "--output '{tmp}' is a directory"),
    ],
)
def test_unwritable_output_paths_are_refused_before_any_output(cli, tmp_path, args, message):
    result = cli(*[str(a).format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {message.format(tmp=tmp_path)}")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            [sys.executable, "-m", "convgrad", "backward", str(SEED), "--json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert run.returncode == 2
    assert run.stderr == "error: cannot write the result: No space left on device\n"


@pytest.mark.parametrize(
    "args",
    [["backward", SEED], ["backward", SEED, "--explain"], ["shape", SEED], ["backward", SEED, "--format", "markdown"]],
)
def test_closed_pipe_is_141_for_every_view(args):
    proc = subprocess.Popen(
        [sys.executable, "-m", "convgrad", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # nobody reads: the first write (or the final flush) meets a closed pipe
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, stderr
    assert stderr == ""


def test_written_files_get_ordinary_permissions_and_follow_links(cli, tmp_path):
    old = os.umask(0o022)
    try:
        assert cli("backward", SEED, "--svg", tmp_path / "a.svg").exit_code == 0
        assert stat.S_IMODE((tmp_path / "a.svg").stat().st_mode) == 0o644
        real = tmp_path / "real.json"
        real.write_text("{}")
        os.chmod(real, 0o640)
        (tmp_path / "link.json").symlink_to(real)
        assert cli("generate", "--seed", "2", "--output", tmp_path / "link.json").exit_code == 0
        assert (tmp_path / "link.json").is_symlink()
        assert json.loads(real.read_text())["description"].startswith("Generated")
        assert stat.S_IMODE(real.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_non_regular_inputs_are_bounded(cli):
    result = cli("backward", "/dev/zero", "--max-input-mb", "1")
    assert result.exit_code == 2 and result.stderr == (  # refused at its first chunk
        "error: /dev/zero is not valid JSON: Expecting value at line 1, column 1\n"
    )


# -- sizes that could hang or exhaust memory ------------------------------------------------------


@pytest.mark.parametrize("stride", ["10000000", "100000", "1000000000000000000000"])
def test_huge_strides_finish_at_once(stride):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "convgrad",
            "backward",
            "-x",
            "1 2 3; 4 5 6; 7 8 9",
            "-w",
            "1 1; 1 1",
            "--dZ",
            "1",
            "--stride",
            stride,
            "--json",
            "-o",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["Z"] == [[12.0]]


def test_shape_allocates_nothing(cli_json):
    doc = cli_json("shape", "--A-prev-shape", "200000x200000", "--W-shape", "3x3")
    assert doc["output_size"] == [199998, 199998]
    layer = cli_json("shape", "--A-prev-shape", "64x64x224x224", "--W-shape", "64x64x3x3", "--padding", "1")
    assert layer["weights"]["conv"] == 64 * 64 * 9


def test_paths_in_json_are_only_read(cli, tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": "../../../etc/passwd.npy", "W": [1]}))
    result = cli("forward", tmp_path / "p.json")
    assert result.exit_code == 2 and "which does not exist" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]
