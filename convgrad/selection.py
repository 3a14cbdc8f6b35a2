"""Which overlays to show: ``--overlays all | none | SELECTION``.

A SELECTION is one or more clauses, separated by spaces or ";", all of which
an overlay must match:

- overlay numbers as printed (1-based): ``3``, ``2-5``, ``1-3,9``;
- ``n=...``: samples, ``c_out=...`` (or ``c=...``): filters, each a list of
  numbers and ranges (``n=0``, ``c_out=1-2,5``);
- ``pos=...``: an output position, one coordinate per spatial dim separated
  by commas, each a number, a range ``a-b`` or ``*`` (``pos=0,1``, ``pos=*,0-1``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import InputError, UsageError, option
from .geometry import Geometry
from .layers.conv import overlay_index

Ranges = tuple[tuple[int, int], ...]  # inclusive (first, last) pairs


def _ranges(text: str, what: str, base: int = 0) -> Ranges:
    """ "1-3,9" -> ((1, 3), (9, 9)); ``base`` is subtracted (1-based overlay numbers)."""
    result = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m:
            raise InputError(f"{option('overlays')}: {what} {text!r} is not a list of numbers and ranges like 1-3,5")
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        if last < first:
            raise InputError(f"{option('overlays')}: range {part.strip()!r} runs backwards")
        result.append((first - base, last - base))
    return tuple(result)


def _within(value: int, ranges: Ranges | None) -> bool:
    return ranges is None or any(a <= value <= b for a, b in ranges)


@dataclass(frozen=True)
class Selection:
    """kind: "all", "none", "auto" (all when few, else the first ones) or "filter"."""

    kind: str
    numbers: Ranges | None = None
    n: Ranges | None = None
    c_out: Ranges | None = None
    position: tuple[Ranges | None, ...] | None = None
    text: str = ""

    def indices(self, geom: Geometry) -> Iterator[int]:
        """Overlay indices (0-based) selected, in overlay order."""
        if self.kind == "none":
            return
        if self.kind in ("all", "auto"):
            yield from range(geom.overlay_count)
            return
        channels, sizes, number_of = _overlay_axes(geom)
        if self.position is not None and len(self.position) != geom.dims:
            raise InputError(
                f"{option('overlays')}: pos has {len(self.position)} coordinate(s) but the output has "
                f"{geom.dims} spatial dim(s), shape {sizes}"
            )
        if self.n is None and self.c_out is None and self.position is None and self.numbers:
            # Numbers alone: walk the ranges, not every overlay of a large layer.
            merged: list[list[int]] = []
            for first, last in sorted(self.numbers):
                last = min(last, geom.overlay_count - 1)
                if first > last:
                    continue
                if merged and first <= merged[-1][1] + 1:
                    merged[-1][1] = max(merged[-1][1], last)
                else:
                    merged.append([first, last])
            for first, last in merged:
                yield from range(first, last + 1)
            return
        samples = [i for i in range(geom.batch) if _within(i, self.n)]
        filters = [c for c in range(channels) if _within(c, self.c_out)]
        axes = [
            [p for p in range(size) if self.position is None or _within(p, self.position[axis])]
            for axis, size in enumerate(sizes)
        ]
        for n in samples:
            for c_out in filters:
                for position in itertools.product(*axes):
                    index = number_of(n, c_out, position)
                    if _within(index, self.numbers):
                        yield index

    def upper_bound(self, geom: Geometry) -> int:
        """At most how many overlays this selects, without walking them."""
        if self.kind == "none":
            return 0
        if self.kind in ("all", "auto"):
            return geom.overlay_count
        count = geom.overlay_count
        if self.n is not None or self.c_out is not None or self.position is not None:
            channels, sizes, _ = _overlay_axes(geom)
            samples = sum(1 for i in range(geom.batch) if _within(i, self.n))
            filters = sum(1 for c in range(channels) if _within(c, self.c_out))
            positions = 1
            for axis, size in enumerate(sizes):
                ranges = None if self.position is None or axis >= len(self.position) else self.position[axis]
                positions *= sum(1 for p in range(size) if _within(p, ranges))
            count = samples * filters * positions
        if self.numbers:
            count = min(count, sum(b - a + 1 for a, b in self.numbers))
        return count

    def is_empty(self, geom: Geometry) -> bool:
        return next(iter(self.indices(geom)), None) is None


def _overlay_axes(geom: Geometry) -> tuple[int, tuple[int, ...], Any]:
    """The channels and spatial sizes overlays run over, and the overlay number of (n, c, position):
    convolution's filters and output positions, unless the geometry says otherwise (a transposed
    convolution's overlays run over input channels and input positions)."""
    own = getattr(geom, "overlay_axes", None)
    if own is not None:
        return own()
    return geom.out_channels, geom.output_size, lambda n, c, position: overlay_index(n, c, position, geom)


ALL = Selection("all")
NONE = Selection("none")
AUTO = Selection("auto")


def parse_selection(text: str | None) -> Selection:
    """Parse the --overlays value (None: the default, "auto")."""
    if text is None:
        return AUTO
    stripped = text.strip()
    if stripped.lower() in ("all", "none", "auto"):
        return {"all": ALL, "none": NONE, "auto": AUTO}[stripped.lower()]
    clauses = [c for c in re.split(r"[\s;]+", stripped) if c]
    if not clauses:
        raise InputError(f"{option('overlays')} is empty: give all, none, or a selection such as 1-5 or n=0 pos=1,2")
    found: dict[str, object] = {}
    for clause in clauses:
        if "=" not in clause:
            key, value = "numbers", clause
        else:
            key, value = (s.strip() for s in clause.split("=", 1))
            key = {"c": "c_out", "cout": "c_out", "position": "pos", "p": "pos"}.get(key, key)
            if key not in ("n", "c_out", "pos"):
                raise InputError(f"{option('overlays')}: unknown key {key!r} in {clause!r} (keys: n, c_out, pos)")
        if key in found:
            raise InputError(f"{option('overlays')}: {key} is given twice")
        if key == "numbers":
            found[key] = _ranges(value, "overlay numbers", base=1)
            if any(a < 0 for a, _ in found[key]):  # type: ignore[attr-defined]
                raise InputError(f"{option('overlays')}: overlay numbers start at 1")
        elif key == "pos":
            found[key] = tuple(
                None if coord.strip() == "*" else _ranges(coord, "a pos coordinate") for coord in value.split(",")
            )
        else:
            found[key] = _ranges(value, key)
    return Selection(
        "filter",
        numbers=found.get("numbers"),  # type: ignore[arg-type]
        n=found.get("n"),  # type: ignore[arg-type]
        c_out=found.get("c_out"),  # type: ignore[arg-type]
        position=found.get("pos"),  # type: ignore[arg-type]
        text=stripped,
    )


# -- --cell: one entry of A_prev, W, b (their gradients) or Z -----------------------------------

CELL_PATTERN = re.compile(r"\s*(?:([A-Za-z_]+)\s*(?:\[(.*)\]|:(.*))?|([\d,\s]+))\s*")

#: The names --cell accepts, by the array whose entry they name: a gradient names the entry it
#: belongs to (dW[0,1] is W[0,1]'s gradient), Z an output (the one overlay that made it).
CELL_NAMES = {
    "A_prev": "A_prev",
    "A": "A_prev",
    "x": "A_prev",
    "dA_prev": "A_prev",
    "dA": "A_prev",
    "dx": "A_prev",
    "W": "W",
    "w": "W",
    "dW": "W",
    "dw": "W",
    "b": "b",
    "db": "b",
    "Z": "Z",
    "z": "Z",
}
CELL_EXAMPLES = "1,2 or dA_prev[1,2] or dW[0,1] or db[1] or Z[0,1]"


def parse_cell(text: str) -> tuple[str, tuple[int, ...]]:
    """ "1,2" (A_prev), "A_prev[0,1,2]", "dA_prev[1,2]", "W[0,1]", "dW:0,1", "db[1]", "Z[0,1]" -> (array, index)."""
    m = CELL_PATTERN.fullmatch(text)
    if not m or (m.group(1) is not None and m.group(1) not in CELL_NAMES):
        raise UsageError(f"{option('cell')} {text!r} is not an entry such as {CELL_EXAMPLES}")
    name, bracket, colon, bare = m.groups()
    array = "A_prev" if name is None else CELL_NAMES[name]
    digits = bare if name is None else (bracket if bracket is not None else colon or "")
    try:
        index = tuple(int(part) for part in digits.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"{option('cell')} {text!r}: indices are whole numbers separated by commas") from None
    return array, index
