"""The recognition core: BGR frame in, one :class:`Face` per detected face out.

detect (Haar, on a downscaled gray frame) → square + pad → clip → crop 48×48 → classify all faces in
one batched call → track ids and smooth probabilities. Imports neither Tk nor TensorFlow.

>>> rec = Recognizer()                      # shipped model + shipped Haar cascade
>>> for face in rec(frame_bgr):             # frame_bgr: H×W×3 uint8, OpenCV's BGR order
...     print(face.id, face.box, face.label, round(face.confidence, 2), face.probs["happy"])
"""

from dataclasses import dataclass, field

import numpy as np

from emorec.common.labels import CASCADE_PATH, EMOTIONS
from emorec.core.detector import DetectorSettings, HaarDetector, clip_boxes, crop_faces, square_boxes
from emorec.core.preprocess import as_crops, as_gray_frame, flip_tta
from emorec.core.tracking import DEFAULT_SMOOTHING, Tracker, iou_matrix

#: CSV columns of :meth:`Face.row`, shared by the window's recordings and `main.py analyze`.
FACE_COLUMNS = ["id", "x", "y", "w", "h", "label", "confidence", *EMOTIONS]


@dataclass
class Face:
    """One recognized face. ``box`` is (x, y, w, h) in frame pixels; ``probs`` maps every emotion to
    its (smoothed, unrounded) probability, in :data:`labels.EMOTIONS` order, summing to 1."""
    id: int
    box: tuple
    probs: dict = field(repr=False)
    label: str = ""
    confidence: float = 0.0

    def row(self):
        """The face as CSV values in :data:`FACE_COLUMNS` order (probabilities to 6 decimals)."""
        return [self.id, *self.box, self.label, f"{self.confidence:.6f}", *(f"{self.probs[e]:.6f}" for e in EMOTIONS)]

    def as_dict(self):
        """The face as JSON-ready data: ``{"id", "box": [x, y, w, h], "label", "confidence", "probs": {...}}``."""
        return {"id": self.id, "box": list(self.box), "label": self.label, "confidence": self.confidence,
                "probs": dict(self.probs)}

    @classmethod
    def from_probs(cls, track_id, box, probs):
        k = int(np.argmax(probs))
        return cls(int(track_id), tuple(int(v) for v in box),
                   {name: float(p) for name, p in zip(EMOTIONS, probs)}, EMOTIONS[k], float(probs[k]))


#: Full scans every this many detections when the detector can search near known faces (10 frames ≈ 333 ms
#: at 30 frames/s: the longest a new face waits to be found).
FULL_SCAN_EVERY = 10


class Recognizer:
    """Callable frame → faces pipeline.

    detector: callable gray H×W uint8 → (N, 4) boxes (default: :class:`HaarDetector`).
    classifier: callable N×48×48 uint8 → N×7 probabilities (default: :class:`classifier.Classifier`).
    smoothing: EMA weight of a track's past, 0 = off. detect_every: run the detector every Nth frame
    and reuse the tracked boxes in between (classification still runs on every frame).
    full_scan_every: with a detector that can search near known faces (``detector.near``, as
    :class:`HaarDetector` can), scan the whole frame only every Nth detection, and in between only around the
    faces found before, at their sizes; a new face is found at the next full scan. 1 = always full scans.
    A face the near search misses is carried over for ``carry`` detections before it is dropped, and the
    next detection is a full scan.
    tta: average each face's probabilities with those of its mirror image (the faces and their
    mirrors go through the classifier in the same batched call; costs a second pass per face).
    """

    def __init__(self, model=None, cascade=CASCADE_PATH, *, detector=None, classifier=None,
                 settings=None, smoothing=DEFAULT_SMOOTHING, detect_every=1, full_scan_every=FULL_SCAN_EVERY,
                 carry=1, tta=True):
        self.settings = settings or DetectorSettings()
        self.detector = detector or HaarDetector(cascade, self.settings)
        if classifier is None:
            from emorec.core.classifier import Classifier
            classifier = Classifier(model)
        self.classifier = classifier
        self.tracker = Tracker(smoothing=smoothing)
        self.detect_every = max(1, int(detect_every))
        self.full_scan_every = max(1, int(full_scan_every)) if hasattr(self.detector, "near") else 1
        self.carry = int(carry)
        self.tta = bool(tta)
        self.reset()

    def reset(self, start=0):
        """Forget tracks (call when the source changes). ``start``: go on as if ``start`` frames had gone
        through; the detection from then on is exactly that of an uninterrupted run when ``start`` is a
        multiple of :attr:`resync_period` (those frames begin with a full scan, which looks at nothing
        before it). Tracking starts afresh either way; :func:`track` it elsewhere to continue ids."""
        self.tracker.reset()
        self._frame_index = int(start)
        self._detections = -(-int(start) // self.detect_every)   # detections frames 0..start-1 had
        self._boxes = np.zeros((0, 4), int)     # squared, padded, clipped: what is cropped
        self._raw = np.zeros((0, 4), int)       # as the detector found them: where the next near search looks
        self._missed = np.zeros(0, int)         # per raw box: near searches in a row that did not find it
        self.last_scan = None                   # "full", "near" or None (boxes reused): for benchmarks and tests

    @property
    def resync_period(self):
        """Frames after which detection starts again from a full scan on schedule: frame indexes that are
        multiples of this do not depend on earlier frames, so a video can be cut there into segments that
        are recognized apart (:mod:`emorec.analysis.ray_engine`) and still give the boxes of one uninterrupted run."""
        return resync_period(self.detect_every, self.full_scan_every)

    def classify(self, faces):
        """N×48×48 uint8 gray crops → N×7 float32 probabilities, in one batched call
        (2N crops with ``tta``: the faces, then their mirrors). One 48×48 crop → 7 probabilities.
        Anything else raises :class:`errors.InputError` naming the expected dtype and shape."""
        crops, single = as_crops(faces)
        probs = flip_tta(self.classifier, crops) if self.tta else self.classifier(crops)
        return probs[0] if single else probs

    def boxes(self, gray):
        """Face boxes for a gray frame: detected, squared, padded and clipped to the frame."""
        index, self._frame_index = self._frame_index, self._frame_index + 1
        self.last_scan = None
        if index % self.detect_every:
            return self._boxes
        # A full scan on schedule, when no face is known, or when the last near search lost a face.
        full = self._detections % self.full_scan_every == 0 or len(self._raw) == 0 or self._missed.any()
        self._detections += 1
        if full:
            self._raw = self.detector(gray)
            self._missed = np.zeros(len(self._raw), int)
        else:
            self._raw, self._missed = self._follow(gray)
        self.last_scan = "full" if full else "near"
        self._boxes = clip_boxes(square_boxes(self._raw, self.settings.pad), gray.shape[1], gray.shape[0])
        return self._boxes

    def _follow(self, gray):
        """Search near the known faces; a face not found again is kept ``carry`` times, then dropped."""
        found = self.detector.near(gray, self._raw)
        matched = iou_matrix(self._raw, found).max(axis=1) > 0.3 if len(found) else np.zeros(len(self._raw), bool)
        kept = ~matched & (self._missed < self.carry)
        raw = np.concatenate([found, self._raw[kept]]).astype(int)
        return raw, np.concatenate([np.zeros(len(found), int), self._missed[kept] + 1])

    def observe(self, frame_bgr):
        """The per-frame half of :meth:`__call__`: a frame → (boxes (N, 4) int, probabilities (N, 7) float32),
        detected and classified but neither tracked nor smoothed."""
        gray = as_gray_frame(frame_bgr)
        boxes = self.boxes(gray)
        return boxes, self.classify(crop_faces(gray, boxes))

    def __call__(self, frame_bgr):
        """A frame (H×W×3 uint8 BGR; gray and BGRA accepted) → list of :class:`Face`.
        Other dtypes and shapes raise :class:`errors.InputError` naming what is expected."""
        return track(self.tracker, *self.observe(frame_bgr))


def resync_period(detect_every=1, full_scan_every=FULL_SCAN_EVERY):
    """Frames between full scans on schedule (see :attr:`Recognizer.resync_period`)."""
    return max(1, int(detect_every)) * max(1, int(full_scan_every))


def track(tracker, boxes, probs):
    """The sequential half of :meth:`Recognizer.__call__`: one frame's observations → its :class:`Face` list,
    with ids and smoothed probabilities from ``tracker`` (a :class:`tracking.Tracker`)."""
    ids, smoothed = tracker.update(boxes, probs)
    return [Face.from_probs(i, b, p) for i, b, p in zip(ids, boxes, smoothed)]
