"""The interactive page (``--html FILE``): one self-contained HTML file that steps through the overlays.

The template, style and script are real files in ``render/web/``; this module only
fills them in. Two JSON blocks are embedded:

- ``convgrad-json``: the JSON document ``--json --overlays all`` writes (made by
  jsonout.document_chunks), so every number on the page comes from the same text;
- ``convgrad-view``: what the page draws, as the terminal draws it: each array's
  entries as display text (canonical channels-first, A_prev padded), and per overlay
  the sum of products, its shares and the running totals after it, all formatted
  by the result's own formatter (no float formatting happens in the browser).
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import Any

import numpy as np

from .. import audits
from ..api import Result
from ..layers.conv import interior, window_taps
from .jsonout import document_chunks
from .text import config_words, leftover_reasons, make_style, z_expression

#: Most overlays embedded in a page; beyond this the page shows the first ones and says so.
MAX_PAGE_OVERLAYS = 10_000
#: Most window taps (overlays x input channels per group x kernel entries) embedded: each tap
#: carries a few numbers per overlay, so wide kernels or many channels hold fewer overlays.
MAX_PAGE_TAPS = 100_000


def overlays_held(result: Result, limit: int | None = None) -> int:
    """How many overlays (the first ones) a page holds: all, or as many as the caps allow."""
    g = result.problem.geom
    taps = g.in_per_group * int(np.prod(g.kernel_size))
    cap = min(MAX_PAGE_OVERLAYS if limit is None else limit, max(1, MAX_PAGE_TAPS // max(1, taps)))
    return min(g.overlay_count, cap)


def _texts(array: Any, fmt: Any, scales: Any = None) -> list[str]:
    """Every entry of ``array`` (C order) as display text, with its noise scale when given."""
    flat = np.asarray(array, dtype=object).ravel()
    if scales is None:
        return [fmt(v) for v in flat]
    return [fmt(v, s) for v, s in zip(flat, np.asarray(scales).ravel())]


def _resource(name: str) -> str:
    return resources.files("convgrad.render").joinpath("web").joinpath(name).read_text(encoding="utf-8")


def _script_json(text: str) -> str:
    """JSON text safe inside a <script> element ("</" cannot close it)."""
    return text.replace("</", "<\\/")


def page_data(result: Result, command: str, limit: int | None = None) -> tuple[str, dict[str, Any], int]:
    """The JSON document text, the view data, and how many overlays they hold (see overlays_held)."""
    p = result.problem
    g = p.geom
    shown = overlays_held(result, limit)
    document = "".join(document_chunks(result, range(shown)))
    fmt = make_style(result, None, 80).fmt
    symbolic = p.domain.name == "symbolic"
    scales = result.scales
    totals = result.canonical_totals
    A_pad = np.zeros((g.batch, g.in_channels) + g.padded_size, dtype=p.A_prev.dtype)
    A_pad[interior(g)] = p.A_prev
    form = p.form
    view: dict[str, Any] = {
        "command": command,
        "title": f"convgrad {command} · {g.dims}-D {'convolution' if g.flip else 'cross-correlation'}",
        "config": config_words(g),
        "form": {"kind": form.kind, "channels_last": form.channels_last},
        "geom": {
            "N": g.batch,
            "C_in": g.in_channels,
            "C_out": g.out_channels,
            "groups": g.groups,
            "dims": g.dims,
            "input": list(g.input_size),
            "padded": list(g.padded_size),
            "kernel": list(g.kernel_size),
            "output": list(g.output_size),
            "stride": list(g.stride),
            "dilation": list(g.dilation),
            "pad_before": [b for b, _ in g.padding],
            "flip": g.flip,
        },
        "overlay_count": g.overlay_count,
        "shown": shown,
        "arrays": {
            "A_pad": _texts(A_pad, fmt),
            "W": _texts(p.W, fmt),
            "b": None if p.b is None else _texts(p.b, fmt),
            "Z": _texts(totals.Z, fmt, None if scales is None else scales.Z),
        },
        "overlays": [],
        "audits": {
            "leftovers": [
                {"axis": left.axis, "indices": list(left.indices), "why": leftover_reasons(left, g)}
                for left in audits.stride_leftovers(g)
            ],
            "crop": None,
        },
    }
    crop = audits.padding_crop(p) if result.is_backward else None
    if crop is not None:
        view["audits"]["crop"] = fmt(crop.discarded)
    overlays: list[list[Any]] = view["overlays"]
    if result.is_backward:
        arrays = view["arrays"]
        arrays["dZ"] = _texts(p.dZ, fmt)
        arrays["dW"] = _texts(totals.dW, fmt, None if scales is None else scales.dW)
        arrays["db"] = _texts(totals.db, fmt, None if scales is None else scales.db)
        dA_scale = None if scales is None else scales.dA_padded
        last = None
        for overlay, running in result.walk(range(shown)):
            c = overlay.c_out
            taps = (overlay.n, slice(overlay.channels.start, overlay.channels.stop)) + window_taps(
                overlay.window_start, g
            )
            overlays.append(
                [
                    z_expression(overlay, fmt, symbolic),
                    fmt(overlay.dZ),
                    _texts(overlay.dW, fmt),
                    fmt(overlay.db),
                    _texts(overlay.dA_prev, fmt),
                    _texts(p.domain.finalize(running.dW[c]), fmt, None if scales is None else scales.dW[c]),
                    fmt(p.domain.finalize(np.asarray(running.db[c]))[()], None if scales is None else scales.db[c]),
                    _texts(
                        p.domain.finalize(running.dA_padded[taps]), fmt, None if dA_scale is None else dA_scale[taps]
                    ),
                ]
            )
            last = running
        if last is not None and shown == g.overlay_count:
            # the gradient of the padded input, padding kept: the padding crop audit marks what is dropped
            arrays["dA_pad"] = _texts(p.domain.finalize(last.dA_padded), fmt, dA_scale)
        else:
            dA_pad = np.zeros((g.batch, g.in_channels) + g.padded_size, dtype=object)
            dA_pad[interior(g)] = totals.dA_prev
            arrays["dA_pad"] = _texts(dA_pad, fmt, dA_scale)
    else:
        for overlay in result.canonical_overlays(range(shown)):
            overlays.append([z_expression(overlay, fmt, symbolic)])
    return document, view, shown


def page(result: Result, command: str, limit: int | None = None) -> str:
    """The whole page as one HTML text: template, style, script and data inlined."""
    document, view, _ = page_data(result, command, limit)
    filled = _resource("page.html")
    parts = {
        "TITLE": html.escape(view["title"]),
        "STYLE": _resource("page.css"),
        "DOCUMENT": _script_json(document),
        "VIEW": _script_json(json.dumps(view, ensure_ascii=False, separators=(",", ":"))),
        "SCRIPT": _resource("page.js"),
    }
    # one pass: text put in is never searched again
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], filled)


def cap_note(result: Result, limit: int | None = None) -> str | None:
    """The note for stderr when the page holds only the first overlays, else None."""
    count = result.problem.geom.overlay_count
    held = overlays_held(result, limit)
    if held == count:
        return None
    return (
        f"the page holds overlays 1-{held} of {count} (it stays responsive that way); "
        f"every overlay is in --json --overlays all"
    )
