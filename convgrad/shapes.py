"""Shape arithmetic beyond the output size: how many parameters a layer has, against the layers
it could have been. Pure functions of the geometry; no I/O, no text."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from .geometry import Geometry


@dataclass(frozen=True)
class ParameterCounts:
    """One kind of parameter (weights or biases) in three layers over the same input and output:
    this convolution (kernels shared across positions), a locally connected layer (a kernel per
    output position) and a dense layer (every input to every output)."""

    conv: int
    locally_connected: int
    dense: int


@dataclass(frozen=True)
class LayerCounts:
    """weights, biases: the counts above, for one sample. kernel_size: weights of one filter
    (C_in/groups · prod(k)); positions: output positions per filter (prod of the output size);
    inputs: C_in · prod(n); outputs: C_out · positions. unreached: per spatial dim, the A_prev
    indices no window tap reaches (a stride's leftover at the end, or gaps)."""

    weights: ParameterCounts
    biases: ParameterCounts
    kernel_size: int
    positions: int
    inputs: int
    outputs: int
    unreached: tuple[tuple[int, ...], ...] = ()


def layer_counts(geom: Geometry) -> LayerCounts:
    """Weights and biases of this layer against a locally connected and a dense layer over the same
    input and output (one sample): the saving weight sharing makes."""
    kernel = geom.in_per_group * prod(geom.kernel_size)
    positions = prod(geom.output_size)
    inputs = geom.in_channels * prod(geom.input_size)
    outputs = geom.out_channels * positions
    return LayerCounts(
        weights=ParameterCounts(
            conv=geom.out_channels * kernel,
            locally_connected=geom.out_channels * kernel * positions,
            dense=inputs * outputs,
        ),
        biases=ParameterCounts(conv=geom.out_channels, locally_connected=outputs, dense=outputs),
        kernel_size=kernel,
        positions=positions,
        inputs=inputs,
        outputs=outputs,
        unreached=tuple(tuple(i for i, hit in enumerate(axis) if not hit) for axis in geom.covered()),
    )
