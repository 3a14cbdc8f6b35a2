"""Any array in, numpy out; errors raised to Python name keywords, the CLI's name flags."""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest
from conftest import ROOT, make_runner

import convgrad
from convgrad.cli import app
from convgrad.errors import OPTIONS, option, surface, worded


def torch_or_skip():
    return pytest.importorskip("torch", reason="torch is not installed: the tensor tests need it")


def test_torch_tensors_in_numpy_out():
    torch = torch_or_skip()
    A = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64, requires_grad=True)  # requires grad: detached
    W = torch.tensor([[0.3, 0.5]], dtype=torch.float64)
    dZ = torch.tensor([[-0.1, 0.2]], dtype=torch.float64)
    r = convgrad.backward(A, W, dZ=dZ, b=torch.zeros(1, dtype=torch.float64))
    for value in (r.Z, r.dW, r.db, r.dA_prev):
        assert isinstance(value, (np.ndarray, np.generic))
    expected = convgrad.backward([[1, 2, 3]], [[0.3, 0.5]], dZ=[[-0.1, 0.2]], b=[0])
    np.testing.assert_array_equal(r.dA_prev, expected.dA_prev)
    np.testing.assert_array_equal(r.dW, expected.dW)


def test_a_tensor_is_copied():
    torch = torch_or_skip()
    A = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    r = convgrad.forward(A, torch.tensor([1.0, 1.0], dtype=torch.float64))
    A[0] = 100.0
    assert r.Z.tolist() == [3.0, 5.0]  # computed only now, from the copy taken at the call


def test_torch_agrees_on_a_batched_layer():
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.standard_normal((2, 3, 5, 5)), requires_grad=True)
    w = torch.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    z = torch.nn.functional.conv2d(x, w, stride=2, padding=1)
    g = torch.tensor(rng.standard_normal(tuple(z.shape)))
    z.backward(g)
    r = convgrad.backward(x, w, dZ=g, stride=2, padding=1)
    np.testing.assert_allclose(r.Z, z.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.dW, w.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.dA_prev, x.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_a_tensor_on_another_device_is_refused_in_one_line():
    torch = torch_or_skip()
    with pytest.raises(convgrad.InputError) as err:
        convgrad.forward([1, 2, 3], torch.ones(2, device="meta"))
    assert str(err.value) == "W is a Tensor on the meta device 'meta': call W.cpu() first, convgrad computes on the CPU"


class DLPackOnly:
    """An array from a library convgrad knows nothing of: DLPack and nothing else."""

    def __init__(self, array, device=(1, 0)):
        self.array, self.device_code = np.asarray(array, dtype=np.float64), device

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.device_code


class ArrayOnly:
    def __init__(self, array):
        self.array = np.asarray(array, dtype=np.float64)

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)


class CudaLike(ArrayOnly):
    """What a CUDA tensor shows: a device whose type is not the CPU, and a cpu() method."""

    class device:
        type = "cuda"

        def __str__(self):
            return "cuda:0"

    device = device()  # type: ignore[assignment,misc]

    def cpu(self):
        return ArrayOnly(self.array)


def test_dlpack_and_array_interface_objects():
    r = convgrad.backward(DLPackOnly([1, 2, 3]), ArrayOnly([0.3, 0.5]), dZ=DLPackOnly([-0.1, 0.2]))
    np.testing.assert_allclose(r.dW, [0.3, 0.4])
    assert isinstance(r.dA_prev, np.ndarray)


def test_an_array_on_a_gpu_gets_one_line_saying_how_to_move_it():
    with pytest.raises(convgrad.InputError) as err:
        convgrad.forward(DLPackOnly([1, 2, 3], device=(2, 0)), [1, 1])
    assert str(err.value) == (
        "A_prev is a DLPackOnly on the CUDA device 0: copy it to the host first, convgrad computes on the CPU"
    )
    with pytest.raises(convgrad.InputError) as err:
        convgrad.backward([1, 2, 3], [1, 1], dZ=CudaLike([1, 1]))
    assert (
        str(err.value)
        == "dZ is a CudaLike on the cuda device 'cuda:0': call dZ.cpu() first, convgrad computes on the CPU"
    )
    assert convgrad.backward([1, 2, 3], [1, 1], dZ=CudaLike([1, 1]).cpu()).dW.tolist() == [3.0, 5.0]


def test_max_elements():
    with pytest.raises(
        convgrad.InputError, match=r"A_prev has 10 entries, over the limit of 5 \(raise it with max_elements=\)"
    ):
        convgrad.forward(np.ones(10), [1, 1], max_elements=5)
    assert convgrad.forward(np.ones(10), [1, 1], max_elements=10).Z.shape == (9,)
    with pytest.raises(convgrad.UsageError, match="max_elements= must be a whole number"):
        convgrad.forward([1, 2], [1], max_elements=0)


# -- one wording mechanism for every message that names a setting -------------------------------

#: Modules the Python API reaches: a setting they name goes through errors.option().
API_MODULES = ["api.py", "problem.py", "numbers.py", "audits.py", "selection.py", "files.py", "limits.py", "layers"]
#: Messages only the command line can reach (reading files, limits on output size), worded as flags.
CLI_ONLY = ("--max-input-mb", "--max-output-mb", "--overlays none", "--overlays 'n", "--format jsonl", "--cell ")


def string_constants(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value


def test_api_messages_name_settings_through_option():
    found = []
    for entry in API_MODULES:
        base = ROOT / "convgrad" / entry
        for path in [base] if base.is_file() else sorted(base.rglob("*.py")):
            for line, text in string_constants(path):
                for flag in re.findall(r"--(?:[a-zA-Z][\w-]*(?: '?[\w=]*)?|$)", text):
                    allowed = any(flag.startswith(cli) for cli in CLI_ONLY)
                    # limits.check_output_size is the CLI's alone (the API writes no output files)
                    if not (allowed and path.name == "limits.py"):
                        found.append(f"{path.relative_to(ROOT)}:{line}: {flag}")
    assert not found, "name these with errors.option(): " + "; ".join(found)


def test_option_words_each_surface():
    text = f"use {option('allow_nonfinite')} or {option('dZ')}"
    assert worded(text, "python") == "use allow_nonfinite=True or dZ="
    assert worded(text, "cli") == "use --allow-nonfinite or --dZ"
    with surface("cli"):
        assert worded(text) == "use --allow-nonfinite or --dZ"
    assert worded(text) == "use allow_nonfinite=True or dZ="
    assert all(cli.startswith("--") and not python.startswith("-") for cli, python in OPTIONS.values())
    with pytest.raises(KeyError):
        option("no_such_setting")


def _exact_sigmoid():
    return convgrad.forward([1.0, 2.0], layer="sigmoid", exact=True)


#: (Python call, the keyword it must name, the CLI arguments that meet the same message, its flag)
CASES = [
    (
        lambda: convgrad.forward([1, float("nan")], [1]),
        "allow_nonfinite=True",
        ["forward", "--A-prev", "[1, NaN]", "--W", "1"],
        "--allow-nonfinite",
    ),
    (lambda: convgrad.backward([1, 2, 3], [1, 1]), "dZ=", ["backward", "--A-prev", "1 2 3", "--W", "1 1"], "--dZ"),
    (
        lambda: convgrad.forward(["x", 1], [1]),
        "symbolic=True",
        ["forward", "--A-prev", "x 1", "--W", "1"],
        "--symbolic",
    ),
    (
        lambda: convgrad.forward(["1e309", 1], [1]),
        "exact=True",
        ["forward", "--A-prev", "1e309 1", "--W", "1"],
        "--exact",
    ),
    (
        lambda: convgrad.forward([1e300, 1e300], [1e300, 1e300]).Z,
        "exact=True",
        ["forward", "--A-prev", "1e300 1e300", "--W", "1e300 1e300"],
        "--exact",
    ),
    (_exact_sigmoid, "exact=True", ["forward", "--A-prev", "1 2", "--layer", "sigmoid", "--exact"], "--exact"),
    (
        lambda: convgrad.forward(np.ones(10), [1], max_elements=3),
        "max_elements=",
        ["forward", "--A-prev", "1 1 1 1 1 1 1 1 1 1", "--W", "1", "--max-elements", "3"],
        "--max-elements",
    ),
    (
        lambda: convgrad.backward([1, 2, 3], [1, 1], dZ=[1, 1]).cell("W[5]"),
        "cell 'W[5]'",
        ["backward", "--A-prev", "1 2 3", "--W", "1 1", "--dZ", "1 1", "--cell", "W[5]"],
        "--cell 'W[5]'",
    ),
    (
        lambda: convgrad.backward([1, 2, 3], [1, 1], dZ=[1, 1]).table(overlays="5-3"),
        "overlays=:",
        ["backward", "--A-prev", "1 2 3", "--W", "1 1", "--dZ", "1 1", "--overlays", "5-3"],
        "--overlays:",
    ),
]


CASES += [
    (lambda: convgrad.forward(None, [1]), "with A_prev=", ["forward", "--W", "1"], "with --A-prev"),
    (
        lambda: convgrad.forward({"shape": [3]}, [1]),
        "needs symbolic=True",
        ["forward", "--A-prev-shape", "3", "--W", "1"],
        "needs --symbolic",
    ),
    (
        lambda: convgrad.forward([1, 2, 3], [1, 1]).cell("W[0]"),
        "cell shows gradients",
        ["forward", "--A-prev", "1 2 3", "--W", "1 1", "--cell", "W[0]"],
        "--cell shows gradients",
    ),
    (
        lambda: convgrad.backward([1, 2, 3], dZ=[1, 1, 1], layer="relu").cell("W[0]"),
        "(cell A_prev[...])",
        ["backward", "--A-prev", "1 2 3", "--dZ", "1 1 1", "--layer", "relu", "--cell", "W[0]"],
        "(--cell A_prev[...])",
    ),
]


@pytest.mark.parametrize(("call", "keyword", "argv", "flag"), CASES)
def test_python_names_keywords_and_the_cli_names_flags(call, keyword, argv, flag):
    with pytest.raises(convgrad.ConvgradError) as err:
        call()
    text = str(err.value)
    assert keyword in text and " --" not in f" {text}" and "\ue000" not in text, text
    result = make_runner().invoke(app, argv)
    assert result.exit_code == 2
    assert flag in result.stderr and keyword not in result.stderr.replace(flag, ""), result.stderr
