"""Regressions for what an independent review of the CLI found; each test names the behaviour."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import convgrad
from conftest import ROOT, SEED

SAMPLE = ROOT / "samples"


def _run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "convgrad", *map(str, args)], capture_output=True, text=True,
                          **kwargs)


# -- float noise is never shown to people ------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["backward", SAMPLE / "stride2_pad1.json", "--explain"],
    ["backward", SAMPLE / "stride2_pad1.json", "--format", "markdown"],
    ["backward", SAMPLE / "stride2_pad1.json", "--format", "latex"],
    ["backward", SAMPLE / "stride2_pad1.json", "--overlays", "all"],
])
def test_no_cancellation_noise_in_any_human_format(cli, args):
    out = cli(*args).stdout
    assert "e-17" not in out and "e-16" not in out and "10^{-1" not in out


def test_precision_keeps_small_values_and_digits(cli):
    assert "[-0.03, 0.01, 0.1]" in cli("backward", SEED, "-p", "1", "-o", "none").stdout
    out = cli("backward", "-x", "1 2 3", "-w", "1/3 2/3", "--dZ", "1 1").stdout
    assert "0.66666666667 " not in out and "0.666666666667" in out


# -- options that changed a problem no longer trip over its dZ -----------------------------------------


def test_forward_and_shape_ignore_the_files_dZ(cli):
    assert cli("forward", SAMPLE / "basic_2d.json", "--padding", "1").exit_code == 0
    assert cli("forward", SAMPLE / "basic_2d.json", "--stride", "2", "--json").exit_code == 0
    assert cli("shape", SAMPLE / "basic_2d.json", "--padding", "1", "--json").exit_code == 0


# -- symbolic names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args,message", [
    (["-x", '["x","y","z"]', "-w", '["a","b"]', "--dZ", "1 1"],
     "error: the name 'b' is both W[1] and the automatic name of b (rename the one you typed, or give b a value "
     "(\"b\": 0 for no bias))\n"),
    (["-x", '["dz1","x","y"]', "-w", "[1,1]", "-b", "0"],
     "error: the name 'dz1' is both A_prev[0] and the automatic name of dZ[0] (rename the one you typed, or give "
     "dZ values)\n"),
])
def test_automatic_names_never_merge_with_typed_ones(cli, args, message):
    result = cli("backward", "--symbolic", *args)
    assert result.exit_code == 2 and result.stderr == message


def test_a_name_typed_twice_is_one_symbol(cli):
    doc = json.loads(cli("backward", "--symbolic", "-x", '["a","a","b"]', "-w", "[1,1]", "-b", "0", "--dZ", "1 1",
                         "--json").stdout)
    assert doc["Z"] == ["2*a", "a + b"]


# -- pipes, disks, output paths ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["backward", SEED], ["backward", SEED, "--explain"], ["shape", SEED],
                                  ["backward", SEED, "--format", "markdown"]])
def test_closed_pipe_is_141_for_every_view(args):
    big = [*args]
    cmd = [sys.executable, "-m", "convgrad", *map(str, big)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # nobody reads: the first write (or the final flush) meets a closed pipe
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, stderr
    assert "Traceback" not in stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "convgrad", "backward", str(SEED), "--json"], stdout=full,
                             stderr=subprocess.PIPE, text=True)
    assert run.returncode == 2
    assert run.stderr == "error: cannot write the result: No space left on device\n"


def test_unwritable_output_paths_are_refused_before_any_output(cli, tmp_path):
    for args in (["backward", SEED, "--svg", tmp_path / "no" / "x.svg"],
                 ["backward", SEED, "--save", tmp_path / "no" / "x.npz"],
                 ["generate", "--seed", "1", "--key", tmp_path / "no" / "k"],
                 ["generate", "--seed", "1", "--output", tmp_path]):
        result = cli(*args)
        assert result.exit_code == 2 and result.stdout == "", args


def test_written_files_get_ordinary_permissions_and_follow_links(cli, tmp_path):
    old = os.umask(0o022)
    try:
        cli("backward", SEED, "--svg", tmp_path / "a.svg")
        assert stat.S_IMODE((tmp_path / "a.svg").stat().st_mode) == 0o644
        real = tmp_path / "real.json"
        real.write_text("{}")
        os.chmod(real, 0o640)
        (tmp_path / "link.json").symlink_to(real)
        cli("generate", "--seed", "2", "--output", tmp_path / "link.json")
        assert (tmp_path / "link.json").is_symlink()
        assert json.loads(real.read_text())["description"].startswith("Generated")
        assert stat.S_IMODE(real.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_non_regular_inputs_are_bounded(cli):
    result = cli("backward", "/dev/zero", "--max-input-mb", "1")  # refused at its first chunk (issue 17)
    assert result.exit_code == 2 and result.stderr == (
        "error: /dev/zero is not valid JSON: Expecting value at line 1, column 1\n")


# -- sizes that could hang or exhaust memory ---------------------------------------------------------------


@pytest.mark.parametrize("stride", ["10000000", "100000", "1000000000000000000000"])
def test_huge_strides_finish_at_once(stride):
    run = _run("backward", "-x", "1 2 3; 4 5 6; 7 8 9", "-w", "1 1; 1 1", "--dZ", "1", "--stride", stride,
               "--json", "-o", "none", timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["Z"] == [[12.0]]


def test_shape_allocates_nothing(cli_json):
    doc = cli_json("shape", "--A-prev-shape", "200000x200000", "--W-shape", "3x3")
    assert doc["output_size"] == [199998, 199998]
    layer = cli_json("shape", "--A-prev-shape", "64x64x224x224", "--W-shape", "64x64x3x3", "--padding", "1")
    assert layer["weights"]["conv"] == 64 * 64 * 9


def test_generate_refuses_what_nobody_hands_out(cli):
    result = cli("generate", "--size", "100000", "--dims", "3", "--seed", "1")
    assert result.exit_code == 2 and "generate makes problems of at most 1,000,000 entries" in result.stderr


def test_check_falls_back_to_floats_on_large_problems(cli, tmp_path):
    rng = np.random.default_rng(0)
    A, W, dZ = rng.standard_normal((1, 8, 64, 64)), rng.standard_normal((8, 8, 3, 3)), rng.standard_normal((1, 8, 64, 64))
    np.savez(tmp_path / "big.npz", A_prev=A, W=W, dZ=dZ, padding=np.array(1))
    db = convgrad.backward(A, W, dZ, padding=1).db
    (tmp_path / "a.json").write_text(json.dumps({"db": [round(float(x), 3) for x in db]}))
    result = cli("check", tmp_path / "big.npz", "--answer", tmp_path / "a.json")
    assert result.exit_code == 0
    assert "checking against float64 results" in result.stderr


# -- gradcheck ---------------------------------------------------------------------------------------------


def test_gradcheck_on_float32_input_checks_in_float64(cli, tmp_path):
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "p32.npz", A_prev=rng.standard_normal((1, 3, 6, 6)).astype(np.float32),
             W=rng.standard_normal((2, 3, 3, 3)).astype(np.float32),
             dZ=rng.standard_normal((1, 2, 3, 3)).astype(np.float32), stride=np.array(2), padding=np.array("same"))
    assert cli("gradcheck", tmp_path / "p32.npz").exit_code == 0


def test_gradcheck_rtol_zero_is_zero(cli):
    doc = json.loads(cli("gradcheck", SEED, "--rtol", "0", "--json").stdout)
    assert doc["rtol"] == 0


# -- the table is never cut ----------------------------------------------------------------------------


@pytest.mark.parametrize("sample", sorted(SAMPLE.glob("*.json")), ids=lambda p: p.stem)
def test_forced_table_view_prints_whole_numbers(cli, sample):
    out = cli("backward", sample, "--view", "table", env={"COLUMNS": "80"}).stdout
    assert "…" not in out


def test_forced_table_keeps_every_column(cli):
    out = cli("backward", SEED, "--view", "table", "-p", "17", env={"COLUMNS": "80"}).stdout
    assert "#   position" in out


# -- options that do not apply are refused, not ignored ------------------------------------------------


@pytest.mark.parametrize("args,message", [
    (["--explain", "--json"], "--explain tells the table view in sentences: leave out --json/--format"),
    (["--cell", "0", "--format", "csv"], "--cell adds to the table or the JSON; the csv export has no place for it"),
    (["--precision", "3", "--format", "csv"], "--precision is for people (table, Markdown, LaTeX); csv writes every digit"),
])
def test_inapplicable_options(cli, args, message):
    result = cli("backward", SEED, *args)
    assert result.exit_code == 2 and result.stderr == f"error: {message}\n"


# -- smaller behaviours ----------------------------------------------------------------------------------


def test_python_api_takes_bias_as_an_alias():
    np.testing.assert_allclose(convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=1, bias=1).Z, [2.3, 3.1])


def test_a_single_number_kernel(cli_json):
    assert cli_json("backward", "-x", "1 2 3", "-w", "2", "--dZ", "1")["dW"] == [6.0]


def test_bad_arrays_are_named_before_a_missing_dZ(cli):
    result = cli("backward", "-", input='{"A_prev": [[1, 2], [3]], "W": [1]}')
    assert result.stderr.startswith("error: A_prev is ragged")


def test_cell_outside_the_array(cli):
    result = cli("backward", SEED, "--cell", "5")
    assert result.stderr == "error: --cell '5' is outside A_prev, whose shape is (3,) (indices count from 0)\n"


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout == f"convgrad {convgrad.__version__}\n"


def test_leftover_reasons_name_each_gap(cli):
    out = " ".join(cli("backward", "-x", "1 2 3 4 5 6", "-w", "[1,1]", "--dZ", "1 1", "--stride", "3",
                       "-o", "none").stdout.split())
    assert "stride 3 steps over index 2; the last window ends at index 4, before index 5" in out


def test_symmetric_padding_cropped_from_one_side_is_recognised(cli, tmp_path):
    problem = json.loads((SAMPLE / "stride2_pad1.json").read_text())
    doc = json.loads(cli("backward", SAMPLE / "stride2_pad1.json", "--exact", "--json").stdout)
    padded = np.array(doc["audits"]["padding_crop"]["padded_gradient"], dtype=object)
    answer = {"dA_prev": padded[:5, :5].tolist()}  # the top-left 5x5: cropped from the end only
    (tmp_path / "p.json").write_text(json.dumps(problem))
    (tmp_path / "a.json").write_text(json.dumps(answer, default=str))
    verdict = json.loads(cli("check", tmp_path / "p.json", "--answer", tmp_path / "a.json", "--json").stdout)
    assert verdict["quantities"]["dA_prev"]["mistakes"][0]["form"] == "wrong side"


def test_check_json_shows_the_working_of_wrong_entries(cli):
    doc = json.loads(cli("check", SEED, "--answer", SAMPLE / "answers" / "ben.json", "--json").stdout)
    entry = doc["quantities"]["dW"]["entries"][0]
    assert entry["working"] == "dZ[0]·A_prev[0] + dZ[1]·A_prev[1] = (-0.1)·1 + 0.2·2"


def test_check_a_forward_problem_with_a_wrong_Z(cli, tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": [1, 2, 3], "W": ["1/3", "2/3"]}))
    (tmp_path / "a.json").write_text(json.dumps({"Z": [1.66, 2.67]}))
    result = cli("check", tmp_path / "p.json", "--answer", tmp_path / "a.json")
    assert result.exit_code == 1 and "1.66 ✗ 1.67 (5/3)" in result.stdout


def test_check_labels_slices_by_their_indices(cli, tmp_path):
    doc = json.loads(cli("backward", SAMPLE / "batch_channels.json", "--exact", "--json", "-o", "none").stdout)
    wrong = np.array(doc["dW"], dtype=float)
    wrong[0, 0, 0, 0] += 1
    (tmp_path / "a.json").write_text(json.dumps({"dW": wrong.tolist()}))
    out = cli("check", SAMPLE / "batch_channels.json", "--answer", tmp_path / "a.json").stdout
    assert "[0, 0, :, :]" in out and "axis 0" not in out
