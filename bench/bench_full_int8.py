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

from common import median_ms

from emorec.classifier import Classifier, load_keras_model, resolve_model_path
from emorec.data import load_dataset
from emorec.preprocess import to_model_input


def full_int8_export(model_path, calibration):
    import tensorflow as tf
    converter = tf.lite.TFLiteConverter.from_keras_model(load_keras_model(model_path))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None]] for x in calibration)
    return converter.convert()


class Runner:
    """A LiteRT interpreter over a flatbuffer, called like :class:`emorec.classifier.Classifier`'s ``run``."""

    def __init__(self, flatbuffer, threads=2):
        from ai_edge_litert.interpreter import Interpreter
        self.path = Path(tempfile.mkdtemp()) / "model.tflite"
        self.path.write_bytes(flatbuffer)
        self.interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
        self.inp = self.interpreter.get_input_details()[0]["index"]
        self.out = self.interpreter.get_output_details()[0]["index"]
        self.batch = None

    def __call__(self, x):
        if self.batch != len(x):
            self.interpreter.resize_tensor_input(self.inp, x.shape)
            self.interpreter.allocate_tensors()
            self.batch = len(x)
        self.interpreter.set_tensor(self.inp, x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.out).copy()


def tta_accuracy(run, x, y, batch=256):
    """Flip-TTA accuracy, plain accuracy."""
    plain, tta = [], []
    for i in range(0, len(x), batch):
        part = x[i:i + batch]
        both = run(to_model_input(np.concatenate([part, part[:, :, ::-1]])))
        p, m = both[:len(part)], both[len(part):]
        plain.append(p)
        tta.append((p + m) / 2)
    return np.mean(np.concatenate(tta).argmax(1) == y), np.mean(np.concatenate(plain).argmax(1) == y)


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
    full = Runner(full_int8_export(model_path, calibration))
    x_val, y_val = dataset.split("val")
    face = x_val[:1]
    pair = to_model_input(np.concatenate([face, face[:, :, ::-1]]))
    print(f"model {model_path}; activation ranges from {args.calibration} training images")
    print("export                       per face (face + mirror, 2 threads)   PublicTest TTA   plain")
    for name, run in (("int8 weights (the app's)", shipped.run), ("full int8", full)):
        ms = median_ms(lambda: run(pair), repeat=300)
        tta, plain = tta_accuracy(run, x_val, y_val)
        print(f"{name:28s} {ms:8.3f} ms {'':26s} {100 * tta:6.2f} %   {100 * plain:6.2f} %")


if __name__ == "__main__":
    main()
