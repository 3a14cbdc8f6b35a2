"""The LaTeX exports compile and fit the page: every sample's backward export, a student sheet and
the --explain export go through pdflatex (no overfull box), and pdftoppm renders the first page.
Skipped where pdflatex or pdftoppm is not installed (.ci/run installs them)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES

pytestmark = pytest.mark.skipif(
    shutil.which("pdflatex") is None or shutil.which("pdftoppm") is None, reason="needs pdflatex and pdftoppm"
)


def compile_to_png(tex: str, folder: Path, name: str = "doc") -> tuple[str, Path]:
    """(the log, the first page as PNG); fails with the log's errors when pdflatex fails."""
    source = folder / f"{name}.tex"
    source.write_text(tex)
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (folder / f"{name}.log").read_text(errors="replace")
    assert run.returncode == 0, "\n".join(line for line in log.splitlines() if line.startswith("!"))[:2000]
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", f"{name}.pdf", name], cwd=folder, check=True)
    pngs = sorted(folder.glob(f"{name}*.png"))
    assert pngs and pngs[0].stat().st_size > 1000
    return log, pngs[0]


def overfull(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("Overfull")]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_every_samples_latex_compiles_without_overfull_boxes(cli, sample, tmp_path):
    result = cli("backward", sample, "--format", "latex", "--overlays", "1-4")
    assert result.exit_code == 0, result.stderr
    log, _ = compile_to_png(result.stdout, tmp_path)
    assert overfull(log) == []


def test_sheet_and_explain_latex_compile(cli, tmp_path):
    assert (
        cli("generate", "--seed", "4", "--channels", "2", "--filters", "2", "--sheet", tmp_path / "s.tex").exit_code
        == 0
    )
    log, _ = compile_to_png((tmp_path / "s.tex").read_text(), tmp_path, "s")
    assert overfull(log) == []
    explained = cli("backward", ROOT / "samples" / "stride2_pad1.json", "--explain", "--format", "latex")
    assert explained.exit_code == 0, explained.stderr
    log, _ = compile_to_png(explained.stdout, tmp_path, "e")
    assert overfull(log) == []
