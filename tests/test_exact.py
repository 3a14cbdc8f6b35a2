"""--exact: rational arithmetic on the values as typed, written back without rounding."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from cases import SWEEP, as_fractions, decimal_values, make_case
from conftest import SEED
from reference import reference_backward, reference_forward

import convgrad


def test_seed_json_text_is_exact(cli):
    result = cli("backward", SEED, "--exact", "--json")
    assert result.exit_code == 0
    text = result.stdout
    assert '"dW": [0.3, 0.4]' in text
    assert '"db": 0.1' in text
    assert '"dA_prev": [-0.03, 0.01, 0.1]' in text
    assert '"Z": [1.3, 2.1]' in text


def test_thirds(cli):
    args = ["backward", "-x", "1 2 3", "-w", '["1/3","2/3"]', "--dZ", "1 1", "--exact"]
    text = cli(*args, "--json").stdout
    assert '"Z": ["5/3", "8/3"]' in text
    assert '"dW": [3, 5]' in text
    assert '"db": 2' in text
    assert '"dA_prev": ["1/3", 1, "2/3"]' in text
    table = cli(*args).stdout
    totals = table[table.index("Totals") :]
    for line in ("Z        [5/3, 8/3]", "dW       [3, 5]", "db       2", "dA_prev  [1/3, 1, 2/3]"):
        assert line in totals
    assert "1/3·1 + 2/3·2 = 5/3" in table


def test_exact_key_in_json_and_api(cli):
    problem = json.loads(SEED.read_text())
    problem["exact"] = True
    text = cli("backward", "-", "--json", input=json.dumps(problem)).stdout
    assert '"dW": [0.3, 0.4]' in text
    r = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2], exact=True)
    assert list(r.dW) == [Fraction(3, 10), Fraction(2, 5)]
    assert r.db == Fraction(1, 10)
    assert list(r.dA_prev) == [Fraction(-3, 100), Fraction(1, 100), Fraction(1, 10)]
    overlay = next(r.overlays())
    assert list(overlay.dA_prev) == [Fraction(-3, 100), Fraction(-1, 20)]


def test_no_exact_overrides_the_file(cli):
    problem = json.loads(SEED.read_text())
    problem["exact"] = True
    doc = json.loads(cli("backward", "-", "--json", "--no-exact", input=json.dumps(problem)).stdout)
    assert doc["config"]["numbers"] == "float"
    assert doc["dW"][0] == 0.30000000000000004  # float noise, written faithfully


def _exact_values(value):
    """Parse convgrad's exact JSON back: numbers as their exact decimal text, "p/q" strings."""
    if isinstance(value, list):
        return [_exact_values(v) for v in value]
    if isinstance(value, str):
        return Fraction(value)
    return Fraction(value)


def _load_exact(text):
    return json.loads(text, parse_float=Decimal)


@pytest.mark.parametrize("index", range(len(SWEEP)))
def test_exact_equals_rationals_and_floats(index, cli):
    rng = np.random.default_rng(1000 + index)
    problem, c, (user_act, user_kernel) = make_case(rng, **SWEEP[index], values=decimal_values)
    exact = cli("backward", "--json", "--exact", "-", input=json.dumps(problem))
    assert exact.exit_code == 0, exact.stderr
    floats = json.loads(cli("backward", "--json", "-", input=json.dumps(problem)).stdout)
    doc = _load_exact(exact.stdout)

    # An independent rational computation (plain loops over Fractions) gives the same, exactly.
    A, W, dZ = as_fractions(c["A"]), as_fractions(c["W"]), as_fractions(c["dZ"])
    b = None if c["b"] is None else as_fractions(c["b"])
    args = (c["stride"], c["dilation"], c["pairs"], c["groups"], c["flip"])
    Z = reference_forward(A, W, b, *args, zero=Fraction(0))
    dW, db, dA = reference_backward(A, W, dZ, *args, zero=Fraction(0))
    assert np.array_equal(np.array(_exact_values(doc["Z"]), dtype=object), user_act(Z))
    assert np.array_equal(np.array(_exact_values(doc["dW"]), dtype=object), user_kernel(dW))
    assert np.array_equal(np.array(_exact_values(doc["dA_prev"]), dtype=object), user_act(dA))
    expected_db = db[0] if SWEEP[index]["form"] == "bare" else db
    assert np.array_equal(np.array(_exact_values(doc["db"]), dtype=object), expected_db)
    # ... and the float run agrees to 1e-12.
    for key in ("Z", "dW", "db", "dA_prev"):
        ours = np.array(_exact_values(doc[key]), dtype=float)
        np.testing.assert_allclose(floats[key], ours, rtol=1e-12, atol=1e-12 * max(1, np.abs(ours).max()))
    # Overlays are exact too, and sum to the totals exactly.
    dW_sum = np.zeros(np.shape(doc["dW"]), dtype=object) + Fraction(0)
    for overlay in doc["overlays"]:
        contribution = np.array(_exact_values(overlay["dW"]), dtype=object)
        if SWEEP[index]["form"] == "bare":
            dW_sum = dW_sum + contribution
        elif SWEEP[index]["last"]:
            dW_sum[..., overlay["c_out"]] += contribution
        else:
            dW_sum[overlay["c_out"]] += contribution
    assert np.array_equal(dW_sum, np.array(_exact_values(doc["dW"]), dtype=object))


def test_exact_refuses_nonfinite(cli):
    result = cli("backward", "--exact", "--allow-nonfinite", "-", input='{"A_prev": [1, NaN], "W": [1], "dZ": [1, 1]}')
    assert result.exit_code == 2
    assert result.stderr == "error: A_prev[1] is nan: exact arithmetic has no NaN or infinity\n"


def test_exact_accepts_numpy_floats_as_typed():
    r = convgrad.backward(np.array([1.0, 2.0, 3.0]), np.array([0.3, 0.5]), dZ=np.array([-0.1, 0.2]), exact=True)
    assert list(r.dW) == [Fraction(3, 10), Fraction(2, 5)]
