"""Annotating frames: a box in the emotion's colour with its label and confidence."""

import cv2
import numpy as np

from emorec.common.labels import COLORS_BGR
from emorec.core.faces import Faces

FONT = cv2.FONT_HERSHEY_SIMPLEX
THICKNESS, SELECTED_THICKNESS = 2, 4


def draw_faces(frame_bgr: np.ndarray, faces: Faces, selected_id: int | None = None) -> np.ndarray:
    """Draw every face on a copy of ``frame_bgr`` (H×W×3 uint8, BGR) and return the copy.

    Each box is in its emotion's colour (:data:`labels.COLORS_BGR`), with "label NN%" on a filled tag
    above it, or inside its top edge when the box touches the top of the frame; the tag is kept inside
    the frame. The selected face (by track id) gets a thicker box.
    """
    out = frame_bgr.copy()
    scale = max(0.45, min(1.0, out.shape[1] / 900))
    for (x, y, bw, bh), label, confidence, face_id in zip(faces.boxes.tolist(), faces.labels,
                                                          faces.confidences.tolist(), faces.numbers.tolist()):
        color = COLORS_BGR[label]
        thick = SELECTED_THICKNESS if face_id == selected_id else THICKNESS
        cv2.rectangle(out, (x, y), (x + bw - 1, y + bh - 1), color, thick)
        _draw_tag(out, f"{label} {confidence:.0%}", x, y, color, scale)
    return out


def _draw_tag(out, text, x, y, color, scale):
    """A filled tag with ``text`` whose bottom-left corner is at (x, y), moved down and left only as far
    as needed to stay inside the frame."""
    h, w = out.shape[:2]
    (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
    tag_w, tag_h = tw + 6, th + base + 4
    left = max(0, min(x, w - tag_w))
    top = y - tag_h if y - tag_h >= 0 else max(0, y)
    top = max(0, min(top, h - tag_h))
    cv2.rectangle(out, (left, top), (left + tag_w - 1, top + tag_h - 1), color, cv2.FILLED)
    luminance = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
    cv2.putText(out, text, (left + 3, top + 2 + th), FONT, scale, (0, 0, 0) if luminance > 128 else (255, 255, 255),
                1, cv2.LINE_AA)
