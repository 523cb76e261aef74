"""Measure the effect of --class-weight balanced: two short runs that differ only in class weighting,
compared on the validation split (PublicTest), never on PrivateTest.

    python bench/compare_class_weights.py [--arch shallow] [--epochs 6] [--data ../shared/data/fer2013.csv.gz]
"""

import argparse

from common import fer2013_csv, host_header, short_run_scores

from emorec.training.config import TrainConfig
from emorec.training.data import load_dataset


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="shallow", help="architecture of both runs")
    p.add_argument("--epochs", type=int, default=6, help="epochs of each run")
    p.add_argument("--data", help="FER2013 CSV (default: ../shared/data/fer2013.csv.gz)")
    args = p.parse_args()
    data = args.data or str(fer2013_csv())
    dataset = load_dataset(data)
    y = dataset.split("val")[1]
    results = short_run_scores(dataset, {mode: TrainConfig(data=data, out="", arch=args.arch, epochs=args.epochs,
                                                           patience=0, class_weight=mode)
                                         for mode in ("none", "balanced")})
    print(host_header())
    print(f"class weighting, {args.arch}, {args.epochs} epochs each, same seed; validation = PublicTest "
          f"({len(y)} images)")
    print(f"{'--class-weight':15s} {'accuracy':>9s} {'macro F1':>9s} {'disgust recall':>15s} {'disgust F1':>11s} "
          f"{'fear recall':>12s}")
    for mode, r in results.items():
        pc = r["per_class"]
        print(f"{mode:15s} {100 * r['accuracy']:8.2f}% {r['macro_f1']:9.3f} {pc['disgust']['recall']:15.3f} "
              f"{pc['disgust']['f1']:11.3f} {pc['fear']['recall']:12.3f}")


if __name__ == "__main__":
    main()
