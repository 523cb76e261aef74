"""Full FER2013 CSV parse time: cold (no cache) and cached (second run), from ../shared/data.

    python bench/bench_data.py
"""

import tempfile
import time

from common import fer2013_csv, host_header

from emorec.training.data import load_csv


def main():
    path = fer2013_csv()
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        ds = load_csv(path, cache_dir=cache)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_csv(path, cache_dir=cache)
        cached = time.perf_counter() - t0
    n = sum(len(y) for _, y in ds.splits.values())
    print(host_header())
    print(f"{path.name}: {n} rows; cold parse (incl. validation, checksum and writing the cache) {cold:.1f} s; "
          f"cached {cached:.2f} s")


if __name__ == "__main__":
    main()
