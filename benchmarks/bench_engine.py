"""Benchmark: convgrad's totals (conv.forward + conv.backward) against PyTorch CPU autograd.

    python benchmarks/bench_engine.py              # the full problems (about 20 s on 2 cores)
    python benchmarks/bench_engine.py --quick      # tiny sizes, a couple of seconds
    python benchmarks/bench_engine.py --repeat 20  # more timed runs per measurement

What is timed, on both sides, is one training step of one convolution layer:
- ours:  Z = conv.forward(A, W, b); dW, db, dA = conv.backward(A, W, dZ)
- torch: Z = F.conv{1,2,3}d(A, W, b) with requires_grad on A, W and b; Z.backward(dZ)
Both produce Z, dW, db and dA. A second table times the backward pass alone
(torch: Z.backward(dZ) on a graph built outside the timer).

Each time is the minimum over 3 rounds; in each round every contender is
warmed up once and then runs --repeat times in a row (its steady state), the
contenders taking turns round by round so a noisy moment hits them alike.
Ratios are ours / torch: below 1 means convgrad is faster.

Threads: numpy's BLAS and torch get the same count (--threads, default every
usable core). The BLAS count is set through OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS / MKL_NUM_THREADS before numpy is imported (and through
threadpoolctl if it is installed); torch's through torch.set_num_threads. On
our side a large layer's samples are split between as many threads (each runs
the copies, GEMMs and scatter-back of its part, BLAS on one thread meanwhile;
convgrad/blas.py), a small one runs on one thread with BLAS threaded; torch
likewise spreads its unfold and col2im over its threads, a sample per thread.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs, times mean little")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="timed runs per round (3 rounds) of each measurement (default 5, 2 with --quick)",
    )
    parser.add_argument(
        "--threads", type=int, default=_usable_cores(), help="BLAS and torch threads (default: usable cores)"
    )
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 2 if args.quick else 5
    if args.repeat < 1 or args.threads < 1:
        parser.error("--repeat and --threads must be at least 1")
    return args


ARGS = _parse_args()
# Before numpy is imported: BLAS libraries read these once, when they load.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = str(ARGS.threads)

import platform  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from reference import reference_backward, reference_forward  # noqa: E402  (tests/reference.py: plain loops)

from convgrad import blas as convgrad_blas  # noqa: E402
from convgrad.geometry import Geometry  # noqa: E402
from convgrad.layers import conv  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the benchmark still runs: our side only
    torch = None

try:
    import threadpoolctl

    _BLAS_LIMIT = threadpoolctl.threadpool_limits(ARGS.threads, user_api="blas")  # held for the whole run
except ImportError:
    threadpoolctl = None


@dataclass(frozen=True)
class Case:
    """One layer: channels-first, symmetric padding (as torch takes it)."""

    label: str
    batch: int
    in_channels: int
    size: tuple[int, ...]
    out_channels: int
    kernel: tuple[int, ...]
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1

    @property
    def dims(self) -> int:
        return len(self.size)

    def geometry(self) -> Geometry:
        d = self.dims
        return Geometry.build(
            batch=self.batch,
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            groups=self.groups,
            input_size=self.size,
            kernel_size=self.kernel,
            stride=(self.stride,) * d,
            dilation=(self.dilation,) * d,
            padding=((self.padding, self.padding),) * d,
        )

    def arrays(self, dtype: type, seed: int = 0) -> tuple[np.ndarray, ...]:
        """(A, W, b, dZ) standard normal, in ``dtype``."""
        geom = self.geometry()
        rng = np.random.default_rng(seed)
        A = rng.standard_normal((self.batch, self.in_channels) + self.size)
        W = rng.standard_normal((self.out_channels, self.in_channels // self.groups) + self.kernel)
        b = rng.standard_normal(self.out_channels)
        dZ = rng.standard_normal((self.batch, self.out_channels) + geom.output_size)
        return tuple(x.astype(dtype) for x in (A, W, b, dZ))


FULL = [
    Case("2-D N8 C64 56x56, 64 filters 3x3, s1 p1", 8, 64, (56, 56), 64, (3, 3), padding=1),
    Case("2-D N32 C3 32x32, 16 filters 5x5, s1 p2", 32, 3, (32, 32), 16, (5, 5), padding=2),
    Case("2-D N4 C128 28x28, 128 filters 3x3, s2 p1", 4, 128, (28, 28), 128, (3, 3), stride=2, padding=1),
    Case("2-D N1 C32 64x64 depthwise 3x3 d2 p2", 1, 32, (64, 64), 32, (3, 3), padding=2, dilation=2, groups=32),
    Case("1-D N16 C32 L1024, 64 filters 5, s1 p2", 16, 32, (1024,), 64, (5,), padding=2),
    Case("3-D N2 C16 16^3, 32 filters 3^3, s1 p1", 2, 16, (16, 16, 16), 32, (3, 3, 3), padding=1),
]
QUICK = [
    Case("2-D N2 C8 12x12, 8 filters 3x3, s1 p1", 2, 8, (12, 12), 8, (3, 3), padding=1),
    Case("2-D N4 C3 10x10, 4 filters 5x5, s1 p2", 4, 3, (10, 10), 4, (5, 5), padding=2),
    Case("2-D N2 C8 9x9, 8 filters 3x3, s2 p1", 2, 8, (9, 9), 8, (3, 3), stride=2, padding=1),
    Case("2-D N1 C4 12x12 depthwise 3x3 d2 p2", 1, 4, (12, 12), 4, (3, 3), padding=2, dilation=2, groups=4),
    Case("1-D N2 C4 L64, 8 filters 5, s1 p2", 2, 4, (64,), 8, (5,), padding=2),
    Case("3-D N1 C2 6^3, 4 filters 3^3, s1 p1", 1, 2, (6, 6, 6), 4, (3, 3, 3), padding=1),
]
# Plain loops (tests/reference.py) against ours: a size the loops finish in a few seconds.
LOOPS_FULL = Case("2-D N2 C4 16x16, 8 filters 3x3, s1 p1", 2, 4, (16, 16), 8, (3, 3), padding=1)
LOOPS_QUICK = Case("2-D N1 C2 6x6, 4 filters 3x3, s1 p1", 1, 2, (6, 6), 4, (3, 3), padding=1)


# --- timing -------------------------------------------------------------------


def best_times(runners: dict[str, object], repeat: int, rounds: int = 3) -> dict[str, float]:
    """Seconds per call of each runner: the minimum over ``rounds`` rounds of ``repeat`` runs.

    In each round every runner is warmed up once, then runs ``repeat`` times in
    a row (so it times its steady state: the memory it allocates is reused
    rather than faulted in afresh); the rounds take turns, so that a noisy
    moment of the machine does not hit one runner only. A runner is a callable,
    or a pair (setup, timed): setup() runs untimed and its result goes to timed().
    """

    def once(runner) -> float:
        if isinstance(runner, tuple):
            setup, timed = runner
            state = setup()
            start = time.perf_counter()
            timed(state)
        else:
            start = time.perf_counter()
            runner()
        return time.perf_counter() - start

    best = {name: float("inf") for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            once(runner)
            for _ in range(repeat):
                best[name] = min(best[name], once(runner))
    return best


def ours(case: Case, dtype: type):
    """(fwd+bwd runner, bwd runner, results of one step) for convgrad."""
    geom = case.geometry()
    A, W, b, dZ = case.arrays(dtype)

    def step():
        return (conv.forward(A, W, b, geom),) + conv.backward(A, W, dZ, geom)

    return step, (lambda: conv.backward(A, W, dZ, geom)), step()


def theirs(case: Case, dtype: type):
    """(fwd+bwd runner, bwd runner, results of one step) for torch autograd."""
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[case.dims]
    A, W, b, dZ = (torch.from_numpy(x) for x in case.arrays(dtype))
    x, w, bias = (t.clone().requires_grad_(True) for t in (A, W, b))

    def forward():
        x.grad = w.grad = bias.grad = None
        return conv(x, w, bias, stride=case.stride, padding=case.padding, dilation=case.dilation, groups=case.groups)

    def step():
        Z = forward()
        Z.backward(dZ)
        return Z

    Z = step()
    results = tuple(t.detach().numpy() for t in (Z, w.grad, bias.grad, x.grad))
    return step, (forward, lambda Z: Z.backward(dZ)), results


def agreement(mine: tuple[np.ndarray, ...], other: tuple[np.ndarray, ...]) -> float:
    """Largest |difference| over (Z, dW, db, dA), relative to the largest |entry| of each."""
    return max(
        float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max() / max(np.abs(b).max(), 1e-300))
        for a, b in zip(mine, other)
    )


# --- the machine ------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def numpy_blas() -> list[str]:
    """What numpy was built against and what its BLAS runs now (kernel, threads)."""
    lines = []
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        lines.append(
            f"numpy BLAS (build): {blas.get('name')} {blas.get('version')}"
            f" [{blas.get('openblas configuration', '').strip()}]"
        )
    except Exception as error:  # older numpy: no dicts mode
        lines.append(f"numpy BLAS (build): unknown ({error})")
    if threadpoolctl is not None:
        for info in threadpoolctl.threadpool_info():
            lines.append(
                f"threadpoolctl: {info.get('internal_api')} {info.get('version')} {info.get('architecture', '')}"
                f" threads={info.get('num_threads')} ({Path(info.get('filepath', '')).name})"
            )
    else:
        lines.append("threadpoolctl: not installed; OpenBLAS asked directly:" + openblas_runtime())
    return lines


def openblas_runtime() -> str:
    """Core type, config and thread count reported by the OpenBLAS numpy loaded (Linux only)."""
    import ctypes

    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return " (cannot read /proc/self/maps)"
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower() and ".so" in line})
    found = []
    for path in paths:
        lib = ctypes.CDLL(path)
        for prefix, suffix in (
            ("scipy_openblas_", "64_"),
            ("scipy_openblas_", ""),
            ("openblas_", "64_"),
            ("openblas_", ""),
        ):
            try:
                corename = getattr(lib, f"{prefix}get_corename{suffix}")
                threads = getattr(lib, f"{prefix}get_num_threads{suffix}")
            except AttributeError:
                continue
            corename.restype = ctypes.c_char_p
            threads.restype = ctypes.c_int
            found.append(f" {Path(path).name}: core={corename().decode()} threads={threads()}")
            break
    return "".join(found) or " (no OpenBLAS found in this process)"


def header(args: argparse.Namespace) -> None:
    print("convgrad engine benchmark" + (" (--quick: tiny sizes, times are not meaningful)" if args.quick else ""))
    print(f"CPU: {cpu_model()}; {os.cpu_count()} logical CPUs, {_usable_cores()} usable by this process")
    missing = "NOT INSTALLED (pip install torch: torch columns are n/a)"
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"torch {torch.__version__ if torch is not None else missing}"
    )
    for line in numpy_blas():
        print(line)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        print(f"  {name}={os.environ.get(name, '(unset)')}")
    if torch is not None:
        torch.set_num_threads(args.threads)
        blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
        print(
            f"torch: {torch.get_num_threads()} threads, BLAS {blas.group(1) if blas else 'unknown'},"
            f" CPU capability {torch.backends.cpu.get_cpu_capability()}"
        )
    print(
        f"convgrad: large layers split between {convgrad_blas.split_threads()} thread(s)"
        f" (below {convgrad_blas._SPLIT_WORK:,} multiply-adds a pass: one thread, BLAS threaded)"
    )
    print(
        f"threads: numpy BLAS {args.threads}, torch {args.threads};"
        f" timings: min over 3 rounds of (1 warm-up + {args.repeat} runs in a row)"
    )
    print()


# --- the tables ---------------------------------------------------------------


def ms(seconds: float | None) -> str:
    return f"{'n/a':>9}" if seconds is None else f"{seconds * 1e3:9.2f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{'n/a':>6}" if a is None or b is None else f"{a / b:6.2f}"


def compare(cases: list[Case], repeat: int) -> list[tuple[str, float | None]]:
    """Print the fwd+bwd table (float64 and float32) and the bwd-only table; return the float64 fwd+bwd ratios."""
    print("forward+backward, ms (ratio = ours / torch; below 1: convgrad faster)")
    print(
        f"{'problem':44} {'ours f64':>9} {'torch f64':>9} {'ratio':>6} |"
        f" {'ours f32':>9} {'torch f32':>9} {'ratio':>6} | f64 agreement"
    )
    ratios, backward_rows = [], []
    for case in cases:
        row, runners, results = {}, {}, {}
        for dtype, tag in ((np.float64, "64"), (np.float32, "32")):
            runners["ours" + tag], runners["ours bwd" + tag], results["ours" + tag] = ours(case, dtype)
            if torch is not None:
                runners["torch" + tag], runners["torch bwd" + tag], results["torch" + tag] = theirs(case, dtype)
        times = best_times(runners, repeat)
        row = {name: times.get(name) for name in runners}
        check = f"max rel diff {agreement(results['ours64'], results['torch64']):.1e}" if torch is not None else "n/a"
        print(
            f"{case.label:44} {ms(row['ours64'])} {ms(row.get('torch64'))}"
            f" {ratio(row['ours64'], row.get('torch64'))} |"
            f" {ms(row['ours32'])} {ms(row.get('torch32'))} {ratio(row['ours32'], row.get('torch32'))} | {check}"
        )
        ratios.append((case.label, None if torch is None else row["ours64"] / row["torch64"]))
        backward_rows.append((case.label, row["ours bwd64"], row.get("torch bwd64")))
    print()
    print("backward only, float64, ms (ours: conv.backward; torch: Z.backward(dZ), graph built untimed)")
    print(f"{'problem':44} {'ours':>9} {'torch':>9} {'ratio':>6}")
    for label, mine, other in backward_rows:
        print(f"{label:44} {ms(mine)} {ms(other)} {ratio(mine, other)}")
    print()
    return ratios


def loops_versus_ours(case: Case, repeat: int) -> None:
    """Plain nested loops (tests/reference.py) against ours, forward+backward, float64."""
    geom = case.geometry()
    A, W, b, dZ = case.arrays(np.float64)
    args = (geom.stride, geom.dilation, geom.padding, geom.groups, geom.flip, 0.0)
    start = time.perf_counter()
    loops = (reference_forward(A, W, b, *args),) + reference_backward(A, W, dZ, *args)
    loop_time = time.perf_counter() - start
    step, _, mine = ours(case, np.float64)
    our_time = best_times({"ours": step}, repeat)["ours"]
    same = all(np.allclose(m, l.astype(np.float64), rtol=1e-12, atol=1e-12) for m, l in zip(mine, loops))
    print(
        "plain loops (tests/reference.py: loops over n, c_out, position, c_in, taps) vs ours, forward+backward, float64"
    )
    print(
        f"{case.label}: loops {loop_time * 1e3:.1f} ms (one run), ours {our_time * 1e3:.3f} ms,"
        f" speed-up {loop_time / our_time:,.0f}x; results {'agree' if same else 'DIFFER'}"
    )


def main() -> int:
    header(ARGS)
    ratios = compare(QUICK if ARGS.quick else FULL, ARGS.repeat)
    loops_versus_ours(LOOPS_QUICK if ARGS.quick else LOOPS_FULL, ARGS.repeat)
    print()
    if torch is None:
        print("torch is not installed: no ratios against PyTorch (pip install torch to get them)")
        return 0
    met = [r <= 1.0 for _, r in ratios]
    print(
        f"float64 forward+backward ratios: {', '.join(f'{r:.2f}' for _, r in ratios)}"
        f" (geometric mean {float(np.exp(np.mean(np.log([r for _, r in ratios])))):.2f});"
        f" ratio <= 1.0 on {sum(met)} of {len(met)} problems"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
