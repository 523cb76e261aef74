"""Annotating frames: a box in the emotion's colour with its label and confidence."""

import cv2

from .labels import COLORS_BGR

FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw_faces(frame_bgr, faces, selected_id=None):
    """Draw every face on a copy of ``frame_bgr`` (H×W×3 uint8, BGR) and return the copy.

    The selected face (by track id) gets a thicker box.
    """
    out = frame_bgr.copy()
    h, w = out.shape[:2]
    scale = max(0.45, min(1.0, w / 900))
    for face in faces:
        x, y, bw, bh = face.box
        color = COLORS_BGR[face.label]
        thick = 3 if face.id == selected_id else 2
        cv2.rectangle(out, (x, y), (x + bw, y + bh), color, thick)
        text = f"{face.label} {face.confidence:.0%}"
        (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
        ty = y - 4 if y - th - base - 4 >= 0 else min(h - base, y + bh + th + 4)
        cv2.rectangle(out, (x, ty - th - base), (x + tw + 6, ty + base), color, cv2.FILLED)
        luminance = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
        cv2.putText(out, text, (x + 3, ty), FONT, scale, (0, 0, 0) if luminance > 128 else (255, 255, 255),
                    1, cv2.LINE_AA)
    return out
