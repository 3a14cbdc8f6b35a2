"""Names are never executable: every prefix, name and label goes through one check, the exports
escape what they print, and every formula convgrad writes reads back through a parser that knows
nothing but symbols, numbers, +, * and **."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SAMPLES

#: What a formula may be built of when read back: nothing callable but these.
ALLOWED_TYPES = (
    "Symbol",
    "Integer",
    "Rational",
    "Float",
    "Add",
    "Mul",
    "Pow",
    "Zero",
    "One",
    "NegativeOne",
    "Half",
    "exp",
    "tanh",
)


def restricted_parse(text: str, names: set[str]):
    """parse_expr with a namespace of Symbol, Integer, Rational, Float, Add, Mul, Pow and the names
    themselves, no builtins, and no automatic symbols: anything else is a NameError."""
    import sympy
    from sympy.parsing.sympy_parser import auto_number, parse_expr

    global_dict = {
        "__builtins__": {},
        "Symbol": sympy.Symbol,
        "Integer": sympy.Integer,
        "Rational": sympy.Rational,
        "Float": sympy.Float,
        "Add": sympy.Add,
        "Mul": sympy.Mul,
        "Pow": sympy.Pow,
        # the activations' functions, called by these names only (check_syntax allows nothing else)
        "exp": sympy.exp,
        "tanh": sympy.tanh,
    }
    local_dict = {name: sympy.Symbol(name) for name in names if name not in FUNCTIONS}
    return parse_expr(text, local_dict=local_dict, global_dict=global_dict, transformations=(auto_number,))


def formulas(node) -> list[str]:
    """Every string in a JSON document except the configuration's words."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [f for item in node for f in formulas(item)]
    if isinstance(node, dict):
        # config and audits hold words; conv-transpose's "lands" names the Z entries an overlay writes
        return [f for key, value in node.items() if key not in ("config", "audits", "lands") for f in formulas(value)]
    return []


def symbolic_version(sample) -> dict:
    """The sample's configuration with every array named instead of valued."""
    problem = json.loads(sample.read_text())
    out = {k: v for k, v in problem.items() if k not in ("A_prev", "W", "b", "dZ", "description")}
    out["A_prev"] = {"shape": list(np.shape(problem["A_prev"]))}
    if "W" in problem:  # activations and pooling take no W
        out["W"] = {"shape": list(np.shape(problem["W"])), "prefix": "w"}
    if "b" in problem:
        out["b"] = {"shape": list(np.shape(problem["b"])), "prefix": "bias"}
    return out


#: The functions a formula may call: the activations sigmoid (1/(1 + exp(-x))) and tanh.
FUNCTIONS = ("exp", "tanh")


def check_syntax(text: str) -> None:
    """The formula's Python syntax holds only names, numbers, + - * / ** and parentheses."""
    import ast

    allowed = (
        ast.Expression,
        ast.Name,
        ast.Load,
        ast.Constant,
        ast.BinOp,
        ast.UnaryOp,
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.Pow,
        ast.USub,
        ast.UAdd,
    )
    for node in ast.walk(ast.parse(text, mode="eval")):
        if isinstance(node, ast.Call):  # exp(...) and tanh(...) of one argument, nothing else
            assert isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS, (text, ast.dump(node.func))
            assert len(node.args) == 1 and not node.keywords, text
            continue
        assert isinstance(node, allowed), (text, type(node).__name__)
        if isinstance(node, ast.Constant):
            assert type(node.value) in (int, float), text


def check_formula(text: str, names: set[str]) -> None:
    import sympy

    check_syntax(text)

    expr = restricted_parse(text, names)
    assert isinstance(expr, sympy.Basic), text
    for node in sympy.preorder_traversal(expr):
        assert type(node).__name__ in ALLOWED_TYPES, (text, type(node))
        if isinstance(node, sympy.Symbol):
            assert node.name in names, (text, node.name)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_every_symbolic_formula_reads_back_restricted(cli, sample):
    pytest.importorskip("sympy")
    problem = symbolic_version(sample)
    result = cli("backward", "-", "--symbolic", "--json", input=json.dumps(problem))
    if result.exit_code == 2 and "needs numbers" in result.stderr:  # relu decides a branch: names are refused
        assert result.stdout == ""
        return
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    texts = formulas(doc)
    assert texts
    import re

    names = {n for t in texts for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", t)}
    for text in texts:
        check_formula(text, names)


@pytest.mark.parametrize(
    "hostile",
    [
        "__import__('os').system('true')",
        "x.__class__",
        "exec('1')",
        "lambda: 1",
        "(1).real",
        "[x]",
        "x if x else x",
        "open('/etc/passwd')",
        "globals()",
        "Symbol('a')._eval_power",
    ],
)
def test_the_restricted_parser_lets_nothing_else_through(hostile):
    """The reader the test uses is itself strict: code in a formula raises instead of running."""
    pytest.importorskip("sympy")
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do, as long as nothing runs
        check_formula(hostile, {"x"})


@pytest.mark.parametrize(
    "field, spec",
    [
        ("b", {"shape": [], "prefix": "__import__('os').system('echo PWNED')"}),  # the reproducer: scalar bias prefix
        ("b", {"shape": [1], "prefix": "__import__('os')"}),
        ("A_prev", {"shape": [3], "prefix": "x;y"}),
        ("A_prev", {"shape": [3], "prefix": "é"}),  # identifiers beyond ASCII are not names
        ("A_prev", {"shape": [3], "prefix": "\\input{/etc/passwd}"}),
        ("W", {"shape": [2], "prefix": "w" * 61}),
        ("W", {"shape": [2], "prefix": 7}),
        ("b", {"shape": [], "prefix": None}),
    ],
)
def test_every_prefix_goes_through_the_name_check(cli, field, spec):
    problem = {"A_prev": {"shape": [3]}, "W": {"shape": [2]}, field: spec}
    for fmt in ("--json", "--format=latex", "--format=markdown"):
        result = cli("backward", "-", "--symbolic", fmt, input=json.dumps(problem))
        assert result.exit_code == 2, result.stdout
        assert result.stdout == ""
        assert result.stderr.startswith(f"error: {field} prefix is ") and "not a name" in result.stderr
        assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("name", ["import", "__class__", "lambda", "x.y", "1x", "x y", "a-b", "Ä", "x\u200b"])
def test_every_entry_name_goes_through_the_name_check(cli, name):
    result = cli("forward", "-", "--symbolic", "--json", input=json.dumps({"A_prev": [name, "x2"], "W": ["w1"]}))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: A_prev[0]")


def test_api_prefix_goes_through_the_name_check():
    import convgrad
    from convgrad.errors import InputError

    with pytest.raises(InputError, match="not a name"):
        convgrad.forward({"shape": [3]}, {"shape": [2]}, b={"shape": [], "prefix": "os.system"}, symbolic=True)


def test_latex_escapes_what_it_prints():
    from convgrad.render.exports import tex_number

    assert tex_number("\\input{x}") == "\\textbackslash{}input\\{x\\}"
    assert tex_number("w1*x1 + b_1") == "w1 \\cdot x1 + b\\_1"
    assert "$" not in tex_number("$x$").replace("\\$", "")


def test_markdown_escapes_what_it_prints():
    from convgrad.render.markdown import escape_markdown as _escape

    assert _escape("w1*x1 | `rm` <b>") == "w1\\*x1 \\| \\`rm\\` \\<b\\>"


def test_symbolic_markdown_has_no_raw_emphasis(cli):
    out = cli("backward", "--symbolic", "--A-prev-shape", "3", "--W-shape", "2", "--format", "markdown").stdout
    for line in out.splitlines():
        if line.startswith("- "):
            assert "*" not in line.replace("\\*", "").replace("**", ""), line
