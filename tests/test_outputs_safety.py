"""Issue 17 item 1: outputs never destroy anything.

An output that exists and is not a regular file is refused (a character device such as
/dev/null is opened and written, never replaced); an output that is an input of the run (the
problem file, an .npy it names) or another output of the run is refused before anything is
computed; the temporary file is removed on SIGINT, SIGTERM and SIGHUP; generate refuses before
writing the problem file when its key would fail.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "seed_1d.json"


def _refused(result, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    return result.stderr


@pytest.fixture
def problem(tmp_path):
    """A JSON problem naming an .npy file, and the two paths."""
    np.save(tmp_path / "a.npy", np.arange(6.0))
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"A_prev": "a.npy", "W": [0.5, -1.0], "dZ": 1}))
    return path, tmp_path / "a.npy"


@pytest.fixture
def never_solved(monkeypatch):
    """Fails the test if the run gets as far as solving the problem."""
    import convgrad.api

    def solve(*args, **kwargs):
        raise AssertionError("the run was computed before it was refused")

    monkeypatch.setattr(convgrad.api, "solve", solve)


# -- targets that are not regular files ----------------------------------------------------------


@pytest.mark.parametrize("flag", ["--save", "--svg", "--html"])
def test_dev_null_is_written_never_replaced(cli, flag):
    before = os.stat("/dev/null")
    result = cli("backward", SAMPLE, flag, "/dev/null", "--overlays", "none")
    assert result.exit_code == 0, result.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


def test_a_link_to_dev_null_stays_a_link_and_the_device_stays(cli, tmp_path):
    link = tmp_path / "out.npz"
    link.symlink_to("/dev/null")
    assert cli("backward", SAMPLE, "--save", link, "--overlays", "none").exit_code == 0
    assert link.is_symlink() and os.readlink(link) == "/dev/null" and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_generate_output_to_dev_null(cli):
    assert cli("generate", "--seed", "1", "--output", "/dev/null").exit_code == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("flag", ["--save", "--svg", "--html"])
def test_a_fifo_is_refused_not_replaced(cli, tmp_path, flag):
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    _refused(cli("backward", SAMPLE, flag, fifo, "--overlays", "none"), "is a named pipe (FIFO), not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_link_to_a_fifo_is_refused(cli, tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link.svg").symlink_to(tmp_path / "fifo")
    _refused(cli("backward", SAMPLE, "--svg", tmp_path / "link.svg"), "named pipe (FIFO)")
    assert (tmp_path / "link.svg").is_symlink() and stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode)


def test_a_socket_is_refused(cli, tmp_path):
    path = tmp_path / "s.npz"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        _refused(cli("backward", SAMPLE, "--save", path), "is a socket, not a regular file")
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        server.close()


def test_generate_output_fifo_and_directory_refused(cli, tmp_path):
    os.mkfifo(tmp_path / "fifo.json")
    _refused(cli("generate", "--seed", "1", "--output", tmp_path / "fifo.json"), "named pipe (FIFO)")
    _refused(cli("generate", "--seed", "1", "--output", tmp_path), "is a directory")
    _refused(cli("generate", "--seed", "1", "--key", tmp_path / "fifo"), "named pipe (FIFO)")


def test_a_dangling_link_is_refused(cli, tmp_path):
    (tmp_path / "out.svg").symlink_to(tmp_path / "missing" / "x.svg")
    _refused(cli("backward", SAMPLE, "--svg", tmp_path / "out.svg"), "is a symbolic link to", "which does not exist")


def test_a_link_to_a_regular_file_is_written_through(cli, tmp_path):
    (tmp_path / "real.npz").write_bytes(b"old")
    (tmp_path / "link.npz").symlink_to(tmp_path / "real.npz")
    assert cli("backward", SAMPLE, "--save", tmp_path / "link.npz", "--overlays", "none").exit_code == 0
    assert (tmp_path / "link.npz").is_symlink()
    assert set(np.load(tmp_path / "real.npz")) == {"Z", "dW", "db", "dA_prev"}


# -- outputs that are inputs, or each other -----------------------------------------------------


@pytest.mark.parametrize("flag", ["--save", "--svg", "--html"])
def test_the_input_file_is_never_an_output(cli, problem, never_solved, flag):
    path, _ = problem
    before = path.read_bytes()
    for name in (path, path.parent / "." / "p.json", path.parent / ".." / path.parent.name / "p.json"):
        _refused(cli("backward", path, flag, name), "is a file this run reads: convgrad never overwrites its input")
    assert path.read_bytes() == before


def test_a_link_to_the_input_is_the_input(cli, problem, never_solved):
    path, _ = problem
    (path.parent / "link.npz").symlink_to(path)
    _refused(cli("backward", path, "--save", path.parent / "link.npz"), "is a file this run reads")


def test_an_npy_the_input_names_is_never_an_output(cli, problem, never_solved):
    path, npy = problem
    before = npy.read_bytes()
    _refused(cli("backward", path, "--save", npy), "is a file this run reads")
    _refused(cli("forward", "--input", path, "--svg", npy), "is a file this run reads")
    assert npy.read_bytes() == before


def test_an_npz_input_is_never_an_output(cli, tmp_path, never_solved):
    np.savez(tmp_path / "p.npz", A_prev=np.arange(4.0), W=np.ones(2), dZ=np.ones(3))
    before = (tmp_path / "p.npz").read_bytes()
    _refused(cli("backward", tmp_path / "p.npz", "--save", tmp_path / "p.npz"), "is a file this run reads")
    assert (tmp_path / "p.npz").read_bytes() == before


@pytest.mark.parametrize(("first", "second"), [("--svg", "--save"), ("--svg", "--html"), ("--html", "--save")])
def test_two_outputs_never_share_a_file(cli, tmp_path, never_solved, first, second):
    target = tmp_path / "f"
    _refused(
        cli("backward", SAMPLE, first, target, second, tmp_path / "." / "f"),
        f"{first} and {second} both name",
        "one output would overwrite the other",
    )
    assert not target.exists()


def test_generate_output_and_key_never_share_a_file(cli, tmp_path):
    for output in ("k.json", "k.md"):
        _refused(
            cli("generate", "--seed", "3", "--output", tmp_path / output, "--key", tmp_path / "k"),
            "--output and --key both name",
        )
        assert list(tmp_path.iterdir()) == []


def test_outputs_to_dev_null_may_share_it(cli):
    result = cli("backward", SAMPLE, "--svg", "/dev/null", "--html", "/dev/null", "--save", "/dev/null")
    assert result.exit_code == 0, result.stderr


# -- generate makes its key before writing anything ---------------------------------------------


def test_generate_refuses_before_writing_when_its_key_would_fail(cli, tmp_path):
    result = cli(
        "generate",
        "--size",
        "1000",
        "--kernel",
        "1",
        "--seed",
        "1",
        "--output",
        tmp_path / "p.json",
        "--key",
        tmp_path / "k",
    )
    _refused(result, "the answer key would work through 1,000,000 overlays, over the limit of 20,000")
    assert list(tmp_path.iterdir()) == []


def test_generate_refuses_before_writing_when_the_key_folder_is_missing(cli, tmp_path):
    result = cli("generate", "--seed", "1", "--output", tmp_path / "p.json", "--key", tmp_path / "no" / "k")
    _refused(result, "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_generate_with_a_key_still_writes_all_three(cli, tmp_path):
    result = cli("generate", "--seed", "1", "--output", tmp_path / "p.json", "--key", tmp_path / "k")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.json", "k.md", "p.json"]


# -- signals during a write ---------------------------------------------------------------------


def _interrupt_mid_save(tmp_path: Path, signum: int) -> tuple[int, list[str], bool]:
    """Run a large --save in a real process, send ``signum`` while its temporary file exists.

    Returns (exit status, files left in the output folder, whether the signal was sent mid-write).
    """
    out = tmp_path / "out"
    out.mkdir(parents=True)
    np.save(tmp_path / "a.npy", np.zeros(8_000_000))
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": "a.npy", "W": [1.0]}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "convgrad",
            "forward",
            str(tmp_path / "p.json"),
            "--save",
            str(out / "r.npz"),
            "--format",
            "jsonl",
            "--overlays",
            "none",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    sent = False
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if any(name.endswith(".tmp") for name in os.listdir(out)):
            process.send_signal(signum)
            sent = True
            break
        time.sleep(0.0005)
    process.communicate(timeout=120)
    return process.returncode, sorted(os.listdir(out)), sent


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_mid_write_leaves_no_temporary_file(tmp_path, signum):
    for attempt in range(3):
        code, left, sent = _interrupt_mid_save(tmp_path / str(attempt), signum)
        if sent:
            break
    else:
        pytest.skip("the write finished before the temporary file could be seen three times")
    # No temporary file, and no partial r.npz (a signal just after the rename leaves the whole one).
    assert left in ([], ["r.npz"]), left
    if left:
        assert set(np.load(tmp_path / str(attempt) / "out" / "r.npz")) == {"Z"}
    if signum == signal.SIGINT:
        assert code == 130
    else:
        assert code == -signum  # the process ends by the signal, as it would without convgrad's handler
