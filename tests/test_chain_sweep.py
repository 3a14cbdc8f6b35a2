"""A random sweep of chains against the same network built from torch.nn.functional with autograd
in float64: every layer's Z, dW, db and dA_prev and the loss agree to 1e-9 relative.

Chains of 2 to 6 layers are drawn (seeded) from every kind, in both layouts, with a batch of 2 or
3, ending in a dZ or in every loss with both reductions. Every fifth case goes through the CLI
(``convgrad backward - --json`` on stdin), the rest through ``convgrad.chain``. The torch side is
written here from each kind's definition (PyTorch's own ops), sharing nothing with convgrad.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import torch_or_skip

import convgrad
from convgrad.layers import KINDS

RTOL = 1e-9
DEFAULT_CASES = 200
SLOW_CASES = 1000
#: The loss endings: None is a dZ given.
LOSSES = [None, ("sum", "sum"), ("sum", "mean"), ("mse", "mean"), ("mse", "sum"), ("ce", "mean"), ("ce", "sum")]
HAS_DENSE = "dense" in KINDS and "flatten" in KINDS
SPATIAL_KINDS = ["conv", "conv-transpose", "relu", "leaky-relu", "sigmoid", "tanh", "max-pool", "avg-pool"]
FLAT_KINDS = ["dense", "relu", "leaky-relu", "sigmoid", "tanh"]


def draw_case(seed: int) -> dict:
    """A chain, its arrays (canonical, channels-first) and its end, from the seed alone.

    The chain says its "dims": a (N, C, L) batch read by a kind without weights is otherwise one 2-D sample."""
    rng = np.random.default_rng(seed)
    d = int(rng.choice([1, 2]))
    channels_last = bool(rng.integers(2))
    N, C = int(rng.integers(2, 4)), int(rng.integers(1, 4))
    size = tuple(int(rng.integers(5, 9)) for _ in range(d))
    shape: tuple[int, ...] = (N, C, *size)
    count = int(rng.integers(2, 7))
    ending = LOSSES[seed % len(LOSSES)]
    needs_flat = ending is not None and ending[0] == "ce"
    if needs_flat and not HAS_DENSE:
        ending = ("sum", "mean")
        needs_flat = False
    layers: list[dict] = []
    flat = False
    for position in range(count):
        last = position == count - 1
        if not flat and HAS_DENSE and ((needs_flat and position >= count - 2) or rng.random() < 0.12):
            layers.append({"kind": "flatten"})
            flat, shape = True, (N, int(np.prod(shape[1:])))
            continue
        if flat:
            kind = "dense" if last and needs_flat else str(rng.choice(FLAT_KINDS))
        else:
            kind = str(rng.choice(SPATIAL_KINDS))
            if kind in ("max-pool", "avg-pool") and min(shape[2:]) < 2:
                kind = "relu"
        spec, shape = draw_layer(kind, shape, rng, flat)
        layers.append(spec)
    if needs_flat and layers[-1]["kind"] != "dense":
        spec, shape = draw_layer("dense", shape, rng, True)
        layers.append(spec)
    dZ = rng.standard_normal(shape) if ending is None else None
    loss = None
    if ending is not None:
        kind, reduction = ending
        if kind == "sum":
            loss = {"kind": "sum", "reduction": reduction}
        elif kind == "mse":
            loss = {"kind": "mse", "reduction": reduction, "target": rng.standard_normal(shape)}
        else:
            loss = {"kind": "softmax-cross-entropy", "reduction": reduction, "labels": rng.integers(0, shape[1], N)}
    return {
        "A": rng.standard_normal((N, C, *size)),
        "layers": layers,
        "channels_last": channels_last,
        "d": d,
        "dZ": dZ,
        "loss": loss,
    }


def draw_layer(kind: str, shape: tuple[int, ...], rng: np.random.Generator, flat: bool) -> tuple[dict, tuple]:
    """One layer's spec (canonical arrays) and the shape it gives."""
    N, C = shape[:2]
    size = shape[2:]
    d = len(size)
    if kind == "dense":
        out = int(rng.integers(2, 5))
        return {"kind": kind, "W": rng.standard_normal((out, C)), "b": rng.standard_normal(out)}, (N, out)
    if kind in ("relu", "leaky-relu", "sigmoid", "tanh"):
        return {"kind": kind}, shape
    if kind in ("max-pool", "avg-pool"):
        k = 2
        stride = int(rng.integers(1, 3))
        out = tuple((n - k) // stride + 1 for n in size)
        return {"kind": kind, "size": k, "stride": stride}, (N, C, *out)
    out_channels = int(rng.integers(1, 4))
    k = int(rng.integers(1, 4))
    stride = int(rng.integers(1, 3))
    if kind == "conv":
        padding = int(rng.integers(0, k))
        if any(n + 2 * padding < k for n in size):
            padding = k
        out = tuple((n + 2 * padding - k) // stride + 1 for n in size)
        W = rng.standard_normal((out_channels, C, *(k,) * d))
    else:  # conv-transpose: W (C_in, C_out, *k)
        padding = int(rng.integers(0, k))
        out = tuple((n - 1) * stride - 2 * padding + k for n in size)
        if min(out) < 1:
            padding = 0
            out = tuple((n - 1) * stride + k for n in size)
        W = rng.standard_normal((C, out_channels, *(k,) * d))
    spec = {"kind": kind, "W": W, "b": rng.standard_normal(out_channels), "stride": stride, "padding": padding}
    return spec, (N, out_channels, *out)


# -- the layouts: convgrad takes the user's form; torch keeps channels first ---------------------------------


def to_user(array: np.ndarray, channels_last: bool) -> np.ndarray:
    return np.moveaxis(array, 1, -1) if channels_last and array.ndim > 2 else array


def from_user(array, channels_last: bool) -> np.ndarray:
    array = np.asarray(array, dtype=float)
    return np.moveaxis(array, -1, 1) if channels_last and array.ndim > 2 else array


def kernel_to_user(W: np.ndarray, channels_last: bool) -> np.ndarray:
    """(A, B, *k) -> (*k, B, A) channels-last: conv's (*k, C_in, C_out), conv-transpose's (*k, C_out, C_in)."""
    if not channels_last:
        return W
    d = W.ndim - 2
    return W.transpose(*range(2, 2 + d), 1, 0)


def kernel_from_user(W, channels_last: bool, d: int) -> np.ndarray:
    W = np.asarray(W, dtype=float)
    if not channels_last:
        return W
    return W.transpose(d + 1, d, *range(d))


def convgrad_layers(case: dict) -> list[dict]:
    out = []
    for spec in case["layers"]:
        layer = {"layer": spec["kind"]}
        for key in ("size", "stride", "padding"):
            if key in spec:
                layer[key] = spec[key]
        if "W" in spec:
            W = spec["W"] if spec["kind"] == "dense" else kernel_to_user(spec["W"], case["channels_last"])
            layer.update({"W": W, "b": spec["b"]})
        out.append(layer)
    return out


def convgrad_loss(case: dict):
    loss = case["loss"]
    if loss is None or "target" not in loss:
        return loss
    return {**loss, "target": to_user(loss["target"], case["channels_last"])}


# -- the torch network ------------------------------------------------------------------------------------------


def torch_run(case: dict) -> dict:
    torch = torch_or_skip()
    import torch.nn.functional as F

    d = case["d"]
    x = torch.tensor(case["A"], requires_grad=True)
    inputs, outputs, params = [], [], []
    h = x
    for spec in case["layers"]:
        h_in = h
        h_in.retain_grad()
        kind = spec["kind"]
        W = b = None
        if "W" in spec:
            W = torch.tensor(spec["W"], requires_grad=True)
            b = torch.tensor(spec["b"], requires_grad=True)
        if kind == "conv":
            conv = {1: F.conv1d, 2: F.conv2d}[d]
            h = conv(h_in, W, b, stride=spec["stride"], padding=spec["padding"])
        elif kind == "conv-transpose":
            conv_t = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[d]
            h = conv_t(h_in, W, b, stride=spec["stride"], padding=spec["padding"])
        elif kind == "relu":
            h = F.relu(h_in)
        elif kind == "leaky-relu":
            h = F.leaky_relu(h_in, 0.01)
        elif kind == "sigmoid":
            h = torch.sigmoid(h_in)
        elif kind == "tanh":
            h = torch.tanh(h_in)
        elif kind == "max-pool":
            h = {1: F.max_pool1d, 2: F.max_pool2d}[d](h_in, spec["size"], spec["stride"])
        elif kind == "avg-pool":
            h = {1: F.avg_pool1d, 2: F.avg_pool2d}[d](h_in, spec["size"], spec["stride"])
        elif kind == "flatten":
            # PyTorch's torch.flatten of NCHW, or Keras' Flatten of NHWC (the layout's default order)
            moved = h_in.movedim(1, -1) if case["channels_last"] else h_in
            h = moved.reshape(h_in.shape[0], -1)
        elif kind == "dense":
            h = h_in @ W.T + b
        else:  # pragma: no cover
            raise AssertionError(kind)
        inputs.append(h_in)
        outputs.append(h)
        params.append((W, b))
    Z = h
    loss = case["loss"]
    if loss is None:
        L = (Z * torch.tensor(case["dZ"])).sum()
    elif loss["kind"] == "sum":
        L = Z.sum() if loss["reduction"] == "sum" else Z.mean()
    elif loss["kind"] == "mse":
        L = F.mse_loss(Z, torch.tensor(loss["target"]), reduction=loss["reduction"])
    else:
        L = F.cross_entropy(Z, torch.tensor(loss["labels"]), reduction=loss["reduction"])
    Z.retain_grad()
    L.backward()
    upstream = [i.grad.numpy() for i in inputs[1:]] + [Z.grad.numpy()]
    return {
        "dZ": upstream,
        "inputs": [i.detach().numpy() for i in inputs],
        "loss": None if loss is None else L.item(),
        "Z": [o.detach().numpy() for o in outputs],
        "dA_prev": [i.grad.numpy() for i in inputs],
        "dW": [None if W is None else W.grad.numpy() for W, _ in params],
        "db": [None if b is None else b.grad.numpy() for _, b in params],
    }


def kinked(case: dict, theirs: list[np.ndarray], ours: list[np.ndarray]) -> int:
    """The last layer (1-based; 0: none) whose input sits within rounding of a kink, as torch or convgrad
    computed it: a max-pool window whose two largest entries differ by less than 1e-9 (relative) but are
    not equal, or a ReLU input within 1e-12 of 0 but not 0. Two float computations that round differently
    may route the gradient differently there (both are right), so the gradients of that layer and the
    layers before it are not compared; Z and the loss always are."""
    found = 0
    for k, spec in enumerate(case["layers"], start=1):
        for x in (theirs[k - 1], ours[k - 1]):
            scale = max(float(np.abs(x).max(initial=0.0)), 1.0)
            if spec["kind"] == "max-pool":
                d = x.ndim - 2
                axes = tuple(range(2, 2 + d))
                windows = np.lib.stride_tricks.sliding_window_view(x, (spec["size"],) * d, axis=axes)
                windows = windows[(slice(None), slice(None), *(slice(None, None, spec["stride"]),) * d)]
                flat = np.sort(windows.reshape(*windows.shape[: 2 + d], -1), axis=-1)
                gap = flat[..., -1] - flat[..., -2]
                if np.any((gap > 0) & (gap <= 1e-9 * scale)):
                    found = k
            elif spec["kind"] in ("relu", "leaky-relu") and np.any((x != 0) & (np.abs(x) < 1e-12 * scale)):
                found = k
    return found


# -- running convgrad -------------------------------------------------------------------------------------------------


def run_api(case: dict) -> dict:
    last = case["channels_last"]
    r = convgrad.chain(
        to_user(case["A"], last),
        layers=convgrad_layers(case),
        dZ=None if case["dZ"] is None else to_user(case["dZ"], last),
        loss=convgrad_loss(case),
        layout="NHWC" if last and case["d"] == 2 else "NWC" if last else None,
        dims=case["d"],
    )
    return {
        "loss": r.loss,
        "layers": [{"Z": layer.Z, "dA_prev": layer.dA_prev, "dW": layer.dW, "db": layer.db} for layer in r.layers],
    }


def plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


def run_cli(case: dict, cli) -> dict:
    last = case["channels_last"]
    problem = {"A_prev": to_user(case["A"], last), "layers": convgrad_layers(case), "dims": case["d"]}
    if last:
        problem["layout"] = "NHWC" if case["d"] == 2 else "NWC"
    if case["dZ"] is not None:
        problem["dZ"] = to_user(case["dZ"], last)
    else:
        problem["loss"] = convgrad_loss(case)
    result = cli("backward", "-", "--json", "--overlays", "none", input=json.dumps(plain(problem)))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    return {"loss": None if doc["loss"] is None else doc["loss"]["value"], "layers": doc["layers"]}


def _close(ours, theirs, what, terms=0.0):
    """Equal to RTOL relative to the larger of the array's scale and ``terms``, the scale of the terms
    summed into it (a gradient that cancels to 1e-12 carries the rounding of terms of size 1)."""
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    scale = max(float(np.abs(theirs).max(initial=0.0)), terms, 1e-300)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def compare(case: dict, ours: dict, theirs: dict) -> None:
    last, d = case["channels_last"], case["d"]
    our_inputs = [case["A"]] + [from_user(layer["Z"], last) for layer in ours["layers"][:-1]]
    skip = kinked(case, theirs["inputs"], our_inputs)
    if theirs["loss"] is not None:
        _close(ours["loss"], theirs["loss"], "loss")
    for k, (spec, layer) in enumerate(zip(case["layers"], ours["layers"]), start=1):
        where = f"layer {k} ({spec['kind']})"
        _close(from_user(layer["Z"], last), theirs["Z"][k - 1], f"{where} Z")
        largest = [float(np.abs(x).max()) for x in (theirs["inputs"][k - 1], spec.get("W", 0.0))]
        terms = float(np.abs(theirs["dZ"][k - 1]).max()) * max(1.0, *largest)
        if k <= skip:
            continue  # a tie within rounding at or after this layer: the routing may differ (see kinked)
        _close(from_user(layer["dA_prev"], last), theirs["dA_prev"][k - 1], f"{where} dA_prev", terms)
        if "W" in spec:
            dW = layer["dW"] if spec["kind"] == "dense" else kernel_from_user(layer["dW"], last, d)
            _close(dW, theirs["dW"][k - 1], f"{where} dW", terms)
            _close(layer["db"], theirs["db"][k - 1], f"{where} db", terms)
        else:
            assert layer.get("dW") is None and layer.get("db") is None


def check_case(seed: int, cli) -> None:
    case = draw_case(seed)
    theirs = torch_run(case)
    ours = run_cli(case, cli) if seed % 5 == 0 else run_api(case)
    compare(case, ours, theirs)


@pytest.mark.parametrize("seed", range(DEFAULT_CASES))
def test_chain_agrees_with_torch(seed, cli):
    check_case(seed, cli)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(DEFAULT_CASES, SLOW_CASES))
def test_chain_agrees_with_torch_slow(seed, cli):
    check_case(seed, cli)


def test_the_sweep_covers_every_kind_layout_and_loss():
    cases = [draw_case(seed) for seed in range(DEFAULT_CASES)]
    kinds = {spec["kind"] for case in cases for spec in case["layers"]}
    expected = set(SPATIAL_KINDS) | ({"flatten", "dense"} if HAS_DENSE else set())
    assert kinds == expected
    assert {case["channels_last"] for case in cases} == {False, True}
    assert {len(case["layers"]) for case in cases} >= {2, 3, 4, 5, 6}
    assert min(case["A"].shape[0] for case in cases) >= 2
    endings = {None if c["loss"] is None else (c["loss"]["kind"], c["loss"]["reduction"]) for c in cases}
    if HAS_DENSE:
        assert len(endings) == len(LOSSES)
