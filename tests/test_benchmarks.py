"""The benchmark and fuzz scripts still run (on tiny sizes): they are not timed here."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow  # seconds per run: left out of the quick loop (-m 'not slow')


def test_cli_benchmark_runs():
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_cli.py"), "--quick", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    for line in (
        "ratio convgrad (--json) / import numpy:",
        "ratio convgrad (table) / import numpy:",
        "peak memory ratio jsonl / totals-only:",
        "ratio exact / floats:",
    ):
        assert line in run.stdout


def test_fuzz_script_runs():
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fuzz_run.py"), "--cases", "30", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "30 cases (seed 3, " in run.stdout
    assert "exit 70: 0; crashes: 0; hangs over 20 s: 0; runs over 1024 MB: 0" in run.stdout


def test_grading_benchmark_runs():
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_grading.py"), "--files", "14", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "gradebook rows: 14, feedback files: 13" in run.stdout
    assert "ratio with feedback and gradebook / plain:" in run.stdout


def test_views_benchmark_runs():
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_views.py"), "--quick", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    for line in (
        "table of 18 overlays / --json --overlays all",
        "markdown of 18 overlays",
        "csv of 18 overlays",
        "--format jsonl, 128 overlays / --json --overlays none",
        "check, full answer key, 72 overlays / backward --json none",
        "start-up: backward 1-D sample --json / python -c 'import numpy'",
        "jsonl peak memory / totals-only peak memory",
        "targets met: ",
    ):
        assert line in run.stdout
