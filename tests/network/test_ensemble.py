"""Ensemble folders: built from several models, run as one classifier (the members' mean), scored by
evaluate, identified by all their members, and refused clearly where one network is needed or a file is bad."""

import json
import shutil
import warnings

import numpy as np
import pytest

from emorec.cli.main import main
from emorec.common.errors import InputError, ModelError
from emorec.common.labels import FAST_MODEL_DIR
from emorec.core.classifier import Classifier
from emorec.network.ensemble import build_ensemble
from emorec.network.files import load_keras_model, model_digest, resolve_model_path
from tests.helpers import synthetic_faces


@pytest.fixture
def ensemble(tiny_model, tmp_path):
    out = tmp_path / "accurate"
    build_ensemble([str(tiny_model.parent), str(FAST_MODEL_DIR)], out)
    return out


def test_an_ensemble_averages_its_members(ensemble, tiny_model):
    manifest = json.loads((ensemble / "ensemble.json").read_text())
    assert manifest["members"] == ["run", "fast"]          # a shipped member is named, not copied
    assert {p.name for p in (ensemble / "run").iterdir()} >= {"emotion_cnn.h5", "emotion_cnn.json",
                                                             "emotion_cnn.tflite", "emotion_cnn.tflite.json"}
    assert resolve_model_path(ensemble) == ensemble / "ensemble.json"
    faces = synthetic_faces(5)[0]
    together = Classifier(ensemble)
    assert len(together.members) == 2 and len(together.input_blurs) == 2
    expected = (Classifier(tiny_model)(faces) + Classifier(FAST_MODEL_DIR)(faces)) / 2
    np.testing.assert_allclose(together(faces), expected, atol=1e-6)
    np.testing.assert_allclose(together(faces).sum(1), 1, atol=1e-5)


def test_evaluate_scores_an_ensemble_folder(ensemble, tiny_csv, capsys):
    assert main(["evaluate", "--model", str(ensemble), "--data", str(tiny_csv), "--split", "val", "--tta"]) == 0
    report = json.loads((ensemble / "eval_val.json").read_text())
    assert len(report["members"]) == 2 and len(report["input_blur"]) == 2
    assert "members' input blurs" in (ensemble / "eval_val.md").read_text()


def test_the_identity_follows_every_member(ensemble):
    before = model_digest(ensemble / "ensemble.json")
    member = ensemble / "run" / "emotion_cnn.h5"
    member.write_bytes(member.read_bytes() + b"\0")
    assert model_digest(ensemble / "ensemble.json") != before


def test_the_ensemble_command(tiny_model, tmp_path, capsys):
    out = tmp_path / "ens"
    assert main(["ensemble", str(tiny_model), "fast", "--out", str(out)]) == 0
    assert "members run, fast" in capsys.readouterr().out
    assert main(["ensemble", str(tiny_model), "--out", str(tmp_path / "one")]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["ensemble", str(tiny_model), str(tiny_model.parent), "--out", str(tmp_path / "two")]) == 2
    assert "twice" in capsys.readouterr().err
    assert main(["ensemble", str(out), "fast", "--out", str(tmp_path / "nested")]) == 2
    assert "itself an ensemble" in capsys.readouterr().err


def test_bad_ensembles_are_named(ensemble, tiny_model, tmp_path):
    with pytest.raises(InputError, match="holds a single model"):
        build_ensemble([str(tiny_model), "fast"], tiny_model.parent)
    with pytest.raises(ModelError, match="is an ensemble.*one network"):
        load_keras_model(resolve_model_path(ensemble))
    manifest = ensemble / "ensemble.json"
    record = json.loads(manifest.read_text())
    shutil.rmtree(ensemble / "run")
    with pytest.raises(ModelError, match="member 'run': model not found"):
        Classifier(ensemble)
    manifest.write_text(json.dumps({**record, "members": []}))
    with pytest.raises(ModelError, match='"members" must be a list'):
        Classifier(ensemble)
    manifest.write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        Classifier(ensemble)


def test_an_ensembles_temperature_tempers_the_members_mean_and_keeps_the_labels(ensemble, tiny_model):
    from emorec.core.classifier import tempered
    faces = synthetic_faces(6)[0]
    mean, member = Classifier(ensemble)(faces), Classifier(ensemble / "run")(faces)
    manifest = ensemble / "ensemble.json"
    record = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**record, "temperature": {"t": 0.5}}))
    sharp = Classifier(ensemble)(faces)
    np.testing.assert_allclose(sharp, tempered(mean, 0.5), atol=1e-6)
    assert (sharp.argmax(1) == mean.argmax(1)).all() and (sharp.max(1) > mean.max(1)).all()
    np.testing.assert_array_equal(Classifier(ensemble / "run")(faces), member)       # a member alone: untempered
    manifest.write_text(json.dumps({**record, "members": ["run"], "temperature": {"t": 0.5}}))
    np.testing.assert_allclose(Classifier(ensemble)(faces), tempered(member, 0.5), atol=1e-6)   # one member too
    for bad in ({"t": 0}, {"t": "hot"}, 0.5, {"t": True}, {"t": float("nan")}):
        manifest.write_text(json.dumps({**record, "temperature": bad}))
        with pytest.raises(ModelError, match='"temperature" must be .*delete that entry'):
            Classifier(ensemble)


def test_calibrate_temperature_writes_an_ensembles_into_its_manifest(ensemble, tiny_csv, capsys):
    member = ensemble / "run" / "emotion_cnn.h5"
    before = member.read_bytes()
    assert main(["calibrate", "--model", str(ensemble), "--data", str(tiny_csv), "--temperature"]) == 0
    assert "applied to the members' mean probabilities" in capsys.readouterr().out
    record = json.loads((ensemble / "ensemble.json").read_text())["temperature"]
    assert record["t"] == record["this_step"] and record["after"]["nll"] <= record["before"]["nll"]
    assert len(record["members_sha256"]) == 2 and member.read_bytes() == before       # no member is rewritten
    assert Classifier(ensemble).temperature == record["t"]
    manifest = json.loads((ensemble / "ensemble.json").read_text())
    assert manifest["combine"].startswith("mean of the members' probabilities")
    assert ("tempered at T" in manifest["combine"]) == (record["t"] != 1.0)
    assert main(["evaluate", "--model", str(ensemble), "--data", str(tiny_csv), "--split", "val"]) == 0
    assert "mean confidence" in capsys.readouterr().out
    runtime = json.loads((ensemble / "eval_val.json").read_text())["runtime"]
    assert ("tempered at T = " in runtime) == (record["t"] != 1.0)
    manifest["temperature"] = {**record, "t": 0.5}            # fitted for these members: nothing to say
    (ensemble / "ensemble.json").write_text(json.dumps(manifest))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Classifier(ensemble)
    manifest["temperature"]["members_sha256"][0] = "0" * 64      # a member changed since
    (ensemble / "ensemble.json").write_text(json.dumps(manifest))
    with pytest.warns(UserWarning, match="fitted before a member changed.*calibrate"):
        Classifier(ensemble)
