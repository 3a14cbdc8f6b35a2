"""generate: a random problem (and answer key) from a seed, for handing out."""

from __future__ import annotations

import sys
from typing import Any

from ..errors import UsageError
from ..options import (
    DEFAULT_DILATION,
    DEFAULT_DIMS,
    DEFAULT_GROUPS,
    DEFAULT_KERNEL,
    DEFAULT_PADDING,
    DEFAULT_STRIDE,
    DEFAULT_VALUES,
    GenerateOptions,
)
from .common import check_writable, note, write_file_atomically


def _ints(text: str | None, flag: str) -> Any:
    if text is None:
        return None
    from ..errors import InputError
    from ..problem import parse_shape

    try:
        values = parse_shape(text, f"--{flag}")
    except InputError:
        raise UsageError(f"--{flag} takes a whole number, or one per dim like 3,4 (got {text!r})") from None
    return values[0] if len(values) == 1 else values


def run(options: GenerateOptions) -> None:
    """Draw the problem (left-out sizes take the defaults), write it, and the answer key if asked."""
    from ..api import solve
    from ..generate import Spec, generate
    from ..numbers import ExactDomain
    from ..problem import build_problem, canonical_fields
    from ..reader import parse_flag_value
    from ..render.jsonout import document
    from ..render.markdown import key_markdown

    if options.output:
        check_writable(options.output, "--output")
    if options.key:
        check_writable(f"{options.key}.json", "--key")
    layer = options.layer or "conv"
    pooling = layer.replace("_", "-").lower() in ("max-pool", "avg-pool")
    if layer != "conv":
        conv_only = {
            "--kernel": None if pooling else options.kernel,
            "--stride": None if pooling else options.stride,
            "--padding": None if pooling else options.padding,
            "--dilation": None if pooling and layer.startswith("max") else options.dilation,
            "--filters": options.filters,
            "--mode": options.mode,
            "--bias": options.bias or None,
            "--groups": None if options.groups in (None, DEFAULT_GROUPS) else options.groups,
        }
        for flag, value in conv_only.items():
            if value is not None:
                raise UsageError(f"{flag} is for conv, not {layer}: {layer} takes A_prev's size, channels and batch")
    elif options.slope is not None:
        raise UsageError("--slope is for leaky-relu, not conv")
    spec = Spec(
        dims=options.dims or DEFAULT_DIMS,
        size=_ints(options.size, "size"),
        kernel=_ints(options.kernel, "kernel") or DEFAULT_KERNEL,
        stride=_ints(options.stride, "stride") or (None if pooling else DEFAULT_STRIDE),
        padding=DEFAULT_PADDING if options.padding is None else parse_flag_value(options.padding, "padding"),
        dilation=_ints(options.dilation, "dilation") or DEFAULT_DILATION,
        channels=options.channels,
        filters=options.filters,
        batch=options.batch,
        groups=options.groups or DEFAULT_GROUPS,
        bias=options.bias,
        values=options.values or DEFAULT_VALUES,
        layout=options.layout,
        mode=options.mode,
        seed=options.seed,
        layer=layer,
        slope=None if options.slope is None else parse_flag_value(options.slope, "slope"),
    )
    problem, seed = generate(spec)
    text = document(problem)
    output = options.output
    if output:
        write_file_atomically(output, text)
    else:
        sys.stdout.write(text)
    if options.seed is None:
        note(f"seed {seed}: pass --seed {seed} to generate this problem again")
    key = options.key
    if key:
        fields = canonical_fields(problem, "the generated problem")
        checked = build_problem(fields, need_dZ=True)
        exact_ok = checked.kind is None or checked.kind.rational  # sigmoid, tanh: a float key
        result = solve(build_problem(fields, need_dZ=True, domain=ExactDomain()) if exact_ok else checked)
        answers = {"Z": result.Z, "dW": result.dW, "db": result.db, "dA_prev": result.dA_prev}
        answers = {name: value for name, value in answers.items() if value is not None}
        write_file_atomically(f"{key}.json", document(answers))
        write_file_atomically(f"{key}.md", key_markdown(result, description=problem["description"]))
        if output or key:
            note(f"wrote {', '.join(filter(None, [output, key + '.json', key + '.md']))}")
