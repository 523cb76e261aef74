"""Training: a dataset and a :class:`TrainConfig` in, a run folder out.

A run folder holds (all written atomically, refreshed every epoch):
``emotion_cnn.h5`` (best model on validation accuracy), ``emotion_cnn.json`` (metadata),
``history.csv``, ``curves.png`` and the resume state ``resume.keras`` + ``resume.json``
(weights, optimizer, learning rate, early-stopping and plateau counters, history).
A run that completes also gets its inference blur, chosen on the validation split (:mod:`emorec.calibrate`).
Ctrl-C, ``kill`` (SIGTERM) or a killed process loses at most the epoch in progress; ``resume=True`` goes on
(the writing and the stop signals are in :mod:`emorec.checkpoint`).
"""

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from .artifacts import library_versions, metadata_path, now_iso, read_json, write_json
from .checkpoint import RESUME_MODEL, RESUME_STATE, StopSignals, base_of, checkpoint_callback
from .data import describe, load_dataset
from .errors import TrainingError
from .labels import DEFAULT_MODEL_DIR, EMOTIONS, INPUT_SIZE, MODEL_FILENAME, NUM_CLASSES
from .preprocess import PREPROCESSING, to_model_input


@dataclass
class TrainConfig:
    data: str
    out: str
    arch: str = "vgg"
    epochs: int = 60
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "plateau"          # "plateau" (ReduceLROnPlateau) or "cosine"
    lr_patience: int = 3
    patience: int = 12                 # early stopping on val accuracy; 0 = off
    class_weight: str = "none"         # "none" or "balanced"
    label_smoothing: float = 0.0
    augment: bool = True
    seed: int = 0
    skip_bad_rows: bool = False
    val_fraction: float = 0.1
    init_from: str = ""                # start from this .h5's weights (same --arch): fine-tune / warm restart
    ferplus: str = ""                  # FER+ fer2013new.csv: mix its votes into the training targets
    ferplus_weight: float = 0.5

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def augmentation(seed):
    """Random flips, rotations (±15°), shifts (±10 %), zoom (±10 %) and erasing; active only in training."""
    import keras
    from keras import layers
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(15 / 360, fill_mode="nearest", seed=seed + 1),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 2),
        layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 3),
        layers.RandomErasing(factor=0.5, scale=(0.02, 0.12), value_range=(0, 255), seed=seed + 4),
    ], name="augment")


def class_weights(y, mode):
    """``"balanced"`` -> {class: n / (7 · count)} (Disgust, the rarest, gets ~9×); ``"none"`` -> None."""
    if mode == "none":
        return None
    if mode != "balanced":
        raise TrainingError(f"unknown class weighting {mode!r}; use 'none' or 'balanced'")
    counts = np.bincount(y, minlength=NUM_CLASSES).astype(float)
    return {c: float(len(y) / (NUM_CLASSES * n)) if n else 0.0 for c, n in enumerate(counts)}


def _one_hot(y):
    return np.eye(NUM_CLASSES, dtype=np.float32)[y]


def _build_training_model(config, steps_per_epoch):
    import keras
    from .models import build_model
    base = build_model(config.arch)
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 1), name="face")
    x = augmentation(config.seed)(inputs) if config.augment else inputs
    model = keras.Model(inputs, base(x), name="trainer")
    lr = config.lr
    if config.schedule == "cosine":
        lr = _cosine(config, steps_per_epoch)
    elif config.schedule != "plateau":
        raise TrainingError(f"unknown schedule {config.schedule!r}; use 'plateau' or 'cosine'")
    model.compile(optimizer=keras.optimizers.AdamW(lr, weight_decay=config.weight_decay),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    return model


def _cosine(config, steps_per_epoch):
    """Cosine decay from ``config.lr`` to 0 at the end of epoch ``config.epochs`` (a function of the step count)."""
    import keras
    return keras.optimizers.schedules.CosineDecay(config.lr, decay_steps=config.epochs * steps_per_epoch)


def load_initial_weights(base, path):
    """Copy the weights of the model in ``path`` (a .h5 or a run folder) into ``base``; same architecture only."""
    from .classifier import ModelError, load_keras_model, resolve_model_path
    try:
        path = resolve_model_path(path)
        source = load_keras_model(path)
    except ModelError as e:
        raise TrainingError(f"--init-from: {e}") from None
    theirs, ours = source.get_weights(), base.get_weights()
    if len(theirs) != len(ours) or any(a.shape != b.shape for a, b in zip(theirs, ours)):
        raise TrainingError(f"--init-from: {path} holds a different network ({source.count_params():,} parameters) "
                            f"than --arch builds ({base.count_params():,}); pass the --arch it was trained with "
                            f"(see its emotion_cnn.json, \"arch\").")
    base.set_weights(theirs)
    print(f"starting from the weights of {path}")


def _check_out(out, resume, replace_default):
    if out.resolve() == DEFAULT_MODEL_DIR.resolve() and not replace_default:
        raise TrainingError(f"{out} holds the shipped default model; training will not overwrite it. "
                            "Choose another --out (the default is a new folder under model/), "
                            "or pass --replace-default if you really mean to replace it.")
    if resume:
        if not (out / RESUME_STATE).exists() or not (out / RESUME_MODEL).exists():
            raise TrainingError(f"nothing to resume in {out}: {RESUME_STATE} / {RESUME_MODEL} not found. "
                                "Start a new run without --resume.")
    elif (out / MODEL_FILENAME).exists() or (out / RESUME_STATE).exists():
        raise TrainingError(f"{out} already holds a training run. Pass --resume to continue it, "
                            "or choose a new --out folder.")


def train(config, *, resume=False, replace_default=False, dataset=None, verbose=1, extra_callbacks=()):
    """Train (or resume) a run; returns the metadata dict written beside the model.

    ``dataset``: an already loaded :class:`data.Dataset` (else ``config.data`` is loaded);
    ``extra_callbacks``: more Keras callbacks, run after the checkpointing one.
    """
    import keras

    out = Path(config.out)
    _check_out(out, resume, replace_default)
    if resume:
        state = read_json(out / RESUME_STATE)
        saved = TrainConfig.from_dict(state["config"])
        saved.out = str(out)
        if config.epochs:   # None: keep the saved run's epoch budget
            saved.epochs = config.epochs
        config = saved
    else:
        state = {"config": asdict(config), "history": [], "epochs_done": 0, "started": now_iso()}
    state["config"] = asdict(config)
    keras.utils.set_random_seed(config.seed + state["epochs_done"])

    if dataset is None:
        dataset = load_dataset(config.data, skip_bad=config.skip_bad_rows,
                               val_fraction=config.val_fraction, seed=config.seed)
    print(describe(dataset))
    x_train, y_train = dataset.split("train")
    x_val, y_val = dataset.split("val")
    targets = _one_hot(y_train)
    if config.ferplus:
        from .ferplus import load_votes, soft_targets
        targets = soft_targets(y_train, load_votes(config.ferplus, dataset), config.ferplus_weight)
        print(f"training targets: {1 - config.ferplus_weight:.2f} × FER2013 label + "
              f"{config.ferplus_weight:.2f} × FER+ votes ({config.ferplus})")
    steps = int(np.ceil(len(y_train) / config.batch_size))

    out.mkdir(parents=True, exist_ok=True)
    if resume:
        trainer = keras.models.load_model(out / RESUME_MODEL)
        if config.schedule == "plateau":
            trainer.optimizer.learning_rate = state.get("next_lr", config.lr)
        else:
            # The decay follows the (possibly changed) epoch budget: a longer run keeps learning instead of
            # sitting at LR 0, a shorter one decays faster from where it is.
            trainer.optimizer.learning_rate = _cosine(config, steps)
        print(f"resuming {out} after epoch {state['epochs_done']} "
              f"(best val accuracy {state.get('best_val_accuracy', 0):.4f} at epoch {state.get('best_epoch')})")
    else:
        trainer = _build_training_model(config, steps)
    base = base_of(trainer)
    if config.init_from and not resume:
        load_initial_weights(base, config.init_from)
    print(f"architecture {config.arch}: {base.count_params():,} parameters")

    callbacks = []
    if config.patience:
        callbacks.append(keras.callbacks.EarlyStopping("val_accuracy", mode="max", patience=config.patience))
    if config.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau("val_accuracy", mode="max", factor=0.5,
                                                           patience=config.lr_patience, min_lr=1e-6, verbose=1))
    stop_signals = StopSignals()
    callbacks.append(checkpoint_callback(out, state, list(callbacks), stop_signals))
    callbacks.extend(extra_callbacks)

    interrupted = False
    if state["epochs_done"] >= config.epochs:
        print(f"already trained {state['epochs_done']} of {config.epochs} epochs; pass a larger --epochs to go on.")
    else:
        try:
            with stop_signals:
                trainer.fit(to_model_input(x_train), targets, batch_size=config.batch_size,
                            epochs=config.epochs, initial_epoch=state["epochs_done"],
                            validation_data=(to_model_input(x_val), _one_hot(y_val)),
                            class_weight=class_weights(y_train, config.class_weight),
                            callbacks=callbacks, shuffle=True, verbose=verbose)
        except KeyboardInterrupt:
            interrupted = True
            print(f"\ninterrupted during epoch {state['epochs_done'] + 1}; the last finished epoch is saved.")
    if "best_epoch" not in state:
        raise TrainingError("stopped before the first epoch finished; nothing was saved. Run again.")
    meta = finalize(out, config, state, dataset)
    if interrupted:
        print(f"continue with: python main.py train --resume {out} --epochs {config.epochs}")
    elif len(y_val):
        from .calibrate import calibrate, describe as describe_blur
        meta["inference"] = calibrate(out / MODEL_FILENAME, dataset)
        print(describe_blur(meta["inference"]))
    return meta


def finalize(out, config, state, dataset):
    """Score the best model on validation and test, and write its metadata JSON."""
    import keras
    model = keras.models.load_model(out / MODEL_FILENAME, compile=False)
    scores = {}
    for split in ("val", "test"):
        x, y = dataset.splits[split]
        if len(y):
            probs = model.predict(to_model_input(x), batch_size=512, verbose=0)
            scores[split] = float(np.mean(probs.argmax(1) == y))
    meta = {
        "format": "emorec-model/1",
        "classes": list(EMOTIONS),
        "input_size": INPUT_SIZE,
        "input": f"N×{INPUT_SIZE}×{INPUT_SIZE}×1 float32, gray values 0..255",
        "preprocessing": PREPROCESSING,
        "arch": config.arch,
        "params": int(model.count_params()),
        "config": asdict(config),
        "data": {"source": dataset.source, "sha256": dataset.sha256, "counts": dataset.counts(),
                 "skipped": len(dataset.skipped)},
        "epochs_run": state["epochs_done"],
        "best_epoch": state["best_epoch"],
        "val_accuracy": scores.get("val"),
        "test_accuracy": scores.get("test"),
        "train_seconds": round(state.get("train_seconds", 0.0), 1),
        "backend": keras.backend.backend(),
        "created": now_iso(),
        "versions": library_versions(),
    }
    write_json(metadata_path(out / MODEL_FILENAME), meta)
    print(f"best model: {out / MODEL_FILENAME} (epoch {meta['best_epoch']} of {meta['epochs_run']}); "
          f"validation accuracy {_pct(meta['val_accuracy'])}, test accuracy {_pct(meta['test_accuracy'])}")
    return meta


def _pct(v):
    return "n/a" if v is None else f"{100 * v:.2f} %"

