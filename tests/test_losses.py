"""The losses that close a chain (convgrad/losses.py) against independent references.

- PyTorch float64 autograd: F.mse_loss, F.cross_entropy (labels and one-hot / probability
  targets) and .sum() / .mean(), both reductions, batch > 1;
- exact rationals for sum and mse, written here from the definitions;
- central finite differences of the cross-entropy value, which also check the value and the
  gradient against each other without torch;
- one-line errors naming the field and the shapes.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from convgrad.errors import InputError
from convgrad.losses import CROSS_ENTROPY, MSE, SUM, Loss, loss_gradient, loss_value, parse_loss
from convgrad.numbers import make_domain


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - the shared venv has torch
        pytest.skip("torch is not installed: the PyTorch oracle cannot run")
    return torch


def torch_loss(kind, reduction, Z, target=None, labels=None):
    """The loss and its gradient dL/dZ by torch autograd in float64."""
    torch = _torch()
    import torch.nn.functional as F

    z = torch.tensor(Z, dtype=torch.float64, requires_grad=True)
    if kind == SUM:
        L = z.sum() if reduction == "sum" else z.mean()
    elif kind == MSE:
        L = F.mse_loss(z, torch.tensor(target, dtype=torch.float64), reduction=reduction)
    elif labels is not None:
        L = F.cross_entropy(z, torch.tensor(labels), reduction=reduction)
    else:
        L = F.cross_entropy(z, torch.tensor(target, dtype=torch.float64), reduction=reduction)
    L.backward()
    return L.item(), z.grad.numpy()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_sum_and_mse_match_torch(seed, reduction):
    rng = np.random.default_rng(seed)
    shape = ((2, 3), (3, 2, 2, 2), (4,), (2, 5))[seed]
    Z, T = rng.standard_normal(shape), rng.standard_normal(shape)
    for kind, target in ((SUM, None), (MSE, T)):
        spec = {"kind": kind, "reduction": reduction} | ({} if target is None else {"target": target})
        loss = parse_loss(spec, shape)
        value, grad = torch_loss(kind, reduction, Z, target=target)
        assert loss_value(loss, Z) == pytest.approx(value, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(loss_gradient(loss, Z), grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_matches_torch_with_labels_and_one_hot(seed, reduction):
    rng = np.random.default_rng(10 + seed)
    N, classes = 2 + seed, 3 + seed % 2
    Z = rng.standard_normal((N, classes)) * 3
    labels = rng.integers(0, classes, N).tolist()
    value, grad = torch_loss(CROSS_ENTROPY, reduction, Z, labels=labels)
    for spec in (
        {"kind": "softmax-cross-entropy", "labels": labels, "reduction": reduction},
        {"kind": "cross-entropy", "target": np.eye(classes)[labels].tolist(), "reduction": reduction},
    ):
        loss = parse_loss(spec, Z.shape)
        assert loss.labels is not None and loss.labels.tolist() == labels and not loss.rational
        assert loss_value(loss, Z) == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(loss_gradient(loss, Z), grad, rtol=1e-12, atol=1e-15)


def test_cross_entropy_with_class_probabilities_matches_torch():
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((3, 4))
    T = rng.random((3, 4))
    T /= T.sum(axis=1, keepdims=True)
    value, grad = torch_loss(CROSS_ENTROPY, "mean", Z, target=T)
    loss = parse_loss({"kind": "softmax-cross-entropy", "target": T}, Z.shape)
    assert loss.labels is None
    assert loss_value(loss, Z) == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(loss_gradient(loss, Z), grad, rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_stable_for_large_scores():
    Z = np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0]])
    loss = parse_loss({"kind": "softmax-cross-entropy", "labels": [0, 0]}, Z.shape)
    value, grad = loss_value(loss, Z), loss_gradient(loss, Z)
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert value == pytest.approx(1600.0 / 2)  # sample 0: log 1 = 0; sample 1: 1600
    np.testing.assert_allclose(grad, [[0, 0, 0], [-0.5, 0.5, 0]], atol=1e-12)


def test_cross_entropy_one_sample_takes_a_vector_and_one_label():
    Z = np.array([1.0, 2.0, 0.5])
    loss = parse_loss({"kind": "softmax-cross-entropy", "labels": 1}, Z.shape)
    exp = np.exp(Z)
    assert loss_value(loss, Z) == pytest.approx(-np.log(exp[1] / exp.sum()))
    np.testing.assert_allclose(loss_gradient(loss, Z), exp / exp.sum() - [0, 1, 0])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_gradient_matches_central_differences(reduction):
    rng = np.random.default_rng(21)
    Z = rng.standard_normal((3, 5))
    loss = parse_loss({"kind": "ce", "labels": [4, 0, 2], "reduction": reduction}, Z.shape)
    grad = loss_gradient(loss, Z)
    h = 1e-5
    for index in np.ndindex(*Z.shape):
        up, down = Z.copy(), Z.copy()
        up[index] += h
        down[index] -= h
        numeric = (loss_value(loss, up) - loss_value(loss, down)) / (2 * h)
        assert numeric == pytest.approx(grad[index], abs=1e-8), index
    assert abs(grad.sum()) < 1e-12  # each row of softmax - one-hot sums to 0


# -- exact rationals ---------------------------------------------------------------------------------


def _exact(rows):
    return np.array([[Fraction(v) for v in row] for row in rows], dtype=object)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_and_sum_are_exact_rationals(reduction):
    Z = _exact([["1/3", "2"], ["-1/2", "0"]])
    target_text = [["0.1", "1"], ["1/2", "-1"]]
    loss = parse_loss({"kind": "mse", "target": target_text, "reduction": reduction}, (2, 2), make_domain(exact=True))
    T = _exact(target_text)
    squares = sum((Z[i] - T[i]) ** 2 for i in np.ndindex(2, 2))
    count = 4 if reduction == "mean" else 1
    value = loss_value(loss, Z)
    assert isinstance(value, Fraction) and value == squares / count
    grad = loss_gradient(loss, Z)
    assert grad.dtype == object and all(isinstance(g, Fraction) for g in grad.reshape(-1))
    assert grad.tolist() == [[2 * (Z[i, j] - T[i, j]) / count for j in range(2)] for i in range(2)]
    total = parse_loss({"kind": "sum", "reduction": reduction}, (2, 2))
    assert loss_value(total, Z) == (Fraction(1, 3) + 2 - Fraction(1, 2)) / count
    assert loss_gradient(total, Z).tolist() == [[Fraction(1, count)] * 2] * 2


def test_a_float_target_meets_exact_Z_as_typed():
    """A target parsed in floats (0.1) is taken as the decimal it was typed as when Z is exact."""
    loss = parse_loss({"kind": "mse", "target": [0.1, 0.2]}, (2,))
    Z = np.array([Fraction(0), Fraction(0)], dtype=object)
    assert loss_value(loss, Z) == (Fraction(1, 100) + Fraction(4, 100)) / 2
    assert loss_gradient(loss, Z).tolist() == [Fraction(-1, 10), Fraction(-2, 10)]


def test_defaults_and_the_bare_string():
    assert parse_loss("sum", (2, 2)) == Loss(SUM, "sum")
    assert parse_loss({"kind": "sum", "reduction": "mean"}, (2,)).reduction == "mean"
    assert parse_loss({"kind": "mse", "target": [1, 2]}, (2,)).reduction == "mean"
    assert parse_loss({"kind": "softmax_cross_entropy", "labels": [0]}, (1, 2)).reduction == "mean"
    assert parse_loss({"type": "Cross Entropy", "y": [1]}, (1, 2)).kind == CROSS_ENTROPY
    loss = parse_loss({"kind": "ce", "labels": [1, 0]}, (2, 3))
    assert loss.config() == {"kind": CROSS_ENTROPY, "reduction": "mean", "labels": [1, 0]}
    assert "/N" in loss.sentence and "sum" not in parse_loss("sum", (1,)).sentence.split(",")[1]


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shape", "message"),
    [
        ({"kind": "mse"}, (2, 2), "mse needs a target shaped like Z (2, 2)"),
        (
            {"kind": "mse", "target": [1, 2]},
            (2, 2),
            "the mse target has shape (2,) but Z has shape (2, 2): the target must be shaped like Z",
        ),
        ({"kind": "mse", "labels": [1]}, (1, 2), "mse takes a target shaped like Z, not labels"),
        ({"kind": "ce", "labels": [1, 3]}, (2, 3), "labels[1] is 3, out of range: Z has 3 classes (0 to 2)"),
        ({"kind": "ce", "labels": [-1, 0]}, (2, 3), "labels[0] is -1, out of range"),
        ({"kind": "ce", "labels": [1.5, 0]}, (2, 3), "labels[0] is 1.5: a label is a whole class number (0 to 2)"),
        ({"kind": "ce", "labels": ["a", 0]}, (2, 3), "labels[0] is"),
        (
            {"kind": "ce", "labels": [1]},
            (2, 3),
            "labels has 1 entry but Z has 2 samples (Z (2, 3)): give one class per sample",
        ),
        ({"kind": "ce"}, (2, 3), "softmax-cross-entropy needs labels (one class 0..2 per sample, 2 of them)"),
        ({"kind": "ce", "labels": [0], "target": [[1, 0]]}, (1, 2), "softmax-cross-entropy takes labels or"),
        ({"kind": "ce", "target": [[1, 1, 0]]}, (1, 3), "loss target[0] is not one-hot"),
        ({"kind": "ce", "target": [[1, 0]]}, (1, 3), "the softmax-cross-entropy target has shape (1, 2) but Z"),
        (
            {"kind": "ce", "labels": [0]},
            (1, 2, 2),
            "softmax-cross-entropy needs Z of shape (N, classes) or (classes,), but Z has shape (1, 2, 2)",
        ),
        ({"kind": "hinge"}, (2,), "loss kind 'hinge' is not one of: sum, mse, softmax-cross-entropy"),
        ({"kind": "mse", "target": [1], "reduction": "avg"}, (1,), "loss reduction 'avg' is not one of: mean, sum"),
        ({"kind": "sum", "weights": 1}, (1,), "loss has an unknown key 'weights'"),
        ({"kind": "sum", "target": [1]}, (1,), "the sum loss takes no target"),
        ({"reduction": "sum"}, (1,), "loss has no kind"),
        (3, (1,), "loss must be a kind such as"),
    ],
)
def test_errors_are_one_line_naming_the_field_and_the_shapes(value, shape, message):
    with pytest.raises(InputError) as caught:
        parse_loss(value, shape)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_cross_entropy_refuses_names():
    import sympy

    loss = parse_loss({"kind": "ce", "labels": [0]}, (1, 2))
    Z = np.array([[sympy.Symbol("a"), sympy.Symbol("b")]], dtype=object)
    with pytest.raises(InputError, match="softmax-cross-entropy needs numbers"):
        loss_gradient(loss, Z)
