"""JSON for machines: one encoder for every command, faithful numbers, overlays streamed.

Numbers are written faithfully: a float as the shortest text that reads back
to the same double (float32: the same float32); an exact value with a
terminating decimal expansion as that decimal (0.3), any other rational as a
string "p/q"; a symbolic value as a string sympy parses back. Non-finite
floats (only with --allow-nonfinite) are the strings "NaN", "Infinity", "-Infinity".
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import IO, Any

import numpy as np

from .. import audits
from ..api import Result, overlay_in_form
from ..layers.base import Overlay, Record
from ..numbers import finite_decimal_text
from .text import output_formula

#: From this many overlays on, a float64 convolution's overlays are written a tile at a time.
TILED_FROM = 32
#: Overlays per tile: a tile's text (about 5 kB an overlay of 8 channels, 3x3) is held a few times
#: over while it is written, so JSON lines stay within a few MB of the totals-only run.
TILE = 64

_NONFINITE = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}


def scalar(value: Any) -> str:
    """JSON text of one number (or string, bool, None)."""
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, np.float32):
        return str(value) if np.isfinite(value) else _NONFINITE[str(float(value))]
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return repr(x) if math.isfinite(x) else _NONFINITE[str(x)]
    if isinstance(value, Fraction):
        text = finite_decimal_text(value)
        return text if text is not None else f'"{value.numerator}/{value.denominator}"'
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if getattr(value, "is_Rational", False):  # a symbolic result that is just a number
        return scalar(Fraction(int(value.p), int(value.q)))
    from ..numbers import formula_text  # only symbolic values get here

    return json.dumps(formula_text(value), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON text of nested dicts, lists and arrays of any number kind."""
    if isinstance(value, np.ndarray):
        if value.dtype == np.float64 and np.isfinite(value).all():
            return json.dumps(value.tolist())  # repr of each double: fast and faithful
        if value.ndim == 0:
            return scalar(value[()])
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    return scalar(value)


def document(fields: dict[str, Any]) -> str:
    """A JSON object for people to open: one key per line, matrices one row per line, numbers as dumps."""
    body = ",\n".join(
        f"  {json.dumps(str(k))}: {_pretty(v, 2 + len(json.dumps(str(k))) + 2)}" for k, v in fields.items()
    )
    return "{\n" + body + "\n}\n"


def _pretty(value: Any, column: int) -> str:
    """Nested lists with the innermost rows kept on one line, the others broken and aligned."""
    if isinstance(value, np.ndarray):
        value = list(value) if value.ndim else value[()]
    if not isinstance(value, (list, tuple)) or not value or not isinstance(value[0], (list, tuple, np.ndarray)):
        return dumps(value)
    inner = [_pretty(v, column + 1) for v in value]
    return "[" + (",\n" + " " * (column + 1)).join(inner) + "]"


def overlay_object(overlay: Overlay, backward: bool) -> dict[str, Any]:
    """The JSON fields of one overlay (arrays already in the user's form)."""
    obj: dict[str, Any] = {
        "number": overlay.index + 1,
        "n": overlay.n,
        "c_out": overlay.c_out,
        "position": list(overlay.position),
        "window_start": list(overlay.window_start),
        "A_slice": overlay.A_slice,
        "Z": overlay.Z,
    }
    if backward:
        obj.update({"dZ": overlay.dZ, "dW": overlay.dW, "db": overlay.db, "dA_prev": overlay.dA_prev})
    return obj


def totals_object(result: Result) -> dict[str, Any]:
    """Z and, after a backward pass, the gradients; dW and db only for a kind with weights."""
    obj: dict[str, Any] = {"Z": result.Z}
    if result.is_backward:
        if result.problem.has_weights:
            obj.update({"dW": result.dW, "db": result.db})
        obj["dA_prev"] = result.dA_prev
    return obj


def record_object(record: Record, result: Result) -> dict[str, Any]:
    """The JSON fields of one overlay of a column kind: where it reads, then the kind's values."""
    form = result.problem.form
    obj: dict[str, Any] = {
        "number": record.index + 1,
        "n": record.n,
        "channel": record.channel,
        "position": list(record.position),
        "reads": [list(form.activation_index(index)) for index in record.reads],
    }
    kind = result.problem.kind
    assert kind is not None
    for column in kind.columns:
        if result.is_backward or not column.backward:
            obj[column.key] = record.values[column.key]
    return obj


def overlay_blocks(result: Result, indices: Iterable[int]) -> Iterator[str]:
    """The chosen overlays as compact JSON, one per line, a tile of lines per block, lazily.

    A float64 convolution writes a tile of overlays at once (the same text as ``overlay_texts``,
    made from arrays for many overlays and written without a Python call per number); a tile
    holding NaN or an infinity (--allow-nonfinite), and every other problem, one overlay at a time.
    """
    p = result.problem
    chosen = iter(indices)
    head = list(itertools.islice(chosen, TILED_FROM))
    if len(head) < TILED_FROM or p.kind is not None or p.domain.name != "float" or p.domain.dtype != np.float64:
        yield from overlay_texts(result, itertools.chain(head, chosen))  # a few overlays: no tiling to start up
        return
    indices = itertools.chain(head, chosen)
    from .. import jsonfast

    form = p.form
    for tile in result.overlay_tiles(indices, size=TILE):
        arrays = (tile.A_slice, tile.Z, tile.dZ, tile.dW, tile.dA_prev)
        if all(array is None or np.isfinite(array).all() for array in arrays):
            yield jsonfast.lines(_tile_records(tile), jsonfast.tiny_rows(*arrays))
            continue
        overlays = result.canonical_overlays(tile.indices.tolist())
        yield "\n".join(dumps(overlay_object(overlay_in_form(o, form), result.is_backward)) for o in overlays)


def _tile_records(tile: Any) -> list[dict[str, Any]]:
    """The JSON fields of each overlay of a tile (see overlay_object): ints, floats, lists and arrays."""
    columns: list[Any] = [
        (tile.indices + 1).tolist(),
        tile.n.tolist(),
        tile.c_out.tolist(),
        tile.position.tolist(),
        tile.window_start.tolist(),
        list(np.ascontiguousarray(tile.A_slice)),
        tile.Z.tolist(),
    ]
    keys = ["number", "n", "c_out", "position", "window_start", "A_slice", "Z"]
    if tile.dZ is not None:
        dz = tile.dZ.tolist()
        columns += [dz, list(np.ascontiguousarray(tile.dW)), dz, list(np.ascontiguousarray(tile.dA_prev))]
        keys += ["dZ", "dW", "db", "dA_prev"]
    return [dict(zip(keys, values)) for values in zip(*columns)]


def overlay_texts(result: Result, indices: Iterable[int]) -> Iterator[str]:
    """Each chosen overlay as compact JSON, lazily, for either record type."""
    if result.problem.kind is not None:
        for record in result.records(indices):
            yield dumps(record_object(record, result))
        return
    form = result.problem.form
    for overlay in result.canonical_overlays(indices):
        yield dumps(overlay_object(overlay_in_form(overlay, form), result.is_backward))


def document_chunks(result: Result, indices: Iterable[int], cell: str | None = None) -> Iterator[str]:
    """The JSON document in pieces: totals, config and audits, then one overlay at a time."""
    fields = totals_object(result)
    fields["config"] = result.config
    fields["audits"] = audits_object(result, cell)
    yield "{\n"
    for key, value in fields.items():
        yield f"  {json.dumps(key)}: {dumps(value)},\n"
    yield '  "overlays": ['
    first = True
    for block in overlay_blocks(result, indices):
        yield ("\n    " if first else ",\n    ") + block.replace("\n", ",\n    ")
        first = False
    yield "]\n}\n" if first else "\n  ]\n}\n"


def write_lines(result: Result, indices: Iterable[int], stream: IO[str], cell: str | None = None) -> None:
    """JSON lines: one overlay per line as it is computed, then one line with the totals.

    Memory stays flat: each overlay is built, written and dropped.
    """
    for block in overlay_blocks(result, indices):
        stream.write(block)
        stream.write("\n")
    final = {"totals": totals_object(result), "config": result.config, "audits": audits_object(result, cell)}
    stream.write(dumps(final) + "\n")


def write_document(result: Result, indices: Iterable[int], stream: IO[str], cell: str | None = None) -> None:
    for chunk in document_chunks(result, indices, cell):
        stream.write(chunk)


def audits_object(result: Result, cell: str | None = None) -> dict[str, Any]:
    """The audits as JSON fields: always "stride_leftovers" (maybe empty), "padding_crop" (or null)."""
    p = result.problem
    if p.kind is not None:
        obj: dict[str, Any] = {"stride_leftovers": [], "padding_crop": None}
    else:
        obj = _conv_audits(result)
    if cell is not None:
        obj["cell"] = _cell_object(result, cell)
    return obj


def _conv_audits(result: Result) -> dict[str, Any]:
    p = result.problem
    form = p.form
    obj: dict[str, Any] = {
        "stride_leftovers": [
            {"axis": left.axis, "indices": list(left.indices), "output_size": output_formula(p.geom, left.axis)}
            for left in audits.stride_leftovers(p.geom)
        ],
        "padding_crop": None,
    }
    crop = audits.padding_crop(p) if result.is_backward else None
    if crop is not None:
        obj["padding_crop"] = {
            "padded_gradient": form.activation_from_canonical(crop.padded),
            "discarded_magnitude": crop.discarded,
        }
    return obj


def _cell_object(result: Result, cell: str) -> dict[str, Any]:
    p = result.problem
    form = p.form
    view = audits.cell_view(p, cell)
    terms = []
    for term in view.terms:
        number = view.overlay if term.overlay is None else term.overlay  # Z's bias term: Z's own overlay
        entry: dict[str, Any] = {"overlay": None if number is None else number + 1}
        for factor in term.factors:
            index = (
                form.activation_index(factor.index)
                if factor.array in ("A_prev", "dZ")
                else form.bias_index(factor.index[0])
                if factor.array == "b"
                else form.kernel_index(factor.index)
            )
            entry[factor.array] = {"index": list(index), "value": factor.value}
        entry["product"] = term.value
        terms.append(entry)
    return {"array": view.array, "index": list(view.user_index), "terms": terms, "gradient": view.gradient}
