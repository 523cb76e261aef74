import csv
import os
import signal

import keras
import numpy as np
import pytest

from emorec.artifacts import read_json
from emorec.data import load_csv
from emorec.labels import DEFAULT_MODEL_DIR, EMOTIONS
from emorec.train import TrainConfig, TrainingError, class_weights, train

from conftest import csv_rows, write_csv


@pytest.fixture
def small_data(tmp_path):
    rows, _ = csv_rows(["Training"] * 3 + ["PublicTest", "PrivateTest"])
    return load_csv(write_csv(tmp_path / "d.csv", rows), use_cache=False)


def config(tmp_path, **kw):
    base = dict(data="unused.csv", out=str(tmp_path / "run"), arch="shallow", epochs=1, batch_size=8, patience=0)
    base.update(kw)
    return TrainConfig(**base)


def test_one_epoch_writes_every_artifact_and_the_model_reloads_identically(tmp_path, small_data):
    meta = train(config(tmp_path), dataset=small_data, verbose=0)
    run = tmp_path / "run"
    for name in ("emotion_cnn.h5", "emotion_cnn.json", "history.csv", "curves.png", "resume.keras", "resume.json"):
        assert (run / name).stat().st_size > 0, name
    assert not list(run.glob(".*partial*"))
    saved = read_json(run / "emotion_cnn.json")
    assert saved["classes"] == list(EMOTIONS) and saved["input_size"] == 48
    assert saved["epochs_run"] == 1 and saved["arch"] == "shallow" and saved["data"]["sha256"] == small_data.sha256
    assert 0 <= saved["val_accuracy"] <= 1 and 0 <= saved["test_accuracy"] <= 1
    assert meta["params"] == saved["params"] > 0
    h5 = keras.models.load_model(run / "emotion_cnn.h5", compile=False)
    resumed = keras.models.load_model(run / "resume.keras").layers[-1]   # the trainer's inner model
    x = small_data.splits["test"][0][..., None].astype(np.float32)
    assert np.allclose(np.asarray(h5(x)), np.asarray(resumed(x)), atol=1e-6)
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1"] and {"accuracy", "val_accuracy", "loss", "val_loss", "lr"} <= set(rows[0])


class AtEpochStart(keras.callbacks.Callback):
    """Calls ``action()`` at the start of a given epoch (0-based): simulates Ctrl-C or `kill PID` mid-run."""

    def __init__(self, epoch, action):
        super().__init__()
        self.epoch, self.action = epoch, action

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            self.action()


def ctrl_c():
    raise KeyboardInterrupt


def sigterm():
    os.kill(os.getpid(), signal.SIGTERM)


def test_interrupt_keeps_the_last_epoch_and_resume_goes_on(tmp_path, small_data):
    cfg = config(tmp_path, epochs=3, schedule="plateau", lr_patience=1, patience=5)
    meta = train(cfg, dataset=small_data, verbose=0, extra_callbacks=[AtEpochStart(2, ctrl_c)])
    assert meta["epochs_run"] == 2
    state = read_json(tmp_path / "run" / "resume.json")
    assert state["epochs_done"] == 2 and len(state["history"]) == 2
    assert "EarlyStopping" in state["callbacks"] and "ReduceLROnPlateau" in state["callbacks"]
    meta = train(config(tmp_path, epochs=3), resume=True, dataset=small_data, verbose=0)
    assert meta["epochs_run"] == 3
    state = read_json(tmp_path / "run" / "resume.json")
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3]
    assert state["config"]["lr_patience"] == 1            # the saved run's settings, not the new defaults


def test_sigterm_stops_like_ctrl_c_and_the_handler_is_restored(tmp_path, small_data, capsys):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    meta = train(config(tmp_path, epochs=3), dataset=small_data, verbose=0,
                 extra_callbacks=[AtEpochStart(1, sigterm)])
    assert meta["epochs_run"] == 1 and read_json(tmp_path / "run" / "resume.json")["epochs_done"] == 1
    assert "--resume" in capsys.readouterr().out
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_checkpoint_is_written_waits_until_it_is_complete(tmp_path, small_data, monkeypatch, sig):
    import emorec.checkpoint as checkpoint_module
    real_save_curves = checkpoint_module.save_curves

    def save_curves_then_get_signalled(history, path):       # the signal lands between two checkpoint files
        real_save_curves(history, path)
        os.kill(os.getpid(), sig)

    monkeypatch.setattr(checkpoint_module, "save_curves", save_curves_then_get_signalled)
    meta = train(config(tmp_path, epochs=3), dataset=small_data, verbose=0)
    state = read_json(tmp_path / "run" / "resume.json")
    assert meta["epochs_run"] == 1 and state["epochs_done"] == 1 and len(state["history"]) == 1
    assert keras.models.load_model(tmp_path / "run" / "resume.keras") is not None


def test_resume_restores_learning_rate(tmp_path, small_data):
    train(config(tmp_path, epochs=1), dataset=small_data, verbose=0)
    state_file = tmp_path / "run" / "resume.json"
    state = read_json(state_file)
    state["next_lr"] = 1.25e-4
    from emorec.artifacts import write_json
    write_json(state_file, state)
    train(config(tmp_path, epochs=2), resume=True, dataset=small_data, verbose=0)
    assert read_json(state_file)["history"][-1]["lr"] == pytest.approx(1.25e-4)


def test_existing_run_default_model_and_missing_state_are_refused(tmp_path, small_data):
    train(config(tmp_path), dataset=small_data, verbose=0)
    with pytest.raises(TrainingError, match="--resume"):
        train(config(tmp_path), dataset=small_data, verbose=0)
    with pytest.raises(TrainingError, match="nothing to resume"):
        train(config(tmp_path, out=str(tmp_path / "other")), resume=True, dataset=small_data, verbose=0)
    with pytest.raises(TrainingError, match="shipped default"):
        train(config(tmp_path, out=str(DEFAULT_MODEL_DIR)), dataset=small_data, verbose=0)


def test_balanced_class_weights():
    y = np.array([0] * 6 + [1] * 2 + [2] * 4 + [3, 4, 5, 6] * 2)
    w = class_weights(y, "balanced")
    assert w[1] == pytest.approx(len(y) / (7 * 2)) and w[0] < w[1]
    assert class_weights(y, "none") is None
    with pytest.raises(TrainingError):
        class_weights(y, "sqrt")


def test_init_from_starts_from_the_given_weights(tmp_path, small_data):
    train(config(tmp_path, out=str(tmp_path / "first")), dataset=small_data, verbose=0)
    first = keras.models.load_model(tmp_path / "first" / "emotion_cnn.h5", compile=False)
    cfg = config(tmp_path, out=str(tmp_path / "second"), lr=1e-9, init_from=str(tmp_path / "first"),
                 augment=False)
    train(cfg, dataset=small_data, verbose=0)
    second = keras.models.load_model(tmp_path / "second" / "emotion_cnn.h5", compile=False)
    x = small_data.splits["test"][0][..., None].astype(np.float32)
    # lr 1e-9: one epoch barely moves the weights (BatchNorm statistics still update a little)
    assert np.allclose(np.asarray(first(x)), np.asarray(second(x)), atol=0.05)
    fresh = config(tmp_path, out=str(tmp_path / "third"), lr=1e-9, augment=False, seed=1)
    train(fresh, dataset=small_data, verbose=0)
    third = keras.models.load_model(tmp_path / "third" / "emotion_cnn.h5", compile=False)
    assert not np.allclose(np.asarray(first(x)), np.asarray(third(x)), atol=0.05)


@pytest.mark.parametrize("make_source, message", [
    (lambda p: p / "missing.h5", "model not found"),
    (lambda p: (p / "bad.h5").write_bytes(b"not a model") and p / "bad.h5", "not a readable Keras model"),
])
def test_init_from_a_missing_or_corrupt_model_says_so(tmp_path, small_data, make_source, message):
    with pytest.raises(TrainingError, match=message):
        train(config(tmp_path, init_from=str(make_source(tmp_path))), dataset=small_data, verbose=0)
    assert not (tmp_path / "run" / "emotion_cnn.h5").exists()


def test_init_from_a_different_architecture_names_the_fix(tmp_path, small_data):
    train(config(tmp_path, out=str(tmp_path / "first")), dataset=small_data, verbose=0)
    with pytest.raises(TrainingError, match="pass the --arch it was trained with"):
        train(config(tmp_path, arch="vgg", init_from=str(tmp_path / "first")), dataset=small_data, verbose=0)


@pytest.mark.parametrize("first, second", [(2, 4), (4, 3)])
def test_resume_replans_the_cosine_decay_over_the_new_epoch_budget(tmp_path, small_data, first, second):
    cfg = config(tmp_path, epochs=first, schedule="cosine", lr=0.01)
    stop = [AtEpochStart(2, ctrl_c)] if first > 2 else []
    train(cfg, dataset=small_data, verbose=0, extra_callbacks=stop)
    train(config(tmp_path, epochs=second), resume=True, dataset=small_data, verbose=0)
    lrs = [h["lr"] for h in read_json(tmp_path / "run" / "resume.json")["history"]]
    assert len(lrs) == second
    # the LR at the start of epoch 3 (after 2 epochs) is the cosine over `second` epochs, not over `first`
    assert lrs[2] == pytest.approx(0.01 * 0.5 * (1 + np.cos(np.pi * 2 / second)), rel=1e-4)
    assert lrs[0] == pytest.approx(0.01, rel=1e-5) and lrs[-1] > 0 and all(a >= b for a, b in zip(lrs, lrs[1:]))
