"""The recognition core: BGR frame in, its faces out as one :class:`faces.Faces` record (a sequence of :class:`Face`).

detect (Haar or BlazeFace: :mod:`detector`) → square + pad → clip → crop 48×48 (eyes levelled where the
detector finds them) → classify all faces in one batched call → track ids and smooth probabilities. Each
step takes and gives a :class:`faces.Faces`: the detectors' boxes, scores and eyes, then the probabilities,
then the ids.
Imports neither Tk nor TensorFlow.

>>> rec = Recognizer()                      # shipped model, default options (options.RecognizerOptions)
>>> for face in rec.image(photo_bgr):       # a still: H×W×3 uint8, OpenCV's BGR order; no state kept
...     print(face.id, face.box, face.label, round(face.confidence, 2), face.probs["happy"])
>>> for frame_bgr in frames:                # a stream: tracks, smoothing and near searches carry over
...     faces = rec(frame_bgr)
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from emorec.common.labels import CASCADE_PATH
from emorec.core.boxes import clip_boxes, crop_faces, square_boxes
from emorec.core.detector import Detector, DetectorSettings, detect, detect_near, make_detector
from emorec.core.faces import FACE_COLUMNS, Face, Faces  # noqa: F401 (Face and FACE_COLUMNS: also importable here)
from emorec.core.options import RecognizerOptions
from emorec.core.preprocess import (
    BOTH,
    PLAIN,
    Classify,
    as_color_frame,
    as_crops,
    as_gray_frame,
    classify_passes,
    flip_tta,
)
from emorec.core.tracking import Tracker, greedy_match, iou_matrix

log = logging.getLogger(__name__)

@dataclass
class Detection:
    """What one frame's detection step hands to classification: its ``faces`` (boxes squared, padded and
    clipped, with the detector's scores and eyes), their ``crops`` N×48×48 uint8, and per face the network
    ``passes`` it gets (:data:`preprocess.PLAIN`, ``MIRROR`` or ``BOTH``)."""
    faces: Faces
    crops: np.ndarray
    passes: np.ndarray


class Recognizes(Protocol):
    """What the window and its worker need of a recognizer (:class:`Recognizer` is one; tests give
    stand-ins): ``rec(frame)`` for a stream's next frame, ``rec.image(frame)`` for a still, ``reset()`` when the
    source changes; ``settings`` (None: no detector to describe) for the no-face hint, ``network_ms`` (None: not
    measured) for the readout."""

    def __call__(self, frame_bgr: np.ndarray, /) -> Faces: ...

    def image(self, frame_bgr: np.ndarray, /) -> Faces: ...

    def reset(self) -> None: ...

    @property
    def settings(self) -> DetectorSettings | None: ...

    @property
    def network_ms(self) -> float | None: ...


class Recognizer:
    """Frame → faces, for stills (:meth:`image`) and streams (``rec(frame)``, frame after frame).

    detector: a name in :data:`detector.DETECTORS` ("haar", "blazeface"), or any object meeting
    :class:`detector.Detector` (a callable gray H×W uint8 → (N, 4) boxes); default: ``settings.detector``.
    classifier: callable N×48×48 uint8 → N×7 probabilities (default: :class:`classifier.Classifier`).
    options: a :class:`options.RecognizerOptions` (default: its defaults), and ``changes`` to it by field name
    (``smoothing=0.3``, ``tta=False``, or a detector setting such as ``pad=0``); ``model``: the model's path, as
    ``options.model``.
    smoothing: EMA weight of a track's past, 0 = off. detect_every: run the detector every Nth frame
    and reuse the tracked boxes in between (classification still runs on every frame).
    full_scan_every: with a detector that can search near known faces (``detector.near``, as
    :class:`detector.HaarDetector` can), scan the whole frame only every Nth detection, and in between only around the
    faces found before, at their sizes; a new face is found at the next full scan. 1 = always full scans.
    A face the near search misses is carried over for ``carry`` detections before it is dropped, and the
    next detection is a full scan.
    tta: average each face's probabilities with those of its mirror image (flip test-time augmentation).
    alternate: in streams with ``tta`` and ``smoothing``, a face that continues from the previous frame gets
    one network pass per frame, its mirror image on every other frame (odd frame numbers), and the track's
    smoothing averages the two views; a face that is new (no box of the previous frame overlaps it) gets both
    passes, so its first label is already the averaged one. False: both passes on every frame. Stills
    (:meth:`image`) always get both passes when ``tta`` is on.

    A stream's state (tracks, near searches, carried boxes) belongs to one source: a frame whose size
    differs from the previous one starts afresh, as after :meth:`reset`.
    """

    def __init__(self, model: str | Path | None = None, cascade: str | Path = CASCADE_PATH, *,
                 detector: Detector | str | None = None, classifier: Classify | None = None,
                 options: RecognizerOptions | None = None, **changes: Any):
        options = (options or RecognizerOptions()).replace(**changes)
        if model is not None:
            options = options.replace(model=str(model))
        if isinstance(detector, str):
            options = options.replace(detector=detector)
        self.options = options
        self.detector: Detector = make_detector(options.settings, cascade) if detector is None or isinstance(
            detector, str) else detector
        if classifier is None:
            from emorec.core.classifier import Classifier  # loads LiteRT: only when no classifier is given
            classifier = Classifier(options.model)
        self.classifier: Classify = classifier
        self.tracker = Tracker(smoothing=options.smoothing)
        if not hasattr(self.detector, "near"):
            self.options = options = options.replace(full_scan_every=1)
        self.settings = options.settings
        self.detect_every = max(1, options.detect_every)
        self.full_scan_every = max(1, options.full_scan_every)
        self.carry, self.tta, self.alternate = options.carry, options.tta, options.alternate
        self.reset()

    def reset(self, start: int = 0) -> None:
        """Forget tracks (call when the source changes). ``start``: go on as if ``start`` frames had gone
        through; the detection from then on is exactly that of an uninterrupted run when ``start`` is a
        multiple of :attr:`resync_period` (those frames begin with a full scan, which looks at nothing
        before it). Tracking starts afresh either way; :meth:`tracking.Tracker.track` the faces elsewhere to
        continue ids. Which faces get one network pass or both depends on the frame before as well (see
        :meth:`advance`)."""
        self.tracker.reset()
        self._frame_index = int(start)
        self._detections = -(-int(start) // self.detect_every)   # detections frames 0..start-1 had
        self._found = Faces.empty()             # as the detector found them: where the next near search looks
        self._framed = Faces.empty()            # the same squared, padded, clipped: what is cropped
        self._missed = np.zeros(0, int)         # per found face: near searches in a row that did not find it
        self._shape: tuple[int, ...] | None = None   # the last frame's size: another size starts afresh
        self._previous = np.zeros((0, 4), int)  # the last frame's boxes: a face none of them overlaps is new
        self.last_scan: str | None = None       # "full", "near" or None (boxes reused): for benchmarks and tests
        self.network_ms = 0.0                   # the last frame's (or still's) time in the network, ms

    @property
    def resync_period(self) -> int:
        """Frames after which detection starts again from a full scan on schedule: frame indexes that are
        multiples of this do not depend on earlier frames, so a video can be cut there into segments that
        are recognized apart (:mod:`emorec.analysis.ray_engine`) and still give the boxes of one uninterrupted run."""
        return self.options.resync_period

    # ---------------------------------------------------------------- stills

    def image(self, frame_bgr: ArrayLike) -> Faces:
        """A still image (H×W×3 uint8 BGR; gray and BGRA accepted) → its :class:`faces.Faces`, ids 1..N in
        reading order. Stateless: a full scan, both passes per face with ``tta``, no smoothing; it neither
        uses nor changes the stream's state, so photos can be looped over with one recognizer, between
        stream frames or not."""
        gray, color = self._frames(frame_bgr)
        faces = self._frame(detect(self.detector, gray, color), gray.shape)
        probs = self.classify(crop_faces(gray, faces.boxes, self._eyes_for_crops(faces.eyes)))
        return faces.replace(probs=probs, ids=np.arange(1, len(faces) + 1))

    def classify(self, faces: ArrayLike) -> np.ndarray:
        """N×48×48 uint8 gray crops → N×7 float32 probabilities, in one batched call
        (2N crops with ``tta``: the faces, then their mirrors). One 48×48 crop → 7 probabilities.
        Anything else raises :class:`errors.InputError` naming the expected dtype and shape."""
        crops, single = as_crops(faces)
        started = time.perf_counter()
        probs = flip_tta(self.classifier, crops) if self.tta else self.classifier(crops)
        self.network_ms = (time.perf_counter() - started) * 1e3
        return probs[0] if single else probs

    # ---------------------------------------------------------------- streams

    def __call__(self, frame_bgr: ArrayLike) -> Faces:
        """The next frame of a stream (H×W×3 uint8 BGR; gray and BGRA accepted) → its :class:`faces.Faces`, with
        track ids and smoothed probabilities. Other dtypes and shapes raise :class:`errors.InputError` naming
        what is expected. For a still, use :meth:`image`."""
        return self.tracker.track(self.observe(frame_bgr))

    def observe(self, frame_bgr: ArrayLike) -> Faces:
        """The per-frame half of :meth:`__call__`: a frame → its :class:`faces.Faces`, detected and classified
        (``probs``) but neither tracked nor smoothed (``ids`` None)."""
        return self.classify_detection(self.detect(frame_bgr))

    def detect(self, frame_bgr: ArrayLike) -> Detection:
        """The stream's sequential detection step for the next frame (boxes, crops, and the passes each face
        gets); :meth:`classify_detection` then needs no state, so it may run beside the next frame's ``detect``."""
        gray, color = self._frames(frame_bgr)
        faces = self.faces(gray, color)
        passes = self._passes(self._frame_index - 1, faces.boxes)
        self._previous = faces.boxes
        return Detection(faces, crop_faces(gray, faces.boxes, self._eyes_for_crops(faces.eyes)), passes)

    def classify_detection(self, found: Detection) -> Faces:
        """A :class:`Detection`'s faces with their probabilities (N×7, from the passes it names, one batched call)."""
        started = time.perf_counter()
        probs = classify_passes(self.classifier, found.crops, found.passes)
        self.network_ms = (time.perf_counter() - started) * 1e3
        return found.faces.replace(probs=probs)

    def advance(self, frame_bgr: ArrayLike) -> None:
        """Detection alone: bring the stream's state past this frame without classifying it. A worker that
        recognizes a segment of a video from frame ``start`` (a multiple of :attr:`resync_period`) calls
        ``reset(start - resync_period)`` and follows the period's frames before it, so that its first frame's
        passes are chosen as in one uninterrupted run."""
        self._previous = self.faces(*self._frames(frame_bgr)).boxes

    def _frames(self, frame_bgr: ArrayLike) -> tuple[np.ndarray, np.ndarray | None]:
        """(gray frame, BGR frame or None): the colour one only for a detector that uses colour."""
        if not getattr(self.detector, "color", False):
            return as_gray_frame(frame_bgr), None
        color = as_color_frame(frame_bgr)
        return as_gray_frame(color), (color if color.ndim == 3 else None)

    def boxes(self, gray: np.ndarray, color: np.ndarray | None = None) -> np.ndarray:
        """Face boxes for the next gray frame of the stream (``color``: the same frame in BGR, for a detector
        that uses colour): detected, squared, padded and clipped to the frame (:meth:`faces`' boxes)."""
        return self.faces(gray, color).boxes

    def faces(self, gray: np.ndarray, color: np.ndarray | None = None) -> Faces:
        """The faces of the next gray frame of the stream, not classified yet (``color``: the same frame in BGR,
        for a detector that uses colour): detected (or carried over), boxes squared, padded and clipped."""
        if self._shape is not None and gray.shape != self._shape:
            log.debug("frame size changed from %s to %s: tracks reset, full scan", self._shape, gray.shape)
            self.reset()
        self._shape = gray.shape
        index, self._frame_index = self._frame_index, self._frame_index + 1
        self.last_scan = None
        if index % self.detect_every:
            return self._framed
        # A full scan on schedule, when no face is known, or when the last near search lost a face.
        full = self._detections % self.full_scan_every == 0 or len(self._found) == 0 or bool(self._missed.any())
        self._detections += 1
        if full:
            self._found = detect(self.detector, gray, color)
            self._missed = np.zeros(len(self._found), int)
        else:
            self._found, self._missed = self._follow(gray, color)
        self.last_scan = "full" if full else "near"
        raw = self._found.boxes
        inside = ((raw[:, 0] < gray.shape[1]) & (raw[:, 1] < gray.shape[0])
                  & (raw[:, 0] + raw[:, 2] > 0) & (raw[:, 1] + raw[:, 3] > 0))
        # never a face from outside the frame
        self._found, self._missed = self._found.select(inside), self._missed[inside]
        self._framed = self._frame(self._found, gray.shape)
        return self._framed

    def _frame(self, found: Faces, shape: tuple[int, ...]) -> Faces:
        """Faces as the detector found them → the same with boxes squared, padded and clipped to the frame."""
        return found.replace(boxes=clip_boxes(square_boxes(found.boxes, self.settings.pad), shape[1], shape[0]))

    def _follow(self, gray: np.ndarray, color: np.ndarray | None) -> tuple[Faces, np.ndarray]:
        """Search near the known faces; a face not found again is kept ``carry`` times, then dropped. Returns
        (the faces, per face the near searches in a row that did not find it)."""
        near = detect_near(self.detector, self._found.boxes, gray, color)
        known = self._found.boxes
        matched = iou_matrix(known, near.boxes).max(axis=1) > 0.3 if len(near) else np.zeros(len(known), bool)
        kept = ~matched & (self._missed < self.carry)
        faces = Faces.concat([near, self._found.select(kept)])
        return faces, np.concatenate([np.zeros(len(near), int), self._missed[kept] + 1])

    def _eyes_for_crops(self, eyes: np.ndarray) -> np.ndarray | None:
        """The eyes crops are levelled by (None when ``settings.align`` is off)."""
        return eyes if self.settings.align else None

    def _passes(self, index: int, boxes: np.ndarray) -> np.ndarray:
        """Per face, the passes of frame number ``index`` (see the class's ``alternate``)."""
        if not self.tta:
            return np.full(len(boxes), PLAIN)
        passes = np.full(len(boxes), BOTH)
        if self.alternate and self.tracker.smoothing > 0 and len(boxes) and len(self._previous):
            iou = iou_matrix(boxes, self._previous)
            continuing = np.array([t is not None for t in greedy_match(iou, self.tracker.iou_threshold)])
            passes[continuing] = index % 2      # PLAIN on even frames, MIRROR on odd ones
        return passes


