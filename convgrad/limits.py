"""Limits that keep hostile or mistaken input from exhausting the machine, checked before anything
large is read, allocated or written. The defaults are far above any homework or real layer."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

from .errors import InputError, option

MB = 1 << 20

#: The limits --max-input-mb, --max-elements and --max-output-mb set, when not given.
DEFAULT_MAX_INPUT_MB = 1024
DEFAULT_MAX_ELEMENTS = 100_000_000
DEFAULT_MAX_OUTPUT_MB = 512


class LimitExceeded(InputError):
    """A limit refused the run (as opposed to a problem that is wrong in itself)."""


@dataclass(frozen=True)
class Limits:
    """max_input_bytes: a problem file (JSON text, .npz, .npy) or stdin;
    max_depth: nesting of a JSON array (an array has at most 8 axes here);
    max_elements: entries of one array;
    max_output_bytes: the estimated size of a table, JSON, CSV, Markdown or LaTeX output
    (JSON lines stream, so they have no limit);
    max_exact_terms, max_symbolic_terms: multiply-adds in exact rationals (about 2 µs each) and in
    sympy formulas (about 300 µs each): past these a run takes more than seconds;
    max_json_numbers: numbers in one JSON document (each a Python object of about 120 bytes
    while parsed; .npy and .npz files have no such cost). --max-elements raises it too."""

    max_input_bytes: int = DEFAULT_MAX_INPUT_MB * MB
    max_depth: int = 8
    max_elements: int = DEFAULT_MAX_ELEMENTS
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_MB * MB
    max_exact_terms: int = 5_000_000
    max_symbolic_terms: int = 20_000
    max_json_numbers: int = 2_000_000

    @classmethod
    def from_options(
        cls, max_input_mb: float | None = None, max_elements: int | None = None, max_output_mb: float | None = None
    ) -> Limits:
        """The limits the flags set (None: the default). A size must be finite, above 0 and at most 1e6 MB."""
        from .numbers import check_option_number

        check_option_number(max_input_mb, "--max-input-mb", 0, 1e6, low_open=True)
        check_option_number(max_output_mb, "--max-output-mb", 0, 1e6, low_open=True)
        default = cls()
        return cls(
            max_input_bytes=default.max_input_bytes if max_input_mb is None else int(max_input_mb * MB),
            max_elements=default.max_elements if max_elements is None else max_elements,
            max_output_bytes=default.max_output_bytes if max_output_mb is None else int(max_output_mb * MB),
            max_json_numbers=default.max_json_numbers
            if max_elements is None
            else max(default.max_json_numbers, max_elements),
        )


DEFAULT = Limits()


def size_text(nbytes: float) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", MB), ("kB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{int(nbytes)} bytes"


def check_input_size(nbytes: int, source: str, limits: Limits) -> None:
    if nbytes > limits.max_input_bytes:
        raise LimitExceeded(
            f"{source} is {size_text(nbytes)}, over the {size_text(limits.max_input_bytes)} input limit",
            hint="raise it with --max-input-mb; large arrays read fastest from .npy or .npz files",
        )


def check_elements(count: int, field: str, limits: Limits) -> None:
    if count > limits.max_elements:
        shown = f"{count:,}" if count < 10**21 else f"about 10^{int(count.bit_length() * 0.30103)}"  # huge padding
        raise LimitExceeded(
            f"{field} has {shown} entries, over the limit of {limits.max_elements:,}",
            hint=f"raise it with {option('max_elements')}",
        )


def exact_terms(problem: Any) -> int:
    """Multiply-adds of a forward (and backward) pass, each a Python operation in exact arithmetic."""
    g = problem.geom
    return g.overlay_count * g.in_per_group * prod(g.kernel_size) * (3 if problem.dZ is not None else 1)


def check_exact_work(problem: Any, limits: Limits) -> None:
    """Exact and symbolic runs do every multiply-add in Python objects: refuse what would take hours."""
    check_terms(exact_terms(problem), "symbolic" if problem.domain.name == "symbolic" else "exact", limits)


def estimate_output_bytes(problem: Any, overlays: int, fmt: str, cell: str | None = None) -> int:
    """A generous estimate of the output's size: about 24 characters a number.

    ``cell``: the --cell entry, whose view lists every term behind it (a W entry of a large
    layer has one per output position).
    """
    g = problem.geom
    window = g.in_per_group * prod(g.kernel_size)
    per_overlay = 24 * ((3 if problem.dZ is not None else 1) * window + 2 * g.dims + 8)
    if fmt == "table":
        per_overlay *= 4  # grids, running totals, padding
    totals = 24 * (
        problem.A_prev.size * (2 if problem.dZ is not None else 1)
        + (0 if problem.W is None else problem.W.size)
        + g.batch * g.out_channels * prod(g.output_size)
    )
    if fmt == "jsonl":
        overlays, totals = 0, 0  # JSON lines stream: only a --cell view is held whole
    return overlays * per_overlay + totals + 24 * (2 * g.dims + 6) * cell_terms(problem, cell)


def cell_terms(problem: Any, cell: str | None) -> int:
    """At most how many terms the --cell view of this entry lists (0 without --cell)."""
    if cell is None:
        return 0
    from .selection import parse_cell

    array, _ = parse_cell(cell)
    g = problem.geom
    if array == "A_prev":
        return g.out_per_group * prod(g.kernel_size)
    return g.batch * g.positions_per_map


def check_output_size(problem: Any, overlays: int, fmt: str, limits: Limits, cell: str | None = None) -> None:
    estimate = estimate_output_bytes(problem, overlays, fmt, cell)
    if estimate > limits.max_output_bytes:
        cells = f", {cell_terms(problem, cell):,} terms behind --cell {cell[:60]}" if cell is not None else ""
        raise LimitExceeded(
            f"the {fmt} output would be about {size_text(estimate)} ({overlays:,} overlays{cells}), over the "
            f"{size_text(limits.max_output_bytes)} output limit",
            hint=(
                "--cell lists every term behind its entry: choose another entry, or raise the limit with "
                "--max-output-mb"
            )
            if cells and estimate_output_bytes(problem, overlays, fmt) <= limits.max_output_bytes
            else "choose fewer overlays (--overlays none, or a selection such as --overlays 'n=0 c_out=0'), "
            "stream them with --format jsonl, or raise the limit with --max-output-mb",
        )


def check_terms(terms: int, name: str, limits: Limits) -> None:
    limit = limits.max_symbolic_terms if name == "symbolic" else limits.max_exact_terms
    if terms > limit:
        raise LimitExceeded(
            f"this problem needs {terms:,} {name} multiply-adds, over the limit of {limit:,}",
            hint=f"{name} arithmetic is for homework sizes; drop {option('exact')}/{option('symbolic')} for floats",
        )
