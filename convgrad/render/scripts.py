"""--format torch and --format numpy: a standalone script that rebuilds the problem and proves the numbers.

The torch script builds the same layer with ``torch.nn.functional`` (the same layout, padding,
stride, dilation, groups and flip), runs autograd in float64 and prints Z, dW, db and dA_prev.
The numpy script computes them with the loops written out, the course way: pad, slide the
window, multiply and sum; then send each dZ back through the same window. Both embed
convgrad's totals and end in ``sys.exit(1)`` naming the first entry that disagrees.

The arrays are embedded in the user's form; each script moves them to channels-first
(N, C, *spatial) itself, and its gradients come back in the user's form (autograd on the
arrays as given; the numpy loops move theirs back), so what it compares is what convgrad printed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..api import Result
from ..errors import UsageError
from ..forms import BARE, UNBATCHED, Form

#: Agreement asked of float64 recomputations (another summation order), and of float32 problems.
RTOL_FLOAT64 = 1e-9
RTOL_FLOAT32 = 1e-5
ACTIVATIONS_TORCH = {
    "relu": "F.relu({x})",
    "leaky-relu": "F.leaky_relu({x}, negative_slope={slope})",
    "sigmoid": "torch.sigmoid({x})",
    "tanh": "torch.tanh({x})",
}


def script(result: Result, library: str) -> str:
    """The script for ``library`` ("torch" or "numpy"); refuses what it cannot rebuild, saying why."""
    p = result.problem
    if p.domain.name == "symbolic":
        raise UsageError(f"--format {library} runs numbers; symbolic results are formulas: leave out --symbolic")
    layer = p.layer
    if library == "torch":
        body = _torch_body(result)
    elif library == "numpy":
        body = _numpy_body(result)
    else:  # pragma: no cover - the CLI offers only these two
        raise ValueError(library)
    if body is None:
        raise UsageError(
            f"--format {library} does not rebuild {layer} layers{_detail(p)}: use --json, the table or --explain"
        )
    command = "backward" if result.is_backward else "forward"
    names = _names(result)
    rtol = RTOL_FLOAT32 if _float32(p) else RTOL_FLOAT64
    lines = [
        "#!/usr/bin/env python3",
        f'"""convgrad {command}, rebuilt {"in PyTorch" if library == "torch" else "with numpy loops"}: '
        f"{layer}, {p.geom.dims}-D, {'bare arrays' if p.form.kind == BARE else f'layout {p.form.layout}'}.",
        "",
        f"It prints {', '.join(names)} and exits 1 unless {'each equals' if len(names) > 1 else 'it equals'} "
        "convgrad's numbers"
        f" (relative tolerance {rtol:g}).",
        '"""',
        "",
        "import sys",
        "",
        "import numpy as np",
    ]
    if library == "torch":
        lines += ["import torch", "import torch.nn.functional as F", ""]
    else:
        lines += [""]
    lines += body
    lines += ["", "# -- convgrad's numbers ---------------------------------------------------------------"]
    for name in names:
        lines.append(f"expected_{name} = np.array({_literal(getattr(result, name))}, dtype=np.float64)")
    lines += [
        "",
        "",
        "def check(name, got, expected):",
        "    got = np.asarray(got, dtype=np.float64)",
        "    if got.shape != expected.shape:",
        '        sys.exit(f"{name}: shape {got.shape}, convgrad says {expected.shape}")',
        "    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))",
        f"    wrong = ~np.isclose(got, expected, rtol={rtol!r}, atol={rtol!r} * scale)",
        "    if wrong.any():",
        "        index = tuple(int(i) for i in np.argwhere(wrong)[0])",
        '        sys.exit(f"{name}{list(index)} is {got[index]!r}, convgrad says {expected[index]!r}")',
        "",
        "",
        "np.set_printoptions(precision=12, suppress=False)",
    ]
    for name in names:
        lines.append(f'print("{name} =", np.asarray({name}_out, dtype=np.float64), sep="\\n")')
    for name in names:
        lines.append(f'check("{name}", {name}_out, expected_{name})')
    lines.append(f'print("{", ".join(names)}: all equal convgrad\'s")')
    return "\n".join(lines) + "\n"


def _detail(problem: Any) -> str:
    """What keeps a layer of a kind the scripts know from being rebuilt ("" when the kind is unknown)."""
    params = problem.params
    if problem.layer == "max-pool" and params.get("ties") != "first":
        return f" with ties {params.get('ties')}"
    if problem.layer in ("max-pool", "avg-pool", "conv-transpose"):
        return " with uneven padding"
    return ""


def _names(result: Result) -> list[str]:
    if not result.is_backward:
        return ["Z"]
    return ["Z", "dW", "db", "dA_prev"] if result.problem.has_weights else ["Z", "dA_prev"]


def _float32(problem: Any) -> bool:
    return bool(getattr(problem.A_prev, "dtype", None) == np.float32)


def _literal(value: Any) -> str:
    """Nested lists of floats as Python text that reads back to the same float64 (exact values rounded once)."""
    array = np.asarray(value, dtype=object)
    if array.ndim == 0:
        return repr(float(array[()]))

    def walk(node: Any, depth: int) -> str:
        if not isinstance(node, list):
            return repr(float(node))
        if not node or not isinstance(node[0], list):  # the last axis: one line
            return "[" + ", ".join(walk(item, depth + 1) for item in node) + "]"
        inner = ",\n".join("    " * (depth + 1) + walk(item, depth + 1) for item in node)
        return "[\n" + inner + ",\n" + "    " * depth + "]"

    return walk(array.tolist(), 0)


def _user_arrays(result: Result) -> dict[str, Any]:
    """A_prev, W, b and dZ in the user's form (b: zeros shaped like db when none was given)."""
    p = result.problem
    form = p.form
    arrays: dict[str, Any] = {"A_prev": form.activation_from_canonical(p.A_prev)}
    if p.has_weights:
        arrays["W"] = form.kernel_from_canonical(p.W)
        bias = p.b if p.b is not None else np.zeros(result.canonical_totals.Z.shape[1])  # (C_out,)
        arrays["b"] = form.bias_from_canonical(np.asarray(bias))
    if p.dZ is not None:
        arrays["dZ"] = form.activation_from_canonical(p.dZ)
    return arrays


def _to_nc(form: Form, x: str, lib: str) -> str:
    """Text moving ``x`` from the user's form to (N, C, *spatial)."""
    d = form.dims
    if form.kind == BARE:
        return f"{x}.reshape((1, 1) + tuple({x}.shape))"
    if form.kind == UNBATCHED:
        x = f"{x}[None]"
    if form.channels_last:
        order = (0, d + 1) + tuple(range(1, d + 1))
        return f"{x}.permute{order}" if lib == "torch" else f"np.transpose({x}, {order})"
    return x


def _from_nc(form: Form, x: str, lib: str) -> str:
    """Text moving ``x`` from (N, C, *spatial) back to the user's form."""
    d = form.dims
    if form.kind == BARE:
        return f"{x}[0, 0]"
    if form.channels_last:
        order = (0,) + tuple(range(2, d + 2)) + (1,)
        x = f"{x}.permute{order}" if lib == "torch" else f"np.transpose({x}, {order})"
    return f"{x}[0]" if form.kind == UNBATCHED else x


def _kernel_to_nc(form: Form, w: str, lib: str) -> str:
    d = form.dims
    if form.kind == BARE:
        return f"{w}.reshape((1, 1) + tuple({w}.shape))"
    if form.channels_last:
        order = (d + 1, d) + tuple(range(d))
        return f"{w}.permute{order}" if lib == "torch" else f"np.transpose({w}, {order})"
    return w


def _kernel_from_nc(form: Form, w: str) -> str:
    d = form.dims
    if form.kind == BARE:
        return f"{w}[0, 0]"
    if form.channels_last:
        return f"np.transpose({w}, {tuple(range(2, d + 2)) + (1, 0)})"
    return w


def _inputs(result: Result, lib: str) -> list[str]:
    arrays = _user_arrays(result)
    lines = ["# -- the problem, as given (float64) -------------------------------------------------"]
    for name, value in arrays.items():
        text = _literal(value)
        if lib == "torch":
            grad = ", requires_grad=True" if result.is_backward and name in ("A_prev", "W", "b") else ""
            lines.append(f"{name} = torch.tensor({text}, dtype=torch.float64{grad})")
        else:
            lines.append(f"{name} = np.array({text}, dtype=np.float64)")
    return lines


# -- PyTorch ---------------------------------------------------------------------------------


def _torch_body(result: Result) -> list[str] | None:
    p = result.problem
    g, form, d = p.geom, p.form, p.geom.dims
    lines = _inputs(result, "torch")
    lines += ["", "# -- the layer in PyTorch ------------------------------------------------------------"]
    spatial = tuple(range(2, d + 2))
    if p.layer in ACTIVATIONS_TORCH:
        slope = p.params.get("slope", 0.01)
        lines.append("Z = " + ACTIVATIONS_TORCH[p.layer].format(x="A_prev", slope=repr(float(slope))))
    elif p.layer == "conv":
        lines.append(f"x = {_to_nc(form, 'A_prev', 'torch')}")
        lines.append(f"w = {_kernel_to_nc(form, 'W', 'torch')}")
        if p.mode_name == "convolution":
            lines.append(f"w = torch.flip(w, dims={spatial})  # convolution: the kernel flipped")
        pads = [n for pair in reversed(g.padding) for n in pair]
        if any(pads):
            lines.append(f"x = F.pad(x, {tuple(pads)})  # (before, after) per axis, the last axis first")
        lines.append(
            f"z = F.conv{d}d(x, w, b.reshape(-1), stride={tuple(g.stride)}, dilation={tuple(g.dilation)}, "
            f"groups={g.groups})"
        )
        lines.append(f"Z = {_from_nc(form, 'z', 'torch')}")
    elif p.layer == "conv-transpose":
        params = p.params
        padding = params["padding"]
        if any(before != after for before, after in padding):
            return None
        lines.append(f"x = {_to_nc(form, 'A_prev', 'torch')}")
        lines.append(f"w = {_kernel_to_nc(form, 'W', 'torch')}")
        if params["mode"] == "convolution":
            lines.append(f"w = torch.flip(w, dims={spatial})  # convolution: the kernel flipped")
        lines.append(
            f"z = F.conv_transpose{d}d(x, w, b.reshape(-1), stride={tuple(params['stride'])}, "
            f"padding={tuple(pair[0] for pair in padding)}, output_padding={tuple(params['output_padding'])}, "
            f"groups={params['groups']}, dilation={tuple(params['dilation'])})"
        )
        lines.append(f"Z = {_from_nc(form, 'z', 'torch')}")
    elif p.layer in ("max-pool", "avg-pool"):
        params = p.params
        padding = params["padding"]
        if not _plain_ints(padding) or (p.layer == "max-pool" and params.get("ties") != "first"):
            return None
        lines.append(f"x = {_to_nc(form, 'A_prev', 'torch')}")
        common = f"kernel_size={params['size']!r}, stride={params['stride']!r}, padding={padding!r}"
        if p.layer == "max-pool":
            call = f"F.max_pool{d}d(x, {common}, dilation={params['dilation']!r}, ceil_mode={params['ceil_mode']})"
        else:
            call = f"F.avg_pool{d}d(x, {common}, ceil_mode={params['ceil_mode']}, count_include_pad={params['count_padding']})"
        lines.append(f"z = {call}")
        lines.append(f"Z = {_from_nc(form, 'z', 'torch')}")
    elif p.layer == "dense":
        in_out = p.params["W_layout"] == "in-out"
        weight = "W.t()" if in_out else "W"
        note = "W is (in, out): F.linear wants (out, in)" if in_out else "W is (out, in), as nn.Linear's"
        lines.append(f"Z = F.linear(A_prev, {weight}) + b  # {note}")
    elif p.layer == "flatten":
        lines += _flatten_lines(form, p.params["order"], "torch", backward=False)
    else:
        return None
    if result.is_backward:
        lines += ["", "Z.backward(dZ)  # autograd: dL/dZ = dZ, back to every input"]
    lines += ["", "Z_out = Z.detach().numpy()"]
    if result.is_backward:
        if p.has_weights:
            lines += ["dW_out = W.grad.numpy()", "db_out = b.grad.numpy()"]
        lines += ["dA_prev_out = A_prev.grad.numpy()"]
    return lines


def _plain_ints(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def _flatten_lines(form: Form, order: str, lib: str, backward: bool) -> list[str]:
    """Z = A_prev flattened per sample in ``order``; with ``backward`` (numpy), dA_prev = dZ put back."""
    move = "torch.movedim" if lib == "torch" else "np.moveaxis"
    batched = form.kind not in (BARE, UNBATCHED)
    lines = [f"x = {_to_nc(form, 'A_prev', lib)}  # (N, C, *spatial)"]
    if order == "channels-last":
        lines.append(f"x_ordered = {move}(x, 1, -1)  # channels-last order (Keras): each position's channels together")
    else:
        lines.append("x_ordered = x  # channels-first order (PyTorch): channel by channel")
    lines.append("features = x_ordered.reshape(x.shape[0], -1)  # (N, C * prod(spatial))")
    lines.append("Z = features" if batched else "Z = features[0]")
    if lib == "numpy":
        lines.append("Z_out = Z")
    if backward:
        lines.append("g = dZ.reshape(x_ordered.shape)  # dA_prev: dZ put back where each entry came from")
        if order == "channels-last":
            lines.append("g = np.moveaxis(g, -1, 1)")
        lines.append(f"dA_prev_out = {_from_nc(form, 'g', 'numpy')}")
    return lines


def _numpy_dense(result: Result, lines: list[str]) -> list[str]:
    """Z[n, j] = sum_i A_prev[n, i] W[j, i] + b[j] as loops; dW, db, dA_prev by the same loops."""
    p = result.problem
    in_out = p.params["W_layout"] == "in-out"
    batched = p.form.kind not in (BARE, UNBATCHED)
    lines += [
        "A = A_prev" + ("" if batched else "[None]") + "  # (N, in)",
        "K = W.T  # (out, in): W was given (in, out)" if in_out else "K = W  # (out, in), as nn.Linear's",
        "N, n_in = A.shape",
        "n_out = K.shape[0]",
        "bias = np.broadcast_to(b, (n_out,))",
        "Z = np.zeros((N, n_out))",
        "for n in range(N):",
        "    for j in range(n_out):  # one overlay: unit j of sample n",
        "        Z[n, j] = sum(A[n, i] * K[j, i] for i in range(n_in)) + bias[j]",
        "Z_out = Z" + ("" if batched else "[0]"),
    ]
    if result.is_backward:
        lines += [
            "G = dZ" + ("" if batched else "[None]") + "  # (N, out)",
            "dK = np.zeros_like(K)",
            "dbias = np.zeros(n_out)",
            "dA = np.zeros_like(A)",
            "for n in range(N):",
            "    for j in range(n_out):",
            "        dbias[j] += G[n, j]",
            "        for i in range(n_in):",
            "            dK[j, i] += G[n, j] * A[n, i]",
            "            dA[n, i] += G[n, j] * K[j, i]",
            "dW_out = dK.T  # back to (in, out), as W was given" if in_out else "dW_out = dK",
            "db_out = dbias.reshape(np.shape(b)) if np.ndim(b) else dbias.sum()",
            "dA_prev_out = dA" + ("" if batched else "[0]"),
        ]
    return lines


# -- numpy loops --------------------------------------------------------------------------------

NUMPY_ACTIVATIONS = {
    "relu": ("np.maximum(A_prev, 0.0)", "dZ * (A_prev > 0)"),
    "leaky-relu": ("np.where(A_prev > 0, A_prev, {slope} * A_prev)", "dZ * np.where(A_prev > 0, 1.0, {slope})"),
    "sigmoid": ("1.0 / (1.0 + np.exp(-A_prev))", "dZ * Z * (1.0 - Z)"),
    "tanh": ("np.tanh(A_prev)", "dZ * (1.0 - Z**2)"),
}


def _numpy_body(result: Result) -> list[str] | None:
    p = result.problem
    lines = _inputs(result, "numpy")
    lines += ["", "# -- the layer, loop by loop --------------------------------------------------------"]
    if p.layer in NUMPY_ACTIVATIONS:
        forward, backward = NUMPY_ACTIVATIONS[p.layer]
        slope = repr(float(p.params.get("slope", 0.01)))
        lines.append(f"Z = {forward.format(slope=slope)}")
        lines.append("Z_out = Z")
        if result.is_backward:
            lines.append(f"dA_prev_out = {backward.format(slope=slope)}")
        return lines
    if p.layer in ("max-pool", "avg-pool"):
        return _numpy_pool(result, lines)
    if p.layer == "conv-transpose":
        return _numpy_transpose(result, lines)
    if p.layer == "dense":
        return _numpy_dense(result, lines)
    if p.layer == "flatten":
        lines += _flatten_lines(p.form, p.params["order"], "numpy", backward=result.is_backward)
        return lines
    if p.layer != "conv":
        return None
    g, form, d = p.geom, p.form, p.geom.dims
    spatial = ", ".join(
        f"slice({before}, {before} + A.shape[{axis + 2}])" for axis, (before, _) in enumerate(g.padding)
    )
    lines += [
        f"A = {_to_nc(form, 'A_prev', 'numpy')}  # (N, C_in, *spatial)",
        f"K = {_kernel_to_nc(form, 'W', 'numpy')}  # (C_out, C_in/groups, *k)",
        "bias = b.reshape(-1)",
        f"stride, dilation, groups = {tuple(g.stride)}, {tuple(g.dilation)}, {g.groups}",
        f"padding = {tuple(tuple(pair) for pair in g.padding)}  # (before, after) per axis",
    ]
    if p.mode_name == "convolution":
        lines.append(f"K = np.flip(K, axis={tuple(range(2, d + 2))})  # convolution: the kernel flipped")
    lines += [
        "N, C_in = A.shape[:2]",
        "C_out, C_group = K.shape[:2]",
        "k = K.shape[2:]",
        "A_pad = np.pad(A, ((0, 0), (0, 0)) + padding)",
        "out = tuple((A_pad.shape[2 + i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(len(k)))",
        "per_group = C_out // groups",
        "",
        "",
        "def window(position):",
        '    """The slices of A_pad under the kernel at this output position (dilated taps)."""',
        "    return tuple(",
        "        slice(o * s, o * s + dl * (kk - 1) + 1, dl) for o, s, dl, kk in zip(position, stride, dilation, k)",
        "    )",
        "",
        "",
        "Z_nc = np.zeros((N, C_out) + out)",
        "for n in range(N):",
        "    for c in range(C_out):",
        "        channels = slice((c // per_group) * C_group, (c // per_group + 1) * C_group)",
        "        for position in np.ndindex(*out):",
        "            A_slice = A_pad[(n, channels) + window(position)]",
        "            Z_nc[(n, c) + position] = np.sum(A_slice * K[c]) + bias[c]",
        f"Z_out = {_from_nc(form, 'Z_nc', 'numpy')}",
    ]
    if result.is_backward:
        lines += [
            "",
            f"G = {_to_nc(form, 'dZ', 'numpy')}  # dZ as (N, C_out, *out)",
            "dA_pad = np.zeros(A_pad.shape)",
            "dK = np.zeros(K.shape)",
            "dbias = np.zeros(C_out)",
            "for n in range(N):",
            "    for c in range(C_out):",
            "        channels = slice((c // per_group) * C_group, (c // per_group + 1) * C_group)",
            "        for position in np.ndindex(*out):",
            "            where = (n, channels) + window(position)",
            "            dz = G[(n, c) + position]",
            "            dA_pad[where] += K[c] * dz",
            "            dK[c] += A_pad[where] * dz",
            "            dbias[c] += dz",
            f"dA = dA_pad[(slice(None), slice(None), {spatial})]  # the padding's share is discarded",
        ]
        if p.mode_name == "convolution":
            lines.append(f"dK = np.flip(dK, axis={tuple(range(2, d + 2))})  # dW for W as given")
        lines += [
            f"dW_out = {_kernel_from_nc(form, 'dK')}",
            "db_out = dbias.reshape(np.shape(b))",
            f"dA_prev_out = {_from_nc(form, 'dA', 'numpy')}",
        ]
    return lines


def _numpy_pool(result: Result, lines: list[str]) -> list[str] | None:
    """Max or average pooling with its loops: each window's max (or mean), and its gradient sent back."""
    p = result.problem
    g, form, params = p.geom, p.form, p.params
    if p.layer == "max-pool" and params.get("ties") != "first":
        return None
    spatial = ", ".join(
        f"slice({before}, {before} + A.shape[{axis + 2}])" for axis, (before, _) in enumerate(g.padding)
    )
    lines += [
        f"A = {_to_nc(form, 'A_prev', 'numpy')}  # (N, C, *spatial)",
        f"size, stride, dilation = {tuple(g.kernel_size)}, {tuple(g.stride)}, {tuple(g.dilation)}",
        f"padding = {tuple(tuple(pair) for pair in g.padding)}  # (before, after) per axis",
        f"out = {tuple(g.output_size)}  # {'ceil' if params['ceil_mode'] else 'floor'} mode",
        "N, C = A.shape[:2]",
    ]
    if p.layer == "max-pool":
        lines.append("A_pad = np.pad(A, ((0, 0), (0, 0)) + padding, constant_values=-np.inf)  # padding never wins")
    else:
        lines += [
            "A_pad = np.pad(A, ((0, 0), (0, 0)) + padding)",
            "inside = np.pad(np.ones(A.shape[2:]), padding)  # 1 on A_prev, 0 on the padding",
        ]
    lines += [
        "",
        "",
        "def window(position):",
        '    """The slices of A_pad under the window at this output position (cut at the padded edge)."""',
        "    return tuple(",
        "        slice(o * s, o * s + dl * (kk - 1) + 1, dl) for o, s, dl, kk in zip(position, stride, dilation, size)",
        "    )",
        "",
        "",
    ]
    if p.layer == "avg-pool":
        count = (
            "window_values.size  # count_padding: the padding counts"
            if params["count_padding"]
            else "inside[window(position)].sum()  # only the taps on A_prev count"
        )
        lines += ["def count(position, window_values):", f"    return {count}", "", ""]
    lines += [
        "Z_nc = np.zeros((N, C) + out)",
        "for n in range(N):",
        "    for c in range(C):",
        "        for position in np.ndindex(*out):",
        "            values = A_pad[(n, c) + window(position)]",
    ]
    if p.layer == "max-pool":
        lines.append("            Z_nc[(n, c) + position] = values.max()")
    else:
        lines.append("            Z_nc[(n, c) + position] = values.sum() / count(position, values)")
    lines.append(f"Z_out = {_from_nc(form, 'Z_nc', 'numpy')}")
    if not result.is_backward:
        return lines
    lines += [
        "",
        f"G = {_to_nc(form, 'dZ', 'numpy')}  # dZ as (N, C, *out)",
        "dA_pad = np.zeros(A_pad.shape)",
        "for n in range(N):",
        "    for c in range(C):",
        "        for position in np.ndindex(*out):",
        "            where = (n, c) + window(position)",
        "            values = A_pad[where]",
        "            share = np.zeros(values.shape)",
    ]
    if p.layer == "max-pool":
        lines.append("            share[np.unravel_index(np.argmax(values), values.shape)] = 1.0  # the first maximum")
    else:
        lines.append("            share[...] = 1.0 / count(position, values)")
    lines += [
        "            dA_pad[where] += share * G[(n, c) + position]",
        f"dA = dA_pad[(slice(None), slice(None), {spatial})]  # the padding's share is discarded",
        f"dA_prev_out = {_from_nc(form, 'dA', 'numpy')}",
    ]
    return lines


def _numpy_transpose(result: Result, lines: list[str]) -> list[str]:
    """A transposed convolution with its loops: each input entry scatters its kernel onto Z."""
    p = result.problem
    form, params, d = p.form, p.params, p.geom.dims
    padding = tuple(tuple(pair) for pair in params["padding"])
    lines += [
        f"A = {_to_nc(form, 'A_prev', 'numpy')}  # (N, C_in, *spatial)",
        f"K = {_kernel_to_nc(form, 'W', 'numpy')}  # (C_in, C_out/groups, *k)",
        "bias = b.reshape(-1)",
        f"stride, dilation, groups = {tuple(params['stride'])}, {tuple(params['dilation'])}, {params['groups']}",
        f"padding = {padding}  # (before, after) per axis, cropped from the full output",
        f"output_padding = {tuple(params['output_padding'])}  # extra positions at the end of each axis",
    ]
    if params["mode"] == "convolution":
        lines.append(f"K = np.flip(K, axis={tuple(range(2, d + 2))})  # convolution: the kernel flipped")
    lines += [
        "N, C_in = A.shape[:2]",
        "per_group = K.shape[1]",
        "C_out = per_group * groups",
        "in_group = C_in // groups",
        "k = K.shape[2:]",
        "full = tuple(",
        "    (A.shape[2 + i] - 1) * stride[i] + dilation[i] * (k[i] - 1) + 1 + output_padding[i] for i in range(len(k))",
        ")",
        "crop = tuple(slice(before, size - after) for (before, after), size in zip(padding, full))",
        "",
        "",
        "def window(position):",
        '    """The slices of the full output this input position scatters onto (dilated taps)."""',
        "    return tuple(",
        "        slice(o * s, o * s + dl * (kk - 1) + 1, dl) for o, s, dl, kk in zip(position, stride, dilation, k)",
        "    )",
        "",
        "",
        "Z_full = np.zeros((N, C_out) + full)",
        "for n in range(N):",
        "    for c in range(C_in):",
        "        outs = slice((c // in_group) * per_group, (c // in_group + 1) * per_group)",
        "        for position in np.ndindex(*A.shape[2:]):",
        "            Z_full[(n, outs) + window(position)] += A[(n, c) + position] * K[c]",
        "Z_nc = Z_full[(slice(None), slice(None)) + crop] + bias.reshape((1, C_out) + (1,) * len(k))",
        f"Z_out = {_from_nc(form, 'Z_nc', 'numpy')}",
    ]
    if not result.is_backward:
        return lines
    lines += [
        "",
        f"G = {_to_nc(form, 'dZ', 'numpy')}  # dZ as (N, C_out, *out)",
        "G_full = np.zeros(Z_full.shape)",
        "G_full[(slice(None), slice(None)) + crop] = G  # the cropped positions get no gradient",
        "dA = np.zeros(A.shape)",
        "dK = np.zeros(K.shape)",
        "for n in range(N):",
        "    for c in range(C_in):",
        "        outs = slice((c // in_group) * per_group, (c // in_group + 1) * per_group)",
        "        for position in np.ndindex(*A.shape[2:]):",
        "            g = G_full[(n, outs) + window(position)]",
        "            dA[(n, c) + position] = np.sum(g * K[c])",
        "            dK[c] += A[(n, c) + position] * g",
        "dbias = G.sum(axis=(0,) + tuple(range(2, G.ndim)))",
    ]
    if params["mode"] == "convolution":
        lines.append(f"dK = np.flip(dK, axis={tuple(range(2, d + 2))})  # dW for W as given")
    if p.has_weights:
        lines += [f"dW_out = {_kernel_from_nc(form, 'dK')}", "db_out = dbias.reshape(np.shape(b))"]
    lines.append(f"dA_prev_out = {_from_nc(form, 'dA', 'numpy')}")
    return lines
