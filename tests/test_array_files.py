"""Issue 17 item 4: every failure of reading an .npy or .npz is one line naming the file and what
is wrong with it, exit 2; nothing is unpickled; a member's declared shape is checked against
--max-elements before its data is read."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from fuzzing_io import NPY_KINDS, NPZ_KINDS, broken_npy, broken_npz

NPY_SAYS = {
    "empty": "it is empty",
    "malformed_header": "its .npy header is malformed or cut off",
    "cut_header": "its .npy header is malformed or cut off",
    "zip_renamed": "it is a zip archive (an .npz?), not a single .npy array",
    "text": "it is text ('1 2 3'...), not a .npy array",
    "truncated": "it is truncated: its header declares shape (6,) of float64, 48 bytes of data, but only 40 follow",
    "huge_header": "its header declares shape (1000000000000,), 1,000,000,000,000 entries, over the limit of "
    "100,000,000 (raise it with --max-elements)",
    "objects": "it holds Python objects, which convgrad does not load",
    "bad_version": "it uses .npy format version 9.0, which numpy cannot read",
}

NPZ_SAYS = {
    "not_zip": "it is not a zip archive (or it is cut off), so not an .npz",
    "empty": "it is empty",
    "non_array_member": "member 'notes.txt' is not a .npy array",
    "bad_crc": "member 'A_prev': the archive is damaged (Bad CRC-32",
    "corrupt_deflate": "member 'A_prev': its compressed data is corrupt",
    "encrypted": "member 'A_prev' is encrypted",
    "unknown_method": "member 'A_prev' uses zip compression method 99",
    "huge_member": "member 'A_prev': its header declares shape (1000000000000,), 1,000,000,000,000 entries",
    "truncated_member": "member 'A_prev': it is truncated: its header declares shape (1000,) of float64, "
    "8,000 bytes of data, but only 80 follow",
    "objects_member": "member 'A_prev': it holds Python objects",
    "text_member": "member 'A_prev': it is text ('1 2 3'...), not a .npy array",
    "cut_archive": "it is not a zip archive (or it is cut off)",
    "single_array": "holds a single array: an .npz problem stores A_prev, W, ... by name",
    "no_members": "it holds no arrays",
}


def _one_line(result) -> str:
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.parametrize("kind", NPY_KINDS)
@pytest.mark.parametrize("command", ["forward", "backward", "shape"])
def test_broken_npy_is_one_line_naming_the_file(cli, tmp_path, kind, command):
    (tmp_path / "a.npy").write_bytes(broken_npy(kind))
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": "a.npy", "W": [1, 2], "dZ": 1}))
    message = _one_line(cli(command, tmp_path / "p.json"))
    assert f"A_prev: cannot read {str(tmp_path / 'a.npy')!r} as a .npy array: {NPY_SAYS[kind]}" in message


@pytest.mark.parametrize("kind", NPZ_KINDS)
@pytest.mark.parametrize("command", ["forward", "gradcheck"])
def test_broken_npz_is_one_line_naming_the_file(cli, tmp_path, kind, command):
    (tmp_path / "p.npz").write_bytes(broken_npz(kind))
    message = _one_line(cli(command, tmp_path / "p.npz"))
    assert str(tmp_path / "p.npz") in message and NPZ_SAYS[kind] in message


def test_member_shape_is_checked_before_its_data_is_read(cli, tmp_path, monkeypatch):
    """The declared shape is refused from the header: numpy never gets to read the data."""
    from numpy.lib import format as npformat

    np.savez(tmp_path / "p.npz", A_prev=np.zeros(5000), W=np.ones(2))
    read = []
    original = npformat.read_array
    monkeypatch.setattr(npformat, "read_array", lambda *a, **k: read.append(1) or original(*a, **k))
    message = _one_line(cli("forward", tmp_path / "p.npz", "--max-elements", "1000"))
    assert ("member 'A_prev'" in message and "unpacks to" in message) or "declares shape (5000,)" in message
    assert read == []


def test_declared_shape_over_max_elements_in_a_small_member(cli, tmp_path):
    """A member small on disk whose header declares more entries than --max-elements allows."""
    np.savez(tmp_path / "p.npz", A_prev=np.zeros(300), W=np.ones(2))
    message = _one_line(cli("forward", tmp_path / "p.npz", "--max-elements", "100"))
    assert "declares shape (300,), 300 entries, over the limit of 100" in message


def test_npz_unpacking_past_the_input_limit_is_refused_from_the_directory(cli, tmp_path):
    np.savez_compressed(tmp_path / "p.npz", A_prev=np.zeros(2_000_000), W=np.ones(2))
    assert (tmp_path / "p.npz").stat().st_size < 100_000
    message = _one_line(cli("forward", tmp_path / "p.npz", "--max-input-mb", "1"))
    assert "it unpacks to 15.3 MB, over the 1.0 MB input limit (raise it with --max-input-mb)" in message


def test_every_flipped_byte_of_an_npz_ends_in_a_result_or_one_line(cli, tmp_path):
    """Damage anywhere in an archive (headers, directory, data): exit 0 or one line, never 70."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in (("A_prev", np.arange(12.0)), ("W", np.array([1.0, -1.0]))):
            inner = io.BytesIO()
            np.save(inner, array)
            archive.writestr(f"{name}.npy", inner.getvalue())
    good = buffer.getvalue()
    for at in range(0, len(good), 7):
        data = bytearray(good)
        data[at] ^= 0xA5
        (tmp_path / "p.npz").write_bytes(bytes(data))
        result = cli("forward", tmp_path / "p.npz", "--json")
        assert result.exit_code in (0, 2), (at, result.stderr)
        if result.exit_code == 2:
            _one_line(result)


def test_good_files_still_load(cli_json, tmp_path):
    np.save(tmp_path / "a.npy", np.arange(4.0, dtype=np.float32))
    (tmp_path / "p.json").write_text(json.dumps({"A_prev": "a.npy", "W": [1, 1]}))
    assert cli_json("forward", tmp_path / "p.json")["Z"] == [1, 3, 5]
    np.savez_compressed(tmp_path / "p.npz", A_prev=np.arange(4.0), W=np.ones(2), stride=np.array(2))
    assert cli_json("forward", tmp_path / "p.npz")["Z"] == [1, 5]
