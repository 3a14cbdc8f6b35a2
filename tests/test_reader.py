"""The reader, called directly: JSON text (numbers kept as typed), stdin, the flag shorthand,
.npy and .npz files, and the size limits checked before anything is read."""

from __future__ import annotations

import io
import json
import sys
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad.errors import InputError
from convgrad.limits import Limits
from convgrad.reader import (
    load_npy,
    parse_flag_value,
    parse_json,
    read_npz_problem,
    read_problem_document,
    read_text,
    resolve_array_paths,
)

# -- JSON -------------------------------------------------------------------------------------------


def test_json_numbers_are_kept_as_typed():
    doc = parse_json('{"a": 0.3, "b": 2, "c": [NaN, Infinity, -Infinity], "d": "1/3"}', "x")
    assert doc["a"] == Decimal("0.3") and isinstance(doc["a"], Decimal)  # 3/10 exactly, not the float
    assert doc["b"] == 2 and isinstance(doc["b"], int)
    assert np.isnan(doc["c"][0]) and doc["c"][1:] == [float("inf"), float("-inf")]
    assert doc["d"] == "1/3"
    assert parse_json('\ufeff{"a": 1}', "x") == {"a": 1}  # a byte order mark is dropped


@pytest.mark.parametrize(
    "text,message,hint",
    [
        ("[1,2", "f.json is not valid JSON: Expecting ',' delimiter at line 1, column 5", None),
        (
            '{"a": 1,}',
            "f.json is not valid JSON: Expecting property name enclosed in double quotes at line 1, column 9",
            "a trailing comma?",
        ),
        ('{"a": 1, "a": 2}', "duplicate key 'a' in a JSON object: give each key once", None),
        ("[" * 100000, "f.json is nested too deeply to read", None),
    ],
)
def test_bad_json_names_the_place(text, message, hint):
    with pytest.raises(InputError) as err:
        parse_json(text, "f.json")
    assert err.value.message == message and err.value.hint == hint


def test_problem_documents_from_files_and_stdin(tmp_path, monkeypatch):
    (tmp_path / "p.json").write_text('{"A_prev": [1, 2], "W": [0.5]}')
    assert read_problem_document(str(tmp_path / "p.json")) == {"A_prev": [1, 2], "W": [Decimal("0.5")]}
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"W": [1]}'))
    assert read_problem_document("-") == {"W": [1]}
    for text, message in (
        ("  \n", "stdin is empty: expected a JSON object with A_prev, W, ..."),
        ("[1]", "stdin holds a JSON array, expected an object with A_prev, W, ..."),
        ('"x"', "stdin holds a JSON string, expected an object with A_prev, W, ..."),
        ("3", "stdin holds a JSON number, expected an object with A_prev, W, ..."),
    ):
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        with pytest.raises(InputError, match=r"^" + message.replace(".", r"\.") + "$"):
            read_problem_document("-")


def test_unreadable_files(tmp_path):
    (tmp_path / "latin1.json").write_bytes(b'{"A_prev": "\xe9"}')
    cases = [
        (tmp_path / "none.json", "does not exist"),
        (tmp_path, "is a directory"),
        (tmp_path / "latin1.json", "is not UTF-8 text (byte 12 cannot be decoded)"),  # as stdin says it
    ]
    for path, words in cases:
        with pytest.raises(InputError) as err:
            read_text(str(path))
        assert err.value.message == f"input file {str(path)!r} {words}"


def test_input_size_limit_is_checked_before_reading(tmp_path, monkeypatch):
    (tmp_path / "big.json").write_text("x" * 100)
    small = Limits(max_input_bytes=10)
    with pytest.raises(InputError) as err:
        read_text(str(tmp_path / "big.json"), small)
    assert err.value.message == f"input file {str(tmp_path / 'big.json')!r} is 100 bytes, over the 10 bytes input limit"
    assert err.value.hint.startswith("raise it with --max-input-mb")
    assert read_text(str(tmp_path / "big.json"), Limits(max_input_bytes=100)) == "x" * 100
    monkeypatch.setattr(sys, "stdin", io.StringIO("y" * 100))
    with pytest.raises(InputError, match=r"^stdin is 11 bytes, over the 10 bytes input limit \(raise it"):
        read_text("-", small)  # stdin is read one byte past the limit, never to its end


# -- the flag shorthand -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,value",
    [
        ("1 2 3", [1, 2, 3]),
        ("1,2,3", [1, 2, 3]),
        ("1, 2,  3", [1, 2, 3]),
        ("1 2; 3 4", [[1, 2], [3, 4]]),
        (" 1 2 ;3 4; ", [[1, 2], [3, 4]]),  # a trailing ";" is harmless
        ("1 2;", [[1, 2]]),  # ... and keeps a one-row matrix a matrix
        ("7", 7),
        ("0.5", Decimal("0.5")),
        ("1e3 -2.5 .5 +3", [Decimal("1E+3"), Decimal("-2.5"), Decimal("0.5"), 3]),
        ("1/3 2", ["1/3", 2]),  # fractions and names stay text for the number domain to read
        ("x y", ["x", "y"]),
        ("same", "same"),
        ("NHWC", "NHWC"),
        ("[[1,2],[3,4]]", [[1, 2], [3, 4]]),
        ('"valid"', "valid"),
        ("true", True),
    ],
)
def test_flag_values(text, value):
    assert parse_flag_value(text, "A-prev") == value


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "--W is empty"),
        ("   ", "--W is empty"),
        ("1;;2", "--W has an empty row in '1;;2'"),
        ("[1,", "--W is not valid JSON: Expecting value at line 1, column 4"),
    ],
)
def test_bad_flag_values(text, message):
    with pytest.raises(InputError) as err:
        parse_flag_value(text, "W")
    assert err.value.message == message


entries = st.one_of(
    st.integers(-(10**6), 10**6),
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False),
)
matrices = st.integers(1, 4).flatmap(
    lambda cols: st.lists(st.lists(entries, min_size=cols, max_size=cols), min_size=2, max_size=4)
)


@settings(max_examples=100, deadline=None)
@given(matrices, st.sampled_from([" ", ", ", ",", "  "]), st.sampled_from(["; ", ";", " ; "]))
def test_matrix_text_round_trips(matrix, between, rows):
    text = rows.join(between.join(str(x) for x in row) for row in matrix)
    parsed = parse_flag_value(text, "A-prev")
    assert parsed == matrix
    assert all(type(p) is type(x) for got, row in zip(parsed, matrix) for p, x in zip(got, row))


@settings(max_examples=100, deadline=None)
@given(st.lists(entries, min_size=2, max_size=6))
def test_row_text_and_json_text_agree(row):
    """'1 2 3' and '[1, 2, 3]' are the same value (JSON decimals are Decimal too)."""
    as_json = "[" + ", ".join(str(x) for x in row) + "]"
    assert parse_flag_value(" ".join(str(x) for x in row), "W") == parse_flag_value(as_json, "W") == row


# -- array files --------------------------------------------------------------------------------------


def test_npy_files_are_read_without_pickles(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6, dtype=np.float32).reshape(2, 3))
    array = load_npy(tmp_path / "a.npy", "A_prev")
    assert array.dtype == np.float32 and array.shape == (2, 3)
    np.save(tmp_path / "evil.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="it holds Python objects, which convgrad does not load"):
        load_npy(tmp_path / "evil.npy", "W")
    with pytest.raises(InputError, match=r"which does not exist$"):
        load_npy(tmp_path / "none.npy", "W")
    with pytest.raises(InputError, match="is not a regular file"):
        load_npy(tmp_path, "W")


def test_npy_limits_are_checked_from_the_header(tmp_path):
    np.save(tmp_path / "big.npy", np.ones(50))
    with pytest.raises(InputError, match="its header declares shape \\(50,\\), 50 entries, over the limit of 10"):
        load_npy(tmp_path / "big.npy", "W", Limits(max_elements=10))
    with pytest.raises(InputError, match="over the 100 bytes input limit"):
        load_npy(tmp_path / "big.npy", "W", Limits(max_input_bytes=100))


def test_array_paths_are_relative_to_the_problem_file(tmp_path):
    np.save(tmp_path / "w.npy", np.array([0.5, 1.5]))
    doc = resolve_array_paths({"A_prev": [1, 2], "W": " w.npy ", "layout": "x.npy"}, tmp_path, ("A_prev", "W"))
    np.testing.assert_array_equal(doc["W"], [0.5, 1.5])
    assert doc["A_prev"] == [1, 2] and doc["layout"] == "x.npy"  # only array fields name files


def test_npz_problems(tmp_path):
    np.savez(
        tmp_path / "p.npz",
        x=np.ones(3, dtype=np.float32),
        W=np.ones(2),
        padding=np.array(1),
        layout=np.array("NCW"),
        exact=np.array(False),
        stride=np.array([2]),
    )
    doc = read_npz_problem(str(tmp_path / "p.npz"))
    assert doc["x"].dtype == np.float32  # arrays (by any alias) stay numpy arrays
    assert doc["W"].tolist() == [1.0, 1.0]
    assert {k: doc[k] for k in ("padding", "layout", "exact", "stride")} == {
        "padding": 1,
        "layout": "NCW",
        "exact": False,
        "stride": [2],
    }
    assert type(doc["padding"]) is int and type(doc["exact"]) is bool


def test_npz_refusals(tmp_path):
    np.savez_compressed(tmp_path / "bomb.npz", A_prev=np.zeros(100_000), W=np.ones(2))
    with pytest.raises(InputError, match="unpacks to 800,128 bytes, over the limit of 1,000 entries"):
        read_npz_problem(str(tmp_path / "bomb.npz"), Limits(max_elements=1000))
    np.save(tmp_path / "one.npy", np.ones(2))
    with pytest.raises(InputError, match=r"holds a single array: an \.npz problem stores A_prev, W, \.\.\. by name"):
        read_npz_problem(str(tmp_path / "one.npy"))
    with pytest.raises(InputError, match=r"does not exist$"):
        read_npz_problem(str(tmp_path / "none.npz"))


def test_a_file_that_is_not_a_zip_is_named_once(tmp_path):
    (tmp_path / "junk.npz").write_text("hello")
    with pytest.raises(InputError) as err:
        read_npz_problem(str(tmp_path / "junk.npz"))
    assert err.value.message == (
        f"cannot read {str(tmp_path / 'junk.npz')!r} as an .npz archive: it is not a zip archive (or it is cut "
        "off), so not an .npz"
    )


def test_npy_refusals_are_worded_once(tmp_path):
    np.save(tmp_path / "big.npy", np.ones(50))
    with pytest.raises(InputError) as err:
        load_npy(tmp_path / "big.npy", "W", Limits(max_elements=10))
    assert err.value.message == (
        f"W: cannot read {str(tmp_path / 'big.npy')!r} as a .npy array: its header declares shape (50,), "
        "50 entries, over the limit of 10 (raise it with --max-elements)"
    )
    with pytest.raises(InputError) as err:
        load_npy(tmp_path, "W")
    assert err.value.message == f"W: {str(tmp_path)!r} is not a regular file"


def test_an_npz_archive_named_as_npy_is_refused(tmp_path):
    with open(tmp_path / "a.npy", "wb") as handle:
        np.savez(handle, a=np.ones(2))
    with pytest.raises(InputError, match=r"it is a zip archive \(an \.npz\?\), not a single \.npy array"):
        load_npy(tmp_path / "a.npy", "A_prev")


def test_json_document_with_npy_paths_round_trips(tmp_path):
    """A problem written as JSON naming .npy files reads back the arrays bit for bit."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((1, 2, 4, 4))
    np.save(tmp_path / "a.npy", A)
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": "a.npy", "W": [[1]]}))
    doc = resolve_array_paths(read_problem_document(str(tmp_path / "p.json")), tmp_path, ("A_prev", "W"))
    np.testing.assert_array_equal(doc["A_prev"], A)
