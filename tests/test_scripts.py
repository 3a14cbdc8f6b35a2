"""--format torch and --format numpy: standalone scripts that recompute every sample and check convgrad's numbers."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest
from conftest import ROOT, make_runner
from test_golden import SAMPLE_NAMES

from convgrad.cli import app

HAS_TORCH = importlib.util.find_spec("torch") is not None
NEEDS_TORCH = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed: the PyTorch scripts cannot run")
#: What the numpy loops do not rebuild yet (refused in one line, tested below).
NUMPY_REFUSES: set[str] = set()


def generate(*argv: str) -> str:
    result = make_runner().invoke(app, list(argv))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def run(script: str, tmp_path, name: str = "check.py") -> subprocess.CompletedProcess:
    """One script in its own interpreter, as a person would run it."""
    path = tmp_path / name
    path.write_text(script, encoding="utf-8")
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)


DRIVER = """
import json, runpy, sys, io, contextlib
codes = {}
for path in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_path(path, run_name="__main__")
        code = 0
    except SystemExit as end:
        code = 0 if end.code is None else 1 if isinstance(end.code, str) else end.code
        err.write(end.code if isinstance(end.code, str) else "")
    codes[path] = [code, out.getvalue(), err.getvalue()]
print(json.dumps(codes))
"""


def run_all(scripts: dict[str, str], tmp_path) -> dict[str, list]:
    """Run many scripts in one interpreter (torch is imported once): name -> [exit code, stdout, stderr]."""
    import json

    paths = {}
    for name, text in scripts.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        paths[str(path)] = name
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(driver), *paths], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    return {paths[path]: value for path, value in json.loads(done.stdout).items()}


@pytest.mark.parametrize("library", [pytest.param("torch", marks=NEEDS_TORCH), "numpy"])
def test_the_script_recomputes_every_sample(library, tmp_path):
    samples = [s for s in SAMPLE_NAMES if library == "torch" or s not in NUMPY_REFUSES]
    scripts = {s: generate("backward", f"samples/{s}.json", "--format", library) for s in samples}
    ran = run_all(scripts, tmp_path)
    assert sorted(ran) == sorted(samples)
    for sample, (code, out, err) in ran.items():
        assert code == 0, (sample, out, err)
        assert out.rstrip().endswith("all equal convgrad's"), sample
        assert "Z =" in out and "dA_prev =" in out, sample
        if library == "numpy":
            assert "import torch" not in scripts[sample]
            if sample in ("seed_1d", "basic_2d", "max_pool", "avg_pool", "grouped", "dilation"):
                assert "for position in np.ndindex(*out):" in scripts[sample]  # the loops written out


def altered(script: str, name: str) -> str:
    """The script with the first number after ``name = ...(`` changed by one."""
    start = script.index(f"{name} = ")
    match = re.compile(r"-?\d+\.\d+(?:e-?\d+)?").search(script, start)
    assert match is not None
    value = float(match.group()) + 1.0
    return script[: match.start()] + repr(value) + script[match.end() :]


@pytest.mark.parametrize("library", [pytest.param("torch", marks=NEEDS_TORCH), "numpy"])
def test_an_altered_number_fails(library, tmp_path):
    scripts = {}
    for sample in ("seed_1d", "nhwc", "relu", "max_pool"):
        script = generate("backward", f"samples/{sample}.json", "--format", library)
        scripts[f"{sample}-Z"] = altered(script, "expected_Z")
        scripts[f"{sample}-dA_prev"] = altered(script, "expected_dA_prev")
        head = "torch.tensor(" if library == "torch" else "np.array("
        scripts[f"{sample}-dZ"] = script.replace(f"dZ = {head}", f"dZ = 2 * {head}", 1)  # other gradients
        assert scripts[f"{sample}-dZ"] != script
    for name, (code, out, err) in run_all(scripts, tmp_path).items():
        assert code == 1, (name, out, err)
        assert "convgrad says" in err, name


@pytest.mark.parametrize("library", [pytest.param("torch", marks=NEEDS_TORCH), "numpy"])
def test_forward_and_exact_scripts(library, tmp_path):
    forward = generate("forward", "samples/stride2_pad1.json", "--format", library)
    done = run(forward, tmp_path)
    assert done.returncode == 0 and done.stdout.rstrip().endswith("Z: all equal convgrad's"), done.stderr
    exact = generate("backward", "samples/grouped.json", "--exact", "--format", library)
    assert run(exact, tmp_path).returncode == 0


@pytest.mark.parametrize("library", [pytest.param("torch", marks=NEEDS_TORCH), "numpy"])
def test_convolution_mode_flips_the_kernel(library, tmp_path):
    argv = ["backward", "--A-prev", "1 2 3 4; 5 6 7 8; 9 10 11 12", "--W", "1 2; 3 -1", "--dZ", "1 0 2; 0 1 1"]
    script = generate(*argv, "--mode", "convolution", "--format", library)
    assert "flip" in script
    done = run(script, tmp_path)
    assert done.returncode == 0, done.stderr


def test_what_cannot_be_rebuilt_is_refused_in_one_line(tmp_path):
    import json

    runner = make_runner()
    problem = json.loads((ROOT / "samples" / "max_pool.json").read_text()) | {"ties": "split"}
    (tmp_path / "split.json").write_text(json.dumps(problem))
    for library in ("numpy", "torch"):
        refused = runner.invoke(app, ["backward", str(tmp_path / "split.json"), "--format", library])
        assert refused.exit_code == 2
        assert refused.stderr == (
            f"error: --format {library} does not rebuild max-pool layers with ties split: "
            "use --json, the table or --explain\n"
        )
    symbolic = runner.invoke(app, ["backward", "--symbolic", "--A-prev-shape", "3", "--W-shape", "2", "-f", "torch"])
    assert symbolic.exit_code == 2 and "symbolic results are formulas" in symbolic.stderr
    precision = runner.invoke(app, ["backward", "samples/seed_1d.json", "-f", "torch", "--precision", "3"])
    assert precision.exit_code == 2


def test_the_help_names_the_script_formats():
    text = make_runner().invoke(app, ["backward", "--help"], env={"COLUMNS": "200"}).stdout
    assert "torch" in text and "numpy" in text
    assert (ROOT / "convgrad" / "render" / "scripts.py").exists()


def varied_problems():
    """Layers the samples do not cover: 3-D, channels-last, groups, uneven padding, dilation, pools."""
    import numpy as np

    import convgrad

    rng = np.random.default_rng(15)

    def normal(*shape):
        return rng.standard_normal(shape).round(3)

    def backward(A, W=None, b=None, **settings):
        shape = convgrad.forward(A, W, b, **settings).Z.shape
        return convgrad.backward(A, W, normal(*shape), b, **settings)

    yield "conv3d-groups", backward(normal(2, 4, 4, 3, 3), normal(2, 2, 2, 2, 2), normal(2), groups=2)
    yield (
        "conv2d-uneven",
        backward(normal(1, 2, 5, 4), normal(3, 2, 2, 3), padding=[[1, 0], [0, 1]], stride=[1, 2], dilation=[2, 1]),
    )
    yield "conv1d-nwc-conv", backward(normal(2, 6, 3), normal(2, 3, 2), layout="NWC", mode="convolution")
    yield "conv2d-unbatched-nhwc", backward(normal(4, 4, 2), normal(2, 2, 2, 3), layout="NHWC")
    yield (
        "transpose-groups",
        backward(normal(1, 4, 3, 3), normal(4, 1, 2, 2), layer="conv-transpose", stride=2, groups=2, output_padding=1),
    )
    yield "transpose-nwc", backward(normal(2, 3, 2), normal(3, 3, 2), layer="conv-transpose", layout="NWC")
    yield "maxpool-ceil", backward(normal(1, 2, 5, 5), layer="max-pool", size=2, stride=2, ceil_mode=True)
    yield "avgpool-pad-count", backward(normal(2, 1, 4, 4), layer="avg-pool", size=2, stride=2, padding=1)
    yield (
        "avgpool-nopad",
        backward(normal(1, 1, 5, 5), layer="avg-pool", size=3, stride=2, padding=1, count_padding=False),
    )
    yield "leaky", backward(normal(2, 3), layer="leaky-relu", slope=0.2)
    yield "tanh-forward", convgrad.forward(normal(3, 3), layer="tanh")


@pytest.mark.parametrize("library", [pytest.param("torch", marks=NEEDS_TORCH), "numpy"])
def test_the_scripts_on_varied_layers(library, tmp_path):
    from convgrad.errors import UsageError
    from convgrad.render.scripts import script

    scripts, refused = {}, []
    for name, result in varied_problems():
        try:
            scripts[name] = script(result, library)
        except UsageError as err:
            refused.append((name, str(err)))
    assert not refused, refused
    for name, (code, out, err) in run_all(scripts, tmp_path).items():
        assert code == 0, (name, out, err)
