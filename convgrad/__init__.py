"""convgrad: forward and backward through the layers of a CNN, overlay by overlay.

    >>> import convgrad
    >>> r = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2], exact=True)
    >>> [str(x) for x in r.dW], str(r.db)
    (['3/10', '2/5'], '1/10')

Functions
---------
forward(A_prev, W, b, **settings)
    The forward pass: a Result with Z.
backward(A_prev, W, dZ, b, **settings)
    Forward and backward: a Result with Z, dW, db and dA_prev.
chain(A_prev, layers=[...], dZ=... or loss=..., **settings)
    A chain of layers down to a loss: a ChainResult with one Result per layer.

Types
-----
Result
    What forward and backward return: numpy arrays, overlays(), table(), explain(), cell(),
    to_dict(), save(); it shows itself in rich consoles and Jupyter.
ChainResult
    What chain returns: .layers (one Result each), .loss, .joins, to_dict().
Overlay
    One overlay: the window, the kernel, its product and its gradient shares.
ConvgradError, InputError, UsageError
    The errors convgrad raises on purpose (InputError is also a ValueError).

``help(convgrad.backward)`` lists every keyword. The public names are loaded on first use,
so ``import convgrad`` stays cheap (numpy is imported when a name is first reached).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.3.0"
__all__ = [
    "ChainResult",
    "ConvgradError",
    "InputError",
    "Overlay",
    "Result",
    "UsageError",
    "backward",
    "chain",
    "forward",
]

_LOCATIONS = {
    "forward": "render.notebook",
    "backward": "render.notebook",
    "Result": "render.notebook",
    "chain": "render.notebook",
    "ChainResult": "render.notebook",
    "Overlay": "layers.base",
    "ConvgradError": "errors",
    "InputError": "errors",
    "UsageError": "errors",
}

if TYPE_CHECKING:  # pragma: no cover
    from .errors import ConvgradError, InputError, UsageError
    from .layers.base import Overlay
    from .render.notebook import ChainResult, Result, backward, chain, forward


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'convgrad' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    """The public names (dir(convgrad)), not the submodules loading them brings in."""
    return sorted([*__all__, "__version__"])
