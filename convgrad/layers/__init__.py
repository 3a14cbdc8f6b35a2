"""Layer kinds, one module each behind the ``LayerKind`` protocol (see base.py and
docs/adding-a-layer-kind.md), and the registry of them by name."""

from __future__ import annotations

from . import conv, conv_transpose, dense, flatten
from .activation import ACTIVATIONS, Activation
from .base import (
    Column,
    ColumnKind,
    Factor,
    Gradients,
    LayerKind,
    NoiseScales,
    Overlay,
    Record,
    Takes,
    Term,
    Totals,
)
from .pool import POOLS, Pool

KINDS: dict[str, LayerKind | ColumnKind] = {
    conv.name: conv,
    **{kind.name: kind for kind in ACTIVATIONS},
    conv_transpose.name: conv_transpose,
    **{kind.name: kind for kind in POOLS},
    flatten.name: flatten,
    dense.name: dense,
}
"""Every layer kind by its name, the value of a problem's "layer" key (default "conv").

Convolution is a ``LayerKind`` module with its own views; every later kind is a
``ColumnKind``: it declares what it takes and its overlay's columns, and the
shared parser, API and views handle the rest (docs/adding-a-layer-kind.md)."""

DEFAULT_KIND = conv.name


def kind_names() -> str:
    """The valid kinds, for messages: "conv, relu, leaky-relu, sigmoid, tanh"."""
    return ", ".join(KINDS)


__all__ = [
    "DEFAULT_KIND",
    "KINDS",
    "Activation",
    "Column",
    "ColumnKind",
    "Factor",
    "Gradients",
    "LayerKind",
    "NoiseScales",
    "Overlay",
    "Pool",
    "Record",
    "Takes",
    "Term",
    "Totals",
    "conv",
    "conv_transpose",
    "dense",
    "flatten",
    "kind_names",
]
