"""check, gradcheck and shape of a chain: renderables for the terminal and objects for --json.

Each layer's check is the one-layer view (``checkview``) under a heading naming the layer; the
gradcheck and shape tables have one row per layer (and quantity)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich import box
from rich.console import RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ..chains.check import ChainChecker, ChainReport
from ..chains.gradcheck import ChainGradRow
from ..chains.shape import ShapeRow
from .checkview import report_object, report_renderables
from .text import shape_text

# -- check ---------------------------------------------------------------------------------------


def _loss_text(checker: ChainChecker, report: ChainReport) -> Text:
    verdict = report.loss
    assert verdict is not None
    expected = float(verdict.expected)
    if verdict.right:
        return Text(f"loss: {verdict.given.text} ✓ (L = {expected:.10g})", style="green")
    text = Text(f"loss: {verdict.given.text} ✗ should be {expected:.10g}", style="red")
    for key in verdict.mistakes:
        mistake = next(m for m in checker.mistakes() if m.key == key)
        text.append(f"\n  Likely mistake: {mistake.sentence(len(checker.kinds))}.", style="yellow")
    return text


def chain_report_renderables(checker: ChainChecker, report: ChainReport) -> Iterator[RenderableType]:
    """Per layer answered its heading and one-layer report, then the loss, then the verdict."""
    n = len(checker.kinds)
    for k, (layer_report, layer_checker) in enumerate(zip(report.layers, checker.checkers), start=1):
        if layer_report is None:
            continue
        yield Rule(f"Layer {k} of {n}: {checker.kinds[k - 1]}", align="left")
        yield from report_renderables(layer_checker, layer_report)
        yield Text("")
    if report.loss is not None:
        yield _loss_text(checker, report)
        yield Text("")
    answered = sum(r is not None for r in report.layers)
    right = sum(r is not None and r.all_right for r in report.layers)
    if report.all_right:
        verdict = f"All right: {answered} layer{'s' if answered != 1 else ''}" + (
            " and the loss." if report.loss is not None else "."
        )
    else:
        verdict = f"{right} of {answered} layers answered are right" + (
            "" if report.loss is None else f"; the loss is {'right' if report.loss.right else 'wrong'}"
        )
        verdict += "."
    yield Text(verdict, style="bold green" if report.all_right else "bold red")


def chain_report_object(checker: ChainChecker, report: ChainReport) -> dict[str, Any]:
    """{"correct", "loss": {...} or null, "layers": [one-layer report or null, ...]}."""
    loss = None
    if report.loss is not None:
        loss = {
            "given": report.loss.given.value,
            "given_text": report.loss.given.text,
            "expected": report.loss.expected,
            "right": report.loss.right,
            "mark": report.loss.mark,
            "mistakes": list(report.loss.mistakes),
        }
    layers: list[Any] = []
    for k, (layer_report, layer_checker) in enumerate(zip(report.layers, checker.checkers), start=1):
        if layer_report is None:
            layers.append(None)
            continue
        layers.append({"layer": k, "kind": checker.kinds[k - 1], **report_object(layer_report, layer_checker)})
    return {"correct": report.all_right, "loss": loss, "layers": layers}


# -- gradcheck -----------------------------------------------------------------------------------


def chain_gradcheck_renderables(
    rows: list[ChainGradRow], *, exact: bool, step: Any, rtol: float, passed: bool, with_loss: bool
) -> list[RenderableType]:
    how = f"exact rationals, step {step}" if exact else f"float64, step {step}"
    what = "the chain's loss L" if with_loss else "L = sum(dZ · Z) of the last layer"
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for title in ("layer", "quantity", "entries", "max abs error", "max rel error", ""):
        table.add_column(title, justify="left" if title in ("layer", "quantity", "") else "right", no_wrap=True)
    for row in rows:
        checked = f"{row.checked}" if row.checked == row.total else f"{row.checked} of {row.total}"
        table.add_row(
            f"{row.layer} {row.kind}",
            row.quantity,
            checked,
            f"{row.max_abs:.3g}",
            f"{row.max_rel:.3g}",
            "ok" if row.passed else "FAILED",
        )
    shown: list[RenderableType] = [
        Text(f"gradcheck of a chain: {what}, central differences ({how})", style="bold"),
        table,
        Text("dA_prev is the gradient of the chain's input, layer 1's A_prev."),
    ]
    skipped = sum(row.skipped for row in rows)
    if skipped:
        shown.append(
            Text(
                f"{skipped} entr{'ies' if skipped != 1 else 'y'} skipped: the step moved a ReLU across its kink or "
                "changed which entry a max-pool window picks, where a difference quotient measures neither side."
            )
        )
    if exact:
        verdict = "The difference quotients equal the gradients exactly." if passed else "Some quotients differ."
    else:
        shown.append(
            Text(
                f"An entry passes when |error| <= {rtol:g} · max(|gradient|, |quotient|) + the rounding the "
                "quotient itself carries (64·eps·scale/step)."
            )
        )
        verdict = "Passed." if passed else "FAILED: an error is above the tolerance."
    shown.append(Text(verdict, style="bold green" if passed else "bold red"))
    return shown


def chain_gradcheck_object(rows: list[ChainGradRow], rtol: float, passed: bool) -> dict[str, Any]:
    return {
        "passed": passed,
        "rtol": rtol,
        "layers": [
            {
                "layer": row.layer,
                "kind": row.kind,
                "quantity": row.quantity,
                "checked": row.checked,
                "total": row.total,
                "skipped": row.skipped,
                "max_abs_error": row.max_abs,
                "max_rel_error": row.max_rel,
                "passed": row.passed,
                "worst_index": None if row.worst_index is None else list(row.worst_index),
            }
            for row in rows
        ],
    }


# -- shape ---------------------------------------------------------------------------------------


def _compact(shape: tuple[int, ...]) -> str:
    """(2,1,4,4): a shape without spaces, so that the table fits 80 columns."""
    return "(" + ",".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def chain_shape_renderables(rows: list[ShapeRow]) -> list[RenderableType]:
    first = rows[0]
    path = " → ".join(
        [f"A_prev {shape_text(list(first.A_prev))}"] + [f"{r.kind} {shape_text(list(r.Z))}" for r in rows]
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for title in ("#", "kind", "A_prev", "Z", "W", "b", "params", "overlays"):
        table.add_column(title, justify="right" if title in ("#", "params", "overlays") else "left", no_wrap=True)
    for r in rows:
        table.add_row(
            str(r.layer),
            r.kind,
            _compact(r.A_prev),
            _compact(r.Z),
            "" if r.W is None else _compact(r.W),
            "" if r.b is None else _compact(r.b),
            f"{r.parameters:,}",
            f"{r.overlays:,}",
        )
    weights, biases = sum(r.weights for r in rows), sum(r.biases for r in rows)
    return [
        Text(f"chain of {len(rows)} layers: {path}", style="bold"),
        table,
        Text(f"In total: {weights:,} weights and {biases:,} biases, {weights + biases:,} parameters."),
    ]


def chain_shape_object(rows: list[ShapeRow]) -> dict[str, Any]:
    return {
        "layers": [
            {
                "layer": r.layer,
                "kind": r.kind,
                "A_prev": list(r.A_prev),
                "Z": list(r.Z),
                "W": None if r.W is None else list(r.W),
                "b": None if r.b is None else list(r.b),
                "weights": r.weights,
                "biases": r.biases,
                "parameters": r.parameters,
                "overlays": r.overlays,
                "settings": r.settings,
            }
            for r in rows
        ],
        "weights": sum(r.weights for r in rows),
        "biases": sum(r.biases for r in rows),
        "parameters": sum(r.parameters for r in rows),
    }
