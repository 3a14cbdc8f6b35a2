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
from .common import check_outputs, note, write_file_atomically

#: The most overlays an answer key works through (its Markdown shows every one; 10,000 take
#: about 4 s and 2.4 MB): past this, generate refuses before writing anything, unless --force.
KEY_OVERLAY_LIMIT = 20_000


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


#: An answer key estimated above this size is announced on stderr (its size and how to shrink it).
KEY_NOTE_MB = 1
#: An answer key estimated above this size is refused unless --force: a Markdown file this large
#: is no longer something a person reads. The estimate is generous (limits.estimate_output_bytes):
#: a 16x16 input, 3 channels, 4 filters 3x3 is estimated at 1.8 MB and writes 0.9 MB.
KEY_LIMIT_MB = 32


def announce_key_size(problem: Any, key: str, force: bool) -> None:
    """Warn about a large answer key before anything is written; refuse a huge one unless forced."""
    from ..errors import InputError
    from ..limits import MB, estimate_output_bytes, size_text

    count = problem.geom.overlay_count
    estimate = estimate_output_bytes(problem, count, "markdown") + estimate_output_bytes(problem, 0, "json")
    shrink = "a smaller --size, fewer --filters/--channels/--batch, or a larger --stride"
    if estimate > KEY_LIMIT_MB * MB and not force:
        raise InputError(
            f"the answer key ({key}.md with the working of all {count:,} overlays, and {key}.json) would be "
            f"about {size_text(estimate)}, over the {KEY_LIMIT_MB} MB answer-key limit",
            hint=f"make the problem smaller with {shrink}; leave out --key; or write it anyway with --force",
        )
    if estimate > KEY_NOTE_MB * MB:
        note(
            f"the answer key will be about {size_text(estimate)} ({key}.md holds the working of "
            f"all {count:,} overlays); {shrink} makes it shorter"
        )


def run(options: GenerateOptions) -> None:
    """Draw the problem (left-out sizes take the defaults), write it, and the answer key if asked."""
    from ..api import solve
    from ..generate import Spec, generate
    from ..limits import DEFAULT
    from ..numbers import ExactDomain
    from ..problem import build_problem, canonical_fields
    from ..reader import parse_flag_value
    from ..render.jsonout import document
    from ..render.markdown import key_markdown

    key = options.key
    outputs = [("--output", options.output)] if options.output else []
    if key:
        outputs += [("--key", f"{key}.json"), ("--key", f"{key}.md")]
    check_outputs(outputs)
    layer = options.layer or "conv"
    pooling = layer.replace("_", "-").lower() in ("max-pool", "avg-pool")
    if layer not in ("conv", "conv-transpose"):
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
        raise UsageError(f"--slope is for leaky-relu, not {layer}")
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
    key_files: list[tuple[str, str]] = []
    if key:  # the key is made before any file is written: if it fails, nothing is
        from ..errors import InputError
        from ..limits import check_exact_work
        from ..preflight import problem_from_shapes

        fields = canonical_fields(problem, "the generated problem")
        shaped = problem_from_shapes(fields, DEFAULT)  # the geometry alone: no entry converted
        overlays = (shaped or build_problem(fields, need_dZ=True)).geom.overlay_count
        if overlays > KEY_OVERLAY_LIMIT and not options.force:
            raise InputError(
                f"the answer key would work through {overlays:,} overlays, over the limit of {KEY_OVERLAY_LIMIT:,}",
                hint="generate a smaller problem, leave out --key, or work through them anyway with --force",
            )
        checked = build_problem(fields, need_dZ=True)
        exact_ok = checked.kind is None or checked.kind.rational  # sigmoid, tanh: a float key
        solved = build_problem(fields, need_dZ=True, domain=ExactDomain()) if exact_ok else checked
        announce_key_size(solved, key, options.force)
        if exact_ok and not options.force:
            check_exact_work(solved, DEFAULT)
        result = solve(solved)
        answers = {"Z": result.Z, "dW": result.dW, "db": result.db, "dA_prev": result.dA_prev}
        answers = {name: value for name, value in answers.items() if value is not None}
        key_files = [
            (f"{key}.json", document(answers)),
            (f"{key}.md", key_markdown(result, description=problem["description"])),
        ]
    text = document(problem)
    output = options.output
    if output:
        write_file_atomically(output, text)
    else:
        sys.stdout.write(text)
    if options.seed is None:
        note(f"seed {seed}: pass --seed {seed} to generate this problem again")
    for name, content in key_files:
        write_file_atomically(name, content)
    if output or key:
        note(f"wrote {', '.join(filter(None, [output, key and key + '.json', key and key + '.md']))}")
