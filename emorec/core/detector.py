"""Face detection with the shipped Haar cascade, and the pure box helpers around it.

Boxes are int arrays of shape (N, 4) holding (x, y, w, h) in full-frame pixels.
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import ArrayLike

from emorec.common.errors import DetectorError
from emorec.common.labels import CASCADE_PATH, INPUT_SIZE
from emorec.core.preprocess import to_face48


@dataclass
class DetectorSettings:
    # Defaults measured on 640×480 webcam-like frames (bench/bench_frame.py): ~6.7 ms per frame on
    # this 2-core CPU, every face of the 1- and 4-face test frames found. Lower min_size for faces
    # farther than ~2 m from the camera; it is the knob that costs the most time.
    scale_factor: float = 1.2     # image pyramid step; larger is faster, finds fewer faces
    min_neighbors: int = 5        # detections needed to keep a face; larger is stricter
    min_size: int = 48            # smallest face side, in frame pixels (bench/bench_min_size.py: README)
    detect_width: int = 320       # frames wider than this are downscaled for detection (0 = never)
    pad: float = 0.1              # crops grow by this fraction of the box side on every edge


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

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        """A full scan: every position, every face size from ``min_size`` up."""
        return self._detect(gray, self._scale(gray.shape[1]), self.settings.min_size)

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
            hits = self._detect(gray[y0:y1, x0:x1], scale, max(self.settings.min_size, sizes[0] * side),
                                sizes[1] * side)
            found.extend(hits + [x0, y0, 0, 0])
        return dedupe(np.asarray(found, int).reshape(-1, 4))


def in_reading_order(boxes: ArrayLike) -> np.ndarray:
    """Boxes sorted by x, then y, w, h. OpenCV's cascade returns faces in an order that varies with its thread
    scheduling; new faces get their track ids in this order, so it must not vary between runs or engines."""
    boxes = np.asarray(boxes).reshape(-1, 4)
    return boxes[np.lexsort(boxes.T[::-1])]


def dedupe(boxes: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """Boxes with any box that overlaps an earlier one by more than ``iou`` removed."""
    from emorec.core.tracking import iou_matrix
    keep: list[int] = []
    for i, box in enumerate(boxes):
        if not keep or iou_matrix(box[None], boxes[keep]).max() <= iou:
            keep.append(i)
    return boxes[keep]


def square_boxes(boxes: ArrayLike, pad: float = 0.0) -> np.ndarray:
    """Make boxes square around their centres (side = max(w, h)) and grow each edge by ``pad``·side."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    side = boxes[:, 2:].max(axis=1) * (1 + 2 * pad)
    cx, cy = boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2
    return np.stack([cx - side / 2, cy - side / 2, side, side], axis=1).round().astype(int)


def clip_boxes(boxes: ArrayLike, width: int, height: int) -> np.ndarray:
    """Clip boxes to a width×height frame; boxes keep at least 1 px."""
    boxes = np.asarray(boxes, int).reshape(-1, 4)
    x0 = np.clip(boxes[:, 0], 0, width - 1)
    y0 = np.clip(boxes[:, 1], 0, height - 1)
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], x0 + 1, width)
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], y0 + 1, height)
    return np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)


def crop_faces(gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """N clipped boxes on an H×W uint8 frame -> N×48×48 uint8 crops (via :func:`to_face48`)."""
    if len(boxes) == 0:
        return np.zeros((0, INPUT_SIZE, INPUT_SIZE), np.uint8)
    return np.stack([to_face48(gray[y:y + h, x:x + w]) for x, y, w, h in boxes])
