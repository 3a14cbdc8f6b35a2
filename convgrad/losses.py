"""The losses that close a chain of layers: their value and their gradient dL/dZ. Pure: no I/O.

Z is the last layer's output, in the form the target is given in (for cross-entropy (N, classes),
or (classes,) for one sample: the class axis is the last).

============================ ============================================ ===========================
kind                         L                                            dL/dZ
============================ ============================================ ===========================
sum                          Σ Z                (mean: Σ Z / size)        1 (mean: 1/size)
mse                          Σ (Z - T)² / size  (sum: without / size)     2·(Z - T) / size
softmax-cross-entropy        Σ_n -Σ_k T_nk·log softmax(Z_n)_k / N         (softmax(Z_n) - T_n) / N
                             (sum: without / N)                           (sum: without / N)
============================ ============================================ ===========================

The default reduction is "mean" for mse (over every entry, as PyTorch's F.mse_loss) and for
cross-entropy (over the batch, as F.cross_entropy and CS231n's softmax_loss), and "sum" for the
sum loss (its name says so). Cross-entropy takes ``labels`` (one class per sample) or a one-hot
``target`` (PyTorch's class probabilities: any rows of non-negative entries summing to 1).

sum and mse compute exactly with rationals (and names) when Z does; softmax-cross-entropy needs
exp and log, so it computes in float64 (``Loss.rational`` says which).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import InputError
from .numbers import Domain, describe_value, exact_of_float, make_domain
from .problem import to_array

SUM = "sum"
MSE = "mse"
CROSS_ENTROPY = "softmax-cross-entropy"
KINDS = (SUM, MSE, CROSS_ENTROPY)
REDUCTIONS = ("mean", "sum")

#: Other names people use for each kind.
KIND_ALIASES = {
    "mse-loss": MSE,
    "mean-squared-error": MSE,
    "squared-error": MSE,
    "l2": MSE,
    "cross-entropy": CROSS_ENTROPY,
    "crossentropy": CROSS_ENTROPY,
    "ce": CROSS_ENTROPY,
    "softmax": CROSS_ENTROPY,
    "softmax-ce": CROSS_ENTROPY,
    "softmax-loss": CROSS_ENTROPY,
    "categorical-crossentropy": CROSS_ENTROPY,
    "sparse-categorical-crossentropy": CROSS_ENTROPY,
}
#: The keys a loss object takes, with their other names.
KEYS = {"kind": ("type", "name"), "reduction": (), "target": ("targets", "y_true"), "labels": ("label", "y")}


@dataclass(frozen=True)
class Loss:
    """A validated loss. target: mse's T shaped like Z, or cross-entropy's one-hot (or probability)
    rows (N, classes) as given or made from the labels; labels: cross-entropy's class per sample
    (N,) when given as labels or one-hot rows, else None."""

    kind: str
    reduction: str
    target: np.ndarray | None = None
    labels: np.ndarray | None = None

    @property
    def rational(self) -> bool:
        """Whether exact rationals compute it (sum, mse); cross-entropy needs exp and log."""
        return self.kind != CROSS_ENTROPY

    @property
    def sentence(self) -> str:
        """The loss and its gradient in one line, for the backward walk and --explain."""
        mean = self.reduction == "mean"
        if self.kind == SUM:
            return "L = mean(Z), dL/dZ = 1/size" if mean else "L = sum(Z), dL/dZ = 1"
        if self.kind == MSE:
            if mean:
                return "L = sum((Z - target)²)/size, dL/dZ = 2·(Z - target)/size"
            return "L = sum((Z - target)²), dL/dZ = 2·(Z - target)"
        per = "-log softmax(Z_n)[label_n]" if self.labels is not None else "-Σ_k target_nk·log softmax(Z_n)_k"
        shared = "(softmax(Z) - one-hot)" if self.labels is not None else "(softmax(Z) - target)"
        if mean:
            return f"L = (1/N)·Σ_n {per}, dL/dZ = {shared}/N (N the batch)"
        return f"L = Σ_n {per}, dL/dZ = {shared}"

    def config(self) -> dict[str, Any]:
        """The loss as JSON fields: kind, reduction, and labels or target."""
        obj: dict[str, Any] = {"kind": self.kind, "reduction": self.reduction}
        if self.labels is not None:
            obj["labels"] = [int(y) for y in self.labels]
        elif self.target is not None:
            obj["target"] = self.target
        return obj


# -- parsing -------------------------------------------------------------------------------------


def _word(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{field} must be a word such as {KINDS[0]!r}, got {describe_value(value)}")
    return value.strip().lower().replace("_", "-").replace(" ", "-")


def parse_kind(value: Any) -> str:
    word = _word(value, "loss kind")
    word = KIND_ALIASES.get(word, word)
    if word not in KINDS:
        raise InputError(f"loss kind {describe_value(value)} is not one of: {', '.join(KINDS)}")
    return word


def _fields(value: Mapping[str, Any]) -> dict[str, Any]:
    """The loss object's keys by their canonical names; one line for an unknown key or one given twice."""
    names = {alias: key for key, aliases in KEYS.items() for alias in (key, *aliases)}
    fields: dict[str, Any] = {}
    for raw, entry in value.items():
        key = names.get(raw) if isinstance(raw, str) else None
        if key is None:
            raise InputError(
                f"loss has an unknown key {describe_value(raw)}: a loss takes kind, reduction, target and labels"
            )
        if key in fields:
            raise InputError(f"loss gives {key} twice (as {raw!r} and another name)")
        fields[key] = entry
    return fields


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def parse_loss(value: Any, output_shape: tuple[int, ...], domain: Domain | None = None) -> Loss:
    """A loss from its object form (``{"kind": "mse", "target": ..., "reduction": "sum"}``) or a bare
    kind (``"sum"``), checked against the shape of Z it closes; targets read in ``domain``
    (float64 when None; exact rationals keep mse exact). One line for each mistake."""
    output_shape = tuple(int(n) for n in output_shape)
    fields = {"kind": value} if isinstance(value, str) else _fields(value) if isinstance(value, Mapping) else None
    if fields is None:
        raise InputError(
            f'loss must be a kind such as "sum" or an object such as {{"kind": "mse", "target": [...]}}, '
            f"got {describe_value(value)}"
        )
    if fields.get("kind") is None:
        raise InputError(f"loss has no kind: give one of {', '.join(KINDS)}")
    kind = parse_kind(fields["kind"])
    reduction = _word(fields["reduction"], "loss reduction") if fields.get("reduction") is not None else None
    if reduction is not None and reduction not in REDUCTIONS:
        raise InputError(f"loss reduction {describe_value(fields['reduction'])} is not one of: mean, sum")
    reduction = reduction or (SUM if kind == SUM else "mean")
    domain = domain or make_domain()
    if kind == SUM:
        for key in ("target", "labels"):
            if fields.get(key) is not None:
                raise InputError(f"the sum loss takes no {key}: L = sum(Z) (or its mean)")
        return Loss(kind, reduction)
    if kind == MSE:
        if fields.get("labels") is not None:
            raise InputError("mse takes a target shaped like Z, not labels (labels are for softmax-cross-entropy)")
        if fields.get("target") is None:
            raise InputError(f"mse needs a target shaped like Z {_shape(output_shape)}")
        target = to_array(fields["target"], "loss target", domain)
        if target.shape != output_shape:
            raise InputError(
                f"the mse target has shape {_shape(target.shape)} but Z has shape {_shape(output_shape)}: "
                "the target must be shaped like Z"
            )
        return Loss(kind, reduction, target=target)
    return _cross_entropy(fields, reduction, output_shape, domain)


def _cross_entropy(fields: Mapping[str, Any], reduction: str, shape: tuple[int, ...], domain: Domain) -> Loss:
    """Labels (one class per sample) or a one-hot / probability target of Z's shape."""
    if len(shape) not in (1, 2):
        raise InputError(
            f"softmax-cross-entropy needs Z of shape (N, classes) or (classes,), but Z has shape {_shape(shape)}: "
            "end the chain with a dense layer (after a flatten)"
        )
    batch, classes = (1, shape[0]) if len(shape) == 1 else shape
    if fields.get("labels") is not None and fields.get("target") is not None:
        raise InputError("softmax-cross-entropy takes labels or a one-hot target, not both")
    if fields.get("labels") is None and fields.get("target") is None:
        raise InputError(
            f"softmax-cross-entropy needs labels (one class 0..{classes - 1} per sample, {batch} of them) "
            "or a one-hot target shaped like Z"
        )
    if fields.get("labels") is not None:
        labels = _labels(fields["labels"], batch, classes, one_sample=len(shape) == 1)
        target = np.zeros((batch, classes), dtype=np.float64)
        target[np.arange(batch), labels] = 1.0
        return Loss(CROSS_ENTROPY, reduction, target=target.reshape(shape), labels=labels)
    target = np.asarray(to_array(fields["target"], "loss target", make_domain()), dtype=np.float64)
    if target.shape != shape:
        raise InputError(
            f"the softmax-cross-entropy target has shape {_shape(target.shape)} but Z has shape {_shape(shape)}: "
            "give one one-hot row per sample, or labels"
        )
    rows = target.reshape(batch, classes)
    for n, row in enumerate(rows):
        where = f"loss target[{n}]" if len(shape) == 2 else "loss target"
        if (row < 0).any() or abs(row.sum() - 1) > 1e-9:
            raise InputError(
                f"{where} is not one-hot: each row must be 0s and one 1 (or class probabilities summing to 1), "
                f"got {row.tolist()}"
            )
    one_hot = bool(np.all((rows == 0) | (rows == 1)))
    classes_given = rows.argmax(axis=1) if one_hot else None
    return Loss(CROSS_ENTROPY, reduction, target=target, labels=classes_given)


def _labels(value: Any, batch: int, classes: int, one_sample: bool) -> np.ndarray:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if one_sample and not isinstance(value, (list, tuple)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise InputError(
            f"labels must be a list of {batch} class numbers (one per sample), got {describe_value(value)}"
        )
    if len(value) != batch:
        raise InputError(
            f"labels has {len(value)} entr{'y' if len(value) == 1 else 'ies'} but Z has {batch} "
            f"sample{'s' if batch != 1 else ''} (Z {_shape((batch, classes))}): give one class per sample"
        )
    out = []
    for n, label in enumerate(value):
        number = isinstance(label, (int, float, Decimal, Fraction, np.integer, np.floating)) and not isinstance(
            label, bool
        )
        if not number or not np.isfinite(float(label)) or label != int(label):
            shown = str(label) if number else describe_value(label)
            raise InputError(f"labels[{n}] is {shown}: a label is a whole class number (0 to {classes - 1})")
        if not 0 <= int(label) < classes:
            raise InputError(
                f"labels[{n}] is {int(label)}, out of range: Z has {classes} class{'es' if classes != 1 else ''} "
                f"(0 to {classes - 1})"
            )
        out.append(int(label))
    return np.array(out, dtype=np.int64)


# -- value and gradient --------------------------------------------------------------------------


def _exact_like(target: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """The target in Z's number type: a float target meets exact Z as the decimal it was typed as."""
    if Z.dtype == object and target.dtype != object:
        return np.vectorize(exact_of_float, otypes=[object])(target)
    return target


def _one(value: Any) -> Any:
    """1 of value's own number type (1.0, Fraction(1), sympy's 1)."""
    return 1.0 if isinstance(value, (float, np.floating)) else value - value + 1


def _total(array: np.ndarray) -> Any:
    """The sum of every entry, left to right (object arrays too)."""
    flat = array.reshape(-1)
    return flat.sum() if array.dtype != object else sum(flat[1:], flat[0])


def _floats(Z: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(Z, dtype=np.float64)
    except TypeError as error:
        raise InputError(
            "softmax-cross-entropy needs numbers (exp and log): Z holds names", hint="leave out --symbolic"
        ) from error


def _softmax_rows(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row (the last axis the classes): softmax and log softmax, shifted by the row's maximum."""
    rows = Z.reshape(-1, Z.shape[-1])
    shifted = rows - rows.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_softmax = shifted - log_norm
    return np.exp(log_softmax), log_softmax


def _count(loss: Loss, Z: np.ndarray) -> int:
    """What the mean divides by: every entry (sum, mse), the batch (cross-entropy); 1 for "sum"."""
    if loss.reduction == SUM:
        return 1
    if loss.kind == CROSS_ENTROPY:
        return 1 if Z.ndim == 1 else Z.shape[0]
    return Z.size


def loss_value(loss: Loss, Z: np.ndarray) -> Any:
    """L at Z: exact (a Fraction, or an expression) for sum and mse when Z is, else a float."""
    Z = np.asarray(Z)
    count = _count(loss, Z)
    if loss.kind == SUM:
        total = _total(Z)
        return total if count == 1 else (total * Fraction(1, count) if Z.dtype == object else total / count)
    if loss.kind == MSE:
        assert loss.target is not None
        diff = Z - _exact_like(loss.target, Z)
        total = _total(diff * diff)
        return total if count == 1 else (total * Fraction(1, count) if Z.dtype == object else total / count)
    assert loss.target is not None
    _, log_softmax = _softmax_rows(_floats(Z))
    return float(-(loss.target.reshape(log_softmax.shape) * log_softmax).sum() / count)


def loss_gradient(loss: Loss, Z: np.ndarray) -> np.ndarray:
    """dL/dZ, shaped like Z: exact for sum and mse when Z is, float64 for cross-entropy."""
    Z = np.asarray(Z)
    count = _count(loss, Z)
    if loss.kind == SUM:
        if Z.dtype != object:
            return np.full(Z.shape, 1.0 / count, dtype=Z.dtype)
        out = np.empty(Z.shape, dtype=object)
        for index, z in np.ndenumerate(Z):
            out[index] = _one(z) * Fraction(1, count)
        return out
    if loss.kind == MSE:
        assert loss.target is not None
        diff = Z - _exact_like(loss.target, Z)
        if Z.dtype != object:
            return 2 * diff / count
        return diff * Fraction(2, count)
    assert loss.target is not None
    softmax, _ = _softmax_rows(_floats(Z))
    return ((softmax - loss.target.reshape(softmax.shape)) / count).reshape(Z.shape)
