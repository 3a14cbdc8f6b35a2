"""generate: a random problem (and answer key) from a seed, for handing out."""

from __future__ import annotations

import sys
from typing import Any

from ..errors import UsageError
from .common import check_outputs, note, write_file_atomically

#: The most overlays an answer key works through (its Markdown shows every one; 10,000 take
#: about 4 s and 2.4 MB): past this, generate refuses before writing anything.
KEY_OVERLAY_LIMIT = 20_000


def _ints(text: str | None, flag: str) -> Any:
    if text is None:
        return None
    from ..problem import parse_shape
    from ..errors import InputError

    try:
        values = parse_shape(text, f"--{flag}")
    except InputError:
        raise UsageError(f"--{flag} takes a whole number, or one per dim like 3,4 (got {text!r})") from None
    return values[0] if len(values) == 1 else values


def run(options: dict[str, Any]) -> None:
    from ..api import solve
    from ..generate import Spec, generate
    from ..limits import DEFAULT
    from ..numbers import ExactDomain
    from ..problem import build_problem, canonical_fields
    from ..reader import parse_flag_value
    from ..render.jsonout import document
    from ..render.markdown import key_markdown

    key = options.get("key")
    outputs = [("--output", options["output"])] if options.get("output") else []
    if key:
        outputs += [("--key", f"{key}.json"), ("--key", f"{key}.md")]
    check_outputs(outputs)
    padding = options.get("padding")
    spec = Spec(
        dims=options.get("dims") or 2,
        size=_ints(options.get("size"), "size"),
        kernel=_ints(options.get("kernel"), "kernel") or 2,
        stride=_ints(options.get("stride"), "stride") or 1,
        padding=0 if padding is None else parse_flag_value(padding, "padding"),
        dilation=_ints(options.get("dilation"), "dilation") or 1,
        channels=options.get("channels"),
        filters=options.get("filters"),
        batch=options.get("batch"),
        groups=options.get("groups") or 1,
        bias=bool(options.get("bias")),
        values=options.get("values") or "small",
        layout=options.get("layout"),
        mode=options.get("mode"),
        seed=options.get("seed"),
    )
    problem, seed = generate(spec)
    key_files: list[tuple[str, str]] = []
    if key:  # the key is made before any file is written: if it fails, nothing is
        from ..errors import InputError
        from ..limits import check_exact_work, problem_from_shapes

        fields = canonical_fields(problem, "the generated problem")
        shaped = problem_from_shapes(fields, DEFAULT)  # the geometry alone: no entry converted
        overlays = (shaped or build_problem(fields, need_dZ=True)).geom.overlay_count
        if overlays > KEY_OVERLAY_LIMIT:
            raise InputError(f"the answer key would work through {overlays:,} overlays, over the "
                             f"limit of {KEY_OVERLAY_LIMIT:,}", hint="generate a smaller problem, or leave out --key")
        exact = build_problem(fields, need_dZ=True, domain=ExactDomain())
        check_exact_work(exact, DEFAULT)
        result = solve(exact)
        answers = {"Z": result.Z, "dW": result.dW, "db": result.db, "dA_prev": result.dA_prev}
        key_files = [(f"{key}.json", document(answers)),
                     (f"{key}.md", key_markdown(result, description=problem["description"]))]
    text = document(problem)
    output = options.get("output")
    if output:
        write_file_atomically(output, text)
    else:
        sys.stdout.write(text)
    if options.get("seed") is None:
        note(f"seed {seed}: pass --seed {seed} to generate this problem again")
    for name, content in key_files:
        write_file_atomically(name, content)
    if output or key:
        note(f"wrote {', '.join(filter(None, [output, key and key + '.json', key and key + '.md']))}")
