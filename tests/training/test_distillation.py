"""`train --teacher MODEL`: the training targets mix the labels with the teacher's softened probabilities
(its face and mirror averaged, through its LiteRT export), and a teacher that cannot be used stops the run
before any data is read."""

import numpy as np
import pytest

from emorec.cli.main import main
from emorec.common.errors import TrainingError
from emorec.core.classifier import Classifier
from emorec.training.config import TrainConfig
from emorec.training.data import load_csv
from emorec.training.targets import teacher_targets, training_targets
from tests.helpers import csv_rows, write_csv


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rows, _ = csv_rows(["Training"] * 2 + ["PublicTest", "PrivateTest"])
    return load_csv(write_csv(tmp_path_factory.mktemp("kd") / "d.csv", rows), use_cache=False)


def test_the_teachers_probabilities_are_softened_and_mixed_with_the_labels(tiny_model, data):
    x, y = data.split("train")
    teacher = Classifier(tiny_model).predict(x, tta=True).astype(np.float64)
    soft = teacher_targets(str(tiny_model), x, temperature=2.0)
    expected = np.sqrt(teacher) / np.sqrt(teacher).sum(1, keepdims=True)          # p^(1/2), renormalised
    assert soft == pytest.approx(expected, abs=1e-5)
    assert soft.max(1).mean() < teacher.max(1).mean()                                # flatter than the teacher
    assert teacher_targets(str(tiny_model), x, temperature=1.0) == pytest.approx(teacher, abs=1e-5)

    targets = training_targets(TrainConfig(teacher=str(tiny_model), teacher_weight=0.25), data)
    assert targets.dtype == np.float32 and targets.sum(1) == pytest.approx(np.ones(len(y)), abs=1e-5)
    assert targets == pytest.approx(0.75 * np.eye(7)[y] + 0.25 * soft, abs=1e-5)
    assert training_targets(TrainConfig(), data) == pytest.approx(np.eye(7)[y])      # no teacher: the labels


def test_a_missing_teacher_stops_the_run_before_the_data_is_read(tmp_path, capsys):
    code = main(["train", "--data", str(tmp_path / "not-read.csv"), "--teacher", str(tmp_path / "none"),
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --teacher: model not found:") and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_a_teacher_that_is_not_a_model_is_one_clear_error(tmp_path, data):
    bad = tmp_path / "teacher.h5"
    bad.write_bytes(b"not a model")
    with pytest.raises(TrainingError, match="--teacher: .*not a readable Keras model"), \
            pytest.warns(UserWarning, match="not found"):
        teacher_targets(str(bad), data.split("train")[0], 2.0)


def test_a_resumed_run_says_when_its_teacher_has_changed(tiny_model, data, tmp_path, caplog):
    import json
    import logging

    from emorec.common.labels import FAST_MODEL_DIR
    from emorec.network.ensemble import build_ensemble
    from emorec.training.checkpoint import RECORD
    from emorec.training.train import prepare, train
    teacher = tmp_path / "teacher"
    build_ensemble([str(tiny_model.parent), str(FAST_MODEL_DIR)], teacher)
    cfg = TrainConfig(data="unused.csv", out=str(tmp_path / "run"), arch="shallow", epochs=1, batch_size=7,
                      patience=0, teacher=str(teacher))
    train(cfg, dataset=data, verbose=0, calibrate=False)
    started_with = json.loads((tmp_path / "run" / RECORD).read_text())["teacher_sha256"]
    with caplog.at_level(logging.WARNING, logger="emorec.training.train"):
        prepare(TrainConfig(out=cfg.out, epochs=2), resume=True, dataset=data)
        assert "has changed" not in caplog.text                   # the same teacher: nothing to say
        manifest = teacher / "ensemble.json"
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "temperature": {"t": 0.5}}))
        run = prepare(TrainConfig(out=cfg.out, epochs=2), resume=True, dataset=data)
    assert "the teacher" in caplog.text and "has changed since this run started" in caplog.text
    assert run.record["teacher_sha256"] == started_with
