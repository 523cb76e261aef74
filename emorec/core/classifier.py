"""The face classifier: a saved Keras model run through the LiteRT (TFLite) runtime (its export, kept fresh by
:func:`emorec.network.files.ensure_export`)."""

import json
import os
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from emorec.common.artifacts import metadata_path
from emorec.common.errors import ModelError
from emorec.common.labels import NUM_CLASSES
from emorec.common.quiet import silenced_stderr
from emorec.core.preprocess import as_crops, flip_tta, to_model_input
from emorec.network.files import (
    _check_shapes,
    ensemble_members,
    ensure_export,
    export_source_sha256,
    input_blur,
    is_ensemble,
    load_metadata,
    resolve_model_path,
)

# Detection and classification run one after the other, so while a frame's faces are classified a second
# core is idle: two runtime threads nearly halve the classify step (a face and its mirror: 1.5 → 0.9 ms on
# a 2-core VM). Batch analysis with several worker processes passes 1.
DEFAULT_THREADS = min(2, os.cpu_count() or 1)


def tempered(probs: np.ndarray, t: float) -> np.ndarray:
    """Probabilities as the same network would give them with its logits divided by ``t`` (below 1 sharpens,
    above 1 softens; the most likely class stays the most likely)."""
    z = np.log(np.clip(probs, 1e-12, 1.0)) / t
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def recorded_temperature(meta: dict, where: Path) -> float:
    """The ``temperature`` record's total T in a model's metadata (1 when there is none; ``calibrate
    --temperature`` writes it). An ensemble's manifest applies it to its members' mean; a single network's is
    already in its last layer. A malformed record is refused with the fix."""
    record = meta.get("temperature")
    if record is None:
        return 1.0
    t = record.get("t") if isinstance(record, dict) else None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.05 <= t <= 20:   # NaN fails too
        raise ModelError(f"{where}: \"temperature\" must be a record whose \"t\" is a number from 0.05 to 20 "
                         f"(it is {json.dumps(record)}); delete that entry from the file, then run `calibrate "
                         "--temperature` again to refit it.")
    return float(t)


def stale_temperature(meta: dict, member_digests: list[str | None]) -> bool:
    """Whether an ensemble's temperature was fitted for other member files than those with these SHA-256s (a
    member retrained or recalibrated since): it then no longer makes the probabilities honest."""
    fitted_for = (meta.get("temperature") or {}).get("members_sha256")
    return isinstance(fitted_for, list) and fitted_for != member_digests


class _Network:
    """One network's LiteRT interpreter: N×48×48×1 float32 -> N×7, resized only when N changes."""

    def __init__(self, tflite: Path, num_threads: int):
        from ai_edge_litert.interpreter import Interpreter
        try:
            with silenced_stderr():   # LiteRT announces its XNNPACK delegate on stderr
                self._interpreter = Interpreter(model_path=str(tflite), num_threads=num_threads)
        except (ValueError, RuntimeError) as e:
            raise ModelError(f"{tflite} could not be loaded ({e}); delete it and it will be rebuilt.") from None
        inp, out = self._interpreter.get_input_details()[0], self._interpreter.get_output_details()[0]
        _check_shapes(tflite, inp["shape"][1:], out["shape"][1:])
        self._in, self._out = inp["index"], out["index"]
        self.tflite = tflite
        self._batch: int | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self._batch != len(x):
            with silenced_stderr():   # re-applying the XNNPACK delegate announces itself again
                self._interpreter.resize_tensor_input(self._in, x.shape)
                self._interpreter.allocate_tensors()
            self._batch = len(x)
        self._interpreter.set_tensor(self._in, x)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._out).copy()


class Classifier:
    """``classifier(faces)``: N×48×48 uint8 gray crops -> N×7 float32 probabilities (rows sum to 1).

    All faces of a call go through the runtime at once. ``model_path`` may name an ensemble
    (``ensemble.json``, :func:`emorec.network.files.ensemble_members`): each face then goes through every
    member and their probabilities are averaged, then tempered by the manifest's ``temperature`` if it has one;
    ``members`` lists their files (one entry for one network).
    ``input_blurs``: the σ of the Gaussian blur each member network applies to its input (see
    :mod:`emorec.training.calibrate`); ``input_blur`` is the first (the only one for a single network).
    ``export``: run this LiteRT file of a single model instead of its own export (a benchmark's other
    quantization).
    """

    def __init__(self, model_path: str | Path | None = None, num_threads: int | None = None,
                 export: str | Path | None = None):
        self.num_threads = num_threads or DEFAULT_THREADS
        self.model_path = resolve_model_path(model_path)
        self.metadata = load_metadata(self.model_path)
        if is_ensemble(self.model_path):
            if export:
                raise ModelError(f"{self.model_path} is an ensemble; an export can replace one network only.")
            self.members = ensemble_members(self.model_path)
            self.temperature = recorded_temperature(self.metadata, self.model_path)
        else:
            self.members = [self.model_path]
            self.temperature = 1.0     # a single network's is in its last layer
        self.input_blurs: tuple[float, ...] = ()
        self._networks: list[_Network] = []
        for member in self.members:
            meta = self.metadata if member == self.model_path else load_metadata(member)
            self.input_blurs += (input_blur(meta, metadata_path(member)),)
            self._networks.append(_Network(Path(export) if export else ensure_export(member, meta),
                                           self.num_threads))
        self.input_blur = self.input_blurs[0]
        digests = [export_source_sha256(n.tflite) for n in self._networks] if self.temperature != 1.0 else []
        if digests and stale_temperature(self.metadata, digests):    # the digests ensure_export just checked
            warnings.warn(f"{self.model_path}: its temperature was fitted before a member changed; run "
                          f"`calibrate --model {self.model_path.parent} --temperature` again to refit it",
                          stacklevel=2)

    def __call__(self, faces: ArrayLike) -> np.ndarray:
        return self.run(to_model_input(as_crops(faces)[0]))

    def run(self, x: np.ndarray) -> np.ndarray:
        """The network alone (for an ensemble the members' mean, tempered by its temperature): an N×48×48×1
        float32 tensor (gray values 0..255, already preprocessed) → N×7."""
        if len(x) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        probs = self._networks[0](x)
        for network in self._networks[1:]:
            probs += network(x)
        if len(self._networks) > 1:
            probs /= len(self._networks)
        return tempered(probs, self.temperature) if self.temperature != 1.0 else probs

    def predict(self, faces: ArrayLike, batch_size: int = 256, tta: bool = False) -> np.ndarray:
        """Probabilities for many crops, in chunks; ``tta`` averages with the horizontal flip."""
        crops, _ = as_crops(faces)
        chunks = []
        for i in range(0, len(crops), batch_size):
            part = crops[i:i + batch_size]
            chunks.append(flip_tta(self, part) if tta else self(part))
        return np.concatenate(chunks) if chunks else np.zeros((0, NUM_CLASSES), np.float32)
