"""The layer-kind registry and the generic paths every kind without its own views takes:
protocol members, dispatch, check's per-kind mistakes (wrong answers built independently here),
gradcheck's kink skipping, generate, shape, --cell, --explain and the exports."""

from __future__ import annotations

import json
import math
from types import ModuleType

import numpy as np
import pytest
from conftest import ROOT, shown

from convgrad.layers import KINDS, ColumnKind
from convgrad.problem import build_problem, canonical_fields

COLUMN_KINDS = [name for name, kind in KINDS.items() if not isinstance(kind, ModuleType)]
RELU = ROOT / "samples" / "relu.json"
SIGMOID = ROOT / "samples" / "sigmoid.json"


def test_every_column_kind_has_the_protocol_members():
    members = [n for n in vars(ColumnKind) if not n.startswith("_")]
    assert {"name", "takes", "columns", "configure", "geometry", "records", "totals", "entry_terms", "kinks"} <= set(
        members
    )
    assert COLUMN_KINDS == ["relu", "leaky-relu", "sigmoid", "tanh", "max-pool", "avg-pool"]
    for name in COLUMN_KINDS:
        kind = KINDS[name]
        assert kind.name == name
        for member in members:
            assert hasattr(kind, member), (name, member)
        if not name.endswith("-pool"):
            assert [c.key for c in kind.columns][:3] == ["A_prev", "Z", "derivative"]


def test_the_layer_key_and_its_aliases_dispatch():
    for key in ("layer", "kind", "layer_kind"):
        p = build_problem(canonical_fields({key: "ReLU", "A_prev": [1, -1]}), need_dZ=False)
        assert p.layer == "relu" and p.W is None
    assert build_problem(canonical_fields({"A_prev": [1, 2], "W": [1]}), need_dZ=False).layer == "conv"


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


def test_check_names_relu_passing_dz_where_the_input_is_negative(cli, tmp_path):
    problem = json.loads(RELU.read_text())
    # The mistake, built here by hand: dA_prev = dZ everywhere.
    wrong = _write(tmp_path / "a.json", {"dA_prev": problem["dZ"]})
    out = shown(cli("check", RELU, "--answer", wrong), "Likely mistake", "dZ passed through everywhere", code=1)
    assert "relu's derivative is 0" in out
    verdict = json.loads(cli("check", RELU, "--answer", wrong, "--json").stdout)
    assert verdict["quantities"]["dA_prev"]["mistakes"][0]["mistake"] == "dZ_passed_where_negative"


@pytest.mark.parametrize("layer", ["sigmoid", "tanh"])
def test_check_names_the_derivative_taken_at_z(cli, tmp_path, layer):
    A = [[0.0, 1.0], [-2.0, 0.5]]
    dZ = [[1.0, -1.0], [0.5, 2.0]]
    f = {"sigmoid": lambda a: 1 / (1 + math.exp(-a)), "tanh": math.tanh}[layer]
    df = {"sigmoid": lambda a: f(a) * (1 - f(a)), "tanh": lambda a: 1 - math.tanh(a) ** 2}[layer]
    # The mistake, by hand: f' evaluated at the output f(a) rather than at a.
    wrong = [[g * df(f(a)) for a, g in zip(ra, rg)] for ra, rg in zip(A, dZ)]
    problem = _write(tmp_path / "p.json", {"layer": layer, "A_prev": A, "dZ": dZ})
    answer = _write(tmp_path / "a.json", {"dA_prev": wrong})
    shown(cli("check", problem, "--answer", answer), "Likely mistake", f"{layer}'(Z)", code=1)
    right = [[g * df(a) for a, g in zip(ra, rg)] for ra, rg in zip(A, dZ)]
    shown(cli("check", problem, "--answer", _write(tmp_path / "r.json", {"dA_prev": right})), "right")


def test_check_refuses_dW_for_a_kind_without_weights(cli, tmp_path):
    answer = _write(tmp_path / "a.json", {"dW": [1]})
    result = cli("check", RELU, "--answer", answer)
    assert result.exit_code == 2 and "relu has no weights" in result.stderr


def test_gradcheck_skips_the_kink_and_says_so(cli, tmp_path):
    problem = _write(tmp_path / "p.json", {"layer": "relu", "A_prev": [0.0, 0.0005, -1.0, 2.0], "dZ": [1, 2, 3, 4]})
    result = cli("gradcheck", problem)
    assert result.exit_code == 0 and "2 dA_prev entries skipped" in result.stderr
    assert "2 of 4" in result.stdout
    exact = cli("gradcheck", problem, "--exact", "--json")
    assert exact.exit_code == 0 and json.loads(exact.stdout)["quantities"]["dA_prev"]["exactly_equal"]


@pytest.mark.parametrize("layer", COLUMN_KINDS)
def test_generate_makes_a_problem_and_a_key_that_checks_right(cli, tmp_path, layer):
    out, key = tmp_path / "p.json", tmp_path / "k"
    result = cli(
        "generate", "--layer", layer, "--seed", "4", "--channels", "2", "--batch", "2", "-o", out, "--key", key
    )
    assert result.exit_code == 0, result.stderr
    problem = json.loads(out.read_text())
    assert problem["layer"] == layer and "W" not in problem
    answers = json.loads((tmp_path / "k.json").read_text())
    assert set(answers) == {"Z", "dA_prev"}
    shown(cli("check", out, "--answer", tmp_path / "k.json"), "right")
    assert "Overlay 1" in (tmp_path / "k.md").read_text()


def test_generate_refuses_conv_flags_for_an_activation(cli):
    result = cli("generate", "--layer", "tanh", "--kernel", "3")
    assert result.exit_code == 2 and "--kernel is for conv, not tanh" in result.stderr


def test_shape_of_an_activation(cli):
    out = shown(cli("shape", "--A-prev-shape", "2x3x4x4", "--layer", "sigmoid"), "element-wise", "96 overlays")
    assert "(2, 3, 4, 4)" in out
    doc = json.loads(cli("shape", RELU, "--json").stdout)
    assert doc["output_size"] == [2, 3] and doc["overlays"] == 6 and doc["weights"]["conv"] == 0


def test_cell_shows_the_one_term_of_an_entry(cli):
    out = shown(cli("backward", RELU, "--cell", "dA_prev[1,1]"), "Every overlay that touched A_prev[1, 1]")
    assert "dZ[1,1] = -5" in out and "its one term = -5" in out
    doc = json.loads(cli("backward", RELU, "--json", "--cell", "A_prev[0,1]").stdout)
    (term,) = doc["audits"]["cell"]["terms"]
    assert term["dZ"]["value"] == 2 and term["derivative"]["value"] == 0 and doc["audits"]["cell"]["gradient"] == 0
    result = cli("backward", RELU, "--cell", "W[0]")
    assert result.exit_code == 2 and "relu has no W" in result.stderr


def test_explain_and_the_exports_use_the_declared_columns(cli):
    shown(cli("backward", RELU, "--explain"), "Overlay 2 (entry [0, 1]): A_prev = -2, Z = 0, relu' = 0")
    csv = shown(cli("backward", RELU, "--format", "csv"))
    assert csv.splitlines()[0] == "number,n,channel,position,reads,A_prev,Z,derivative,dZ,dA_prev"
    assert csv.splitlines()[7:9] == ["", "quantity,index,value"]  # six overlays, then the totals
    md = shown(cli("backward", SIGMOID, "--format", "markdown"), "**Overlay 4**", "- sigmoid' = 0.235")
    assert "dW" not in md
    shown(cli("backward", RELU, "--format", "latex"), r"\paragraph{Overlay 6}", "relu'")


def test_json_omits_dW_and_db_and_lists_the_columns(cli):
    doc = json.loads(cli("backward", RELU, "--json", "--overlays", "all").stdout)
    assert "dW" not in doc and "db" not in doc and doc["config"]["layer"] == "relu"
    assert doc["overlays"][1] == {
        "number": 2,
        "n": 0,
        "channel": 0,
        "position": [0, 1],
        "reads": [[0, 1]],
        "A_prev": -2.0,
        "Z": 0.0,
        "derivative": 0.0,
        "dZ": 2.0,
        "dA_prev": 0.0,
    }


def test_exact_leaky_relu_keeps_the_slope_as_typed(cli):
    doc = json.loads(
        cli(
            "backward", "-x", "-3 1", "--dZ", "1 1", "--layer", "leaky-relu", "--slope", "1/3", "--exact", "--json"
        ).stdout
    )
    assert doc["Z"] == [-1, 1] and doc["dA_prev"] == ["1/3", 1]


def test_symbolic_relu_with_names_refuses_in_one_line(cli):
    result = cli("backward", "--A-prev-shape", "2", "--layer", "relu", "--symbolic")
    assert result.exit_code == 2 and "relu needs numbers to decide its branch" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the error and its hint


def test_a_kind_without_weights_works_on_every_layout(cli):
    A = np.arange(-6, 6, dtype=float).reshape(1, 2, 2, 3)  # NCHW
    first = build_problem(canonical_fields({"layer": "relu", "A_prev": A.tolist()}), need_dZ=False)
    last = build_problem(
        canonical_fields({"layer": "relu", "A_prev": np.moveaxis(A, 1, -1).tolist(), "layout": "NHWC"}), need_dZ=False
    )
    assert np.array_equal(first.A_prev, last.A_prev) and first.geom.overlay_count == 12


def test_save_writes_only_the_arrays_the_kind_has(cli, tmp_path):
    path = tmp_path / "r.npz"
    shown(cli("backward", RELU, "--save", path, "--overlays", "none"))
    saved = np.load(path)
    assert sorted(saved.files) == ["Z", "dA_prev"]
    assert saved["dA_prev"].tolist() == [[1, 0, 0], [0, -5, 6]]


def test_the_python_api_takes_layer_and_no_w():
    import convgrad

    r = convgrad.backward([[1.0, -2.0]], dZ=[[3.0, 4.0]], layer="leaky-relu", slope=0.5)
    assert r.Z.tolist() == [[1.0, -1.0]] and r.dA_prev.tolist() == [[3.0, 2.0]] and r.dW is None
    assert r.config["slope"] == 0.5 and r.overlay_count == 2
