"""Build convgrad's JSON Schemas from one source.

    python -m convgrad.schemas.build           rewrite convgrad/schemas/*.schema.json
    python -m convgrad.schemas.build --check   exit 1, naming each file that differs

Every definition is written once below, as a small function or constant named
for what it describes. A schema points at a shared definition with
``ref(name)``; its ``$defs`` are then are then exactly the definitions it reaches,
followed transitively (``reachable``), so no file carries one it never uses.
Field names come from the code's own constants (the problem's fields and
their aliases, the answer's quantities and aliases, the mistakes convgrad can
name), so a new alias makes the committed files stale and tests/test_schemas.py
says so until they are rebuilt.

Each file is exactly ``json.dumps(schema, indent=2)`` and a newline;
``convgrad schema NAME`` prints the file as it is.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..chains.mistakes import CHAIN_MISTAKE_KEYS
from ..check import ANSWER_ALIASES, ANSWER_META, IMPRECISE, QUANTITIES, RIGHT, WRONG
from ..forms import BARE, BATCHED, UNBATCHED
from ..layers import DEFAULT_KIND, KINDS, Column
from ..numbers import ExactDomain, FloatDomain, SymbolicDomain
from ..options import MAX_DECIMALS
from ..problem import ALIASES, ARRAY_FIELDS, CONFIG_FIELDS, HPARAMETERS, META_FIELDS
from ..variants import ALL_VARIANTS
from . import NAMES, file_name

Schema = dict[str, Any]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://convgrad.invalid/schemas/"
HERE = Path(__file__).resolve().parent
_DEFS_PREFIX = "#/$defs/"

#: The gradients backward computes (every quantity but Z), which gradcheck checks.
GRADIENTS = tuple(q for q in QUANTITIES if q != "Z")
#: The arrays a --cell can be taken of: those with a gradient (dZ is given, not computed), and Z.
CELL_ARRAYS = tuple(name for name in ARRAY_FIELDS if name != "dZ") + ("Z",)
#: The arrays that appear as factors of a cell's terms (b only in a Z cell's bias term).
TERM_FACTORS = tuple(ARRAY_FIELDS)
MODE_NAMES = ("cross-correlation", "convolution")
VERDICTS = ("right", "wrong", "imprecise", "missing", "shape")
MARKS = (RIGHT, WRONG, IMPRECISE)
LAYER_KINDS = ("conv", "locally_connected", "dense")


# -- building blocks ------------------------------------------------------------------------------


def ref(name: str) -> Schema:
    """A pointer to the shared definition ``name`` (see ``definitions``)."""
    return {"$ref": _DEFS_PREFIX + name}


def integer(minimum: int | None = None) -> Schema:
    return {"type": "integer"} if minimum is None else {"type": "integer", "minimum": minimum}


def array_of(items: Schema, length: int | None = None) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    if length is not None:
        schema.update(minItems=length, maxItems=length)
    return schema


def integers(minimum: int | None = None) -> Schema:
    return array_of(integer(minimum))


def either(*schemas: Schema) -> Schema:
    return {"anyOf": list(schemas)}


def nullable(schema: Schema) -> Schema:
    return either(schema, {"type": "null"})


def record(properties: Mapping[str, Schema], optional: Iterable[str] = ()) -> Schema:
    """An object with these keys and no others; every key required except the optional ones."""
    optional = set(optional)
    unknown = optional - set(properties)
    if unknown:
        raise ValueError(f"optional keys {sorted(unknown)} are not properties")
    schema: Schema = {"type": "object"}
    required = [key for key in properties if key not in optional]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    schema["properties"] = dict(properties)
    return schema


def described(description: str, schema: Schema) -> Schema:
    return {"description": description, **schema}


STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
NUMBER: Schema = {"type": "number"}
COUNT = integer(0)
INDEX = integers()


# -- the input: a problem file and an answer ------------------------------------------------------

INPUT_NUMBER = either(NUMBER, STRING)
INPUT_ARRAY = either(ref("in_number"), {"type": "array", "minItems": 1, "items": ref("in_array")})
FIELD_ARRAY = described(
    'Nested arrays of numbers; numbers may be strings like "1/3" or "0.25", or names (with --symbolic). '
    'A string ending in .npy names a file beside the JSON; {"shape": [...]} (with --symbolic) names every entry.',
    either(
        ref("in_array"),
        {"type": "string", "pattern": r"\.[nN][pP][yY]$"},
        record({"shape": either(integers(), STRING), "prefix": STRING}, optional=["prefix"]),
    ),
)
#: stride and dilation: one positive integer for all axes, or one per axis.
STEPS = either(integer(1), integers(1))
PADDING = either(
    integer(0),
    {"type": "string", "description": "valid, same or full (any case, spaces around allowed)"},
    array_of(either(integer(0), array_of(integer(0), length=2))),
)
LAYOUT_NAME = {
    "type": "string",
    "description": "channels-first (NCHW, NCW, NCL, NCDHW, channels_first) or channels-last "
    "(NHWC, NWC, NLC, NDHWC, channels_last)",
}
MODE_NAME = {
    "type": "string",
    "description": "cross-correlation (also correlation, xcorr) or convolution (also conv, convolve), any case",
}

#: The schema of each problem field, by its canonical name; an alias takes its field's schema.
PROBLEM_FIELDS: dict[str, Schema] = {
    "A_prev": ref("field_array"),
    "W": ref("field_array"),
    "b": nullable(ref("field_array")),
    "dZ": nullable(ref("field_array")),
    "stride": nullable(ref("steps")),
    "padding": nullable(ref("padding")),
    "dilation": nullable(ref("steps")),
    "groups": nullable(integer(1)),
    "layout": nullable(ref("layout_name")),
    "mode": nullable(MODE_NAME),
    "dims": nullable(integer(1)),
    "exact": nullable(BOOLEAN),
    "symbolic": nullable(BOOLEAN),
    "layer": nullable({"enum": list(KINDS), "description": "the layer kind (default conv)"}),
    "slope": nullable(described("leaky-relu: the slope below 0 (default 0.01)", INPUT_NUMBER)),
    "output_padding": nullable(
        described(
            "conv-transpose: entries added at the end of each axis of Z (default 0); smaller than the stride "
            "or the dilation",
            either(integer(0), integers(0)),
        )
    ),
    "size": nullable(described("max-pool, avg-pool: the window size, one number or one per axis", ref("steps"))),
    "ceil_mode": nullable(described("max-pool, avg-pool: round the output size up (PyTorch's ceil_mode)", BOOLEAN)),
    "ties": nullable(
        {"enum": ["first", "all", "split"], "description": "max-pool: which tied maximum gets the gradient"}
    ),
    "count_padding": nullable(
        described("avg-pool: divide by the window size (true) or by its taps inside A_prev (false)", BOOLEAN)
    ),
    "order": nullable(
        described(
            "flatten: channels-first (PyTorch: C, H, W per sample) or channels-last (Keras: H, W, C); "
            "default from the layout (also NCHW / NHWC-style names, pytorch, keras)",
            STRING,
        )
    ),
    "W_layout": nullable(
        described(
            "dense: out-in (PyTorch nn.Linear: W (out, in), the default) or in-out (CS231n, Keras: W (in, out))",
            STRING,
        )
    ),
    "description": STRING,
    "generated_by": {
        "type": "object",
        "description": "convgrad generate's record: the command line that makes this problem again, and "
        "every option with the value used. Not read by any command.",
        "properties": {"command": STRING, "options": {"type": "object"}},
        "required": ["command", "options"],
    },
    "$schema": STRING,
}


def problem_properties() -> dict[str, Schema]:
    """Every key a problem file may have: the canonical names, then every alias."""
    names = ARRAY_FIELDS + CONFIG_FIELDS + META_FIELDS
    if set(names) != set(PROBLEM_FIELDS):
        raise ValueError(
            f"problem fields without a schema or gone from the code: {sorted(set(names) ^ set(PROBLEM_FIELDS))}"
        )
    properties = {name: PROBLEM_FIELDS[name] for name in names}
    properties.update({alias: PROBLEM_FIELDS[name] for name, aliases in ALIASES.items() for alias in aliases})
    properties["hparameters"] = described(
        "Coursera's hyperparameters object: stride and pad (padding), instead of top-level keys (not beside them).",
        record({key: PROBLEM_FIELDS[name] for key, name in HPARAMETERS.items()}, optional=HPARAMETERS),
    )
    return properties


def answer_properties() -> dict[str, Schema]:
    """The quantities by name and by alias, then the keys that only describe the answer."""
    names = list(QUANTITIES) + [alias for alias in ANSWER_ALIASES if alias not in QUANTITIES]
    return {
        **{name: ref("in_array") for name in names},
        **dict.fromkeys(ANSWER_META, STRING),
        "id": {"type": ["string", "integer"]},
        "decimals": DECIMALS,
        "layout": described(
            "The layout the answer is written in (NCHW, NHWC, channels_last, ...): read as such.", STRING
        ),
    }


# -- the output: numbers, the configuration, audits, overlays ---------------------------------------

OUTPUT_NUMBER = described(
    'A number. Exact results that do not terminate as decimals are strings "p/q"; symbolic results are '
    'formula strings; with --allow-nonfinite, "NaN", "Infinity", "-Infinity".',
    {"type": ["number", "string"]},
)
OUTPUT_ARRAY = described(
    "A number, or nested arrays of numbers (every level non-empty and regular).",
    either(ref("number"), {"type": "array", "minItems": 1, "items": ref("array")}),
)
CONFIG = record(
    {
        "form": {"enum": [BARE, UNBATCHED, BATCHED]},
        "layout": {"type": "string", "pattern": "^N[A-Z]+$"},
        "mode": {"enum": list(MODE_NAMES)},
        "dims": integer(1),
        "stride": integers(1),
        "padding": array_of(array_of(integer(0), length=2)),
        "dilation": integers(1),
        "groups": integer(1),
        "batch": integer(1),
        "in_channels": integer(1),
        "out_channels": integer(1),
        "input_size": integers(),
        "kernel_size": integers(),
        "output_size": integers(),
        "shapes": {"type": "object", "additionalProperties": integers()},
        "overlay_count": COUNT,
        "numbers": {"enum": [FloatDomain.name, ExactDomain.name, SymbolicDomain.name]},
    }
)
#: The configuration of a kind that declares its columns (every kind but conv); its own keys optional.
KIND_OWN_KEYS = tuple(
    dict.fromkeys(key for name, kind in KINDS.items() if name != DEFAULT_KIND for key in kind.takes.keys)
)
#: A kind's own keys as its configuration reports them (a number unless listed here): pooling's as
#: given, conv-transpose's resolved per dim; ``steps`` and ``padding`` accept both forms.
KIND_KEY_SCHEMAS: dict[str, Schema] = {
    "size": ref("steps"),
    "stride": ref("steps"),
    "dilation": ref("steps"),
    "padding": ref("padding"),
    "ceil_mode": BOOLEAN,
    "count_padding": BOOLEAN,
    "ties": {"enum": ["first", "all", "split"]},
    "output_padding": integers(0),
    "groups": integer(1),
    "mode": {"enum": list(MODE_NAMES)},
    "order": {"enum": ["channels-first", "channels-last"]},
    "W_layout": {"enum": ["out-in", "in-out"]},
}
KIND_CONFIG = record(
    {
        "layer": {"enum": [name for name in KINDS if name != DEFAULT_KIND]},
        "form": {"enum": [BARE, UNBATCHED, BATCHED]},
        "layout": {"type": "string", "pattern": "^N[A-Z]+$"},
        "dims": integer(0),
        "batch": integer(1),
        "channels": integer(1),
        "input_size": integers(),
        "output_size": integers(),
        **{key: KIND_KEY_SCHEMAS.get(key, ref("number")) for key in KIND_OWN_KEYS},
        "kernel_size": integers(),
        "out_channels": integer(1),
        "in_features": integer(1),
        "out_features": integer(1),
        "shapes": {"type": "object", "additionalProperties": integers()},
        "overlay_count": COUNT,
        "numbers": {"enum": [FloatDomain.name, ExactDomain.name, SymbolicDomain.name]},
    },
    optional=(*KIND_OWN_KEYS, "kernel_size", "out_channels", "in_features", "out_features"),
)
STRIDE_LEFTOVER = record({"axis": integer(0), "indices": integers(), "output_size": STRING})
PADDING_CROP = record({"padded_gradient": ref("array"), "discarded_magnitude": ref("number")})
#: One factor of a cell's term: the entry of an array it multiplies, and its value.
FACTOR = record({"index": INDEX, "value": ref("number")})
#: A kind's own factor in a cell's term: the local derivative of an activation.
CELL_FACTORS = (*TERM_FACTORS, "derivative", "mask", "share")
CELL_TERM = record(
    {"overlay": integer(1), "product": ref("number"), **{name: ref("factor") for name in CELL_FACTORS}},
    optional=CELL_FACTORS,
)
CELL = record(
    {"array": {"enum": list(CELL_ARRAYS)}, "index": INDEX, "terms": array_of(CELL_TERM), "gradient": ref("number")}
)
AUDITS = record(
    {
        "stride_leftovers": array_of(STRIDE_LEFTOVER),
        "padding_crop": either({"type": "null"}, PADDING_CROP),
        "cell": CELL,
    },
    optional=["cell"],
)


def overlay(backward: bool) -> Schema:
    """One overlay: where the window sits, the slice it covers, Z; backward adds dZ and the shares."""
    fields = {
        "number": integer(1),
        "n": integer(0),
        "c_out": integer(0),
        "position": INDEX,
        "window_start": INDEX,
        "A_slice": ref("array"),
        "Z": ref("number"),
    }
    if backward:
        fields.update({"dZ": ref("number"), "dW": ref("array"), "db": ref("number"), "dA_prev": ref("array")})
    return record(fields)


def kind_overlay(backward: bool) -> Schema:
    """One overlay of a column kind: where it reads, then the columns its kind declares."""
    keys = []
    for kind in KINDS.values():
        columns: tuple[Column, ...] = getattr(kind, "columns", ())  # conv's overlays are Overlay records
        keys += [c.key for c in columns if backward or not c.backward]
    keys = list(dict.fromkeys(keys))
    fields = {
        "number": integer(1),
        "n": integer(0),
        "channel": integer(0),
        "position": INDEX,
        "reads": array_of(INDEX),
        **dict.fromkeys(keys, ref("array")),
    }
    return described(
        "An overlay of a kind other than conv: the values of the columns its kind declares "
        "(an activation: A_prev, Z, derivative, and after a backward pass dZ and dA_prev; pooling: window, mask or "
        "share, Z, and after a backward pass dZ, dA_prev and running).",
        record(fields, optional=keys),
    )


def totals(names: Iterable[str] = QUANTITIES) -> dict[str, Schema]:
    """Whole results by name: Z, and for backward the gradients."""
    return {name: ref("array") for name in names}


# -- checking answers ---------------------------------------------------------------------------------


def mistake() -> Schema:
    """A likely mistake, by the key of one of the variants convgrad tries."""
    return record(
        {
            "mistake": {"enum": [variant.key for variant in ALL_VARIANTS] + list(CHAIN_MISTAKE_KEYS)},
            "form": {"type": ["string", "null"]},
            "sentence": STRING,
            "explains": COUNT,
            "of": COUNT,
        }
    )


DECIMALS = described(
    "The decimals required: an entry right only to fewer decimals is marked imprecise (check --decimals).",
    {"type": "integer", "minimum": 0, "maximum": MAX_DECIMALS},
)
NULLABLE_DECIMALS = described(
    "The decimals required (--decimals, else the answer file's own), or null when none were.",
    {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_DECIMALS},
)
ENTRY = record(
    {
        "index": INDEX,
        "given": described(
            'The entry\'s value as a number, like expected (a fraction that no decimal ends stays a string "p/q").',
            ref("number"),
        ),
        "given_text": described("The entry as the answer wrote it (14.0, 1/3).", STRING),
        "expected": ref("number"),
        "right": BOOLEAN,
        "mark": described(
            "right; wrong; or imprecise: the right value rounded to fewer decimals than required.",
            {"enum": list(MARKS)},
        ),
        "working": {
            "type": "string",
            "description": "For a wrong entry: the overlay terms that make up the right "
            "value, by name and by value (left out past 256 terms).",
        },
    },
    optional=["working"],
)


def quantity_verdict(entries: bool) -> Schema:
    """One quantity's verdict; check lists its entries, grading many answers leaves them out."""
    fields = {
        "status": {"enum": list(VERDICTS)},
        "shape": INDEX,
        "given_shape": INDEX,
        "wrong": COUNT,
        "imprecise": COUNT,
        "mistakes": array_of(ref("mistake")),
    }
    if entries:
        fields["entries"] = array_of(ENTRY)
    return record(fields, optional=[key for key in fields if key not in ("status", "shape")])


def per_quantity(names: Iterable[str], definition: str) -> Schema:
    """An object with some of these quantities as keys, each a ``definition``."""
    names = list(names)
    return record({name: ref(definition) for name in names}, optional=names)


SCORE = described(
    "points(q) = weight(q) × (right + imprecise_credit × imprecise) / entries for each quantity "
    "required or given (0 when missing or of the wrong shape); max = the sum of their weights.",
    record(
        {
            "points": record(dict.fromkeys(QUANTITIES, NUMBER), optional=QUANTITIES),
            "total": NUMBER,
            "max": NUMBER,
        }
    ),
)
GRADED_ANSWER = record(
    {
        "file": STRING,
        "student": described('The answer\'s "student", "name" or "id", else its file-name stem.', STRING),
        "correct": BOOLEAN,
        "error": {"type": ["string", "null"]},
        "skipped": described("A file that is not an answer (not *.json, or not matching --pattern).", BOOLEAN),
        "decimals": NULLABLE_DECIMALS,
        "quantities": per_quantity(QUANTITIES, "graded_quantity"),
        "mistakes": array_of(ref("mistake")),
        "score": SCORE,
        "warnings": described("Keys not graded, and how the answer was read (its layout).", array_of(STRING)),
        "missing_required": array_of({"enum": list(QUANTITIES)}),
    },
    optional=["decimals", "quantities", "mistakes", "score", "warnings", "missing_required"],
)
CLASS_SUMMARY = record(
    {
        "graded": COUNT,
        "mean": described(
            "The mean score in percent of each answer's max (null: none graded).", {"type": ["number", "null"]}
        ),
        "histogram": array_of(record({"from": COUNT, "to": COUNT, "count": COUNT})),
        "mistakes": described(
            "Students per named mistake.",
            {
                "type": "object",
                "propertyNames": {"enum": [variant.key for variant in ALL_VARIANTS]},
                "additionalProperties": COUNT,
            },
        ),
        "wrong_entries": array_of(record({"entry": STRING, "students": COUNT})),
        "skipped": COUNT,
        "errors": COUNT,
    }
)
GRADIENT_CHECK = record(
    {
        "checked": integer(),
        "entries": integer(),
        "max_abs_error": NUMBER,
        "max_rel_error": NUMBER,
        "exactly_equal": {"type": ["boolean", "null"]},
        "passed": BOOLEAN,
        "noise_floor": NUMBER,
    }
)
#: Weights or biases of this layer, of a locally connected layer and of a dense layer.
PARAMETER_COUNTS = record(dict.fromkeys(LAYER_KINDS, COUNT))


def definitions() -> dict[str, Schema]:
    """Every shared definition, in the order a schema's $defs lists the ones it uses."""
    return {
        "in_number": INPUT_NUMBER,
        "in_array": INPUT_ARRAY,
        "field_array": FIELD_ARRAY,
        "steps": STEPS,
        "padding": PADDING,
        "layout_name": LAYOUT_NAME,
        "number": OUTPUT_NUMBER,
        "array": OUTPUT_ARRAY,
        "config": CONFIG,
        "audits": AUDITS,
        "factor": FACTOR,
        "forward_overlay": overlay(backward=False),
        "backward_overlay": overlay(backward=True),
        "kind_config": KIND_CONFIG,
        "forward_kind_overlay": kind_overlay(backward=False),
        "backward_kind_overlay": kind_overlay(backward=True),
        "mistake": mistake(),
        "quantity_verdict": quantity_verdict(entries=True),
        "graded_quantity": quantity_verdict(entries=False),
        "gradient_check": GRADIENT_CHECK,
        "parameter_counts": PARAMETER_COUNTS,
    }


# -- the published schemas ------------------------------------------------------------------------------


def layer_bodies() -> dict[str, tuple[str, Schema]]:
    """Each published schema's title and body for one layer, by name (``bodies`` adds the chains)."""
    problem = problem_properties()
    return {
        "input": (
            "A convgrad problem (backward --input, generate's output)",
            {
                "description": "Each field once, by its name or one alias; null means not given. "
                "A_prev is required, and W for conv (a kind without weights refuses W and b); dZ for backward.",
                **record(problem, optional=problem),
            },
        ),
        "answer": (
            "An answer for convgrad check (also the answer key generate --key writes)",
            {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": described(
                    "A key that is not an answer (the problem's dZ or stride, a name) is ignored and listed on "
                    "stderr; one that looks like a misspelt answer (dw_prev, DB) is refused.",
                    {},
                ),
                "properties": answer_properties(),
            },
        ),
        "forward": (
            "convgrad forward --json",
            either(
                record(
                    {
                        **totals(["Z"]),
                        "config": ref("config"),
                        "audits": ref("audits"),
                        "overlays": array_of(ref("forward_overlay")),
                    }
                ),
                record(
                    {
                        **totals(["Z"]),
                        "config": ref("kind_config"),
                        "audits": ref("audits"),
                        "overlays": array_of(ref("forward_kind_overlay")),
                    }
                ),
            ),
        ),
        "backward": (
            "convgrad backward --json",
            either(
                record(
                    {
                        **totals(),
                        "config": ref("config"),
                        "audits": ref("audits"),
                        "overlays": array_of(ref("backward_overlay")),
                    }
                ),
                described(
                    "A kind other than conv: dW and db only for a kind with weights (conv-transpose); "
                    "a kind without weights (relu, leaky-relu, sigmoid, tanh) omits them.",
                    record(
                        {
                            **totals(["Z", "dW", "db", "dA_prev"]),
                            "config": ref("kind_config"),
                            "audits": ref("audits"),
                            "overlays": array_of(ref("backward_kind_overlay")),
                        },
                        optional=["dW", "db"],
                    ),
                ),
            ),
        ),
        "jsonl": (
            "One line of convgrad forward/backward --format jsonl: an overlay, or the final totals line",
            either(
                ref("forward_overlay"),
                ref("backward_overlay"),
                ref("forward_kind_overlay"),
                ref("backward_kind_overlay"),
                record(
                    {
                        "totals": record(totals(), optional=GRADIENTS),
                        "config": either(ref("config"), ref("kind_config")),
                        "audits": ref("audits"),
                    }
                ),
            ),
        ),
        "check": (
            "convgrad check --json (one answer)",
            record(
                {
                    "correct": BOOLEAN,
                    "decimals": NULLABLE_DECIMALS,
                    "quantities": per_quantity(QUANTITIES, "quantity_verdict"),
                    "score": SCORE,
                },
                optional=["score"],
            ),
        ),
        "grade": (
            "convgrad check --json with a folder or glob of answers",
            record(
                {
                    "answers": array_of(GRADED_ANSWER),
                    "summary": record(
                        dict.fromkeys(("files", "correct", "wrong", "imprecise", "errors", "skipped"), COUNT)
                    ),
                    "class": CLASS_SUMMARY,
                }
            ),
        ),
        "gradcheck": (
            "convgrad gradcheck --json",
            either(
                record(
                    {
                        "passed": BOOLEAN,
                        "rtol": NUMBER,
                        "quantities": per_quantity(GRADIENTS, "gradient_check"),
                    }
                ),
                described(
                    "gradcheck --answer FILE: the given gradients against central differences, entry by entry.",
                    record(
                        {
                            "passed": BOOLEAN,
                            "rtol": NUMBER,
                            "answer": {
                                "type": "object",
                                "propertyNames": {"enum": list(GRADIENTS)},
                                "additionalProperties": record(
                                    {
                                        "shape": integers(),
                                        "given_shape": integers(),
                                        "checked": COUNT,
                                        "passed": BOOLEAN,
                                        "wrong": array_of(
                                            record(
                                                {"index": integers(), "given": ref("number"), "numeric": ref("number")}
                                            )
                                        ),
                                    }
                                ),
                            },
                        }
                    ),
                ),
                described(
                    "gradcheck --show ENTRY: one entry's central difference, every number.",
                    record(
                        {
                            "entry": STRING,
                            "gradient": {"enum": list(GRADIENTS)},
                            "index": integers(),
                            "x": ref("number"),
                            "h": ref("number"),
                            "f_plus": ref("number"),
                            "f_minus": ref("number"),
                            "quotient": ref("number"),
                            "analytic": ref("number"),
                        }
                    ),
                ),
            ),
        ),
        "shape": (
            "convgrad shape --json",
            record(
                {
                    "output_size": integers(),
                    "formulas": array_of(STRING),
                    "padding": array_of(integers()),
                    "overlays": COUNT,
                    "unreached": described(
                        "convolution: per axis, the input indices no window reaches", array_of(integers())
                    ),
                    "weights": ref("parameter_counts"),
                    "biases": ref("parameter_counts"),
                    "config": either(ref("config"), ref("kind_config")),
                },
                optional=("unreached",),
            ),
        ),
    }


# -- chains of layers (convgrad/chains/engine.py) -----------------------------------------------------------

#: The keys a chain problem holds at its top level; each layer's own keys are a problem's.
CHAIN_ONLY_KEYS = ("A_prev", "dZ", "layout", "dims", "exact", "symbolic")
LOSS_KINDS_DESCRIPTION = (
    'The end of the chain instead of dZ: "sum", "mse" or "softmax-cross-entropy" (a bare string takes the '
    'defaults), or an object {"kind": ..., "reduction": "mean" or "sum", "target": ... (mse, or one-hot for '
    'cross-entropy), "labels": [...] (cross-entropy: one class per sample)}.'
)
LOSS_INPUT = described(
    LOSS_KINDS_DESCRIPTION,
    either(STRING, {"type": "object", "required": ["kind"], "properties": {"kind": STRING}}),
)
CHAIN_JOIN = described(
    "Where this layer's dZ came from: the loss, the dZ given, or dA_prev of the next layer (reshaped_from: "
    "the shape that layer received before reshaping, a flatten's dZ).",
    record(
        {
            "source": {"enum": ["loss", "dZ", "layer"]},
            "layer": nullable(integer(1)),
            "kind": nullable(STRING),
            "shape": integers(),
            "reshaped_from": nullable(integers()),
        }
    ),
)
CHAIN_LOSS = described(
    "The loss: its kind, reduction, value and gradient dL/dZ of the last layer (null: the chain ends in a "
    "given dZ, or a forward pass).",
    nullable(
        record(
            {
                "kind": nullable(STRING),
                "reduction": nullable(STRING),
                "value": ref("number"),
                "gradient": ref("array"),
            }
        )
    ),
)
CHAIN_CONFIG = record(
    {
        "layer_count": integer(1),
        "kinds": array_of({"enum": list(KINDS)}),
        "form": {"enum": [BARE, UNBATCHED, BATCHED]},
        "layout": {"type": "string", "pattern": "^N[A-Z]+$"},
        "numbers": {"enum": [FloatDomain.name, ExactDomain.name, SymbolicDomain.name]},
    }
)


def chain_layer(backward: bool) -> Schema:
    """One layer of a chain's JSON: its number and kind, totals, where its dZ came from, config, overlays."""
    names = ["Z", "dW", "db", "dA_prev"] if backward else ["Z"]
    fields: dict[str, Schema] = {"layer": integer(1), "kind": {"enum": list(KINDS)}, **totals(names)}
    if backward:
        fields["dZ_from"] = CHAIN_JOIN
    which = "backward" if backward else "forward"
    fields["config"] = either(ref("config"), ref("kind_config"))
    fields["overlays"] = array_of(either(ref(f"{which}_overlay"), ref(f"{which}_kind_overlay")))
    return record(fields, optional=["dW", "db"] if backward else [])


def chain_document(backward: bool) -> Schema:
    return described(
        'A chain of layers (a problem with "layers"): every layer in order, overlays only of those --layers '
        "shows; a kind without weights omits dW and db.",
        record({"loss": CHAIN_LOSS, "config": CHAIN_CONFIG, "layers": array_of(chain_layer(backward))}),
    )


def tagged(schema: Schema) -> Schema:
    """An overlay's schema with the "layer" number a chain's JSON lines add in front."""
    properties = {"layer": integer(1), **schema["properties"]}
    return {**schema, "required": ["layer", *schema.get("required", [])], "properties": properties}


def chain_problem() -> Schema:
    """A chain problem: "layers" (each a problem's layer keys, without the chain's), A_prev, dZ or loss."""
    own = {
        key: value for key, value in problem_properties().items() if CANONICAL_OF.get(key, key) not in CHAIN_ONLY_KEYS
    }
    layer = record(own, optional=own)
    fields = {
        "layers": {"type": "array", "minItems": 1, "items": layer},
        "loss": LOSS_INPUT,
        **{key: PROBLEM_FIELDS[key] for key in CHAIN_ONLY_KEYS},
        **{
            alias: PROBLEM_FIELDS[name]
            for name, aliases in ALIASES.items()
            if name in CHAIN_ONLY_KEYS
            for alias in aliases
        },
        **{key: PROBLEM_FIELDS[key] for key in META_FIELDS},
    }
    return described(
        "A chain of layers: the chain's input A_prev, the layers in order, and dZ or a loss at the end.",
        record(fields, optional=[key for key in fields if key not in ("layers", "A_prev")]),
    )


CANONICAL_OF = {alias: name for name, aliases in ALIASES.items() for alias in aliases}


def bodies() -> dict[str, tuple[str, Schema]]:
    """Each published schema's title and body, by name: one layer's, with a chain's as an alternative."""
    built = layer_bodies()
    title, body = built["input"]
    description = body.pop("description")
    built["input"] = (title, {"description": description, "anyOf": [body, chain_problem()]})
    for name, backward in (("forward", False), ("backward", True)):
        title, body = built[name]
        built[name] = (title, {"anyOf": [*body["anyOf"], chain_document(backward)]})
    title, body = built["jsonl"]
    chain_lines = [
        tagged(overlay(backward=False)),
        tagged(overlay(backward=True)),
        tagged(kind_overlay(backward=False)),
        tagged(kind_overlay(backward=True)),
        described(
            "A chain's layer, after its overlays: its totals, configuration and where its dZ came from.",
            record(
                {
                    "layer": integer(1),
                    "kind": {"enum": list(KINDS)},
                    "totals": record(totals(), optional=GRADIENTS),
                    "config": either(ref("config"), ref("kind_config")),
                    "dZ_from": CHAIN_JOIN,
                },
                optional=["dZ_from"],
            ),
        ),
        described(
            "A chain's last line: the loss and the chain's configuration.",
            record({"loss": CHAIN_LOSS, "config": CHAIN_CONFIG}),
        ),
    ]
    built["jsonl"] = (title, {"anyOf": [*body["anyOf"], *chain_lines]})
    for name, chain_body in chain_tool_bodies().items():
        title, body = built[name]
        built[name] = (title, {"anyOf": [*body.get("anyOf", [body]), chain_body]})
    return built


def chain_tool_bodies() -> dict[str, Schema]:
    """check, gradcheck and shape of a chain (convgrad/chains/check.py, gradcheck.py, shape.py)."""
    layer_report = record(
        {
            "layer": integer(1),
            "kind": {"enum": list(KINDS)},
            "correct": BOOLEAN,
            "decimals": NULLABLE_DECIMALS,
            "quantities": per_quantity(QUANTITIES, "quantity_verdict"),
        }
    )
    loss_verdict = record(
        {
            "given": ref("number"),
            "given_text": STRING,
            "expected": ref("number"),
            "right": BOOLEAN,
            "mark": {"enum": [RIGHT, WRONG, IMPRECISE]},
            "mistakes": array_of({"enum": list(CHAIN_MISTAKE_KEYS)}),
        }
    )
    shape_row = record(
        {
            "layer": integer(1),
            "kind": {"enum": list(KINDS)},
            "A_prev": integers(),
            "Z": integers(),
            "W": nullable(integers()),
            "b": nullable(integers()),
            "weights": COUNT,
            "biases": COUNT,
            "parameters": COUNT,
            "overlays": COUNT,
            "settings": {"type": "object"},
        }
    )
    grad_row = record(
        {
            "layer": integer(1),
            "kind": {"enum": list(KINDS)},
            "quantity": {"enum": ["dW", "db", "dA_prev"]},
            "checked": COUNT,
            "total": COUNT,
            "skipped": COUNT,
            "max_abs_error": NUMBER,
            "max_rel_error": NUMBER,
            "passed": BOOLEAN,
            "worst_index": nullable(integers()),
        }
    )
    return {
        "check": described(
            "check of a chain: per layer its report (null: not answered), and the loss value (null: not given).",
            record({"correct": BOOLEAN, "loss": nullable(loss_verdict), "layers": array_of(nullable(layer_report))}),
        ),
        "gradcheck": described(
            "gradcheck of a chain: per layer with weights dW and db, and dA_prev of the chain's input, against "
            "central differences of the chain's loss (or of sum(dZ·Z) of the last layer).",
            record({"passed": BOOLEAN, "rtol": NUMBER, "layers": array_of(grad_row)}),
        ),
        "shape": described(
            "shape of a chain: per layer its shapes (user form), parameters and overlays; the totals.",
            record({"layers": array_of(shape_row), "weights": COUNT, "biases": COUNT, "parameters": COUNT}),
        ),
    }


def references(schema: Any) -> Iterator[str]:
    """The names of the definitions a schema points at itself (not through other definitions)."""
    if isinstance(schema, dict):
        target = schema.get("$ref")
        if isinstance(target, str) and target.startswith(_DEFS_PREFIX):
            yield target[len(_DEFS_PREFIX) :]
        for value in schema.values():
            yield from references(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from references(value)


def reachable(schema: Schema, definitions: Mapping[str, Schema]) -> set[str]:
    """Every definition a schema uses, directly or through the definitions it uses."""
    found: set[str] = set()
    pending = list(references(schema))
    while pending:
        name = pending.pop()
        if name in found:
            continue
        if name not in definitions:
            raise KeyError(f"no definition named {name!r}")
        found.add(name)
        pending.extend(references(definitions[name]))
    return found


def schema(name: str) -> Schema:
    """The published schema ``name``, with exactly the $defs it reaches."""
    title, body = bodies()[name]
    document: Schema = {"$schema": DRAFT, "$id": ID_BASE + file_name(name), "title": title, **body}
    shared = definitions()
    used = reachable(document, shared)
    if used:
        document["$defs"] = {key: value for key, value in shared.items() if key in used}
    return document


def text(name: str) -> str:
    """The file's text: exactly ``json.dumps(indent=2)`` and a newline."""
    return json.dumps(schema(name), indent=2) + "\n"


def build() -> dict[str, str]:
    """Every published schema's file name and text."""
    built = bodies()
    if tuple(built) != NAMES:
        raise ValueError(f"schemas built {tuple(built)} are not the schemas published {NAMES}")
    return {file_name(name): text(name) for name in NAMES}


def differences(directory: Path, expected: Mapping[str, str]) -> list[str]:
    """One phrase per file in ``directory`` that is not what the generator writes."""
    found = []
    for name, want in expected.items():
        path = directory / name
        if not path.exists():
            found.append(f"{name} missing")
            continue
        have = path.read_text(encoding="utf-8")
        if have != want:
            diff = list(difflib.unified_diff(have.splitlines(), want.splitlines(), lineterm="", n=0))[2:]
            added = sum(1 for line in diff if line.startswith("+"))
            removed = sum(1 for line in diff if line.startswith("-"))
            found.append(f"{name} differs (+{added} -{removed} lines)")
    found.extend(
        f"{path.name} is not generated" for path in sorted(directory.glob("*.schema.json")) if path.name not in expected
    )
    return found


def write(directory: Path, files: Mapping[str, str]) -> list[str]:
    """Write every schema; remove schema files the generator no longer makes. Returns what changed."""
    changed = differences(directory, files)
    for name, content in files.items():
        with open(directory / name, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
    for path in directory.glob("*.schema.json"):
        if path.name not in files:
            path.unlink()
    return changed


def main(argv: list[str] | None = None, directory: Path = HERE) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"]):
        print("usage: python -m convgrad.schemas.build [--check]", file=sys.stderr)
        return 2
    files = build()
    if args == ["--check"]:
        stale = differences(directory, files)
        if stale:
            print(f"schemas out of date: {'; '.join(stale)} (run python -m convgrad.schemas.build)", file=sys.stderr)
            return 1
        return 0
    changed = write(directory, files)
    print(
        f"wrote {len(files)} schemas to {directory}" + (f": {'; '.join(changed)}" if changed else ", none changed"),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
