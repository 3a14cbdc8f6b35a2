"""The Result shows itself: its text views, JSON and .npz equal what the CLI prints and saves."""

from __future__ import annotations

import html
import io
import json

import numpy as np
import pytest
from conftest import ROOT, make_runner
from test_golden import SAMPLE_NAMES

import convgrad
from convgrad.cli import app
from convgrad.reader import parse_json

WIDTH = 100


def load(sample: str) -> dict:
    path = ROOT / "samples" / f"{sample}.json"
    return parse_json(path.read_text(encoding="utf-8"), str(path))


def solve(sample: str, command: str = "backward", **settings) -> convgrad.Result:
    document = {**load(sample), **settings}
    for key in ("description", "generated_by", "$schema"):
        document.pop(key, None)
    if command == "forward":
        for key in ("dZ", "dz", "delta", "upstream", "grad_output", "dY", "dy"):
            document.pop(key, None)
    return getattr(convgrad, command)(**document)


def cli(*argv: str) -> str:
    result = make_runner().invoke(app, list(argv), env={"COLUMNS": str(WIDTH), "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_table_is_the_cli_table(sample):
    path = f"samples/{sample}.json"
    assert solve(sample).table(overlays="all") == cli("backward", path, "--overlays", "all")
    assert solve(sample, "forward").table() == cli("forward", path)


@pytest.mark.parametrize("sample", ["seed_1d", "basic_2d", "stride2_pad1", "batch_channels", "nhwc", "relu"])
def test_explain_is_the_cli_explain(sample):
    path = f"samples/{sample}.json"
    assert solve(sample).explain() == cli("backward", path, "--explain")


@pytest.mark.parametrize(
    ("sample", "entry"),
    [("seed_1d", "W[0]"), ("seed_1d", "A_prev[1]"), ("basic_2d", "W[0,1]"), ("relu", "A_prev[0,1]")],
)
def test_cell_is_the_cli_cell(sample, entry):
    text = solve(sample).cell(entry)
    assert text == cli("backward", f"samples/{sample}.json", "--cell", entry, "--overlays", "none")
    assert "touched" in text or "terms" in text


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_to_dict_is_the_cli_json(sample):
    path = f"samples/{sample}.json"
    assert solve(sample).to_dict() == json.loads(cli("backward", path, "--json", "--overlays", "all"))
    if sample in ("sigmoid",):  # not rational: exact arithmetic is refused by both
        return
    exact = solve(sample, exact=True)
    assert exact.to_dict(overlays="auto") == json.loads(cli("backward", path, "--json", "--exact"))


@pytest.mark.parametrize("sample", ["seed_1d", "basic_2d", "coursera_nhwc", "relu", "max_pool"])
def test_save_writes_what_save_writes(sample, tmp_path):
    ours, theirs = tmp_path / "api.npz", tmp_path / "cli.npz"
    solve(sample).save(str(ours))
    cli("backward", f"samples/{sample}.json", "--save", str(theirs))
    a, b = np.load(ours), np.load(theirs)
    assert sorted(a.files) == sorted(b.files) and "dA_prev" in a.files
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name])
        assert a[name].shape == b[name].shape


def test_save_refuses_as_the_cli_does(tmp_path):
    r = convgrad.backward([1, 2, 3], [1, 1], dZ=[1, 1])
    with pytest.raises(convgrad.InputError, match="is a directory"):
        r.save(str(tmp_path))
    with pytest.raises(
        convgrad.UsageError, match=r"^save\(\) writes numpy float arrays; exact results are in to_dict\(\)"
    ):
        convgrad.backward([1, 2, 3], [1, 1], dZ=[1, 1], exact=True).save(str(tmp_path / "x.npz"))
    assert not list(tmp_path.iterdir())  # nothing half-written
    target = tmp_path / "old.npz"
    target.write_bytes(b"old")
    r.save(str(target))  # an existing file is replaced whole
    assert np.load(target)["Z"].tolist() == [3.0, 5.0]


def test_repr_is_one_screen():
    r = convgrad.backward(np.ones((2, 3, 20, 20)), np.ones((4, 3, 3, 3)), dZ=np.ones((2, 4, 18, 18)))
    text = repr(r)
    lines = text.splitlines()
    assert len(lines) <= 30 and max(map(len, lines)) <= 120
    assert lines[0].startswith("<convgrad.Result backward: conv, 2-D, 2592 overlays")
    for name in ("Z = ", "dW = ", "db = ", "dA_prev = ", "(2, 3, 20, 20)", "(4, 3, 3, 3)"):
        assert name in text
    assert "Z = [3, 5]" in repr(convgrad.forward([1, 2, 3], [1, 1]))
    exact = repr(convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2], exact=True))
    assert "dW = [3/10, 2/5]" in exact and "db = 1/10" in exact


def test_rich_console_draws_the_table():
    from rich.console import Console

    r = solve("seed_1d")
    buffer = io.StringIO()
    Console(file=buffer, width=WIDTH, color_system=None, force_terminal=False).print(r)
    drawn = "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
    assert drawn == r.table()


def test_repr_html_is_escaped_small_and_says_how_to_see_the_rest():
    r = convgrad.backward(np.ones((1, 1, 6, 6)), np.ones((1, 1, 2, 2)), dZ=np.ones((1, 1, 5, 5)))
    page = r._repr_html_()
    assert "Showing overlays 1-3 of 25" in page and 'result.table(overlays="all")' in page
    assert "Overlay 4" not in page and len(page) < 20_000
    assert "<script" not in page
    small = convgrad.forward([1, 2], [1])
    assert "All 2 overlays shown" in small._repr_html_()
    # Text that looks like markup is escaped: the table's "<" and "&" come through as entities.
    inner = page.split("<pre", 1)[1].split(">", 1)[1].split("</pre>", 1)[0]
    assert html.unescape(inner).startswith("backward · 2-D")
    assert "<" not in inner


def test_a_huge_problem_shows_its_first_overlays():
    r = convgrad.forward(np.ones((1, 1, 30, 30)), np.ones((1, 1, 2, 2)))
    text = r.table()
    assert r.overlay_count == 841 and len(text.splitlines()) < 100  # the first 10 overlays, as the CLI
    assert text == cli_table_for_arrays(r)


def cli_table_for_arrays(r) -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/p.json"
        with open(path, "w") as handle:
            json.dump({"A_prev": r.problem.A_prev.tolist(), "W": r.problem.W.tolist()}, handle)
        return cli("forward", path)
