"""bench/model_soup.py: the networks behind the models' input blurs are averaged with the given shares; the soup
keeps a blur the models share, and otherwise has its own chosen on the validation split."""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from emorec.network.architectures import with_input_blur, without_input_blur
from emorec.network.files import load_keras_model
from tests.helpers import csv_rows, write_csv

ROOT = Path(__file__).resolve().parents[2]


def soup(monkeypatch, *argv):
    spec = importlib.util.spec_from_file_location("model_soup", ROOT / "bench" / "model_soup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["model_soup.py", *map(str, argv)])
    module.main()


def bare_weights(path):
    return without_input_blur(load_keras_model(path)).get_weights()


def doubled(source, folder, sigma):
    """A copy of ``source`` whose network's weights are all twice the source's, behind a blur of ``sigma``."""
    folder.mkdir()
    net = without_input_blur(load_keras_model(source))
    net.set_weights([2 * w for w in net.get_weights()])
    with_input_blur(net, sigma).save(folder / "emotion_cnn.h5")
    meta = json.loads(source.with_suffix(".json").read_text())
    meta["input_blur"] = {**meta["input_blur"], "sigma": sigma, "in_network": True}
    (folder / "emotion_cnn.json").write_text(json.dumps(meta))
    return folder / "emotion_cnn.h5"


def test_three_models_are_averaged_with_their_shares_and_keep_the_blur_they_share(model_copy, tmp_path, monkeypatch):
    sigma = json.loads(model_copy.with_suffix(".json").read_text())["input_blur"]["sigma"]
    twice = doubled(model_copy, tmp_path / "twice", sigma)
    soup(monkeypatch, model_copy, twice, model_copy, "--shares", 0.5, 0.25, 0.25, "--out", tmp_path / "soup")
    out = tmp_path / "soup" / "emotion_cnn.h5"
    for got, w in zip(bare_weights(out), bare_weights(model_copy)):
        np.testing.assert_allclose(got, 1.25 * w, rtol=1e-5, atol=1e-6)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["soup"]["shares"] == [0.5, 0.25, 0.25] and len(meta["soup"]["models"]) == 3
    assert meta["input_blur"]["sigma"] == sigma and meta["soup"]["input_blur"] == "the models' own"


def test_models_with_different_blurs_get_one_chosen_on_the_validation_split(model_copy, tmp_path, monkeypatch):
    sigma = json.loads(model_copy.with_suffix(".json").read_text())["input_blur"]["sigma"]
    other = doubled(model_copy, tmp_path / "other", 0.6 if sigma != 0.6 else 0.7)
    with pytest.raises(SystemExit, match="different input blurs"):
        soup(monkeypatch, model_copy, other, "--out", tmp_path / "no")
    rows, _ = csv_rows(["Training", "PublicTest", "PrivateTest"], seed=3)
    data = write_csv(tmp_path / "d.csv", rows)
    soup(monkeypatch, model_copy, other, "--share", 0.5, "--data", data, "--out", tmp_path / "soup")
    out = tmp_path / "soup" / "emotion_cnn.h5"
    for got, w in zip(bare_weights(out), bare_weights(model_copy)):
        np.testing.assert_allclose(got, 1.5 * w, rtol=1e-5, atol=1e-6)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert "val split" in meta["input_blur"]["chosen_on"] and meta["soup"]["input_blur"].startswith("chosen again")


def test_shares_that_do_not_sum_to_one_are_refused(model_copy, tmp_path, monkeypatch):
    with pytest.raises(SystemExit, match="summing to 1"):
        soup(monkeypatch, model_copy, model_copy, "--shares", 0.5, 0.6, "--out", tmp_path / "soup")
    assert not (tmp_path / "soup").exists()
