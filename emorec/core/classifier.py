"""The face classifier: a saved Keras model run through the LiteRT (TFLite) runtime (its export, kept fresh by
:func:`emorec.network.files.ensure_export`)."""

import os
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
    input_blur,
    is_ensemble,
    load_metadata,
    resolve_model_path,
)

# Detection and classification run one after the other, so while a frame's faces are classified a second
# core is idle: two runtime threads nearly halve the classify step (a face and its mirror: 1.5 → 0.9 ms on
# a 2-core VM). Batch analysis with several worker processes passes 1.
DEFAULT_THREADS = min(2, os.cpu_count() or 1)


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
    member and their probabilities are averaged; ``members`` lists their files (one entry for one network).
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
        else:
            self.members = [self.model_path]
        self.input_blurs: tuple[float, ...] = ()
        self._networks: list[_Network] = []
        for member in self.members:
            meta = self.metadata if member == self.model_path else load_metadata(member)
            self.input_blurs += (input_blur(meta, metadata_path(member)),)
            self._networks.append(_Network(Path(export) if export else ensure_export(member, meta),
                                           self.num_threads))
        self.input_blur = self.input_blurs[0]

    def __call__(self, faces: ArrayLike) -> np.ndarray:
        return self.run(to_model_input(as_crops(faces)[0]))

    def run(self, x: np.ndarray) -> np.ndarray:
        """The network alone (the members' mean for an ensemble): an N×48×48×1 float32 tensor (gray values
        0..255, already preprocessed) → N×7."""
        if len(x) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        probs = self._networks[0](x)
        for network in self._networks[1:]:
            probs += network(x)
        return probs / len(self._networks) if len(self._networks) > 1 else probs

    def predict(self, faces: ArrayLike, batch_size: int = 256, tta: bool = False) -> np.ndarray:
        """Probabilities for many crops, in chunks; ``tta`` averages with the horizontal flip."""
        crops, _ = as_crops(faces)
        chunks = []
        for i in range(0, len(crops), batch_size):
            part = crops[i:i + batch_size]
            chunks.append(flip_tta(self, part) if tta else self(part))
        return np.concatenate(chunks) if chunks else np.zeros((0, NUM_CLASSES), np.float32)
