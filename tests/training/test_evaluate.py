import json

import numpy as np

from emorec.common.labels import EMOTIONS
from emorec.training.data import load_csv
from emorec.training.evaluate import confusion, evaluate, per_class, score
from tests.helpers import csv_rows, write_csv


def test_confusion_and_per_class_figures():
    y_true = np.array([0, 0, 1, 1, 3, 3])
    y_pred = np.array([0, 1, 1, 1, 3, 0])
    cm = confusion(y_true, y_pred)
    assert cm[0, 0] == 1 and cm[0, 1] == 1 and cm[1, 1] == 2 and cm[3, 0] == 1 and cm.sum() == 6
    pc = per_class(cm)
    assert pc["angry"]["precision"] == 0.5 and pc["angry"]["recall"] == 0.5
    assert pc["disgust"]["precision"] == 2 / 3 and pc["disgust"]["recall"] == 1.0
    assert pc["fear"]["f1"] == 0 and pc["fear"]["support"] == 0


def test_score_accuracy():
    probs = np.eye(7)[[0, 1, 2, 2]]
    assert score(np.array([0, 1, 2, 3]), probs)["accuracy"] == 0.75


def test_evaluate_writes_markdown_json_and_png(tiny_model, tmp_path):
    rows, _ = csv_rows(["Training", "PrivateTest"])
    ds = load_csv(write_csv(tmp_path / "d.csv", rows), use_cache=False)
    report = evaluate(tiny_model, ds, split="test", out_dir=tmp_path / "rep", tta=True)
    md = (tmp_path / "rep" / "eval_test.md").read_text()
    saved = json.loads((tmp_path / "rep" / "eval_test.json").read_text())
    assert (tmp_path / "rep" / "confusion_test.png").stat().st_size > 1000
    assert saved["plain"]["n"] == 7 and set(saved["plain"]["per_class"]) == set(EMOTIONS)
    assert "tta" in saved and saved["plain"]["accuracy"] == report["plain"]["accuracy"]
    assert "horizontal-flip TTA" in md and "| happy |" in md and "precision" in md
    assert saved["input_blur"] == report["input_blur"] and "input blur σ" in md


class FixedAnswers:
    """A classifier stand-in whose answers are known in advance: face i gets the label ``answers[i]``."""
    input_blur = 0.0

    def __init__(self, answers):
        self.answers = np.asarray(answers)

    def predict(self, faces, tta=False):
        assert len(faces) == len(self.answers)
        return np.eye(7, dtype=np.float32)[self.answers]


def test_evaluate_accuracy_and_recall_match_a_hand_count(tiny_model, tmp_path):
    rows, _ = csv_rows(["Training", "PrivateTest", "PrivateTest"])      # test: labels 0..6, 0..6
    ds = load_csv(write_csv(tmp_path / "d.csv", rows), use_cache=False)
    answers = [0, 1, 2, 3, 4, 5, 6,      # all 7 right
               0, 0, 0, 3, 3, 3, 3]      # right: 0 (angry) and 3 (happy) only
    report = evaluate(tiny_model, ds, split="test", out_dir=tmp_path / "rep", classifier=FixedAnswers(answers))
    assert report["plain"]["accuracy"] == 9 / 14 and report["plain"]["n"] == 14
    per = report["plain"]["per_class"]
    assert per["angry"]["recall"] == 1.0 and per["angry"]["precision"] == 2 / 4
    assert per["disgust"]["recall"] == 0.5 and per["happy"]["precision"] == 2 / 5
    assert report["plain"]["confusion"][1] == [1, 1, 0, 0, 0, 0, 0]
    calibration = report["plain"]["calibration"]      # certain of every answer, right on 9 of 14
    assert calibration["mean_confidence"] == 1.0 and abs(calibration["ece"] - 5 / 14) < 1e-9
    assert "calibration error 35.7 points" in (tmp_path / "rep" / "eval_test.md").read_text()
