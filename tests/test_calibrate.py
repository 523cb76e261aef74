import json
import shutil

import numpy as np
import pytest

from conftest import csv_rows, write_csv
from emorec.calibrate import SIGMAS, accuracy_by_sigma, best_sigma, calibrate, describe
from emorec.classifier import Classifier
from emorec.data import load_csv


class BlurSensitive:
    """Right on every face only when its blur is 0.6 (the sigma calibration should find)."""

    def __init__(self, y):
        self.y, self.blur_sigma, self.seen = y, 0.25, []

    def predict(self, faces, tta=False):
        self.seen.append(self.blur_sigma)
        labels = self.y if self.blur_sigma == 0.6 else (self.y + 1) % 7
        return np.eye(7, dtype=np.float32)[labels]


def test_the_sigma_with_the_best_tta_accuracy_is_chosen_and_the_classifier_restored():
    y = np.arange(14) % 7
    clf = BlurSensitive(y)
    table = accuracy_by_sigma(clf, np.zeros((14, 48, 48), np.uint8), y)
    assert set(table) == set(SIGMAS) and best_sigma(table) == 0.6
    assert table[0.6] == {"plain": 1.0, "tta": 1.0} and table[0.0]["tta"] == 0.0
    assert clf.blur_sigma == 0.25 and set(clf.seen) == set(SIGMAS)


def test_ties_go_to_the_smaller_blur():
    table = {0.0: {"plain": 0.5, "tta": 0.6}, 0.5: {"plain": 0.7, "tta": 0.7}, 0.8: {"plain": 0.6, "tta": 0.7}}
    assert best_sigma(table) == 0.5


@pytest.fixture
def run_copy(tiny_model, tmp_path):
    for f in tiny_model.parent.glob("emotion_cnn.*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "emotion_cnn.h5"


def test_training_calibrates_and_calibrate_rewrites_the_metadata(run_copy, tmp_path):
    trained = json.loads(run_copy.with_suffix(".json").read_text())
    assert trained["inference"]["blur_sigma"] in SIGMAS          # a completed run chose its blur
    rows, _ = csv_rows(["Training", "PublicTest", "PrivateTest"], seed=3)
    dataset = load_csv(write_csv(tmp_path / "d.csv", rows), use_cache=False)
    record = calibrate(run_copy, dataset)
    meta = json.loads(run_copy.with_suffix(".json").read_text())
    assert meta["inference"] == record and len(record["accuracy_by_sigma"]) == len(SIGMAS)
    assert "val split" in record["chosen_on"] and meta["classes"] == trained["classes"]
    assert Classifier(run_copy).blur_sigma == record["blur_sigma"]
    assert "<- chosen" in describe(record)
    with pytest.raises(ValueError, match="final report"):
        calibrate(run_copy, dataset, split="test")
