"""Chains of layers, one module per job, all pure (no I/O):

- ``engine``: build a chain and walk it forward, to the loss and back (its docstring is the
  interface every other part builds on); its public names are re-exported here.
- ``check``: marking an answer per layer; ``mistakes``: the join mistakes, each recomputed
  through the rest of the chain; ``gradcheck``: central differences of the chain's loss;
  ``shape``: the shape table through the network; ``generate``: random chains with keys.

(The package is ``chains``, not ``chain``: ``convgrad.chain`` is the API function, and a
subpackage of that name would replace it on the package once imported.)
"""

from __future__ import annotations

from .engine import (
    CHAIN_FIELDS,
    MAX_LAYERS,
    ChainProblem,
    ChainResult,
    Join,
    build_chain,
    chain,
    chain_fields,
    is_chain,
    join_object,
    overlay_chooser,
    select_layers,
    solve_chain,
)

__all__ = [
    "CHAIN_FIELDS",
    "MAX_LAYERS",
    "ChainProblem",
    "ChainResult",
    "Join",
    "build_chain",
    "chain",
    "chain_fields",
    "is_chain",
    "join_object",
    "overlay_chooser",
    "select_layers",
    "solve_chain",
]
