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
from .common import check_outputs, check_writable, note, write_file_atomically

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


SHEET_FORMATS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex"}


def sheet_format(path: str) -> str:
    """markdown or latex, from the --sheet file's extension."""
    from pathlib import Path

    suffix = Path(path).suffix.lower() if "." in path else "." + path.lower()
    if suffix not in SHEET_FORMATS:
        raise UsageError(f"--sheet takes a .md or .tex file (the format comes from the extension), got {path!r}")
    return SHEET_FORMATS[suffix]


def _check_layer_flags(options: GenerateOptions, layer: str) -> bool:
    """Refuse flags the layer kind does not take; whether the kind is a pooling layer."""
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
    return pooling


def spec_of(options: GenerateOptions, seed: int | None) -> Any:
    """The Spec generate draws from (left-out sizes take the defaults)."""
    from ..generate import Spec
    from ..reader import parse_flag_value

    layer = options.layer or "conv"
    pooling = _check_layer_flags(options, layer)
    return Spec(
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
        seed=seed,
        layer=layer,
        slope=None if options.slope is None else parse_flag_value(options.slope, "slope"),
    )


def _solved(problem: dict[str, Any], key: str, force: bool) -> Any:
    """The problem solved for its key and sheet, exactly where the kind allows (sigmoid, tanh: floats),
    every limit checked first: the overlays the key works through, its size, the exact work."""
    from ..api import solve
    from ..errors import InputError
    from ..limits import DEFAULT, check_exact_work
    from ..numbers import ExactDomain
    from ..preflight import problem_from_shapes
    from ..problem import build_problem, canonical_fields

    fields = canonical_fields(problem, "the generated problem")
    shaped = problem_from_shapes(fields, DEFAULT)  # the geometry alone: no entry converted
    overlays = (shaped or build_problem(fields, need_dZ=True)).geom.overlay_count
    if overlays > KEY_OVERLAY_LIMIT and not force:
        raise InputError(
            f"the answer key would work through {overlays:,} overlays, over the limit of {KEY_OVERLAY_LIMIT:,}",
            hint="generate a smaller problem, leave out --key, or work through them anyway with --force",
        )
    checked = build_problem(fields, need_dZ=True)
    exact_ok = checked.kind is None or checked.kind.rational
    solved = build_problem(fields, need_dZ=True, domain=ExactDomain()) if exact_ok else checked
    announce_key_size(solved, key, force)
    if exact_ok and not force:
        check_exact_work(solved, DEFAULT)
    return solve(solved)


def _key_files(problem: dict[str, Any], result: Any) -> tuple[str, str]:
    """The answer key as JSON and as Markdown (the working)."""
    from ..render.jsonout import document
    from ..render.markdown import key_markdown

    answers = {"Z": result.Z, "dW": result.dW, "db": result.db, "dA_prev": result.dA_prev}
    answers = {name: value for name, value in answers.items() if value is not None}  # no W: no dW, db
    return document(answers), key_markdown(result, description=problem["description"])


def _sheet(result: Any, kind: str, title: str = "Exercise") -> str:
    from ..render.exports import sheet_latex
    from ..render.markdown import sheet_markdown

    render = sheet_markdown if kind == "markdown" else sheet_latex
    return render(result, title=title)  # no description: it names the command that makes the key


def run(options: GenerateOptions) -> None:
    """Draw the problem (or --count of them), write it, and the answer key and student sheet if asked.

    Every output path is checked, and the key and sheet are made, before anything is written: if any
    of them fails, nothing is."""
    if options.chain is not None:  # a chain of layers
        from .chaintools import run_generate

        run_generate(options)
        return
    if options.loss is not None or options.classes is not None:
        raise UsageError("--loss and --classes go with --chain")
    if options.count is not None:
        run_set(options)
        return
    if options.output_dir:
        raise UsageError("--output-dir goes with --count N (a numbered set); for one problem use --output")
    from ..generate import generate
    from ..render.jsonout import document

    key, sheet = options.key, options.sheet
    kind = sheet_format(sheet) if sheet else None
    outputs = [("--output", options.output)] if options.output else []
    if key:
        outputs += [("--key", f"{key}.json"), ("--key", f"{key}.md")]
    if sheet:
        outputs.append(("--sheet", sheet))
    check_outputs(outputs)
    problem, seed = generate(spec_of(options, options.seed))
    files: list[tuple[str, str]] = []
    if key or sheet:
        result = _solved(problem, key or "the key", options.force)
        if key:
            key_json, key_md = _key_files(problem, result)
            files += [(f"{key}.json", key_json), (f"{key}.md", key_md)]
        if sheet and kind:
            files.append((sheet, _sheet(result, kind)))
    text = document(problem)
    output = options.output
    if output:
        write_file_atomically(output, text)
    else:
        sys.stdout.write(text)
    if options.seed is None:
        note(f"seed {seed}: pass --seed {seed} to generate this problem again")
    for name, content in files:
        write_file_atomically(name, content)
    written = ([output] if output else []) + [name for name, _ in files]
    if written:
        note(f"wrote {', '.join(written)}")


def run_set(options: GenerateOptions) -> None:
    """--count N: N variants, one per student, numbered p01 ... in --output-dir, each with its key
    (pNN.json, pNN-key.json, pNN-key.md, and pNN-sheet.md/.tex with --sheet). Variant k uses seed
    + k - 1, so each is re-made alone by the command in its generated_by. Refuses to overwrite."""
    from pathlib import Path

    from ..errors import InputError
    from ..generate import generate
    from ..render.jsonout import document

    count = options.count or 0
    if count < 1:
        raise UsageError(f"--count takes a number of variants, 1 or more (got {count})")
    if not options.output_dir:
        raise UsageError("--count N writes a numbered set: give the folder with --output-dir DIR")
    if options.output or options.key:
        raise UsageError("--count writes pNN.json and pNN-key.* into --output-dir: --output and --key do not apply")
    kind = sheet_format(options.sheet) if options.sheet else None
    folder = Path(options.output_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--output-dir {options.output_dir!r} is a file, not a folder")
    width = max(2, len(str(count)))
    base = options.seed if options.seed is not None else __import__("secrets").randbelow(10**9)
    names = [f"p{k:0{width}d}" for k in range(1, count + 1)]
    sheet_ext = {"markdown": ".md", "latex": ".tex", None: ""}[kind]
    targets = [
        folder / f"{name}{suffix}"
        for name in names
        for suffix in (".json", "-key.json", "-key.md") + ((f"-sheet{sheet_ext}",) if kind else ())
    ]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise InputError(f"--count: {existing[0]!r}{more} already exist; convgrad does not overwrite a set")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"--output-dir {options.output_dir!r} cannot be made: {error.strerror or error}") from None
    check_writable(str(targets[0]), "--output-dir")
    for k, name in enumerate(names):
        problem, _ = generate(spec_of(options, base + k))
        result = _solved(problem, str(folder / f"{name}-key"), options.force)
        key_json, key_md = _key_files(problem, result)
        write_file_atomically(str(folder / f"{name}.json"), document(problem))
        write_file_atomically(str(folder / f"{name}-key.json"), key_json)
        write_file_atomically(str(folder / f"{name}-key.md"), key_md)
        if kind:
            sheet = _sheet(result, kind, title=f"Exercise {name}")
            write_file_atomically(str(folder / f"{name}-sheet{sheet_ext}"), sheet)
    if options.seed is None:
        note(f"seed {base}: pass --seed {base} to generate this set again")
    note(f"wrote {count} variants ({names[0]} .. {names[-1]}) with keys in {options.output_dir}")
