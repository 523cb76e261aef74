"""Which test-time views to average (issue 29: "flip TTA, and ten-crop if it measures better"): each model's
PublicTest probabilities (never PrivateTest) under shifted and cropped views of every face, each view also
mirrored, and the accuracy of each set of views, for each model and for their average (an ensemble).

    python bench/tta_views.py --data ../shared/data/fer2013.csv.gz --models model/accurate

An ensemble folder stands for its members. Views: the face; shifted by 1, 2 or 3 px in each of four directions
(reflected borders); ten-crop, the 44×44 (or 42×42) centre and corners scaled back to 48×48. The "worst
change" column is the largest loss of one class's recall against flip TTA, computed from the same probabilities.
"""

import argparse

import cv2
import numpy as np
from common import host_header

from emorec.common.labels import EMOTIONS
from emorec.core.classifier import Classifier
from emorec.core.preprocess import flip_pair
from emorec.network.files import ensemble_members, is_ensemble, resolve_model_path
from emorec.training.data import load_dataset
from emorec.training.evaluate import score


def shifted(dx, dy):
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return lambda im: cv2.warpAffine(im, m, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def cropped(x0, y0, side):
    return lambda im: cv2.resize(im[y0:y0 + side, x0:x0 + side], (48, 48), interpolation=cv2.INTER_LINEAR)


def views():
    out = {"face": lambda im: im}
    for d in (1, 2, 3):
        for dx, dy in ((d, 0), (-d, 0), (0, d), (0, -d)):
            out[f"shift{d}{dx:+d}{dy:+d}"] = shifted(dx, dy)
    for side in (44, 42):
        o = 48 - side
        for corner, (x0, y0) in {"c": (o // 2, o // 2), "tl": (0, 0), "tr": (o, 0), "bl": (0, o), "br": (o, o)}.items():
            out[f"crop{side}{corner}"] = cropped(x0, y0, side)
    return out


def view_sets(names):
    def pick(*prefixes):
        return [n for n in names if any(n.startswith(p) for p in prefixes)]
    return {"flip (shipped)": pick("face"), "flip + shifts of 1 px": pick("face", "shift1"),
            "flip + shifts of 2 px": pick("face", "shift2"),
            "flip + shifts of 1 and 2 px": pick("face", "shift1", "shift2"),
            "flip + shifts of 3 px": pick("face", "shift3"), "ten-crop 44": pick("crop44"),
            "flip + ten-crop 44": pick("face", "crop44"), "flip + ten-crop 42": pick("face", "crop42"),
            "all": list(names)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--models", nargs="+", required=True, help="models, or an ensemble folder (its members)")
    args = p.parse_args()
    x, y = load_dataset(args.data).split("val")
    x = np.asarray(x).reshape(-1, 48, 48).astype(np.uint8)
    print(host_header())
    models = []
    for m in args.models:
        path = resolve_model_path(m)
        models += ensemble_members(path) if is_ensemble(path) else [path]
    transforms = views()
    probs = {}           # model -> view -> N×7, the view and its mirror averaged
    for model in models:
        classify = Classifier(model).predict
        probs[model] = {}
        for name, f in transforms.items():
            faces = np.stack([f(im) for im in x])
            probs[model][name] = np.mean(flip_pair(classify, faces), axis=0)
    groups = [(f"{m.parent.name}/{m.name}", [m]) for m in models]
    if len(models) > 1:
        groups.append((" + ".join(m.parent.name for m in models) + " (averaged, without an ensemble's temperature)",
                       models))
    print(f"PublicTest, {len(y)} faces; every view also mirrored")
    for title, members in groups:
        print(f"\n{title}\n| views | passes per face | accuracy | balanced | worst change of a class's recall |\n"
              "|---|---|---|---|---|")
        base = None
        for label, names in view_sets(list(transforms)).items():
            s = score(y, np.mean([probs[m][n] for m in members for n in names], axis=0))
            recall = np.array([s["per_class"][e]["recall"] for e in EMOTIONS])
            base = recall if base is None else base
            change = 100 * (recall - base)
            worst = "—" if label.startswith("flip (") else f"{change.min():+.1f} ({EMOTIONS[int(change.argmin())]})"
            print(f"| {label} | {2 * len(names) * len(members)} | {100 * s['accuracy']:.2f} % | "
                  f"{100 * s['balanced_accuracy']:.2f} % | {worst} |")


if __name__ == "__main__":
    main()
