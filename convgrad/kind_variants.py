"""The named mistakes of a single flatten or dense layer, for ``check`` (variants.py registers them).

Each ``compute(problem)`` returns ``{quantity: [(label, user-form array)]}`` as every variant does,
and each sentence says the mistake in one line. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from .layers import flatten
from .problem import Problem


def flatten_other_order(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """Z flattened, and dZ reshaped back, in the other order than the problem's."""
    order = problem.params["order"]
    other = "channels-last" if order == "channels-first" else "channels-first"
    domain, form = problem.domain, problem.form
    Z = flatten.flatten_array(problem.A_prev, other)
    found: dict[str, list[tuple[str, Any]]] = {"Z": [(other, form.activation_from_canonical(domain.finalize(Z)))]}
    if problem.dZ is not None:
        dA = flatten.unflatten_array(problem.dZ, problem.A_prev.shape, other)
        found["dA_prev"] = [(other, form.activation_from_canonical(domain.finalize(dA)))]
    return found


def flatten_other_order_sentence(problem: Problem, quantity: str, label: str) -> str:
    order = problem.params["order"]
    framework = "Keras" if label == "channels-last" else "PyTorch"
    action = "flattened" if quantity == "Z" else "reshaped back"
    return f"{quantity} {action} in {label} order ({framework}'s) instead of {order}"


def dense_dW_transposed(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """dW in the other layout than W: (in, out) for a W given (out, in), or the reverse."""
    if problem.dZ is None or problem.W is None:
        return {}
    dW = problem.dZ.T @ problem.A_prev  # (out, in), canonical
    user = problem.form.kernel_from_canonical(problem.domain.finalize(dW))
    return {"dW": [("", user.T)]}


def dense_dW_transposed_sentence(problem: Problem, quantity: str, label: str) -> str:
    given = "(out, in)" if problem.params["W_layout"] == "out-in" else "(in, out)"
    return f"dW is transposed: it has W's shape, {given}, as W was given (A_prevᵀ·dZ is (in, out))"


def dense_one_sample(problem: Problem) -> dict[str, list[tuple[str, Any]]]:
    """dW and db from one sample only (per sample), forgetting that every sample adds to them."""
    if problem.dZ is None or problem.W is None or problem.A_prev.shape[0] < 2:
        return {}
    form, domain = problem.form, problem.domain
    found: dict[str, list[tuple[str, Any]]] = {"dW": [], "db": []}
    for n in range(problem.A_prev.shape[0]):
        dW = problem.dZ[n : n + 1].T @ problem.A_prev[n : n + 1]
        found["dW"].append((f"sample {n}", form.kernel_from_canonical(domain.finalize(dW))))
        found["db"].append((f"sample {n}", form.bias_from_canonical(domain.finalize(problem.dZ[n]))))
    return found


def dense_one_sample_sentence(problem: Problem, quantity: str, label: str) -> str:
    return f"{quantity} has only {label}'s share: every sample of the batch adds its dZ·A_prev (dZ for db)"
