"""Model files: finding and checking a model, its metadata and input blur, and the cached LiteRT export
(rebuilt when the model changes, in the user's cache when the model's folder is read-only)."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from emorec.common.errors import ModelError
from emorec.common.labels import ACCURATE_MODEL_DIR, DEFAULT_MODEL, FAST_MODEL_DIR, SHIPPED_MODELS
from emorec.core.classifier import Classifier
from emorec.network.files import ensemble_members, ensure_export, export_path, is_ensemble, resolve_model_path


def test_export_is_cached_and_rebuilt_when_the_model_changes(model_copy):
    tflite = ensure_export(model_copy)
    mtime = tflite.stat().st_mtime_ns
    assert ensure_export(model_copy) == tflite and tflite.stat().st_mtime_ns == mtime
    import keras
    model = keras.models.load_model(model_copy, compile=False)
    model.set_weights([w * 0.5 for w in model.get_weights()])
    model.save(model_copy)
    ensure_export(model_copy)
    stamp = json.loads(model_copy.with_suffix(".tflite.json").read_text())
    assert stamp["source_sha256"] == hashlib.sha256(model_copy.read_bytes()).hexdigest()
    assert export_path(model_copy).stat().st_mtime_ns != mtime


def test_missing_corrupt_and_wrong_models(tmp_path, model_copy):
    with pytest.raises(ModelError, match="model not found"):
        resolve_model_path(tmp_path / "none.h5")
    bad = tmp_path / "bad" / "emotion_cnn.h5"
    bad.parent.mkdir()
    bad.write_bytes(b"this is not hdf5")
    # without its metadata JSON a model is assumed to use the standard classes, and the user is told so
    with pytest.raises(ModelError, match="not a readable Keras model"), pytest.warns(UserWarning, match="not found"):
        Classifier(bad)
    import keras
    wrong = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Flatten(), keras.layers.Dense(5)])
    wrong_path = tmp_path / "wrong" / "emotion_cnn.h5"
    wrong_path.parent.mkdir()
    wrong.save(wrong_path)
    with pytest.raises(ModelError, match="needs"), pytest.warns(UserWarning, match="standard class order"):
        Classifier(wrong_path)
    meta = model_copy.with_suffix(".json")
    meta.write_text(json.dumps({"classes": ["a", "b"], "input_size": 48}))
    with pytest.raises(ModelError, match="predicts"):
        Classifier(model_copy)
    meta.write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        Classifier(model_copy)


def test_folder_resolves_to_its_model(model_copy):
    assert resolve_model_path(model_copy.parent) == model_copy


def test_shipped_models_are_found_by_name_from_any_folder(tmp_path, monkeypatch, model_copy):
    monkeypatch.chdir(tmp_path)
    assert resolve_model_path("model/fast") == resolve_model_path("fast") == FAST_MODEL_DIR / "emotion_cnn.h5"
    assert resolve_model_path("model/default") == resolve_model_path("default") == DEFAULT_MODEL
    assert resolve_model_path(None) == DEFAULT_MODEL
    (tmp_path / "model").mkdir()                      # a folder of the user's own by that name comes first
    (tmp_path / "model" / "fast").symlink_to(model_copy.parent)
    assert resolve_model_path("model/fast") == Path("model/fast/emotion_cnn.h5")
    with pytest.raises(ModelError, match="model not found"):
        resolve_model_path("other/fast")              # only model/NAME and NAME are shipped names


def test_a_missing_shipped_model_says_how_to_restore_it(tmp_path, monkeypatch):
    monkeypatch.setitem(SHIPPED_MODELS, "fast", tmp_path / "gone")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match=r"restore model/fast/ from git \(git checkout -- model/fast\)"):
        resolve_model_path("model/fast")


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_each_shipped_model_ships_its_current_export(name):
    """The LiteRT export beside a shipped model is the one its .h5 makes: a wheel or a read-only checkout uses it
    as it is (for the ensemble model/accurate: each member's)."""
    path = resolve_model_path(name)
    for model in ensemble_members(path) if is_ensemble(path) else [path]:
        stamp = json.loads(model.with_suffix(".tflite.json").read_text())
        assert stamp["source_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
        assert model.with_suffix(".tflite").is_file()


def test_the_accurate_model_is_the_default_and_one_more_network_by_name_from_any_folder(tmp_path, monkeypatch):
    """Issue 29: --model accurate (or model/accurate) is an ensemble whose first member is the shipped default."""
    monkeypatch.chdir(tmp_path)
    path = resolve_model_path("accurate")
    assert path == resolve_model_path("model/accurate") == ACCURATE_MODEL_DIR / "ensemble.json" and is_ensemble(path)
    members = ensemble_members(path)
    assert members[0] == DEFAULT_MODEL and len(members) == 2 and members[1].parent.parent == ACCURATE_MODEL_DIR


def test_the_fast_model_costs_a_third_of_the_default():
    """Issue 21: model/fast is at most 88 M multiply-adds per pass; the default is 264 M."""
    import keras

    from emorec.network.architectures import multiply_adds
    fast = multiply_adds(keras.models.load_model(FAST_MODEL_DIR / "emotion_cnn.h5", compile=False))
    default = multiply_adds(keras.models.load_model(DEFAULT_MODEL, compile=False))
    assert fast <= 88e6 and default > 3 * fast


def test_a_model_calibrated_the_old_way_is_refused_with_the_fix(model_copy):
    from emorec.common.errors import ModelError
    meta_file = model_copy.with_suffix(".json")
    meta = json.loads(meta_file.read_text())
    meta.pop("input_blur", None)
    meta["inference"] = {"blur_sigma": 0.7}       # an older version's record: the blur applied outside the network
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"outside the network .* calibrate --model"):
        Classifier(model_copy)


@pytest.mark.parametrize("sigma", [-0.5, 5, "0.7", True, [0.7]])
def test_a_bad_input_blur_is_refused_with_the_fix(model_copy, sigma):
    meta_file = model_copy.with_suffix(".json")
    meta = json.loads(meta_file.read_text())
    meta["input_blur"] = {**meta.get("input_blur", {}), "sigma": sigma}
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="input blur.*calibrate"):
        Classifier(model_copy)


def test_a_read_only_model_folder_gets_its_export_in_the_user_cache(model_copy, tmp_path, monkeypatch):
    """Tests run as root, where chmod cannot make a folder read-only: writes beside the model fail instead."""
    import errno

    import emorec.network.files as classifier_module
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    export_path(model_copy).unlink(missing_ok=True)
    real_atomic_path = classifier_module.atomic_path

    def read_only_beside_the_model(path):
        if path.parent == model_copy.parent:
            raise PermissionError(errno.EROFS, "Read-only file system", str(path))
        return real_atomic_path(path)

    monkeypatch.setattr(classifier_module, "atomic_path", read_only_beside_the_model)
    tflite = ensure_export(model_copy)
    assert tflite.parent == tmp_path / "cache" / "emorec" / "exports" and tflite.stat().st_size > 1000
    assert not export_path(model_copy).exists()
    assert ensure_export(model_copy) == tflite                    # found there next time, not rebuilt
    faces = np.zeros((1, 48, 48), np.uint8)
    assert Classifier(model_copy)(faces).shape == (1, 7)
