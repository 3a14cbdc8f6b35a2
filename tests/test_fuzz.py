"""Bad input never crashes convgrad: mutated problems end in a result (0) or one clear error (2),
never a traceback, never output on stdout when refused, never a hang."""

from __future__ import annotations

import random

import pytest
from conftest import make_runner
from fuzzing import GENERATORS, make_case, run_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convgrad.cli import app

pytestmark = pytest.mark.slow  # seconds per run: left out of the quick loop (-m 'not slow')

RUNNER = make_runner()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_mutated_problems_end_cleanly(rng):
    text, args, done = make_case(rng)
    outcome = run_case(RUNNER, app, text, args, timeout=20.0)
    context = f"{args} after {done}: exit {outcome.exit_code}\nstderr: {outcome.stderr[:500]}"
    assert outcome.verdict != "hang", context
    assert outcome.verdict != "crash", context
    if outcome.exit_code == 2:
        assert outcome.stdout == "", context


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_every_generator_ends_cleanly(name):
    """A few seeded cases of every hostile-input generator (benchmarks/fuzz_run.py runs thousands)."""
    rng = random.Random(sum(map(ord, name)))  # hash() of a str changes per run
    for _ in range(8):
        text, args, done = GENERATORS[name](rng)
        outcome = run_case(RUNNER, app, text, args, timeout=20.0)
        context = (
            f"{name}: {[a[:40] for a in args]} after {done}: exit {outcome.exit_code}\nstderr: {outcome.stderr[:300]}"
        )
        assert outcome.verdict in ("ok", "refused"), context
