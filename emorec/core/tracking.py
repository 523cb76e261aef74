"""Per-face tracking across frames (greedy IoU matching) and probability smoothing (EMA)."""

import itertools

import numpy as np

from emorec.common.errors import InputError

#: Default EMA weight of a track's past probabilities (0.6 ≈ a 2.5-frame memory); the one definition.
DEFAULT_SMOOTHING = 0.6


def iou_matrix(a, b):
    """IoU of every box in ``a`` (N, 4) with every box in ``b`` (M, 4), boxes as (x, y, w, h)."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    ax1, ay1, bx1, by1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


class Tracker:
    """Give each face a stable id and smooth its probabilities over time.

    ``smoothing`` in [0, 1): weight of the track's past in the exponential moving average
    (0 = off, 0.6 ≈ a 2.5-frame memory). A track survives ``max_missed`` frames without a
    matching detection before its id is retired.
    """

    def __init__(self, smoothing=DEFAULT_SMOOTHING, iou_threshold=0.3, max_missed=5):
        if not 0 <= smoothing < 1:
            raise InputError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing, self.iou_threshold, self.max_missed = smoothing, iou_threshold, max_missed
        self._ids = itertools.count(1)
        self.tracks = {}   # id -> {"box": array(4), "probs": array(7), "missed": int}

    def reset(self):
        """Forget all tracks; ids start again at 1."""
        self.tracks.clear()
        self._ids = itertools.count(1)

    def update(self, boxes, probs):
        """boxes (N, 4), probs (N, 7) -> (ids list of N ints, smoothed probs (N, 7) float32)."""
        ids = list(self.tracks)
        if ids and len(boxes):
            iou = iou_matrix(boxes, [self.tracks[i]["box"] for i in ids])
        else:
            iou = np.zeros((len(boxes), 0))
        assigned, used = [None] * len(boxes), set()
        for flat in np.argsort(-iou, axis=None):
            d, t = np.unravel_index(flat, iou.shape)
            if iou[d, t] < self.iou_threshold:
                break
            if assigned[d] is None and t not in used:
                assigned[d] = ids[t]
                used.add(t)
        out = np.zeros((len(boxes), probs.shape[1] if len(probs) else 0), np.float32)
        for d, tid in enumerate(assigned):
            if tid is None:
                tid = assigned[d] = next(self._ids)
                self.tracks[tid] = {"probs": probs[d].astype(np.float32)}
            track = self.tracks[tid]
            track["probs"] = self.smoothing * track["probs"] + (1 - self.smoothing) * probs[d]
            track["box"], track["missed"] = np.asarray(boxes[d]), 0
            out[d] = track["probs"]
        for tid in set(self.tracks) - set(assigned):
            self.tracks[tid]["missed"] += 1
            if self.tracks[tid]["missed"] > self.max_missed:
                del self.tracks[tid]
        return assigned, out
