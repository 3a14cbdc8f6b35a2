"""Golden outputs: every sample's views, byte for byte, as recorded in tests/golden/.

Restructuring and speed work must not change what users see. When a change is meant to alter
an output, regenerate with `python tests/test_golden.py` and review the diff of tests/golden/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
SAMPLE_NAMES = sorted(p.stem for p in (ROOT / "samples").glob("*.json") if '"layers"' not in p.read_text())
CHAIN_NAMES = sorted(p.stem for p in (ROOT / "samples").glob("*.json") if '"layers"' in p.read_text())

# (label, argv after the sample path) for each sample
VIEWS: list[tuple[str, list[str]]] = [
    ("forward", ["forward"]),
    ("backward", ["backward"]),
    ("backward-blocks", ["backward", "--view", "blocks", "--overlays", "1-3"]),
    ("backward-json", ["backward", "--json"]),
    ("backward-json-all", ["backward", "--json", "--overlays", "all"]),
    ("backward-jsonl", ["backward", "--format", "jsonl", "--overlays", "all"]),
    ("backward-markdown", ["backward", "--format", "markdown", "--overlays", "all"]),
    ("backward-latex", ["backward", "--format", "latex", "--overlays", "all"]),
    ("backward-csv", ["backward", "--format", "csv", "--overlays", "all"]),
    ("backward-exact-json", ["backward", "--exact", "--json"]),
    ("backward-exact", ["backward", "--exact"]),
    ("explain", ["backward", "--explain"]),
    ("gradcheck", ["gradcheck"]),
    ("gradcheck-json", ["gradcheck", "--json"]),
]
# a chain's views (samples with "layers")
CHAIN_VIEWS: list[tuple[str, list[str]]] = [
    ("forward", ["forward"]),
    ("backward", ["backward"]),
    ("backward-totals", ["backward", "--overlays", "none"]),
    ("backward-json", ["backward", "--json"]),
    ("backward-jsonl", ["backward", "--format", "jsonl", "--overlays", "all"]),
    ("backward-exact", ["backward", "--exact", "--overlays", "none"]),
    ("explain", ["backward", "--explain", "--overlays", "1-2"]),
    ("layers-1", ["backward", "--layers", "1", "--overlays", "1-3"]),
]
# answers are checked against the seed sample
CHECKS: list[tuple[str, list[str]]] = [
    (f"check-{name}", ["check", "samples/seed_1d.json", "--answer", f"samples/answers/{name}.json"])
    for name in ("ana", "ben", "cy", "dee")
] + [
    ("check-folder", ["check", "samples/seed_1d.json", "--answer", "samples/answers"]),
    ("cell-seed-W", ["backward", "samples/seed_1d.json", "--cell", "W[0]"]),
    ("cell-seed-A", ["backward", "samples/seed_1d.json", "--cell", "A_prev[1]"]),
    ("cell-2d", ["backward", "samples/basic_2d.json", "--cell", "W[0,1]"]),
    ("cell-2d-A", ["backward", "samples/stride2_pad1.json", "--cell", "1,1"]),
    ("check-folder-json", ["check", "samples/seed_1d.json", "--answer", "samples/answers", "--json"]),
    ("shape", ["shape", "--A-prev-shape", "1x3x32x32", "--W-shape", "8x3x3x3", "--stride", "2", "--padding", "1"]),
    ("shape-json", ["shape", "--A-prev-shape", "1x3x32x32", "--W-shape", "8x3x3x3", "--json"]),
    ("symbolic", ["backward", "--symbolic", "--A-prev-shape", "3x3", "--W-shape", "2x2"]),
    ("symbolic-json", ["backward", "--symbolic", "--A-prev-shape", "3", "--W-shape", "2", "--json"]),
    ("generate", ["generate", "--seed", "3"]),
    ("bad-shape", ["backward", "-x", "1 2 3", "-w", "1 2 3 4"]),
]


def cases() -> list[tuple[str, list[str]]]:
    out = []
    for sample in SAMPLE_NAMES:
        for label, argv in VIEWS:
            out.append((f"{sample}.{label}", [argv[0], f"samples/{sample}.json", *argv[1:]]))
    for sample in CHAIN_NAMES:
        for label, argv in CHAIN_VIEWS:
            out.append((f"{sample}.{label}", [argv[0], f"samples/{sample}.json", *argv[1:]]))
    out.extend(CHECKS)
    return out


def run(argv: list[str]) -> str:
    """Run the CLI in-process from the repo root; return exit code, stdout and stderr as one text."""
    import os

    from conftest import make_runner

    from convgrad.cli import app

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = make_runner().invoke(app, argv, env={"COLUMNS": "100", "NO_COLOR": "1"})
    finally:
        os.chdir(cwd)
    stderr = result.stderr if result.stderr_bytes is not None else ""
    return f"$ convgrad {' '.join(argv)}\n[exit {result.exit_code}]\n--- stdout\n{result.stdout}--- stderr\n{stderr}"


@pytest.mark.parametrize(("name", "argv"), cases(), ids=[c[0] for c in cases()])
def test_output_unchanged(name: str, argv: list[str]) -> None:
    path = GOLDEN / f"{name}.txt"
    assert path.exists(), f"no golden file {path.name}: run python tests/test_golden.py"
    assert run(argv) == path.read_text(encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    GOLDEN.mkdir(exist_ok=True)
    for stale in GOLDEN.glob("*.txt"):
        stale.unlink()
    for name, argv in cases():
        (GOLDEN / f"{name}.txt").write_text(run(argv), encoding="utf-8")
    print(json.dumps({"written": len(cases())}))
