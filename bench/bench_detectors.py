"""Face detectors side by side on 640×480 frames: what each finds, what it wrongly finds, how steady its box
is, and what it costs.

    python bench/bench_detectors.py [--detectors haar blazeface blazeface-short] [--repeat 50]

Frames (all BGR 640×480, built from scikit-image's astronaut photo, her face ~95 px in the 512-px photo):
upright (face ~100 px), rolled 30° and 45° about the face, the head scaled so the face is 60, 48, 40 or 30 px,
dim (gamma 2.5: the photo darkened as a badly lit room), partly covered (a dark bar over the mouth and chin).
False boxes: the boxes found on face-free frames (black, gray noise, the photo's helmet-and-suit quarter,
scikit-image's brick, grass and coffee photos). Steadiness: the face moved 1 px a frame for 60 frames; jitter
is the spread (px, standard deviation) of the box centre about that motion, and of its side. ms: median of
``--repeat`` full scans of the upright frame, detection alone (the recognizer's default settings otherwise).
Stream: the recognizer's detection step on 200 frames of the face moving to and fro (a full scan every 10th
frame, near searches between): median ms per frame, the jitter of the boxes it crops, and the frames with
the face found.
"""

import argparse
import time

import cv2
import numpy as np
from common import astronaut_bgr, host_header, median_ms

from emorec.core.detector import DETECTORS, DetectorSettings, detect, make_detector

SIZE = (480, 640)


def place(image, scale, centre=(320, 240), bg=90):
    """``image`` scaled by ``scale`` and pasted with its face (at 225, 120 in the photo) at ``centre``."""
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else
                       cv2.INTER_LINEAR)
    frame = np.full((*SIZE, 3), bg, np.uint8)
    fx, fy = int(225 * scale), int(120 * scale)
    x0, y0 = centre[0] - fx, centre[1] - fy
    h, w = small.shape[:2]
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(SIZE[1], x0 + w), min(SIZE[0], y0 + h)
    frame[dy0:dy1, dx0:dx1] = small[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0]
    return frame


def face_frames(photo):
    upright = place(photo, 100 / 95)
    frames = {"upright": upright}
    for angle in (30, 45):
        m = cv2.getRotationMatrix2D((320, 240), angle, 1.0)
        frames[f"rolled {angle}°"] = cv2.warpAffine(upright, m, SIZE[::-1], borderMode=cv2.BORDER_REPLICATE)
    for side in (60, 48, 40, 30):
        frames[f"{side} px"] = place(photo, side / 95)
    frames["dim (γ 2.5)"] = (255 * (upright / 255.0) ** 2.5).astype(np.uint8)
    covered = upright.copy()
    cv2.rectangle(covered, (270, 262), (372, 300), (20, 20, 20), -1)     # mouth and chin
    frames["covered"] = covered
    return frames


def empty_frames(photo):
    from skimage import data
    rng = np.random.default_rng(0)
    frames = [np.zeros((*SIZE, 3), np.uint8), rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8),
              cv2.resize(photo[300:, 280:], SIZE[::-1])]
    for name in ("brick", "grass", "coffee"):
        image = getattr(data, name)()
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        frames.append(cv2.resize(image, SIZE[::-1]))
    return frames


def found_face(detector, frame, centre, side):
    """Whether the detector finds one box near the face (centre within half its side) and no other."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    boxes = detect(detector, gray, frame).boxes
    near = [b for b in boxes if np.hypot(b[0] + b[2] / 2 - centre[0], b[1] + b[3] / 2 - centre[1]) < side / 2]
    return len(near) == 1, len(boxes) - len(near)


def jitter(detector, photo):
    centres, sides = [], []
    for i in range(60):
        frame = place(photo, 100 / 95, (290 + i, 240))
        boxes = detect(detector, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), frame).boxes
        if len(boxes) != 1:
            continue
        x, y, w, h = boxes[0]
        centres.append((x + w / 2 - i, y + h / 2))
        sides.append(w)
    if len(centres) < 30:
        return float("nan"), float("nan")
    c = np.array(centres)
    return float(np.hypot(*c.std(axis=0))), float(np.std(sides))


def stream(name, photo, frames=200):
    """The detection step of a stream as the window runs it (full scans every 10th frame, near searches between,
    where the detector has them): median ms per frame, and the jitter of the boxes the recognizer crops, on
    the face moving 1 px a frame to and fro."""
    from emorec.core.recognizer import Recognizer
    rec = Recognizer(settings=DetectorSettings(detector=name), classifier=lambda faces: None)
    path = [place(photo, 100 / 95, (290 + (i % 60 if i // 60 % 2 == 0 else 59 - i % 60), 240))
            for i in range(frames)]
    times, centres, sides = [], [], []
    for i, frame in enumerate(path):
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        t0 = time.perf_counter()
        boxes = rec.boxes(gray, frame)
        times.append((time.perf_counter() - t0) * 1e3)
        if len(boxes) == 1:
            x, y, w, h = boxes[0]
            shift = i % 60 if i // 60 % 2 == 0 else 59 - i % 60
            centres.append((x + w / 2 - shift, y + h / 2))
            sides.append(w)
    c = np.array(centres)
    return float(np.median(times[10:])), float(np.hypot(*c.std(axis=0))), float(np.std(sides)), len(c) / frames


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--detectors", nargs="+", choices=list(DETECTORS), default=["haar", "blazeface"])
    p.add_argument("--repeat", type=int, default=50)
    args = p.parse_args()
    photo = astronaut_bgr()
    faces = face_frames(photo)
    empties = empty_frames(photo)
    print(host_header())
    rows = {}
    for name in args.detectors:
        detector = make_detector(DetectorSettings(detector=name))
        upright = faces["upright"]
        gray = cv2.cvtColor(upright, cv2.COLOR_BGR2GRAY)
        ms = median_ms(lambda: detect(detector, gray, upright), repeat=args.repeat)
        row = {"ms": f"{ms:.1f}"}
        false = 0
        for label, frame in faces.items():
            side = 100 if not label.endswith("px") else int(label.split()[0])
            hit, other = found_face(detector, frame, (320, 240), side)
            row[label] = "✓" if hit else "✗"
            false += other
        false += sum(len(detect(detector, cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), f).boxes) for f in empties)
        row["false boxes"] = str(false)
        centre, side = jitter(detector, photo)
        row["jitter px (centre / side)"] = f"{centre:.1f} / {side:.1f}"
        ms, centre, side, found = stream(name, photo)
        row["stream: ms, jitter, found"] = f"{ms:.1f}, {centre:.1f} / {side:.1f}, {found:.0%}"
        rows[name] = row
    columns = list(next(iter(rows.values())))
    print(f"640×480 frames; false boxes: on the {len(empties)} face-free frames and beside the face in the others")
    print("| detector | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(row[c] for c in columns) + " |")


if __name__ == "__main__":
    main()
