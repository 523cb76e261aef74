"""Atomic files: the old content (or nothing) until the commit, the usual permissions after it, no temporary
file left by a failed write; and the small file helpers."""

import hashlib
import os

import pytest

from emorec.common.artifacts import (
    AtomicFile,
    atomic_path,
    file_sha256,
    metadata_path,
    read_json,
    remove_partials,
    write_json,
)


def test_a_file_keeps_its_old_content_until_the_commit(tmp_path):
    path = tmp_path / "a" / "report.json"
    write_json(path, {"v": 1})
    f = AtomicFile(path)
    f.tmp.write_text('{"v": 2}')
    assert read_json(path) == {"v": 1} and f.tmp.name.startswith(".report.") and f.tmp.suffix == ".json"
    f.commit()
    assert read_json(path) == {"v": 2} and not f.tmp.exists()
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask          # not mkstemp's 0600


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"old")
    with pytest.raises(ZeroDivisionError), atomic_path(path) as tmp:
        tmp.write_bytes(b"half")
        raise ZeroDivisionError("the writer failed")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["model.h5"]


def test_partials_a_killed_writer_left_are_removed(tmp_path):
    AtomicFile(tmp_path / "x.csv")                                # never committed nor aborted: a kill
    (tmp_path / "keep.csv").write_text("mine")
    assert remove_partials(tmp_path) == 1 and [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


def test_hash_and_metadata_path(tmp_path):
    data = os.urandom(3 << 20)
    (tmp_path / "m.h5").write_bytes(data)
    assert file_sha256(tmp_path / "m.h5", chunk=1000) == hashlib.sha256(data).hexdigest()
    assert metadata_path(tmp_path / "m.h5") == tmp_path / "m.json"
