"""Does one network pass per face per frame lose accuracy? PublicTest faces played as short tracks.

    python bench/bench_mirror_alternation.py [--model PATH] [--frames 8] [--shift 2] [--seeds 3] [--limit N]

Each PublicTest face (FER2013, the split choices are made on; never PrivateTest) becomes a track of
``--frames`` frames: the face again on every frame, moved by a random shift of up to ``--shift`` pixels in x
and y (reflected borders), as a face held still in front of a camera jitters in its detector box. The frames go
through the stream path itself: ``Recognizer.__call__`` (a detector that answers each face's box, the shipped
model's LiteRT export, the tracker's EMA smoothing at its default), three ways in the same run:

- both passes: the face and its mirror image on every frame (``alternate=False``, the frame loop before);
- alternating: both on a track's first frame, then one pass per frame, plain and mirror in turn (the default);
- plain: one pass, never the mirror (``tta=False``), for reference.

It prints the accuracy of the label shown after k frames (over ``--seeds`` plays of every face, each with
other shifts), the difference alternating − both passes with its 95 % interval (paired: the same faces and
shifts both ways), and the network passes each way costs per face per frame. Faces are laid out 16 × 16 to a frame, each in its own 48 × 48 box, so a frame's faces are one
batched call as in the window.
"""

import argparse
import time

import numpy as np
from common import SHARED_DATA, host_header

from emorec.common.labels import INPUT_SIZE
from emorec.core.detector import DetectorSettings
from emorec.core.recognizer import Recognizer

GRID = 16   # faces per frame side


class GridDetector:
    """The boxes of a GRID × GRID layout of 48 × 48 faces, whatever the frame shows."""

    def __init__(self, n):
        cells = np.arange(n)
        self.boxes = np.stack([cells % GRID * INPUT_SIZE, cells // GRID * INPUT_SIZE,
                               np.full(n, INPUT_SIZE), np.full(n, INPUT_SIZE)], 1)

    def __call__(self, gray):
        return self.boxes


def shifted(faces, rng, shift):
    """Each N×48×48 face moved by its own random (dx, dy) in -shift..shift, borders reflected."""
    padded = np.pad(faces, ((0, 0), (shift, shift), (shift, shift)), mode="reflect")
    dx, dy = rng.integers(0, 2 * shift + 1, (2, len(faces)))
    return np.stack([p[y:y + INPUT_SIZE, x:x + INPUT_SIZE] for p, x, y in zip(padded, dx, dy)])


def tile(faces):
    """N ≤ GRID² faces → one gray frame with face i in cell (i % GRID, i // GRID)."""
    frame = np.zeros((GRID * INPUT_SIZE, GRID * INPUT_SIZE), np.uint8)
    for i, face in enumerate(faces):
        y, x = i // GRID * INPUT_SIZE, i % GRID * INPUT_SIZE
        frame[y:y + INPUT_SIZE, x:x + INPUT_SIZE] = face
    return frame


class CountingClassifier:
    def __init__(self, classifier):
        self.classifier, self.passes = classifier, 0

    def __call__(self, crops):
        self.passes += len(crops)
        return self.classifier(crops)


WAYS = {"both passes": {"alternate": False}, "alternating": {}, "plain": {"tta": False}}


def play(classifier, x, frames, shift, seed):
    """{way: (labels after each frame (frames × N), passes)} for the faces ``x`` played as tracks."""
    out = {}
    for way, kw in WAYS.items():
        counting = CountingClassifier(classifier)
        labels = np.zeros((frames, len(x)), int)
        rng = np.random.default_rng(seed)           # the same shifts for every way
        for start in range(0, len(x), GRID * GRID):
            chunk = x[start:start + GRID * GRID]
            rec = Recognizer(detector=GridDetector(len(chunk)), classifier=counting,
                             settings=DetectorSettings(pad=0), **kw)
            for k in range(frames):
                faces = rec(tile(shifted(chunk, rng, shift)))
                assert [f.id for f in faces] == list(range(1, len(chunk) + 1))   # one track per face throughout
                labels[k, start:start + len(chunk)] = [int(np.argmax(list(f.probs.values()))) for f in faces]
        out[way] = (labels, counting.passes)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model .h5 or folder (default: the shipped model)")
    p.add_argument("--frames", type=int, default=8, help="frames per track")
    p.add_argument("--shift", type=int, default=2, help="largest shift per frame, pixels")
    p.add_argument("--limit", type=int, help="only the first N PublicTest faces (a quick run)")
    p.add_argument("--seeds", type=int, default=3, help="plays of every face, each with other random shifts")
    args = p.parse_args()
    from emorec.core.classifier import Classifier
    from emorec.training.data import load_dataset
    path = SHARED_DATA / "fer2013.csv.gz"
    if not path.exists():
        raise SystemExit(f"{path} not found: this benchmark reads FER2013's PublicTest faces")
    x, y = load_dataset(path).split("val")
    x, y = x[:args.limit], y[:args.limit]
    classifier = Classifier(args.model)
    print(host_header(str(classifier.model_path)))
    t0 = time.perf_counter()
    plays = [play(classifier, x, args.frames, args.shift, seed) for seed in range(args.seeds)]
    # per way: (seeds, frames, faces) labels, and the passes of all plays
    results = {w: (np.stack([r[w][0] for r in plays]), sum(r[w][1] for r in plays)) for w in WAYS}
    print(f"{len(x)} PublicTest faces × {args.seeds} plays, {args.frames} frames each, shifts up to ±{args.shift} px, smoothing "
          f"{Recognizer(detector=GridDetector(1), classifier=classifier).tracker.smoothing} "
          f"({time.perf_counter() - t0:.0f} s)\n")
    ways = list(results)
    print("| after k frames | " + " | ".join(ways) + " | alternating − both (95 % interval) |")
    print("|---|" + "---|" * (len(ways) + 1))
    for k in sorted({1, 2, 3, 4, 5, args.frames} & set(range(1, args.frames + 1))):
        right = {w: (results[w][0][:, k - 1] == y).mean(0) for w in ways}    # per face, over the plays
        diff = right["alternating"] - right["both passes"]   # paired: the same faces, the same shifts
        half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff)) * 100 if len(diff) > 1 else 0.0
        print(f"| {k} | " + " | ".join(f"{right[w].mean() * 100:.2f} %" for w in ways)
              + f" | {diff.mean() * 100:+.2f} points (±{half:.2f}) |")
    if args.frames > 1:   # frames 2..N together: per face, the mean of its paired differences
        right = {w: (results[w][0][:, 1:] == y).mean((0, 1)) for w in ways}
        diff = right["alternating"] - right["both passes"]
        half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff)) * 100 if len(diff) > 1 else 0.0
        print(f"| frames 2–{args.frames}, mean | " + " | ".join(f"{right[w].mean() * 100:.2f} %" for w in ways)
              + f" | {diff.mean() * 100:+.2f} points (±{half:.2f}) |")
    print("| network passes per face per frame | "
          + " | ".join(f"{results[w][1] / (len(x) * args.frames * args.seeds):.3f}" for w in ways) + " | |")
    a, b = results["alternating"][0], results["both passes"][0]
    print(f"\nthe label shown differs between alternating and both passes on {(a != b).mean() * 100:.2f} % of "
          f"face-frames (after frame 1: {(a[:, 1:] != b[:, 1:]).mean() * 100:.2f} %)")


if __name__ == "__main__":
    main()
