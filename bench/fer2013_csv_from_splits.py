"""Rebuild the Kaggle fer2013.csv from its compact form (../shared/data/fer2013_<Usage>.u8.xz and
fer2013_labels.csv), e.g. on a GPU machine that the 94 MB fer2013.csv.gz cannot be carried to (one call
carries at most 64 MiB; the compact form is 61 MB). Prints the rebuilt file's MD5, which must be the
original's, f8428a1edbd21e88f42c73edd2a14f95.

    python bench/fer2013_csv_from_splits.py DATA_DIR OUT.csv
    python main.py train --data OUT.csv ...
"""

import argparse
import csv
import hashlib
import lzma
from pathlib import Path

import numpy as np

ORIGINAL_MD5 = "f8428a1edbd21e88f42c73edd2a14f95"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data_dir", type=Path)
    p.add_argument("out", type=Path)
    args = p.parse_args()
    with open(args.data_dir / "fer2013_labels.csv", newline="") as f:
        labels = list(csv.DictReader(f))
    images = {usage: iter(np.frombuffer(lzma.open(args.data_dir / f"fer2013_{usage}.u8.xz").read(), np.uint8)
                          .reshape(-1, 48 * 48))
              for usage in ("Training", "PublicTest", "PrivateTest")}
    digest = hashlib.md5()
    with open(args.out, "w", newline="") as f:
        for line in ["emotion,pixels,Usage"] + [
                f"{row['emotion']},{' '.join(map(str, next(images[row['Usage']])))},{row['Usage']}" for row in labels]:
            data = line + "\n"
            f.write(data)
            digest.update(data.encode())
    left = {usage: sum(1 for _ in rest) for usage, rest in images.items()}
    if any(left.values()):
        raise SystemExit(f"the splits hold images the labels do not name: {left}")
    md5 = digest.hexdigest()
    print(f"wrote {args.out}: {len(labels)} rows, MD5 {md5} "
          f"({'the original' if md5 == ORIGINAL_MD5 else 'NOT the original ' + ORIGINAL_MD5})")


if __name__ == "__main__":
    main()
