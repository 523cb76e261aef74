"""Average the weights of models of one architecture (a "model soup"; they should be fine-tuned from the same
weights, so that they lie in one basin) into a new run folder, which `main.py evaluate` then scores.

    python bench/model_soup.py model/default model/vgg-wide-r5-mixup --out model/soup-0.5 [--share 0.5]
    python bench/model_soup.py model/default runs/dk-a runs/dk-b --shares 0.5 0.3 0.2 --out model/soup3 \
        [--data ../shared/data/fer2013.csv.gz] [--recompute-bn]
    python main.py evaluate --model model/soup-0.5 --data ../shared/data/fer2013.csv.gz --split val --tta

--share: with two models, the second one's share; --shares: every model's (they must sum to 1). The networks
behind their input blurs are averaged; where every model carries the same blur the soup gets it, otherwise
(or with --data) the blur is chosen again on the validation split, as training does (`main.py calibrate`).
--recompute-bn: set every BatchNorm's moving mean and variance to their average over the training images
(in training mode, dropout on, seeded) instead of averaging them. The new folder gets the first model's
metadata, with a "soup" record added (the models and their shares).
"""

import argparse
from pathlib import Path

import numpy as np

from emorec.common.artifacts import file_sha256, metadata_path, write_json
from emorec.common.labels import MODEL_FILENAME
from emorec.core.preprocess import to_model_input
from emorec.network.architectures import with_input_blur, without_input_blur
from emorec.network.files import input_blur, load_keras_model, load_metadata, resolve_model_path
from emorec.training.calibrate import calibrate, without_blur_record
from emorec.training.calibrate import describe as describe_blur
from emorec.training.data import load_dataset


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
    p.add_argument("models", nargs="+", help="two or more models (.h5 or run folders) of one architecture")
    p.add_argument("--out", required=True, help="new run folder")
    p.add_argument("--share", type=float, help="with two models: the second model's share (default: 0.5)")
    p.add_argument("--shares", type=float, nargs="+", help="every model's share, in order (summing to 1)")
    p.add_argument("--recompute-bn", action="store_true", help="BatchNorm statistics from the training images")
    p.add_argument("--data", help="fer2013.csv(.gz): for --recompute-bn, and to choose the soup's input blur")
    args = p.parse_args()
    if len(args.models) < 2:
        raise SystemExit("give two or more models")
    if args.shares is None:
        if len(args.models) != 2 and args.share is not None:
            raise SystemExit("--share is for two models; give --shares for more")
        share = 0.5 if args.share is None else args.share
        args.shares = [1 - share, share] if len(args.models) == 2 else [1 / len(args.models)] * len(args.models)
    if len(args.shares) != len(args.models) or abs(sum(args.shares) - 1) > 1e-6 or min(args.shares) < 0:
        raise SystemExit(f"--shares needs {len(args.models)} shares of 0..1 summing to 1, got {args.shares}")
    if args.recompute_bn and not args.data:
        raise SystemExit("--recompute-bn needs --data")
    paths = [resolve_model_path(m) for m in args.models]
    metadata = [load_metadata(path) for path in paths]
    nets = [without_input_blur(load_keras_model(path)) for path in paths]
    weights = [net.get_weights() for net in nets]
    if any([w.shape for w in ws] != [w.shape for w in weights[0]] for ws in weights[1:]):
        raise SystemExit(f"{', '.join(map(str, paths))} are not all the same architecture")
    soup = nets[0]
    soup.set_weights([sum(share * ws[i] for share, ws in zip(args.shares, weights))
                      for i in range(len(weights[0]))])
    if args.recompute_bn:
        recompute_batchnorm(soup, load_dataset(args.data).split("train")[0])
    sigmas = {input_blur(m) for m in metadata}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=False)
    meta = without_blur_record(metadata[0])
    meta["soup"] = {"models": [str(path) for path in paths], "shares": args.shares,
                    "batchnorm": "recomputed on the training images" if args.recompute_bn else "averaged",
                    "input_blur": "chosen again on the validation split" if args.data or len(sigmas) > 1
                    else "the models' own",
                    "note": "the rest of this file is the first model's (epochs, val_accuracy)"}
    if len(sigmas) == 1 and not args.data:
        (sigma,) = sigmas
        with_input_blur(soup, sigma).save(out / MODEL_FILENAME)
        if "input_blur" in metadata[0]:
            meta["input_blur"] = metadata[0]["input_blur"]
            meta["input_blur"]["model_sha256"] = file_sha256(out / MODEL_FILENAME)
        write_json(metadata_path(out / MODEL_FILENAME), meta)
    else:
        if not args.data:
            raise SystemExit(f"the models carry different input blurs ({sorted(sigmas)}): give --data so "
                             "that the soup's is chosen on the validation split")
        soup.save(out / MODEL_FILENAME)
        write_json(metadata_path(out / MODEL_FILENAME), meta)
        record = calibrate(out / MODEL_FILENAME, load_dataset(args.data))
        print(describe_blur(record))
    print(f"wrote {out / MODEL_FILENAME}: "
          + " + ".join(f"{share:g} × {path}" for share, path in zip(args.shares, paths))
          + (", BatchNorm statistics recomputed" if args.recompute_bn else ""))


if __name__ == "__main__":
    main()
