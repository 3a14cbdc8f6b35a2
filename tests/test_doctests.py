"""Every example in convgrad's docstrings runs, as printed, in the test suite."""

from __future__ import annotations

import doctest
import importlib
import warnings

import pytest
from conftest import ROOT

#: The modules whose docstrings hold examples people copy: the front door and the Python API.
MODULES = ["convgrad", "convgrad.api", "convgrad.render.notebook", "convgrad.errors", "convgrad.files"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, name, globs={})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for test in tests:
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) in {name} failed (see the output above)"


def test_the_api_has_examples():
    # forward, backward, Result and its text and record methods each show a runnable example.
    module = importlib.import_module("convgrad.render.notebook")
    tests = {t.name.removeprefix("convgrad.render.notebook."): t for t in doctest.DocTestFinder().find(module)}
    for name in (
        "forward",
        "backward",
        "Result",
        "Result.table",
        "Result.explain",
        "Result.cell",
        "Result.to_dict",
        "Result.save",
    ):
        assert tests.get(name) and tests[name].examples, f"{name} has no example"


def test_an_altered_example_fails():
    # The runner above must be able to fail: the same machinery on a wrong expectation.
    test = doctest.DocTestParser().get_doctest(
        ">>> import convgrad\n>>> convgrad.forward([1, 2], [1]).Z.tolist()\n[1.0, 3.0]\n", {}, "altered", None, 0
    )
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda text: None)
    assert runner.summarize(verbose=False).failed == 1


def test_help_and_dir_list_the_public_names():
    import convgrad

    listed = dir(convgrad)
    for name in convgrad.__all__:
        assert name in listed
        assert name in convgrad.__doc__
    text = convgrad.backward.__doc__
    for keyword in (
        "stride",
        "padding",
        "dilation",
        "groups",
        "layout",
        "mode",
        "dims",
        "layer",
        "exact",
        "symbolic",
        "allow_nonfinite",
        "max_elements",
        "dZ",
    ):
        assert keyword in text, keyword
    assert "Examples" in convgrad.Result.__doc__
    assert (ROOT / "convgrad" / "__init__.py").exists()


def test_import_stays_lean():
    # import convgrad loads no numpy; reaching the API loads numpy but not the views (rich) yet.
    import subprocess
    import sys

    code = (
        "import sys, convgrad\n"
        "before = {m for m in ('numpy', 'rich') if m in sys.modules}\n"
        "convgrad.backward, convgrad.Result\n"
        "after = {m for m in ('numpy', 'rich', 'sympy', 'torch') if m in sys.modules}\n"
        "print(sorted(before), sorted(after))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[] ['numpy']"
