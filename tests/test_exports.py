"""The exports of channels-last problems: per-sample, per-channel H x W matrices, and LaTeX that
fits the page (pdflatex reports no overfull box) for every sample."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from conftest import SAMPLES

SAMPLE = {p.stem: p for p in SAMPLES}


def nhwc_problem(tmp_path, n=2, size=6, channels=2, filters=2, k=3):
    """A Coursera-shaped problem (NHWC), values distinct so a wrong slice shows."""
    rng = np.random.default_rng(7)
    doc = {
        "layout": "NHWC",
        "A_prev": rng.integers(-9, 10, (n, size, size, channels)).tolist(),
        "W": rng.integers(-9, 10, (k, k, channels, filters)).tolist(),
        "b": list(range(filters)),
        "dZ": rng.integers(-9, 10, (n, size - k + 1, size - k + 1, filters)).tolist(),
    }
    path = tmp_path / "nhwc.json"
    path.write_text(json.dumps(doc))
    return path, doc


def test_markdown_of_nhwc_shows_each_sample_and_channel_as_h_by_w(cli, tmp_path):
    path, doc = nhwc_problem(tmp_path)
    out = cli("backward", path, "--format", "markdown").stdout
    assert "[0, 0, :, :]" not in out
    A = np.array(doc["A_prev"])
    for n in range(2):
        for c in range(2):
            section = out.split(f"*n {n}, c {c}*\n\n", 1)[1].split("\n\n", 1)[0]
            rows = section.splitlines()[2:]
            assert len(rows) == 6  # H rows of W columns, not one image row across width x channels
            for i, row in enumerate(rows):
                cells = [cell.strip() for cell in row.strip("|").split("|")][1:]
                assert cells == [str(v) for v in A[n, i, :, c]]


def test_latex_of_nhwc_labels_samples_and_channels(cli, tmp_path):
    path, doc = nhwc_problem(tmp_path)
    tex = cli("backward", path, "--format", "latex", "--overlays", "1").stdout
    row = " & ".join(str(v) for v in np.array(doc["A_prev"])[1, 0, :, 1])
    assert r"\text{n 1, c 1:}\ \begin{bmatrix}" + row + r" \\" in tex


def compile_latex(tex: str, tmp_path) -> str:
    (tmp_path / "out.tex").write_text(tex)
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "out.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (tmp_path / "out.log").read_text(errors="replace")
    assert run.returncode == 0, run.stdout[-2000:]
    return log


needs_pdflatex = pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="no LaTeX engine installed (apt-get install texlive-latex-base to run this)",
)


@needs_pdflatex
@pytest.mark.parametrize("sample", sorted(SAMPLE))
def test_latex_of_every_sample_fits_the_page(cli, tmp_path, sample):
    tex = cli("backward", SAMPLE[sample], "--format", "latex", "--overlays", "all").stdout
    log = compile_latex(tex, tmp_path)
    assert "Overfull \\hbox" not in log, log[log.find("Overfull") - 200 : log.find("Overfull") + 400]


@needs_pdflatex
@pytest.mark.parametrize("size,overlays", [(6, "all"), (40, "1-2")])
def test_latex_of_a_wide_nhwc_problem_fits_the_page(cli, tmp_path, size, overlays):
    path, _ = nhwc_problem(tmp_path, n=2, size=size, channels=2, filters=2, k=3)
    tex = cli("backward", path, "--format", "latex", "--overlays", overlays).stdout
    log = compile_latex(tex, tmp_path)
    assert "Overfull \\hbox" not in log
