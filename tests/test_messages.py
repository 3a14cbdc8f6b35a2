"""Messages: usage errors in one line with a -h hint, no numpy warnings on stderr, no "Infinity" or
"inf" for a finite number, exports cut by a closed pipe end with 141, stdin and files agree on bad
text, the options a message suggests exist, and user text echoed in a message is capped."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, SEED


@pytest.mark.parametrize(
    "args, message",
    [
        (["check", SEED], "error: Missing option '--answer' / '-a'. Try 'convgrad check -h'."),
        (["bogus"], "error: No such command 'bogus'. Try 'convgrad -h'."),
        (["--bogus"], "error: No such option: --bogus. Try 'convgrad -h'."),
        (
            ["forward", SEED, "--precision", "40"],
            "error: Invalid value for '--precision' / '-p': 40 is not in the range 1<=x<=17. Try 'convgrad forward -h'.",
        ),
        (
            ["forward", SEED, "--view", "nope"],
            "error: Invalid value for '--view': 'nope' is not one of 'auto', "
            "'table', 'blocks'. Try 'convgrad forward -h'.",
        ),
        (
            ["gradcheck", SEED, "--max-entries"],
            "error: Option '--max-entries' requires an argument. Try 'convgrad gradcheck -h'.",
        ),
    ],
)
def test_usage_errors_are_one_line_with_a_help_hint(args, message):
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv[0] = 'convgrad'; from convgrad.cli import main; main()",
            *map(str, args),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == message + "\n"


def test_no_runtime_warnings_on_stderr(cli):
    for args in (
        ["backward", "-x", "1e308 1e308 1", "-w", "1 1", "--dZ", "1 1", "--cell", "W[0]", "--json"],
        ["backward", "-x", "1e308 -1e308 1e308", "-w", "1 1", "--dZ", "1 1", "--allow-nonfinite", "--json"],
        ["forward", "-x", "1e200 1e200", "-w", "1e200", "--allow-nonfinite"],
    ):
        result = cli(*args)
        assert "Warning" not in result.stderr, result.stderr
        assert result.stderr.count("\n") <= 1


def test_overflow_is_never_infinity_without_allow_nonfinite(cli):
    result = cli("backward", "-x", "1e200 1", "-w", "1e200", "--dZ", "1", "--json")
    assert result.exit_code == 2 and result.stdout == "" and "Infinity" not in result.stderr
    assert "beyond about 1.8e308" in result.stderr


def test_a_finite_huge_number_is_not_called_inf(cli):
    for args in (["forward", "-x", "1e400 1", "-w", "1"], ["forward", "-x", "1e400 1", "-w", "1", "--allow-nonfinite"]):
        result = cli(*args)
        assert result.exit_code == 2 and result.stdout == ""
        assert " inf" not in result.stderr and "overflows float64" in result.stderr


def test_exports_cut_by_a_closed_pipe_exit_141(tmp_path):
    problem = {"A_prev": [[i % 7 for i in range(40)] for _ in range(40)], "W": [[1, 2], [3, 4]], "dZ": 1}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(problem))
    for fmt in ("markdown", "latex", "csv", "json"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "convgrad", "backward", str(path), "--format", fmt],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        assert proc.stdout.readline()
        proc.stdout.close()
        proc.wait(timeout=120)
        assert proc.returncode == 141, (fmt, proc.stderr.read())
        assert proc.stderr.read() == b""


@pytest.mark.parametrize(
    "data, said",
    [
        (b'{"A_prev": [1, 2], "W": [1\xff]}', "is not UTF-8 text (byte 26 cannot be decoded)"),
        ('{"A_prev": [1, 2], "W": [1]}'.encode("utf-16"), "is UTF-16 or UTF-32 text, not UTF-8"),
        (b'{"A_prev": [1, 2], "W": [1], "\xed\xa0\x80": 1}', "is not UTF-8 text (byte 30 cannot be decoded)"),
    ],
)
def test_stdin_and_files_agree_on_bad_text(tmp_path, data, said):
    path = tmp_path / "p.json"
    path.write_bytes(data)
    runs = [
        subprocess.run(
            [sys.executable, "-m", "convgrad", "forward", arg],
            input=data if arg == "-" else b"",
            capture_output=True,
            cwd=ROOT,
            timeout=60,
        )
        for arg in (str(path), "-")
    ]
    for run, source in zip(runs, (f"input file {str(path)!r}", "stdin")):
        assert run.returncode == 2 and run.stdout == b""
        assert run.stderr.decode().startswith(f"error: {source} {said}"), run.stderr


def test_a_json_escaped_lone_surrogate_is_the_same_from_stdin_and_a_file(cli, tmp_path):
    text = '{"A_prev": [1, 2], "W": [1], "\\ud800": 1}'
    path = tmp_path / "p.json"
    path.write_text(text)
    from_file = cli("forward", path).stderr.replace(str(path), "SOURCE")
    from_stdin = cli("forward", "-", input=text).stderr.replace("stdin", "SOURCE")
    assert from_file == from_stdin and from_file.startswith("error: unknown key '\\ud800'")


def test_check_and_gradcheck_do_not_suggest_what_they_refuse(cli, tmp_path):
    problem = '{"A_prev": [NaN, 1, 2], "W": [1, 1], "dZ": [1, 1]}'
    for command in ("check", "gradcheck"):
        args = [command, "-"] + (["--answer", SEED] if command == "check" else [])
        result = cli(*args, input=problem)
        assert result.exit_code == 2 and "not a finite number" in result.stderr
        # the option is named only as what forward and backward take, never as advice for this command
        assert "--allow-nonfinite" not in result.stderr.replace(
            "forward and backward compute with it under --allow-nonfinite", ""
        ), result.stderr
        assert cli(*args, "--allow-nonfinite", input=problem).stderr.startswith("error: No such option")


def test_shape_honours_max_elements(cli):
    result = cli("shape", "--A-prev-shape", "100x100", "--W-shape", "2x2", "--max-elements", "50")
    assert result.exit_code == 2 and "over the limit of 50" in result.stderr
    assert cli("shape", "--A-prev-shape", "100x100", "--W-shape", "2x2").exit_code == 0


def test_check_applies_max_input_mb_to_answer_files(cli, tmp_path):
    answer = tmp_path / "big.json"
    answer.write_text('{"Z": [' + ", ".join(["1.3"] * 300_000) + "]}")
    result = cli("check", SEED, "--answer", answer, "--max-input-mb", "1")
    assert result.exit_code == 2 and "input limit" in result.stderr, result.stderr


def test_unknown_keys_are_echoed_capped(cli, tmp_path):
    key = "k" * 1_000_000
    result = cli("forward", "-", input=json.dumps({"A_prev": [1, 2], "W": [1], key: 1}))
    assert result.exit_code == 2 and len(result.stderr) < 400  # the key is cut; the message lists every known key
    assert "1,000,000 characters" in result.stderr
    answer = tmp_path / "a.json"
    answer.write_text(json.dumps({key: [1]}))
    result = cli("check", SEED, "--answer", answer)
    assert result.exit_code == 2 and len(result.stderr) < 300


def test_an_overflowing_share_is_refused_not_infinity(cli):
    """The padding's share of the gradient overflows while every total is finite: refused in one line."""
    args = ["backward", "-x", "1e-300 1e-300", "-w", "1.5e308 -1.5e308", "--dZ", "1 1 1", "--padding", "1"]
    for fmt in (["--json"], ["--format", "jsonl"]):
        result = cli(*args, *fmt)
        assert result.exit_code == 2 and result.stdout == "" and "Infinity" not in result.stderr
        assert "overflows float64" in result.stderr and result.stderr.count("\n") == 1
    assert '"Infinity"' in cli(*args, "--json", "--allow-nonfinite").stdout
    table = cli(*args).stdout
    assert "3e308" in table and "inf" not in table
