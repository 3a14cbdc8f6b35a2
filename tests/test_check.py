"""check: verdicts, the rounding rule, diagnosis of each known mistake, grading a folder.

Wrong answers are made here from the definitions (plain loops in reference.py,
or loops written below), never with convgrad's own variant code, so that a
variant computed wrongly fails these tests.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from conftest import NOT_RATIONAL, ROOT, SAMPLES, SEED, shown
from reference import reference_backward, reference_forward

import convgrad


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def _as_text(array):
    """Fractions as exact answer strings ("1/3", "0.25")."""
    array = np.asarray(array, dtype=object)
    if array.ndim == 0:
        q = Fraction(array[()])
        return str(q) if q.denominator != 1 else int(q)
    return [_as_text(a) for a in array]


def test_right_answer_exits_0(cli, tmp_path):
    answer = _write(tmp_path / "a.json", {"Z": [1.3, 2.1], "dW": [0.3, 0.4], "db": 0.1, "dA_prev": [-0.03, 0.01, 0.1]})
    result = cli("check", SEED, "--answer", answer)
    assert result.exit_code == 0, result.stdout
    assert "All given quantities are right." in result.stdout


def test_wrong_answer_exits_1_naming_entries_and_right_values(cli, tmp_path):
    answer = _write(tmp_path / "a.json", {"dW": [0.3, 0.5]})
    result = cli("check", SEED, "--answer", answer)
    assert result.exit_code == 1
    out = result.stdout
    assert "dW: 1 of 2 entries wrong" in out
    assert "0.5 ✗ 0.4" in out
    assert "dW[1] should be 0.4, the sum over overlays 1-2 of" in out
    assert "dZ[0]·A_prev[1] + dZ[1]·A_prev[2]" in out
    assert "= (-0.1)·2 + 0.2·3" in out
    assert "Z: not given" in out and "dA_prev: not given" in out


def test_rounded_decimals_are_right(cli, tmp_path):
    problem = _write(tmp_path / "p.json", {"A_prev": [1, 2, 3], "W": ["1/3", "2/3"], "dZ": [1, 1]})
    for z, ok in (
        ([1.67, 2.67], True),
        (["5/3", "8/3"], True),
        ([1.7, 2.7], True),
        ([1.66, 2.67], False),
        ([1.6667, 2.6667], True),
        ([2, 3], False),
        ([1.666, 2.667], False),
    ):
        result = cli("check", problem, "--answer", _write(tmp_path / "a.json", {"Z": z}))
        assert result.exit_code == (0 if ok else 1), (z, result.stdout)
    # the rounding rule is inclusive at the half: 0.125 may be written 0.12 or 0.13
    half = _write(tmp_path / "h.json", {"A_prev": [1], "W": [0.125], "dZ": [1]})
    for z in (0.12, 0.13):
        assert cli("check", half, "--answer", _write(tmp_path / "a.json", {"Z": [z]})).exit_code == 0


def test_tolerances(cli, tmp_path):
    answer = _write(tmp_path / "a.json", {"dW": ["3/10", "2/5"]})
    assert cli("check", SEED, "--answer", answer).exit_code == 0
    near = _write(tmp_path / "b.json", {"dW": [0.30000000000000004, 0.4]})  # a float pasted from numpy
    assert cli("check", SEED, "--answer", near).exit_code == 0
    off = _write(tmp_path / "c.json", {"dW": ["301/1000", "2/5"]})
    assert cli("check", SEED, "--answer", off).exit_code == 1
    assert cli("check", SEED, "--answer", off, "--rtol", "0.01").exit_code == 0
    assert cli("check", SEED, "--answer", off, "--atol", "0.002").exit_code == 0


def test_wrong_shape_and_json_verdict(cli, tmp_path):
    answer = _write(tmp_path / "a.json", {"dW": [0.3, 0.4, 0.5], "db": [0.1]})
    result = cli("check", SEED, "--answer", answer, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["correct"] is False
    assert doc["quantities"]["dW"]["status"] == "shape"
    assert doc["quantities"]["dW"]["given_shape"] == [3] and doc["quantities"]["dW"]["shape"] == [2]
    assert doc["quantities"]["db"]["status"] == "right"  # [0.1] for a scalar is accepted
    assert doc["quantities"]["Z"] == {"status": "missing", "shape": [2]}
    text = cli("check", SEED, "--answer", answer).stdout
    assert "dW: the answer has shape (3,), but dW has shape (2,)" in text


def test_json_entries_show_the_working(cli, tmp_path):
    answer = _write(tmp_path / "a.json", {"dA_prev": [-0.03, 0.02, 0.1]})
    doc = json.loads(cli("check", SEED, "--answer", answer, "--json").stdout)
    entries = doc["quantities"]["dA_prev"]["entries"]
    assert [e["right"] for e in entries] == [True, False, True]
    assert entries[1] == {
        "index": [1],
        "given": 0.02,
        "given_text": "0.02",
        "expected": 0.01,
        "right": False,
        "mark": "wrong",
        "working": "dZ[0]·W[1] + dZ[1]·W[0] = (-0.1)·0.5 + 0.2·0.3",
    }
    ben = json.loads(cli("check", SEED, "--answer", ROOT / "samples" / "answers" / "ben.json", "--json").stdout)
    assert ben["quantities"]["dW"]["entries"][0]["working"] == "dZ[0]·A_prev[0] + dZ[1]·A_prev[1] = (-0.1)·1 + 0.2·2"


def test_a_forward_problem_with_a_wrong_Z(cli, tmp_path):
    problem = _write(tmp_path / "p.json", {"A_prev": [1, 2, 3], "W": ["1/3", "2/3"]})
    result = cli("check", problem, "--answer", _write(tmp_path / "a.json", {"Z": [1.66, 2.67]}))
    assert result.exit_code == 1 and "1.66 ✗ 1.67 (5/3)" in result.stdout


def test_slices_are_labelled_by_their_indices(cli, tmp_path):
    sample = ROOT / "samples" / "batch_channels.json"
    doc = json.loads(cli("backward", sample, "--exact", "--json", "-o", "none").stdout)
    wrong = np.array(doc["dW"], dtype=float)
    wrong[0, 0, 0, 0] += 1
    out = shown(
        cli("check", sample, "--answer", _write(tmp_path / "a.json", {"dW": wrong.tolist()})), "[0, 0, :, :]", code=1
    )
    assert "axis 0" not in out


def test_large_problems_are_checked_against_floats(cli, tmp_path):
    rng = np.random.default_rng(0)
    A, W, dZ = (
        rng.standard_normal((1, 8, 64, 64)),
        rng.standard_normal((8, 8, 3, 3)),
        rng.standard_normal((1, 8, 64, 64)),
    )
    np.savez(tmp_path / "big.npz", A_prev=A, W=W, dZ=dZ, padding=np.array(1))
    db = convgrad.backward(A, W, dZ, padding=1).db
    answer = _write(tmp_path / "a.json", {"db": [round(float(x), 3) for x in db]})
    result = cli("check", tmp_path / "big.npz", "--answer", answer)
    assert result.exit_code == 0
    assert "checking against float64 results" in result.stderr


BAD_ANSWERS = [
    ({"dW": [0.3, "x"]}, "dW[1] is 'x', not a number or a fraction like \"1/3\""),
    (
        {"dw_prev": [1]},
        "unknown key 'dw_prev' in {path}: did you mean 'dA_prev'? An answer gives any of Z, dW, db, dA_prev",
    ),
    ({"dQ": [1]}, "{path} gives none of Z, dW, db, dA_prev: nothing to check"),
    (
        {"dW": [0.3, 0.4], "DB": 0.1},
        "unknown key 'DB' in {path}: did you mean 'db'? An answer gives any of Z, dW, db, dA_prev",
    ),
    ({}, "{path} gives none of Z, dW, db, dA_prev: nothing to check"),
    ({"dW": [[1], [2, 3]]}, "dW is ragged: dW[0] has shape (1,) but dW[1] has shape (2,)"),
]


@pytest.mark.parametrize("answer,message", BAD_ANSWERS)
def test_bad_answer_file_exits_2(cli, tmp_path, answer, message):
    path = _write(tmp_path / "a.json", answer)
    result = cli("check", SEED, "--answer", path)
    assert result.exit_code == 2
    assert result.stderr == f"error: {message.format(path=path)}\n"


def test_gradient_answer_for_a_problem_without_dZ(cli, tmp_path):
    problem = _write(tmp_path / "p.json", {"A_prev": [1, 2, 3], "W": [1, 1]})
    result = cli("check", problem, "--answer", _write(tmp_path / "a.json", {"dW": [1, 1]}))
    assert result.exit_code == 2
    assert "the answer gives dW, but the problem has no dZ" in result.stderr
    assert cli("check", problem, "--answer", _write(tmp_path / "z.json", {"Z": [3, 5]})).exit_code == 0


# -- diagnosis: each mistake on a problem where it changes the result ---------------------------


def _canonical_problem(
    seed, *, batch=None, stride=1, padding=((0, 0), (0, 0)), bias=False, flip=False, size=(5, 5), kernel=(2, 2)
):
    """A generated-style problem (ints and tenths), as canonical Fraction arrays plus its JSON."""
    rng = np.random.default_rng(seed)
    N = batch or 1
    A = rng.integers(-3, 4, size=(N, 1) + size)
    W = rng.integers(-10, 11, size=(1, 1) + kernel) / 10
    b = np.array([rng.integers(1, 10) / 10]) if bias else None
    out = tuple((n + pb + pa - k) // stride + 1 for n, k, (pb, pa) in zip(size, kernel, padding))
    dZ = rng.integers(-10, 11, size=(N, 1) + out) / 10
    q = np.vectorize(lambda x: Fraction(repr(float(x))), otypes=[object])
    canonical = {
        "A": q(A),
        "W": q(W),
        "b": None if b is None else q(b),
        "dZ": q(dZ),
        "stride": (stride, stride),
        "padding": padding,
        "flip": flip,
    }
    problem = {
        "A_prev": (A if batch else A[0]).tolist(),
        "W": W[0, 0].tolist() if not batch else W.tolist(),
        "dZ": (dZ if batch else dZ[0]).tolist(),
        "stride": stride,
        "padding": [list(p) for p in padding],
        "mode": "convolution" if flip else "cross-correlation",
    }
    if not batch:
        problem["A_prev"] = A[0, 0].tolist()
        problem["dZ"] = dZ[0, 0].tolist()
    if b is not None:
        problem["b"] = b.tolist() if batch else float(b[0])
    return problem, canonical


def _reference(c, **changes):
    c = {**c, **changes}
    Z = reference_forward(c["A"], c["W"], c["b"], c["stride"], (1, 1), c["padding"], 1, c["flip"], Fraction(0))
    dW, db, dA = reference_backward(
        c["A"], c["W"], c["dZ"], c["stride"], (1, 1), c["padding"], 1, c["flip"], Fraction(0)
    )
    return Z, dW, db, dA


def _user(array, batched):
    return array if batched else array[0, 0]


def _diagnose(cli, tmp_path, problem, answer):
    p = _write(tmp_path / "p.json", problem)
    a = _write(tmp_path / "a.json", answer)
    result = cli("check", p, "--answer", a, "--json")
    assert result.exit_code == 1, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    found = {(q, m["mistake"]) for q, obj in doc["quantities"].items() for m in obj.get("mistakes", [])}
    table = cli("check", p, "--answer", a).stdout
    assert "Likely mistake: your" in table
    return found


def test_diagnose_flipped_kernel(cli, tmp_path):
    for flip in (False, True):
        problem, c = _canonical_problem(1, flip=flip)
        Z, _dW, _, dA = _reference(c, flip=not flip)
        found = _diagnose(cli, tmp_path, problem, {"Z": _as_text(Z[0, 0]), "dA_prev": _as_text(dA[0, 0])})
        assert {("Z", "flipped_kernel"), ("dA_prev", "flipped_kernel")} <= found


def test_diagnose_stride_ignored(cli, tmp_path):
    problem, c = _canonical_problem(2, stride=2, size=(6, 6))
    # the given dZ, but every window placed one step from the last instead of two
    dW, _, dA = reference_backward(c["A"], c["W"], c["dZ"], (1, 1), (1, 1), c["padding"], zero=Fraction(0))
    found = _diagnose(cli, tmp_path, problem, {"dW": _as_text(dW[0, 0]), "dA_prev": _as_text(dA[0, 0])})
    assert {("dW", "stride_ignored"), ("dA_prev", "stride_ignored")} <= found
    # and a forward pass run with stride 1 gives a Z of the stride-1 shape
    Z = reference_forward(c["A"], c["W"], None, (1, 1), (1, 1), c["padding"], zero=Fraction(0))
    assert ("Z", "stride_ignored") in _diagnose(cli, tmp_path, problem, {"Z": _as_text(Z[0, 0])})


def test_diagnose_padding_not_cropped(cli, tmp_path):
    problem, c = _canonical_problem(3, padding=((1, 1), (1, 1)))
    padded = np.pad(c["A"], ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=Fraction(0))
    _, _, dA_padded = reference_backward(padded, c["W"], c["dZ"], (1, 1), (1, 1), ((0, 0), (0, 0)), zero=Fraction(0))
    assert ("dA_prev", "padding_not_cropped") in _diagnose(
        cli, tmp_path, problem, {"dA_prev": _as_text(dA_padded[0, 0])}
    )


def test_diagnose_padding_cropped_on_the_wrong_side(cli, tmp_path):
    problem, c = _canonical_problem(4, padding=((1, 0), (0, 2)))
    padded = np.pad(c["A"], ((0, 0), (0, 0), (1, 0), (0, 2)), constant_values=Fraction(0))
    _, _, dA_padded = reference_backward(padded, c["W"], c["dZ"], (1, 1), (1, 1), ((0, 0), (0, 0)), zero=Fraction(0))
    wrong_side = dA_padded[0, 0, 0:5, 2:7]  # cropped after instead of before, and the reverse
    found = _diagnose(cli, tmp_path, problem, {"dA_prev": _as_text(wrong_side)})
    assert ("dA_prev", "padding_not_cropped") in found


def test_diagnose_symmetric_padding_cropped_from_one_side(cli, tmp_path):
    sample = ROOT / "samples" / "stride2_pad1.json"
    doc = json.loads(cli("backward", sample, "--exact", "--json").stdout)
    padded = np.array(doc["audits"]["padding_crop"]["padded_gradient"], dtype=object)
    answer = _write(tmp_path / "a.json", {"dA_prev": padded[:5, :5].tolist()})
    verdict = json.loads(cli("check", sample, "--answer", answer, "--json").stdout)  # top-left 5x5: end only
    assert verdict["quantities"]["dA_prev"]["mistakes"][0]["form"] == "wrong side"


def test_diagnose_batch_not_summed(cli, tmp_path):
    problem, c = _canonical_problem(5, batch=3)
    one = {**c, "A": c["A"][1:2], "dZ": c["dZ"][1:2]}
    _, dW, db, _ = _reference(one)
    found = _diagnose(cli, tmp_path, problem, {"dW": _as_text(dW), "db": _as_text(db)})
    assert {("dW", "batch_not_summed"), ("db", "batch_not_summed")} <= found
    _, dW, db, _ = _reference(c)
    mean = {"dW": _as_text(dW / 3), "db": _as_text(db / 3)}
    assert ("dW", "batch_not_summed") in _diagnose(cli, tmp_path, problem, mean)


def test_diagnose_last_overlay_only(cli, tmp_path):
    problem, c = _canonical_problem(6)
    A, W, dZ = c["A"][0, 0], c["W"][0, 0], c["dZ"][0, 0]
    dW = np.zeros_like(W)
    dA = np.full(A.shape, Fraction(0), dtype=object)
    for i in range(dZ.shape[0]):
        for j in range(dZ.shape[1]):  # = instead of +=
            dW = dZ[i, j] * A[i : i + 2, j : j + 2]
            dA[i : i + 2, j : j + 2] = dZ[i, j] * W
    found = _diagnose(cli, tmp_path, problem, {"dW": _as_text(dW), "dA_prev": _as_text(dA)})
    assert {("dW", "last_overlay_only"), ("dA_prev", "last_overlay_only")} <= found


def test_diagnose_roles_swapped(cli, tmp_path):
    problem, c = _canonical_problem(7)
    A, W, dZ = c["A"][0, 0], c["W"][0, 0], c["dZ"][0, 0]
    dW = np.full(W.shape, Fraction(0), dtype=object)
    dA = np.full(A.shape, Fraction(0), dtype=object)
    for i in range(dZ.shape[0]):
        for j in range(dZ.shape[1]):
            dW = dW + dZ[i, j] * W  # dZ x kernel
            dA[i : i + 2, j : j + 2] += dZ[i, j] * A[i : i + 2, j : j + 2]  # dZ x input
    found = _diagnose(cli, tmp_path, problem, {"dW": _as_text(dW), "dA_prev": _as_text(dA)})
    assert {("dW", "roles_swapped"), ("dA_prev", "roles_swapped")} <= found


def test_diagnose_dZ_rotated(cli, tmp_path):
    problem, c = _canonical_problem(8)
    rotated = c["dZ"][:, :, ::-1, ::-1]
    dW, _, _ = reference_backward(c["A"], c["W"], rotated, (1, 1), (1, 1), c["padding"], zero=Fraction(0))
    assert ("dW", "dZ_rotated") in _diagnose(cli, tmp_path, problem, {"dW": _as_text(dW[0, 0])})


def test_diagnose_bias_per_element_and_left_out(cli, tmp_path):
    problem, c = _canonical_problem(9, bias=True)
    Z, _, _, _ = _reference(c)
    b = c["b"][0]
    found = _diagnose(cli, tmp_path, problem, {"Z": _as_text(Z[0, 0] + 3 * b)})  # 4 taps: b four times
    assert ("Z", "bias_per_element") in found
    assert ("Z", "bias_left_out") in _diagnose(cli, tmp_path, problem, {"Z": _as_text(Z[0, 0] - b)})


def test_partial_share_is_named(cli, tmp_path):
    problem, c = _canonical_problem(10, padding=((1, 1), (1, 1)))
    _, _, _, dA = _reference(c, flip=True)
    answer = _as_text(dA[0, 0])
    answer[0][0] = 99  # one entry wrong for another reason
    p = _write(tmp_path / "p.json", problem)
    doc = json.loads(cli("check", p, "--answer", _write(tmp_path / "a.json", {"dA_prev": answer}), "--json").stdout)
    mistake = doc["quantities"]["dA_prev"]["mistakes"][0]
    assert mistake["mistake"] == "flipped_kernel" and mistake["explains"] == mistake["of"] - 1


# -- grading many ---------------------------------------------------------------------------------


def test_grade_a_folder_of_100_with_a_malformed_file(cli, tmp_path):
    folder = tmp_path / "answers"
    folder.mkdir()
    right = {"Z": [1.3, 2.1], "dW": [0.3, 0.4], "db": 0.1, "dA_prev": [-0.03, 0.01, 0.1]}
    last_only = {"dW": [0.4, 0.6], "db": 0.2}
    for i in range(99):
        _write(folder / f"student{i:03}.json", right if i % 3 else last_only)
    (folder / "student099.json").write_text('{"dW": [0.3, ')  # cut off
    (folder / "notes.txt").write_text("not an answer")
    result = cli("check", SEED, "--answer", folder)
    assert result.exit_code == 1
    rows = [line for line in result.stdout.splitlines() if line.startswith("student")]
    assert len(rows) == 100
    assert "last overlay only" in result.stdout
    assert "error: student099.json" in rows[-1]
    assert "notes.txt" in result.stdout and "not a JSON file, skipped" in result.stdout
    assert "66 of 100 answers right, 33 wrong, 1 unreadable; 1 other file skipped" in result.stderr
    doc = json.loads(cli("check", SEED, "--answer", folder, "--json").stdout)
    assert doc["summary"] == {"files": 101, "correct": 66, "wrong": 33, "imprecise": 0, "errors": 1, "skipped": 1}
    assert doc["answers"][0]["error"] == "not a JSON file, skipped"  # notes.txt sorts first
    first = doc["answers"][1]
    assert first["file"].endswith("student000.json") and first["correct"] is False
    assert first["mistakes"][0]["mistake"] == "last_overlay_only"
    assert doc["answers"][-1]["error"].startswith(str(folder / "student099.json") + " is not valid JSON")


def test_grade_a_glob(cli, tmp_path):
    _write(tmp_path / "a1.json", {"db": 0.1})
    _write(tmp_path / "a2.json", {"db": 0.2})
    _write(tmp_path / "b.json", {"db": 0.3})
    doc = json.loads(cli("check", SEED, "--answer", str(tmp_path / "a*.json"), "--json").stdout)
    assert [a["correct"] for a in doc["answers"]] == [True, False]
    result = cli("check", SEED, "--answer", str(tmp_path / "zz*.json"))
    assert result.exit_code == 2 and "no answer files" in result.stderr


def test_check_every_sample_against_its_own_exact_answer(cli, tmp_path):
    for sample in SAMPLES:
        exact = [] if sample in NOT_RATIONAL else ["--exact"]
        doc = json.loads(cli("backward", sample, *exact, "--json", "--overlays", "none").stdout)
        answer = _write(tmp_path / "a.json", {k: doc[k] for k in ("Z", "dW", "db", "dA_prev") if k in doc})
        assert cli("check", sample, "--answer", answer).exit_code == 0, sample


# -- check reads problems like backward; answers with extra keys --------------------------------------

SEED_FLAGS = ["-x", "1 2 3", "-w", "0.3 0.5", "--dZ", "-0.1 0.2"]


def test_check_takes_the_problem_as_flags(cli, tmp_path):
    right = _write(tmp_path / "a.json", {"dW": [0.3, 0.4], "db": 0.1, "dA_prev": [-0.03, 0.01, 0.1]})
    by_flags = cli("check", *SEED_FLAGS, "--answer", right)
    assert by_flags.exit_code == 0 and by_flags.stdout == cli("check", SEED, "--answer", right).stdout
    # A flag overrides the file, as in backward: dZ = 1 everywhere makes dW the sums of the windows.
    wrong = cli("check", SEED, "--dZ", "1", "--answer", right)
    assert wrong.exit_code == 1 and "[0.3 ✗ 3, 0.4 ✗ 5]" in wrong.stdout
    assert cli("check", *SEED_FLAGS, "-b", "0.5", "--stride", "2", "--dZ", "1", "--answer", right).exit_code == 1


def test_check_has_every_problem_flag_of_backward():
    from convgrad.commands.common import FIELD_FLAGS

    backward = {d[0]: d for d in map(_declaration, _params("backward"))}
    check = {d[0]: d for d in map(_declaration, _params("check"))}
    for name in FIELD_FLAGS:
        assert check[name] == backward[name], name


def test_extra_keys_in_an_answer_are_ignored_and_listed(cli, tmp_path):
    answer = {"student": "Ana", "A_prev": [1, 2, 3], "dZ": [-0.1, 0.2], "stride": 1, "dW": [0.3, 0.4], "name": "x"}
    result = cli("check", SEED, "--answer", _write(tmp_path / "a.json", answer))
    assert result.exit_code == 0
    assert result.stderr == "note: ignored the keys that are not answers: student, A_prev, dZ, stride, name\n"
    folder = tmp_path / "class"
    folder.mkdir()
    _write(folder / "ana.json", answer)
    _write(folder / "ben.json", {"dW": [0.3, 0.5], "dZ": [1, 2]})
    graded = cli("check", SEED, "--answer", folder)
    assert graded.exit_code == 1
    assert graded.stderr.splitlines()[0] == (
        "note: ignored the keys that are not answers: student (1 file), A_prev (1 file), dZ (2 files), "
        "stride (1 file), name (1 file)"
    )


def test_a_missing_answer_file_is_called_the_answer_file(cli, tmp_path):
    missing = tmp_path / "nope.json"
    result = cli("check", SEED, "--answer", missing)
    assert result.exit_code == 2
    assert result.stderr == f"error: the answer file {str(missing)!r} does not exist\n"


def _params(name):
    import typer

    from convgrad.cli import app

    return typer.main.get_command(app).commands[name].params


def _declaration(param):
    return (param.name, tuple(param.opts), str(param.type), param.default, getattr(param, "help", None))
