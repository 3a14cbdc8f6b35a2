"""Whole-command benchmarks, measured side by side in one run on this machine.

(c) `convgrad backward samples/seed_1d.json` (as a table and with --json) against `python -c "import numpy"`
    and against a minimal PyTorch script computing the same gradients;
(d) `--format jsonl` on N1 C8 64x64, 8 filters 3x3, padding 1 (32,768 overlays):
    overlays per second, and peak memory against the totals-only run on the same input;
(e) exact arithmetic on homework sizes: a 1x3x8x8 input with four 3x3 filters.

Each command runs in a fresh process; runs are interleaved so that a noisy
neighbour slows every contestant alike. Ratios are what to read, not seconds.

    python benchmarks/bench_cli.py            # the full run (about a minute)
    python benchmarks/bench_cli.py --quick    # a smoke run (a few seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "samples" / "seed_1d.json"

TORCH_SCRIPT = """
import json, torch
x = torch.tensor([[[1., 2., 3.]]], dtype=torch.float64, requires_grad=True)
w = torch.tensor([[[0.3, 0.5]]], dtype=torch.float64, requires_grad=True)
b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
z = torch.nn.functional.conv1d(x, w, b)
z.backward(torch.tensor([[[-0.1, 0.2]]], dtype=torch.float64))
print(json.dumps({"Z": z.detach().flatten().tolist(), "dW": w.grad.flatten().tolist(),
                  "db": b.grad.item(), "dA_prev": x.grad.flatten().tolist()}))
"""


# Children may cache bytecode, as every installed package has it cached: pip compiles on
# install. (Some environments set PYTHONDONTWRITEBYTECODE, which would make a source
# checkout recompile convgrad on every run while numpy and torch load cached bytecode.)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_once(argv: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak resident KiB, exit status) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=CHILD_ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss, proc.returncode


def interleaved(commands: dict[str, list[str]], repeat: int) -> dict[str, dict[str, float]]:
    """Run each command ``repeat`` times, round-robin; min and median wall time, max peak memory."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, int] = dict.fromkeys(commands, 0)
    for name, argv in commands.items():  # warm the file cache once
        _, _, code = run_once(argv)
        if code != 0:
            raise SystemExit(f"{name} failed (exit {code}): {' '.join(argv)}")
    for _ in range(repeat):
        for name, argv in commands.items():
            elapsed, peak, _ = run_once(argv)
            times[name].append(elapsed)
            peaks[name] = max(peaks[name], peak)
    return {name: {"min": min(t), "median": statistics.median(t), "peak_kib": peaks[name]} for name, t in times.items()}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def have_torch() -> bool:
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def startup(repeat: int) -> None:
    commands = {
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
        "convgrad backward seed --json": [sys.executable, "-m", "convgrad", "backward", str(SEED), "--json"],
        "convgrad backward seed (table)": [sys.executable, "-m", "convgrad", "backward", str(SEED)],
    }
    torch = have_torch()
    if torch:
        commands["minimal PyTorch script"] = [sys.executable, "-c", TORCH_SCRIPT]
    results = interleaved(commands, repeat)
    print(f"(c) whole command on the 1-D sample, {repeat} runs each, interleaved")
    print(f"    {'command':34} {'min s':>8} {'median s':>9}")
    for name, r in results.items():
        print(f"    {name:34} {r['min']:8.3f} {r['median']:9.3f}")
    ours = results["convgrad backward seed --json"]["median"]
    numpy_ = results["python -c 'import numpy'"]
    for label, name in (("--json", "convgrad backward seed --json"), ("table", "convgrad backward seed (table)")):
        mine = results[name]
        print(
            f"    ratio convgrad ({label}) / import numpy: {mine['min'] / numpy_['min']:.2f} (min),"
            f" {mine['median'] / numpy_['median']:.2f} (median)  (target <= 1.6)"
        )
    if torch:
        script = results["minimal PyTorch script"]["median"]
        print(f"    ratio PyTorch script / convgrad: {script / ours:.1f}x faster  (target >= 8)")
    else:
        print("    PyTorch is not installed: the PyTorch script comparison is skipped")


def streaming(size: int, channels: int, repeat: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        problem = Path(tmp) / "layer.npz"
        np.savez(
            problem,
            A_prev=rng.standard_normal((1, channels, size, size)),
            W=rng.standard_normal((channels, channels, 3, 3)),
            dZ=rng.standard_normal((1, channels, size, size)),
            padding=np.array(1),
        )
        overlays = channels * size * size
        base = [sys.executable, "-m", "convgrad", "backward", str(problem)]
        results = interleaved(
            {
                "totals only (--json --overlays none)": base + ["--json", "--overlays", "none"],
                "every overlay (--format jsonl)": base + ["--format", "jsonl"],
            },
            repeat,
        )
    totals = results["totals only (--json --overlays none)"]
    lines = results["every overlay (--format jsonl)"]
    print(
        f"(d) N1 C{channels} {size}x{size}, {channels} filters 3x3, padding 1: {overlays} overlays, {repeat} runs each"
    )
    print(f"    {'run':38} {'median s':>9} {'peak MiB':>9}")
    for name, r in results.items():
        print(f"    {name:38} {r['median']:9.3f} {r['peak_kib'] / 1024:9.1f}")
    stream_time = lines["median"] - totals["median"]
    print(
        f"    jsonl throughput: {overlays / lines['median']:,.0f} overlays/s over the whole command "
        f"({overlays / max(stream_time, 1e-9):,.0f}/s for the overlays alone)"
    )
    print(f"    peak memory ratio jsonl / totals-only: {lines['peak_kib'] / totals['peak_kib']:.2f}  (target <= 1.3)")


def exact(repeat: int) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    problem = {
        "A_prev": (rng.integers(-20, 21, (1, 3, 8, 8)) / 10).tolist(),
        "W": (rng.integers(-20, 21, (4, 3, 3, 3)) / 10).tolist(),
        "dZ": (rng.integers(-20, 21, (1, 4, 6, 6)) / 10).tolist(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hw.json"
        path.write_text(json.dumps(problem))
        base = [sys.executable, "-m", "convgrad", "backward", str(path), "--json"]
        results = interleaved({"floats": base, "exact (--exact)": base + ["--exact"]}, repeat)
    print(f"(e) 1x3x8x8 input, four 3x3 filters (144 overlays), every overlay as JSON, {repeat} runs each")
    for name, r in results.items():
        print(f"    {name:20} median {r['median']:.3f} s")
    print(f"    ratio exact / floats: {results['exact (--exact)']['median'] / results['floats']['median']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on tiny sizes")
    parser.add_argument("--repeat", type=int, default=None, help="runs per command")
    args = parser.parse_args()
    repeat = args.repeat or (2 if args.quick else 15)
    print(f"machine: {machine()}")
    print(
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; bytecode cached in the children "
        f"(PYTHONDONTWRITEBYTECODE here: {os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')})"
    )
    print()
    startup(repeat)
    print()
    streaming(8 if args.quick else 64, 2 if args.quick else 8, max(1, repeat // 3))
    print()
    exact(max(1, repeat // 3))


if __name__ == "__main__":
    main()
