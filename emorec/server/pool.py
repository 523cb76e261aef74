"""A small pool of recognition engines for serving many clients at once.

The LiteRT interpreter is not thread-safe (nor, reliably, is OpenCV's cascade), so instead of one lock
around everything each engine has its own face detector and its own interpreter of the one exported
model, and a call borrows whichever engine is free. Waiting calls are served first come, first served,
so many clients share the cores fairly. Per-client state (the tracker, so ids and smoothing work across
frames) lives in each client's own :class:`recognizer.Recognizer`, made by :meth:`EnginePool.recognizer`.
"""

import os
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from emorec.common.labels import CASCADE_PATH
from emorec.core.classifier import Classifier
from emorec.core.detector import Detector, DetectorSettings, detect, make_detector
from emorec.core.faces import Faces
from emorec.core.options import RecognizerOptions
from emorec.core.recognizer import Recognizer


class EnginePool:
    """``size`` (detector, classifier) pairs over one model; ``detect`` and ``classify`` borrow one per call.

    The pool is itself a detector (:class:`detector.Detector`: a call is a full scan; ``near``, a search
    around known faces, where the detector has one): the one its recognizers use.
    """

    def __init__(self, model: str | Path | None = None, size: int | None = None,
                 settings: DetectorSettings | None = None, cascade: str | Path = CASCADE_PATH) -> None:
        self.settings = settings or RecognizerOptions().settings
        self.size = max(1, int(size or os.cpu_count() or 1))
        first = Classifier(model, num_threads=1)          # checks and exports the model once
        self.model_path, self.metadata = first.model_path, first.metadata
        self._free: queue.Queue[tuple[Detector, Classifier]] = queue.Queue()
        for i in range(self.size):
            classifier = first if i == 0 else Classifier(self.model_path, num_threads=1)
            detector = make_detector(self.settings, cascade)
            self._free.put((detector, classifier))
        self.color = bool(getattr(detector, "color", False))
        if hasattr(detector, "near"):
            self.near = self._near

    @contextmanager
    def engine(self) -> Iterator[tuple[Detector, Classifier]]:
        engine = self._free.get()
        try:
            yield engine
        finally:
            self._free.put(engine)

    def detect(self, frame: np.ndarray) -> Faces:
        """A full scan (:func:`detector.detect`) on a free engine."""
        with self.engine() as (detector, _):
            return detect(detector, frame, frame if frame.ndim == 3 else None)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return self.detect(frame).boxes

    def _near(self, gray: np.ndarray, boxes: Any) -> Any:
        """A search around known faces (the detector's ``near``: Haar's or BlazeFace's) on a free engine."""
        with self.engine() as (detector, _):
            return detector.near(gray, boxes)   # type: ignore[attr-defined]

    def classify(self, crops: np.ndarray) -> np.ndarray:
        with self.engine() as (_, classifier):
            return classifier(crops)

    def options(self, options: RecognizerOptions | None = None) -> RecognizerOptions:
        """``options`` (default: the defaults) with this pool's detector settings and model, which its engines
        were built with."""
        return (options or RecognizerOptions()).replace(settings=self.settings, model=str(self.model_path))

    def recognizer(self, options: RecognizerOptions | None = None, **changes: Any) -> Recognizer:
        """A Recognizer with its own tracker whose detection and classification run on this pool: ``options``
        (and ``changes`` to them, e.g. ``tta=False``) with the pool's detector settings and model."""
        return Recognizer(detector=self, classifier=self.classify, options=self.options(options), **changes)
