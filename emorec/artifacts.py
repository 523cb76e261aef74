"""Atomic file writing and run metadata, so a killed process never leaves a half-written file."""

import contextlib
import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from pathlib import Path

_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` (same suffix); rename it over ``path`` only on success.

    The temporary name keeps the suffix because some writers (Keras, OpenCV) choose the
    format from it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{''.join(path.suffixes[-1:])}",
                               dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)   # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
    import importlib.metadata as md
    out = {"python": platform.python_version()}
    for name in ("keras", "tensorflow", "tensorflow-cpu", "jax", "numpy", "opencv-python", "ai-edge-litert"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[name] = md.version(name)
    return out


def metadata_path(model_path):
    """The metadata JSON that sits beside a model: ``x.h5`` -> ``x.json``."""
    return Path(model_path).with_suffix(".json")
