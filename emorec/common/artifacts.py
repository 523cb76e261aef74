"""Atomic file writing and run metadata, so a killed process never leaves a half-written file."""

import contextlib
import functools
import hashlib
import importlib.metadata as md
import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from pathlib import Path


@functools.cache
def _umask():
    """The process's umask, read once when a file is first committed (not at import: reading it means setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class AtomicFile:
    """A file written over time under a temporary name beside ``path`` (same suffix, because some writers
    such as Keras and OpenCV choose the format from it), renamed over ``path`` by :meth:`commit` or deleted
    by :meth:`abort`. Until the rename, ``path`` keeps its old content (or stays absent)."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".partial{''.join(self.path.suffixes[-1:])}",
                                   dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self):
        os.chmod(self.tmp, 0o666 & ~_umask())   # mkstemp makes 0600; give the file the usual permissions
        os.replace(self.tmp, self.path)

    def abort(self):
        if self.tmp.exists():
            self.tmp.unlink()


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` (same suffix); rename it over ``path`` only on success."""
    f = AtomicFile(path)
    try:
        yield f.tmp
        f.commit()
    finally:
        f.abort()


def remove_partials(folder):
    """Delete the temporary files a killed writer left in ``folder`` (not recursive); returns how many."""
    count = 0
    for p in Path(folder).glob(".*.partial*"):
        if p.is_file():
            p.unlink(missing_ok=True)
            count += 1
    return count


def write_text(path, text):
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save_figure(fig, path, **kwargs):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **kwargs)


def now_iso():
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def library_versions():
    """Versions of the libraries a model's behaviour depends on (only those already importable)."""
    out = {"python": platform.python_version()}
    for name in ("keras", "tensorflow", "tensorflow-cpu", "jax", "numpy", "opencv-python", "ai-edge-litert"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[name] = md.version(name)
    return out


def metadata_path(model_path):
    """The metadata JSON that sits beside a model: ``x.h5`` -> ``x.json``."""
    return Path(model_path).with_suffix(".json")


def file_sha256(path, chunk=1 << 20):
    """The SHA-256 of a file's bytes (hex), read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
