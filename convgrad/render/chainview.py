"""A chain's views: the forward walk first to last, the loss, the backward walk last to first, a
summary table; and its JSON document and JSON lines.

Each layer is shown by the single-layer views (``human.render``, ``jsonout.overlay_texts``) on its
own ``Result``; this module adds what belongs to the chain: the sections, where each dZ came from,
the loss, the summary. Functions return rich renderables or write JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

import numpy as np
from rich import box
from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ..api import Result
from ..chains import ChainResult, Join, join_object
from ..forms import BARE
from .jsonout import dumps, overlay_texts, totals_object
from .text import Style, shape_text

#: Chooses a layer's overlays: (layer number, its Result) -> overlay indices.
Chooser = Callable[[int, Result], Iterable[int]]


def chain_header(chain: ChainResult, command: str) -> Text:
    """Two lines: the pass, the kinds in order and the layout; then the shapes through the chain."""
    forward = chain.forward_layers
    first = [command, f"chain of {len(chain.kinds)} layers", " → ".join(chain.kinds)]
    form = forward[0].problem.form
    if form.kind != BARE:
        first.append(form.layout)
    first_problem = forward[0].problem
    shapes = [f"A_prev {shape_text(np.shape(first_problem.form.activation_from_canonical(first_problem.A_prev)))}"]
    shapes += [f"{kind} {shape_text(np.shape(result.Z))}" for kind, result in zip(chain.kinds, forward)]
    text = Text(" · ".join(first), style="bold")
    text.append("\n" + " → ".join(shapes))
    loss = chain.chain.loss
    if loss is not None and chain.is_backward:
        text.append(f" → loss {loss_words(loss)}")
    text.no_wrap, text.overflow = True, "ignore"
    return text


def loss_words(loss: Any) -> str:
    """ "softmax-cross-entropy (mean)"."""
    return f"{loss.kind} ({loss.reduction})"


def _layer_rule(k: int, n: int, kind: str) -> Rule:
    return Rule(f"Layer {k} of {n}: {kind}", align="left", style="dim")


def render(
    chain: ChainResult,
    shown: Sequence[int],
    choose: Chooser,
    console: Console,
    *,
    precision: int | None = None,
    view: str = "auto",
    command: str = "backward",
    explain: bool = False,
) -> Iterator[RenderableType]:
    """The human view of a chain, in print order. ``shown``: 0-based layers to draw (all are computed)."""
    from .human import render as render_layer

    n = len(chain.kinds)
    yield Group(chain_header(chain, command))
    for note in chain.notes:
        yield Text(f"({note})", style="italic")
    yield Text("")
    yield Rule("Forward, first to last", style="bold")
    for i in shown:
        result = chain.forward_layers[i]
        yield Text("")
        yield _layer_rule(i + 1, n, chain.kinds[i])
        if explain and i > 0:
            yield Text(_forward_join_text(chain, i), style="italic")
        for item in render_layer(
            result.for_display(),
            choose(i + 1, result),
            console,
            precision=precision,
            view=view,
            command="forward",
            explain=explain,
        ):
            yield item
    if chain.is_backward:
        yield Text("")
        yield Rule("Backward, last to first", style="bold")
        yield from _loss_section(chain, precision, console.width, explain)
        for i in reversed(shown):
            result = chain.layers[i]
            join = chain.joins[i]
            yield Text("")
            yield _layer_rule(i + 1, n, chain.kinds[i])
            yield Text(join.sentence(chain.kinds), style="bold")
            if explain:
                yield Text(_backward_join_text(chain, join), style="italic")
            for item in render_layer(
                result.for_display(),
                choose(i + 1, result),
                console,
                precision=precision,
                view=view,
                command="backward",
                explain=explain,
            ):
                yield item
    yield Text("")
    yield Rule("Summary", style="bold")
    yield summary_table(chain)


def _loss_section(chain: ChainResult, precision: int | None, width: int, explain: bool) -> Iterator[RenderableType]:
    """The first step of the backward walk: the loss's value and its gradient (or the dZ given)."""
    domain = chain.chain.domain
    style = Style(lambda x, scale=None: domain.format(x, precision), width, domain.name == "symbolic")
    loss = chain.chain.loss
    yield Text("")
    n = len(chain.kinds)
    if loss is None:
        yield Rule("The chain's dZ (given)", align="left", style="dim")
        yield Text(f"dZ of layer {n} ({chain.kinds[-1]}), the upstream gradient of the chain's output:")
        assert chain.dZ is not None
        yield Text(grid_text(np.asarray(chain.dZ, dtype=object), style))
        return
    yield Rule(f"Loss: {loss_words(loss)}", align="left", style="dim")
    yield Text(loss.sentence, style="italic")
    yield Text(f"L = {domain.format(chain.loss, precision)}", style="bold")
    yield Text(f"dL/dZ of layer {n} ({chain.kinds[-1]}):")
    yield Text(grid_text(np.asarray(chain.loss_gradient, dtype=object), style))


def grid_text(array: np.ndarray, style: Style) -> str:
    """Rows of the last axis, right-aligned; leading axes as [i, j] headings; a vector on one line."""
    if array.ndim <= 1:
        return "  ".join(style.fmt(v) for v in array.reshape(-1))
    cells = np.vectorize(style.fmt, otypes=[object])(array)
    width = max(len(cell) for cell in cells.reshape(-1))
    lines = []
    for lead in np.ndindex(*array.shape[:-2]):
        if lead:
            lines.append(f"[{', '.join(map(str, lead))}]")
        lines.extend("  ".join(cell.rjust(width) for cell in row) for row in cells[lead])
    return "\n".join(lines)


def _forward_join_text(chain: ChainResult, i: int) -> str:
    """--explain: the forward join into layer i (0-based, i > 0)."""
    before = chain.forward_layers[i - 1]
    return (
        f"The input of layer {i + 1} ({chain.kinds[i]}) is the output of layer {i} ({chain.kinds[i - 1]}): "
        f"A_prev here is that layer's Z, shape {shape_text(np.shape(before.Z))}, entry for entry."
    )


def _backward_join_text(chain: ChainResult, join: Join) -> str:
    """--explain: why this layer's dZ is what it is (the chain rule at the join)."""
    k = join.layer
    if join.source == "loss":
        return (
            f"The backward walk starts at the loss: dZ of the last layer is dL/dZ, the gradient of the loss "
            f"with respect to layer {k}'s output, shape {shape_text(join.shape)}."
        )
    if join.source == "dZ":
        return f"The backward walk starts from the dZ given: the upstream gradient of layer {k}'s output."
    text = (
        f"Layer {k}'s output Z is the input A_prev of layer {join.source_layer} ({join.source_kind}), so by the "
        f"chain rule dL/dZ of layer {k} is dL/dA_prev of layer {join.source_layer}, entry for entry: "
        f"each entry of Z reaches the loss only through that input."
    )
    if join.reshaped_from is not None:
        source = chain.layers[(join.source_layer or 1) - 1].problem
        order = source.params.get("order")
        text += (
            f" Layer {join.source_layer} ({join.source_kind}) only moves entries, so its dA_prev is its dZ "
            f"{shape_text(join.reshaped_from)} put back in the shape of its input, {shape_text(join.shape)}, "
            + (f"in its {order} order." if order else "in the order it flattened them.")
        )
    return text


def summary_table(chain: ChainResult) -> Table:
    """Per layer: its kind, shapes, the gradients it produced and where its dZ came from (shapes as 2x4x4)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", padding=(0, 1))
    titles = ["#", "kind", "A_prev", "Z", "W, b"] + (["gradients", "dZ from"] if chain.is_backward else [])
    for title in titles:
        table.add_column(title, justify="right" if title == "#" else "left", no_wrap=True)
    for k, (result, join) in enumerate(zip(chain.layers, chain.joins), start=1):
        shapes = result.problem.user_shapes
        weights = f"{_compact(shapes['W'])}, {_compact(shapes['b'])}" if result.problem.has_weights else "-"
        row = [str(k), chain.kinds[k - 1], _compact(shapes["A_prev"]), _compact(shapes["Z"]), weights]
        if chain.is_backward:
            row.append("dW db dA_prev" if result.problem.has_weights else "dA_prev")
            row.append(_source_text(join))
        table.add_row(*row)
    return table


def _compact(shape: Sequence[int]) -> str:
    """2x4x4; a scalar is "1"."""
    return "x".join(map(str, shape)) if len(shape) else "1"


def _source_text(join: Join) -> str:
    if join.source == "layer":
        return f"layer {join.source_layer}" + (" reshaped" if join.reshaped_from is not None else "")
    return "the loss" if join.source == "loss" else "given"


# -- JSON ---------------------------------------------------------------------------------------------


def chain_config(chain: ChainResult) -> dict[str, Any]:
    """The chain's own configuration: its kinds, layout and number domain."""
    first = chain.forward_layers[0].problem
    return {
        "layer_count": len(chain.kinds),
        "kinds": list(chain.kinds),
        "form": first.form.kind,
        "layout": first.form.layout,
        "numbers": chain.chain.domain.name,
    }


def layer_fields(chain: ChainResult, i: int) -> dict[str, Any]:
    """Layer i's (0-based) totals, where its dZ came from and its configuration."""
    result = chain.layers[i]
    fields: dict[str, Any] = {"layer": i + 1, "kind": chain.kinds[i], **totals_object(result)}
    if chain.is_backward:
        fields["dZ_from"] = join_object(chain.joins[i])
    fields["config"] = result.config
    return fields


def document_chunks(chain: ChainResult, shown: Sequence[int], choose: Chooser) -> Iterator[str]:
    """The JSON document: the loss, the chain's configuration, then every layer (overlays of the shown ones)."""
    yield "{\n"
    yield f'  "loss": {dumps(chain.loss_object())},\n'
    yield f'  "config": {dumps(chain_config(chain))},\n'
    yield '  "layers": ['
    for i in range(len(chain.kinds)):
        fields = layer_fields(chain, i)
        yield ("\n    {" if i == 0 else ",\n    {") + ", ".join(
            f"{json.dumps(key)}: {dumps(value)}" for key, value in fields.items()
        )
        yield ', "overlays": ['
        if i in shown:
            result = chain.layers[i]
            first = True
            for text in overlay_texts(result, choose(i + 1, result)):
                yield ("\n      " if first else ",\n      ") + text
                first = False
            yield "]}" if first else "\n    ]}"
        else:
            yield "]}"
    yield "\n  ]\n}\n"


def write_document(chain: ChainResult, shown: Sequence[int], choose: Chooser, stream: IO[str]) -> None:
    for chunk in document_chunks(chain, shown, choose):
        stream.write(chunk)


def write_lines(chain: ChainResult, shown: Sequence[int], choose: Chooser, stream: IO[str]) -> None:
    """JSON lines, first layer to last: each shown layer's overlays tagged with its layer number, then
    that layer's totals line; last the chain's line (loss and configuration)."""
    for i in shown:
        result = chain.layers[i]
        tag = f'{{"layer": {i + 1}, '
        for text in overlay_texts(result, choose(i + 1, result)):
            stream.write(tag + text[1:] + "\n")
        fields = layer_fields(chain, i)
        layer = {"layer": fields.pop("layer"), "kind": fields.pop("kind")}
        config = fields.pop("config")
        dZ_from = fields.pop("dZ_from", None)
        line = {**layer, "totals": fields, "config": config}
        if dZ_from is not None:
            line["dZ_from"] = dZ_from
        stream.write(dumps(line) + "\n")
    stream.write(dumps({"loss": chain.loss_object(), "config": chain_config(chain)}) + "\n")
