"""Training throughput (images/s) of each architecture on this CPU, with the training augmentation.

    python bench/bench_train.py [--steps 30] [--batch-size 128]

Uses FER2013 training images from ../shared/data when present, random images otherwise (the speed
does not depend on the pixel values).
"""

import argparse
import time

import numpy as np
from common import SHARED_DATA, host_header


def images(n):
    import lzma
    path = SHARED_DATA / "fer2013_Training.u8.xz"
    if path.exists():
        with lzma.open(path) as f:
            return np.frombuffer(f.read(n * 48 * 48), np.uint8).reshape(n, 48, 48), "FER2013 Training"
    return np.random.default_rng(0).integers(0, 256, (n, 48, 48), dtype=np.uint8), "random images"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=30, help="timed steps per architecture (after 3 warm-up steps)")
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args()
    import keras

    from emorec.network.architectures import ARCHITECTURES
    from emorec.training.checkpoint import base_of
    from emorec.training.train import TrainConfig, _build_trainer, _one_hot
    n = args.batch_size * args.steps
    x, source = images(n)
    y = _one_hot(np.arange(n) % 7)
    xf = x[..., None].astype(np.float32)
    print(host_header())
    print(f"training throughput, batch {args.batch_size}, AdamW, augmentation on, {source}, "
          f"keras {keras.__version__} ({keras.backend.backend()})")
    for arch in ARCHITECTURES:
        model = _build_trainer(TrainConfig(data="", out="", arch=arch), args.steps)
        base = base_of(model)
        model.fit(xf[:3 * args.batch_size], y[:3 * args.batch_size], batch_size=args.batch_size, verbose=0)
        t0 = time.perf_counter()
        model.fit(xf, y, batch_size=args.batch_size, verbose=0)
        rate = n / (time.perf_counter() - t0)
        print(f"{arch:8s} {base.count_params():>10,} params  {rate:7.0f} images/s  "
              f"(one FER2013 epoch of 28,709 images ≈ {28709 / rate:5.0f} s)")


if __name__ == "__main__":
    main()
