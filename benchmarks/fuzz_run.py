"""The fuzzer at scale: thousands of mutated problems through the CLI, in-process.

Counts what happened to each case: a result (exit 0), one clear refusal (exit 2,
one line on stderr, nothing on stdout), a crash (a traceback, an internal error,
any other exit status, or output on stdout with a refusal) or a hang (past the
time limit). Prints the crashes and hangs with what was done to the problem.

    python benchmarks/fuzz_run.py                 # 5000 cases, seed 0
    python benchmarks/fuzz_run.py --cases 200 --seed 7
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import make_runner
from fuzzing import make_case, run_case

from convgrad.cli import app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a case counts as a hang")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    runner = make_runner()
    verdicts: collections.Counter[str] = collections.Counter()
    by_command: collections.Counter[tuple[str, str]] = collections.Counter()
    problems = []
    slowest = 0.0
    start = time.perf_counter()
    for number in range(args.cases):
        text, argv, done = make_case(rng)
        outcome = run_case(runner, app, text, argv, timeout=args.timeout)
        verdicts[outcome.verdict] += 1
        by_command[(argv[0], outcome.verdict)] += 1
        slowest = max(slowest, outcome.seconds)
        if outcome.verdict in ("crash", "hang"):
            problems.append((number, argv, done, outcome))
    elapsed = time.perf_counter() - start
    print(f"{args.cases} cases (seed {args.seed}) in {elapsed:.0f} s; slowest case {slowest:.2f} s")
    for verdict in ("ok", "refused", "crash", "hang"):
        print(f"  {verdict:8} {verdicts[verdict]:6}")
    for command in sorted({c for c, _ in by_command}):
        parts = ", ".join(
            f"{v} {by_command[(command, v)]}" for v in ("ok", "refused", "crash", "hang") if by_command[(command, v)]
        )
        print(f"  {command:10} {parts}")
    for number, argv, done, outcome in problems[:20]:
        print(f"\ncase {number}: {' '.join(argv)} after {done}: exit {outcome.exit_code}")
        print("  " + (outcome.stderr.strip().splitlines() or ["(no stderr)"])[-1][:300])
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
