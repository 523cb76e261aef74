"""Building an ensemble folder: several networks whose probabilities the classifier averages.

Layout of an ensemble folder ``OUT``::

    OUT/ensemble.json                the manifest: classes, input size, members, and what each member is
    OUT/<member>/emotion_cnn.h5      a copy of each member that is not a shipped model, with its metadata
    OUT/<member>/emotion_cnn.tflite  and its LiteRT export (so that recognising never needs TensorFlow)

A shipped model (``default``, ``fast``) is named in the manifest instead of copied. Every command that takes
``--model`` takes the folder; :class:`emorec.core.classifier.Classifier` runs each face through every member.
"""

import shutil
from pathlib import Path
from typing import Any

from emorec.common.artifacts import atomic_path, file_sha256, metadata_path, now_iso, write_json
from emorec.common.errors import InputError
from emorec.common.labels import (
    EMOTIONS,
    ENSEMBLE_FILENAME,
    INPUT_SIZE,
    MODEL_FILENAME,
    SINGLE_MODELS,
    shipped_model_name,
)
from emorec.network.files import ensure_export, export_path, is_ensemble, load_metadata, resolve_model_path


def _member_name(path: Path, taken: set[str]) -> str:
    base = path.parent.name if path.name == MODEL_FILENAME else path.stem
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        shutil.copyfile(source, tmp)


def build_ensemble(models: list[str], out: str | Path) -> dict[str, Any]:
    """Write an ensemble folder ``out`` from ``models`` (model files or folders; at least two, all distinct)
    and return its manifest."""
    out = Path(out)
    paths = [resolve_model_path(m) for m in models]
    if len(paths) < 2:
        raise InputError("an ensemble needs at least two models.")
    for model, path in zip(models, paths):
        if is_ensemble(path):
            raise InputError(f"{model} is itself an ensemble; give its members instead.")
    if len({p.resolve() for p in paths}) < len(paths):
        raise InputError("the same model is given twice; an ensemble's members must differ.")
    if (out / MODEL_FILENAME).exists() or shipped_model_name(out) in SINGLE_MODELS:
        raise InputError(f"{out} holds a single model; write the ensemble to a folder of its own "
                         "(e.g. --out model/accurate).")
    members: list[str] = []
    described: list[dict[str, Any]] = []
    for path in paths:
        meta = load_metadata(path)
        tflite = ensure_export(path, meta)   # exported now, so that recognising never needs TensorFlow
        shipped = shipped_model_name(path.parent)
        if shipped:
            name = shipped
        else:
            name = _member_name(path, set(members))
            dest = out / name / MODEL_FILENAME
            if path.resolve() != dest.resolve():
                stamp, dest_export = tflite.with_suffix(".tflite.json"), export_path(dest)
                for source, target in ((path, dest), (metadata_path(path), metadata_path(dest)),
                                       (tflite, dest_export), (stamp, dest_export.with_suffix(".tflite.json"))):
                    if source.exists():
                        _copy(source, target)
        members.append(name)
        described.append({"member": name, "source": str(path), "arch": meta.get("arch"),
                          "sha256": file_sha256(path)})
    archs = sorted({str(d["arch"]) for d in described})
    manifest = {"classes": list(EMOTIONS), "input_size": INPUT_SIZE, "members": members,
                "arch": f"ensemble of {len(members)} ({', '.join(archs)})",
                "combine": "mean of the members' probabilities", "described": described, "created": now_iso()}
    write_json(out / ENSEMBLE_FILENAME, manifest)
    return manifest
