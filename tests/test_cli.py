"""The command line through typer's runner: help, inputs, outputs, every error path and its exit status."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SAMPLES, SEED, shown

import convgrad

SEED_FLAGS = ["-x", "1 2 3", "-w", "0.3 0.5", "--dZ", "-0.1 0.2"]


# -- help ----------------------------------------------------------------------------------


def test_help_lists_commands(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("forward", "backward"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["forward", "backward"])
def test_command_help(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    for option in (
        "--input",
        "--A-prev",
        "--W",
        "--stride",
        "--padding",
        "--dilation",
        "--groups",
        "--layout",
        "--mode",
        "--json",
        "--overlays",
        "--precision",
        "Example",
    ):
        assert option in result.stdout, option
    assert ("--dZ" in result.stdout) == (command == "backward")


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout == f"convgrad {convgrad.__version__}\n"


def test_no_arguments_shows_help(cli):
    result = cli()
    assert result.exit_code in (0, 2)  # click prints help for a bare group; either way no traceback
    assert "backward" in result.stdout + result.stderr


# -- ways in -------------------------------------------------------------------------------


def _totals(doc):
    return {k: doc[k] for k in ("Z", "dW", "db", "dA_prev")}


def test_file_stdin_positional_and_flags_agree(cli_json):
    by_option = cli_json("backward", "--input", SEED)
    by_argument = cli_json("backward", SEED)
    by_stdin = cli_json("backward", "-", input=SEED.read_text())
    by_input_dash = cli_json("backward", "--input", "-", input=SEED.read_text())
    by_flags = cli_json("backward", *SEED_FLAGS)
    assert (
        _totals(by_option) == _totals(by_argument) == _totals(by_stdin) == _totals(by_input_dash) == _totals(by_flags)
    )


def test_flags_override_the_file(cli_json):
    doc = cli_json("backward", SEED, "--dZ", "1 1")
    assert doc["dW"] == pytest.approx([3, 5])
    doc = cli_json("backward", SEED, "--stride", "2", "--dZ", "1")
    assert doc["Z"] == pytest.approx([1.3])


def test_matrix_shorthand_and_json_flags(cli_json):
    short = cli_json("backward", "-x", "1 2 3; 4 5 6; 7 8 9", "-w", "1,0;0,1", "--dZ", "1 1; 1 1")
    as_json = cli_json("backward", "-x", "[[1,2,3],[4,5,6],[7,8,9]]", "-w", "[[1,0],[0,1]]", "--dZ", "[[1,1],[1,1]]")
    assert _totals(short) == _totals(as_json)
    assert short["Z"] == [[6.0, 8.0], [12.0, 14.0]]


def test_aliases_in_json(cli_json):
    problem = {"x": [1, 2, 3], "kernel": [0.3, 0.5], "grad_output": [-0.1, 0.2], "bias": 0}
    doc = cli_json("backward", "-", input=json.dumps(problem))
    assert doc["dW"] == pytest.approx([0.3, 0.4])


def test_python_dash_m(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "convgrad", "backward", str(SEED), "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert json.loads(out.stdout)["db"] == pytest.approx(0.1)


# -- JSON out ------------------------------------------------------------------------------


def test_backward_json_document(cli):
    result = cli("backward", SEED, "--json")
    doc = json.loads(result.stdout)  # exactly one document: json.loads refuses trailing data
    assert result.stderr == ""
    assert list(doc) == ["Z", "dW", "db", "dA_prev", "config", "audits", "overlays"]
    config = doc["config"]
    assert config["stride"] == [1] and config["padding"] == [[0, 0]] and config["dilation"] == [1]
    assert config["groups"] == 1 and config["mode"] == "cross-correlation" and config["layout"] == "NCW"
    assert config["shapes"]["A_prev"] == [3] and config["shapes"]["Z"] == [2]
    keys = {"number", "n", "c_out", "position", "window_start", "A_slice", "Z", "dZ", "dW", "db", "dA_prev"}
    assert all(set(o) == keys for o in doc["overlays"])


def test_forward_json_has_no_gradients(cli_json):
    doc = cli_json("forward", "-x", "1 2 3", "-w", "0.3 0.5")
    assert list(doc) == ["Z", "config", "audits", "overlays"]
    assert doc["Z"] == pytest.approx([1.3, 2.1])
    assert set(doc["overlays"][0]) == {"number", "n", "c_out", "position", "window_start", "A_slice", "Z"}


def test_forward_and_shape_ignore_the_files_dZ(cli, cli_json):
    """A dZ in the file does not fit once an option changes Z's shape; forward and shape never read it."""
    doc = cli_json("forward", SEED)
    assert doc["Z"] == pytest.approx([1.3, 2.1]) and "dW" not in doc
    assert shown(cli("forward", ROOT / "samples" / "basic_2d.json", "--padding", "1"), "Result")
    assert cli_json("forward", ROOT / "samples" / "basic_2d.json", "--stride", "2")["config"]["stride"] == [2, 2]
    assert cli_json("shape", ROOT / "samples" / "basic_2d.json", "--padding", "1")["output_size"] == [4, 4]


def test_format_json_equals_json_flag(cli):
    assert cli("backward", SEED, "--format", "json").stdout == cli("backward", SEED, "--json").stdout


def test_json_overlays_selection(cli_json):
    doc = cli_json("backward", ROOT / "samples" / "batch_channels.json", "--overlays", "n=1 c_out=0 pos=1,*")
    assert [(o["n"], o["c_out"], o["position"]) for o in doc["overlays"]] == [(1, 0, [1, 0]), (1, 0, [1, 1])]
    assert [o["number"] for o in doc["overlays"]] == [11, 12]
    assert cli_json("backward", SEED, "--overlays", "none")["overlays"] == []
    assert [o["number"] for o in cli_json("backward", SEED, "--overlays", "2")["overlays"]] == [2]


def test_json_in_the_users_layout(cli_json):
    nhwc = cli_json("backward", ROOT / "samples" / "nhwc.json")
    problem = json.loads((ROOT / "samples" / "nhwc.json").read_text())
    problem["layout"] = "NCHW"
    problem["A_prev"] = np.moveaxis(np.array(problem["A_prev"]), -1, 1).tolist()
    problem["W"] = np.transpose(np.array(problem["W"]), (3, 2, 0, 1)).tolist()
    problem["dZ"] = np.moveaxis(np.array(problem["dZ"]), -1, 1).tolist()
    nchw = cli_json("backward", "-", input=json.dumps(problem))
    np.testing.assert_allclose(np.moveaxis(np.array(nhwc["dA_prev"]), -1, 1), nchw["dA_prev"])
    np.testing.assert_allclose(np.transpose(np.array(nhwc["dW"]), (3, 2, 0, 1)), nchw["dW"])
    np.testing.assert_allclose(np.moveaxis(np.array(nhwc["Z"]), -1, 1), nchw["Z"])
    np.testing.assert_allclose(nhwc["db"], nchw["db"])
    # overlay arrays are (kh, kw, C_in/G) in NHWC, (C_in/G, kh, kw) in NCHW
    assert np.array(nhwc["overlays"][0]["dW"]).shape == (2, 2, 2)
    np.testing.assert_allclose(np.moveaxis(np.array(nhwc["overlays"][0]["dW"]), -1, 0), nchw["overlays"][0]["dW"])


# -- the table -----------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("command", ["forward", "backward"])
def test_every_sample_fits_80_columns_uncut(cli, sample, command):
    result = cli(command, sample, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert "…" not in result.stdout  # rich's mark for a cut cell
    assert "Totals" in result.stdout or "Result" in result.stdout


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_forced_table_view_prints_whole_numbers(cli, sample):
    """--view table on a narrow terminal prints the table wider than the terminal, never cut."""
    column = "dZ" if '"layer"' in sample.read_text() else "A_slice"  # a kind's own columns otherwise
    out = shown(cli("backward", sample, "--view", "table", env={"COLUMNS": "80"}), "Totals", column)
    assert "…" not in out


def test_forced_table_keeps_every_column(cli):
    out = shown(cli("backward", SEED, "--view", "table", "-p", "17", env={"COLUMNS": "80"}), "Totals")
    assert "#   position" in out


def test_wide_problem_prints_blocks_not_cut(cli):
    result = cli("backward", ROOT / "samples" / "stride2_pad1.json", env={"COLUMNS": "80"})
    assert "── overlay 1 of 9" in result.stdout
    assert "(0.1)" in result.stdout  # a contribution in the padding, shown as discarded
    assert "lands in the padding and is discarded" in result.stdout


def test_precision(cli):
    out = shown(cli("backward", "-x", "1 1 1", "-w", "1/3 1/3", "--dZ", "1 1", "--precision", "3"), "0.333")
    assert "0.3333" not in out
    # the default keeps 12 significant digits; -p 1 still shows small values, not 0
    out = shown(cli("backward", "-x", "1 2 3", "-w", "1/3 2/3", "--dZ", "1 1"), "0.666666666667")
    assert "0.66666666667 " not in out
    shown(cli("backward", SEED, "-p", "1", "-o", "none"), "[-0.03, 0.01, 0.1]")


def test_many_overlays_show_the_first_and_say_how_to_see_more(cli):
    A = np.arange(64).reshape(8, 8).tolist()
    problem = {"A_prev": A, "W": [[1, 0], [0, 1]], "dZ": np.ones((7, 7)).tolist()}
    result = cli("backward", "-", input=json.dumps(problem))
    assert result.exit_code == 0
    assert "── overlay 10 of 49" in result.stdout or "10 " in result.stdout
    big = {"A_prev": np.arange(100).reshape(10, 10).tolist(), "W": [[1, 0], [0, 1]], "dZ": np.ones((9, 9)).tolist()}
    result = cli("backward", "-", input=json.dumps(big))
    assert result.exit_code == 0
    assert "showing overlays 1-10 of 81" in result.stderr and "--overlays all" in result.stderr
    assert "overlay 11 " not in result.stdout
    everything = cli("backward", "-", "--overlays", "all", input=json.dumps(big))
    assert "overlay 81 of 81" in everything.stdout and everything.stderr == ""


@pytest.mark.parametrize(
    "args,present",
    [
        ([], "Totals"),
        (["--explain"], "Why the weights stay shared"),
        (["--format", "markdown"], "## Overlays"),
        (["--format", "latex"], "\\subsection*{Totals}"),
        (["--overlays", "all"], "── overlay 9 of 9"),
    ],
)
def test_no_cancellation_noise_in_any_human_format(cli, args, present):
    """stride2_pad1 sums tenths in the padding: float noise (1e-17) must never reach people."""
    out = shown(cli("backward", ROOT / "samples" / "stride2_pad1.json", *args), present)
    assert "e-17" not in out and "e-16" not in out and "10^{-1" not in out


def test_no_float_noise_in_the_seed(cli):
    out = shown(cli("backward", SEED), "0.3·1 + 0.5·2 = 1.3")
    assert "0.30000000000000004" not in out


# -- errors --------------------------------------------------------------------------------

ERRORS = [
    (SEED_FLAGS[:4] + ["--dZ", "1 2 3"], "dZ has shape (3,) but Z has shape (2,)"),
    (
        SEED_FLAGS[:4],
        'dZ is missing: backward needs the upstream gradient (--dZ or "dZ" in the input) '
        "(Z has shape (2,); one number applies to every output)",
    ),
    (["-x", "1 2 3", "--dZ", "1 2"], "W is missing: give it in the input JSON or with --W"),
    (
        ["-x", "[[1,2],[3]]", "-w", "0.3 0.5", "--dZ", "1 2"],
        "A_prev is ragged: A_prev[0] has shape (2,) but A_prev[1] has shape (1,)",
    ),
    (
        ["-x", "1 2 x", "-w", "0.3 0.5", "--dZ", "1 2"],
        "A_prev[2] is the name 'x', not a number (names need --symbolic)",
    ),
    (SEED_FLAGS + ["--stride", "0"], "stride must be a whole number >= 1, got 0"),
    (SEED_FLAGS + ["--stride", "1.5"], "stride must be a whole number >= 1, got 1.5"),
    (
        SEED_FLAGS + ["--dilation", "1,1"],
        "dilation has 2 entries but the problem has 1 spatial dim: give one number, or one per dim",
    ),
    (SEED_FLAGS + ["--padding", "-1"], "padding must be a whole number >= 0, got -1"),
    (SEED_FLAGS + ["--padding", "middle"], "padding 'middle' is not one of: a number, a list, 'valid', 'same', 'full'"),
    (
        ["-x", "1 2 3", "-w", "1 1 1 1 1", "--dZ", "1"],
        "the kernel does not fit along spatial axis 0: W has shape (5,) (dilated extent 5) but A_prev has shape (3,) (3 + padding 0+0 = 3)",
    ),
    (SEED_FLAGS + ["--mode", "conv2"], "mode must be 'cross-correlation' or 'convolution', got 'conv2'"),
    (
        SEED_FLAGS + ["--layout", "NXY"],
        "layout must be channels-first (NCHW, NCW, ...) or channels-last (NHWC, NWC, ...), got 'NXY'",
    ),
    (
        ["-x", "1 2; 3 4", "-w", "1 2 3", "--dZ", "1 2"],
        "A_prev has shape (2, 2) but W has shape (3,): a bare 1-D kernel needs a bare 1-D A_prev; with channels, W is (C_out, C_in/groups, *k)",
    ),
    (SEED_FLAGS + ["-b", "1 2"], "b has shape (2,) but W has 1 filter (shape (2,)): b needs one value per filter"),
    (
        ["-x", "[[1,2,3],[1,2,3],[1,2,3]]", "-w", "[[[1,1]],[[1,1]]]", "--dZ", "1"],
        "W has shape (2, 1, 2), 1 input channel per filter, but A_prev has shape (3, 3), 3 channels (NCW: W is (C_out, C_in/groups, *k)); "
        "did you mean A_prev (3, 1, 3)?",
    ),
    (
        ["-x", "[[1,2,3],[1,2,3],[1,2,3]]", "-w", "[[[1,1]],[[1,1]]]", "--groups", "2", "--dZ", "1"],
        "A_prev has 3 channels (shape (3, 3)), not divisible by groups = 2",
    ),
    (
        ["-x", "[[[1,2,3]]]", "-w", "[[1,1]]", "--dZ", "1"],
        "A_prev has shape (1, 1, 3) but W has shape (1, 2): a bare 2-D kernel needs a bare 2-D A_prev; with channels, W is (C_out, C_in/groups, *k); "
        "did you mean W (1, 1, 2)?",
    ),
    (
        ["-x", "[[1,2,3]]", "-w", "[[[[1]]]]", "--dZ", "1"],
        "A_prev has shape (1, 3) but W has shape (1, 1, 1, 1), 2-D filters (C_out, C_in/groups, *k): A_prev must be (C_in, *spatial) or (N, C_in, *spatial) (NCHW); "
        "did you mean A_prev (1, 1, 3)?",
    ),
    (
        SEED_FLAGS + ["--dims", "2"],
        "W has shape (2,), but with dims = 2 it must have rank 2 (one bare kernel) or 4 (filters with channels)",
    ),
    (SEED_FLAGS + ["--groups", "2"], "groups = 2 needs channels: a bare A_prev has one channel"),
    (["nofile.json"], "input file 'nofile.json' does not exist"),
    ([], "no problem given: pass a problem file (--input FILE, - for stdin) or -x/--A-prev and -w/--W"),
    ([str(SEED), "--overlays", "5"], "--overlays '5' selects none of the 2 overlays"),
    ([str(SEED), "--overlays", "q=1"], "--overlays: unknown key 'q' in 'q=1' (keys: n, c_out, pos)"),
    ([str(SEED), "--overlays", "3-1"], "--overlays: range '3-1' runs backwards"),
    (
        [str(SEED), "--overlays", "pos=0,1"],
        "--overlays: pos has 2 coordinate(s) but the output has 1 spatial dim(s), shape (2,)",
    ),
    ([str(SEED), "--json", "--format", "table"], "--json and --format table disagree: give one of them"),
    (
        [str(SEED), "--explain", "--json"],
        "--explain is told as a table, Markdown or LaTeX: the json output has no sentences",
    ),
    (
        [str(SEED), "--cell", "0", "--format", "csv"],
        "--cell adds to the table or the JSON; the csv export has no place for it",
    ),
    (
        [str(SEED), "--precision", "3", "--format", "csv"],
        "--precision is for people (table, Markdown, LaTeX); csv writes every digit",
    ),
    (
        [str(SEED), "--cell", "5"],
        "--cell '5' is not an entry of A_prev: A_prev has shape (3,): indexes 0..2 (1 index, counting from 0)",
    ),
    (
        [str(SEED), "--input", str(SEED)],
        f"give the problem file once: as FILE ({str(SEED)!r}) or --input ({str(SEED)!r}), not both",
    ),
    (["-x", "", "-w", "1"], "--A-prev is empty"),
    (["-x", "1 2;;3", "-w", "1"], "--A-prev has an empty row in '1 2;;3'"),
]


@pytest.mark.parametrize("args,message", ERRORS, ids=[m[:40] for _, m in ERRORS])
def test_error_paths(cli, args, message):
    result = cli("backward", *args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"


STDIN_ERRORS = [
    (
        '{"A_prev": [1,2,3], "W": [1], "dZ": [1,2,3], "strid": 1}',
        "unknown key 'strid' in stdin: did you mean 'stride'?",
    ),
    ('{"A_prev": [1,2,3], "W": [1], "dZ": [1,2,3], "Bias": 1}', "unknown key 'Bias' in stdin: did you mean 'b'?"),
    (
        '{"A_prev": [1,2,3], "W": [1], "dZ": [1,2,3], "zzz": 1}',
        "unknown key 'zzz' in stdin (known keys: A_prev, W, b, dZ, stride, padding, dilation, groups, layout, mode, dims, exact, symbolic, layer, slope, output_padding, size, ceil_mode, ties, count_padding, order, W_layout)",
    ),
    ('{"A_prev": [1,2,3], "W": [1], "dZ": [1,2,3], "x": 1}', "A_prev is given twice in stdin, as 'A_prev' and 'x'"),
    (
        '{"A_prev": [1,2,3], "W": [1], "dZ": [1,2,3],}',
        "stdin is not valid JSON: Expecting property name enclosed in double quotes at line 1, column 45 (a trailing comma?)",
    ),
    ('{"A_prev": [1,2,3], "A_prev": [1]}', "duplicate key 'A_prev' in a JSON object: give each key once"),
    (
        '{"A_prev": [1,2,NaN], "W": [1], "dZ": [1,2,3]}',
        "A_prev[2] is nan, not a finite number (forward and backward compute with it under --allow-nonfinite)",
    ),
    ('{"A_prev": [1,true,3], "W": [1], "dZ": [1,2,3]}', "A_prev[1] is true, not a number"),
    ('{"A_prev": [1,null,3], "W": [1], "dZ": [1,2,3]}', "A_prev[1] is null, not a number"),
    (
        '{"A_prev": [[1,2],[3,"a"]], "W": [[1]], "dZ": [[1,2],[3,4]]}',
        "A_prev[1][1] is the name 'a', not a number (names need --symbolic)",
    ),
    ('{"A_prev": [1,2,3], "W": [], "dZ": [1]}', "W is an empty list"),
    (
        '{"A_prev": [1,2,3], "W": {"a": 1}, "dZ": [1]}',
        'W is an object; as an array spec it takes "shape" and optionally "prefix", not \'a\'',
    ),
    ('{"A_prev": [[[1,2,3]]], "W": 2, "dZ": [1]}', "W is a single number; a kernel needs at least one spatial axis"),
    ("[1, 2]", "stdin holds a JSON array, expected an object with A_prev, W, ..."),
    ("", "stdin is empty: expected a JSON object with A_prev, W, ..."),
    (
        '{"A_prev": [[1, 2], [3]], "W": [1]}',  # a bad array is named before the missing dZ
        "A_prev is ragged: A_prev[0] has shape (2,) but A_prev[1] has shape (1,)",
    ),
]


@pytest.mark.parametrize("text,message", STDIN_ERRORS, ids=[m[:40] for _, m in STDIN_ERRORS])
def test_stdin_error_paths(cli, text, message):
    result = cli("backward", "-", input=text)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"


def test_usage_errors_exit_2(cli):
    result = cli("backward", "--no-such-option")
    assert result.exit_code == 2
    assert result.stdout == ""
    result = cli("backward", SEED, "--precision", "0")
    assert result.exit_code == 2


def test_allow_nonfinite_propagates(cli):
    result = cli(
        "backward", "--allow-nonfinite", "--json", "-", input='{"A_prev": [1, NaN, 3], "W": [1], "dZ": [1, 1, 1]}'
    )
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["Z"] == [1.0, "NaN", 3.0]
    assert doc["dW"] == ["NaN"]


def test_missing_dependencies_are_one_line(tmp_path):
    """From a source tree without typer installed: a sentence saying what to install, not a traceback."""
    blocker = tmp_path / "typer.py"
    blocker.write_text("raise ModuleNotFoundError(\"No module named 'typer'\", name='typer')\n")
    run = subprocess.run(
        [sys.executable, "-m", "convgrad", "backward", str(SEED)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**__import__("os").environ, "PYTHONPATH": f"{tmp_path}:{ROOT}"},
    )
    assert run.returncode == 2
    assert (
        run.stderr
        == "error: convgrad needs 'typer', which is not installed: run `pip install .` in the convgrad folder\n"
    )


# -- typed options: the declarations cannot drift ------------------------------------------


def _params(name):
    import typer

    from convgrad.cli import app

    return typer.main.get_command(app).commands[name].params


def _declaration(param):
    """What a user sees of one parameter: its name, flags, type, default and help."""
    return (
        param.name,
        tuple(param.opts),
        tuple(param.secondary_opts),
        str(param.type),
        param.default,
        getattr(param, "help", None),
        getattr(param, "metavar", None),
    )


def test_backward_options_are_forwards_plus_dZ():
    forward = [_declaration(p) for p in _params("forward")]
    backward = [_declaration(p) for p in _params("backward")]
    dz_only = [d for d in backward if d[0] in ("dZ", "dZ_shape")]
    assert [d[1] for d in dz_only] == [("--dZ",), ("--dZ-shape",)]
    assert [d for d in backward if d not in dz_only] == forward  # same options, same order, same help


def test_no_locals_in_the_cli_or_the_commands():
    import ast

    from conftest import ROOT

    files = [ROOT / "convgrad" / "cli.py", *sorted((ROOT / "convgrad" / "commands").glob("*.py"))]
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        calls = [
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("locals", "vars")
        ]
        assert calls == [], f"{path.name} calls {calls}"
        # options are attributes now: nothing reads them as options["x"] or options.get("x")
        keyed = [
            ast.unparse(node)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Subscript, ast.Attribute))
            and "options" in ast.unparse(node)
            and (isinstance(node, ast.Subscript) or node.attr == "get")
        ]
        assert keyed == [], f"{path.name} reads options by key: {keyed}"


def test_option_dataclasses_are_frozen_and_built_by_keyword():
    import dataclasses

    from convgrad import options

    for cls in (
        options.ProblemOptions,
        options.OutputOptions,
        options.CheckOptions,
        options.GradcheckOptions,
        options.GenerateOptions,
    ):
        assert cls.__dataclass_params__.frozen, cls
        with pytest.raises(dataclasses.FrozenInstanceError):
            (cls(answer="a") if cls is options.CheckOptions else cls()).nothing = 1


def test_documented_defaults_are_the_ones_used():
    import inspect
    from fractions import Fraction

    from convgrad import options
    from convgrad.check import Tolerance
    from convgrad.generate import Spec
    from convgrad.gradcheck import gradcheck
    from convgrad.limits import DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_INPUT_MB, DEFAULT_MAX_OUTPUT_MB, MB, Limits
    from convgrad.numbers import DEFAULT_SIGNIFICANT_DIGITS

    # The library's own defaults (for API users) agree with the ones the CLI documents.
    assert options.DEFAULT_PRECISION == DEFAULT_SIGNIFICANT_DIGITS
    assert Tolerance.of(options.DEFAULT_CHECK_RTOL, options.DEFAULT_CHECK_ATOL) == Tolerance()
    signature = inspect.signature(gradcheck).parameters
    assert signature["rtol"].default == options.DEFAULT_GRADCHECK_RTOL
    assert signature["max_entries"].default == options.DEFAULT_MAX_ENTRIES
    assert Fraction(options.DEFAULT_STEP) == Fraction(1, 1000) and float(options.DEFAULT_STEP) == 1e-3
    spec = Spec()
    assert (spec.dims, spec.kernel, spec.stride, spec.padding, spec.dilation, spec.groups, spec.values) == (
        options.DEFAULT_DIMS,
        options.DEFAULT_KERNEL,
        options.DEFAULT_STRIDE,
        options.DEFAULT_PADDING,
        options.DEFAULT_DILATION,
        options.DEFAULT_GROUPS,
        options.DEFAULT_VALUES,
    )
    limits = Limits()
    assert (limits.max_input_bytes, limits.max_elements, limits.max_output_bytes) == (
        DEFAULT_MAX_INPUT_MB * MB,
        DEFAULT_MAX_ELEMENTS,
        DEFAULT_MAX_OUTPUT_MB * MB,
    )
    assert Limits.from_options(DEFAULT_MAX_INPUT_MB, None, DEFAULT_MAX_OUTPUT_MB) == limits
    # --max-elements left out is None, not the default: a given one also raises the JSON number limit
    assert Limits.from_options(max_elements=5_000_000).max_json_numbers == 5_000_000


@pytest.mark.parametrize(
    "command, shown",
    [
        ("forward", ["(default 12, no float noise)", "(default 1024)", "(default 100,000,000)", "(default 512;"]),
        ("check", ["(default 1e-9)", "(default 1e-12)", "(default 1024)"]),
        ("gradcheck", ["(default 1e-3; 1/1000 exact)", "(default 1e-6)", "(default 400)"]),
        (
            "generate",
            [
                "Kernel size (default 2)",
                "Stride (default 1)",
                "(default 0)",
                "Dilation (default 1)",
                "[default: small]",
            ],
        ),
    ],
)
def test_help_shows_the_defaults(command, shown):
    from conftest import make_runner

    from convgrad.cli import app

    result = make_runner().invoke(app, [command, "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    flat = " ".join(result.stdout.split())
    for text in shown:
        assert text in flat, text


def test_number_text_writes_exponents_as_people_do():
    from convgrad.options import number_text

    assert [number_text(x) for x in (1e-9, 1e-12, 1e-6, 2.5e-3, 1e3)] == ["1e-9", "1e-12", "1e-6", "2.5e-3", "1e3"]


def test_layer_counts_against_locally_connected_and_dense():
    from convgrad.problem import build_problem
    from convgrad.shapes import layer_counts

    # 1x3x5x5 input, 4 filters of 3x3x3, no padding: 3x3 output positions.
    problem = build_problem({"A_prev": np.zeros((1, 3, 5, 5)), "W": np.zeros((4, 3, 3, 3))}, need_dZ=False)
    counts = layer_counts(problem.geom)
    assert (counts.kernel_size, counts.positions, counts.inputs, counts.outputs) == (27, 9, 75, 36)
    assert (counts.weights.conv, counts.weights.locally_connected, counts.weights.dense) == (108, 972, 2700)
    assert (counts.biases.conv, counts.biases.locally_connected, counts.biases.dense) == (4, 36, 36)


def test_the_version_is_written_once():
    """pyproject.toml reads the version from convgrad/__init__.py; it writes none of its own."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]  # tomllib is 3.11+ only
    assert re.search(r'^dynamic = \["version"\]', project, re.M), project
    assert not re.search(r"^version\s*=", project, re.M), project
