"""A training run's per-epoch state on disk, and stopping a run cleanly.

Every epoch the checkpoint callback writes, each file atomically: the best model so far (``emotion_cnn.h5``),
``history.csv``, ``curves.png`` and the resume state (``resume.keras``: weights and optimizer;
``resume.json``: epoch, learning rate, early-stopping and plateau counters, history). Ctrl-C and SIGTERM
wait until those files are all written, so they always describe the same epoch.
"""

import contextlib
import signal
import threading
import time

import numpy as np

from .artifacts import atomic_path, save_figure, write_json, write_text
from .labels import MODEL_FILENAME

RESUME_MODEL = "resume.keras"
RESUME_STATE = "resume.json"


def base_of(trainer):
    """The model being trained (the trainer wraps it behind the augmentation layers)."""
    return trainer.layers[-1]


class StopSignals:
    """While training, Ctrl-C (SIGINT) and ``kill PID`` (SIGTERM) stop the run with KeyboardInterrupt, but never
    halfway through an epoch's checkpoint: a signal that arrives while the files are written takes effect
    right after, so the best model, history and resume state always describe the same epoch."""

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
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((ax1, "accuracy", "accuracy"), (ax2, "loss", "loss")):
        ax.plot(epochs, [h[key] for h in history], label="train (augmented)")
        ax.plot(epochs, [h[f"val_{key}"] for h in history], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)


def checkpoint_callback(out, state, callbacks_to_restore, stop_signals):
    """A Keras callback that writes the run folder at the end of every epoch (see the module docstring)."""
    import keras

    class Checkpoint(keras.callbacks.Callback):
        """Per epoch: best .h5, history CSV, curves, resume state — each written atomically."""

        def on_train_begin(self, logs=None):
            # Runs after the other callbacks reset themselves, so restored counters win.
            for cb in callbacks_to_restore:
                for k, v in state.get("callbacks", {}).get(type(cb).__name__, {}).items():
                    setattr(cb, k, v)

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.time()
            self.lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

        def on_epoch_end(self, epoch, logs=None):
            with stop_signals.checkpoint():
                self._save(epoch, logs)

        def _save(self, epoch, logs):
            logs = dict(logs or {})
            row = {"epoch": epoch + 1, "lr": self.lr, "seconds": round(time.time() - self.t0, 1)}
            row.update({k: float(logs[k]) for k in ("accuracy", "loss", "val_accuracy", "val_loss")})
            state["history"].append(row)
            state["train_seconds"] = state.get("train_seconds", 0.0) + row["seconds"]
            if row["val_accuracy"] > state.get("best_val_accuracy", -1.0):
                state["best_val_accuracy"], state["best_epoch"] = row["val_accuracy"], epoch + 1
                with atomic_path(out / MODEL_FILENAME) as tmp:
                    base_of(self.model).save(tmp)
                print(f"\nepoch {epoch + 1}: val accuracy {row['val_accuracy']:.4f} is the best so far; "
                      f"saved {out / MODEL_FILENAME}")
            write_text(out / "history.csv", _history_csv(state["history"]))
            save_curves(state["history"], out / "curves.png")
            state["epochs_done"] = epoch + 1
            state["next_lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            state["callbacks"] = {type(cb).__name__: {k: _plain(getattr(cb, k)) for k in ("wait", "best", "cooldown_counter")
                                                     if hasattr(cb, k)} for cb in callbacks_to_restore}
            with atomic_path(out / RESUME_MODEL) as tmp:
                self.model.save(tmp)
            write_json(out / RESUME_STATE, state)

    return Checkpoint()


def _plain(v):
    return float(v) if isinstance(v, (np.floating, float)) else int(v) if isinstance(v, (np.integer, int)) else v


def _history_csv(history):
    cols = list(history[0])
    return "\n".join([",".join(cols)] + [",".join(str(h[c]) for c in cols) for h in history]) + "\n"
