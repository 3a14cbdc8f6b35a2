"""The seed example, to the digit: input [1,2,3], filter [0.3,0.5], dZ [-0.1,0.2]."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SEED

import convgrad


def test_api_totals_and_overlays():
    r = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2])
    np.testing.assert_allclose(r.Z, [1.3, 2.1], rtol=1e-15)
    np.testing.assert_allclose(r.dW, [0.3, 0.4], rtol=1e-15)
    assert r.db == pytest.approx(0.1, rel=1e-15)
    np.testing.assert_allclose(r.dA_prev, [-0.03, 0.01, 0.1], rtol=1e-14)
    first, second = list(r.overlays())
    np.testing.assert_allclose(first.dW, [-0.1, -0.2])
    np.testing.assert_allclose(second.dW, [0.4, 0.6])
    assert (first.db, second.db) == pytest.approx((-0.1, 0.2))
    np.testing.assert_allclose(first.dA_prev, [-0.03, -0.05])
    np.testing.assert_allclose(second.dA_prev, [0.06, 0.1])
    assert (first.window_start, second.window_start) == ((0,), (1,))


def test_running_dA_prev():
    r = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2])
    seen = [running.dA_prev[0, 0].copy() for _, running in r.walk(range(2))]
    np.testing.assert_allclose(seen[0], [-0.03, -0.05, 0])
    np.testing.assert_allclose(seen[1], [-0.03, 0.01, 0.1])


def test_json(cli_json):
    doc = cli_json("backward", "--input", SEED)
    assert doc["Z"] == pytest.approx([1.3, 2.1])
    assert doc["dW"] == pytest.approx([0.3, 0.4])
    assert doc["db"] == pytest.approx(0.1)
    assert doc["dA_prev"] == pytest.approx([-0.03, 0.01, 0.1])
    o1, o2 = doc["overlays"]
    assert (o1["dW"], o2["dW"]) == (pytest.approx([-0.1, -0.2]), pytest.approx([0.4, 0.6]))
    assert (o1["dA_prev"], o2["dA_prev"]) == (pytest.approx([-0.03, -0.05]), pytest.approx([0.06, 0.1]))
    assert (o1["window_start"], o2["window_start"]) == ([0], [1])


def test_table_shows_every_number_without_noise(cli):
    result = cli("backward", SEED)
    assert result.exit_code == 0
    out = result.stdout
    for expected in [
        "0.3·1 + 0.5·2 = 1.3",
        "0.3·2 + 0.5·3 = 2.1",
        "[-0.1, -0.2]",
        "[0.4, 0.6]",
        "[-0.03, -0.05]",
        "[0.06, 0.1]",
        "positions 0..1",
        "positions 1..2",
        "[-0.03, -0.05, 0]",
        "[-0.03, 0.01, 0.1]",
        "[0.3, 0.4]",
    ]:
        assert expected in out, expected
    assert "0000000" not in out and "9999999" not in out
    totals = out[out.index("Totals") :]
    assert "db       0.1" in totals
