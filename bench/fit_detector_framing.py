"""How each face detector's box relates to the frame of a FER2013 face, measured rather than guessed.

    python bench/fit_detector_framing.py [--faces 2000] [--scale 3] [--check]

FER2013's faces are the whole 48×48 image. Each face (from the Training split) is upscaled ``--scale``×,
pasted into a 640×480 frame of its own mean gray, and given to each detector; where exactly one box covers
it, the box is compared with the pasted face square (side S, centre c): S / box side and (c - box centre) /
box side, medians over the faces found. The recognizer's crop is the box squared and grown by ``pad`` on each
edge, so a detector frames like FER2013 when S / side = 1 + 2·pad and the offsets are 0. The BlazeFace
constants in ``emorec/core/detector.py`` (``BLAZEFACE_FRAMING``) come from this script's output; the
``blazeface`` row (those constants applied) should then read like ``haar``'s.

``--check`` then runs the whole recognizer (detector, crop, shipped model with flip TTA) on every PublicTest
face pasted the same way, upright and rolled by ±30° about its centre, and prints the accuracy on the faces
each configuration finds, beside the accuracy of the same faces' original 48×48 images.
"""

import argparse
import lzma

import cv2
import numpy as np
from common import SHARED_DATA, host_header


def faces(n, split="Training"):
    with lzma.open(SHARED_DATA / f"fer2013_{split}.u8.xz") as f:
        x = np.frombuffer(f.read(), np.uint8).reshape(-1, 48, 48)
    return x[np.random.default_rng(0).permutation(len(x))[:n]]


def paste(face, scale, shape=(480, 640)):
    big = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    frame = np.full(shape, int(face.mean()), np.uint8)
    s = big.shape[0]
    y0, x0 = (shape[0] - s) // 2, (shape[1] - s) // 2
    frame[y0:y0 + s, x0:x0 + s] = big
    return frame, (x0 + s / 2, y0 + s / 2), s


def measure(detector, crops, scale):
    ratio, dx, dy = [], [], []
    for face in crops:
        frame, (cx, cy), s = paste(face, scale)
        boxes = np.asarray(detector(frame), float).reshape(-1, 4)
        inside = [b for b in boxes if abs(b[0] + b[2] / 2 - cx) < s / 2 and abs(b[1] + b[3] / 2 - cy) < s / 2]
        if len(inside) != 1:
            continue
        x, y, w, h = inside[0]
        side = max(w, h)
        ratio.append(s / side)
        dx.append((cx - (x + w / 2)) / side)
        dy.append((cy - (y + h / 2)) / side)
    return np.array(ratio), np.array(dx), np.array(dy)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--faces", type=int, default=2000)
    p.add_argument("--scale", type=float, default=3.0, help="upscaling of the 48×48 faces (3 → 144 px)")
    p.add_argument("--check", action="store_true", help="then score PublicTest through the whole recognizer")
    p.add_argument("--near", action="store_true", help="fit the near search's short-range box to full-range's "
                                                       "instead, at 72 to 288 px (--scale is then not used)")
    args = p.parse_args()
    if args.near:
        print(host_header())
        crops = faces(args.faces)
        rows = [near(crops, scale) for scale in (1.5, 2, 2.5, 3, 4, 5, 6)]
        print("NEAR_FRAMING = (  # short-range side / frame's longer side, then x, y, side")
        for row in rows:
            print(f"    ({row[0]:.3f}, {row[1]:.3f}, {row[2]:.3f}, {row[3]:.3f}),")
        print(")")
        return
    from emorec.core.detector import DetectorSettings, make_detector
    crops = faces(args.faces)
    print(host_header())
    print(f"{len(crops)} FER2013 Training faces, each {48 * args.scale:.0f} px in a 640×480 frame")
    print("detector      found   S/side (median, IQR)   offset x, y (× side, median)")
    for name in ("haar", "blazeface-raw", "blazeface"):
        settings = DetectorSettings(detector=name.removesuffix("-raw"), min_size=24)
        detector = make_detector(settings, framed=not name.endswith("-raw"))
        r, dx, dy = measure(detector, crops, args.scale)
        q1, q3 = np.percentile(r, [25, 75]) if len(r) else (np.nan, np.nan)
        print(f"{name:13s} {len(r) / len(crops):6.1%}   {np.median(r):.3f} ({q1:.3f}-{q3:.3f})        "
              f"{np.median(dx):+.3f}, {np.median(dy):+.3f}")
    print("framed like FER2013 with pad p when S/side = 1 + 2p and the offsets are 0")
    if args.check:
        check(args.scale)


def near(crops, scale, moved=0.15):
    """BlazeFace's near search (the short-range network on a region around the face) against the full-range
    scan, on the same faces: the face's region is centred where the full-range box was, moved by up to
    ``moved`` × its side (the face moves between frames). Returns (short-range side / frame's longer side, and
the medians of: full-range centre - short-range centre in x and y, × the short side; full side / short side):
a row of detector.py's NEAR_FRAMING."""
    from emorec.core.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFaceModel
    from emorec.core.detector import NEAR_REGION, near_region
    full, short = BlazeFaceModel(FULL_RANGE), BlazeFaceModel(SHORT_RANGE)
    rng = np.random.default_rng(1)
    n_full = 0
    ratio, dx, dy, shift, key = [], [], [], [], []
    for face in crops:
        frame, (cx, cy), s = paste(face, scale)
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        boxes = full.detect(frame)[0]
        inside = [b for b in boxes if abs(b[0] + b[2] / 2 - cx) < s / 2 and abs(b[1] + b[3] / 2 - cy) < s / 2]
        if len(inside) != 1:
            continue
        n_full += 1
        b = inside[0]
        side = b[2:].max()
        region = near_region(b + np.r_[rng.uniform(-moved, moved, 2) * side, 0, 0], frame.shape, NEAR_REGION)
        x0, y0, x1, y1 = region
        hits = short.detect(frame[y0:y1, x0:x1])[0]
        if len(hits) != 1:
            continue
        h = hits[0] + [x0, y0, 0, 0]
        hs = h[2:].max()
        key.append(hs / max(frame.shape[:2]))
        ratio.append(side / hs)
        dx.append(((b[0] + b[2] / 2) - (h[0] + h[2] / 2)) / hs)
        dy.append(((b[1] + b[3] / 2) - (h[1] + h[3] / 2)) / hs)
        shift.append(np.hypot(dx[-1], dy[-1]) * hs)
    ratio, dx, dy = map(np.array, (ratio, dx, dy))
    q1, q3 = np.percentile(ratio, [25, 75])
    print(f"{len(crops)} FER2013 Training faces, each {48 * scale:.0f} px; near region {NEAR_REGION} × side, "
          f"moved up to ±{moved} × side")
    print(f"full-range found {n_full} of them; short-range in the region found exactly one face for "
          f"{len(ratio)} of those")
    print(f"full-range side / short-range side: {np.median(ratio):.3f} (IQR {q1:.3f}-{q3:.3f}); "
          f"centre offset (× short side): {np.median(dx):+.3f}, {np.median(dy):+.3f}")
    return float(np.median(key)), float(np.median(dx)), float(np.median(dy)), float(np.median(ratio))


def check(scale):
    from emorec.common.labels import EMOTIONS
    from emorec.core.classifier import Classifier
    from emorec.core.detector import DetectorSettings
    from emorec.core.recognizer import Recognizer
    with lzma.open(SHARED_DATA / "fer2013_PublicTest.u8.xz") as f:
        x = np.frombuffer(f.read(), np.uint8).reshape(-1, 48, 48)
    import pandas as pd
    labels = pd.read_csv(SHARED_DATA / "fer2013_labels.csv")
    y = labels.emotion[labels.Usage == "PublicTest"].to_numpy()
    classifier = Classifier()
    reference = Recognizer(classifier=classifier, detector=lambda g: np.zeros((0, 4), int)).classify(x).argmax(1)
    print(f"\nPublicTest ({len(x)} faces), {48 * scale:.0f} px in 640×480, shipped model with flip TTA; "
          f"the original 48×48 images: {np.mean(reference == y):.2%}")
    print("configuration                     roll   found   accuracy   originals of the found faces")
    configs = [("haar, pad 0.1", "haar", 0.1, True), ("haar, pad 0", "haar", 0.0, True),
               ("blazeface, pad 0.1", "blazeface", 0.1, True), ("blazeface, pad 0.1, no align", "blazeface", 0.1, False),
               ("blazeface, pad 0", "blazeface", 0.0, True)]
    for roll in (0, 30):
        for label, name, pad, align in configs:
            if roll and name == "haar":
                continue
            rec = Recognizer(classifier=classifier, settings=DetectorSettings(detector=name, pad=pad, align=align,
                                                                             min_size=24))
            hit, correct = [], []
            for i, face in enumerate(x):
                frame, centre, s = paste(face, scale)
                if roll:
                    m = cv2.getRotationMatrix2D(centre, roll if i % 2 else -roll, 1.0)
                    frame = cv2.warpAffine(frame, m, frame.shape[::-1], borderValue=int(face.mean()))
                found = [f for f in rec.image(frame)
                         if abs(f.box[0] + f.box[2] / 2 - centre[0]) < s / 2
                         and abs(f.box[1] + f.box[3] / 2 - centre[1]) < s / 2]
                if len(found) == 1:
                    hit.append(i)
                    correct.append(EMOTIONS.index(found[0].label) == y[i])
            hit = np.array(hit, int)
            print(f"{label:32s} ±{roll:2d}°  {len(hit) / len(x):6.1%}   {np.mean(correct):7.2%}    "
                  f"{np.mean(reference[hit] == y[hit]):7.2%}")


if __name__ == "__main__":
    main()
