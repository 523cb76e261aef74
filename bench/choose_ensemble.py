"""Which models to average: every subset of ``--models`` scored on PublicTest (never PrivateTest), each member
with flip TTA, probabilities averaged with equal weights, as ``main.py ensemble`` builds it.

    python bench/choose_ensemble.py --data ../shared/data/fer2013.csv.gz --models model/default model/m2 ...

Prints accuracy, balanced accuracy (mean recall), the worst class's recall, the largest loss of one class's
recall against the first model given (issue 29: no class may lose more than 2 points against the default, so
give it first), and the passes per face.
"""

import argparse
import itertools

import numpy as np
from common import host_header

from emorec.common.labels import EMOTIONS
from emorec.core.classifier import Classifier
from emorec.core.preprocess import flip_pair
from emorec.training.data import load_dataset
from emorec.training.evaluate import score


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--split", default="val", choices=["val"], help="PublicTest only: members are chosen on it")
    args = p.parse_args()
    x, y = load_dataset(args.data).split(args.split)
    print(host_header())
    probs = {}
    for m in args.models:
        plain, mirrored = flip_pair(Classifier(m).predict, x)
        probs[m] = (plain + mirrored) / 2
    def recalls(s):
        return np.array([c["recall"] for c in s["per_class"].values()])

    reference = recalls(score(y, probs[args.models[0]]))
    rows = []
    for k in range(1, len(args.models) + 1):
        for subset in itertools.combinations(args.models, k):
            s = score(y, np.mean([probs[m] for m in subset], axis=0))
            change = 100 * (recalls(s) - reference)
            drop = f"{change.min():+.1f} ({EMOTIONS[int(change.argmin())]})" if change.min() < 0 else "none"
            worst = min(c["recall"] for c in s["per_class"].values())
            rows.append((s["accuracy"], s["balanced_accuracy"], worst, drop, subset))
    print(f"PublicTest, {len(y)} faces, each member with flip TTA, equal weights; drops against {args.models[0]}")
    print("| members | accuracy | balanced | worst recall | largest recall drop | passes per face |\n"
          "|---|---|---|---|---|---|")
    for acc, bal, worst, drop, subset in sorted(rows, key=lambda r: r[:3], reverse=True):
        print(f"| {' + '.join(subset)} | {100 * acc:.2f} % | {100 * bal:.2f} % | {worst:.3f} | {drop} | "
              f"{2 * len(subset)} |")


if __name__ == "__main__":
    main()
