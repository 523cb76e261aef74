"""FER+ votes (Microsoft's re-annotation of FER2013, ``fer2013new.csv``) as soft training targets.

Ten annotators voted per image; the votes for our seven classes, normalised, describe how ambiguous a
face is. :func:`soft_targets` mixes them into the one-hot FER2013 labels for training only
(validation and test keep the FER2013 labels, so reported figures stay comparable).
The file has no pixels: it lines up with the Kaggle ``fer2013.csv`` row by row, which is checked.
"""

import numpy as np
import pandas as pd

from emorec.common.errors import DataError, InputError
from emorec.common.labels import EMOTIONS, NUM_CLASSES, USAGE_TO_SPLIT

#: FER+ column for each of our classes, in :data:`labels.EMOTIONS` order (contempt, unknown, NF unused).
FERPLUS_COLUMNS = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness",
                   "sad": "sadness", "surprise": "surprise", "neutral": "neutral"}
#: Share of faces whose FER+ majority is their FER2013 label: ~0.64 when the rows line up, ~0.18 when not.
MIN_AGREEMENT = 0.4


#: FER+ columns outside our classes: a majority for one of these leaves a face out of the FER+ scores.
OTHER_COLUMNS = ("contempt", "unknown", "NF")


def load_votes(path, dataset, usage="Training"):
    """FER+ votes for ``dataset``'s split of ``usage`` (Training, PublicTest or PrivateTest): N×7 float32 vote
    counts in our class order.

    Raises :class:`data.DataError` when the file is unreadable or does not line up with the dataset.
    """
    return _votes(path, dataset, usage)[:, :NUM_CLASSES]


def majority_labels(path, dataset, usage="PrivateTest"):
    """The FER+ majority label of each face of ``usage`` (our class index), or -1 where most annotators chose
    none of our seven classes (contempt, unknown, not a face) or nobody voted; ties go to the first class in
    :data:`labels.EMOTIONS` order."""
    votes = _votes(path, dataset, usage)
    labels = votes.argmax(1)
    return np.where((labels < NUM_CLASSES) & (votes.sum(1) > 0), labels, -1)


def _votes(path, dataset, usage):
    """N×(7 + the other columns present) vote counts of ``usage``'s rows, checked to line up with ``dataset``."""
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"FER+ votes not found: {path}. Get fer2013new.csv from github.com/microsoft/FERPlus, "
                        "or leave out --ferplus.") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as e:
        raise DataError(f"{path} is not a readable CSV ({e}); expected FER+'s fer2013new.csv.") from None
    missing = [c for c in ("Usage", *FERPLUS_COLUMNS.values()) if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; expected FER+'s fer2013new.csv "
                        "(Usage, Image name, neutral, happiness, surprise, ...).")
    if dataset.skipped:
        raise DataError(f"--ferplus needs every row of {dataset.source} ({len(dataset.skipped)} were skipped as "
                        "bad): FER+ votes line up with the Kaggle CSV row by row.")
    y = dataset.split(USAGE_TO_SPLIT[usage])[1]
    rows = df[df["Usage"].astype(str).str.strip() == usage]
    if len(rows) != len(y):
        raise DataError(f"{path} has {len(rows):,} {usage} rows, {dataset.source} has {len(y):,}: FER+ votes only "
                        "fit the Kaggle fer2013.csv they were made for.")
    columns = [FERPLUS_COLUMNS[e] for e in EMOTIONS] + [c for c in OTHER_COLUMNS if c in df.columns]
    votes = rows[columns].to_numpy(np.float32)
    if np.isnan(votes).any() or (votes < 0).any():
        raise DataError(f"{path}: vote counts must be whole numbers ≥ 0.")
    ours = votes[:, :NUM_CLASSES]
    voted = ours.sum(1) > 0
    agreement = float(np.mean(ours[voted].argmax(1) == y[voted])) if voted.any() else 0.0
    if agreement < MIN_AGREEMENT:
        raise DataError(f"{path} does not line up with {dataset.source}: the FER+ majority matches the label of "
                        f"only {100 * agreement:.0f} % of {usage} faces (about 64 % when the rows correspond). "
                        "Use the original Kaggle fer2013.csv, rows in their original order.")
    return votes


def soft_targets(y, votes, weight):
    """(1 - weight) · one-hot(y) + weight · normalised votes; faces without votes for our 7 classes keep one-hot."""
    if not 0 <= weight <= 1:
        raise InputError(f"FER+ weight must be in [0, 1], got {weight}")
    onehot = np.eye(NUM_CLASSES, dtype=np.float32)[y]
    total = votes.sum(1, keepdims=True)
    dist = np.where(total > 0, votes / np.maximum(total, 1), onehot)
    return ((1 - weight) * onehot + weight * dist).astype(np.float32)
