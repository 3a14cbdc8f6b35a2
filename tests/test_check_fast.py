"""check at scale: marks settled in float64 and exact totals on integers agree with the exact rules."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from conftest import ROOT

from convgrad.api import Result
from convgrad.check import Given, Tolerance, exact_totals, mark, marks_of
from convgrad.numbers import ExactDomain
from convgrad.problem import build_problem


def _givens(rng: np.random.Generator, truths: list[Fraction]) -> list[Given]:
    """Answers near and far from each true value: exact, rounded to a few decimals, nudged past a bound."""
    out = []
    for true in truths:
        kind = rng.integers(0, 6)
        if kind == 0:
            value = true
        elif kind == 1:
            decimals = int(rng.integers(0, 6))
            text = f"{float(true):.{decimals}f}"
            out.append(Given(Fraction(Decimal(text)), decimals, text))
            continue
        elif kind == 2:
            value = true + Fraction(int(rng.integers(-3, 4)), 10 ** int(rng.integers(3, 14)))
        elif kind == 3:
            value = true * (1 + Fraction(int(rng.integers(-2, 3)), 10**9))  # at the relative tolerance
        elif kind == 4:
            # four decimals, about half a unit (a bound of the rounding rule) away from the true value
            shift = Fraction(int(rng.integers(-1, 2)) * int(rng.choice([1, 2])), 2 * 10**4)
            written = Decimal(round(true + shift, 4).numerator) / Decimal(round(true + shift, 4).denominator)
            text = f"{written:.4f}"
            out.append(Given(Fraction(Decimal(text)), 4, text))
            continue
        else:
            value = Fraction(int(rng.integers(-100, 100)), int(rng.integers(1, 7)))
        out.append(Given(value, None, str(value)))
    return out


@pytest.mark.parametrize("decimals", [None, 0, 3, 6])
@pytest.mark.parametrize("seed", range(4))
def test_marks_of_agrees_with_mark(seed, decimals):
    rng = np.random.default_rng(seed)
    truths = [Fraction(int(n), int(d)) for n, d in zip(rng.integers(-(10**6), 10**6, 400), rng.integers(1, 10**4, 400))]
    truths += [Fraction(0), Fraction(1, 3), Fraction(-5, 3), Fraction(10**30, 7), Fraction(1, 10**40)]
    givens = _givens(rng, truths)
    floats = [float(t) for t in truths]
    for tolerance in (Tolerance(), Tolerance.of(0, 0), Tolerance.of(1e-3, 1e-6)):
        for expected in (truths, floats):
            g = np.empty(len(givens), dtype=object)
            g[:] = givens
            e = np.empty(len(expected), dtype=object)
            e[:] = expected
            fast = marks_of(g, e, tolerance, decimals)
            slow = [mark(a, b, tolerance, decimals) for a, b in zip(givens, expected)]
            assert list(fast) == slow


@pytest.mark.parametrize("seed", range(6))
def test_exact_totals_on_integers_are_the_exact_totals(seed):
    rng = np.random.default_rng(seed)
    dims = int(rng.integers(1, 3))
    size = [int(x) for x in rng.integers(3, 6, dims)]
    fields = {
        "A_prev": np.round(rng.standard_normal([2, 2] + size), int(rng.integers(0, 4))).tolist(),
        "W": (rng.standard_normal([2, 2] + [2] * dims) * (1e6 if seed % 3 == 0 else 1)).tolist(),
        "b": [0.1, -1 / 3],
        "stride": int(rng.integers(1, 3)),
        "padding": int(rng.integers(0, 2)),
    }
    if seed % 2:
        fields["A_prev"] = (np.array(fields["A_prev"]) * 10.0 ** rng.integers(-20, 20, [2, 2] + size)).tolist()
    plain = build_problem(fields, need_dZ=False, domain=ExactDomain())
    fields["dZ"] = np.round(rng.standard_normal(Result(plain).Z.shape), 2).tolist()
    problem = build_problem(fields, need_dZ=True, domain=ExactDomain())
    fast, slow = exact_totals(problem), Result(problem).canonical_totals
    for a, b in zip(fast, slow):
        assert a.shape == b.shape and all(isinstance(x, Fraction) for x in a.flat)
        assert a.tolist() == b.tolist()


@pytest.mark.parametrize("seed", range(5))
def test_roles_swapped_at_once_is_the_overlay_by_overlay_rule(seed):
    from convgrad.geometry import applied_kernel
    from convgrad.layers import conv
    from convgrad.variants import _swapped

    rng = np.random.default_rng(seed)
    fields = {
        "A_prev": np.round(rng.standard_normal((2, 2, 5, 5)), 1).tolist(),
        "W": np.round(rng.standard_normal((2, 1 if seed % 2 else 2, 3, 3)), 1).tolist(),
        "stride": int(rng.integers(1, 3)),
        "padding": int(rng.integers(0, 2)),
        "dilation": 1 + seed % 2,
        "groups": 2 if seed % 2 else 1,
        "mode": "convolution" if seed % 3 == 0 else "cross-correlation",
    }
    plain = build_problem(fields, need_dZ=False, domain=ExactDomain())
    fields["dZ"] = np.round(rng.standard_normal(Result(plain).Z.shape), 1).tolist()
    p = build_problem(fields, need_dZ=True, domain=ExactDomain())
    g = p.geom
    dW = np.full(p.W.shape, Fraction(0), dtype=object)
    dA_pad = np.full(p.A_prev.shape[:2] + g.padded_size, Fraction(0), dtype=object)
    for o in conv.iter_overlays(p.A_prev, p.W, p.b, p.dZ, g):
        dW[o.c_out] = dW[o.c_out] + applied_kernel(o.dZ * o.kernel, g)
        taps = (o.n, slice(o.channels.start, o.channels.stop)) + conv.window_taps(o.window_start, g)
        dA_pad[taps] = dA_pad[taps] + o.dZ * o.A_slice
    got = _swapped(p)
    assert np.asarray(got["dW"][0][1]).tolist() == p.form.kernel_from_canonical(dW).tolist()
    expected_dA = p.form.activation_from_canonical(dA_pad[conv.interior(g)])
    assert np.asarray(got["dA_prev"][0][1]).tolist() == expected_dA.tolist()


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" + "0" * 400, "1e-400"])
def test_an_answer_past_float64s_range_is_marked_not_a_crash(cli, number):
    # Found by the 20,000-case fuzz run: the float64 pre-pass raised OverflowError on 10**400.
    answer = f'{{"dW": [{number}, 0.4], "db": 0.1, "dA_prev": [-0.03, 0.01, 0.1]}}'
    result = cli("check", ROOT / "samples" / "seed_1d.json", "--answer", "-", input=answer)
    assert result.exit_code == 1, result.stderr
    assert "2 of 3 given quantities right" in result.stdout
