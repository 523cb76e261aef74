"""Choose a model's input blur on its validation split and build it into the model file.

Every training image passes through random rotation, shift and zoom, and each of those resamples it
bilinearly, so a trained network has only ever seen slightly softened faces. Sharp crops at inference
are then a little outside what it learned. A light Gaussian blur before the network (σ of about half a
pixel) closes that gap: it raised the stage-2 model's PublicTest accuracy with flip TTA from 67.85 to
70.30 %, and the stage-3 model's from 68.93 to 70.91 %.

The best σ depends on the model, so it is measured, not assumed: each σ in :data:`SIGMAS` is scored on the
bare network through the same LiteRT runtime the recognizer uses, with the flip TTA it runs live. The best
one becomes part of the network (:func:`architectures.with_input_blur`: two fixed matrix products that equal
OpenCV's Gaussian blur), the ``.h5`` is rewritten and the choice recorded as ``input_blur`` in its metadata.
So the model file carries everything it needs and preprocessing has no σ to agree on. Training does this
on its validation split (PublicTest for the Kaggle CSV); never on the test split, which is kept for the
final report.
"""

import tempfile
from pathlib import Path

import numpy as np

from emorec.common.artifacts import atomic_path, file_sha256, metadata_path, now_iso, write_json
from emorec.common.errors import InputError, ModelError
from emorec.core.classifier import Classifier
from emorec.core.preprocess import flip_pair, to_model_input
from emorec.network.architectures import blur_matrix, with_input_blur, without_input_blur
from emorec.network.files import load_keras_model, load_metadata, resolve_model_path

#: The blurs tried, in pixels (0 = none).
SIGMAS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)


def accuracy_by_sigma(network, x, y, sigmas=SIGMAS, batch_size=256):
    """{σ: {"plain": accuracy, "tta": accuracy with the horizontal flip}}; ``network(tensor)`` maps an
    N×48×48×1 float32 tensor to N×7 probabilities (e.g. :meth:`classifier.Classifier.run` of a bare network).
    Each σ blurs with :func:`architectures.blur_matrix`, exactly as the built-in blur will."""
    table = {}
    for sigma in sigmas:
        m = blur_matrix(sigma)

        def classify(crops):
            return network((m @ to_model_input(crops)[..., 0] @ m.T)[..., None])
        plain, tta = [], []
        for i in range(0, len(x), batch_size):
            p, mirrored = flip_pair(classify, x[i:i + batch_size])   # one call gives both figures
            plain.append(p)
            tta.append((p + mirrored) / 2)
        table[float(sigma)] = {"plain": float(np.mean(np.concatenate(plain).argmax(1) == y)),
                               "tta": float(np.mean(np.concatenate(tta).argmax(1) == y))}
    return table


def best_sigma(table):
    """The σ with the best TTA accuracy (what runs live); ties go to the smaller blur."""
    return max(table, key=lambda s: (table[s]["tta"], -s))


def calibrate(model_path, dataset, split="val", sigmas=SIGMAS):
    """Score each σ on ``split`` with the bare network, build the best into the model file (replacing any blur
    it had), record it in the model's metadata and return that record."""
    if split == "test":
        raise InputError("the test split is kept for the final report; calibrate on 'val'")
    model_path = resolve_model_path(model_path)
    x, y = dataset.split(split)
    if len(y) == 0:
        raise ModelError(f"{dataset.source} has no {split} images to choose the input blur on.")
    meta = load_metadata(model_path)
    bare = without_input_blur(load_keras_model(model_path))
    with tempfile.TemporaryDirectory() as tmp:   # the bare network's own LiteRT export, to score on
        bare_path = Path(tmp) / "emotion_cnn.h5"
        bare.save(bare_path)
        # (a test accuracy that an older version wrote is dropped: `main.py evaluate` reports the model's)
        plain_meta = {k: v for k, v in meta.items() if k not in ("input_blur", "inference", "test_accuracy")}
        write_json(metadata_path(bare_path), plain_meta)
        table = accuracy_by_sigma(Classifier(bare_path).run, x, y, sigmas)
    sigma = best_sigma(table)
    record = {"sigma": sigma, "in_network": True,
              "chosen_on": f"{split} split of {dataset.source} ({len(y)} images)",
              "chosen_by": "accuracy with horizontal-flip TTA through LiteRT", "date": now_iso(),
              "accuracy_by_sigma": {str(s): v for s, v in table.items()}}
    with atomic_path(model_path) as tmp:
        with_input_blur(bare, sigma).save(tmp)
    record["model_sha256"] = file_sha256(model_path)   # the file this record describes (see train.write_metadata)
    write_json(metadata_path(model_path), {**plain_meta, "input_blur": record})
    _drop_export(model_path)   # stale; the next Classifier exports the new file
    return record


def _drop_export(model_path):
    for suffix in (".tflite", ".tflite.json"):
        Path(model_path).with_suffix(suffix).unlink(missing_ok=True)


def describe(record):
    """A few lines for the console: the table and the choice."""
    lines = ["validation accuracy by input blur, through the LiteRT export the app runs (int8 weights; the "
             "training log's figure is the float model's)",
             "input blur σ | accuracy | with flip TTA"]
    for s, v in record["accuracy_by_sigma"].items():
        mark = "  <- chosen, built into the model" if float(s) == record["sigma"] else ""
        lines.append(f"  {float(s):4.2f}       | {100 * v['plain']:6.2f} % | {100 * v['tta']:6.2f} %{mark}")
    return "\n".join(lines)

