"""Layer kinds, one module each behind the ``LayerKind`` protocol (see base.py and
docs/adding-a-layer-kind.md), and the registry of them by name."""

from __future__ import annotations

from . import conv
from .base import Factor, Gradients, LayerKind, NoiseScales, Overlay, Term, Totals

KINDS: dict[str, LayerKind] = {conv.name: conv}
"""Every layer kind by its name in problems."""


def kind_named(name: str) -> LayerKind:
    """The layer kind called ``name``; KeyError names the known kinds."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"no layer kind {name!r}; known: {', '.join(sorted(KINDS))}") from None


__all__ = ["KINDS", "Factor", "Gradients", "LayerKind", "NoiseScales", "Overlay", "Term", "Totals", "conv",
           "kind_named"]
