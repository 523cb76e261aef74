"""Model files: finding a model, its metadata, loading it with Keras, and its LiteRT (TFLite) export.

The ``.h5`` is the model of record; a ``.tflite`` export is cached beside it with a stamp
holding the ``.h5``'s SHA-256 and rebuilt whenever the ``.h5`` changes. With a fresh export
nothing here imports TensorFlow, so the window starts in well under a second.

The export uses TFLite dynamic-range quantization (int8 weights, activations quantized on the
fly by XNNPACK): several times faster per face than float32 (bench/bench_frame.py prints both),
probabilities within ~0.01 of the float model.
``evaluate`` measures accuracy through this same runtime, so reported figures are what users get.
"""

import contextlib
import hashlib
import io
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from emorec.common.artifacts import atomic_path, file_sha256, metadata_path, now_iso, read_json, write_json
from emorec.common.errors import ModelError, output_error
from emorec.common.invocation import command
from emorec.common.labels import (
    DEFAULT_MODEL,
    EMOTIONS,
    ENSEMBLE_FILENAME,
    INPUT_SIZE,
    MODEL_FILENAME,
    NUM_CLASSES,
    SHIPPED_MODELS,
    shipped_model_name,
    user_cache_dir,
)
from emorec.common.quiet import (
    import_keras,
    import_tensorflow,
    kept_logger_levels,
    require_training_libraries,
    silenced_stderr,
)


def resolve_model_path(path: str | Path | None = None) -> Path:
    """``None`` -> the shipped default; a folder -> its ``emotion_cnn.h5``, or its ``ensemble.json`` when it
    is an ensemble (:func:`ensemble_members`); checks the file exists. ``model/fast`` (or ``fast``, likewise
    ``default``) names a shipped model, found in the package when the current folder has no
    such path (an installed wheel run from anywhere)."""
    path = Path(path) if path else DEFAULT_MODEL
    shipped = SHIPPED_MODELS.get(path.name) if path.parts in ((path.name,), ("model", path.name)) else None
    if shipped is not None and not path.exists():
        path = shipped if shipped.is_dir() else shipped / MODEL_FILENAME
    if path.is_dir():
        path = path / (ENSEMBLE_FILENAME if (path / ENSEMBLE_FILENAME).is_file() else MODEL_FILENAME)
    if not path.exists():
        name = shipped_model_name(path.parent)
        hint = (f"the shipped model is missing: restore model/{name}/ from git (git checkout -- model/{name}), "
                "or reinstall emorec") if name else \
            f"check the path, or train one with `{command()} train --data data/fer2013.csv`"
        raise ModelError(f"model not found: {path}; {hint}.")
    if not is_ensemble(path) and path.suffix.lower() not in (".h5", ".keras"):
        raise ModelError(f"{path}: expected a Keras model file (.h5 or .keras), a run folder or an ensemble "
                         f"folder (with {ENSEMBLE_FILENAME}).")
    return path


def is_ensemble(model_path: str | Path) -> bool:
    """Whether a resolved model path is an ensemble's manifest (several networks whose probabilities are
    averaged) rather than one network."""
    return Path(model_path).name == ENSEMBLE_FILENAME


def ensemble_members(manifest: str | Path) -> list[Path]:
    """The member model files an ensemble's manifest names, resolved and checked. A member is a folder or file
    relative to the ensemble's folder, or the name of a shipped model (``default``, ``fast``)."""
    manifest = Path(manifest)
    members = load_metadata(manifest).get("members")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) and m for m in members):
        raise ModelError(f"{manifest}: \"members\" must be a list of model folders; rebuild it with "
                         f"`{command()} ensemble MODEL MODEL ... --out {manifest.parent}`.")
    paths = []
    for member in members:
        where = SHIPPED_MODELS[member] if member in SHIPPED_MODELS else manifest.parent / member
        try:
            path = resolve_model_path(where)
        except ModelError as e:
            raise ModelError(f"{manifest}: member {member!r}: {e}") from None
        if is_ensemble(path):
            raise ModelError(f"{manifest}: member {member!r} is itself an ensemble; list its members instead.")
        paths.append(path)
    return paths


def model_digest(model_path: str | Path) -> str:
    """The SHA-256 that tells two models apart: of the file's bytes; for an ensemble, of its manifest and its
    members' digests (a retrained member changes it)."""
    if not is_ensemble(model_path):
        return file_sha256(model_path)
    h = hashlib.sha256(Path(model_path).read_bytes())
    for member in ensemble_members(model_path):
        h.update(file_sha256(member).encode())
    return h.hexdigest()


def load_metadata(model_path: str | Path) -> dict[str, Any]:
    """The metadata JSON beside a model, checked against this program's classes and input size."""
    meta_file = metadata_path(model_path)
    if not meta_file.exists():
        warnings.warn(f"{meta_file} not found: assuming the standard class order {', '.join(EMOTIONS)} "
                      "and 48×48 gray input with values 0..255", stacklevel=2)
        return {"classes": list(EMOTIONS), "input_size": INPUT_SIZE}
    try:
        meta = read_json(meta_file)
    except ValueError as e:
        raise ModelError(f"{meta_file} is not valid JSON ({e}); restore it or retrain.") from None
    if list(meta.get("classes", [])) != list(EMOTIONS) or meta.get("input_size") != INPUT_SIZE:
        raise ModelError(f"{meta_file}: the model predicts {meta.get('classes')} from "
                         f"{meta.get('input_size')}px crops; this program needs {list(EMOTIONS)} from "
                         f"{INPUT_SIZE}px crops.")
    return meta


#: Largest input blur a model's metadata may ask for; more would wash out a 48×48 face.
MAX_BLUR_SIGMA = 2.0


def input_blur(meta: dict[str, Any], meta_file: object = "the model's metadata") -> float:
    """The σ of the Gaussian input blur a model has (0 when none): ``input_blur.sigma``, built into the network
    by :mod:`emorec.training.calibrate`."""
    if "input_blur" not in meta and isinstance(meta.get("inference"), dict) and "blur_sigma" in meta["inference"]:
        raise ModelError(f"{meta_file} asks for an input blur outside the network (\"inference\": "
                         "{\"blur_sigma\": ...}), as models calibrated before the blur moved into the network "
                         f"did; run `{command()} calibrate --model ... --data ...` to build it into the model.")
    record = meta.get("input_blur") or {}
    sigma = record.get("sigma", 0.0) if isinstance(record, dict) else record
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma <= MAX_BLUR_SIGMA:
        raise ModelError(f"{meta_file}: the input blur σ must be a number from 0 to {MAX_BLUR_SIGMA}, got "
                         f"{sigma!r}; run `{command()} calibrate --model ... --data ...` to choose it again.")
    return float(sigma)


def export_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".tflite")


def export_cache_dir() -> Path:
    """Where exports go when the model's own folder cannot be written: the user's cache folder, ``exports/``."""
    return user_cache_dir() / "exports"


QUANTIZATION = "dynamic-range (int8 weights)"


def _export_locations(model_path, digest):
    """(tflite, stamp) pairs tried in order: beside the model, then the user's cache (named by the digest)."""
    yield export_path(model_path), Path(model_path).with_suffix(".tflite.json")
    cached = export_cache_dir() / f"{Path(model_path).stem}-{digest[:16]}.tflite"
    yield cached, cached.with_suffix(".tflite.json")


def _is_fresh(tflite, stamp, digest):
    try:
        info = read_json(stamp)
    except (OSError, ValueError):
        return False   # missing or damaged stamp: export again
    return (tflite.exists() and info.get("source_sha256") == digest and info.get("quantization") == QUANTIZATION
            and not info.get("added_input_blur"))    # older versions built a blur into some exports


def export_source_sha256(tflite: Path) -> str | None:
    """The SHA-256 of the ``.h5`` that a fresh export (as :func:`ensure_export` returns it) was made from, read
    from its stamp: the member's digest without hashing the file again."""
    return read_json(tflite.with_suffix(".tflite.json")).get("source_sha256")


def ensure_export(model_path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Return the path of a ``.tflite`` export that matches ``model_path``, (re)building it if needed.

    The export is written beside the model; where that folder is read-only (an installed or shared model),
    it goes to :func:`export_cache_dir` instead.
    """
    model_path = Path(model_path)
    digest = file_sha256(model_path)
    meta = load_metadata(model_path) if metadata is None else metadata
    input_blur(meta, metadata_path(model_path))      # a model calibrated the old way is refused, with the fix
    for tflite, stamp in _export_locations(model_path, digest):
        if _is_fresh(tflite, stamp, digest):
            return tflite
    require_training_libraries(f"{model_path} has no up-to-date LiteRT export (.tflite), and making one",
                               tensorflow=True)
    flatbuffer = to_litert(load_keras_model(model_path))
    tf = import_tensorflow()
    failure = None
    for tflite, stamp in _export_locations(model_path, digest):
        try:
            with atomic_path(tflite) as tmp:
                tmp.write_bytes(flatbuffer)
            write_json(stamp, {"source": model_path.name, "source_sha256": digest, "quantization": QUANTIZATION,
                               "created": now_iso(), "tensorflow": tf.__version__})
            return tflite
        except OSError as e:
            failure = failure or output_error(tflite, e, what="write the model's LiteRT export")
    assert failure is not None     # every location was tried, and each failed
    raise failure


def to_litert(keras_model: Any, quantize: bool = True, representative: Iterable[np.ndarray] | None = None) -> bytes:
    """A Keras model's LiteRT flatbuffer (bytes): with ``quantize``, int8 weights and float activations (what
    the app runs); with ``representative`` too (an iterable of N×48×48×1 float32 inputs), int8 activations
    as well, their ranges set on those inputs."""
    tf = import_tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if representative is not None:
        converter.representative_dataset = lambda: ([x] for x in representative)
    # The converter prints its whole signature, and sets absl's logger back to WARNING (which would make
    # Keras's .h5 saves talk): the caller's levels are kept.
    with contextlib.redirect_stdout(io.StringIO()), silenced_stderr(), kept_logger_levels("absl", "tensorflow"):
        flatbuffer = converter.convert()
    return flatbuffer


def load_keras_model(model_path: str | Path) -> Any:
    """Load and shape-check a Keras model (N×48×48×1 in, N×7 out)."""
    if is_ensemble(model_path):
        raise ModelError(f"{model_path} is an ensemble (its members' probabilities averaged); this command needs "
                         "one network: give one of its members (" +
                         ", ".join(str(m) for m in ensemble_members(model_path)) + "). (`calibrate --temperature` "
                         "takes the ensemble itself.)")
    keras = import_keras(f"loading the Keras model {model_path}")
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as e:  # Keras and h5py raise many types for a damaged or foreign file
        raise ModelError(f"{model_path} is not a readable Keras model ({type(e).__name__}: {e}). "
                         "Re-download or retrain it.") from None
    _check_shapes(model_path, tuple(model.input_shape[1:]), tuple(model.output_shape[1:]))
    return model


def _check_shapes(path, input_shape, output_shape):
    input_shape, output_shape = tuple(int(v) for v in input_shape), tuple(int(v) for v in output_shape)
    if input_shape != (INPUT_SIZE, INPUT_SIZE, 1) or output_shape != (NUM_CLASSES,):
        raise ModelError(f"{path}: the model maps {input_shape} to {output_shape}; this program needs "
                         f"({INPUT_SIZE}, {INPUT_SIZE}, 1) gray crops to {NUM_CLASSES} emotion scores.")

