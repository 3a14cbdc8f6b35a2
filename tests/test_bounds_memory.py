"""Issue 17 item 5: memory and time are bounded before the work, not after.

Refused runs are run in a real process under an address-space limit of 1.5 GB; each must end
in one line and exit 2 with a peak resident memory under 1 GB. The other bounds (covered(),
--cell in the output limit, check's mistake variants, generate's key) are tested in process.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ADDRESS_SPACE = 1536 << 20
PEAK_LIMIT_KB = 1 << 20  # 1 GB

#: Runs convgrad in this process and records its peak resident memory (kB) in $CONVGRAD_PEAK_FILE.
WRAPPER = """
import os, resource, runpy, sys
sys.argv = ["convgrad", *sys.argv[1:]]
try:
    runpy.run_module("convgrad", run_name="__main__")
finally:
    with open(os.environ["CONVGRAD_PEAK_FILE"], "w") as peak:
        peak.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_bounded(
    tmp_path: Path, *args: str, stdin: object = subprocess.DEVNULL, timeout: float = 120
) -> tuple[int, str, str, int, float]:
    """(exit status, stdout, stderr, peak kB, seconds) of one CLI run under the address-space limit."""
    peak_file = tmp_path / "peak.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONVGRAD_PEAK_FILE": str(peak_file)}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        stdin=stdin,
        capture_output=True,
        env=env,
        timeout=timeout,
        preexec_fn=_limit_address_space,
        cwd=tmp_path,
        check=False,
    )
    seconds = time.perf_counter() - start
    peak = int(peak_file.read_text()) if peak_file.exists() else -1
    return (
        result.returncode,
        result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"),
        peak,
        seconds,
    )


def assert_refused_lean(outcome: tuple[int, str, str, int, float], *fragments: str) -> None:
    code, stdout, stderr, peak, _seconds = outcome
    assert code == 2, (code, stderr[-2000:])
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr[-2000:]
    assert "internal error" not in stderr and "not enough memory" not in stderr
    for fragment in fragments:
        assert fragment in stderr, stderr
    assert 0 < peak < PEAK_LIMIT_KB, f"peak {peak / 1024:.0f} MB"


def test_100_mb_of_json_numbers_is_refused_early_and_lean(tmp_path):
    body = "0.1," * 25_000_000
    (tmp_path / "big.json").write_text('{"A_prev": [' + body + '0.1], "W": [1]}')
    del body
    outcome = run_bounded(tmp_path, "forward", "big.json")
    assert_refused_lean(outcome, "holds more than 2,000,000 numbers, over the limit for JSON")
    assert outcome[4] < 30


def test_symbolic_shape_of_10_to_8_is_refused_before_any_symbol(tmp_path):
    text = json.dumps({"A_prev": {"shape": [100_000_000]}, "W": {"shape": [3]}})
    (tmp_path / "p.json").write_text(text)
    for command in ("forward", "backward"):
        outcome = run_bounded(tmp_path, command, "p.json", "--symbolic")
        assert_refused_lean(outcome, "symbolic multiply-adds, over the limit of 20,000")
        assert outcome[4] < 20


def test_random_bytes_on_stdin_are_refused_at_once(tmp_path):
    with open("/dev/urandom", "rb") as noise:
        outcome = run_bounded(tmp_path, "backward", "-", stdin=noise)
    assert_refused_lean(outcome, "stdin is not UTF-8 text")
    assert outcome[4] < 20


@pytest.mark.parametrize("source", ["/dev/zero", "-"])
def test_endless_zeros_are_refused_at_once(tmp_path, source):
    with open("/dev/zero", "rb") as zeros:
        outcome = run_bounded(tmp_path, "backward", source, stdin=zeros)
    assert_refused_lean(outcome, "is not valid JSON: Expecting value at line 1, column 1")


def test_a_stream_past_the_input_limit_is_refused_at_the_limit(cli, tmp_path):
    text = '{"A_prev": [' + "1, " * 400_000 + "1]}"
    result = cli("backward", "-", "--max-input-mb", "1", input=text)
    assert result.exit_code == 2 and result.stderr == (
        "error: stdin holds more than the 1.0 MB input limit (raise it with --max-input-mb; large arrays read "
        "fastest from .npy or .npz files)\n"
    )
    fifo = tmp_path / "p.json"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"yes '1,' > {fifo}"], stderr=subprocess.DEVNULL)
    try:
        piped = cli("backward", fifo, "--max-input-mb", "1")
    finally:
        writer.kill()
        writer.wait()
    assert piped.exit_code == 2 and "holds more than the 1.0 MB input limit" in piped.stderr


def test_small_npz_of_10_to_8_zeros_stays_under_1_gb(tmp_path):
    np.savez_compressed(tmp_path / "p.npz", A_prev=np.zeros(100_000_000), W=np.ones(3))
    assert (tmp_path / "p.npz").stat().st_size < 1_000_000
    assert_refused_lean(run_bounded(tmp_path, "forward", "p.npz"), "over the 512.0 MB output limit")
    assert_refused_lean(
        run_bounded(tmp_path, "forward", "p.npz", "--max-input-mb", "100"),
        "it unpacks to 762.9 MB, over the 100.0 MB input limit",
    )


def test_npy_header_declaring_10_to_12_entries_is_lean(tmp_path):
    from fuzzing_io import broken_npz

    (tmp_path / "p.npz").write_bytes(broken_npz("huge_member"))
    assert_refused_lean(run_bounded(tmp_path, "backward", "p.npz"), "1,000,000,000,000 entries")


def test_generate_a_key_too_big_is_refused_quickly(tmp_path):
    outcome = run_bounded(tmp_path, "generate", "--size", "1000", "--kernel", "1", "--seed", "1", "--key", "k")
    assert_refused_lean(outcome, "the answer key would work through 1,000,000 overlays")
    assert outcome[4] < 30
    assert not (tmp_path / "k.json").exists()


def test_padding_past_the_limits_is_refused_from_shapes(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": [1, 2, 3], "W": [1], "padding": 10**9}))
    assert_refused_lean(run_bounded(tmp_path, "forward", "p.json", "--json"), "entries, over the limit")


def test_long_1d_input_with_a_1000_tap_kernel_finishes(tmp_path):
    """covered() was a Python loop over outputs x taps (10^9 steps here); every JSON output uses it."""
    np.save(tmp_path / "a.npy", np.ones(1_000_000))
    np.save(tmp_path / "w.npy", np.ones(1000))
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": "a.npy", "W": "w.npy", "stride": 3}))
    code, stdout, stderr, peak, seconds = run_bounded(
        tmp_path, "forward", "p.json", "--json", "--overlays", "none", timeout=120
    )
    assert code == 0, stderr
    assert json.loads(stdout)["audits"]["stride_leftovers"] == [] and seconds < 60 and peak < PEAK_LIMIT_KB


# -- in process -----------------------------------------------------------------------------------


def _covered_by_loop(g) -> tuple[tuple[bool, ...], ...]:
    result = []
    for n, k, s, d, (b, _), o in zip(g.input_size, g.kernel_size, g.stride, g.dilation, g.padding, g.output_size):
        hit = [False] * n
        for p in range(o):
            for i in range(k):
                if 0 <= p * s - b + d * i < n:
                    hit[p * s - b + d * i] = True
        result.append(tuple(hit))
    return tuple(result)


def test_covered_matches_the_loop_and_is_fast():
    from convgrad.geometry import Geometry, output_length

    rng = random.Random(17)
    for _ in range(2000):
        n, k, s, d = rng.randint(1, 40), rng.randint(1, 7), rng.randint(1, 8), rng.randint(1, 5)
        b, a = rng.randint(0, 9), rng.randint(0, 9)
        o = output_length(n, k, s, d, b, a)
        if o < 1:
            continue
        g = Geometry(1, 1, 1, 1, (n,), (k,), (s,), (d,), ((b, a),), (o,))
        assert g.covered() == _covered_by_loop(g), (n, k, s, d, b, a)
    n, k = 1_000_000, 1000
    g = Geometry(1, 1, 1, 1, (n,), (k,), (1,), (1,), ((0, 0),), (n - k + 1,))
    start = time.perf_counter()
    assert all(g.covered()[0])
    assert time.perf_counter() - start < 5


def test_cell_terms_count_against_the_output_limit(cli, tmp_path):
    np.save(tmp_path / "a.npy", np.ones(20_000))
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": "a.npy", "W": [1.0, 2.0], "dZ": 1}))
    base = ("backward", tmp_path / "p.json", "--overlays", "none", "--json", "--max-output-mb", "2")
    assert cli(*base).exit_code == 0
    refused = cli(*base, "--cell", "W[0]")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "19,999 terms behind --cell W[0]" in refused.stderr and "over the 2.0 MB output limit" in refused.stderr
    assert cli(*base, "--cell", "A_prev[5]").exit_code == 0  # two terms


def test_check_of_a_large_exact_problem_computes_its_variants_in_floats(cli, tmp_path, monkeypatch):
    """Past max_exact_terms / VARIANT_SOLVES multiply-adds, the dozen mistake variants are solved in
    float64 while the answers are still checked exactly."""
    from dataclasses import replace

    import convgrad.commands.check as command
    from convgrad import variants

    domains = []
    spies = tuple(
        replace(variant, compute=lambda p, real=variant.compute: domains.append(p.domain.name) or real(p))
        for variant in variants.VARIANTS
    )
    monkeypatch.setattr(variants, "VARIANTS", spies)
    monkeypatch.setitem(variants.VARIANTS_BY_KIND, "conv", spies)
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": [1, 2, 3, 4], "W": [1, 2], "dZ": [1, 0.5, -1]}))
    (tmp_path / "flipped.json").write_text(json.dumps({"Z": [4, 7, 10]}))  # W flipped: 2*1 + 1*2 ...
    small = cli("check", tmp_path / "p.json", "--answer", tmp_path / "flipped.json", "--json")
    assert small.exit_code == 1 and domains and set(domains) == {"exact"}
    domains.clear()
    monkeypatch.setattr(command, "VARIANT_SOLVES", 10**9)
    large = cli("check", tmp_path / "p.json", "--answer", tmp_path / "flipped.json", "--json")
    assert large.exit_code == 1 and domains and "exact" not in domains
    assert json.loads(large.stdout)["quantities"]["Z"]["wrong"] == 3
    assert "flip" in large.stdout.lower() or "convolution" in large.stdout.lower()
