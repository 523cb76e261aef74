"""Evaluation: accuracy, per-class precision/recall/F1 and confusion matrices, as Markdown, JSON and PNG."""

from pathlib import Path

import numpy as np

from emorec.common.artifacts import now_iso, save_figure, write_json, write_text
from emorec.common.labels import EMOTIONS, NUM_CLASSES, SPLIT_TO_USAGE
from emorec.core.classifier import Classifier
from emorec.core.preprocess import flip_pair
from emorec.network.files import resolve_model_path
from emorec.training.ferplus import majority_labels


def confusion(y_true, y_pred):
    """7×7 counts; rows are true classes, columns predictions."""
    return np.bincount(y_true * NUM_CLASSES + y_pred, minlength=NUM_CLASSES ** 2).reshape(NUM_CLASSES, NUM_CLASSES)


def per_class(cm):
    """Per-class precision, recall, F1 and support from a confusion matrix (0 where undefined)."""
    tp = np.diag(cm).astype(float)
    predicted, actual = cm.sum(0).astype(float), cm.sum(1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=precision + recall > 0)
    return {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(EMOTIONS, precision, recall, f1, actual)}


def confidence_figures(probs, y, bins=10):
    """Negative log-likelihood, expected calibration error (|accuracy − confidence| over 10 confidence bins,
    weighted by their share of faces), mean confidence and accuracy."""
    confidence, right = probs.max(axis=1), probs.argmax(axis=1) == y
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    ece = sum(abs(right[which == b].mean() - confidence[which == b].mean()) * np.mean(which == b)
              for b in range(bins) if np.any(which == b))
    return {"nll": float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)))), "ece": float(ece),
            "mean_confidence": float(confidence.mean()), "accuracy": float(right.mean())}


def score(y_true, probs):
    """Accuracy, macro F1, per-class figures, the confusion matrix and how honest the probabilities are
    (``calibration``: :func:`confidence_figures`) for N×7 probabilities."""
    y_pred = probs.argmax(1)
    cm = confusion(y_true, y_pred)
    classes = per_class(cm)
    present = [c["recall"] for c in classes.values() if c["support"]]
    return {"accuracy": float(np.mean(y_pred == y_true)),
            "macro_f1": float(np.mean([c["f1"] for c in classes.values()])),
            "balanced_accuracy": float(np.mean(present)) if present else 0.0,
            "n": int(len(y_true)), "per_class": classes, "confusion": cm.tolist(),
            **({"calibration": confidence_figures(probs, y_true)} if len(y_true) else {})}


def plot_confusion(cm, path, title):
    """Counts and row-normalised confusion matrices side by side."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cm = np.asarray(cm)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, data, fmt, sub in ((axes[0], cm, "d", "counts"), (axes[1], norm, ".2f", "row-normalised (recall)")):
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(NUM_CLASSES), EMOTIONS, rotation=45, ha="right")
        ax.set_yticks(range(NUM_CLASSES), EMOTIONS)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(sub)
        for i in range(NUM_CLASSES):
            for j in range(NUM_CLASSES):
                ax.text(j, i, format(data[i, j], fmt), ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.5 else "black")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)


def _score_rows(section):
    """Table rows (accuracy, macro F1, balanced accuracy) for the runs in ``section``: plain, and TTA if scored."""
    return [f"| {name} | {100 * section[key]['accuracy']:.2f} % | {section[key]['macro_f1']:.3f} | "
            f"{100 * section[key]['balanced_accuracy']:.2f} % |"
            for key, name in (("plain", "plain"), ("tta", "horizontal-flip TTA")) if key in section]


def _blur_text(blur):
    if isinstance(blur, list):
        return "the members' input blurs σ = " + ", ".join(f"{b:g}" for b in blur)
    return f"the network's input blur σ = {blur:g}"


def calibration_text(report):
    """One sentence on how honest the probabilities are (those of the TTA run if scored), or "" for an old report."""
    key = "tta" if "tta" in report else "plain"
    c = report[key].get("calibration")
    if not c:
        return ""
    return (f"probabilities{' with flip TTA' if key == 'tta' else ''}: mean confidence "
            f"{100 * c['mean_confidence']:.1f} % at {100 * c['accuracy']:.2f} % accuracy, calibration error "
            f"{100 * c['ece']:.1f} points (10 bins), negative log-likelihood {c['nll']:.3f}")


def markdown(report):
    lines = [f"# Evaluation: {report['model']}", "",
             f"Data: `{report['data']}`, split **{report['split']}** ({report['plain']['n']} images), "
             f"{report['date']}.",
             f"Runtime: {report['runtime']}; " + _blur_text(report['input_blur']) + ".",
             "",
             "| run | accuracy | macro F1 | balanced accuracy (mean recall) |", "|---|---|---|---|"]
    lines += _score_rows(report)
    calibration = calibration_text(report)
    if calibration:
        lines += ["", calibration[0].upper() + calibration[1:] + "."]
    if "ferplus" in report:
        fp = report["ferplus"]
        lines += ["", f"Against the FER+ majority labels ({fp['kept']} faces; {fp['left_out']} left out whose "
                      "majority was contempt, unknown or not a face):", "",
                  "| run | accuracy | macro F1 | balanced accuracy |", "|---|---|---|---|"]
        lines += _score_rows(fp)
    lines += ["", "Per class (plain):", "", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name, c in report["plain"]["per_class"].items():
        lines.append(f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    lines += ["", "Confusion matrix (plain; rows true, columns predicted):", "",
              "| | " + " | ".join(EMOTIONS) + " |", "|---" * (NUM_CLASSES + 1) + "|"]
    for name, row in zip(EMOTIONS, report["plain"]["confusion"]):
        lines.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
    lines += ["", f"![confusion matrix]({Path(report['files']['confusion_png']).name})", ""]
    return "\n".join(lines)


def _ferplus_majority(ferplus, dataset, split):
    return majority_labels(ferplus, dataset, SPLIT_TO_USAGE[split])


def _runtime(classifier):
    """The report's ``runtime`` and ``input_blur`` (a list, one per member, for an ensemble)."""
    members = getattr(classifier, "members", [None])
    if len(members) == 1:
        return {"runtime": "LiteRT (TFLite export of the .h5)", "input_blur": classifier.input_blur}
    t = getattr(classifier, "temperature", 1.0)
    tempered = f", then tempered at T = {t:g} (calibrate --temperature)" if t != 1.0 else ""
    return {"runtime": f"LiteRT (TFLite exports of the {len(members)} members, probabilities averaged{tempered})",
            "members": [str(m) for m in members], "input_blur": list(classifier.input_blurs)}


def evaluate(model_path, dataset, split="test", out_dir=None, tta=False, classifier=None, ferplus=None):
    """Score a model on one split of a dataset; write ``eval_<split>.{md,json}`` and
    ``confusion_<split>.png`` into ``out_dir`` (default: the model's folder). Returns the report dict.
    ``ferplus``: FER+ votes (fer2013new.csv, Kaggle CSV data): also score against the FER+ majority labels,
    cleaner than FER2013's, on the faces whose majority is one of our classes."""
    model_path = resolve_model_path(model_path)
    classifier = classifier or Classifier(model_path)
    x, y = dataset.split(split)
    out_dir = Path(out_dir) if out_dir else model_path.parent
    majority = _ferplus_majority(ferplus, dataset, split) if ferplus else None   # a bad votes file fails first
    if tta:       # one pass over the faces and their mirror images gives both
        plain, mirrored = flip_pair(classifier.predict, x)
        probs = {"plain": plain, "tta": (plain + mirrored) / 2}
    else:
        probs = {"plain": classifier.predict(x)}
    report = {"model": str(model_path), "data": dataset.source, "data_sha256": dataset.sha256, "split": split,
              **_runtime(classifier), "date": now_iso(),
              **{key: score(y, p) for key, p in probs.items()}}
    if majority is not None:
        kept = majority >= 0
        report["ferplus"] = {"votes": str(ferplus), "kept": int(kept.sum()), "left_out": int((~kept).sum())}
        for key, p in probs.items():
            report["ferplus"][key] = score(majority[kept], p[kept])
    report["files"] = {k: str(out_dir / f"{stem}_{split}.{ext}") for k, stem, ext in
                       (("markdown", "eval", "md"), ("json", "eval", "json"), ("confusion_png", "confusion", "png"))}
    plot_confusion(report["plain"]["confusion"], report["files"]["confusion_png"],
                   f"{model_path.name} on {split}: accuracy {100 * report['plain']['accuracy']:.2f} %")
    write_json(report["files"]["json"], report)
    write_text(report["files"]["markdown"], markdown(report))
    return report
