"""Which faces the detector finds, and at what cost, for a few ``--min-size`` values: recall per face size on
640×480 clips of a real face (scikit-image's astronaut photo scaled so that her face is 40–200 px), and the
time per frame.

    python bench/bench_min_size.py [--detectors haar,blazeface] [--frames 30] [--min-sizes 30,40,48,60,80]
                                   [--sizes 40,50,...] [--detect-widths 320,0]

``--min-sizes`` and ``--detect-widths`` are Haar's; BlazeFace runs once, with its defaults (no floor of its own).

Each clip has ``--frames`` frames: the photo drifts a few pixels and its scale breathes by ±4 % from frame to
frame, with a little sensor noise, so every frame is a new detection problem (as from a webcam). A frame counts
as found when the recognizer (the window's and analyze's frame loop: full scans every 10th frame, near searches
between) returns a box overlapping the true face by IoU > 0.3. "full scan" is the median time of one full
detection of a 640×480 frame (the first of each clip); "frame" is the recognizer's mean per frame over all clips
(detection + classification of what it found); "frame without a face" is the same on the photo's lower half (no face), where
the recognizer scans the whole frame every time (no face to search near).
"""

import argparse
import time

import cv2
import numpy as np
from common import astronaut_bgr, host_header, median_ms

from emorec.common.quiet import quiet_libraries
from emorec.core.detector import DetectorSettings, detect
from emorec.core.recognizer import Recognizer

FACE = (177, 66, 95, 95)     # the astronaut's face in the 512×512 photo, as the cascade finds it at full size
FRAME = (480, 640)


def clip(face_px, frames, seed=0):
    """``frames`` 640×480 BGR frames with the face about ``face_px`` wide near the centre; returns (frames,
    true boxes)."""
    rng = np.random.default_rng(seed)
    photo = astronaut_bgr()
    out, boxes = [], []
    for i in range(frames):
        k = face_px / FACE[2] * (1 + 0.04 * np.sin(i / 5))
        scaled = cv2.resize(photo, None, fx=k, fy=k, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        cx, cy = (FACE[0] + FACE[2] / 2) * k, (FACE[1] + FACE[3] / 2) * k      # the face centre in ``scaled``
        # the face centre lands near the frame's centre, drifting by up to ±40 px
        tx = int(round(FRAME[1] / 2 + 40 * np.sin(i / 7) - cx))
        ty = int(round(FRAME[0] / 2 + 20 * np.cos(i / 9) - cy))
        frame = np.full((*FRAME, 3), 90, np.uint8)
        x0, y0 = max(0, tx), max(0, ty)
        x1, y1 = min(FRAME[1], tx + scaled.shape[1]), min(FRAME[0], ty + scaled.shape[0])
        frame[y0:y1, x0:x1] = scaled[y0 - ty:y1 - ty, x0 - tx:x1 - tx]
        noise = rng.normal(0, 4, frame.shape)
        out.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
        boxes.append((FACE[0] * k + tx, FACE[1] * k + ty, FACE[2] * k, FACE[3] * k))
    return out, np.array(boxes)


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def recall(rec, frames, truth):
    rec.reset()
    hits = 0
    for frame, box in zip(frames, truth):
        hits += any(iou(f.box, box) > 0.3 for f in rec(frame))   # boxes squared and padded: IoU ~0.7 at best
    return hits / len(frames)


def loop_ms(rec, frames):
    """Mean ms per frame of the recognizer's frame loop over ``frames`` (full scans every 10th frame, and on
    every frame while no face is known)."""
    rec.reset()
    t0 = time.perf_counter()
    for f in frames:
        rec(f)
    return (time.perf_counter() - t0) * 1e3 / len(frames)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--detectors", default="haar,blazeface", help="comma-separated detector names")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--min-sizes", default="40,48,56,64,80")
    ap.add_argument("--sizes", default="40,50,60,70,80,100,120,160,200")
    ap.add_argument("--detect-widths", default="320",
                    help="comma-separated --detect-width values to try (0 = full size)")
    ap.add_argument("--rounds", type=int, default=5, help="timing rounds; each times every setting once")
    args = ap.parse_args()
    quiet_libraries()
    sizes = [int(s) for s in args.sizes.split(",")]
    clips = {s: clip(s, args.frames, seed=s) for s in sizes}
    base = Recognizer()
    names = args.detectors.split(",")
    configs = [("haar", m, w) for w in (int(v) for v in args.detect_widths.split(","))
               for m in (int(v) for v in args.min_sizes.split(",")) if "haar" in names]
    configs += [(name, None, None) for name in names if name != "haar"]
    recs = {c: Recognizer(settings=DetectorSettings(detector=c[0], min_size=c[1], detect_width=c[2] or 0),
                          classifier=base.classifier) for c in configs}
    recalls = {c: [recall(recs[c], *clips[s]) for s in sizes] for c in configs}
    firsts = [clips[s][0][0] for s in sizes]
    # the same photo's lower half (suit, flag, rocket): texture, but no face
    empty = [cv2.resize(astronaut_bgr()[280:], FRAME[::-1], interpolation=cv2.INTER_LINEAR)] * 10
    scans, loops, idle = ({c: [] for c in configs} for _ in range(3))
    for _ in range(args.rounds):      # interleaved, so that the host's load changes hit every setting alike
        for c in configs:
            detector = recs[c].detector
            scans[c].append(np.median([median_ms(lambda f=f: detect(detector, cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), f),
                                                 repeat=5, warmup=1) for f in firsts]))
            loops[c].append(np.mean([loop_ms(recs[c], clips[s][0]) for s in sizes]))
            idle[c].append(loop_ms(recs[c], empty))
    print(host_header())
    print(f"640×480 frames, {args.frames} per face size; recall = frames whose face was found; times: medians of "
          f"{args.rounds} interleaved rounds\n")
    print("| detector | --min-size | --detect-width | " + " | ".join(f"{s} px" for s in sizes)
          + " | full scan | frame, mean over the clips | frame without a face |")
    print("|---|---|---|" + "---|" * len(sizes) + "---|---|---|")
    for c in configs:
        print(f"| {c[0]} | {c[1] if c[1] is not None else '—'} | {c[2] if c[2] is not None else '—'} | "
              + " | ".join(f"{100 * r:.0f} %" for r in recalls[c])
              + f" | {np.median(scans[c]):.1f} ms | {np.median(loops[c]):.1f} ms | {np.median(idle[c]):.1f} ms |")
    print(f"\nbaseline in this run: classify one face with TTA {median_ms(lambda: base.classify(np.zeros((48, 48), np.uint8)), 50):.2f} ms")


if __name__ == "__main__":
    main()
