import json
import shutil

import numpy as np
import pytest

from emorec.common.errors import ModelError
from emorec.core.classifier import Classifier
from emorec.training.calibrate import SIGMAS, accuracy_by_sigma, best_sigma, calibrate, describe
from emorec.training.data import load_csv
from tests.helpers import csv_rows, write_csv


class BlurSensitive:
    """A network that is right on every face only when its input was blurred with σ 0.6 (the σ calibration
    should find). Face i is black but for one pixel at row 3 + 6·label, column 24; the blur sets that pixel's
    value, which tells the network the σ, and its row tells it the label (a mirror keeps the row)."""

    def __init__(self):
        from emorec.network.architectures import blur_matrix
        m = blur_matrix(0.6)
        self.peak_at_06 = 255 * m[21, 21] * m[24, 24]

    def __call__(self, x):
        rows = x[..., 0].max(axis=2).argmax(axis=1)
        labels = (rows - 3) // 6
        right = np.isclose(x[..., 0].max(axis=(1, 2)), self.peak_at_06, rtol=1e-3)
        return np.eye(7, dtype=np.float32)[np.where(right, labels, (labels + 1) % 7)]


def test_the_sigma_with_the_best_tta_accuracy_is_chosen():
    y = np.arange(14) % 7
    faces = np.zeros((14, 48, 48), np.uint8)
    faces[np.arange(14), 3 + 6 * y, 24] = 255
    table = accuracy_by_sigma(BlurSensitive(), faces, y)
    assert set(table) == set(SIGMAS) and best_sigma(table) == 0.6
    assert table[0.6] == {"plain": 1.0, "tta": 1.0} and table[0.0]["tta"] == 0.0


def test_ties_go_to_the_smaller_blur():
    table = {0.0: {"plain": 0.5, "tta": 0.6}, 0.5: {"plain": 0.7, "tta": 0.7}, 0.8: {"plain": 0.6, "tta": 0.7}}
    assert best_sigma(table) == 0.5


@pytest.fixture
def run_copy(tiny_model, tmp_path):
    for f in tiny_model.parent.glob("emotion_cnn.*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "emotion_cnn.h5"


def test_training_calibrates_and_calibrate_builds_the_blur_into_the_model(run_copy, tmp_path):
    import keras
    trained = json.loads(run_copy.with_suffix(".json").read_text())
    assert trained["input_blur"]["sigma"] in SIGMAS and "inference" not in trained   # a completed run chose its blur
    rows, _ = csv_rows(["Training", "PublicTest", "PrivateTest"], seed=3)
    dataset = load_csv(write_csv(tmp_path / "d.csv", rows), use_cache=False)
    record = calibrate(run_copy, dataset, sigmas=(0.0, 0.6))
    meta = json.loads(run_copy.with_suffix(".json").read_text())
    assert meta["input_blur"] == record and len(record["accuracy_by_sigma"]) == 2
    assert "val split" in record["chosen_on"] and meta["classes"] == trained["classes"]
    assert Classifier(run_copy).input_blur == record["sigma"]
    layers = {la.name for la in keras.models.load_model(run_copy, compile=False).layers}
    assert ("input_blur_rows" in layers) == (record["sigma"] > 0)
    assert calibrate(run_copy, dataset, sigmas=(0.0, 0.6))["accuracy_by_sigma"] == record["accuracy_by_sigma"]
    assert "<- chosen" in describe(record)
    with pytest.raises(ValueError, match="final report"):
        calibrate(run_copy, dataset, split="test")


def test_an_under_confident_model_gets_the_temperature_that_undoes_its_softening():
    from emorec.training.calibrate import temperature_table, tempered
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (4000, 7))
    honest = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(7, p=p) for p in honest])          # labels drawn from the honest probabilities
    soft = tempered(honest, 2.0)                                  # what a network distilled at T = 2 might say
    assert np.allclose(tempered(honest, 1.0), honest)
    table = temperature_table(soft, soft, y)
    best = min(table, key=lambda t: table[t]["nll"])
    assert 0.4 <= best <= 0.6 and table[best]["ece"] < table[1.0]["ece"]
    assert {v["accuracy"] for v in table.values()} == {table[1.0]["accuracy"]}    # labels never change


def test_calibrate_temperature_builds_it_into_the_last_layer_and_keeps_the_labels(run_copy, tmp_path):
    from emorec.training.calibrate import calibrate_temperature, describe_temperature, tempered
    from emorec.training.train import _input_blur_of
    rows, _ = csv_rows(["Training", "PublicTest", "PrivateTest"], seed=3)
    dataset = load_csv(write_csv(tmp_path / "d.csv", rows), use_cache=False)
    x, _ = dataset.split("val")
    before = Classifier(run_copy).predict(x)
    record = calibrate_temperature(run_copy, dataset, temperatures=(0.5, 2.0))       # either changes the file
    meta = json.loads(run_copy.with_suffix(".json").read_text())
    assert meta["temperature"] == record and record["t"] == record["this_step"] in (0.5, 1.0, 2.0)
    assert record["after"]["nll"] <= record["before"]["nll"]
    assert _input_blur_of(run_copy) == meta["input_blur"]          # the blur record still names this file
    after = Classifier(run_copy).predict(x)                          # a fresh export of the rewritten file
    assert (after.argmax(1) == before.argmax(1)).all()
    assert np.allclose(after, tempered(before, record["t"]), atol=0.02)   # int8 weights
    assert "applied to the last layer's weights" in describe_temperature(record)
    with pytest.raises(ValueError, match="final report"):
        calibrate_temperature(run_copy, dataset, split="test")
    meta = json.loads(run_copy.with_suffix(".json").read_text())
    for bad in (0.5, {"t": "cold"}, [1]):                              # a hand-edited record: one clear error
        run_copy.with_suffix(".json").write_text(json.dumps({**meta, "temperature": bad}))
        with pytest.raises(ModelError, match='"temperature" must be'):
            calibrate_temperature(run_copy, dataset)
