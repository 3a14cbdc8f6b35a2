"""Input/output fuzz cases: broken array files, output paths that collide with inputs or with
each other, big wrong answer keys and huge JSON arrays.

Each generator in ``GENERATORS`` is called as ``generator(rng, workdir)`` with a
``random.Random`` and an empty folder (a ``pathlib.Path``) it may fill with files, and returns
``(stdin_text, cli_arguments, what_was_done)``: the same form as ``fuzzing.make_case``, so
``fuzzing.run_case(runner, app, text, args)`` runs it and says ok / refused / crash / hang.
Paths in the arguments are absolute, so the case runs from any working folder.

Besides the verdict, every case keeps one promise a caller can check with ``snapshot``: no
file that existed in ``workdir`` before the run is changed, replaced or removed by it (the
generators never aim an output at an existing regular file that may legitimately be
overwritten), and no temporary file is left behind.

The ``broken_*`` builders write one broken .npy or .npz each and are used directly by
tests/test_array_files.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# -- broken array files ------------------------------------------------------------------------


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _npy_header_only(shape: tuple[int, ...], dtype: str = "<f8", data: bytes = b"") -> bytes:
    """A version 1.0 .npy header declaring ``shape`` followed by ``data`` (usually far too little)."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _patch_headers(data: bytes, *, flag_bits: int | None = None, method: int | None = None) -> bytes:
    """Set the general-purpose flags or the compression method in every local and central header."""
    out = bytearray(data)
    for signature, flags_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = 0
        while (at := out.find(signature, start)) >= 0:
            if flag_bits is not None:
                out[at + flags_at : at + flags_at + 2] = struct.pack("<H", flag_bits)
            if method is not None:
                out[at + method_at : at + method_at + 2] = struct.pack("<H", method)
            start = at + 4
    return bytes(out)


GOOD_W = np.array([0.5, -1.0])


def broken_npy(kind: str) -> bytes:
    """The bytes of a broken .npy of one kind (see NPY_KINDS)."""
    good = _npy_bytes(np.arange(6.0))
    if kind == "empty":
        return b""
    if kind == "malformed_header":
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", 60) + b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,"
    if kind == "cut_header":
        return good[:20]
    if kind == "zip_renamed":
        return _zip({"A_prev.npy": good})
    if kind == "text":
        return b"1 2 3\n4 5 6\n"
    if kind == "truncated":
        return good[:-8]
    if kind == "huge_header":
        return _npy_header_only((10**12,))
    if kind == "objects":
        buffer = io.BytesIO()
        np.save(buffer, np.array([1, "a", None], dtype=object), allow_pickle=True)
        return buffer.getvalue()
    if kind == "bad_version":
        return b"\x93NUMPY\x09\x00" + good[8:]
    raise ValueError(kind)


NPY_KINDS = (
    "empty",
    "malformed_header",
    "cut_header",
    "zip_renamed",
    "text",
    "truncated",
    "huge_header",
    "objects",
    "bad_version",
)


def broken_npz(kind: str) -> bytes:
    """The bytes of a broken .npz problem of one kind (see NPZ_KINDS)."""
    a, w = _npy_bytes(np.arange(6.0)), _npy_bytes(GOOD_W)
    if kind == "not_zip":
        return b"this is not an archive"
    if kind == "empty":
        return b""
    if kind == "non_array_member":
        return _zip({"A_prev.npy": a, "W.npy": w, "notes.txt": b"hello"})
    if kind == "bad_crc":
        data = bytearray(_zip({"A_prev.npy": a, "W.npy": w}))
        at = bytes(data).find(b"\x93NUMPY") + 140  # inside A_prev's stored data
        data[at] ^= 0xFF
        return bytes(data)
    if kind == "corrupt_deflate":
        data = bytearray(_zip({"A_prev.npy": _npy_bytes(np.arange(500.0)), "W.npy": w}, zipfile.ZIP_DEFLATED))
        for at in range(60, 90):
            data[at] ^= 0x5A
        return bytes(data)
    if kind == "encrypted":
        return _patch_headers(_zip({"A_prev.npy": a, "W.npy": w}), flag_bits=0x1)
    if kind == "unknown_method":
        return _patch_headers(_zip({"A_prev.npy": a, "W.npy": w}), method=99)
    if kind == "huge_member":
        return _zip({"A_prev.npy": _npy_header_only((10**12,), data=b"\0" * 64), "W.npy": w})
    if kind == "truncated_member":
        return _zip({"A_prev.npy": _npy_header_only((1000,), data=b"\0" * 80), "W.npy": w})
    if kind == "objects_member":
        buffer = io.BytesIO()
        np.save(buffer, np.array([1, None], dtype=object), allow_pickle=True)
        return _zip({"A_prev.npy": buffer.getvalue(), "W.npy": w})
    if kind == "text_member":
        return _zip({"A_prev.npy": b"1 2 3", "W.npy": w})
    if kind == "cut_archive":
        return _zip({"A_prev.npy": a, "W.npy": w})[:-30]
    if kind == "single_array":
        return a
    if kind == "no_members":
        return _zip({})
    raise ValueError(kind)


NPZ_KINDS = (
    "not_zip",
    "empty",
    "non_array_member",
    "bad_crc",
    "corrupt_deflate",
    "encrypted",
    "unknown_method",
    "huge_member",
    "truncated_member",
    "objects_member",
    "text_member",
    "cut_archive",
    "single_array",
    "no_members",
)


# -- generators ------------------------------------------------------------------------------------


def archive_corruption(rng: random.Random, workdir: Path) -> tuple[str, list[str], str]:
    """A problem whose arrays come from a broken .npz, or a JSON naming a broken .npy."""
    command = rng.choice(["forward", "backward", "gradcheck", "shape", "check"])
    if rng.random() < 0.5:
        kind = rng.choice(NPZ_KINDS)
        data = bytearray(broken_npz(kind))
        if data and rng.random() < 0.3:  # and a few random flipped bytes on top
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            kind += " + flipped bits"
        path = workdir / "p.npz"
        path.write_bytes(bytes(data))
        what = f"npz {kind}"
    else:
        kind = rng.choice(NPY_KINDS)
        (workdir / "a.npy").write_bytes(broken_npy(kind))
        path = workdir / "p.json"
        path.write_text(json.dumps({"A_prev": "a.npy", "W": GOOD_W.tolist(), "dZ": 1}))
        what = f"npy {kind}"
    args = [command, str(path)]
    if command == "check":
        (workdir / "answer.json").write_text('{"Z": [1, 2, 3, 4, 5]}')
        args += ["--answer", str(workdir / "answer.json")]
    if rng.random() < 0.3:
        args += ["--max-elements", str(rng.choice([3, 10, 1000]))]
    return "", args, what


def output_collision(rng: random.Random, workdir: Path) -> tuple[str, list[str], str]:
    """Outputs aimed at an input, at an .npy the input names, at each other, or at things that are
    not regular files (a directory, a FIFO, a dangling link, a link to the input)."""
    a = workdir / "a.npy"
    np.save(a, np.arange(6.0))
    problem = workdir / "p.json"
    problem.write_text(json.dumps({"A_prev": "a.npy", "W": [0.5, -1.0], "dZ": 1}))
    targets = {
        "the input": str(problem),
        "the input, by another name": str(workdir / "." / "p.json"),
        "the .npy it names": str(a),
        "a directory": str(workdir),
        "a link to the input": _link(workdir / "link.json", problem),
        "a dangling link": _link(workdir / "dangling.npz", workdir / "nowhere" / "x"),
        "a FIFO": _fifo(workdir / "fifo.npz"),
        "a fresh file": str(workdir / "fresh.out"),
    }
    if rng.random() < 0.3:
        name = rng.choice(["generate_pair", "generate_key_input"])
        key = str(workdir / "k")
        output = key + ".json" if name == "generate_pair" else key + ".md"
        return "", ["generate", "--seed", str(rng.randrange(100)), "--output", output, "--key", key], name
    command = rng.choice(["forward", "backward"])
    flags = rng.sample(["--save", "--svg", "--html"], rng.randint(1, 3))
    args = [command, str(problem), "--overlays", "none"]
    chosen = []
    for flag in flags:
        label = rng.choice(list(targets))
        if label == "a fresh file" and chosen and rng.random() < 0.5:
            label = chosen[0]  # two outputs aimed at one new file
        chosen.append(label)
        args += [flag, targets[label]]
    return "", args, " / ".join(f"{f} -> {label}" for f, label in zip(flags, chosen))


def _link(link: Path, target: Path) -> str:
    if not link.is_symlink():
        link.symlink_to(target)
    return str(link)


def _fifo(path: Path) -> str:
    if not path.exists():
        os.mkfifo(path)
    return str(path)


def big_wrong_answer(rng: random.Random, workdir: Path) -> tuple[str, list[str], str]:
    """A class folder of answers: big, wrong, odd, with a huge number or a link outside the folder."""
    size = rng.choice([4, 12, 40])
    problem = workdir / "p.json"
    values = np.random.default_rng(rng.randrange(1 << 30)).integers(-3, 4, (size, size))
    problem.write_text(json.dumps({"A_prev": values.tolist(), "W": [[1, 0], [0, -1]]}))
    folder = workdir / "class"
    folder.mkdir()
    odd = [
        lambda: '{"Z": ' + json.dumps(np.zeros((size - 1, size - 1)).tolist()) + "}",
        lambda: '{"Z": [[' + "9" * rng.choice([50, 5000]) + "]]}",
        lambda: '{"Z": [[3e' + "9" * rng.choice([3, 9]) + "]]}",
        lambda: '{"Z": "' + "x" * rng.choice([10, 100_000]) + '"}',
        lambda: '{"' + "k" * 5000 + '": 1}',
        lambda: "[" * 100_000,
        lambda: '{"Z": ' + json.dumps(np.ones((size + 30, size + 30)).tolist()) + "}",
        lambda: "\x00\xff not json",
        lambda: '{"Z": [[1e-999999999]]}',
        lambda: '{"dW": [1, 2]}',
    ]
    done = []
    for i in range(rng.randint(2, 6)):
        pick = rng.randrange(len(odd))
        done.append(str(pick))
        (folder / f"s{i}.json").write_text(odd[pick](), encoding="utf-8", errors="surrogateescape")
    if rng.random() < 0.3:
        (folder / "outside.json").symlink_to(problem)
        done.append("link outside")
    args = ["check", str(problem), "--answer", str(folder)]
    if rng.random() < 0.5:
        args.append("--json")
    return "", args, "answers " + ",".join(done)


def huge_json_array(rng: random.Random, workdir: Path) -> tuple[str, list[str], str]:
    """A JSON problem with a very long array of numbers (on stdin or in a file), a symbolic shape
    of 10^8 entries, or a shape far past the limits."""
    kind = rng.choice(["numbers", "numbers_file", "symbolic_shape", "padding", "cell"])
    count = rng.choice([2_000_001, 2_100_000])  # just past the 2,000,000 numbers a JSON document may hold
    if kind in ("numbers", "numbers_file"):
        token = rng.choice(["0.1", "0", "1e5", "-7"])
        text = '{"A_prev": [' + ",".join([token] * count) + '], "W": [1, 2]}'
        if kind == "numbers":
            return text, ["forward", "-", "--overlays", "none"], f"{count:,} numbers on stdin"
        path = workdir / "big.json"
        path.write_text(text)
        return "", ["backward", str(path), "--json"], f"{count:,} numbers in a file"
    if kind == "symbolic_shape":
        text = json.dumps({"A_prev": {"shape": [100_000_000]}, "W": {"shape": [3]}})
        return text, [rng.choice(["forward", "backward"]), "-", "--symbolic", "--json"], "symbolic 10^8"
    if kind == "padding":
        text = json.dumps({"A_prev": [1, 2, 3], "W": [1], "padding": 10**9})
        return text, ["forward", "-", "--json"], "padding 10^9"
    np.save(workdir / "a.npy", np.zeros(400_000))
    (workdir / "p.json").write_text(json.dumps({"A_prev": "a.npy", "W": [1, 1], "dZ": 1}))
    return "", ["backward", str(workdir / "p.json"), "--cell", "W[0]", "--max-output-mb", "1"], "cell W[0]"


#: Every generator: call ``generator(rng, workdir)`` -> (stdin text, CLI arguments, what was done).
GENERATORS: list[Callable[[random.Random, Path], tuple[str, list[str], str]]] = [
    archive_corruption,
    output_collision,
    big_wrong_answer,
    huge_json_array,
]


def snapshot(folder: Path) -> dict[str, Any]:
    """What is in ``folder`` (recursively, links not followed): each path's kind and content hash."""
    found: dict[str, Any] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            if path.is_symlink():
                found[str(path)] = ("link", os.readlink(path))
            elif path.is_fifo():
                found[str(path)] = ("fifo",)
            elif path.is_file():
                found[str(path)] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                found[str(path)] = ("dir",)
    return found


def damage(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Files present before that changed or vanished, and temporary files left behind."""
    changed = [f"{path} changed or vanished" for path, kind in before.items() if after.get(path) != kind]
    leftovers = [f"{path} left behind" for path in after if path.endswith(".tmp") and path not in before]
    return changed + leftovers
