"""The dense (affine) and flatten kinds against independent references.

- PyTorch float64 autograd: F.linear with batch > 1, with and without a bias, W given (out, in)
  and (in, out); torch.flatten of NCHW (channels-first) and of the NHWC permutation
  (channels-last, Keras' order), through the Python API and the CLI's JSON;
- plain loops written here from the definitions, in exact rationals;
- the overlay shares summed against the totals, and the terms of every entry;
- central finite differences (convgrad's gradcheck);
- one-line errors naming the field and the shapes, and every command on both kinds.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

import convgrad
from convgrad.api import Result
from convgrad.errors import InputError
from convgrad.gradcheck import gradcheck


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - the shared venv has torch
        pytest.skip("torch is not installed: the PyTorch oracle cannot run")
    return torch


def linear_reference(A, W, b, dZ):
    """F.linear in float64 autograd: Z, dW (out, in), db, dA_prev."""
    torch = _torch()
    import torch.nn.functional as F

    x = torch.tensor(A, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    bias = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
    Z = F.linear(x, w, bias)
    (Z * torch.tensor(dZ, dtype=torch.float64)).sum().backward()
    db = None if bias is None else bias.grad.numpy()
    return Z.detach().numpy(), w.grad.numpy(), db, x.grad.numpy()


# -- dense: PyTorch --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("in_out", [False, True])
def test_dense_matches_torch_linear(seed, in_out):
    rng = np.random.default_rng(seed)
    N, inputs, out = int(rng.integers(1, 5)), int(rng.integers(1, 7)), int(rng.integers(1, 6))
    A = rng.standard_normal((N, inputs))
    W = rng.standard_normal((out, inputs))
    b = rng.standard_normal(out) if seed % 3 else None
    dZ = rng.standard_normal((N, out))
    Z_t, dW_t, db_t, dA_t = linear_reference(A, W, b, dZ)
    config = {"layer": "dense", "W_layout": "in-out"} if in_out else {"layer": "dense"}
    r = convgrad.backward(A, W.T if in_out else W, dZ=dZ, b=b, **config)
    np.testing.assert_allclose(r.Z, Z_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.dW, dW_t.T if in_out else dW_t, rtol=1e-12, atol=1e-12)  # dW as W was given
    np.testing.assert_allclose(r.dA_prev, dA_t, rtol=1e-12, atol=1e-12)
    if b is None:
        assert r.db is None or np.allclose(r.db, dZ.sum(axis=0))
    else:
        np.testing.assert_allclose(r.db, db_t, rtol=1e-12, atol=1e-12)


def test_dense_one_sample_reads_and_returns_vectors():
    torch = _torch()
    A, W, b, dZ = [1.0, -2.0, 0.5], [[1.0, 0.0, 2.0], [-1.0, 3.0, 1.0]], [0.25, -0.5], [2.0, -1.0]
    r = convgrad.backward(A, W, dZ=dZ, b=b, layer="dense")
    lin = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W))
        lin.bias.copy_(torch.tensor(b))
    x = torch.tensor(A, dtype=torch.float64, requires_grad=True)
    Z = lin(x)
    (Z * torch.tensor(dZ, dtype=torch.float64)).sum().backward()
    assert r.Z.shape == (2,) and r.dA_prev.shape == (3,)
    np.testing.assert_allclose(r.Z, Z.detach().numpy())
    np.testing.assert_allclose(r.dW, lin.weight.grad.numpy())
    np.testing.assert_allclose(r.db, lin.bias.grad.numpy())
    np.testing.assert_allclose(r.dA_prev, x.grad.numpy())


def test_dense_json_output_matches_torch(cli, tmp_path):
    rng = np.random.default_rng(7)
    A, W, b, dZ = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2), None
    dZ = rng.standard_normal((3, 2))
    path = tmp_path / "dense.json"
    problem = {"layer": "dense", "W_layout": "in-out", "A_prev": A.tolist(), "W": W.tolist(), "b": b.tolist()}
    path.write_text(json.dumps({**problem, "dZ": dZ.tolist()}))
    result = cli("backward", path, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    Z_t, dW_t, db_t, dA_t = linear_reference(A, W.T, b, dZ)
    np.testing.assert_allclose(doc["Z"], Z_t, rtol=1e-12)
    np.testing.assert_allclose(doc["dW"], dW_t.T, rtol=1e-12)
    np.testing.assert_allclose(doc["db"], db_t, rtol=1e-12)
    np.testing.assert_allclose(doc["dA_prev"], dA_t, rtol=1e-12)
    assert doc["config"]["W_layout"] == "in-out" and doc["config"]["shapes"]["W"] == [4, 2]
    assert len(doc["overlays"]) == 3 * 2


# -- dense: plain loops in exact rationals, the overlays and the terms -----------------------------


def dense_loops(A, W, b, dZ):
    """Z[n][j] = sum_i A[n][i]·W[j][i] + b[j]; dW[j][i] = sum_n dZ[n][j]·A[n][i];
    db[j] = sum_n dZ[n][j]; dA[n][i] = sum_j dZ[n][j]·W[j][i]. Lists of Fractions, W (out, in)."""
    N, inputs, out = len(A), len(A[0]), len(W)
    Z = [[sum((A[n][i] * W[j][i] for i in range(inputs)), b[j]) for j in range(out)] for n in range(N)]
    dW = [[sum(dZ[n][j] * A[n][i] for n in range(N)) for i in range(inputs)] for j in range(out)]
    db = [sum(dZ[n][j] for n in range(N)) for j in range(out)]
    dA = [[sum(dZ[n][j] * W[j][i] for j in range(out)) for i in range(inputs)] for n in range(N)]
    return Z, dW, db, dA


def _fractions(rng, shape):
    return [
        [Fraction(int(rng.integers(-9, 10)), int(rng.integers(1, 5))) for _ in range(shape[1])] for _ in range(shape[0])
    ]


@pytest.mark.parametrize("seed", range(4))
def test_dense_exact_rationals_match_plain_loops(seed):
    rng = np.random.default_rng(40 + seed)
    N, inputs, out = 2, 3, 2 + seed % 2
    A, W, dZ = _fractions(rng, (N, inputs)), _fractions(rng, (out, inputs)), _fractions(rng, (N, out))
    b = _fractions(rng, (1, out))[0]
    text = lambda rows: [[str(v) for v in row] for row in rows]  # noqa: E731 - exact as typed
    r = convgrad.backward(text(A), text(W), dZ=text(dZ), b=[str(v) for v in b], layer="dense", exact=True)
    Z, dW, db, dA = dense_loops(A, W, b, dZ)
    assert r.Z.tolist() == Z and r.dW.tolist() == dW and r.db.tolist() == db and r.dA_prev.tolist() == dA
    assert all(isinstance(v, Fraction) for v in r.dW.reshape(-1))


def test_dense_overlay_shares_add_up_to_the_totals_and_terms_to_every_entry():
    rng = np.random.default_rng(3)
    A, W, dZ = _fractions(rng, (3, 4)), _fractions(rng, (2, 4)), _fractions(rng, (3, 2))
    b = _fractions(rng, (1, 2))[0]
    s = lambda rows: [[str(v) for v in row] for row in rows]  # noqa: E731
    r = convgrad.backward(s(A), s(W), dZ=s(dZ), b=[str(v) for v in b], layer="dense", exact=True)
    p, totals = r.problem, r.canonical_totals
    Z = np.zeros((3, 2), dtype=object) * Fraction(0)
    dW = np.zeros((2, 4), dtype=object) * Fraction(0)
    db = np.zeros(2, dtype=object) * Fraction(0)
    dA = np.zeros((3, 4), dtype=object) * Fraction(0)
    records = list(p.kind.records(p.A_prev, p.W, p.b, p.dZ, p.geom, p.params))
    assert len(records) == r.overlay_count == 6
    for record in records:
        n, j = record.writes[0]
        Z[n, j] += record.values["Z"]
        dW[j] += record.values["dW"]
        db[j] += record.values["dZ"]
        dA[n] += record.values["dA_prev"]
    for name, mine in (("Z", Z), ("dW", dW), ("db", db), ("dA_prev", dA)):
        assert (mine == getattr(totals, name)).all(), name
        for index in np.ndindex(*mine.shape):
            terms = p.kind.entry_terms(name, index, p.A_prev, p.W, p.b, p.dZ, p.geom, p.params)
            assert sum(t.value for t in terms) == mine[index], (name, index)


@pytest.mark.parametrize("in_out", [False, True])
def test_dense_gradients_match_central_differences(in_out):
    rng = np.random.default_rng(11)
    A, W, dZ = rng.standard_normal((3, 5)), rng.standard_normal((4, 5)), rng.standard_normal((3, 4))
    config = {"W_layout": "in-out"} if in_out else {}
    r = convgrad.backward(A, W.T if in_out else W, dZ=dZ, b=rng.standard_normal(4), layer="dense", **config)
    rows = gradcheck(r.problem)
    assert [row.quantity for row in rows] == ["dW", "db", "dA_prev"]
    assert all(row.passed for row in rows), rows


def test_gradcheck_of_dense_can_fail():
    """A dW computed from a wrong dZ differs from the differences: the comparison can tell."""
    import dataclasses

    r = convgrad.backward([[1.0, 2.0]], [[1.0, -1.0]], dZ=[[3.0]], layer="dense")
    wrong = Result(dataclasses.replace(r.problem, dZ=r.problem.dZ * 2)).canonical_totals.dW
    assert not np.allclose(wrong, r.canonical_totals.dW)


# -- dense: errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"A_prev": [[1, 2, 3, 4]], "W": [[1, 2, 3], [4, 5, 6]]},
            "dense: A_prev has 4 features per sample but W (2, 3) expects 3 (in), "
            "W being (out, in) as PyTorch's nn.Linear",
        ),
        (
            {"A_prev": [[1, 2, 3]], "W": [[1, 2], [3, 4], [5, 6]]},
            "dense: A_prev has 3 features per sample but W (3, 2) expects 2 (in), W being (out, in) as "
            'PyTorch\'s nn.Linear; if W is (in, out) as CS231n and Keras, say "W_layout": "in-out"',
        ),
        (
            {"A_prev": [[1, 2]], "W": [[1, 2], [3, 4], [5, 6]], "W_layout": "in-out"},
            "dense: A_prev has 2 features per sample but W (3, 2) expects 3 (in), W being (in, out) as CS231n "
            'and Keras; if W is (out, in) as PyTorch\'s nn.Linear, say "W_layout": "out-in"',
        ),
        (
            {"A_prev": [[[1, 2]]], "W": [[1, 2]]},
            "dense: A_prev has shape (1, 1, 2) but a dense layer takes (N, in) or (in,): flatten it first "
            "(a flatten layer)",
        ),
        (
            {"A_prev": [[1, 2]], "W": [[1, 2]], "b": [1, 2]},
            "dense: b has shape (2,) but W (1, 2) has 1 output unit: b needs one value per unit, (1,)",
        ),
        ({"A_prev": [[1, 2]], "W": [1, 2]}, "dense: W has shape (2) but a dense layer's W is a matrix"),
        ({"A_prev": [[1, 2]], "W": [[1, 2]], "W_layout": "rows"}, "W_layout must be out-in"),
        ({"A_prev": [[1, 2]], "W": [[1, 2]], "stride": 2}, "stride is for conv"),
    ],
)
def test_dense_errors_are_one_line_naming_field_and_shapes(arrays, message):
    with pytest.raises(InputError) as caught:
        convgrad.forward(layer="dense", **arrays)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_dense_dZ_of_the_wrong_shape_names_both(cli, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"layer": "dense", "A_prev": [[1, 2]], "W": [[1, 2], [3, 4]], "dZ": [[1, 2, 3]]}))
    result = cli("backward", path)
    assert result.exit_code == 2
    assert "dZ has shape (1, 3) but Z has shape (1, 2)" in result.stderr


# -- flatten ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_flatten_matches_torch_in_both_orders(seed, layout):
    torch = _torch()
    rng = np.random.default_rng(seed)
    N, C, H, W = (int(rng.integers(1, 4)) for _ in range(4))
    x_nchw = rng.standard_normal((N, C, H, W))
    if layout == "NCHW":  # PyTorch: torch.flatten(x, 1) of (N, C, H, W)
        given = x_nchw
        x = torch.tensor(given, requires_grad=True)
        Z = torch.flatten(x, 1)
    else:  # Keras: Flatten of (N, H, W, C), i.e. the NHWC permutation flattened
        given = x_nchw.transpose(0, 2, 3, 1)
        x = torch.tensor(x_nchw, requires_grad=True)
        Z = torch.flatten(x.permute(0, 2, 3, 1), 1)
    dZ = rng.standard_normal(tuple(Z.shape))
    (Z * torch.tensor(dZ)).sum().backward()
    r = convgrad.backward(given, dZ=dZ, layer="flatten", layout=layout)
    assert r.problem.params["order"] == ("channels-first" if layout == "NCHW" else "channels-last")
    np.testing.assert_array_equal(r.Z, Z.detach().numpy())
    grad = x.grad.numpy() if layout == "NCHW" else x.grad.numpy().transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(r.dA_prev, grad)


def test_flatten_order_overrides_the_layout_and_the_orders_differ():
    A = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)  # NCHW
    first = convgrad.forward(A, layer="flatten").Z
    last = convgrad.forward(A, layer="flatten", order="channels-last").Z
    np.testing.assert_array_equal(first, A.reshape(2, -1))
    np.testing.assert_array_equal(last, A.transpose(0, 2, 3, 1).reshape(2, -1))
    assert not np.array_equal(first, last)
    for word, order in [("keras", "channels-last"), ("pytorch", "channels-first"), ("NHWC", "channels-last")]:
        assert convgrad.forward(A, layer="flatten", order=word).problem.params["order"] == order


def test_flatten_unbatched_bare_and_exact():
    r = convgrad.backward([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], dZ=list(range(8)), layer="flatten")
    assert r.Z.tolist() == [1, 2, 3, 4, 5, 6, 7, 8] and r.dA_prev.shape == (2, 2, 2)
    bare = convgrad.backward([["1/2", 2], [3, 4]], dZ=["1/3", 1, 2, 3], layer="flatten", exact=True)
    assert bare.Z.tolist() == [Fraction(1, 2), 2, 3, 4]
    assert bare.dA_prev.tolist() == [[Fraction(1, 3), 1], [2, 3]]


def test_flatten_records_and_terms_agree_with_the_totals():
    A = np.arange(2 * 2 * 3 * 2, dtype=float).reshape(2, 3, 2, 2)  # NHWC, 2 channels
    dZ = -np.arange(12 * 2, dtype=float).reshape(2, 12)
    r = convgrad.backward(A, dZ=dZ, layer="flatten", layout="NHWC")
    p, totals = r.problem, r.canonical_totals
    seen = np.zeros(p.A_prev.shape, dtype=int)
    for record in p.kind.records(p.A_prev, None, None, p.dZ, p.geom, p.params):
        (read,), (write,) = record.reads, record.writes
        seen[read] += 1
        assert totals.Z[write] == record.values["Z"] == p.A_prev[read]
        assert totals.dA_prev[read] == record.values["dA_prev"] == p.dZ[write]
        (term,) = p.kind.entry_terms("dA_prev", read, p.A_prev, None, None, p.dZ, p.geom, p.params)
        assert term.number == record.index + 1 and term.value == totals.dA_prev[read]
    assert (seen == 1).all()  # every entry copied exactly once


def test_flatten_gradcheck_passes():
    rng = np.random.default_rng(5)
    r = convgrad.backward(rng.standard_normal((2, 2, 3)), dZ=rng.standard_normal(12), layer="flatten")
    rows = gradcheck(r.problem)
    assert [row.quantity for row in rows] == ["dA_prev"] and rows[0].passed


def test_flatten_errors():
    with pytest.raises(InputError, match="order must be channels-first"):
        convgrad.forward([[1, 2]], layer="flatten", order="sideways")
    with pytest.raises(InputError, match=r"dZ has shape \(1, 3\) but Z has shape \(1, 4\)"):
        convgrad.backward([[[[1, 2], [3, 4]]]], dZ=[[1, 2, 3]], layer="flatten")
    with pytest.raises(InputError, match="flatten takes no W"):
        convgrad.forward([[1, 2]], [1], layer="flatten")


# -- every command on both kinds -------------------------------------------------------------------


@pytest.fixture
def problems(tmp_path):
    dense = tmp_path / "dense.json"
    dense.write_text(
        json.dumps(
            {
                "layer": "dense",
                "A_prev": [[1, 2, 3], [0, -1, 2]],
                "W": [[1, 0, -1], [2, 1, 0]],
                "b": [0.5, -1],
                "dZ": [[1, 2], [-1, 0.5]],
            }
        )
    )
    flatten = tmp_path / "flatten.json"
    flatten.write_text(
        json.dumps({"layer": "flatten", "layout": "NHWC", "A_prev": [[[[1, 2], [3, 4]]]], "dZ": [[1, 2, 3, 4]]})
    )
    return dense, flatten


def test_every_command_runs_on_both_kinds(cli, problems):
    dense, flatten = problems
    for path in problems:
        for args in (
            ("forward",),
            ("backward",),
            ("backward", "--exact"),
            ("backward", "--json"),
            ("backward", "--format", "jsonl"),
            ("backward", "--explain"),
            ("shape",),
            ("shape", "--json"),
            ("gradcheck",),
            ("backward", "--format", "markdown"),
        ):
            result = cli(args[0], path, *args[1:])
            assert result.exit_code == 0, (path.name, args, result.stderr)
    table = cli("backward", dense).stdout
    assert "4 overlays (one per output unit)" in table and "Z = A_prev·Wᵀ + b" in table
    shape = cli("shape", dense).stdout
    assert "4 overlays, one per output unit; 8 parameters." in shape
    flat = cli("shape", flatten).stdout
    assert "F = C·prod(spatial) = 2·1·2 = 4 features per sample, in channels-last order" in flat


def test_check_marks_a_wrong_entry_of_each_kind(cli, problems, tmp_path):
    dense, flatten = problems
    answer = tmp_path / "a.json"
    answer.write_text(
        json.dumps({"dW": [[1, 3, 1], [2, 3.5, 7]], "db": [0, 2.5], "dA_prev": [[5, 2, -1], [0, 0.5, 2]]})
    )
    result = cli("check", dense, "-a", answer)
    assert result.exit_code == 1
    assert "dA_prev[1,2] should be 1" in result.stdout and "dZ[1,0]·W[0,2] + dZ[1,1]·W[1,2]" in result.stdout
    answer.write_text(json.dumps({"dA_prev": [[[[1, 2], [3, 4]]]], "Z": [[1, 2, 3, 4]]}))
    assert cli("check", flatten, "-a", answer).exit_code == 0


# -- check names the mistakes of one layer -----------------------------------------------------------


def test_check_names_dense_mistakes_built_by_hand():
    from convgrad.check import Checker, parse_answer

    A, W, dZ = [[1.0, 2, 3], [0, -1, 2]], [[1.0, 0, -1], [2, 1, 0.5]], [[1.0, -2], [0.5, 1]]
    checker = Checker(convgrad.backward(A, W, dZ=dZ, b=[0.5, -1], layer="dense").problem)
    dW_in_out = [[sum(dZ[n][j] * A[n][i] for n in range(2)) for j in range(2)] for i in range(3)]  # (in, out)
    report = checker.check(parse_answer({"dW": dW_in_out}, "a"))
    assert [d.mistake for d in report.quantities["dW"].diagnoses] == ["dense_dW_transposed"]
    first_only = [[dZ[0][j] * A[0][i] for i in range(3)] for j in range(2)]  # sample 0's share only
    report = checker.check(parse_answer({"dW": first_only, "db": dZ[0]}, "a"))
    for name in ("dW", "db"):
        (diagnosis,) = report.quantities[name].diagnoses
        assert diagnosis.mistake == "dense_one_sample" and diagnosis.form == "sample 0"


def test_check_names_the_flatten_order_swapped():
    from convgrad.check import Checker, parse_answer

    A = np.arange(12.0).reshape(1, 3, 2, 2)  # NCHW
    dZ = np.arange(12.0).reshape(1, 12) - 5
    checker = Checker(convgrad.backward(A, dZ=dZ, layer="flatten").problem)
    keras_Z = [[float(A[0, c, h, w]) for h in range(2) for w in range(2) for c in range(3)]]  # (h, w, c) order
    keras_dA = np.zeros(A.shape)
    for j, (h, w, c) in enumerate((h, w, c) for h in range(2) for w in range(2) for c in range(3)):
        keras_dA[0, c, h, w] = dZ[0, j]
    report = checker.check(parse_answer({"Z": keras_Z, "dA_prev": keras_dA.tolist()}, "a"))
    for name in ("Z", "dA_prev"):
        (diagnosis,) = report.quantities[name].diagnoses
        assert diagnosis.mistake == "flatten_other_order" and "channels-last order (Keras's)" in diagnosis.sentence
