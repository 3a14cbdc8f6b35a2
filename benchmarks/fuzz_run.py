"""The fuzzer at scale: hostile cases from every generator through the CLI, each in its own process.

Every generator of tests/fuzzing.py (and of tests/fuzzing_io.py, when that module exists) makes cases
in one form: (stdin text, CLI arguments, what was done). Each case runs in a child forked after the
imports, under an address-space limit and an alarm; the parent measures the child's peak memory
(ru_maxrss) and wall time, and counts what happened:

    ok        exit 0 or 1 (a result, or a checked answer that is wrong)
    refused   exit 2 with one line on stderr and nothing on stdout
    crash     exit 70 (an internal error), a traceback, any other status, or output with a refusal
    hang      still running after --hang seconds (killed)
    memory    a peak over --memory-mb (the run may have ended well; the peak is what counts)

    python benchmarks/fuzz_run.py                          # 2,000 cases over every generator, seed 0
    python benchmarks/fuzz_run.py --cases 200 --seed 7 --generators huge_digits,names

The nightly run (every generator, at least 20,000 cases; about an hour with two jobs):

    python benchmarks/fuzz_run.py --cases 20000 --seed $(date +%Y%m%d) --jobs 2

It exits 1 when any case crashed, hung or went over the memory limit, and prints those cases.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import json
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conftest import make_runner
from fuzzing import GENERATORS, run_case

from convgrad.cli import app

try:  # the array-file, output-path and answer-key generators (another module, same case form)
    from fuzzing_io import GENERATORS as IO_GENERATORS  # type: ignore[import-not-found]
except ImportError:
    IO_GENERATORS = []

#: Where the file generators write their cases' files: one folder per case, removed at exit.
WORKDIR = Path(tempfile.mkdtemp(prefix="convgrad-fuzz-"))
atexit.register(shutil.rmtree, WORKDIR, ignore_errors=True)


def _in_a_folder(generator: Any) -> Any:
    """A file generator (rng, folder) as a case generator (rng): each case gets a fresh folder."""

    def make(rng: random.Random) -> Any:
        return generator(rng, Path(tempfile.mkdtemp(dir=WORKDIR)))

    return make


ALL_GENERATORS = {**GENERATORS, **{g.__name__: _in_a_folder(g) for g in IO_GENERATORS}}
VERDICTS = ("ok", "refused", "crash", "hang", "memory")


def _warm_up() -> None:
    """Import what the commands import lazily, once, before forking: children start warm."""
    import numpy  # noqa: F401
    import sympy  # noqa: F401

    runner = make_runner()
    runner.invoke(
        app,
        ["backward", str(Path(__file__).resolve().parent.parent / "samples" / "seed_1d.json"), "--format", "markdown"],
    )


def run_in_child(case: tuple, hang: float, address_space_mb: int) -> dict:
    """Fork; the child runs the case in-process and writes its outcome; the parent waits, kills at the
    time limit, and reads the child's peak memory from wait4's resource usage."""
    text, argv, _ = case
    read_end, write_end = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        try:
            limit = address_space_mb * (1 << 20)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            signal.alarm(int(hang) + 5)  # a backstop: the parent kills at `hang` seconds
            outcome = run_case(make_runner(), app, text, argv, timeout=hang * 2)
            report = {"exit": outcome.exit_code, "verdict": outcome.verdict, "stderr": outcome.stderr[-300:]}
        except BaseException as err:
            report = {"exit": None, "verdict": "crash", "stderr": f"{type(err).__name__}: {err}"[:300]}
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(report))
        os._exit(0)
    os.close(write_end)
    deadline = start + hang
    status, usage, killed = 0, None, False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() > deadline and not killed:
            os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(0.005)
    seconds = time.perf_counter() - start
    with os.fdopen(read_end) as source:
        raw = source.read()
    report = (
        json.loads(raw) if raw else {"exit": None, "verdict": "crash", "stderr": f"the child died (status {status})"}
    )
    if killed:
        report["verdict"] = "hang"
    peak_mb = usage.ru_maxrss / 1024 if usage is not None else 0.0  # Linux: kilobytes
    report.update(seconds=seconds, peak_mb=peak_mb)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="cases in all, spread over the generators")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generators", default="", help="comma-separated names (default: every generator)")
    parser.add_argument("--hang", type=float, default=20.0, help="seconds before a case counts as a hang")
    parser.add_argument("--memory-mb", type=float, default=1024.0, help="peak memory that counts as too much")
    parser.add_argument("--address-space-mb", type=int, default=4096, help="RLIMIT_AS of each child")
    parser.add_argument("--jobs", type=int, default=1, help="children at once")
    args = parser.parse_args()
    names = [n for n in args.generators.split(",") if n] or list(ALL_GENERATORS)
    unknown = [n for n in names if n not in ALL_GENERATORS]
    if unknown:
        parser.error(f"no generator {unknown[0]!r}: choose from {', '.join(ALL_GENERATORS)}")
    _warm_up()
    # Each case is made just before its child is forked, from its own seeded generator, and only its
    # arguments are kept: a child's peak memory (ru_maxrss) includes what the parent holds when it
    # forks, so the parent must not hold every case's text (some are tens of MB).
    cases = [(number, names[number % len(names)]) for number in range(args.cases)]

    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    findings = []
    slowest, heaviest = (0.0, None), (0.0, None)
    start = time.perf_counter()

    def run(case: tuple) -> tuple:
        number, name = case
        made = ALL_GENERATORS[name](random.Random(args.seed * 1_000_003 + number))
        report = run_in_child(made, args.hang, args.address_space_mb)
        _text, argv, done = made
        return (number, name, ("", argv, done)), report

    def progress(results: object) -> list:
        done = []
        for item in results:  # type: ignore[attr-defined]
            done.append(item)
            if len(done) % 250 == 0:
                print(f"  {len(done)} of {len(cases)} cases, {time.perf_counter() - start:.0f} s", file=sys.stderr)
        return done

    if args.jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = progress(pool.map(run, cases))
    else:
        outcomes = progress(map(run, cases))
    for (number, name, case), report in outcomes:
        verdict = report["verdict"]
        if verdict in ("ok", "refused") and report["peak_mb"] > args.memory_mb:
            verdict = "memory"
        counts[(name, verdict)] += 1
        if report["seconds"] > slowest[0]:
            slowest = (report["seconds"], (name, [a[:40] for a in case[1][:6]]))
        if report["peak_mb"] > heaviest[0]:
            heaviest = (report["peak_mb"], (name, [a[:40] for a in case[1][:6]]))
        if verdict in ("crash", "hang", "memory"):
            findings.append((number, name, case, report, verdict))
    elapsed = time.perf_counter() - start
    total = collections.Counter(v for (_, v), n in counts.items() for _ in range(n))
    print(
        f"{args.cases} cases (seed {args.seed}, {len(names)} generators) in {elapsed:.0f} s; "
        f"slowest {slowest[0]:.1f} s {slowest[1]}; peak memory {heaviest[0]:.0f} MB {heaviest[1]}"
    )
    print("  " + ", ".join(f"{v} {total[v]}" for v in VERDICTS))
    exit70 = sum(1 for *_, report, v in findings if report.get("exit") == 70)
    print(
        f"  exit 70: {exit70}; crashes: {total['crash']}; hangs over {args.hang:g} s: {total['hang']}; "
        f"runs over {args.memory_mb:g} MB: {total['memory']}"
    )
    for name in names:
        parts = ", ".join(f"{v} {counts[(name, v)]}" for v in VERDICTS if counts[(name, v)])
        print(f"  {name:16} {parts}")
    for number, name, (_text, argv, done), report, verdict in findings[:20]:
        print(
            f"\ncase {number} ({name}, {verdict}): {' '.join(a[:40] for a in argv)} after {done}: "
            f"exit {report.get('exit')}, {report['seconds']:.1f} s, {report['peak_mb']:.0f} MB"
        )
        print("  " + (report.get("stderr") or "(no stderr)").strip().splitlines()[-1][:300])
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
