"""Training: artifacts, resume, stop signals, kills at any moment, refusals, warm starts.

Real fits are the expensive part of the suite, so each one here checks several things; whatever can be
checked without fitting (refusals, warm starts, schedules) goes through :func:`prepare` alone.
"""

import csv
import os
import signal

import keras
import numpy as np
import pytest

import emorec.training.checkpoint as checkpoint_module
from emorec.cli.main import main
from emorec.common.artifacts import read_json
from emorec.common.errors import OutputError, TrainingError
from emorec.common.labels import DEFAULT_MODEL_DIR, EMOTIONS, FAST_MODEL_DIR
from emorec.training.checkpoint import RECORD, base_of, read_record
from emorec.training.config import TrainConfig
from emorec.training.data import load_csv
from emorec.training.targets import class_weights
from emorec.training.train import prepare, train
from tests.helpers import csv_rows, write_csv


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    rows, _ = csv_rows(["Training"] * 3 + ["PublicTest", "PrivateTest"])
    return load_csv(write_csv(tmp_path_factory.mktemp("data") / "d.csv", rows), use_cache=False)


def config(tmp_path, **kw):
    base = dict(data="unused.csv", out=str(tmp_path / "run"), arch="shallow", epochs=1, batch_size=7, patience=0)
    base.update(kw)
    return TrainConfig(**base)


def fit(cfg, data, **kw):
    return train(cfg, dataset=data, verbose=0, calibrate=False, **kw)


def test_a_run_folder_has_every_artifact_and_one_record_naming_its_files(tiny_model):
    run = tiny_model.parent
    for name in ("emotion_cnn.h5", "emotion_cnn.json", "history.csv", "curves.png", RECORD):
        assert (run / name).stat().st_size > 0, name
    assert not list(run.rglob(".*partial*"))
    record = read_record(run)
    assert record["epochs_done"] == 1 and record["best_epoch"] == 1
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best-0001.h5", "epoch-0001.keras"]
    meta = read_json(run / "emotion_cnn.json")
    assert meta["classes"] == list(EMOTIONS) and meta["input_size"] == 48 and meta["epochs_run"] == 1
    assert 0 <= meta["val_accuracy"] <= 1 and "test_accuracy" not in meta    # the test split is evaluate's alone
    from emorec.network.architectures import without_input_blur
    h5 = without_input_blur(keras.models.load_model(run / "emotion_cnn.h5", compile=False))   # minus its blur
    resumed = base_of(keras.models.load_model(run / record["checkpoint"]))
    x = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 1)).astype(np.float32)
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


def test_ctrl_c_then_resume_follows_the_same_course_as_a_run_that_never_stopped(tmp_path, small_data, capsys):
    """Order, augmentation, mixing, dropout, learning rate and counters: all come back, so an epoch + Ctrl-C +
    resume give the very history of 2 epochs straight."""
    kw = dict(epochs=2, schedule="cosine", lr_patience=1, patience=9, lr=0.02, mixup=0.4, cutmix=1.0)
    straight = fit(config(tmp_path, out=str(tmp_path / "straight"), **kw), small_data)
    assert "mixing each training batch with mixup (α 0.4) or CutMix (factor 1)" in capsys.readouterr().out
    meta = fit(config(tmp_path, **kw), small_data, extra_callbacks=[AtEpochStart(1, ctrl_c)])
    assert meta["epochs_run"] == 1
    record = read_json(tmp_path / "run" / RECORD)
    assert record["epochs_done"] == 1 and len(record["history"]) == 1 and "schedule" in record
    meta = fit(config(tmp_path, epochs=2, lr_patience=5), small_data, resume=True)
    assert meta["epochs_run"] == straight["epochs_run"] == 2
    record = read_json(tmp_path / "run" / RECORD)
    assert record["config"]["lr_patience"] == 1          # the saved run's settings, not the new ones
    expected = read_json(tmp_path / "straight" / RECORD)["history"]
    for a, b in zip(record["history"], expected, strict=True):
        assert a["lr"] == pytest.approx(b["lr"]) and a["loss"] == pytest.approx(b["loss"], abs=1e-5)
        assert a["accuracy"] == pytest.approx(b["accuracy"]) and a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-5)
    assert expected[1]["lr"] < expected[0]["lr"]                       # the learning rate did change
    assert len(list((tmp_path / "run" / "checkpoints").iterdir())) <= 2     # old epochs' files are pruned
    for budget in (4, 3):            # a new budget: the cosine is re-planned over it, not over the first 2
        run = prepare(config(tmp_path, epochs=budget), resume=True, dataset=small_data)
        lr = float(keras.ops.convert_to_numpy(run.trainer.optimizer.learning_rate))
        assert lr == pytest.approx(0.02 * 0.5 * (1 + np.cos(np.pi * 2 / budget)), rel=1e-4)


def test_sigterm_stops_like_ctrl_c_even_while_a_checkpoint_is_written(tmp_path, small_data, monkeypatch, capsys):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    real_publish = checkpoint_module.publish

    def publish_then_get_killed(out, record, *args):       # the signal lands between two of the epoch's files
        real_publish(out, record, *args)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(checkpoint_module, "publish", publish_then_get_killed)
    meta = fit(config(tmp_path, epochs=3), small_data)
    record = read_json(tmp_path / "run" / RECORD)
    assert meta["epochs_run"] == 1 and record["epochs_done"] == 1 and len(record["history"]) == 1
    assert not list((tmp_path / "run").rglob(".*partial*"))
    out = capsys.readouterr().out
    assert "--resume" in out and "(epoch 1 of the 1 finished before the stop; 3 planned)" in out
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


class Killed(BaseException):
    """Stands in for kill -9: nothing after it runs (BaseException, so no handler of ours catches it)."""


@pytest.mark.parametrize("victim", ["write_json", "publish"])
def test_kill_at_any_point_of_an_epochs_commit_leaves_a_complete_resumable_run(tmp_path, small_data,
                                                                               monkeypatch, victim):
    """Epoch 1 commits; epoch 2 is killed inside its commit at ``victim`` (write_json: its files written, the
    record not yet replaced; publish: after it, before the copies are refreshed). What a kill inside a file's
    write leaves (a temporary file) is added by hand and must be gone after the resume."""
    real = getattr(checkpoint_module, victim)
    in_epoch_2 = []

    def dies_in_epoch_2(*args, **kwargs):
        if in_epoch_2:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpoint_module, victim, dies_in_epoch_2)
    with pytest.raises(Killed):
        fit(config(tmp_path, epochs=3, lr=0.05), small_data,
            extra_callbacks=[AtEpochStart(1, lambda: in_epoch_2.append(True))])
    monkeypatch.undo()
    run = tmp_path / "run"
    record = read_record(run)                 # the record names files that exist ...
    done = 1 if victim == "write_json" else 2
    assert record["epochs_done"] == done and len(record["history"]) == done
    keras.models.load_model(run / "emotion_cnn.h5", compile=False)
    for leftover in (run / ".resume.x1.partial.keras", run / "checkpoints" / ".epoch-0002.x2.partial.keras"):
        leftover.write_bytes(b"what a kill -9 inside a write leaves")
    resumed = prepare(config(tmp_path, epochs=3), resume=True, dataset=small_data)     # ... and load
    assert resumed.record["epochs_done"] == done and not list(run.rglob(".*partial*"))
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == \
        sorted(os.path.basename(record[k]) for k in ("checkpoint", "best_model"))
    with open(run / "history.csv") as f:              # the published copies caught up with the record
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == list(range(1, done + 1))


def test_a_full_disk_during_a_checkpoint_is_a_message_and_the_last_epoch_stays(tmp_path, small_data, monkeypatch):
    real = checkpoint_module.write_json
    calls = {"n": 0}

    def disk_full_in_epoch_2(path, obj):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(28, "No space left on device")
        return real(path, obj)

    monkeypatch.setattr(checkpoint_module, "write_json", disk_full_in_epoch_2)
    with pytest.raises(OutputError, match="disk is full"):
        fit(config(tmp_path, epochs=2, class_weight="balanced"), small_data)     # (class weights on the way)
    assert read_record(tmp_path / "run")["epochs_done"] == 1 and not list((tmp_path / "run").rglob(".*partial*"))


def test_refusals_come_before_any_training(tmp_path, tiny_model, small_data):
    with pytest.raises(TrainingError, match="--resume"):
        prepare(config(tmp_path, out=str(tiny_model.parent)), dataset=small_data)
    with pytest.raises(TrainingError, match="nothing to resume"):
        prepare(config(tmp_path, out=str(tmp_path / "other")), resume=True, dataset=small_data)
    with pytest.raises(TrainingError, match="shipped default"):
        prepare(config(tmp_path, out=str(DEFAULT_MODEL_DIR)), dataset=small_data)
    with pytest.raises(TrainingError, match="shipped fast model"):
        prepare(config(tmp_path, out=str(FAST_MODEL_DIR)), dataset=small_data)
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(TrainingError, match="is a file"):
        prepare(config(tmp_path, out=str(tmp_path / "a_file")), dataset=small_data)
    with pytest.raises(TrainingError, match="inside .* which is a file"):
        prepare(config(tmp_path, out=str(tmp_path / "a_file" / "run")), dataset=small_data)


def test_balanced_class_weights():
    y = np.array([0] * 6 + [1] * 2 + [2] * 4 + [3, 4, 5, 6] * 2)
    w = class_weights(y, "balanced")
    assert w[1] == pytest.approx(len(y) / (7 * 2)) and w[0] < w[1]
    assert class_weights(y, "none") is None
    with pytest.raises(TrainingError):
        class_weights(y, "sqrt")


def weights_of(run):
    return base_of(run.trainer).get_weights()


def test_init_from_starts_from_the_given_weights(tmp_path, tiny_model, small_data):
    from emorec.network.architectures import without_input_blur
    source = without_input_blur(keras.models.load_model(tiny_model, compile=False)).get_weights()   # minus its blur
    warm = weights_of(prepare(config(tmp_path, init_from=str(tiny_model.parent)), dataset=small_data))
    cold = weights_of(prepare(config(tmp_path, out=str(tmp_path / "cold")), dataset=small_data))
    assert all(np.array_equal(a, b) for a, b in zip(source, warm))
    assert not all(np.array_equal(a, b) for a, b in zip(source, cold))


@pytest.mark.parametrize("make_source, message", [
    (lambda p: p / "missing.h5", "model not found"),
    (lambda p: (p / "bad.h5").write_bytes(b"not a model") and p / "bad.h5", "not a readable Keras model"),
])
def test_init_from_a_missing_or_corrupt_model_says_so(tmp_path, small_data, make_source, message):
    with pytest.raises(TrainingError, match=message):
        prepare(config(tmp_path, init_from=str(make_source(tmp_path))), dataset=small_data)


def test_init_from_a_different_architecture_names_the_fix(tmp_path, tiny_model, small_data):
    with pytest.raises(TrainingError, match="pass the --arch it was trained with"):
        prepare(config(tmp_path, arch="vgg", init_from=str(tiny_model)), dataset=small_data)


def test_bad_training_flags_are_usage_errors_before_anything_loads(tmp_path, capsys):
    for flags in (["--epochs", "0"], ["--batch-size", "0"], ["--lr", "-1"], ["--label-smoothing", "2"]):
        with pytest.raises(SystemExit) as e:
            main(["train", "--data", "x.csv", *flags])
        assert e.value.code == 2
        assert f"argument {flags[0]}: must be" in capsys.readouterr().err
    assert main(["train"]) == 2 and "needs --data" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "none.csv")]) == 2
    assert "data not found" in capsys.readouterr().err


def test_a_damaged_checkpoint_is_a_message_not_a_traceback(tmp_path, tiny_model, small_data):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(tiny_model.parent, run)
    (run / read_record(run)["checkpoint"]).write_bytes(b"")
    with pytest.raises(TrainingError, match="checkpoint.*is damaged.*Start a new run"):
        prepare(config(tmp_path, out=str(run)), resume=True, dataset=small_data)


def test_ctrl_c_in_the_first_epoch_says_nothing_was_saved_and_claims_no_epoch(tmp_path, small_data, capsys):
    with pytest.raises(TrainingError, match="nothing was saved"):
        fit(config(tmp_path, epochs=2), small_data, extra_callbacks=[AtEpochStart(0, ctrl_c)])
    out = capsys.readouterr().out
    assert "interrupted during epoch 1." in out and "saved" not in out


def test_the_command_line_reports_ctrl_c_in_training_with_130(tmp_path, tiny_csv, monkeypatch, capsys):
    import emorec.training.train as train_module
    monkeypatch.setattr(train_module, "fit", lambda run, **kw: True)          # as if Ctrl-C stopped it
    monkeypatch.setattr(train_module, "finish", lambda run, interrupted: None)
    assert main(["train", "--data", str(tiny_csv), "--arch", "shallow", "--out", str(tmp_path / "r")]) == 130


def test_the_command_line_resumes_with_a_new_budget_and_says_what_it_ignores(tmp_path, monkeypatch, capsys):
    import emorec.training.train as train_module
    seen = {}
    monkeypatch.setattr(train_module, "prepare", lambda config, resume, replace_default: seen.update(
        out=config.out, epochs=config.epochs, resume=resume) or "run")
    monkeypatch.setattr(train_module, "fit", lambda run, **kw: False)
    monkeypatch.setattr(train_module, "finish", lambda run, interrupted: None)
    assert main(["train", "--resume", str(tmp_path / "r"), "--epochs", "5", "--lr", "0.5"]) == 0
    assert seen == {"out": str(tmp_path / "r"), "epochs": 5, "resume": True}
    assert "keeps its saved settings; ignoring --lr" in capsys.readouterr().out
    assert main(["train", "--resume"]) == 2 and "--resume needs the run folder" in capsys.readouterr().err


def test_resume_takes_devices_from_the_command_line(tmp_path, monkeypatch, capsys):
    import emorec.training.train as t
    seen = {}
    monkeypatch.setattr(t, "prepare", lambda config, resume, replace_default: seen.update(d=config.devices) or "run")
    monkeypatch.setattr(t, "fit", lambda run, **kw: False)
    monkeypatch.setattr(t, "finish", lambda run, interrupted: None)
    assert main(["train", "--resume", str(tmp_path / "r"), "--devices", "2"]) == 0
    assert seen["d"] == "2" and "ignoring" not in capsys.readouterr().out
    assert main(["train", "--resume", str(tmp_path / "r")]) == 0 and seen["d"] is None


def test_a_completed_run_keeps_its_blur_record_only_while_the_model_file_is_the_one_it_describes(tiny_model, tmp_path):
    from emorec.common.artifacts import read_json as read
    from emorec.training.train import _input_blur_of
    record = read(tiny_model.with_suffix(".json"))["input_blur"]
    assert _input_blur_of(tiny_model) == record                  # the file calibrate wrote
    copy = tmp_path
    (copy / "emotion_cnn.h5").write_bytes(tiny_model.read_bytes())
    (copy / "emotion_cnn.json").write_text(tiny_model.with_suffix(".json").read_text())
    assert _input_blur_of(copy / "emotion_cnn.h5") == record
    (copy / "emotion_cnn.h5").write_bytes(b"another model")       # an improved epoch's bare network replaced it
    assert _input_blur_of(copy / "emotion_cnn.h5") is None
