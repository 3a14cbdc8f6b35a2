"""A plain-loop convolution, written from the definition and sharing no code with convgrad.

It is the usual course reference: six nested loops, no padding copy (taps
outside the input are skipped), and it works on any number type (floats,
Fractions), so it serves as the exact-rational oracle too.

Canonical shapes: A (N, C_in, *S), W (C_out, C_in/G, *K), b (C_out,) or None,
dZ (N, C_out, *O); stride, dilation: tuples; padding: ((before, after), ...).
"""

from __future__ import annotations

import itertools

import numpy as np


def out_size(S, K, stride, dilation, padding):
    return tuple(
        (n + pb + pa - d * (k - 1) - 1) // s + 1 for n, k, s, d, (pb, pa) in zip(S, K, stride, dilation, padding)
    )


def _taps(pos, tap, stride, dilation, padding):
    return tuple(p * s - pb + d * t for p, t, s, d, (pb, _) in zip(pos, tap, stride, dilation, padding))


def _kernel_index(tap, K, flip):
    return tuple(k - 1 - t for t, k in zip(tap, K)) if flip else tuple(tap)


def reference_forward(A, W, b, stride, dilation, padding, groups=1, flip=False, zero=0):
    N, _C_in = A.shape[:2]
    C_out, C_in_g = W.shape[:2]
    S, K = A.shape[2:], W.shape[2:]
    O = out_size(S, K, stride, dilation, padding)
    C_out_g = C_out // groups
    Z = np.empty((N, C_out) + O, dtype=object)
    for n in range(N):
        for co in range(C_out):
            g = co // C_out_g
            for pos in itertools.product(*(range(o) for o in O)):
                total = zero if b is None else b[co]
                for ci in range(C_in_g):
                    for tap in itertools.product(*(range(k) for k in K)):
                        x = _taps(pos, tap, stride, dilation, padding)
                        if all(0 <= xi < si for xi, si in zip(x, S)):
                            total = total + W[(co, ci) + _kernel_index(tap, K, flip)] * A[(n, g * C_in_g + ci) + x]
                Z[(n, co) + pos] = total
    return Z


def reference_backward(A, W, dZ, stride, dilation, padding, groups=1, flip=False, zero=0):
    N, _C_in = A.shape[:2]
    C_out, C_in_g = W.shape[:2]
    S, K = A.shape[2:], W.shape[2:]
    O = dZ.shape[2:]
    C_out_g = C_out // groups
    dW = np.full(W.shape, zero, dtype=object)
    db = np.full(C_out, zero, dtype=object)
    dA = np.full(A.shape, zero, dtype=object)
    for n in range(N):
        for co in range(C_out):
            g = co // C_out_g
            for pos in itertools.product(*(range(o) for o in O)):
                dz = dZ[(n, co) + pos]
                db[co] = db[co] + dz
                for ci in range(C_in_g):
                    for tap in itertools.product(*(range(k) for k in K)):
                        x = _taps(pos, tap, stride, dilation, padding)
                        if all(0 <= xi < si for xi, si in zip(x, S)):
                            w_index = (co, ci) + _kernel_index(tap, K, flip)
                            a_index = (n, g * C_in_g + ci) + x
                            dW[w_index] = dW[w_index] + dz * A[a_index]
                            dA[a_index] = dA[a_index] + dz * W[w_index]
    return dW, db, dA
