"""The Python API's public face: ``forward``, ``backward`` and a ``Result`` that shows itself.

``Result`` here is the engine's ``api.Result`` with the views added: ``repr`` is a one-screen
summary, ``table``, ``explain`` and ``cell`` return the text the command line prints, rich
consoles (and IPython with rich) draw the terminal table, Jupyter shows ``_repr_html_``,
``to_dict`` is the ``--json`` document and ``save`` writes the ``--save`` archive.
The views are imported when first used, so reaching ``convgrad.backward`` costs numpy only.
"""

from __future__ import annotations

import html
from typing import Any

from .. import api, chains

#: The width the text views use unless told (the CLI's when COLUMNS=100).
TEXT_WIDTH = 100
#: Overlays the notebook's HTML view shows before it points at table(overlays="all").
HTML_OVERLAYS = 3
#: Characters of the HTML view's text past which it is cut (a huge problem's totals).
HTML_TEXT_LIMIT = 20_000
#: Lines each total takes at most in repr().
REPR_LINES = 6


class Result(api.Result):
    """A forward or backward pass: the totals as numpy arrays, the overlays on request.

    Attributes
    ----------
    Z : numpy.ndarray
        The layer's output, shaped like ``dZ``: ``(*out)`` for bare arrays, ``(C_out, *out)``
        unbatched, ``(N, C_out, *out)`` batched, or channels-last (``(N, *out, C_out)``).
    dW : numpy.ndarray or None
        The gradient of the loss with respect to ``W``, shaped like ``W``; None after ``forward``
        and for layers without weights.
    db : numpy.ndarray, scalar or None
        The bias gradient: a scalar for bare arrays, else shaped like ``b`` as given
        (``(C_out,)``, or Coursera's ``(1, 1, 1, C_out)``).
    dA_prev : numpy.ndarray or None
        The gradient with respect to ``A_prev``, shaped like ``A_prev``; None after ``forward``.
    config : dict
        The resolved configuration and every shape, as JSON values.
    overlay_count : int
        How many overlays (window positions times samples and filters) the pass has.

    Float problems give float64 arrays (float32 when every input was float32); ``exact=True``
    gives object arrays of ``fractions.Fraction``, ``symbolic=True`` of sympy expressions.
    The arrays are read-only copies: changing the inputs afterwards changes nothing here.

    Examples
    --------
    >>> import convgrad
    >>> r = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2])
    >>> r.dW.round(12).tolist(), round(float(r.db), 12)
    ([0.3, 0.4], 0.1)
    >>> r.overlay_count
    2
    >>> print(r.table().splitlines()[0])
    backward · 1-D cross-correlation · 2 overlays
    """

    # -- text, as the command line prints it ------------------------------------------------

    def table(
        self, overlays: str = "auto", *, precision: int | None = None, view: str = "auto", width: int = TEXT_WIDTH
    ) -> str:
        """The terminal table as plain text: what ``convgrad forward`` or ``backward`` prints.

        Parameters
        ----------
        overlays : str, default "auto"
            Which overlays: "auto" (all up to 50, else the first 10, as the CLI), "all", "none",
            numbers and ranges ("1-3,5"), or a filter ("n=0 c_out=1 pos=0,1").
        precision : int, optional
            Significant digits shown (default 12, as the CLI).
        view : {"auto", "table", "blocks"}
            One row per overlay, or one block each ("auto" picks by the width).
        width : int, default 100
            Columns of text (the CLI's, run with COLUMNS set to the same number).

        Returns
        -------
        str
            The text, without colour codes or trailing spaces.

        Examples
        --------
        >>> import convgrad
        >>> r = convgrad.forward([1, 2, 3], [1, 1])
        >>> print(r.table(overlays="none").splitlines()[-1])
        Z  [3, 5]
        """
        return self._text(overlays, precision=precision, view=view, width=width)

    def explain(self, overlays: str = "auto", *, precision: int | None = None, width: int = TEXT_WIDTH) -> str:
        """The overlays told in sentences: what the CLI prints with ``--explain``.

        ``overlays``, ``precision`` and ``width`` as in ``table``.

        Examples
        --------
        >>> import convgrad
        >>> text = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2]).explain()
        >>> "Overlay 1" in text
        True
        """
        return self._text(overlays, precision=precision, width=width, explain=True)

    def cell(self, entry: str, *, precision: int | None = None, width: int = TEXT_WIDTH) -> str:
        """Every overlay that touched one entry, and the sum they make.

        What the CLI prints with ``--cell ENTRY --overlays none``: the header, the totals, the
        audits, then the terms behind the entry.

        Parameters
        ----------
        entry : str
            An entry in the user's form: ``"W[0,0]"``, ``"A_prev[1]"``, ``"b[0]"`` (backward; their
            gradients), or ``"Z[0]"`` (the overlay that made it).

        Examples
        --------
        >>> import convgrad
        >>> r = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2])
        >>> print(r.cell("W[0]").splitlines()[-1])
        dW[0] = sum of the 2 terms = 0.3
        """
        return self._text("none", precision=precision, width=width, cell=entry)

    def _text(self, overlays: str, *, width: int, cell: str | None = None, **options: Any) -> str:
        import io

        from rich.console import Console

        buffer = io.StringIO()
        console = Console(
            file=buffer,
            width=width,
            highlight=False,
            soft_wrap=False,
            color_system=None,
            force_terminal=False,
            force_jupyter=False,
        )
        for renderable in self._renderables(console, overlays, cell=cell, **options):
            console.print(renderable, crop=False)
        return "".join(line.rstrip(" ") + "\n" for line in buffer.getvalue().splitlines())

    def _renderables(self, console: Any, overlays: str = "auto", cell: str | None = None, **options: Any) -> Any:
        from ..selection import AUTO, parse_selection
        from .human import render

        selection = parse_selection(overlays)
        geom = self.problem.geom
        if selection.kind == "filter" and selection.is_empty(geom):
            from ..errors import UsageError, option

            raise UsageError(
                f"{option('overlays')} {selection.text!r} selects none of the {geom.overlay_count} overlays"
            )
        indices: Any = selection.indices(geom)
        if selection is AUTO and geom.overlay_count > _auto_limit():
            indices = range(_auto_shown())
        if cell is not None:
            from ..audits import cell_view

            cell_view(self.problem, cell)  # an entry that is not there is refused before any text
        command = "backward" if self.is_backward else "forward"
        return render(self.for_display(), indices, console, command=command, cell=cell, **options)

    # -- the displays: repr, rich, Jupyter ----------------------------------------------------

    def __repr__(self) -> str:
        import numpy as np

        p = self.problem
        command = "backward" if self.is_backward else "forward"
        count = self.overlay_count
        given = [name for name in ("A_prev", "W", "b", "dZ") if name in p.user_shapes]
        shapes = " · ".join(f"{name} {tuple(p.user_shapes[name])}" for name in given)
        shapes += f" → Z {tuple(p.user_shapes['Z'])}"
        lines = [
            f"<convgrad.Result {command}: {p.layer}, {p.geom.dims}-D, {count} overlay{'s' * (count != 1)}, {p.domain.name}"
        ]
        lines.append(f"  {shapes}")
        names = ["Z", "dW", "db", "dA_prev"] if self.is_backward else ["Z"]
        for name in names:
            value = getattr(self, name)
            if value is None:
                continue
            array = np.asarray(value)
            # 3/10, not Fraction(3, 10); floats to 12 significant digits as the table shows them
            # (0.3, not 0.30000000000000004), without numpy's padding to a common width.
            shown: Any = {"all": str} if array.dtype == object else {"float_kind": _twelve_digits(array)}
            with np.printoptions(threshold=24, edgeitems=2, linewidth=88):
                if array.ndim:
                    text = np.array2string(array, separator=", ", formatter=shown)
                else:
                    text = str(value) if array.dtype.kind not in "fc" else f"{array[()]:.12g}"
            body = text.splitlines()
            if len(body) > REPR_LINES:
                body = body[: REPR_LINES - 1] + ["  ..."]
            body = [line.rstrip() for line in body]
            lines.append(
                f"  {name} = " + "\n  ".join(" " * (len(name) + 3) + line if i else line for i, line in enumerate(body))
            )
        return "\n".join(lines) + ">"

    def __rich_console__(self, console: Any, options: Any) -> Any:
        """The terminal table, as ``convgrad forward``/``backward`` draws it (the first overlays of a big one)."""
        yield from self._renderables(console)

    def _repr_html_(self) -> str:
        """Jupyter's view: the summary, then the table text with its first overlays, escaped."""
        count = self.overlay_count
        shown = min(count, HTML_OVERLAYS)
        text = self.table(overlays=f"1-{shown}" if shown else "none")
        cut = len(text) > HTML_TEXT_LIMIT
        if cut:
            text = text[:HTML_TEXT_LIMIT] + "\n..."
        rest = (
            f"Showing overlay{'s' * (shown != 1)} 1-{shown} of {count}. "
            if shown < count
            else f"All {count} overlay{'s' * (count != 1)} shown. "
        )
        note = (
            rest
            + ("The text was cut. " if cut else "")
            + 'See every overlay with <code>result.table(overlays="all")</code>, sentences with '
            '<code>result.explain()</code>, one entry with <code>result.cell("W[0,0]")</code>, '
            "and the step-through page with <code>convgrad backward FILE --html page.html</code>."
        )
        summary = html.escape(repr(self).splitlines()[0].lstrip("<"))
        return (
            '<div class="convgrad-result">'
            f"<p><b>{summary}</b></p>"
            f'<pre style="font-size: 12px; line-height: 1.25">{html.escape(text)}</pre>'
            f"<p><small>{note}</small></p></div>"
        )

    # -- records: the JSON document and the .npz --------------------------------------------

    def to_dict(self, overlays: str = "all") -> dict[str, Any]:
        """The JSON document ``--json`` prints, as Python values (the same writer).

        Parameters
        ----------
        overlays : str, default "all"
            Which overlays the "overlays" list holds, as in ``table`` ("none" leaves it empty).

        Returns
        -------
        dict
            "Z" (and "dW", "db", "dA_prev"), "config", "audits", "overlays". Floats are
            numbers; exact results are strings such as "3/10", symbolic ones formulas.

        Examples
        --------
        >>> import convgrad
        >>> d = convgrad.backward([1, 2, 3], [1, 1], dZ=[1, 2], exact=True, padding=[[0, 0]]).to_dict()
        >>> d["Z"], d["dW"], d["db"], d["dA_prev"], len(d["overlays"])
        ([3, 5], [5, 8], 3, [1, 3, 2], 2)
        >>> convgrad.backward([1, 2], [1], dZ=[1, 1], exact=True, stride=1).to_dict(overlays="none")["dW"]
        [3]
        """
        import json

        from ..selection import parse_selection
        from .jsonout import document_chunks

        indices = parse_selection(overlays).indices(self.problem.geom)
        document: dict[str, Any] = json.loads("".join(document_chunks(self, indices)))
        return document

    def save(self, path: str) -> None:
        """Write Z (and dW, db, dA_prev) to an .npz archive, as ``--save`` does.

        The file is written whole or not at all (a temporary file renamed over it); a path that
        is a directory, a pipe or a link to nothing is refused. Floats only: exact and symbolic
        results are in ``to_dict()``.

        Examples
        --------
        >>> import convgrad, numpy as np, os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "grads.npz")
        >>> convgrad.backward([1, 2, 3], [1, 1], dZ=[1, 1]).save(path)
        >>> sorted(np.load(path, allow_pickle=False).files)
        ['Z', 'dA_prev', 'dW', 'db']
        """
        from ..files import save_npz

        save_npz(self, str(path))


def _twelve_digits(array: Any) -> Any:
    """A formatter writing floats to 12 significant digits, right-aligned to the widest entry
    (of a small array: a large one is shown by its corners, left as written)."""
    width = max((len(f"{v:.12g}") for v in array.flat), default=0) if array.size <= 10_000 else 0

    def text(value: float) -> str:
        return f"{value:.12g}".rjust(width)

    return text


def _auto_limit() -> int:
    return 50  # the CLI's AUTO_OVERLAY_LIMIT (commands.solve): tables longer than this show the first


def _auto_shown() -> int:
    return 10  # the CLI's AUTO_OVERLAYS_SHOWN


def _config(settings: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """The keywords given (None: left out, so that each layer kind sees only its own), then the rest."""
    given = {key: value for key, value in settings.items() if value is not None}
    return {**given, **more}


def forward(
    A_prev: Any,
    W: Any = None,
    b: Any = None,
    *,
    stride: Any = None,
    padding: Any = None,
    dilation: Any = None,
    groups: int | None = None,
    layout: str | None = None,
    mode: str | None = None,
    dims: int | None = None,
    layer: str | None = None,
    exact: bool | None = None,
    symbolic: bool | None = None,
    allow_nonfinite: bool = False,
    max_elements: int | None = None,
    **more: Any,
) -> Result:
    """The forward pass of a layer: Z, overlay by overlay.

    Parameters
    ----------
    A_prev : array_like
        The input. Nested lists, a numpy array, or any array with ``__array__`` or DLPack
        (a PyTorch CPU tensor, also one that requires grad; JAX; CuPy after ``.get()``).
        Shapes per layout, for ``d`` spatial axes (1, 2 or 3): bare ``(*size)``; unbatched
        ``(C_in, *size)``; batched ``(N, C_in, *size)`` (NCHW); channels-last ``(N, *size, C_in)``
        with ``layout="NHWC"`` (also NWC, NDHWC, "channels_last").
    W : array_like, optional
        The filters: bare ``(*k)``, else ``(C_out, C_in/groups, *k)`` (PyTorch) or
        ``(*k, C_in/groups, C_out)`` channels-last (TensorFlow, Coursera). Layers without
        weights (relu, pools) take none.
    b : array_like, optional
        The bias: a number (bare), ``(C_out,)`` or Coursera's ``(1, 1, 1, C_out)``; default none.
    stride : int or sequence of int, default 1
        One per spatial axis, or one for all.
    padding : int, sequence, "same" or "valid", default 0
        Zeros on both sides of each axis; a pair per axis (``[[1, 0], [0, 1]]``) pads unevenly.
    dilation : int or sequence of int, default 1
        Spacing between kernel taps.
    groups : int, default 1
        Channel groups (``groups=C_in`` is depthwise).
    layout : str, optional
        "NCHW" (channels first, the default) or "NHWC" (channels last) and their 1-D and 3-D
        names; the arrays come back in the same layout.
    mode : {"cross-correlation", "convolution"}, default "cross-correlation"
        "convolution" flips the kernel (the textbook definition); dW is still for W as given.
    dims : int, optional
        The number of spatial axes when the ranks leave it open (a bare 3-D volume).
    layer : str, default "conv"
        "conv", "conv-transpose", "max-pool", "avg-pool", "relu", "leaky-relu", "sigmoid",
        "tanh" (``convgrad layers`` on the command line lists them with their keywords).
    exact : bool, default False
        Compute in exact rationals: 0.1 is 1/10 and the results are ``fractions.Fraction``.
    symbolic : bool, default False
        Compute with names (``"w11"``): the results are sympy formulas.
    allow_nonfinite : bool, default False
        Accept NaN and infinities in the inputs (refused by default, naming the entry).
    max_elements : int, optional
        The most entries one array may have (default 100,000,000).
    **more
        A layer kind's own keywords (``slope``, ``size``, ``output_padding``, ``ceil_mode``...),
        and other names for every field: ``x``/``input``, ``weight``/``kernel``, ``bias``,
        ``strides``, ``pad``, ``data_format``...

    Returns
    -------
    Result
        ``Z`` as a numpy array in the input's layout; ``overlays()`` yields each overlay.

    Raises
    ------
    InputError
        Values, shapes or settings that cannot be computed, in one sentence naming the keyword.

    Examples
    --------
    >>> import convgrad
    >>> convgrad.forward([1, 2, 3, 4], [1, 0, -1]).Z.tolist()
    [-2.0, -2.0]
    >>> convgrad.forward([[1, 2], [3, 4]], [[1, 1], [1, 1]], padding=1).Z.shape
    (3, 3)
    """
    config = _config(
        {
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
            "layout": layout,
            "mode": mode,
            "dims": dims,
            "layer": layer,
            "exact": exact,
            "symbolic": symbolic,
        },
        more,
    )
    return Result(
        api.forward(A_prev, W, b, allow_nonfinite=allow_nonfinite, max_elements=max_elements, **config).problem
    )


def backward(
    A_prev: Any,
    W: Any = None,
    dZ: Any = None,
    b: Any = None,
    *,
    stride: Any = None,
    padding: Any = None,
    dilation: Any = None,
    groups: int | None = None,
    layout: str | None = None,
    mode: str | None = None,
    dims: int | None = None,
    layer: str | None = None,
    exact: bool | None = None,
    symbolic: bool | None = None,
    allow_nonfinite: bool = False,
    max_elements: int | None = None,
    **more: Any,
) -> Result:
    """The forward and backward pass for the upstream gradient ``dZ``: Z, dW, db, dA_prev.

    Parameters
    ----------
    A_prev, W, b : array_like
        As in ``forward`` (any array with ``__array__`` or DLPack, in any layout it lists).
    dZ : array_like
        The upstream gradient dL/dZ, shaped like Z: bare ``(*out)``, ``(C_out, *out)``,
        ``(N, C_out, *out)``, or channels-last ``(N, *out, C_out)``, where along each axis
        ``out = floor((size + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1``.
        A layer without weights takes it as ``backward(x, dZ=g, layer="relu")``.
    stride, padding, dilation, groups, layout, mode, dims, layer, exact, symbolic, allow_nonfinite, max_elements, **more
        As in ``forward``, with the same defaults.

    Returns
    -------
    Result
        ``Z``, ``dW`` (shaped like W), ``db`` (like b), ``dA_prev`` (like A_prev), as numpy
        arrays in the layout given; ``overlays()`` yields each overlay with its shares.

    Raises
    ------
    InputError
        Values, shapes or settings that cannot be computed (a shape mismatch names both shapes
        and, when one fits, the likely intent).

    Examples
    --------
    >>> import convgrad
    >>> r = convgrad.backward([1, 2, 3], [0.3, 0.5], dZ=[-0.1, 0.2], exact=True)
    >>> [str(x) for x in r.dW], str(r.db), [str(x) for x in r.dA_prev]
    (['3/10', '2/5'], '1/10', ['-3/100', '1/100', '1/10'])
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> r = convgrad.backward(x, np.ones((2, 1, 3, 3)), dZ=np.ones((1, 2, 2, 2)), b=np.zeros(2))
    >>> r.Z.shape, r.dW.shape, r.db.shape, r.dA_prev.shape
    ((1, 2, 2, 2), (2, 1, 3, 3), (2,), (1, 1, 4, 4))
    """
    config = _config(
        {
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
            "layout": layout,
            "mode": mode,
            "dims": dims,
            "layer": layer,
            "exact": exact,
            "symbolic": symbolic,
        },
        more,
    )
    solved = api.backward(A_prev, W, dZ, b, allow_nonfinite=allow_nonfinite, max_elements=max_elements, **config)
    return Result(solved.problem)


class ChainResult(chains.ChainResult):
    """A chain's forward walk, loss and backward walk, with the same displays as ``Result``.

    Attributes
    ----------
    layers : tuple of Result
        One per layer, first to last: ``Z``, ``dW``, ``db`` and ``dA_prev`` (after a backward
        walk), ``config``, ``overlays()``, and every display of a one-layer ``Result``.
    forward_layers : tuple of Result
        The forward walk's results (the same Z; no gradients).
    kinds : tuple of str
        The layers' kinds in order: ``("conv", "relu", "max-pool")``.
    loss : float, fractions.Fraction or None
        The loss value; None when the chain ends in a given ``dZ`` or after ``forward`` only.
    loss_gradient : numpy.ndarray or None
        dL/dZ of the last layer, as the loss gives it.
    joins : tuple of Join
        Where each layer's dZ came from: ``joins[k].sentence(kinds)`` says it in words.
    notes : tuple of str
        Sentences the command line writes to stderr (why a chain runs in floats).

    Examples
    --------
    >>> import convgrad
    >>> r = convgrad.chain([[1, -2, 3]], layers=[{"layer": "dense", "W": [[1, 0, 1], [0, 1, 0]]},
    ...                                          {"layer": "relu"}], loss="sum", exact=True)
    >>> r.kinds, str(r.loss)
    (('dense', 'relu'), '4')
    >>> [str(x) for x in r.layers[0].dW.ravel()]
    ['1', '-2', '3', '0', '0', '0']
    >>> print(r.joins[0].sentence(r.kinds))
    dZ of layer 1 (dense) = dA_prev of layer 2 (relu), shape (1, 2)
    """

    def __init__(self, solved: chains.ChainResult) -> None:
        layers = tuple(Result(layer.problem) if layer is not None else None for layer in solved.layers)
        object.__setattr__(self, "_forward", tuple(Result(layer.problem) for layer in solved.forward_layers))
        super().__init__(solved.chain, layers, solved.joins, solved.loss, solved.loss_gradient)

    @property
    def forward_layers(self) -> tuple[Any, ...]:
        forward: tuple[Any, ...] = object.__getattribute__(self, "_forward")
        return forward

    def table(
        self,
        overlays: str = "auto",
        *,
        layers: str | None = None,
        precision: int | None = None,
        view: str = "auto",
        width: int = TEXT_WIDTH,
    ) -> str:
        """The chain as the command line prints it: the forward walk, the loss, the backward walk,
        the summary.

        Parameters
        ----------
        overlays : str, default "auto"
            Which overlays each layer shows, as in ``Result.table`` ("auto": a layer of more than
            50 overlays shows its first 10).
        layers : str, optional
            Which layers to show (all are computed): "1", "1,3", "2-4", a kind ("conv").
        precision, view, width
            As in ``Result.table``.

        Examples
        --------
        >>> import convgrad
        >>> r = convgrad.chain([1, -2, 3], layers=[{"layer": "relu"}], dZ=[1, 1, 1])
        >>> print(r.table(overlays="none").splitlines()[0])
        backward · chain of 1 layers · relu
        """
        return self._text(overlays, layers=layers, precision=precision, view=view, width=width)

    def explain(
        self,
        overlays: str = "auto",
        *,
        layers: str | None = None,
        precision: int | None = None,
        width: int = TEXT_WIDTH,
    ) -> str:
        """The chain told in sentences, each join included: what the CLI prints with ``--explain``."""
        return self._text(overlays, layers=layers, precision=precision, width=width, explain=True)

    def _text(self, overlays: str, *, width: int, **options: Any) -> str:
        import io

        from rich.console import Console

        buffer = io.StringIO()
        console = Console(
            file=buffer, width=width, highlight=False, soft_wrap=False, color_system=None, force_terminal=False
        )
        for renderable in self._renderables(console, overlays, **options):
            console.print(renderable, crop=False)
        return "".join(line.rstrip(" ") + "\n" for line in buffer.getvalue().splitlines())

    def _renderables(self, console: Any, overlays: str = "auto", layers: str | None = None, **options: Any) -> Any:
        from ..selection import parse_selection
        from .chainview import render

        shown = chains.select_layers(layers, self.kinds) if layers is not None else list(range(len(self.kinds)))
        choose, _ = chains.overlay_chooser(self, shown, parse_selection(overlays), True, _auto_limit(), _auto_shown())
        command = "backward" if self.is_backward else "forward"
        return render(self, shown, choose, console, command=command, **options)

    def __repr__(self) -> str:
        command = "backward" if self.is_backward else "forward"
        lines = [f"<convgrad.ChainResult {command}: {len(self.kinds)} layers, {' → '.join(self.kinds)}"]
        if self.loss is not None and self.chain.loss is not None:
            lines.append(f"  loss {self.chain.loss.kind} ({self.chain.loss.reduction}) = {self.loss}")
        for k, layer in enumerate(self.layers, start=1):
            shapes = layer.problem.user_shapes
            grads = (" · dW, db, dA_prev" if layer.problem.has_weights else " · dA_prev") if self.is_backward else ""
            lines.append(f"  {k} {self.kinds[k - 1]}: A_prev {tuple(shapes['A_prev'])} → Z {tuple(shapes['Z'])}{grads}")
        lines.append("  (r.layers[k] is each layer's Result; r.table() prints the whole walk)")
        return "\n".join(lines) + ">"

    def __rich_console__(self, console: Any, options: Any) -> Any:
        """The chain as ``convgrad backward`` draws it (a big layer's first overlays)."""
        yield from self._renderables(console)

    def _repr_html_(self) -> str:
        """Jupyter's view: the summary and the walk with every layer's totals (no overlays)."""
        text = self.table(overlays="none")
        if len(text) > HTML_TEXT_LIMIT:
            text = text[:HTML_TEXT_LIMIT] + "\n..."
        summary = html.escape(repr(self).splitlines()[0].lstrip("<"))
        note = (
            'See each layer\'s overlays with <code>result.table(overlays="all")</code> (or '
            '<code>layers="1"</code> for one layer), sentences with <code>result.explain()</code>, '
            "and each layer's own displays in <code>result.layers[k]</code>."
        )
        return (
            '<div class="convgrad-result">'
            f"<p><b>{summary}</b></p>"
            f'<pre style="font-size: 12px; line-height: 1.25">{html.escape(text)}</pre>'
            f"<p><small>{note}</small></p></div>"
        )

    def to_dict(self, overlays: str = "all") -> dict[str, Any]:
        """The JSON document ``--json`` prints for the chain, as Python values (the same writer).

        Examples
        --------
        >>> import convgrad
        >>> d = convgrad.chain([1, -2, 3], layers=[{"layer": "relu"}], loss="sum").to_dict()
        >>> d["loss"]["value"], d["layers"][0]["dA_prev"]
        (4.0, [1.0, 0.0, 1.0])
        """
        import json

        from ..selection import parse_selection
        from .chainview import document_chunks

        choose, _ = chains.overlay_chooser(
            self, range(len(self.kinds)), parse_selection(overlays), False, _auto_limit(), _auto_shown()
        )
        document: dict[str, Any] = json.loads("".join(document_chunks(self, range(len(self.kinds)), choose)))
        return document


def chain(
    A_prev: Any,
    layers: Any,
    dZ: Any = None,
    loss: Any = None,
    *,
    layout: str | None = None,
    dims: int | None = None,
    exact: bool | None = None,
    symbolic: bool | None = None,
    allow_nonfinite: bool = False,
) -> ChainResult:
    """A chain of layers: forward first to last, then (given ``dZ`` or ``loss``) backward.

    Parameters
    ----------
    A_prev : array_like
        The chain's input, in any form ``forward`` takes (nested lists, numpy, a tensor).
    layers : sequence of dict
        One dict per layer, as in a problem file: ``{"layer": "conv", "W": ..., "b": ...,
        "stride": 1, "padding": 1}``, ``{"layer": "relu"}``, ``{"layer": "max-pool", "size": 2}``,
        ``{"layer": "flatten"}`` (``"order"``: "channels-first" as PyTorch, "channels-last" as
        Keras; default from the layout), ``{"layer": "dense", "W": ..., "b": ...}`` (W ``(out, in)``
        as ``nn.Linear``, or ``(in, out)`` with ``"W_layout": "in-out"``). Each layer's input is
        the previous layer's Z.
    dZ : array_like, optional
        The upstream gradient of the last layer's Z.
    loss : str or dict, optional
        Instead of ``dZ``: ``"sum"``, ``{"kind": "mse", "target": T}`` or
        ``{"kind": "softmax-cross-entropy", "labels": [...]}`` (an integer class per sample; a
        one-hot ``"target"`` also works), each with ``"reduction"``: "mean" (default for mse,
        over every entry, and cross-entropy, over the batch) or "sum".
    layout, dims, exact, symbolic, allow_nonfinite
        As in ``forward``, shared by every layer. A sigmoid, tanh or softmax-cross-entropy makes
        an ``exact`` chain run in floats (said in ``notes``).

    Returns
    -------
    ChainResult
        ``layers`` (one ``Result`` each), ``loss``, ``joins``; ``table()``, ``explain()``,
        ``to_dict()``.

    Raises
    ------
    InputError
        One sentence naming the layer number, its kind and the shapes at the join.

    Examples
    --------
    >>> import convgrad
    >>> r = convgrad.chain(
    ...     [[[[1, 2], [3, 4]]]],
    ...     layers=[{"layer": "conv", "W": [[[[1, 0], [0, -1]]]]}, {"layer": "flatten"},
    ...             {"layer": "dense", "W": [[2], [1]]}],
    ...     loss={"kind": "softmax-cross-entropy", "labels": [0]},
    ... )
    >>> [layer.Z.shape for layer in r.layers]
    [(1, 1, 1, 1), (1, 1), (1, 2)]
    >>> round(float(r.loss), 6), r.layers[0].dW.round(6).tolist()
    (3.048587, [[[[-0.952574, -1.905148], [-2.857722, -3.810297]]]])
    """
    settings = {"layout": layout, "dims": dims, "exact": exact, "symbolic": symbolic}
    config = {key: value for key, value in settings.items() if value is not None}
    solved = chains.chain(A_prev, layers, dZ=dZ, loss=loss, allow_nonfinite=allow_nonfinite, **config)
    return ChainResult(solved)
