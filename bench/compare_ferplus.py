"""Measure the effect of --ferplus: short runs that differ only in the FER+ share of the training
targets, compared on the validation split (PublicTest, FER2013 labels), never on PrivateTest.

    python bench/compare_ferplus.py [--arch vgg] [--epochs 6] [--weights 0 0.5]
"""

import argparse

from common import SHARED_DATA, fer2013_csv, host_header, short_run_scores

from emorec.training.config import TrainConfig
from emorec.training.data import load_dataset


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="vgg", help="architecture of every run")
    p.add_argument("--epochs", type=int, default=6, help="epochs of each run (cosine schedule)")
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5], help="--ferplus-weight of each run")
    p.add_argument("--ferplus", default=str(SHARED_DATA / "fer2013new.csv"), help="FER+ fer2013new.csv")
    args = p.parse_args()
    data = str(fer2013_csv())
    dataset = load_dataset(data)
    y = dataset.split("val")[1]
    results = short_run_scores(dataset, {w: TrainConfig(data=data, out="", arch=args.arch, epochs=args.epochs,
                                                        patience=0, schedule="cosine",
                                                        ferplus=args.ferplus if w else "", ferplus_weight=w)
                                         for w in args.weights}, tta=True)
    print(host_header())
    print(f"FER+ soft targets, {args.arch}, {args.epochs} epochs each (cosine), same seed; "
          f"validation = PublicTest with FER2013 labels ({len(y)} images), flip TTA as live")
    print(f"{'--ferplus-weight':17s} {'accuracy':>9s} {'macro F1':>9s}")
    for w, r in results.items():
        print(f"{w:<17g} {100 * r['accuracy']:8.2f}% {r['macro_f1']:9.3f}")


if __name__ == "__main__":
    main()
