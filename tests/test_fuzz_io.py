"""The input/output fuzz generators (tests/fuzzing_io.py): broken archives, colliding outputs, big
wrong answer folders and huge JSON arrays end in a result (0), a wrong answer (1) or one clear
error (2) -- never exit 70, a traceback or a hang -- and never change a file that was there."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from conftest import make_runner
from fuzzing import run_case
from fuzzing_io import GENERATORS, damage, huge_json_array, snapshot

from convgrad.cli import app

RUNNER = make_runner()
#: Cases per suite run; a nightly-size run sets more:
#: CONVGRAD_FUZZ_IO_CASES=20000 python -m pytest -q tests/test_fuzz_io.py
CASES = int(os.environ.get("CONVGRAD_FUZZ_IO_CASES", "200"))


@pytest.fixture
def short_answer_bound(monkeypatch):
    """A folder may hold several answers that take long to read; each is cut at 0.25 s here (issue 17 item 3 makes them fast)."""
    import convgrad.commands.check as command

    monkeypatch.setattr(command, "ANSWER_SECONDS", 0.25)


def test_io_generators_never_crash_hang_or_damage(tmp_path, short_answer_bound):
    rng = random.Random(int(os.environ.get("CONVGRAD_FUZZ_IO_SEED", "1717")))
    cwd = os.getcwd()
    failures = []
    counts: dict[str, int] = {}
    for number in range(CASES):
        generator = rng.choice(GENERATORS)
        if generator is huge_json_array and rng.random() < 0.75:
            generator = rng.choice([g for g in GENERATORS if g is not huge_json_array])  # the slow one, sparingly
        workdir = tmp_path / str(number)
        workdir.mkdir()
        text, args, done = generator(rng, workdir)
        before = snapshot(workdir)
        os.chdir(workdir)
        try:
            outcome = run_case(RUNNER, app, text, args, timeout=20.0)
        finally:
            os.chdir(cwd)
        counts[outcome.verdict] = counts.get(outcome.verdict, 0) + 1
        problems = damage(before, snapshot(workdir))
        if outcome.verdict in ("crash", "hang") or problems:
            failures.append(
                f"{generator.__name__} {done} {args}: {outcome.verdict} exit {outcome.exit_code}\n"
                f"  {outcome.stderr[:300]} {problems}"
            )
    assert failures == [], "\n".join(failures)
    assert counts.get("refused", 0) > CASES // 4  # the generators do reach the refusals they aim at


def test_every_generator_returns_the_documented_form(tmp_path):
    for i, generator in enumerate(GENERATORS):
        workdir = tmp_path / str(i)
        workdir.mkdir()
        text, args, done = generator(random.Random(i), workdir)
        assert isinstance(text, str) and isinstance(done, str) and done
        assert args and all(isinstance(a, str) for a in args)
        assert all(not a.startswith(str(tmp_path)) or Path(a).is_absolute() for a in args)
