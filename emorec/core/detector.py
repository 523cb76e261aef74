"""Face detectors (the shipped Haar cascade; BlazeFace, see :mod:`emorec.core.blazeface`) and their registry;
the box and crop helpers around them are in :mod:`emorec.core.boxes`.

Boxes are int arrays of shape (N, 4) holding (x, y, w, h) in full-frame pixels. A detector is any object that
meets :class:`Detector`: ``detector(gray)`` → boxes, and optionally ``detector.detect(gray)`` → :class:`faces.Faces`
(boxes with scores and eye positions) and ``detector.near(gray, boxes)`` (a search around known faces).
Every detector's boxes are framed alike: squared and grown by ``pad``, they frame a face as FER2013's crops do
(``bench/fit_detector_framing.py`` measures it).
"""

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
from numpy.typing import ArrayLike

from emorec.common.argtypes import number
from emorec.common.errors import DetectorError
from emorec.common.labels import CASCADE_PATH
from emorec.common.options import option
from emorec.core.blazeface import SHORT_RANGE, VARIANTS, BlazeFaceModel
from emorec.core.boxes import dedupe, dedupe_indices, in_reading_order
from emorec.core.faces import Faces

#: The ``--detector`` names, in the order ``--help`` lists them (:data:`DETECTORS` maps each to its detector).
DETECTOR_NAMES = ("blazeface", "haar", "blazeface-short")


@dataclass(frozen=True)
class DetectorSettings:
    """How faces are found and framed. Each field is also a flag of UI.py, analyze and serve
    (:func:`common.options.add_flags`); its default here is the one default."""
    # a name in DETECTORS (bench/bench_detectors.py: model card, "Detectors")
    detector: str = option("blazeface", "face detector: blazeface (MediaPipe's BlazeFace full-range: finds rolled "
                           "faces and faces down to ~40 px in a 640×480 frame, and gives the eyes, so crops are "
                           "levelled), haar (OpenCV's frontal-face cascade: upright faces of 48 px or more at the "
                           "defaults), blazeface-short (BlazeFace short-range: only faces close to the camera)",
                           choices=DETECTOR_NAMES)
    # Haar's defaults measured on 640×480 webcam-like frames (bench/bench_frame.py): ~6.7 ms per frame on
    # this 2-core CPU, every face of the 1- and 4-face test frames found. Lower min_size for faces
    # farther than ~2 m from the camera; it is the knob that costs the most time.
    scale_factor: float = option(1.2, "Haar only: pyramid step (>1; larger is faster, finds fewer faces)",
                                 type=number(float, 1, low_open=True))
    min_neighbors: int = option(5, "Haar only: detections needed to accept a face (larger is stricter)",
                                type=number(int, 0))
    # None: the detector's own (MIN_SIZE: Haar 48, bench/bench_min_size.py)
    min_size: int | None = option(None, "smallest face side in pixels; smaller faces are ignored (default: haar 48, "
                                        "blazeface none: as small as it finds)", type=number(int, 1))
    detect_width: int = option(320, "Haar only: downscale frames wider than this for detection (0 = full size)",
                               type=number(int, 0))
    pad: float = option(0.1, "grow each face crop by this fraction of its side", type=number(float, 0))
    align: bool = option(True, "rotate crops to level the eyes (with a detector that finds eyes: blazeface)",
                         off_help="do not rotate crops to level the eyes (with a detector that finds eyes: "
                                  "blazeface)")

    @property
    def smallest(self) -> int:
        """The smallest face side kept, in frame pixels: ``min_size``, or the detector's default."""
        return MIN_SIZE.get(self.detector, 1) if self.min_size is None else self.min_size

    def record(self) -> dict:
        """The settings that shape this detector's faces, as summary.json and the server record them: the
        smallest face resolved, and Haar's own settings only for Haar."""
        d = asdict(self)
        if self.detector == "haar":
            d["min_size"] = self.smallest
        else:                               # None: no floor but the detector's own
            for haar_only in ("scale_factor", "min_neighbors", "detect_width"):
                d.pop(haar_only)
        return d


#: Each detector's smallest face by default, in frame pixels. Haar: its 24-px window on frames shrunk to 320
#: wide finds nothing smaller on 640-wide frames; BlazeFace full-range finds faces from about 1/25 of the
#: frame's longer side, so it is given no floor of its own.
MIN_SIZE = {"haar": 48, "blazeface": 1, "blazeface-short": 1}


@runtime_checkable
class Detector(Protocol):
    """What the recognizer needs of a detector: gray H×W uint8 frame → (N, 4) int boxes (x, y, w, h).
    It may also have ``detect(gray) -> Faces`` (scores and eyes; used when present), ``near(gray, boxes)``
    (searches around known faces between full scans) and ``color = True`` (it is handed the BGR H×W×3 frame,
    where there is one, instead of the gray one)."""

    def __call__(self, frame: np.ndarray, /) -> np.ndarray: ...


def _frame_for(detector: Detector, gray: np.ndarray, color: np.ndarray | None) -> np.ndarray:
    """The frame a detector is handed: the BGR one where there is one and it uses colour, else the gray one."""
    return color if color is not None and getattr(detector, "color", False) else gray


def detect(detector: Detector, gray: np.ndarray, color: np.ndarray | None = None) -> Faces:
    """A full scan with any detector, as :class:`faces.Faces`; ``color``: the BGR frame, for a detector that uses it."""
    image = _frame_for(detector, gray, color)
    method = getattr(detector, "detect", None)
    return method(image) if callable(method) else Faces.of_boxes(detector(image))


def detect_near(detector: Detector, boxes: np.ndarray, gray: np.ndarray, color: np.ndarray | None = None) -> Faces:
    """A search around known faces (``detector.near``; it may return boxes or :class:`faces.Faces`), as
    :class:`faces.Faces`."""
    found = detector.near(_frame_for(detector, gray, color), boxes)   # type: ignore[attr-defined]
    return found if isinstance(found, Faces) else Faces.of_boxes(found)


#: :meth:`HaarDetector.near`: how far around a known face to look (× its side, each edge), and which sizes.
NEAR_GROW = 0.5
NEAR_SIZES = (0.7, 1.45)


class HaarDetector:
    """``detector(gray)`` -> (N, 4) boxes; ``gray`` is an H×W uint8 frame."""

    def __init__(self, cascade_path: str | Path = CASCADE_PATH, settings: DetectorSettings | None = None):
        self.settings = settings or DetectorSettings()
        try:
            # OpenCV raises for a missing or malformed file, and returns an empty classifier for others.
            cascade = cv2.CascadeClassifier(str(cascade_path)) if Path(cascade_path).is_file() else None
        except (cv2.error, SystemError):
            cascade = None
        if cascade is None or cascade.empty():
            raise DetectorError(f"could not load the Haar cascade {cascade_path}: restore "
                                "haarcascade_frontalface_default.xml "
                                "(git checkout -- haarcascade_frontalface_default.xml); "
                                "note opencv-python 5 has no Haar cascades, install 'opencv-python<5'.")
        self.cascade: cv2.CascadeClassifier = cascade

    def _scale(self, width: int) -> float:
        """Factor from full-frame to detection pixels (frames wider than ``detect_width`` are shrunk)."""
        w = self.settings.detect_width
        return w / width if w and width > w else 1.0

    def _detect(self, gray: np.ndarray, scale: float, min_side: float, max_side: float | None = None) -> np.ndarray:
        """Faces in ``gray`` shrunk by ``scale``, sides in [min_side, max_side] full-frame pixels; (N, 4) boxes in
        ``gray``'s pixels."""
        s = self.settings
        h, w = gray.shape[:2]
        small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) \
            if scale != 1.0 else gray
        lo = max(12, round(min_side * scale))
        hi = round(max_side * scale) if max_side else 0
        if min(small.shape[:2]) < lo or (max_side and hi < lo):
            return np.zeros((0, 4), int)
        found = self.cascade.detectMultiScale(small, scaleFactor=s.scale_factor, minNeighbors=s.min_neighbors,
                                              minSize=(lo, lo), maxSize=(hi, hi))
        if len(found) == 0:
            return np.zeros((0, 4), int)
        return in_reading_order(np.round(np.asarray(found, float) / scale).astype(int))

    name = "haar"

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        """A full scan: every position, every face size from ``min_size`` up."""
        return self._detect(gray, self._scale(gray.shape[1]), self.settings.smallest)

    def near(self, gray: np.ndarray, boxes: ArrayLike, grow: float = NEAR_GROW,
             sizes: tuple[float, float] = NEAR_SIZES) -> np.ndarray:
        """Search only around faces found before: for each (x, y, w, h) box, a window grown by ``grow`` × its
        side on every edge, and only face sizes within ``sizes`` × its side. The frame is shrunk by the same
        factor as in a full scan, so the cascade sees faces at the same scales. Returns (N, 4) boxes in
        full-frame pixels; a face seen from two overlapping windows is returned once."""
        h, w = gray.shape[:2]
        scale = self._scale(w)
        found: list[np.ndarray] = []
        for x, y, bw, bh in np.asarray(boxes, int).reshape(-1, 4):
            side = max(bw, bh)
            m = int(grow * side)
            x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(w, x + bw + m), min(h, y + bh + m)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            hits = self._detect(gray[y0:y1, x0:x1], scale, max(self.settings.smallest, sizes[0] * side),
                                sizes[1] * side)
            found.extend(hits + [x0, y0, 0, 0])
        return dedupe(np.asarray(found, int).reshape(-1, 4))


#: BlazeFace box → the box that, squared and grown by the default ``pad`` (0.1), frames a face as FER2013's
#: crops do: the centre moves by (x, y) × the box side and the side is multiplied by the last number.
#: ``bench/fit_detector_framing.py`` on 1,500 FER2013 training faces: the FER2013 frame is 1.134 × BlazeFace's
#: side (median), centred 0.048 × side higher; 1.134 / 1.2 = 0.945. On the astronaut photo that makes
#: BlazeFace's box Haar's to 1 px in centre and 1 % in side (model card, "Detectors").
BLAZEFACE_FRAMING = (0.0, -0.048, 0.945)


#: Near searches with BlazeFace (streams, between full scans): the short-range network (128×128 input) on a
#: square of ``NEAR_REGION`` × the known face's side around it, a third of the full-range scan's cost. Its box
#: is mapped onto the box full-range would give, so boxes do not jump at each full scan: per row, the
#: short-range side / the frame's longer side, then the centre's move in x and y (× the short side) and the
#: side's factor; interpolated between rows. Full-range's boxes are relatively smaller for small faces (its
#: input is the whole frame at 192 px), hence the table. ``bench/fit_detector_framing.py --near``: FER2013
#: faces of 72 to 288 px in 640×480 frames, medians.
NEAR_REGION = 2.5
NEAR_FRAMING = (
    (0.093, 0.004, -0.103, 0.855),
    (0.123, 0.001, -0.088, 0.940),
    (0.160, -0.015, -0.071, 1.024),
    (0.190, -0.016, -0.069, 1.047),
    (0.251, -0.013, -0.049, 1.052),
    (0.313, -0.013, -0.050, 1.047),
    (0.377, -0.014, -0.055, 1.050),
)
#: With more known faces than this, one full scan costs less than their near searches.
NEAR_MAX_FACES = 2


def near_region(box: ArrayLike, shape: tuple[int, ...], region: float = NEAR_REGION) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the square of ``region`` × the box's side around its centre, clipped to the frame."""
    x, y, w, h = np.asarray(box, float)
    half = region * max(w, h) / 2
    cx, cy = x + w / 2, y + h / 2
    return (max(0, int(cx - half)), max(0, int(cy - half)),
            min(shape[1], int(np.ceil(cx + half))), min(shape[0], int(np.ceil(cy + half))))


class BlazeFaceDetector:
    """MediaPipe's BlazeFace (:mod:`blazeface`): ``detector(frame)`` → (N, 4) boxes framed as Haar frames a face
    (:data:`BLAZEFACE_FRAMING`), ``detector.detect(frame)`` → :class:`faces.Faces` with scores and eyes, and
    ``detector.near(frame, boxes)`` → :class:`faces.Faces` around known faces (:data:`NEAR_REGION`). ``frame``:
    BGR H×W×3 or gray H×W; it uses colour (``color = True``: the recognizer hands it the colour frame)."""

    color = True

    def __init__(self, settings: DetectorSettings | None = None, variant: str = "full-range",
                 path: str | Path | None = None, framed: bool = True, num_threads: int | None = None):
        self.settings = settings or DetectorSettings(detector="blazeface")
        self.name = "blazeface" if variant == "full-range" else "blazeface-short"
        # detection and classification run one after the other: two runtime threads use the idle core
        self.num_threads: int = num_threads or min(2, os.cpu_count() or 1)
        self.model = BlazeFaceModel(VARIANTS[variant], path, num_threads=self.num_threads)
        self.framing = BLAZEFACE_FRAMING if framed else (0.0, 0.0, 1.0)
        # the short-range variant searches near with itself, its boxes as they are; full-range with short-range
        self._near_model = self.model if variant == "short-range" else None
        self._near_table = np.array([(0.0, 0.0, 0.0, 1.0)] if variant == "short-range" else NEAR_FRAMING)

    def _framed(self, boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray) -> Faces:
        fx, fy, fs = self.framing
        side = boxes[:, 2:].max(axis=1)
        cx = boxes[:, 0] + boxes[:, 2] / 2 + fx * side
        cy = boxes[:, 1] + boxes[:, 3] / 2 + fy * side
        side = side * fs
        framed = np.stack([cx - side / 2, cy - side / 2, side, side], axis=1).round().astype(int)
        keep = side >= self.settings.smallest
        framed, scores, eyes = framed[keep], scores[keep], keypoints[keep, :2]
        order = np.lexsort(framed.T[::-1])          # reading order, as Haar's (track ids are given in it)
        return Faces(framed[order], scores[order], eyes[order])

    def detect(self, frame: np.ndarray) -> Faces:
        return self._framed(*self.model.detect(frame))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return self.detect(frame).boxes

    def near(self, frame: np.ndarray, boxes: ArrayLike) -> Faces:
        """The faces around known ones (boxes as this detector gave them): per box, the best face the
        short-range network finds in its :func:`near_region` whose centre is within one side of the box's."""
        boxes = np.asarray(boxes, float).reshape(-1, 4)
        if len(boxes) > NEAR_MAX_FACES:
            return self.detect(frame)
        if self._near_model is None:
            self._near_model = BlazeFaceModel(SHORT_RANGE, num_threads=self.num_threads)
        hits: list[tuple[np.ndarray, float, np.ndarray]] = []
        for box in boxes:
            x0, y0, x1, y1 = near_region(box, frame.shape)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            found, scores, keypoints = self._near_model.detect(frame[y0:y1, x0:x1])
            side = found[:, 2:].max(axis=1, initial=0)
            centre = found[:, :2] + found[:, 2:] / 2 + [x0, y0]
            close = np.hypot(*(centre - (box[:2] + box[2:] / 2)).T) < max(box[2], box[3])
            if not close.any():
                continue
            i = int(np.argmax(np.where(close, scores, -1)))
            table = self._near_table
            dx, dy, ds = (np.interp(side[i] / max(frame.shape[:2]), table[:, 0], table[:, k]) for k in (1, 2, 3))
            c = centre[i] + [dx * side[i], dy * side[i]]
            s = side[i] * ds
            hits.append((np.array([c[0] - s / 2, c[1] - s / 2, s, s]), float(scores[i]), keypoints[i] + [x0, y0]))
        if not hits:
            return Faces.of_boxes(np.zeros((0, 4), int))
        merged = self._framed(np.array([h[0] for h in hits], np.float32), np.array([h[1] for h in hits], np.float32),
                              np.array([h[2] for h in hits], np.float32))
        keep = dedupe_indices(merged.boxes)
        return Faces(merged.boxes[keep], merged.scores[keep], merged.eyes[keep])


#: The detectors by ``--detector`` name: settings → detector.
DETECTORS: dict[str, Callable[..., Detector]] = {
    "haar": lambda settings, framed=True: HaarDetector(CASCADE_PATH, settings),
    "blazeface": lambda settings, framed=True: BlazeFaceDetector(settings, "full-range", framed=framed),
    "blazeface-short": lambda settings, framed=True: BlazeFaceDetector(settings, "short-range", framed=framed),
}


def make_detector(settings: DetectorSettings | None = None, cascade: str | Path | None = None,
                  framed: bool = True) -> Detector:
    """The detector ``settings.detector`` names, with those settings (``cascade``: another Haar file).
    ``framed=False``: BlazeFace's raw boxes, for measuring the framing."""
    settings = settings or DetectorSettings()
    if settings.detector not in DETECTORS:
        raise DetectorError(f"unknown detector {settings.detector!r}; choose one of {', '.join(DETECTORS)}")
    if settings.detector == "haar" and cascade is not None:
        return HaarDetector(cascade, settings)
    return DETECTORS[settings.detector](settings, framed=framed)
