"""Issue 17 item 6 (and issue 11 item 14): one bad file never stops the class.

Grading a folder, every per-file failure (any exception, a hang, a file too large, a link
outside the folder) becomes that file's row, and the other files are graded; messages quote at
most a short prefix of a submitted value.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "samples" / "basic_2d.json"
RIGHT = '{"Z": [[4.2, 5.2], [7.2, 8.2]], "dW": [[11, 13.5], [18.5, 21]]}'


def _grade(cli, folder: Path, *flags: str) -> dict[str, dict]:
    result = cli("check", PROBLEM, "--answer", folder, "--json", *flags)
    assert result.exit_code == 1, result.stderr  # some right, some not: never 2, never 70
    doc = json.loads(result.stdout)
    return {Path(entry["file"]).name: entry for entry in doc["answers"]}


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "class"
    path.mkdir()
    (path / "alice.json").write_text(RIGHT)
    (path / "zoe.json").write_text('{"Z": [[4.2, 5.2], [7.2, 8.3]]}')
    return path


def _others_graded(rows: dict[str, dict]) -> None:
    assert rows["alice.json"]["correct"] is True and rows["alice.json"]["error"] is None
    assert rows["zoe.json"]["correct"] is False and rows["zoe.json"]["error"] is None


def test_a_5000_digit_integer_is_its_own_row(cli, folder):
    (folder / "bob.json").write_text('{"Z": [[' + "9" * 5000 + ", 1], [1, 1]]}")
    rows = _grade(cli, folder)
    _others_graded(rows)
    assert rows["bob.json"]["error"] and "internal error" not in rows["bob.json"]["error"]
    assert len(rows["bob.json"]["error"]) < 300


def test_a_huge_exponent_is_its_own_row_and_never_hangs_the_class(cli, folder, monkeypatch):
    import convgrad.commands.check as command

    monkeypatch.setattr(command, "ANSWER_SECONDS", 2.0)
    (folder / "bob.json").write_text('{"Z": [[3e999999999, 1], [1, 1]]}')
    start = time.perf_counter()
    rows = _grade(cli, folder)
    assert time.perf_counter() - start < 30
    _others_graded(rows)
    assert rows["bob.json"]["error"]


def test_a_file_that_takes_too_long_is_skipped_with_its_row(cli, folder, monkeypatch):
    import convgrad.commands.check as command

    real = command.check_document

    def slow(checker, document, source, *args, **kwargs):
        if source.endswith("bob.json"):
            time.sleep(60)
        return real(checker, document, source, *args, **kwargs)

    monkeypatch.setattr(command, "ANSWER_SECONDS", 0.5)
    monkeypatch.setattr(command, "check_document", slow)
    (folder / "bob.json").write_text(RIGHT)
    start = time.perf_counter()
    rows = _grade(cli, folder)
    assert time.perf_counter() - start < 10
    _others_graded(rows)
    assert rows["bob.json"]["error"] == "took more than 0.5 s to check, so it was skipped"


@pytest.mark.parametrize(
    "error",
    [
        KeyError("Z"),
        ZeroDivisionError("division by zero"),
        RecursionError(),
        MemoryError(),
        OverflowError("int too large"),
        AttributeError("x"),
    ],
)
def test_any_exception_of_one_file_is_its_row(cli, folder, monkeypatch, error):
    import convgrad.commands.check as command

    real = command.check_document

    def broken(checker, document, source, *args, **kwargs):
        if source.endswith("bob.json"):
            raise error
        return real(checker, document, source, *args, **kwargs)

    monkeypatch.setattr(command, "check_document", broken)
    (folder / "bob.json").write_text(RIGHT)
    rows = _grade(cli, folder)
    _others_graded(rows)
    assert rows["bob.json"]["error"]


def test_a_link_outside_the_folder_is_not_followed(cli, folder, tmp_path):
    (tmp_path / "secret.json").write_text(RIGHT)
    (folder / "link.json").symlink_to(tmp_path / "secret.json")
    (folder / "inside.json").symlink_to(folder / "alice.json")
    (folder / "etc.json").symlink_to("/etc/passwd")
    rows = _grade(cli, folder)
    _others_graded(rows)
    assert rows["link.json"]["error"] == "a symbolic link to a file outside its folder, not followed"
    assert rows["etc.json"]["error"] == "a symbolic link to a file outside its folder, not followed"
    assert rows["inside.json"]["correct"] is True


def test_a_link_outside_is_not_followed_in_a_glob_either(cli, folder, tmp_path):
    (tmp_path / "secret.json").write_text(RIGHT)
    (folder / "link.json").symlink_to(tmp_path / "secret.json")
    rows = _grade(cli, Path(f"{folder}/*.json"))
    assert rows["link.json"]["error"] == "a symbolic link to a file outside its folder, not followed"


def test_each_answer_file_is_read_with_a_size_cap(cli, folder):
    (folder / "big.json").write_text('{"Z": [[' + ", ".join(["1"] * 200_000) + "]]}")
    rows = _grade(cli, folder, "--max-input-mb", "0.5")
    _others_graded(rows)
    assert "over the 512.0 kB input limit" in rows["big.json"]["error"]


def test_messages_quote_a_short_prefix_of_a_submitted_value(cli, folder):
    (folder / "long_value.json").write_text(json.dumps({"Z": "x" * 100_000}))
    (folder / "long_key.json").write_text(json.dumps({"k" * 100_000: 1}))
    result = cli("check", PROBLEM, "--answer", folder)
    assert result.exit_code == 1
    assert "x" * 61 not in result.stdout and "k" * 61 not in result.stdout
    rows = _grade(cli, folder)
    for name in ("long_value.json", "long_key.json"):
        assert rows[name]["error"] and len(rows[name]["error"]) < 400
        assert "x" * 61 not in rows[name]["error"] and "k" * 61 not in rows[name]["error"]
    assert "xxxxx..." in rows["long_value.json"]["error"]
    # a key that is not an answer is ignored; a file of nothing else has nothing to check
    assert "nothing to check" in rows["long_key.json"]["error"] and "k" * 61 not in result.stderr


def test_garbage_and_deep_nesting_are_rows(cli, folder):
    (folder / "bytes.json").write_bytes(b"\x00\xff\xfe not json")
    (folder / "deep.json").write_text("[" * 100_000)
    (folder / "empty.json").write_text("")
    rows = _grade(cli, folder)
    _others_graded(rows)
    for name in ("bytes.json", "deep.json", "empty.json"):
        assert rows[name]["error"] and "internal error" not in rows[name]["error"]


def test_an_ignored_long_key_is_named_by_its_first_characters(cli, folder):
    (folder / "long_key_too.json").write_text(json.dumps({"k" * 100_000: 1, "Z": [1, 2]}))
    result = cli("check", PROBLEM, "--answer", folder)
    assert result.exit_code == 1
    assert "kkkkk... (1 file)" in result.stderr and "k" * 61 not in result.stderr
