"""The Python API is safe in a notebook: a Result keeps its own frozen copies of the inputs, masked
arrays are refused, and every error the API raises is one of convgrad's own exception types."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import convgrad
from convgrad.errors import ConvgradError, InputError


def test_changing_W_after_the_call_changes_nothing():
    """The reproducer: after W -= 0.1 * r.dW, list(r.overlays()) and r.Z still describe the original problem."""
    A, W, dZ = np.arange(6.0), np.array([0.5, -1.0]), np.ones(5)
    r = convgrad.backward(A, W, dZ)
    Z, overlays = r.Z.copy(), [(o.Z, o.kernel.copy()) for o in r.overlays()]
    W -= 0.1 * r.dW
    A *= 10
    dZ[:] = 7
    assert np.array_equal(r.Z, Z)
    again = [(o.Z, o.kernel) for o in r.overlays()]
    assert all(z == z2 and np.array_equal(k, k2) for (z, k), (z2, k2) in zip(overlays, again))


def test_changing_A_after_a_forward_pass_changes_nothing():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    r = convgrad.forward(A, [[1.0]])
    A *= 10
    assert r.Z.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert [o.Z for o in r.overlays()] == [1.0, 2.0, 3.0, 4.0]


def test_results_are_read_only():
    r = convgrad.backward(np.arange(4.0), np.ones(2), np.ones(3))
    for array in (r.Z, r.dW, r.dA_prev, r.problem.W, r.problem.A_prev):
        with pytest.raises(ValueError):
            array[0] = 99.0


def test_masked_arrays_are_refused_in_one_line():
    masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    with pytest.raises(InputError, match="masked array") as info:
        convgrad.forward(masked, [1.0, 1.0])
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="W is a masked array"):
        convgrad.forward([1.0, 2.0, 3.0], np.ma.masked_array([1.0, 1.0]))


@pytest.mark.parametrize(
    "call",
    [
        lambda: convgrad.backward([10**5000, 2, 3], [1, 1], [1, 1]),  # the reproducer: a bare ValueError before
        lambda: convgrad.backward([1, 2, 3], [1, 1], [1, 1], b=Decimal("sNaN")),  # the other reproducer
        lambda: convgrad.backward([1, 2, 3], [1, 1], [1, 1], b=Decimal("1e-999999999")),
        lambda: convgrad.forward([1, 2, 3], [1, 1], stride=float("nan")),
        lambda: convgrad.forward([1, 2, 3], [1, 1], stride=10**5000),
        lambda: convgrad.forward([1, 2, 3], [1, 1], dilation=10**40),
        lambda: convgrad.forward([1, 2, 3], [1, 1], padding=[[1]]),
        lambda: convgrad.forward([1, 2, 3], [1, 1], bogus=1),
        lambda: convgrad.forward(object(), [1, 1]),
        lambda: convgrad.forward([1, 2, 3], np.array(["a", "b"])),
        lambda: convgrad.forward([1, 2, 3], np.array([1 + 2j, 1])),
        lambda: convgrad.forward([1, 2, 3], [1, 1], mode=3),
        lambda: convgrad.forward([1, 2, 3], [1, Fraction(10**5000, 3)]),
        lambda: convgrad.forward([10**400, 1], [1]),
        lambda: convgrad.forward([1e308, 1e308], [10.0]).Z,
        lambda: convgrad.forward([1, 2, 3], ["1/0", 1]),
        lambda: list(convgrad.forward([1, 2, 3], [1, 1]).walk([0])),
        lambda: list(convgrad.forward([1, 2, 3], [1, 1]).overlays("bogus")),
        lambda: convgrad.forward({"shape": [3]}, {"shape": [2]}, b={"shape": [], "prefix": "os.system"}, symbolic=True),
        lambda: convgrad.forward([[1, 2], [3]], [1, 1]),
        lambda: convgrad.forward(np.array([np.nan, 1.0]), [1.0]),
    ],
)
def test_api_errors_are_convgrads_own(call):
    with pytest.raises(ConvgradError):
        call()
