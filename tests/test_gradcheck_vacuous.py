"""gradcheck cannot pass vacuously: steps below the documented floor are refused, and the verdict
needs the absolute and the relative error within tolerance and a noise floor below the gradient."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SEED

from convgrad.gradcheck import MAX_FLOAT_STEP, MIN_FLOAT_STEP, GradcheckRow, _row, gradcheck


def test_step_1e_320_is_refused(cli):
    """The reproducer: max abs error 0.4 (the whole gradient), max rel error 0 and "Passed" before."""
    result = cli("gradcheck", SEED, "--step", "1e-320")
    assert result.exit_code == 2 and result.stdout == ""
    assert "between 1e-08 and 1e+08" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("step", ["1e-9", "5e-324", "1e-16", "1e9", "1e400", "1/10000000000"])
def test_float_steps_outside_the_range_are_refused(cli, step):
    result = cli("gradcheck", SEED, "--step", step)
    assert result.exit_code == 2 and "step must be between" in result.stderr


@pytest.mark.parametrize("step", [str(MIN_FLOAT_STEP), "1e-3", "0.5", str(MAX_FLOAT_STEP)])
def test_float_steps_in_the_range_pass_on_a_correct_backward(cli, step):
    result = cli("gradcheck", SEED, "--step", step, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["passed"]


def test_exact_takes_any_positive_step(cli):
    result = cli("gradcheck", SEED, "--exact", "--step", "1e-320", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["passed"]


def _verdict(analytic, numeric, noise, rtol=1e-6) -> GradcheckRow:
    analytic = np.asarray(analytic, dtype=float)
    return _row("dW", analytic, {(i,): v for i, v in enumerate(numeric)}, len(analytic), False, rtol, noise)


def test_a_quotient_drowned_in_noise_fails():
    """Noise above the largest gradient measures nothing: even a zero quotient would have "matched"."""
    row = _verdict([0.4, 0.2], [0.0, 0.0], noise=10.0)
    assert not row.passed
    assert row.max_abs == pytest.approx(0.4)


def test_verdict_needs_the_relative_error_too():
    # Within noise + rtol * largest in absolute terms, but 50% off for the small entry, which stands
    # far above the noise floor: the relative error fails it.
    row = _verdict([1000.0, 0.02], [1000.0, 0.01], noise=1e-9, rtol=1e-4)
    assert row.max_abs <= 1e-9 + 1e-4 * 1000
    assert row.max_rel == pytest.approx(0.5)
    assert not row.passed


def test_verdict_needs_the_absolute_error_too():
    row = _verdict([1.0, 1.0], [1.0, float("inf")], noise=1e-12)
    assert not row.passed


def test_all_zero_gradients_checked_as_zero_pass():
    row = _verdict([0.0, 0.0], [0.0, 0.0], noise=1e-12)
    assert row.passed


def test_api_step_floor_is_convgrads_error():
    import convgrad
    from convgrad.errors import InputError

    problem = convgrad.backward([1.0, 2.0, 3.0], [0.5, -1.0], [1.0, 1.0]).problem
    with pytest.raises(InputError, match="step must be between"):
        gradcheck(problem, step=1e-320)
    with pytest.raises(InputError, match="finite"):
        gradcheck(problem, step=float("inf"))
    assert all(r.passed for r in gradcheck(problem))
