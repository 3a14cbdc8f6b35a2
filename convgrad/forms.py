"""The user's array forms and layouts, and conversion to and from the engine's canonical form.

Forms (d spatial dims, k kernel, C channels, N batch):

=========== ======================= ======================== ========================
form        A_prev / Z / dZ         W                        window-shaped (A_slice..)
=========== ======================= ======================== ========================
bare        (*spatial)              (*k)                     (*k)
channels-   (C, *spatial) or        (C_out, C_in/G, *k)      (C_in/G, *k)
first       (N, C, *spatial)
channels-   (*spatial, C) or        (*k, C_in/G, C_out)      (*k, C_in/G)
last        (N, *spatial, C)
=========== ======================= ======================== ========================

Canonical (engine) form: A_prev (N, C_in, *spatial), W (C_out, C_in/G, *k), b (C_out,).
A transposed convolution's W is (C_in, C_out/G, *k), channels-last (*k, C_out/G, C_in)
(PyTorch's and TensorFlow's orders); the same axis moves convert it, to (C_in, C_out/G, *k).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SPATIAL_LETTERS = {1: "W", 2: "HW", 3: "DHW"}

BARE = "bare"
UNBATCHED = "unbatched"
BATCHED = "batched"


@dataclass(frozen=True)
class Form:
    """kind: "bare", "unbatched" or "batched"; channels_last: TensorFlow order; dims: spatial rank.

    bias_shape: the shape b was given in when it is not (C_out,): every axis of size 1 but
    one, which holds the C_out values (Coursera's (1, 1, 1, C_out), PyTorch-style (C_out, 1, 1));
    b and db are returned in it. None: (C_out,), or a scalar in the bare form.
    transposed: W in a transposed convolution's channel order, (C_in, C_out/G, *k) or channels-last
    (*k, C_out/G, C_in). The same axis moves convert either order, so only the words differ.
    """

    kind: str
    channels_last: bool
    dims: int
    bias_shape: tuple[int, ...] | None = None
    transposed: bool = False

    @property
    def layout(self) -> str:
        """The layout's letters for this rank (NCHW, NWC, NCDHW, ...)."""
        spatial = SPATIAL_LETTERS.get(self.dims, "S" * self.dims)
        return f"N{spatial}C" if self.channels_last else f"NC{spatial}"

    # -- shapes in words, for messages ---------------------------------------------------

    def describe(self, role: str) -> str:
        """The shape a role's array must have in this form, in symbols."""
        sp = "*spatial"
        if self.kind == BARE:
            return {"A_prev": f"({sp})", "W": "(*k)", "dZ": "(*out)", "b": "a scalar"}[role]
        batch = "N, " if self.kind == BATCHED else ""
        if role == "W" and self.transposed:
            return "(*k, C_out/groups, C_in)" if self.channels_last else "(C_in, C_out/groups, *k)"
        if role == "W":
            return "(*k, C_in/groups, C_out)" if self.channels_last else "(C_out, C_in/groups, *k)"
        if role == "b":
            return "(C_out,), a scalar, or C_out with axes of size 1 around it"
        chan = "C_in" if role == "A_prev" else "C_out"
        sp = "*spatial" if role == "A_prev" else "*out"
        return f"({batch}{sp}, {chan})" if self.channels_last else f"({batch}{chan}, {sp})"

    # -- user -> canonical ----------------------------------------------------------------

    def activation_to_canonical(self, array: np.ndarray) -> np.ndarray:
        """A_prev, Z or dZ in this form -> (N, C, *spatial)."""
        if self.kind == BARE:
            return array.reshape((1, 1) + array.shape)
        if self.kind == UNBATCHED:
            array = array[np.newaxis]
        return np.moveaxis(array, -1, 1) if self.channels_last else array

    def kernel_to_canonical(self, array: np.ndarray) -> np.ndarray:
        """W in this form -> (C_out, C_in/G, *k)."""
        if self.kind == BARE:
            return array.reshape((1, 1) + array.shape)
        if self.channels_last:
            d = self.dims
            return array.transpose((d + 1, d) + tuple(range(d)))
        return array

    # -- canonical -> user ----------------------------------------------------------------

    def activation_from_canonical(self, array: np.ndarray) -> np.ndarray:
        """(N, C, *spatial) -> this form."""
        if self.kind == BARE:
            return array[0, 0]
        if self.channels_last:
            array = np.moveaxis(array, 1, -1)
        return array[0] if self.kind == UNBATCHED else array

    def kernel_from_canonical(self, array: np.ndarray) -> np.ndarray:
        """(C_out, C_in/G, *k) -> this form."""
        if self.kind == BARE:
            return array[0, 0]
        if self.channels_last:
            d = self.dims
            return array.transpose(tuple(range(2, d + 2)) + (1, 0))
        return array

    def window_from_canonical(self, array: np.ndarray) -> np.ndarray:
        """(C_in/G, *k) -> this form: (*k) bare, (*k, C_in/G) channels-last."""
        if self.kind == BARE:
            return array[0]
        return np.moveaxis(array, 0, -1) if self.channels_last else array

    def bias_from_canonical(self, array: np.ndarray) -> Any:
        """(C_out,) -> a scalar in the bare form, the given bias shape if any, else (C_out,)."""
        if self.kind == BARE:
            return array[0]
        return array.reshape(self.bias_shape) if self.bias_shape is not None else array

    # -- single indices ---------------------------------------------------------------------

    def activation_index(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """A canonical (n, c, *spatial) index -> the index of the same entry in this form."""
        n, c, spatial = index[0], index[1], tuple(index[2:])
        if self.kind == BARE:
            return spatial
        inner = spatial + (c,) if self.channels_last else (c,) + spatial
        return inner if self.kind == UNBATCHED else (n,) + inner

    def activation_index_to_canonical(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """An index into A_prev, Z or dZ as given -> canonical (n, c, *spatial)."""
        if self.kind == BARE:
            return (0, 0) + tuple(index)
        if self.kind == UNBATCHED:
            index = (0,) + tuple(index)
        if self.channels_last:
            return (index[0], index[-1]) + tuple(index[1:-1])
        return tuple(index)

    def kernel_index(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """A canonical (c_out, c_in, *k) index -> the index of the same weight in this form."""
        c_out, c_in, taps = index[0], index[1], tuple(index[2:])
        if self.kind == BARE:
            return taps
        return taps + (c_in, c_out) if self.channels_last else (c_out, c_in) + taps

    def kernel_index_to_canonical(self, index: tuple[int, ...]) -> tuple[int, ...]:
        if self.kind == BARE:
            return (0, 0) + tuple(index)
        if self.channels_last:
            return (index[-1], index[-2]) + tuple(index[:-2])
        return tuple(index)

    def bias_index(self, c_out: int) -> tuple[int, ...]:
        """A filter's number -> the index of its bias in this form."""
        if self.kind == BARE:
            return ()
        if self.bias_shape is None:
            return (c_out,)
        axis = bias_axis(self.bias_shape)
        return tuple(c_out if i == axis else 0 for i in range(len(self.bias_shape)))

    def bias_index_to_canonical(self, index: tuple[int, ...]) -> int:
        """An index into b or db as given -> the filter's number."""
        if self.kind == BARE or not index:
            return 0
        if self.bias_shape is None:
            return index[0]
        return index[bias_axis(self.bias_shape)]


def bias_axis(shape: tuple[int, ...]) -> int:
    """The axis of a bias shape that holds the filters: the one longer than 1 (the last when all are 1)."""
    long = [i for i, n in enumerate(shape) if n != 1]
    return long[0] if long else len(shape) - 1


def parse_layout(text: str) -> bool | None:
    """True for a channels-last name, False for channels-first, None if not a layout.

    Accepts channels_first / channels_last (any of - _ or space) and letter
    names for any rank, with or without the batch letter: NCHW, NCW, NCL,
    NCDHW, CHW (first); NHWC, NWC, NLC, NDHWC, HWC (last).
    """
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    if key in ("channels_first", "first"):
        return False
    if key in ("channels_last", "last"):
        return True
    letters = text.strip().upper()
    if not letters.isalpha() or letters.count("C") != 1 or len(letters) < 2:
        return None
    body = letters[1:] if letters.startswith("N") else letters
    if not body or "N" in body:
        return None
    if body.startswith("C") and len(body) > 1:
        return False
    if body.endswith("C") and len(body) > 1:
        return True
    return None
