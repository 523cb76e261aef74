"""A run's training targets: one-hot labels, mixed with FER+ votes (``--ferplus``) and with a teacher's softened
probabilities (``--teacher``, distillation); the class weights of ``--class-weight balanced``."""

import logging

import numpy as np

from emorec.common.errors import ModelError, TrainingError
from emorec.common.labels import NUM_CLASSES
from emorec.core.classifier import Classifier
from emorec.training.config import TrainConfig
from emorec.training.data import Dataset
from emorec.training.ferplus import load_votes, soft_targets

log = logging.getLogger(__name__)


def class_weights(y: np.ndarray, mode: str) -> dict[int, float] | None:
    """``"balanced"`` -> {class: n / (7 · count)} (Disgust, the rarest, gets ~9×); ``"none"`` -> None."""
    if mode == "none":
        return None
    if mode != "balanced":
        raise TrainingError(f"unknown class weighting {mode!r}; use 'none' or 'balanced'")
    counts = np.bincount(y, minlength=NUM_CLASSES).astype(float)
    return {c: float(len(y) / (NUM_CLASSES * n)) if n else 0.0 for c, n in enumerate(counts)}


def one_hot(y: np.ndarray) -> np.ndarray:
    """N labels -> N×7 float32 one-hot rows."""
    return np.eye(NUM_CLASSES, dtype=np.float32)[y]


def training_targets(config: TrainConfig, dataset: Dataset) -> np.ndarray:
    """One-hot labels, or with ``config.ferplus`` the FER2013 label mixed with the FER+ vote shares; with
    ``config.teacher`` either of those mixed with the teacher's softened probabilities (:func:`teacher_targets`)."""
    x, y = dataset.split("train")
    targets = one_hot(y)
    if config.ferplus:
        log.info(f"training targets: {1 - config.ferplus_weight:.2f} × FER2013 label + "
              f"{config.ferplus_weight:.2f} × FER+ votes ({config.ferplus})")
        targets = soft_targets(y, load_votes(config.ferplus, dataset), config.ferplus_weight)
    if config.teacher:
        w = config.teacher_weight
        base = "targets above" if config.ferplus else "FER2013 labels"
        log.info(f"distilling: {1 - w:.2f} × the {base} + {w:.2f} × the teacher's probabilities at "
                 f"temperature {config.teacher_temperature:g} ({config.teacher})")
        targets = ((1 - w) * targets + w * teacher_targets(config.teacher, x, config.teacher_temperature))
    return targets.astype(np.float32)


def teacher_targets(teacher: str, x: np.ndarray, temperature: float) -> np.ndarray:
    """The teacher model's probabilities for the N×48×48 uint8 training images (each face averaged with its
    mirror, through the model's LiteRT export and its input blur, as the app runs it), softened: p^(1/T),
    renormalised. Computed once per run, and again on a resume (the same numbers unless the teacher has changed
    since: the run then warns, see train.prepare)."""
    try:
        classifier = Classifier(teacher)
    except ModelError as e:
        raise TrainingError(f"--teacher: {e}") from None
    probs = classifier.predict(x, tta=True).astype(np.float64)
    soft = np.power(np.clip(probs, 1e-12, 1.0), 1.0 / temperature)
    return (soft / soft.sum(axis=1, keepdims=True)).astype(np.float32)
