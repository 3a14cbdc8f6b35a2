"""Every number is bounded before it is built: digit counts and exponents are checked on the text,
exact results too long to write are refused before output starts, and numeric options are finite and
in range. Each reproducer of issue 17 item 3 is one test; the class it stands for is swept."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from conftest import ROOT, SEED

from convgrad.numbers import MAX_DIGITS, MAX_EXPONENT, MAX_RESULT_DIGITS


def one_line_refusal(result, *needles: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout[:200], result.stderr[:300])
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr[:300]
    assert len(result.stderr) < 400
    for needle in needles:
        assert needle in result.stderr, result.stderr


# -- the reproducers ---------------------------------------------------------------------------------


def test_json_integer_of_5000_digits(cli):
    text = '{"A_prev": [' + "9" * 5000 + ', 1], "W": [1], "dZ": [1, 1]}'
    one_line_refusal(cli("backward", "-", input=text), "5,000 digits", f"{MAX_DIGITS:,}")


def test_fraction_with_10000_digit_parts(cli):
    value = "1" * 10000 + "/" + "3" * 10000
    one_line_refusal(cli("forward", "-x", f"1 2 {value}", "-w", "1 1"), "--A-prev", "20,001 characters")
    one_line_refusal(cli("forward", "-", input=json.dumps({"A_prev": [1, value], "W": [1]})), "A_prev[1] has")
    short = "1" * 1500 + "/3"  # short enough for the digit count to be read from the text
    one_line_refusal(cli("forward", "-x", f"1 2 {short}", "-w", "1 1"), "--A-prev", "1,500 digits")
    one_line_refusal(
        cli("forward", "-", input=json.dumps({"A_prev": [1, short], "W": [1]})), "A_prev[1] has 1,500 digits"
    )


def test_stride_1e4400(cli):
    one_line_refusal(cli("forward", "-x", "1 2 3", "-w", "1 1", "--stride", "1e4400"), "--stride", "exponent 4400")


def test_dilation_1e40_refused_before_any_output(cli):
    for extra in ([], ["-w", "1"], ["--json"], ["--format", "markdown"]):
        args = ["backward", "-x", "1 2 3", "-w", "1 1", "--dZ", "1", "--dilation", "1e40", *extra]
        one_line_refusal(cli(*args), "dilation")


def test_shape_A_prev_shape_1e20(cli):
    one_line_refusal(cli("shape", "--A-prev-shape", "1e20", "--W-shape", "2"), "A_prev shape[0]")


@pytest.mark.parametrize("where", ["entry", "answer", "step", "stride", "json-entry", "b"])
def test_huge_exponents_refused_at_once(cli, tmp_path, where):
    """1e-999999999 hung (an exponent of 1e7 already took 8 s): refused on its text, at once."""
    huge = "1e-999999999"
    start = time.perf_counter()
    if where == "entry":
        result = cli("forward", "-x", f"1 2 {huge}", "-w", "1 1")
    elif where == "json-entry":
        result = cli("forward", "-", input='{"A_prev": [1, 2, ' + huge + '], "W": [1]}')
    elif where == "b":
        result = cli("forward", "-x", "1 2", "-w", "1", "-b", huge, "--exact")
    elif where == "answer":
        answer = tmp_path / "a.json"
        answer.write_text('{"Z": [' + huge + ", 1]}")
        result = cli("check", SEED, "--answer", answer)
    elif where == "step":
        result = cli("gradcheck", SEED, "--step", huge, "--exact")
    else:
        result = cli("forward", "-x", "1 2 3", "-w", "1 1", "--stride", huge)
    assert time.perf_counter() - start < 5
    one_line_refusal(result, "exponent")


def test_exact_result_too_long_refused_before_output(cli):
    """300 entries 1/p for distinct 16-digit primes: their sum has about 4,500 digits (exit 70 after 6.6 KB of
    truncated JSON before). Refused in one line before any output, in every format."""
    sympy = pytest.importorskip("sympy")
    primes, p = [], 10**15
    while len(primes) < 300:
        p = sympy.nextprime(p)
        primes.append(p)
    problem = json.dumps({"A_prev": [f"1/{q}" for q in primes], "W": [1] * 300, "dZ": [1]})
    for fmt in (
        ["--json"],
        ["--format", "jsonl"],
        [],
        ["--format", "markdown"],
        ["--format", "latex"],
        ["--format", "csv"],
    ):
        one_line_refusal(cli("backward", "-", "--exact", *fmt, input=problem), f"{MAX_RESULT_DIGITS:,}")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["forward", SEED, "--max-input-mb", "inf"], "--max-input-mb must be a finite number"),
        (["forward", SEED, "--max-input-mb", "nan"], "--max-input-mb must be a finite number"),
        (["forward", SEED, "--max-input-mb", "1e13"], "--max-input-mb must be"),
        (["forward", SEED, "--max-output-mb", "inf"], "--max-output-mb must be a finite number"),
        (["check", SEED, "--answer", SEED, "--rtol", "inf"], "--rtol must be a finite number"),
        (["check", SEED, "--answer", SEED, "--atol", "nan"], "--atol must be a finite number"),
        (["gradcheck", SEED, "--step", "1e400"], "step must be between"),
        (["gradcheck", SEED, "--rtol", "inf"], "rtol must be a finite number"),
    ],
)
def test_numeric_options_finite_and_in_range(cli, args, needle):
    one_line_refusal(cli(*args), needle)


# -- the classes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "9" * (MAX_DIGITS + 1),
        "-" + "9" * (MAX_DIGITS + 1),
        "0." + "1" * (MAX_DIGITS + 1),
        f"1e{MAX_EXPONENT + 1}",
        f"1e-{MAX_EXPONENT + 1}",
        "1e99999999999999999999",
        "1E+0000000000000000001001",
        "1" * 2000 + "/3",
        "3/" + "1" * 2000,
        "1." + "0" * 5000 + "1e5",
    ],
)
@pytest.mark.parametrize("how", ["flag", "json", "json-string", "exact", "symbolic"])
def test_every_oversized_number_is_refused_on_its_text(cli, text, how):
    if how == "flag":
        result = cli("forward", "-x", f"1 {text}", "-w", "1")
    elif how == "json":
        if "/" in text:
            pytest.skip("a fraction is a string in JSON")
        result = cli("forward", "-", input='{"A_prev": [1, ' + text + '], "W": [1]}')
    elif how == "json-string":
        result = cli("forward", "-", input=json.dumps({"A_prev": [1, text], "W": [1]}))
    elif how == "exact":
        result = cli("forward", "-", "--exact", input=json.dumps({"A_prev": [1, text], "W": [1]}))
    else:
        result = cli("forward", "-", "--symbolic", input=json.dumps({"A_prev": ["x", text], "W": [1]}))
    one_line_refusal(result)
    assert "digits" in result.stderr or "exponent" in result.stderr


@pytest.mark.parametrize("text", ["9" * MAX_DIGITS, f"1e{MAX_EXPONENT}", f"1e-{MAX_EXPONENT}", "1/" + "7" * 300])
def test_numbers_at_the_bounds_are_read(cli, text):
    result = cli("forward", "-", "--exact", "--json", input=json.dumps({"A_prev": [1, text], "W": [1]}))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("option", ["--stride", "--padding", "--dilation", "--groups", "--dims"])
@pytest.mark.parametrize("value", ["1e40", "1e1000", "9" * 1001, "1e999999999", "inf", "nan", "-1e40"])
def test_configuration_numbers_never_crash(cli, option, value):
    result = cli("backward", "-x", "1 2 3", "-w", "1 1", "--dZ", "1", option, value, "--json")
    assert result.exit_code in (0, 2), result.stderr
    if result.exit_code == 2:
        one_line_refusal(result)


def test_python_int_str_limit_never_reached_from_the_api():
    import convgrad
    from convgrad.errors import InputError

    with pytest.raises(InputError, match="digits"):
        convgrad.backward([10**5000, 2, 3], [1, 1], [1, 1])
    with pytest.raises(InputError, match="digits"):
        convgrad.forward([1, 2], [1], stride=10**5000)


def test_huge_exponent_via_subprocess_finishes_quickly():
    """The same through the real entry point, timed: no hang, one line, exit 2."""
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "convgrad", "forward", "-x", "1 3e999999999", "-w", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert time.perf_counter() - start < 30
    assert run.returncode == 2 and run.stdout == "" and run.stderr.count("\n") == 1


def test_symbolic_coefficients_are_bounded_like_exact_results(cli):
    sympy = pytest.importorskip("sympy")
    primes, p = [], 10**15
    while len(primes) < 300:
        p = sympy.nextprime(p)
        primes.append(p)
    problem = json.dumps({"A_prev": {"shape": [300]}, "W": ["w"], "dZ": [f"1/{q}" for q in primes], "b": 0})
    one_line_refusal(cli("backward", "-", "--symbolic", "--json", input=problem), f"{MAX_RESULT_DIGITS:,}")


def test_echoed_user_text_is_capped(cli):
    result = cli("forward", "-x", "1 2", "-w", "1", "--padding", "z" * 500)
    one_line_refusal(result, "(500 characters)")
