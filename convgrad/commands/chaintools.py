"""check, gradcheck, shape and generate of a chain problem ("layers"): thin runners over
convgrad/chains/ (check, gradcheck, shape, generate)."""

from __future__ import annotations

import sys
from fractions import Fraction
from typing import Any

import typer

from ..errors import UsageError
from ..limits import Limits
from ..options import CheckOptions, GenerateOptions, GradcheckOptions, OutputOptions
from .common import json_format, note, stdout_console, write_file_atomically, write_json


def run_check(
    fields: dict[str, Any], output: OutputOptions, check: CheckOptions, limits: Limits, folder: bool = False
) -> None:
    """One answer file against a chain: each layer answered, the loss; exit 1 when any is wrong.
    ``folder``: the answer names a folder or glob (grading a class is for one-layer problems so far)."""
    from ..chains.check import ChainChecker
    from ..check import Tolerance
    from ..numbers import check_option_number
    from ..reader import read_problem_document
    from ..render.chaintoolsview import chain_report_object, chain_report_renderables

    check_option_number(check.rtol, "--rtol", 0, 1)
    check_option_number(check.atol, "--atol", 0, 1e300)
    if fields.get("symbolic"):
        raise UsageError("check compares numbers: a symbolic chain has formulas, not numeric answers")
    if folder:
        raise UsageError(
            "grading a folder of answers is for one-layer problems so far: check a chain's answers one file at a time"
        )
    if any(v is not None for v in (check.policy, check.require, check.weights, check.gradebook, check.feedback_dir)):
        raise UsageError(
            "--policy, --require, --weights, --gradebook and --feedback-dir grade one-layer problems so far"
        )
    fmt = json_format(output)
    checker = ChainChecker(fields, Tolerance.of(check.rtol, check.atol), limits)
    source = "stdin" if check.answer == "-" else check.answer
    document = read_problem_document(
        check.answer, 'object with "layers" (one answer per layer) and "loss"', limits=limits, what="the answer file"
    )
    report = checker.check(document, source, check.decimals)
    for message in report.notes:
        note(message)
    if fmt == "json":
        write_json(chain_report_object(checker, report))
    else:
        console = stdout_console()
        for renderable in chain_report_renderables(checker, report):
            console.print(renderable)
    if not report.all_right:
        raise typer.Exit(code=1)


def run_gradcheck(fields: dict[str, Any], output: OutputOptions, check: GradcheckOptions, limits: Limits) -> None:
    """Central differences of the chain's loss against every layer's dW, db and the chain's dA_prev."""
    from ..chains import build_chain, solve_chain
    from ..chains.gradcheck import DEFAULT_CHAIN_STEP, gradcheck_chain
    from ..gradcheck import check_step
    from ..numbers import parse_number_text
    from ..render.chaintoolsview import chain_gradcheck_object, chain_gradcheck_renderables

    fmt = json_format(output)
    if fields.get("symbolic"):
        raise UsageError("gradcheck compares numbers: give numbers, not names")
    if check.answer is not None or check.show is not None:
        raise UsageError(
            "--answer and --show are for one-layer problems so far; for a chain, gradcheck checks every layer"
        )
    exact = bool(fields.pop("exact", False)) or check.exact
    chain = build_chain({**fields, "exact": exact}, need_dZ=True, float64=True, limits=limits)
    for message in chain.notes:
        note(message)
    exact = chain.domain.name == "exact"
    step: Any = Fraction(1, 1000) if exact else DEFAULT_CHAIN_STEP
    if check.step is not None:
        step = parse_number_text(check.step, "--step")
        if step is None or step <= 0:
            raise UsageError(f"--step must be a positive number such as 1e-5 or 1/1000, got {check.step!r}")
        step = check_step(step, exact)
    result = solve_chain(chain)
    rows = gradcheck_chain(result, step=step, max_entries=check.max_entries, rtol=check.rtol)
    passed = all(row.passed for row in rows)
    if fmt == "json":
        write_json(chain_gradcheck_object(rows, check.rtol, passed))
    else:
        console = stdout_console()
        for renderable in chain_gradcheck_renderables(
            rows, exact=exact, step=step, rtol=check.rtol, passed=passed, with_loss=chain.loss is not None
        ):
            console.print(renderable)
    if not passed:
        raise typer.Exit(code=1)


def run_shape(fields: dict[str, Any], output: OutputOptions, limits: Limits) -> None:
    """The shapes through the chain and the parameters per layer and in total."""
    from ..chains.shape import chain_shapes
    from ..render.chaintoolsview import chain_shape_object, chain_shape_renderables

    rows = chain_shapes(fields, limits)
    if json_format(output) == "json":
        write_json(chain_shape_object(rows))
        return
    console = stdout_console()
    for renderable in chain_shape_renderables(rows):
        console.print(renderable)


def run_generate(options: GenerateOptions) -> None:
    """--chain: a random chain problem, and with --key its answer key (KEY.json)."""
    from ..chains.generate import ChainSpec, chain_key, generate_chain, parse_chain, parse_loss_word
    from ..render.jsonout import document
    from .common import check_outputs

    assert options.chain is not None
    for flag, value in (
        ("--count", options.count),
        ("--sheet", options.sheet),
        ("--layer", options.layer),
        ("--stride", options.stride),
        ("--padding", options.padding),
        ("--dilation", options.dilation),
        ("--slope", options.slope),
        ("--mode", options.mode),
    ):
        if value is not None:
            raise UsageError(f"{flag} is for one layer, not --chain (its layers take their own defaults)")
    kinds = parse_chain(options.chain)
    loss = parse_loss_word(options.loss, kinds)

    def whole(text: str | None, flag: str, default: int) -> int:
        if text is None:
            return default
        if not text.strip().isdigit():
            raise UsageError(f"{flag} for --chain is one whole number (a square input and kernel), got {text!r}")
        return int(text)

    spec = ChainSpec(
        kinds=kinds,
        loss=loss,
        batch=options.batch or 2,
        channels=options.channels or 1,
        size=whole(options.size, "--size", 4),
        kernel=whole(options.kernel, "--kernel", 3),
        filters=options.filters or 2,
        classes=options.classes or 3,
        layout=options.layout,
        seed=options.seed,
    )
    outputs = [("--output", options.output)] if options.output else []
    if options.key:
        outputs.append(("--key", f"{options.key}.json"))
    check_outputs(outputs)
    problem, seed = generate_chain(spec)
    files = []
    if options.key:
        files.append((f"{options.key}.json", document(chain_key(problem))))
    text = document(problem)
    if options.output:
        write_file_atomically(options.output, text)
    else:
        sys.stdout.write(text)
    if options.seed is None:
        note(f"seed {seed}: pass --seed {seed} to generate this problem again")
    for name, content in files:
        write_file_atomically(name, content)
    written = ([options.output] if options.output else []) + [name for name, _ in files]
    if written:
        note(f"wrote {', '.join(written)}")
