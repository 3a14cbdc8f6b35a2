"""Layer kinds, one module each behind the ``LayerKind`` protocol (see base.py and
docs/adding-a-layer-kind.md), and the registry of them by name."""

from __future__ import annotations

from . import conv
from .base import Factor, Gradients, LayerKind, NoiseScales, Overlay, Term, Totals

KINDS: dict[str, LayerKind] = {conv.name: conv}
"""Every layer kind by its name (today convolution alone: problems do not name a kind yet)."""

__all__ = ["KINDS", "Factor", "Gradients", "LayerKind", "NoiseScales", "Overlay", "Term", "Totals", "conv"]
