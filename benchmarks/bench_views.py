"""The overlay views against the numbers alone: whole commands, side by side, in one run (issue 14).

Each row is a ratio of two whole commands run in fresh processes on the same problem,
interleaved (a noisy neighbour slows both alike), the minimum of the repeats each:

    table, markdown, csv of 784 overlays        / --json --overlays all (same overlays)
    --format jsonl of 32,768 overlays           / --json --overlays none (same problem)
    check with a full answer key, 32,768 overlays / backward --json --overlays none
    start-up, backward on the 1-D sample --json / python -c "import numpy"
    jsonl peak memory                           / totals-only peak memory

Beside each ratio: overlays per second and output MB per second of the first command, the
target, and whether it is met. Ratios are what to read, not seconds.

    python benchmarks/bench_views.py            # the full run (a few minutes)
    python benchmarks/bench_views.py --quick    # tiny sizes, a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import CHILD_ENV, SEED, machine

CONVGRAD = [sys.executable, "-m", "convgrad"]


@dataclass(frozen=True)
class Sizes:
    """The three problems: (C_in, side, filters) of the 784-overlay one, the 32,768-overlay jsonl one
    (N1, padding 1) and the 32,768-overlay check one (N4, padding 1); 3x3 filters throughout."""

    small: tuple[int, int, int]
    stream: tuple[int, int, int]
    check: tuple[int, int, int, int]


FULL = Sizes(small=(3, 16, 4), stream=(8, 64, 8), check=(4, 3, 32, 8))
QUICK = Sizes(small=(1, 5, 2), stream=(2, 8, 2), check=(1, 2, 6, 2))


def run(argv: list[str], out: Path | None = None) -> tuple[float, int, int]:
    """(wall seconds, peak resident KiB, exit status) of one child process, stdout to ``out`` or nowhere."""
    sink = open(out, "wb") if out is not None else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, env=CHILD_ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    finally:
        if out is not None:
            sink.close()  # type: ignore[union-attr]
    return elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def measure(commands: dict[str, list[str]], repeat: int, tmp: Path) -> dict[str, dict[str, float]]:
    """Each command once to a file (its output size; exit 0 or 1 expected), then ``repeat`` times
    round-robin: min seconds, max peak KiB, output bytes."""
    results: dict[str, dict[str, float]] = {}
    for name, argv in commands.items():
        out = tmp / "out.bin"
        _, peak, code = run(argv, out)
        if code not in (0, 1):
            raise SystemExit(f"{name} failed (exit {code}): {' '.join(argv)}")
        results[name] = {"min": float("inf"), "peak_kib": peak, "bytes": out.stat().st_size}
    for _ in range(repeat):
        for name, argv in commands.items():
            elapsed, peak, _ = run(argv)
            results[name]["min"] = min(results[name]["min"], elapsed)
            results[name]["peak_kib"] = max(results[name]["peak_kib"], peak)
    return results


def conv_problem(path: Path, batch: int, channels: int, side: int, filters: int, padding: int, seed: int) -> int:
    """A random float64 problem as .npz (3x3 filters); returns its overlay count."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = side + 2 * padding - 2
    np.savez(
        path,
        A_prev=rng.standard_normal((batch, channels, side, side)),
        W=rng.standard_normal((filters, channels, 3, 3)),
        dZ=rng.standard_normal((batch, filters, out, out)),
        padding=np.array(padding),
    )
    return batch * filters * out * out


def answer_key(problem: Path, path: Path) -> None:
    """Every total of the problem, as convgrad writes them: a full, right answer key."""
    run_ = subprocess.run(
        CONVGRAD + ["backward", str(problem), "--json", "--overlays", "none"],
        capture_output=True,
        check=True,
        env=CHILD_ENV,
    )
    totals = json.loads(run_.stdout)
    path.write_text(json.dumps({name: totals[name] for name in ("Z", "dW", "db", "dA_prev")}))


@dataclass(frozen=True)
class Row:
    what: str
    ratio: float
    target: float
    overlays: int = 0
    seconds: float = 0.0
    megabytes: float = 0.0

    def line(self) -> str:
        rate = f"{self.overlays / self.seconds:12,.0f}" if self.overlays and self.seconds else f"{'':>12}"
        mbs = f"{self.megabytes / self.seconds:8.1f}" if self.megabytes and self.seconds else f"{'':>8}"
        met = "met" if self.ratio <= self.target else "not met"
        return f"{self.what:66} {self.ratio:7.2f} {rate} {mbs}   <= {self.target:<4g} {met}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--repeat", type=int, default=None, help="runs per command (minimum taken)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    repeat = args.repeat or (1 if args.quick else 5)
    print(f"machine: {machine()}")
    print(f"each command {repeat} time(s) after one warm run, interleaved; minimum wall time of whole commands")
    print()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        small, stream, checked = tmp / "small.npz", tmp / "stream.npz", tmp / "check.npz"
        c, side, filters = sizes.small
        n_small = conv_problem(small, 1, c, side, filters, 0, 1)
        c, side, filters = sizes.stream
        n_stream = conv_problem(stream, 1, c, side, filters, 1, 0)
        batch, c, side, filters = sizes.check
        n_check = conv_problem(checked, batch, c, side, filters, 1, 2)
        key = tmp / "key.json"
        answer_key(checked, key)

        views = measure(
            {
                "json": CONVGRAD + ["backward", str(small), "--json", "--overlays", "all"],
                "table": CONVGRAD + ["backward", str(small), "--overlays", "all"],
                "markdown": CONVGRAD + ["backward", str(small), "--format", "markdown", "--overlays", "all"],
                "csv": CONVGRAD + ["backward", str(small), "--format", "csv", "--overlays", "all"],
            },
            repeat,
            tmp,
        )
        base = views["json"]["min"]
        for name in ("table", "markdown", "csv"):
            r = views[name]
            rows.append(
                Row(
                    f"{name} of {n_small:,} overlays / --json --overlays all",
                    r["min"] / base,
                    2,
                    n_small,
                    r["min"],
                    r["bytes"] / 1e6,
                )
            )

        lines = measure(
            {
                "totals": CONVGRAD + ["backward", str(stream), "--json", "--overlays", "none"],
                "jsonl": CONVGRAD + ["backward", str(stream), "--format", "jsonl", "--overlays", "all"],
            },
            max(1, repeat - 2),
            tmp,
        )
        r, totals = lines["jsonl"], lines["totals"]
        rows.append(
            Row(
                f"--format jsonl, {n_stream:,} overlays / --json --overlays none",
                r["min"] / totals["min"],
                4,
                n_stream,
                r["min"],
                r["bytes"] / 1e6,
            )
        )

        checks = measure(
            {
                "totals": CONVGRAD + ["backward", str(checked), "--json", "--overlays", "none"],
                "check": CONVGRAD + ["check", str(checked), "--answer", str(key)],
            },
            max(1, repeat - 2),
            tmp,
        )
        r = checks["check"]
        rows.append(
            Row(
                f"check, full answer key, {n_check:,} overlays / backward --json none",
                r["min"] / checks["totals"]["min"],
                3,
                n_check,
                r["min"],
                r["bytes"] / 1e6,
            )
        )

        start = measure(
            {
                "numpy": [sys.executable, "-c", "import numpy"],
                "seed": CONVGRAD + ["backward", str(SEED), "--json"],
            },
            repeat * 2,
            tmp,
        )
        rows.append(
            Row(
                "start-up: backward 1-D sample --json / python -c 'import numpy'",
                start["seed"]["min"] / start["numpy"]["min"],
                1.6,
            )
        )
        rows.append(Row("jsonl peak memory / totals-only peak memory (same problem)", r_peak(lines), 1.1))

    print(f"{'ratio (whole commands)':66} {'ratio':>7} {'overlays/s':>12} {'MB/s':>8}   target")
    for row in rows:
        print(row.line())
    met = sum(row.ratio <= row.target for row in rows)
    print()
    print(f"targets met: {met} of {len(rows)}")


def r_peak(results: dict[str, dict[str, float]]) -> float:
    return results["jsonl"]["peak_kib"] / results["totals"]["peak_kib"]


if __name__ == "__main__":
    main()
