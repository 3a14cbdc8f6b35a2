"""Grading a folder: with a gradebook and a feedback file per answer, against the table alone.

A simulated class (tests/grading_class.py: right answers, rounded, incomplete, each planted
mistake, a malformed file, extra keys, a non-JSON file) is cycled to N files; then

    convgrad check problem.json --answer DIR                                      (plain)
    convgrad check problem.json --answer DIR --gradebook B.csv --feedback-dir FB  (full)

run in fresh processes, interleaved, and the ratio full / plain of the median times is printed
(the target is at most 3).

    python benchmarks/bench_grading.py              # 150 files, 5 runs each
    python benchmarks/bench_grading.py --files 12 --repeat 1   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from grading_class import problem, submissions  # noqa: E402  (the simulated class lives with the tests)

CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV["PYTHONPATH"] = str(ROOT) + os.pathsep + CHILD_ENV.get("PYTHONPATH", "")


def write_folder(folder: Path, files: int) -> Path:
    """N answer files cycled from the simulated class (each its own name), and the problem; the problem's path."""
    p = problem()
    path = folder / "problem.json"
    path.write_text(json.dumps(p))
    answers = folder / "answers"
    answers.mkdir()
    kinds = list(submissions(p).items())
    for i in range(files):
        name, (content, _) = kinds[i % len(kinds)]
        stem, suffix = name.rsplit(".", 1)
        text = content if isinstance(content, str) else json.dumps(content)
        (answers / f"{stem}-{i:03}.{suffix}").write_text(text)
    return path


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    run = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=CHILD_ENV)
    elapsed = time.perf_counter() - start
    if run.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({run.returncode}): {run.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=150, help="answer files in the folder (default 150)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write_folder(folder, args.files)
        answers = folder / "answers"
        base = [sys.executable, "-m", "convgrad", "check", str(path), "--answer", str(answers)]
        full = base + ["--gradebook", str(folder / "book.csv"), "--feedback-dir", str(folder / "feedback")]
        plain_times, full_times = [], []
        for _ in range(args.repeat):
            plain_times.append(timed(base))
            shutil.rmtree(folder / "feedback", ignore_errors=True)
            full_times.append(timed(full))
        feedback = len(list((folder / "feedback").iterdir()))
        rows = (folder / "book.csv").read_text(encoding="utf-8").count("\n") - 1
    plain, with_all = statistics.median(plain_times), statistics.median(full_times)
    print(f"files graded: {args.files} (runs: {args.repeat} each)")
    print(f"gradebook rows: {rows}, feedback files: {feedback}")
    print(f"plain (table):                  {plain:.3f} s median")
    print(f"with gradebook and feedback:    {with_all:.3f} s median")
    print(f"ratio with feedback and gradebook / plain: {with_all / plain:.2f} (target <= 3)")


if __name__ == "__main__":
    main()
