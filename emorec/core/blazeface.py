"""BlazeFace (MediaPipe's face detector, Apache-2.0; the files and their origin in NOTICE) run with the LiteRT
interpreter: letterbox the frame to the network's square input, decode its SSD anchors, merge overlapping
detections with weighted non-maximum suppression.

The network gives, per anchor, a score logit and 16 numbers: the box centre offset and size, then six
keypoints (the subject's right eye, left eye, nose tip, mouth centre, right and left ear tragion), all in
input pixels relative to the anchor's centre. The anchor layout and the decoding constants are those of the
models' published graph options (``SsdAnchorsCalculator`` and ``TensorsToDetectionsCalculator`` settings in
MediaPipe's ``face_detection_*_range.pbtxt``); the code is this project's.
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emorec.common.errors import DetectorError
from emorec.common.labels import BLAZEFACE_FULL_PATH, BLAZEFACE_SHORT_PATH
from emorec.common.quiet import silenced_stderr

#: Keypoint rows of the keypoints :func:`decode` and :meth:`BlazeFaceModel.detect` give, in the network's order.
KEYPOINTS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")


@dataclass(frozen=True)
class Variant:
    """One BlazeFace model: its file and the options its anchors and scores were trained with."""
    name: str
    path: Path
    size: int                        # square input side, pixels
    strides: tuple[int, ...]         # one per anchor layer; layers of equal stride share a grid
    anchors_per_layer: int           # 1 aspect ratio, plus 1 interpolated scale where the graph has one
    min_score: float                 # the graph's score threshold


FULL_RANGE = Variant("full-range", BLAZEFACE_FULL_PATH, 192, (4,), 1, 0.6)
SHORT_RANGE = Variant("short-range", BLAZEFACE_SHORT_PATH, 128, (8, 16, 16, 16), 2, 0.5)
VARIANTS = {v.name: v for v in (FULL_RANGE, SHORT_RANGE)}


def anchor_centres(size: int, strides: tuple[int, ...], per_layer: int) -> np.ndarray:
    """(A, 2) anchor centres (x, y) in 0..1, in the order the network lists its anchors: consecutive layers of
    one stride form one grid with all their anchors at each cell; cells row by row. (Fixed-size anchors: every
    anchor is 1×1, so only the centres matter.)"""
    centres = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        cells = -(-size // strides[i])
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, (j - i) * per_layer, axis=0))
        i = j
    return np.concatenate(centres).astype(np.float32)


def decode(raw: np.ndarray, logits: np.ndarray, anchors: np.ndarray, size: int,
           min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Network outputs (A, 16) and (A,) → the anchors over ``min_score``: boxes (N, 4) as (x0, y0, x1, y1),
    scores (N,), keypoints (N, 6, 2), all in 0..1 of the network's input square."""
    scores = 0.5 * (1 + np.tanh(np.clip(logits, -100, 100) / 2))     # the sigmoid, without overflow
    keep = scores >= min_score
    raw, a, scores = raw[keep] / size, anchors[keep], scores[keep]
    centre = raw[:, 0:2] + a
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
    return boxes, scores, keypoints


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray,
                 iou: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted non-maximum suppression, as BlazeFace was trained for: the best remaining detection and every
    other that overlaps it by more than ``iou`` merge into one, their boxes and keypoints averaged with the
    scores as weights; the merged detection keeps the best score."""
    order = np.argsort(-scores, kind="stable")
    boxes, scores, keypoints = boxes[order], scores[order], keypoints[order]
    areas = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
    left = np.ones(len(boxes), bool)
    out_b, out_s, out_k = [], [], []
    for i in range(len(boxes)):
        if not left[i]:
            continue
        lo = np.maximum(boxes[i, :2], boxes[:, :2])
        hi = np.minimum(boxes[i, 2:], boxes[:, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
        overlap = inter / np.maximum(areas[i] + areas - inter, 1e-12)
        group = left & (overlap > iou)
        group[i] = True
        w = scores[group][:, None]
        out_b.append((boxes[group] * w).sum(0) / w.sum())
        out_k.append((keypoints[group] * w[:, :, None]).sum(0) / w.sum())
        out_s.append(scores[i])
        left &= ~group
    if not out_b:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 6, 2), np.float32)
    return np.array(out_b, np.float32), np.array(out_s, np.float32), np.array(out_k, np.float32)


def shrink(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """``frame`` resized to width×height: halved by pixel averaging (OpenCV's fast path for a factor of 2) while
    it stays at least twice as large, then resampled bilinearly. Within about one gray level of one area
    resize, at a sixth of its cost for 640×480 → 192×144 (0.13 instead of 0.8 ms)."""
    while frame.shape[1] >= 2 * width and frame.shape[0] >= 2 * height:
        frame = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)


def letterbox(frame: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """A BGR H×W×3 (or gray H×W) frame → the network's 1×size×size×3 RGB input in -1..1 (aspect kept, centred,
    black borders), and (scale, pad_x, pad_y) to map input pixels back: frame = (input - pad) / scale.
    BlazeFace was trained on colour: on gray frames it is markedly less sure of small faces."""
    h, w = frame.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = shrink(frame, nw, nh)
    small = cv2.cvtColor(small, cv2.COLOR_BGR2RGB if small.ndim == 3 else cv2.COLOR_GRAY2RGB)
    px, py = (size - nw) // 2, (size - nh) // 2
    canvas = cv2.copyMakeBorder(small, py, size - nh - py, px, size - nw - px, cv2.BORDER_CONSTANT, value=0)
    x = canvas.astype(np.float32)[None]
    x *= 1 / 127.5
    x -= 1.0
    return x, scale, px, py


class BlazeFaceModel:
    """One BlazeFace network: ``model.detect(frame)`` (BGR or gray) → (boxes (N, 4) float (x, y, w, h), scores (N,),
    keypoints (N, 6, 2) float (x, y)), in frame pixels, best score first."""

    def __init__(self, variant: Variant = FULL_RANGE, path: str | Path | None = None, num_threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter
        self.variant = variant
        self.path = Path(path or variant.path)
        problem = None
        if not self.path.is_file():
            problem = "is missing"
        else:
            try:
                with silenced_stderr():
                    self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
                    self._interpreter.allocate_tensors()
                inp = self._interpreter.get_input_details()[0]
                outs = sorted(self._interpreter.get_output_details(), key=lambda d: -int(d["shape"][-1]))
                anchors = anchor_centres(variant.size, variant.strides, variant.anchors_per_layer)
                expected = ([1, variant.size, variant.size, 3], [1, len(anchors), 16], [1, len(anchors), 1])
                if [list(inp["shape"]), *(list(o["shape"]) for o in outs)] != list(expected):
                    problem = f"is not BlazeFace {variant.name} (its tensors do not match)"
            except (ValueError, RuntimeError) as e:
                problem = f"could not be loaded ({e})"
        if problem:
            raise DetectorError(f"the face detector file {self.path} {problem}: restore it "
                                f"(git checkout -- {self.path.name}, or reinstall emorec), "
                                "or use --detector haar")
        self._in, self._raw, self._logits = inp["index"], outs[0]["index"], outs[1]["index"]
        self.anchors = anchors

    def detect(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v = self.variant
        x, scale, px, py = letterbox(frame, v.size)
        self._interpreter.set_tensor(self._in, x)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._raw)[0]
        logits = self._interpreter.get_tensor(self._logits)[0, :, 0]
        boxes, scores, keypoints = weighted_nms(*decode(raw, logits, self.anchors, v.size, v.min_score))
        pad = np.array([px, py], np.float32)
        corners = (boxes.reshape(-1, 2, 2) * v.size - pad) / scale
        keypoints = (keypoints * v.size - pad) / scale
        xywh = np.concatenate([corners[:, 0], corners[:, 1] - corners[:, 0]], axis=1)
        return xywh, scores, keypoints
