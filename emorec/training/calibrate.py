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

:func:`calibrate_temperature` (``main.py calibrate --temperature``) makes the probabilities honest: a network
distilled from a teacher at temperature 2 with label smoothing is under-confident (``model/fast``: 50 % mean
confidence at 69 % accuracy). It picks the softmax temperature T that minimises the negative log-likelihood
of the flip-TTA probabilities on the validation split (temperature scaling, Guo et al. 2017) and divides the
last layer's weights by T, so the file's logits are z / T: the label of a single pass is unchanged, the
bars and confidences mean what they say. An ensemble keeps its T in ``ensemble.json``: the classifier tempers
the members' mean probabilities with it (:func:`emorec.core.classifier.tempered`), so no member changes.
"""

import tempfile
from pathlib import Path

import numpy as np

from emorec.common.artifacts import atomic_path, file_sha256, metadata_path, now_iso, write_json
from emorec.common.errors import InputError, ModelError
from emorec.core.classifier import Classifier, recorded_temperature, tempered
from emorec.core.preprocess import flip_pair, to_model_input
from emorec.network.architectures import blur_matrix, with_input_blur, without_input_blur
from emorec.network.files import (
    ensemble_members,
    is_ensemble,
    load_keras_model,
    load_metadata,
    resolve_model_path,
)
from emorec.training.evaluate import confidence_figures

#: The blurs tried, in pixels (0 = none).
SIGMAS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
#: The softmax temperatures tried (below 1 sharpens the probabilities, above 1 softens them).
TEMPERATURES = tuple(round(0.3 + 0.05 * i, 2) for i in range(35))       # 0.30 .. 2.00


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


def _choosing_on(model_path, dataset, split, what):
    """The model file, the images and labels of ``split`` (never the test split, nor an empty one) and the
    model's metadata: what each calibration starts from."""
    if split == "test":
        raise InputError("the test split is kept for the final report; calibrate on 'val'")
    model_path = resolve_model_path(model_path)
    x, y = dataset.split(split)
    if len(y) == 0:
        raise ModelError(f"{dataset.source} has no {split} images to choose {what} on.")
    return model_path, x, y, load_metadata(model_path)


def without_blur_record(meta):
    """A model's metadata less what describes its input blur (and a test accuracy that an older version wrote:
    `main.py evaluate` reports the model's), for a network whose blur is about to be chosen again."""
    return {k: v for k, v in meta.items() if k not in ("input_blur", "inference", "test_accuracy")}


def calibrate(model_path, dataset, split="val", sigmas=SIGMAS):
    """Score each σ on ``split`` with the bare network, build the best into the model file (replacing any blur
    it had), record it in the model's metadata and return that record."""
    model_path, x, y, meta = _choosing_on(model_path, dataset, split, "the input blur")
    bare = without_input_blur(load_keras_model(model_path))
    with tempfile.TemporaryDirectory() as tmp:   # the bare network's own LiteRT export, to score on
        bare_path = Path(tmp) / "emotion_cnn.h5"
        bare.save(bare_path)
        plain_meta = without_blur_record(meta)
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
    if isinstance(plain_meta.get("temperature"), dict):   # still in the last layer, but fitted under the old blur
        plain_meta["temperature"] = {**plain_meta["temperature"], "model_sha256": record["model_sha256"],
                                     "refit": "the input blur was chosen again after this temperature: run "
                                              "`calibrate --temperature` again to refit it"}
    write_json(metadata_path(model_path), {**plain_meta, "input_blur": record})
    _drop_export(model_path)   # stale; the next Classifier exports the new file
    return record


def temperature_table(plain, mirrored, y, temperatures=TEMPERATURES):
    """{T: confidence_figures of flip TTA (the tempered face and mirror averaged), as the app runs it}."""
    return {t: confidence_figures((tempered(plain, t) + tempered(mirrored, t)) / 2, y) for t in temperatures}


def output_layer(model):
    """The network's softmax layer (a Dense inside it, nested models included)."""
    import keras
    found = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Dense)
             and getattr(layer.activation, "__name__", "") == "softmax"]
    if len(found) != 1:
        raise ModelError(f"the model has {len(found)} softmax Dense layers, not one: its temperature cannot be set")
    return found[0]


def calibrate_temperature(model_path, dataset, split="val", temperatures=TEMPERATURES):
    """Choose the temperature on ``split`` (lowest NLL with flip TTA, through LiteRT), record it in the metadata
    as ``temperature`` (the total, if it had one) and return that record. A single network gets it built into
    its last layer; an ensemble's manifest keeps it, and the classifier tempers the members' mean with it."""
    model_path, x, y, meta = _choosing_on(model_path, dataset, split, "the temperature")
    before = recorded_temperature(meta, metadata_path(model_path))
    ensemble = is_ensemble(model_path)
    if not ensemble:                 # a network without one softmax layer is refused before the scoring
        model = load_keras_model(model_path)
        layer = output_layer(model)
    plain, mirrored = flip_pair(Classifier(model_path).predict, x)
    table = temperature_table(plain, mirrored, y, sorted({*temperatures, 1.0}))    # 1.0: as it is, never worse
    t = min(table, key=lambda k: (table[k]["nll"], abs(k - 1)))
    record = {"t": round(before * t, 4), "this_step": t, "applied_to": "the members' mean probabilities"
              if ensemble else "the last layer's weights", "chosen_on": f"{split} split of {dataset.source} "
              f"({len(y)} images)", "chosen_by": "lowest negative log-likelihood with horizontal-flip TTA through "
              "LiteRT", "date": now_iso(), "before": confidence_figures((plain + mirrored) / 2, y), "after": table[t]}
    if ensemble:
        record["members_sha256"] = [file_sha256(m) for m in ensemble_members(model_path)]
        combine = "mean of the members' probabilities" + (f", tempered at T = {record['t']:g}" if record["t"] != 1
                                                          else "")
        write_json(model_path, {**meta, "combine": combine, "temperature": record})
        return record
    blur_was_this_file = isinstance(meta.get("input_blur"), dict) \
        and meta["input_blur"].get("model_sha256") == file_sha256(model_path)
    if t != 1.0:
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel / t, bias / t])
        with atomic_path(model_path) as tmp:
            model.save(tmp)
    record["model_sha256"] = file_sha256(model_path)
    if blur_was_this_file:                             # still this file's blur: only the last layer changed
        meta["input_blur"]["model_sha256"] = record["model_sha256"]
    write_json(metadata_path(model_path), {**meta, "temperature": record})
    if t != 1.0:
        _drop_export(model_path)
    return record


def describe_temperature(record):
    """Two lines for the console: before and after."""
    b, a = record["before"], record["after"]
    return (f"flip-TTA probabilities on the validation split: negative log-likelihood {b['nll']:.4f} -> "
            f"{a['nll']:.4f}, "
            f"calibration error {100 * b['ece']:.1f} -> {100 * a['ece']:.1f} points, mean confidence "
            f"{100 * b['mean_confidence']:.1f} -> {100 * a['mean_confidence']:.1f} % (accuracy "
            f"{100 * b['accuracy']:.2f} -> {100 * a['accuracy']:.2f} %)\n"
            f"temperature {record['this_step']:g} applied to {record.get('applied_to', 'the last layer')} "
            f"(in all: {record['t']:g})")


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

