"""Average the weights of two models of one architecture (a "model soup"; both should be fine-tuned from
the same weights, so that they lie in one basin) into a new run folder, which `main.py evaluate` then scores.

    python bench/model_soup.py model/default model/vgg-wide-r5-mixup --out model/soup-0.5 [--share 0.5]
        [--recompute-bn --data ../shared/data/fer2013.csv.gz]
    python main.py evaluate --model model/soup-0.5 --data ../shared/data/fer2013.csv.gz --split val --tta

--share: the second model's share. --recompute-bn: set every BatchNorm's moving mean and variance to their
average over the training images (in training mode, dropout on, seeded) instead of averaging them.
The new folder gets the first model's metadata, with a "soup" record added (the two models and their shares);
both models must carry the same input blur.
"""

import argparse
from pathlib import Path

import numpy as np

from emorec.common.artifacts import read_json, write_json
from emorec.common.labels import MODEL_FILENAME
from emorec.core.preprocess import to_model_input
from emorec.network.files import load_keras_model, resolve_model_path


def recompute_batchnorm(model, x, batch_size=256):
    """Each BatchNorm's moving statistics become their mean over ``x`` (N×48×48 uint8), batch by batch."""
    import keras
    keras.utils.set_random_seed(0)               # dropout is active in training mode
    layers = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in layers:
        layer.moving_mean.assign(np.zeros(layer.moving_mean.shape, np.float32))
        layer.moving_variance.assign(np.ones(layer.moving_variance.shape, np.float32))
    momentum = [layer.momentum for layer in layers]
    order = np.random.default_rng(0).permutation(len(x))
    for k, i in enumerate(range(0, len(x), batch_size)):
        for layer in layers:
            layer.momentum = k / (k + 1)        # a running mean over the batches so far
        model(to_model_input(x[order[i:i + batch_size]]), training=True)
    for layer, m in zip(layers, momentum):
        layer.momentum = m


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("--out", required=True, help="new run folder")
    p.add_argument("--share", type=float, default=0.5, help="the second model's share (default: 0.5)")
    p.add_argument("--recompute-bn", action="store_true", help="BatchNorm statistics from the training images")
    p.add_argument("--data", help="fer2013.csv(.gz), for --recompute-bn")
    args = p.parse_args()
    first, second = resolve_model_path(args.first), resolve_model_path(args.second)
    a, b = load_keras_model(first), load_keras_model(second)
    wa, wb = a.get_weights(), b.get_weights()
    if [w.shape for w in wa] != [w.shape for w in wb]:
        raise SystemExit(f"{first} and {second} are not the same architecture")
    a.set_weights([(1 - args.share) * x + args.share * y for x, y in zip(wa, wb)])
    if args.recompute_bn:
        if not args.data:
            raise SystemExit("--recompute-bn needs --data")
        from emorec.training.data import load_dataset
        recompute_batchnorm(a, load_dataset(args.data).split("train")[0])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=False)
    a.save(out / MODEL_FILENAME)
    metadata = read_json(first.with_suffix(".json"))
    metadata["soup"] = {"models": [str(first), str(second)], "shares": [1 - args.share, args.share],
                        "batchnorm": "recomputed on the training images" if args.recompute_bn else "averaged",
                        "note": "the rest of this file is the first model's (epochs, val_accuracy, input_blur)"}
    write_json(out / first.with_suffix(".json").name, metadata)
    print(f"wrote {out / MODEL_FILENAME}: {1 - args.share:g} × {first} + {args.share:g} × {second}"
          + (", BatchNorm statistics recomputed" if args.recompute_bn else ""))


if __name__ == "__main__":
    main()
