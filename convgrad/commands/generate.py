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


SHEET_FORMATS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex"}


def sheet_format(path: str) -> str:
    """markdown or latex, from the --sheet file's extension."""
    from pathlib import Path

    suffix = Path(path).suffix.lower() if "." in path else "." + path.lower()
    if suffix not in SHEET_FORMATS:
        raise UsageError(f"--sheet takes a .md or .tex file (the format comes from the extension), got {path!r}")
    return SHEET_FORMATS[suffix]


def spec_of(options: GenerateOptions, seed: int | None) -> Any:
    """The Spec generate draws from (left-out sizes take the defaults)."""
    from ..generate import Spec
    from ..reader import parse_flag_value

    return Spec(
        dims=options.dims or DEFAULT_DIMS,
        size=_ints(options.size, "size"),
        kernel=_ints(options.kernel, "kernel") or DEFAULT_KERNEL,
        stride=_ints(options.stride, "stride") or DEFAULT_STRIDE,
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
    )


def _solved(problem: dict[str, Any]) -> Any:
    from ..api import solve
    from ..numbers import ExactDomain
    from ..problem import build_problem, canonical_fields

    fields = canonical_fields(problem, "the generated problem")
    return solve(build_problem(fields, need_dZ=True, domain=ExactDomain()))


def _key_files(problem: dict[str, Any], result: Any) -> tuple[str, str]:
    """The answer key as JSON and as Markdown (the working)."""
    from ..render.jsonout import document
    from ..render.markdown import key_markdown

    answers = {"Z": result.Z, "dW": result.dW, "db": result.db, "dA_prev": result.dA_prev}
    return document(answers), key_markdown(result, description=problem["description"])


def _sheet(result: Any, kind: str, title: str = "Exercise") -> str:
    from ..render.exports import sheet_latex
    from ..render.markdown import sheet_markdown

    render = sheet_markdown if kind == "markdown" else sheet_latex
    return render(result, title=title)  # no description: it names the command that makes the key


def run(options: GenerateOptions) -> None:
    """Draw the problem (or --count of them), write it, and the answer key and student sheet if asked."""
    if options.count is not None:
        run_set(options)
        return
    if options.output_dir:
        raise UsageError("--output-dir goes with --count N (a numbered set); for one problem use --output")
    from ..generate import generate
    from ..render.jsonout import document

    if options.output:
        check_writable(options.output, "--output")
    if options.key:
        check_writable(f"{options.key}.json", "--key")
    kind = sheet_format(options.sheet) if options.sheet else None
    if options.sheet:
        check_writable(options.sheet, "--sheet")
    problem, seed = generate(spec_of(options, options.seed))
    text = document(problem)
    output = options.output
    if output:
        write_file_atomically(output, text)
    else:
        sys.stdout.write(text)
    if options.seed is None:
        note(f"seed {seed}: pass --seed {seed} to generate this problem again")
    key, sheet = options.key, options.sheet
    if key or sheet:
        result = _solved(problem)
    written = [output] if output else []
    if key:
        key_json, key_md = _key_files(problem, result)
        write_file_atomically(f"{key}.json", key_json)
        write_file_atomically(f"{key}.md", key_md)
        written += [f"{key}.json", f"{key}.md"]
    if sheet and kind:
        write_file_atomically(sheet, _sheet(result, kind))
        written.append(sheet)
    if written and (key or sheet):
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
        result = _solved(problem)
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
