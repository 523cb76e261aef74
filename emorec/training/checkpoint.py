"""A training run's state on disk: one resume record, committed in one atomic step per epoch.

Layout of a run folder ``OUT``::

    OUT/resume.json                  the resume record (the manifest): config, epochs done, history, best epoch,
                                     learning-rate and early-stopping counters, and the names of the two files below
    OUT/checkpoints/epoch-0007.keras trainer after the last finished epoch (weights, optimizer state)
    OUT/checkpoints/best-0005.h5     the best model so far (highest validation accuracy)
    OUT/emotion_cnn.h5, history.csv, curves.png     published copies for people and for the window

Each epoch first writes its checkpoint files (new names, so the previous epoch's stay intact), then replaces
``resume.json`` with one atomic rename — the commit — and only then publishes the copies and deletes the
files no record names any more. A kill at any moment therefore leaves the previous or the new epoch, complete
and resumable; copies that lag behind the record are re-published from it when the run is resumed.
Ctrl-C and SIGTERM wait until an epoch's commit is done (:class:`StopSignals`).
"""

import contextlib
import logging
import shutil
import signal
import threading
import time
from pathlib import Path

from emorec.common.artifacts import atomic_path, read_json, remove_partials, save_figure, write_json, write_text
from emorec.common.errors import TrainingError, output_error
from emorec.common.labels import MODEL_FILENAME
from emorec.training.precision import as_float32

log = logging.getLogger(__name__)

RECORD = "resume.json"
CHECKPOINTS = "checkpoints"
CURVES_EVERY_S = 60.0  # curves.png is redrawn at most this often while training
MIN_LR = 1e-6          # the plateau schedule never halves the learning rate below this
LR_FACTOR = 0.5


def base_of(trainer):
    """The model being trained (the trainer wraps it behind the augmentation layers)."""
    return trainer.layers[-1]


def read_record(out):
    """The resume record of run folder ``out``, or None when there is none (no epoch was ever finished)."""
    path = Path(out) / RECORD
    if not path.exists():
        return None
    try:
        record = read_json(path)
    except ValueError as e:
        raise TrainingError(f"{path} is damaged ({e}); the run cannot be resumed. Start a new run.") from None
    for key in ("checkpoint", "best_model"):
        if not (Path(out) / record.get(key, "?")).is_file():
            raise TrainingError(f"{path} names {record.get(key)!r}, which is missing from {out}; the run cannot be "
                                "resumed. Start a new run (the published emotion_cnn.h5 is still usable).")
    return record


def clean_leftovers(out, record):
    """Delete temporary files a killed process left, and checkpoint files the record does not name."""
    out = Path(out)
    remove_partials(out)
    folder = out / CHECKPOINTS
    if folder.is_dir():
        remove_partials(folder)
        keep = {Path(record[k]).name for k in ("checkpoint", "best_model")} if record else set()
        for f in folder.iterdir():
            if f.is_file() and f.name not in keep:
                f.unlink()


def publish(out, record, curves=True, model=True):
    """(Re)write the copies people use from the record: (``model``) emotion_cnn.h5, history.csv and
    (``curves``) curves.png."""
    out = Path(out)
    if model:
        with atomic_path(out / MODEL_FILENAME) as tmp:
            shutil.copyfile(out / record["best_model"], tmp)
    write_text(out / "history.csv", _history_csv(record["history"]))
    if curves:
        save_curves(record["history"], out / "curves.png")


class StopSignals:
    """While training, Ctrl-C (SIGINT) and ``kill PID`` (SIGTERM) stop the run with KeyboardInterrupt, but never
    halfway through an epoch's commit: a signal that arrives while the files are written takes effect right
    after."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.in_checkpoint = False
        self.pending = False
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) is not signal.SIG_IGN:     # nohup'd / background runs keep ignoring it
                    self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous.clear()

    def _handle(self, signum, frame):
        if self.in_checkpoint:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def checkpoint(self):
        self.in_checkpoint = True
        try:
            yield
        finally:
            self.in_checkpoint = False
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


def save_curves(history, path):
    """Accuracy and loss per epoch, train vs validation, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((ax1, "accuracy", "accuracy"), (ax2, "loss", "loss")):
        ax.plot(epochs, [h[key] for h in history], label="train (augmented)")
        ax.plot(epochs, [h[f"val_{key}"] for h in history], label="validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # whole epochs, never 0.5 or 1.5
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)


def next_schedule(schedule, improved, config, lr):
    """Advance the early-stopping and plateau counters (a dict kept in the record) after an epoch.

    ``improved``: the epoch beat the best validation accuracy so far. Returns (new learning rate, or None
    to keep it; whether to stop early).
    """
    if improved:
        schedule.update(epochs_without_gain=0, epochs_at_this_lr=0)
    else:
        schedule["epochs_without_gain"] = schedule.get("epochs_without_gain", 0) + 1
        schedule["epochs_at_this_lr"] = schedule.get("epochs_at_this_lr", 0) + 1
    new_lr = None
    if config.schedule == "plateau" and schedule["epochs_at_this_lr"] >= config.lr_patience and lr > MIN_LR:
        new_lr, schedule["epochs_at_this_lr"] = max(lr * LR_FACTOR, MIN_LR), 0
    stop = bool(config.patience) and schedule["epochs_without_gain"] >= config.patience
    return new_lr, stop


def checkpoint_callback(out, record, config, stop_signals):
    """A Keras callback that commits the run's record at the end of every epoch (see the module docstring)."""
    import keras

    out = Path(out)

    class Checkpoint(keras.callbacks.Callback):
        curves_at = -float("inf")

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.time()
            self.lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

        def on_epoch_end(self, epoch, logs=None):
            with stop_signals.checkpoint():
                try:
                    self._commit(epoch + 1, dict(logs or {}))
                except OSError as e:
                    raise output_error(out, e, what=f"save epoch {epoch + 1} of the run in") from None

        def _commit(self, n, logs):
            row = {"epoch": n, "lr": self.lr, "seconds": round(time.time() - self.t0, 1)}
            row.update({k: float(logs[k]) for k in ("accuracy", "loss", "val_accuracy", "val_loss")})
            new = dict(record, history=record["history"] + [row], epochs_done=n,
                       train_seconds=record.get("train_seconds", 0.0) + row["seconds"],
                       schedule=dict(record.get("schedule") or {}))
            improved = row["val_accuracy"] > record.get("best_val_accuracy", -1.0)
            new_lr, stop = next_schedule(new["schedule"], improved, config, self.lr)
            (out / CHECKPOINTS).mkdir(exist_ok=True)
            if improved:
                new.update(best_val_accuracy=row["val_accuracy"], best_epoch=n,
                           best_model=f"{CHECKPOINTS}/best-{n:04d}.h5")
                with atomic_path(out / new["best_model"]) as tmp:
                    as_float32(base_of(self.model)).save(tmp)
            if new_lr is not None:
                self.model.optimizer.learning_rate = new_lr
                log.info(f"\nepoch {n}: no validation gain for {config.lr_patience} epochs; "
                         f"learning rate → {new_lr:.2e}")
            new["next_lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            new["checkpoint"] = f"{CHECKPOINTS}/epoch-{n:04d}.keras"
            with atomic_path(out / new["checkpoint"]) as tmp:
                self.model.save(tmp)
            write_json(out / RECORD, new)             # the commit
            record.clear()
            record.update(new)
            # The plot is redrawn at most once a minute (every epoch of a real run; a test's tiny epochs
            # would spend most of their time in matplotlib); the run's end draws the final one.
            curves = time.monotonic() - self.curves_at >= CURVES_EVERY_S
            publish(out, record, curves, improved)   # the best model is copied only when it changed
            if curves:
                self.curves_at = time.monotonic()
            clean_leftovers(out, record)
            if new.get("best_epoch") == n:
                log.info(f"\nepoch {n}: val accuracy {row['val_accuracy']:.4f} is the best so far; "
                      f"saved {out / MODEL_FILENAME}")
            if stop:
                log.info(f"\nepoch {n}: no validation gain for {config.patience} epochs; stopping early.")
                self.model.stop_training = True

    return Checkpoint()


def _history_csv(history):
    cols = list(history[0])
    return "\n".join([",".join(cols)] + [",".join(str(h[c]) for c in cols) for h in history]) + "\n"
