"""Training speed on this CPU, with the training augmentation: ms per batch and images/s for each
architecture and compute precision (``train --precision float32|bfloat16``).

    python bench/bench_train.py [--arch vgg-wide ...] [--precision float32 bfloat16] [--steps 30] [--batch-size 128]

bfloat16 (Keras's mixed_bfloat16) is fast only where the CPU has native bf16 units (amx_bf16 or
avx512_bf16 in the host line); elsewhere it is emulated, and ``--precision auto`` keeps float32.
Uses FER2013 training images from ../shared/data when present, random images otherwise (the speed
does not depend on the pixel values). Figures compare only within one run: a training run or anything
else on the same cores slows every row.
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
    from emorec.network.architectures import ARCHITECTURES
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", nargs="+", choices=sorted(ARCHITECTURES), default=list(ARCHITECTURES),
                   help="architectures to time (default: all)")
    p.add_argument("--precision", nargs="+", choices=("float32", "bfloat16"), default=["float32", "bfloat16"])
    p.add_argument("--steps", type=int, default=30, help="timed steps per row (after 3 warm-up steps)")
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args()
    import keras

    from emorec.training.checkpoint import base_of
    from emorec.training.config import TrainConfig
    from emorec.training.precision import native_bf16
    from emorec.training.targets import one_hot
    from emorec.training.trainer import build_trainer
    n = args.batch_size * args.steps
    x, source = images(n)
    y = one_hot(np.arange(n) % 7)
    xf = x[..., None].astype(np.float32)
    print(host_header())
    print(f"native bf16: {'yes' if native_bf16() else 'no (bfloat16 is emulated here)'}")
    print(f"training speed, batch {args.batch_size}, {args.steps} steps per row, AdamW, augmentation on, {source}, "
          f"keras {keras.__version__} ({keras.backend.backend()})")
    for arch in args.arch:
        times = {}
        for precision in args.precision:
            model = build_trainer(TrainConfig(data="", out="", arch=arch, precision=precision), args.steps)
            model.fit(xf[:3 * args.batch_size], y[:3 * args.batch_size], batch_size=args.batch_size, verbose=0)
            t0 = time.perf_counter()
            model.fit(xf, y, batch_size=args.batch_size, verbose=0)
            times[precision] = seconds = time.perf_counter() - t0
            rate = n / seconds
            print(f"{arch:8s} {precision:8s} {base_of(model).count_params():>10,} params  "
                  f"{1000 * seconds / args.steps:6.0f} ms/batch  {rate:6.0f} images/s  "
                  f"(one FER2013 epoch of 28,709 images ≈ {28709 / rate:5.0f} s)")
        if len(times) == 2:
            print(f"{arch:8s} bfloat16 / float32 speed: {times['float32'] / times['bfloat16']:.2f}x")


if __name__ == "__main__":
    main()
