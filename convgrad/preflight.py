"""Limits that the shapes alone decide, checked before any entry is converted or any symbol built.

A problem's arrays may be huge (a JSON shape of 10^8 symbols, an .npz of 10^8 zeros): these checks
build the geometry from zero-sized stand-ins of the given shapes and refuse what the limits forbid,
so that a refused run never allocates the bulk.
"""

from __future__ import annotations

from math import prod
from typing import Any

from .errors import InputError
from .limits import LimitExceeded, Limits, check_elements, check_output_size, check_terms, exact_terms
from .problem import build_problem, shape_only


def _shape_of(value: Any) -> tuple[int, ...] | None:
    """The shape of a raw array value, told without reading its entries; None when it cannot be."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return tuple(value.shape)
    if isinstance(value, dict) and isinstance(value.get("shape"), list):
        sizes = value["shape"]
        if all(type(n) is int and n >= 0 for n in sizes):
            return tuple(sizes)
        return None
    shape: list[int] = []
    while isinstance(value, list):  # the first entry of every level: ragged lists are the build's to refuse
        if not value or len(shape) > 32:
            return None
        shape.append(len(value))
        value = value[0]
    return None if isinstance(value, dict) else tuple(shape)  # a string entry is a fraction or a name


def check_from_shapes(
    fields: dict[str, Any], *, backward: bool, limits: Limits, output: tuple[str, Any, str | None] | None = None
) -> None:
    """Every limit that shapes decide, checked before any entry is converted or any symbol built.

    The problem is first built from zero views of the arrays' shapes (no memory, no parsing of
    entries): that gives the geometry, from which the entries of every array, the exact or
    symbolic multiply-adds and the output size follow. ``output``: (format, a function from the
    geometry to the number of overlays shown, the --cell entry or None), or None when the output
    is not limited.
    A problem wrong in itself (ragged, mismatched shapes...) is left to the real build, so
    that its message stays the same; only a limit is refused here.
    """
    problem = problem_from_shapes(fields, limits)
    if problem is None:
        return
    g = problem.geom
    if backward:
        from dataclasses import replace

        problem = replace(problem, dZ=shape_only((g.batch, g.out_channels) + g.output_size))
    symbolic, exact = fields.get("symbolic") is True, fields.get("exact") is True
    if symbolic or exact:
        check_terms(exact_terms(problem), "symbolic" if symbolic else "exact", limits)
    if output is not None:
        fmt, shown, cell = output
        check_output_size(problem, shown(g), fmt, limits, cell)


def problem_from_shapes(fields: dict[str, Any], limits: Limits) -> Any:
    """The problem with its arrays replaced by zero views of their shapes (no memory, no entry read):
    its geometry, with the element limits checked; None when the shapes alone cannot tell (the real
    build then words what is wrong)."""

    shaped = dict(fields)
    for name in ("exact", "symbolic", "dZ"):
        shaped.pop(name, None)
    for name in ("A_prev", "W", "b"):
        if shaped.get(name) is None:
            continue
        shape = _shape_of(shaped[name])
        if shape is None:
            return None
        check_elements(prod(shape), name, limits)
        shaped[name] = shape_only(shape)
    try:
        return build_problem(shaped, need_dZ=False, limits=limits)
    except LimitExceeded:
        raise
    except InputError:
        return None
