"""Full-integer (int8 activations) LiteRT export of a model against the export the app runs (int8 weights,
float activations): per-face time in the window's configuration (face + mirror in one call, 2 threads) and
PublicTest accuracy with flip TTA. A measurement for issue 14's ≤ 1 ms per face, not what the app ships.

    python bench/bench_full_int8.py --data ../shared/data/fer2013.csv.gz [--model model/default] [--calibration 1000]

Full-integer quantization needs sample inputs to fix each activation's range: ``--calibration`` training
images (never validation or test ones).
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
from common import host_header, median_ms

from emorec.core.classifier import Classifier
from emorec.core.preprocess import flip_pair, to_model_input
from emorec.network.files import load_keras_model, resolve_model_path, to_litert
from emorec.training.data import load_dataset


def accuracies(classifier, x, y):
    """(flip-TTA accuracy, plain accuracy) of ``classifier`` on the crops ``x``."""
    plain, mirrored = flip_pair(classifier.predict, x)
    return np.mean(((plain + mirrored) / 2).argmax(1) == y), np.mean(plain.argmax(1) == y)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="fer2013.csv(.gz)")
    p.add_argument("--model", help="model .h5 or folder (default: the shipped model)")
    p.add_argument("--calibration", type=int, default=1000, help="training images that set activation ranges")
    args = p.parse_args()
    model_path = resolve_model_path(args.model)
    dataset = load_dataset(args.data)
    x_train, _ = dataset.split("train")
    pick = np.random.default_rng(0).choice(len(x_train), args.calibration, replace=False)
    calibration = to_model_input(x_train[pick])
    shipped = Classifier(model_path, num_threads=2)
    export = Path(tempfile.mkdtemp()) / "full_int8.tflite"
    export.write_bytes(to_litert(load_keras_model(model_path), representative=calibration[:, None]))
    full = Classifier(model_path, num_threads=2, export=export)
    x_val, y_val = dataset.split("val")
    face = x_val[:1]
    pair = to_model_input(np.concatenate([face, face[:, :, ::-1]]))
    print(host_header(str(model_path)))
    print(f"model {model_path}; activation ranges from {args.calibration} training images")
    print("export                       per face (face + mirror, 2 threads)   PublicTest TTA   plain")
    for name, classifier in (("int8 weights (the app's)", shipped), ("full int8", full)):
        ms = median_ms(lambda: classifier.run(pair), repeat=300)
        tta, plain = accuracies(classifier, x_val, y_val)
        print(f"{name:28s} {ms:8.3f} ms {'':26s} {100 * tta:6.2f} %   {100 * plain:6.2f} %")


if __name__ == "__main__":
    main()
