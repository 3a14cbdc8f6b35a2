"""--symbolic: names as entries, formulas as results; user text is never evaluated."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from cases import SWEEP, make_case
from conftest import ROOT, SEED

import convgrad

sympy = pytest.importorskip("sympy")


def test_general_rule_from_shapes(cli):
    result = cli("backward", "--symbolic", "--A-prev-shape", "3x3", "--W-shape", "2x2", "--dZ-shape", "2x2")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Z11 = w11*x11 + w12*x12 + w21*x21 + w22*x22 + b" in out
    assert "dW11 = dz11*x11 + dz12*x12 + dz21*x21 + dz22*x22" in out
    assert "dA_prev22 = dz11*w22 + dz12*w21 + dz21*w12 + dz22*w11" in out
    assert "db = dz11 + dz12 + dz21 + dz22" in out


def test_json_shape_specs_and_strings_that_parse_back(cli):
    problem = {"A_prev": {"shape": [3, 3]}, "W": {"shape": [2, 2]}, "dZ": {"shape": [2, 2]}, "symbolic": True}
    result = cli("backward", "-", "--json", input=json.dumps(problem))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["Z"][0][0] == "w11*x11 + w12*x12 + w21*x21 + w22*x22 + b"
    assert doc["dW"][0][0] == "dz11*x11 + dz12*x12 + dz21*x21 + dz22*x22"
    # our own output, parsed back by sympy in the test (convgrad never parses user text)
    expr = sympy.parse_expr(doc["dA_prev"][1][1])
    w11, w12, w21, w22, dz11, dz12, dz21, dz22 = sympy.symbols("w11 w12 w21 w22 dz11 dz12 dz21 dz22")
    assert sympy.expand(expr - (dz11 * w22 + dz12 * w21 + dz21 * w12 + dz22 * w11)) == 0
    assert doc["config"]["numbers"] == "symbolic"


def test_mixed_names_and_numbers(cli):
    result = cli("backward", "-x", "1 2 3", "-w", "a b", "--dZ", "1 -1", "--symbolic", "-b", "0", "--json")
    doc = json.loads(result.stdout)
    assert doc["Z"] == ["a + 2*b", "2*a + 3*b"]
    assert doc["dW"] == [-1, -1]  # a formula that is a number is written as a number
    assert doc["dA_prev"] == ["a", "-a + b", "-b"]


def test_names_for_channels_and_batches_follow_one_rule():
    r = convgrad.backward({"shape": [2, 2, 3]}, {"shape": [1, 2, 2]}, {"shape": [2, 1, 2]}, b=0, symbolic=True)
    # A_prev (N=2, C=2, L=3): x{n}{c}{l}, 1-based, every axis in the order given
    assert str(r.Z[1, 0, 0]) == str(sympy.expand(sympy.sympify("w111*x211 + w112*x212 + w121*x221 + w122*x222")))
    long = convgrad.forward({"shape": [12]}, {"shape": [2]}, symbolic=True, b=0)
    assert [str(s) for s in long.Z[:1]] == ["w1*x_1 + w2*x_2"]  # x has an axis over 9: indices joined by _


@pytest.mark.parametrize("index", range(0, len(SWEEP), 3))
def test_substituted_formulas_equal_numbers(index):
    case = dict(SWEEP[index])
    rng = np.random.default_rng(3000 + index)
    problem, _c, _ = make_case(rng, **case, values=lambda r, shape: r.integers(-3, 4, size=shape).astype(float))
    config = {k: problem[k] for k in problem if k not in ("A_prev", "W", "dZ", "b")}
    shapes = {k: np.shape(problem[k]) for k in ("A_prev", "W", "dZ")}
    b = problem.get("b")
    symbolic = convgrad.backward(
        *({"shape": list(shapes[k])} for k in ("A_prev", "W", "dZ")),
        b=0 if b is None else {"shape": list(np.shape(b))},
        symbolic=True,
        **config,
    )
    numeric = convgrad.backward(problem["A_prev"], problem["W"], problem["dZ"], b=b, **config)
    values = {}
    for key, prefix in (("A_prev", "x"), ("W", "w"), ("dZ", "dz"), ("b", "b")):
        if key == "b" and b is None:
            continue
        from convgrad.problem import entry_names

        given = np.asarray(problem[key])
        for idx, name in np.ndenumerate(entry_names(prefix, given.shape)):
            values[sympy.Symbol(name)] = sympy.Rational(repr(float(given[idx])))
    for key in ("Z", "dW", "db", "dA_prev"):
        formulas = np.asarray(getattr(symbolic, key), dtype=object)
        expected = np.asarray(getattr(numeric, key), dtype=float)
        substituted = np.array([float(f.xreplace(values)) for f in formulas.ravel()]).reshape(formulas.shape)
        np.testing.assert_allclose(substituted, expected, atol=1e-9, err_msg=key)


PAYLOADS = [
    "__import__('os').system('touch {marker}')",
    "exec(\"open('{marker}', 'w')\")",
    "x; open('{marker}', 'w')",
    "lambda: open('{marker}', 'w')",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_is_refused_and_nothing_runs(cli, tmp_path, payload):
    marker = tmp_path / "ran"
    text = payload.format(marker=marker)
    for problem in (
        {"A_prev": [1, 2, 3], "W": [text, "w2"], "dZ": [1, 1], "symbolic": True},
        {"A_prev": {"shape": [3], "prefix": text}, "W": [1, 1], "dZ": [1, 1], "symbolic": True},
    ):
        result = cli("backward", "-", "--json", input=json.dumps(problem))
        assert result.exit_code == 2, result.stdout
        assert result.stdout == ""
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert not marker.exists()


@pytest.mark.parametrize("name", ["__import__", "E", "I", "pi", "gamma", "lambda", "eval", "N"])
def test_names_that_would_not_read_back_as_symbols_are_refused(cli, name):
    result = cli("backward", "-x", "1 2", "-w", name, "--dZ", "1 1", "--symbolic")
    assert result.exit_code == 2
    assert "which sympy reads as something other than a plain symbol" in result.stderr


def test_no_evaluation_of_text_anywhere_in_the_package():
    for path in (ROOT / "convgrad").rglob("*.py"):
        source = path.read_text()
        for forbidden in (
            "eval(",
            "exec(",
            "sympify(",
            "parse_expr(",
            "import pickle",
            "pickle.load",
            "allow_pickle=True",
        ):
            assert forbidden not in source, f"{forbidden} in {path}"
        assert source.count("np.load(") + source.count("read_array(") == source.count("allow_pickle=False"), path


def test_shape_only_needs_symbolic(cli):
    result = cli("backward", "--A-prev-shape", "3", "-w", "1 1", "--dZ", "1 1")
    assert result.exit_code == 2
    assert result.stderr == "error: A_prev is given by its shape only (naming its entries needs --symbolic)\n"


def test_numeric_runs_do_not_import_sympy():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from convgrad.cli import app\n"
        f"r = CliRunner().invoke(app, ['backward', {str(SEED)!r}, '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['backward', {seed!r}, '--exact'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('sympy' in sys.modules)\n"
    ).replace("{seed!r}", repr(str(SEED)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- names: typed ones and automatic ones never merge --------------------------------------------


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["-x", '["x","y","z"]', "-w", '["a","b"]', "--dZ", "1 1"],
            (
                "error: the name 'b' is both W[1] and the automatic name of b (rename the one you typed, or give b a value "
                '("b": 0 for no bias))\n'
            ),
        ),
        (
            ["-x", '["dz1","x","y"]', "-w", "[1,1]", "-b", "0"],
            (
                "error: the name 'dz1' is both A_prev[0] and the automatic name of dZ[0] (rename the one you typed, or give "
                "dZ values)\n"
            ),
        ),
    ],
)
def test_automatic_names_never_merge_with_typed_ones(cli, args, message):
    result = cli("backward", "--symbolic", *args)
    assert result.exit_code == 2 and result.stderr == message


def test_a_name_typed_twice_is_one_symbol(cli):
    doc = json.loads(
        cli("backward", "--symbolic", "-x", '["a","a","b"]', "-w", "[1,1]", "-b", "0", "--dZ", "1 1", "--json").stdout
    )
    assert doc["Z"] == ["2*a", "a + b"]
