"""Per-face tracking across frames (greedy IoU matching) and probability smoothing (EMA): :meth:`Tracker.track`
takes a frame's classified :class:`faces.Faces` and gives them ids and smoothed probabilities."""

import itertools

import numpy as np
from numpy.typing import ArrayLike

from emorec.common.errors import InputError
from emorec.core.faces import Faces

#: Default EMA weight of a track's past probabilities (0.6 ≈ a 2.5-frame memory); the one definition.
DEFAULT_SMOOTHING = 0.6


def iou_matrix(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """IoU of every box in ``a`` (N, 4) with every box in ``b`` (M, 4), boxes as (x, y, w, h)."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    ax1, ay1, bx1, by1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def greedy_match(iou: np.ndarray, threshold: float) -> list[int | None]:
    """One-to-one matching of the rows of an (N, M) IoU matrix to its columns, best pairs first, pairs under
    ``threshold`` never: for each row, its column index or None."""
    assigned: list[int | None] = [None] * iou.shape[0]
    used: set[int] = set()
    for flat in np.argsort(-iou, axis=None):
        d, t = np.unravel_index(flat, iou.shape)
        if iou[d, t] < threshold:
            break
        if assigned[d] is None and t not in used:
            assigned[d] = int(t)
            used.add(int(t))
    return assigned


class Tracker:
    """Give each face a stable id and smooth its probabilities over time.

    ``smoothing`` in [0, 1): weight of the track's past in the exponential moving average
    (0 = off, 0.6 ≈ a 2.5-frame memory). A track survives ``max_missed`` frames without a
    matching detection before its id is retired.
    """

    def __init__(self, smoothing: float = DEFAULT_SMOOTHING, iou_threshold: float = 0.3, max_missed: int = 5):
        if not 0 <= smoothing < 1:
            raise InputError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing, self.iou_threshold, self.max_missed = smoothing, iou_threshold, max_missed
        self._ids = itertools.count(1)
        self.tracks: dict[int, dict] = {}   # id -> {"box": array(4), "probs": array(7), "missed": int}

    def reset(self) -> None:
        """Forget all tracks; ids start again at 1."""
        self.tracks.clear()
        self._ids = itertools.count(1)

    def update(self, boxes: ArrayLike, probs: np.ndarray) -> tuple[list[int], np.ndarray]:
        """boxes (N, 4), probs (N, 7) -> (ids list of N ints, smoothed probs (N, 7) float32)."""
        boxes = np.asarray(boxes).reshape(-1, 4)
        ids = list(self.tracks)
        if ids and len(boxes):
            iou = iou_matrix(boxes, [self.tracks[i]["box"] for i in ids])
        else:
            iou = np.zeros((len(boxes), 0))
        assigned = [None if t is None else ids[t] for t in greedy_match(iou, self.iou_threshold)]
        out = np.zeros((len(boxes), probs.shape[1] if len(probs) else 0), np.float32)
        new_ids: list[int] = []
        for d, tid in enumerate(assigned):
            if tid is None:
                tid = next(self._ids)
                self.tracks[tid] = {"probs": probs[d].astype(np.float32)}
            new_ids.append(tid)
            track = self.tracks[tid]
            track["probs"] = self.smoothing * track["probs"] + (1 - self.smoothing) * probs[d]
            track["box"], track["missed"] = np.asarray(boxes[d]), 0
            out[d] = track["probs"]
        for tid in set(self.tracks) - set(new_ids):
            self.tracks[tid]["missed"] += 1
            if self.tracks[tid]["missed"] > self.max_missed:
                del self.tracks[tid]
        return new_ids, out

    def track(self, faces: Faces) -> Faces:
        """One frame's classified faces (``probs`` set) → the same faces with ``ids`` and smoothed ``probs``."""
        if faces.probs is None:
            raise InputError("track needs classified faces (probabilities); Recognizer.observe gives them")
        ids, smoothed = self.update(faces.boxes, faces.probs)
        return faces.replace(ids=ids, probs=smoothed)
