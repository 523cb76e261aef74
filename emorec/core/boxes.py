"""Pure helpers for face boxes and their crops: int arrays of shape (N, 4) holding (x, y, w, h) in full-frame
pixels. Ordering, de-duplication, squaring and clipping; the roll of a face from its eyes; the 48×48 crops the
network sees."""

import math

import cv2
import numpy as np
from numpy.typing import ArrayLike

from emorec.common.labels import INPUT_SIZE
from emorec.core.preprocess import to_face48
from emorec.core.tracking import iou_matrix


def in_reading_order(boxes: ArrayLike) -> np.ndarray:
    """Boxes sorted by x, then y, w, h. OpenCV's cascade returns faces in an order that varies with its thread
    scheduling; new faces get their track ids in this order, so it must not vary between runs or engines."""
    boxes = np.asarray(boxes).reshape(-1, 4)
    return boxes[np.lexsort(boxes.T[::-1])]


def dedupe(boxes: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """Boxes with any box that overlaps an earlier one by more than ``iou`` removed."""
    return boxes[dedupe_indices(boxes, iou)]


def dedupe_indices(boxes: np.ndarray, iou: float = 0.5) -> list[int]:
    """The indices :func:`dedupe` keeps."""
    keep: list[int] = []
    for i, box in enumerate(boxes):
        if not keep or iou_matrix(box[None], boxes[keep]).max() <= iou:
            keep.append(i)
    return keep


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


def eye_roll(eyes: ArrayLike) -> float:
    """The roll of a face in degrees from its eyes ((right eye x, y), (left eye x, y), in image pixels):
    0 when level, positive when the left eye (on the image's right) is lower; NaN without eyes."""
    (rx, ry), (lx, ly) = np.asarray(eyes, float).reshape(2, 2)
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_faces(gray: np.ndarray, boxes: np.ndarray, eyes: np.ndarray | None = None) -> np.ndarray:
    """N clipped boxes on an H×W uint8 frame -> N×48×48 uint8 crops (via :func:`to_face48`). With ``eyes``
    ((N, 2, 2), NaN where unknown: :class:`faces.Faces`), each face with eyes is rotated about its box's centre so
    that they are level before the resize; the corners the rotation uncovers repeat the frame's edge pixels."""
    if len(boxes) == 0:
        return np.zeros((0, INPUT_SIZE, INPUT_SIZE), np.uint8)
    crops = []
    for i, (x, y, w, h) in enumerate(boxes):
        angle = eye_roll(eyes[i]) if eyes is not None else math.nan
        if math.isnan(angle) or abs(angle) < 1.0:
            crops.append(to_face48(gray[y:y + h, x:x + w]))
            continue
        m = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), angle, 1.0)
        m[:, 2] -= (x, y)
        crops.append(to_face48(cv2.warpAffine(gray, m, (int(w), int(h)), flags=cv2.INTER_LINEAR,
                                              borderMode=cv2.BORDER_REPLICATE)))
    return np.stack(crops)
