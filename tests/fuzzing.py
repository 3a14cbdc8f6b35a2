"""Mutations of valid problems, and a runner that classifies what the CLI does with them.

Used by tests/test_fuzz.py (a hypothesis run in the suite) and benchmarks/fuzz_run.py
(thousands of cases). A mutation starts from a valid problem and breaks it the way
hand-typed or hostile input does: ragged arrays, wrong types, odd shapes, odd
unicode, duplicate keys, deep nesting, cut-off text, absurd configuration.
"""

from __future__ import annotations

import copy
import json
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VALID = [
    json.loads(p.read_text()) for p in sorted((ROOT / "samples").glob("*.json")) if '"layers"' not in p.read_text()
]

JUNK: list[Any] = [
    None,
    True,
    False,
    "",
    "abc",
    "1/3",
    "1/0",
    "1e400",
    "NaN",
    "Infinity",
    "-0",
    "\u202e1",
    "𝟙",
    "½",
    " 2 ",
    "1_000",
    "x11",
    "__import__('os')",
    {},
    {"shape": [2]},
    {"shape": "9x9x9x9x9x9"},
    [],
    [[]],
    [1, [2]],
    -1,
    0,
    1,
    2,
    3,
    2**63,
    -(2**70),
    1e308,
    1e-320,
    3.5,
    -0.0,
    "same",
    "valid",
    "full",
    "NHWC",
    "convolution",
    [1, 2],
    [[1, 0], [0, 1]],
    [0, -1],
    "a.npy",
    "../../etc/passwd.npy",
    "𝒳",
    "\x00",
    "\ud800x",
]
ARRAY_KEYS = ("A_prev", "W", "dZ", "b")
CONFIG_KEYS = ("stride", "padding", "dilation", "groups", "layout", "mode", "dims", "exact", "symbolic")
ODD_KEYS = ("strides ", "Ä_prev", "A_prev\u200b", "w", "kernel", "x", "bias", "delta", "$schema", "🙂", "", "a" * 300)
FLAG_CHOICES: list[list[str]] = [
    [],
    [],
    ["--json"],
    ["--json"],
    ["--format", "jsonl"],
    ["--format", "csv"],
    ["--format", "markdown"],
    ["--exact"],
    ["--exact", "--json"],
    ["--symbolic", "--json"],
    ["--overlays", "all"],
    ["--overlays", "none"],
    ["--overlays", "n=0 pos=0,*"],
    ["--overlays", "3-1"],
    ["--overlays", "pos=99"],
    ["--cell", "0,0"],
    ["--cell", "W[0,0]"],
    ["--cell", "b"],
    ["--explain"],
    ["--precision", "3"],
    ["--allow-nonfinite", "--json"],
    ["--view", "blocks"],
    ["--float64", "--json"],
    ["--layout", "NHWC"],
    ["--padding", "same"],
    ["--stride", "0"],
    ["--dims", "3"],
    ["-x", "1 2; 3"],
    ["-w", "[[1,2],[3]]"],
    ["--dZ", "1 2 3"],
]


def _arrays_paths(node: Any, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    """Paths of every list inside a nested list (the root included)."""
    if not isinstance(node, list):
        return []
    found = [path]
    for i, child in enumerate(node):
        found += _arrays_paths(child, path + (i,))
    return found


def _at(node: Any, path: tuple[int, ...]) -> Any:
    for i in path:
        node = node[i]
    return node


def mutate_structure(problem: dict[str, Any], rng: random.Random) -> str:
    """Change the problem as a Python object; returns what was done."""
    keys = [k for k in problem if k in ARRAY_KEYS]
    op = rng.choice(
        [
            "drop",
            "append",
            "replace",
            "wrap",
            "unwrap",
            "junk_field",
            "config",
            "delete_key",
            "rename_key",
            "add_key",
            "empty",
            "deep",
        ]
    )
    if op in ("drop", "append", "replace", "wrap", "unwrap", "empty", "deep") and keys:
        key = rng.choice(keys)
        value = problem[key]
        lists = _arrays_paths(value)
        if not lists:
            problem[key] = [value, rng.choice(JUNK)]
            return f"{key} scalar made a list"
        path = rng.choice(lists)
        target = _at(value, path)
        if op == "drop" and target:
            target.pop(rng.randrange(len(target)))
        elif op == "append":
            target.append(copy.deepcopy(rng.choice(target)) if target and rng.random() < 0.5 else rng.choice(JUNK))
        elif op == "replace" and target:
            target[rng.randrange(len(target))] = copy.deepcopy(rng.choice(JUNK))
        elif op == "wrap":
            problem[key] = [value] * rng.randint(1, 3)
        elif op == "unwrap" and target and isinstance(target[0], list):
            problem[key] = target[0]
        elif op == "empty":
            problem[key] = []
        elif op == "deep":
            nested: Any = value
            for _ in range(rng.choice([5, 20, 200])):  # deeper nesting is made as text (mutate_text)
                nested = [nested]
            problem[key] = nested
        return f"{op} in {key} at {list(path)}"
    if op == "junk_field" and keys:
        key = rng.choice(keys)
        problem[key] = copy.deepcopy(rng.choice(JUNK))
        return f"{key} = junk"
    if op == "config":
        key = rng.choice(CONFIG_KEYS)
        problem[key] = copy.deepcopy(rng.choice(JUNK))
        return f"{key} = junk"
    if op == "delete_key" and problem:
        key = rng.choice(list(problem))
        del problem[key]
        return f"deleted {key}"
    if op == "rename_key" and problem:
        key = rng.choice(list(problem))
        problem[rng.choice(ODD_KEYS)] = problem.pop(key)
        return f"renamed {key}"
    problem[rng.choice(ODD_KEYS)] = copy.deepcopy(rng.choice(JUNK))
    return "added a key"


def mutate_text(text: str, rng: random.Random) -> tuple[str, str]:
    """Break the JSON text itself."""
    op = rng.choice(
        ["truncate", "insert", "duplicate_key", "trailing_comma", "nonfinite", "garbage", "bom", "wrap", "brackets"]
    )
    if op == "truncate":
        return text[: rng.randrange(len(text) + 1)], "truncated"
    if op == "insert":
        at = rng.randrange(len(text) + 1)
        return text[:at] + rng.choice(["\u2028", "\x00", "'", "\\", "{", "]", ",", "é", "\ufeff", "NaN"]) + text[
            at:
        ], "inserted a character"
    if op == "duplicate_key" and text.startswith("{") and '"' in text:
        key_end = text.index('"', 2)
        key = text[1 : key_end + 1].strip()
        return text.replace("{", "{" + key + ": 0, ", 1), "duplicated a key"
    if op == "trailing_comma":
        at = text.rfind("]")
        return (text[:at] + "," + text[at:] if at > 0 else text + ","), "trailing comma"
    if op == "nonfinite":
        return text.replace("1", rng.choice(["NaN", "Infinity", "-Infinity", "1e999"]), 1), "non-finite literal"
    if op == "garbage":
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(1, 50))), "garbage"
    if op == "bom":
        return "\ufeff" + text, "byte order mark"
    if op == "wrap":
        return f"[{text}]", "wrapped in a list"
    depth = rng.choice([100, 2000, 100000])
    return '{"A_prev": ' + "[" * depth + "1" + "]" * depth + ', "W": [1]}', f"nested {depth} deep"


def make_case(rng: random.Random) -> tuple[str, list[str], str]:
    """(problem text for stdin, CLI arguments, what was done)."""
    problem = copy.deepcopy(rng.choice(VALID))
    done = []
    for _ in range(rng.choice([0, 0, 1, 1, 1, 2, 3])):  # sometimes only the flags are odd
        done.append(mutate_structure(problem, rng))
    text = json.dumps(problem, ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.35:
        text, what = mutate_text(text, rng)
        done.append(what)
    command = rng.choice(["backward", "backward", "backward", "forward", "gradcheck", "shape"])
    flags = list(rng.choice(FLAG_CHOICES))
    if command in ("gradcheck", "shape"):
        flags = [f for f in flags if f in ("--json",)]
    return text, [command, "-", *flags], "; ".join(done) or "nothing (flags only)"


class Hang(BaseException):
    """Raised by the alarm: a case ran past its time (not an Exception, so nothing swallows it)."""


@dataclass
class Outcome:
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float
    verdict: str  # "ok", "refused", "crash", "hang"


def run_case(runner: Any, app: Any, text: str, args: list[str], timeout: float = 10.0) -> Outcome:
    """Run one case in-process; a case past ``timeout`` seconds is a hang."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    start = time.perf_counter()
    try:
        result = runner.invoke(app, args, input=text.encode("utf-8", "surrogatepass"))
    except Hang:
        return Outcome(None, "", "", time.perf_counter() - start, "hang")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - start
    stdout, stderr = result.stdout, result.stderr
    crashed = (
        result.exit_code not in (0, 1, 2)
        or "Traceback" in stderr
        or "internal error" in stderr
        or (result.exception is not None and not isinstance(result.exception, SystemExit))
    )
    if crashed:
        verdict = "crash"
    elif result.exit_code == 2:
        one_line = (stderr.count("\n") == 1 and stderr.startswith("error: ")) or stderr.startswith("Usage:")
        verdict = "refused" if stdout == "" and one_line else "crash"
    else:
        verdict = "ok"
    return Outcome(result.exit_code, stdout, stderr, seconds, verdict)


# -- generators: one family of hostile input each -------------------------------------------------------
#
# Every generator takes a random.Random and returns a case in make_case's form: (text for stdin, CLI
# arguments, what was done). benchmarks/fuzz_run.py runs every generator (and those of
# tests/fuzzing_io.py, when it exists) each in its own process, with a time and memory limit.

SEED_PATH = str(ROOT / "samples" / "seed_1d.json")
DIGIT_COUNTS = [999, 1000, 1001, 4300, 4301, 5000, 20000, 100000]
EXPONENTS = ["308", "309", "400", "999", "1000", "1001", "4400", "99999", "999999999", "99999999999999999999"]


def _digits(rng: random.Random) -> str:
    count = rng.choice(DIGIT_COUNTS)
    return (
        str(rng.randint(1, 9))
        + "".join(str(rng.randrange(10)) for _ in range(min(count, 3000) - 1))
        + "7" * max(0, count - 3000)
    )


def _exponent_number(rng: random.Random) -> str:
    return f"{rng.choice(['1', '-2.5', '3', '0.1'])}e{rng.choice(['', '-', '+'])}{rng.choice(EXPONENTS)}"


def _huge_number(rng: random.Random) -> str:
    kind = rng.choice(["int", "decimal", "fraction", "exponent", "long-decimal"])
    if kind == "int":
        return ("-" if rng.random() < 0.3 else "") + _digits(rng)
    if kind == "decimal":
        return "0." + _digits(rng)
    if kind == "fraction":
        return f"{_digits(rng)}/{_digits(rng) if rng.random() < 0.5 else '3'}"
    if kind == "long-decimal":
        return _digits(rng) + "." + _digits(rng) + f"e{rng.choice(['-', ''])}{rng.choice(EXPONENTS)}"
    return _exponent_number(rng)


def _number_case(rng: random.Random, value: str) -> tuple[str, list[str], str]:
    """A huge number placed where numbers go: an entry (JSON number, JSON string, flag), the bias,
    a configuration option, an answer, a step, a tolerance or a shape."""
    where = rng.choice(
        [
            "json-number",
            "json-string",
            "flag",
            "bias",
            "dZ",
            "stride",
            "dilation",
            "padding",
            "groups",
            "answer",
            "step",
            "shape",
            "exact",
            "symbolic",
        ]
    )
    problem = {"A_prev": [1, 2, 3, 4], "W": [0.5, -1], "dZ": [1, 1, 1]}
    flags = rng.choice([[], ["--json"], ["--format", "markdown"], ["--format", "jsonl"], ["--format", "latex"]])
    json_number = value if "/" not in value else json.dumps(value)
    if where == "json-number":
        return (
            '{"A_prev": [1, ' + json_number + ', 3, 4], "W": [0.5, -1], "dZ": [1, 1, 1]}',
            ["backward", "-", *flags],
            f"JSON number {value[:20]}... in A_prev",
        )
    if where == "json-string":
        problem["W"] = [value, 1]
        return json.dumps(problem), ["backward", "-", *flags], "number as a JSON string in W"
    if where == "flag":
        return "", ["backward", "-x", f"1 {value} 3", "-w", "1 1", "--dZ", "1", *flags], "number in -x"
    if where in ("bias", "dZ"):
        problem["b" if where == "bias" else "dZ"] = "@"  # a placeholder, replaced by the number's text
        return json.dumps(problem).replace('"@"', json_number), ["backward", "-", *flags], where
    if where in ("stride", "dilation", "padding", "groups"):
        return json.dumps(problem), ["backward", "-", f"--{where}", value, *flags], f"--{where} huge"
    if where == "answer":
        return (
            '{"Z": [' + json_number + ", 2.1]}",
            ["check", SEED_PATH, "--answer", "-", *rng.choice([[], ["--json"]])],
            "huge number in an answer",
        )
    if where == "step":
        return "", ["gradcheck", SEED_PATH, "--step", value, *rng.choice([[], ["--exact"]])], "--step huge"
    if where == "shape":
        return "", ["shape", "--A-prev-shape", value.split("/")[0][:40], "--W-shape", "2"], "huge shape"
    if where == "exact":
        problem["A_prev"] = [1, value, 3, 4]
        return json.dumps(problem), ["backward", "-", "--exact", *flags], "huge number, exact"
    problem["A_prev"] = ["x", value, "y", "z"]
    return json.dumps(problem), ["backward", "-", "--symbolic", "--json"], "huge number, symbolic"


def gen_huge_digits(rng: random.Random) -> tuple[str, list[str], str]:
    kind = rng.choice(["int", "decimal", "fraction"])
    value = {"int": _digits(rng), "decimal": "0." + _digits(rng), "fraction": f"1/{_digits(rng)}"}[kind]
    return _number_case(rng, value)


def gen_huge_exponents(rng: random.Random) -> tuple[str, list[str], str]:
    return _number_case(rng, _exponent_number(rng))


def gen_huge_numbers(rng: random.Random) -> tuple[str, list[str], str]:
    return _number_case(rng, _huge_number(rng))


OPTION_VALUES = [
    "inf",
    "-inf",
    "nan",
    "NaN",
    "1e13",
    "1e400",
    "-1",
    "0",
    "1e-400",
    "abc",
    "",
    "1e308",
    "99999999999999999999999",
    "0x10",
    "1_000",
]


def gen_numeric_options(rng: random.Random) -> tuple[str, list[str], str]:
    """Numeric options with non-finite, out-of-range and malformed values."""
    option, command = rng.choice(
        [
            ("--max-input-mb", "backward"),
            ("--max-output-mb", "backward"),
            ("--max-elements", "forward"),
            ("--precision", "backward"),
            ("--rtol", "check"),
            ("--atol", "check"),
            ("--rtol", "gradcheck"),
            ("--step", "gradcheck"),
            ("--max-entries", "gradcheck"),
            ("--max-elements", "shape"),
            ("--max-input-mb", "check"),
        ]
    )
    value = rng.choice(OPTION_VALUES)
    args = [command, SEED_PATH, option, value]
    if command == "check":
        args += ["--answer", str(ROOT / "samples" / "answers" / "ana.json")]
    return "", args, f"{option} {value!r}"


HOSTILE_NAMES = [
    "__import__('os').system('true')",
    "\\input{/etc/passwd}",
    "x;y",
    "é",
    "lambda",
    "import",
    "__class__",
    "x.y",
    "1x",
    "a" * 61,
    "S",
    "E",
    "I",
    "pi",
    "oo",
    "x y",
    "`x`",
    "<b>",
    "x|y",
    "*",
    "exec",
    "eval",
    "$x$",
    "x\u200b",
    "",
]


def gen_names(rng: random.Random) -> tuple[str, list[str], str]:
    """Hostile names and prefixes in every place a name goes, every symbolic output format."""
    name = rng.choice(HOSTILE_NAMES + ["x", "w_1", "dz"])
    place = rng.choice(["entry", "A_prefix", "W_prefix", "b_prefix", "scalar_b_prefix", "dZ_prefix"])
    problem: dict[str, Any] = {"A_prev": {"shape": [3]}, "W": {"shape": [2]}}
    if place == "entry":
        problem["A_prev"] = [name, "x2", "x3"]
    elif place == "scalar_b_prefix":
        problem["b"] = {"shape": [], "prefix": name}
    else:
        field = place.split("_")[0].replace("A", "A_prev")
        problem.setdefault(field, {"shape": [3] if field == "A_prev" else [2] if field == "W" else [1]})
        if field == "dZ":
            problem["dZ"] = {"shape": [2]}
        problem[field]["prefix"] = name
    fmt = rng.choice([["--json"], ["--format", "latex"], ["--format", "markdown"], ["--format", "jsonl"], []])
    return json.dumps(problem), ["backward", "-", "--symbolic", *fmt], f"name {name[:20]!r} as {place}"


def gen_cancelling(rng: random.Random) -> tuple[str, list[str], str]:
    """Terms that cancel, shown in every human format (the noise rule zeroed these)."""
    big = 10.0 ** rng.randint(0, 300)
    a = [big, -big, float(f"{rng.uniform(-1, 1):.3f}e{rng.randint(-300, 0)}"), rng.choice([0.1, 0.2, -0.3, 1.0])]
    rng.shuffle(a)
    problem = {"A_prev": a, "W": [1, 1, rng.choice([1, 0.5, -1])], "dZ": [1, rng.choice([1, -1, 0.1])]}
    fmt = rng.choice([[], ["--format", "markdown"], ["--format", "latex"], ["--format", "csv"], ["--explain"]])
    return json.dumps(problem), ["backward", "-", *fmt], "cancelling terms"


def gen_exact_growth(rng: random.Random) -> tuple[str, list[str], str]:
    """Exact problems whose denominators multiply up past what can be written."""
    count = rng.choice([10, 100, 300, 600])
    primes = _primes_after(10 ** rng.choice([6, 12, 15]))[:count]
    problem = {"A_prev": [f"1/{p}" for p in primes], "W": [1] * len(primes), "dZ": [1]}
    fmt = rng.choice([["--json"], ["--format", "jsonl"], [], ["--format", "markdown"], ["--format", "csv"]])
    return json.dumps(problem), ["backward", "-", "--exact", *fmt], f"{len(primes)} entries 1/p, exact"


_PRIMES: dict[int, list[int]] = {}


def _primes_after(start: int) -> list[int]:
    """The 600 primes after ``start`` (computed once per start: sympy's nextprime is slow in bulk)."""
    if start not in _PRIMES:
        import sympy

        primes, p = [], start
        while len(primes) < 600:
            p = sympy.nextprime(p)
            primes.append(p)
        _PRIMES[start] = primes
    return _PRIMES[start]


def gen_mutations(rng: random.Random) -> tuple[str, list[str], str]:
    return make_case(rng)


GENERATORS: dict[str, Any] = {
    "mutations": gen_mutations,
    "huge_digits": gen_huge_digits,
    "huge_exponents": gen_huge_exponents,
    "huge_numbers": gen_huge_numbers,
    "numeric_options": gen_numeric_options,
    "names": gen_names,
    "cancelling": gen_cancelling,
    "exact_growth": gen_exact_growth,
}
