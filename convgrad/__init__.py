"""convgrad: forward and backward through a convolution layer, overlay by overlay.

    >>> import convgrad
    >>> r = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2], exact=True)
    >>> [str(x) for x in r.dW], str(r.db)
    (['3/10', '2/5'], '1/10')

The public names are loaded on first use, so ``import convgrad`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
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
    "forward": "api",
    "backward": "api",
    "Result": "api",
    "chain": "chains",
    "ChainResult": "chains",
    "Overlay": "layers.base",
    "ConvgradError": "errors",
    "InputError": "errors",
    "UsageError": "errors",
}

if TYPE_CHECKING:  # pragma: no cover
    from .api import Result, backward, forward
    from .chains import ChainResult, chain
    from .errors import ConvgradError, InputError, UsageError
    from .layers.base import Overlay


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'convgrad' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
