"""Training: a dataset and a :class:`TrainConfig` in, a run folder out.

``train()`` reads as three steps: :func:`prepare` (check the run folder and the data, build or restore the
trainer), :func:`fit` (the epochs; each one commits the run's resume record, see :mod:`emorec.training.checkpoint`)
and :func:`finish` (write the best model's metadata, choose its input blur and build it into the model).
Ctrl-C, ``kill`` (SIGTERM) or a killed process loses at most the epoch in progress; ``resume=True`` goes on.
``config.devices`` above 1 trains data parallel on several GPUs with Keras's JAX backend
(:mod:`emorec.training.devices`). The run's parts live beside it: its configuration in
:mod:`emorec.training.config`, its targets in :mod:`emorec.training.targets`, the Keras trainer in
:mod:`emorec.training.trainer`.
"""

import logging
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emorec.common.artifacts import file_sha256, library_versions, metadata_path, now_iso, read_json, write_json
from emorec.common.errors import ModelError, TrainingError, output_error
from emorec.common.invocation import command
from emorec.common.labels import EMOTIONS, INPUT_SIZE, MODEL_FILENAME, shipped_model_name
from emorec.common.quiet import import_keras
from emorec.core.preprocess import PREPROCESSING, to_model_input
from emorec.network.files import model_digest, resolve_model_path
from emorec.training.batches import epoch_batches, reseeding
from emorec.training.calibrate import calibrate as choose_blur
from emorec.training.calibrate import describe as describe_blur
from emorec.training.checkpoint import (
    RECORD,
    StopSignals,
    base_of,
    checkpoint_callback,
    clean_leftovers,
    publish,
    read_record,
    save_curves,
)
from emorec.training.config import TrainConfig
from emorec.training.data import Dataset, describe, load_dataset
from emorec.training.devices import distribute, plan, usable, validation_data
from emorec.training.precision import precision_of, resolve
from emorec.training.targets import class_weights, one_hot, training_targets
from emorec.training.trainer import build_trainer, build_training_state, cosine, load_initial_weights

log = logging.getLogger(__name__)


def check_run_folder(out: str | Path, resume: bool, replace_default: bool = False) -> dict[str, Any] | None:
    """Refuse a run folder that cannot be used as asked; returns its resume record (None for a new run)."""
    out = Path(out)
    shipped = shipped_model_name(out)
    if shipped is not None and not replace_default:
        raise TrainingError(f"{out} holds the shipped {shipped} model; training will not overwrite it. "
                            "Choose another --out (the default is a new folder under model/), "
                            "or pass --replace-default if you really mean to replace it.")
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--out {out} is a file, not a folder; choose a folder name for the run.")
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise TrainingError(f"--out {out} is inside {blocking}, which is a file; choose another run folder.")
    record = read_record(out) if out.is_dir() else None
    if resume and record is None:
        raise TrainingError(f"nothing to resume in {out}: no finished epoch ({RECORD} not found). "
                            "Start a new run without --resume.")
    if not resume and (record is not None or (out / MODEL_FILENAME).exists()):
        raise TrainingError(f"{out} already holds a training run. Pass --resume to continue it, "
                            "or choose a new --out folder.")
    return record


@dataclass
class Run:
    """What :func:`prepare` hands to :func:`fit` and :func:`finish`: the run's config and folder, its resume
    record (a JSON-able dict, committed per epoch), the data, the Keras trainer, and how many devices it runs on."""
    config: TrainConfig
    out: Path
    record: dict[str, Any]
    dataset: Dataset
    trainer: Any            # keras.Model (Keras is imported only when a run is prepared)
    devices: int = 1


def prepare(config: TrainConfig, *, resume: bool = False, replace_default: bool = False,
            dataset: Dataset | None = None) -> Run:
    """Check the run folder, the devices and the data (before Keras is imported, so mistakes are reported at
    once), then build the trainer, or restore it from the resume record (under the devices' distribution, so
    that its weights are placed on them)."""
    out = Path(config.out)
    record = check_run_folder(out, resume, replace_default)
    if resume:
        assert record is not None          # check_run_folder refuses a resume without one
        saved = TrainConfig.from_dict(record["config"])
        saved.out = str(out)
        saved.epochs = config.epochs or saved.epochs      # a new epoch budget may be given; the rest is the run's,
        saved.devices = config.devices or saved.devices   # but for the devices, which belong to the machine
        config = saved
    device_names = plan(config.devices, config.batch_size)
    teacher_digest = None
    if config.teacher:
        try:
            teacher_digest = model_digest(resolve_model_path(config.teacher))
        except ModelError as e:
            raise TrainingError(f"--teacher: {e}") from None
        if record and record.get("teacher_sha256") not in (None, teacher_digest):
            log.warning(f"the teacher {config.teacher} has changed since this run started (retrained, recalibrated "
                        "or another member): the targets from here on are not those of its first epochs")
    if dataset is None:
        dataset = load_dataset(config.data, skip_bad=config.skip_bad_rows,
                               val_fraction=config.val_fraction, seed=config.seed)
    if len(dataset.splits["val"][1]) == 0:
        raise TrainingError(f"{dataset.source} has no validation images; training chooses its best epoch on them. "
                            "Use more data, or a larger --val-fraction.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        clean_leftovers(out, record)
    except OSError as e:
        raise output_error(out, e, what="create the run folder") from None

    keras = import_keras()
    devices = distribute(device_names, keras)
    if len(dataset.splits["train"][1]) < devices:
        raise TrainingError(f"{dataset.source} has fewer training images than --devices {config.devices}.")
    epochs_done = record["epochs_done"] if record else 0
    keras.utils.set_random_seed(config.seed + epochs_done)
    steps = int(np.ceil(usable(len(dataset.splits["train"][1]), devices) / config.batch_size))
    if record:
        publish(out, record)   # copies a kill left behind the record catch up with it
        try:
            trainer = keras.models.load_model(out / record["checkpoint"])
        except Exception as e:  # Keras and h5py raise many types for a damaged file
            raise TrainingError(f"{out / record['checkpoint']} (epoch {epochs_done}'s checkpoint) is damaged "
                                f"({type(e).__name__}); the run cannot be resumed. Start a new run; its best model "
                                f"so far, {out / MODEL_FILENAME}, is still usable.") from None
        # plateau: the learning rate the run had reached; cosine: the decay re-planned over the (maybe new) budget
        trainer.optimizer.learning_rate = record["next_lr"] if config.schedule == "plateau" else cosine(config, steps)
        log.info(f"resuming {out} after epoch {epochs_done} "
              f"(best val accuracy {record['best_val_accuracy']:.4f} at epoch {record['best_epoch']})")
    else:
        record = {"config": asdict(config), "history": [], "epochs_done": 0, "started": now_iso(),
                  "precision": resolve(config.precision)}
        trainer = build_trainer(config, steps)
        if config.init_from:
            load_initial_weights(base_of(trainer), config.init_from)
    record["config"] = asdict(config)
    if teacher_digest:
        record.setdefault("teacher_sha256", teacher_digest)   # what the run started from
    log.info(describe(dataset))
    record["params"] = int(base_of(trainer).count_params())
    record["precision"] = precision_of(trainer)
    log.info(f"architecture {config.arch}: {record['params']:,} parameters; {record['precision']} compute")
    return Run(config, out, record, dataset, trainer, devices)


def fit(run: Run, *, verbose: int = 1, extra_callbacks: Sequence[Any] = ()) -> bool:
    """Train the remaining epochs; returns True if Ctrl-C or SIGTERM stopped the run (the last finished epoch
    is committed), False when it ran to its end or stopped early."""
    config, record = run.config, run.record
    if record["epochs_done"] >= config.epochs:
        log.info(f"already trained {record['epochs_done']} of {config.epochs} epochs; pass a larger --epochs to go on.")
        return False
    x_train, y_train = run.dataset.split("train")
    x_val, y_val = run.dataset.split("val")
    targets = training_targets(config, run.dataset)
    mixing = [name for name, on in ((f"mixup (α {config.mixup:g})", config.mixup),
                                    (f"CutMix (factor {config.cutmix:g})", config.cutmix)) if on]
    if mixing:
        log.info(f"mixing each training batch with {' or '.join(mixing)}")
    stop_signals = StopSignals()
    callbacks = [reseeding(config.seed), checkpoint_callback(run.out, record, config, stop_signals),
                 *extra_callbacks]
    weight_of = class_weights(y_train, config.class_weight)
    weights = None if weight_of is None else np.array([weight_of[c] for c in y_train], np.float32)
    batches = epoch_batches(x_train, targets, weights, config, record["epochs_done"], run.devices)
    # several devices: every batch, validation's too, must split evenly over them (see emorec.training.devices)
    validation = validation_data(to_model_input(x_val), one_hot(y_val), run.devices)
    validation_batch_size = config.batch_size if run.devices > 1 else None
    build_training_state(run.trainer, validation[0][:1], validation[1][:1])
    try:
        with stop_signals:
            run.trainer.fit(batches, epochs=config.epochs, initial_epoch=record["epochs_done"],
                            validation_data=validation, validation_batch_size=validation_batch_size,
                            callbacks=callbacks, verbose=verbose)
    except KeyboardInterrupt:
        done = record["epochs_done"]
        log.info(f"\ninterrupted during epoch {done + 1}" + ("; the last finished epoch is saved." if done else "."))
        return True
    return False


def finish(run: Run, interrupted: bool, calibrate: bool = True) -> dict[str, Any]:
    """Write the best model's metadata; for a completed run also choose its input blur and build it into the
    model. Returns the metadata."""
    if "best_epoch" not in run.record:
        raise TrainingError("stopped before the first epoch finished; nothing was saved. Run again.")
    save_curves(run.record["history"], run.out / "curves.png")
    meta = write_metadata(run.out, run.config, run.record, run.dataset)
    if interrupted:
        log.info(f"continue with: {command()} train --resume {run.out} --epochs {run.config.epochs}")
    elif calibrate and meta["backend"] != "tensorflow":
        log.info(_calibrate_later(run, meta["backend"]))
    elif calibrate:
        meta["input_blur"] = choose_blur(run.out / MODEL_FILENAME, run.dataset)
        log.info(describe_blur(meta["input_blur"]))
    return meta


def _calibrate_later(run, backend):
    """What to run instead, where TensorFlow is: the input blur is scored through the LiteRT export, which
    converts the model with TensorFlow and cannot convert a model living on another backend."""
    flags = ["--model", str(run.out), "--data", run.config.data or str(run.dataset.source)]
    if run.config.skip_bad_rows:
        flags.append("--skip-bad-rows")
    return (f"the input blur is chosen through a TensorFlow (LiteRT) export, and this run trained on {backend}; "
            f"to choose it and build it into the model, run where TensorFlow is installed: "
            f"{command()} calibrate {shlex.join(flags)}")


def train(config: TrainConfig, *, resume: bool = False, replace_default: bool = False,
          dataset: Dataset | None = None, verbose: int = 1, extra_callbacks: Sequence[Any] = (),
          calibrate: bool = True) -> dict[str, Any]:
    """Train (or resume) a run; returns the metadata dict written beside the model.

    ``dataset``: an already loaded :class:`data.Dataset` (else ``config.data`` is loaded);
    ``extra_callbacks``: more Keras callbacks, run after the checkpointing one;
    ``calibrate``: choose the input blur on the validation split when the run completes.
    """
    run = prepare(config, resume=resume, replace_default=replace_default, dataset=dataset)
    return finish(run, fit(run, verbose=verbose, extra_callbacks=extra_callbacks), calibrate)


def _input_blur_of(model_path):
    """The input-blur record of the model file as calibrate left it, if the file is still that one (an epoch
    that improved since replaced it with a bare network, and the record no longer applies)."""
    try:
        blur = read_json(metadata_path(model_path)).get("input_blur")
        return blur if blur and blur.get("model_sha256") == file_sha256(model_path) else None
    except (OSError, ValueError, AttributeError):
        return None


def write_metadata(out, config, record, dataset):
    """Write the best model's metadata JSON beside it. Its validation accuracy is the one Keras measured at
    its epoch (the float model on the whole validation split). The test split is not scored here: it is
    reported once, by ``main.py evaluate``, for the model one ships.
    """
    import keras
    val_accuracy = float(record["best_val_accuracy"])
    meta = {
        "format": "emorec-model/1",
        "classes": list(EMOTIONS),
        "input_size": INPUT_SIZE,
        "input": f"N×{INPUT_SIZE}×{INPUT_SIZE}×1 float32, gray values 0..255",
        "preprocessing": PREPROCESSING,
        "arch": config.arch,
        "params": record["params"],
        "config": asdict(config),
        "data": {"source": dataset.source, "sha256": dataset.sha256, "counts": dataset.counts(),
                 "skipped": len(dataset.skipped)},
        "epochs_run": record["epochs_done"],
        "best_epoch": record["best_epoch"],
        "val_accuracy": val_accuracy,
        "train_seconds": round(record.get("train_seconds", 0.0), 1),
        "backend": keras.backend.backend(),
        "precision": record.get("precision", "float32"),
        "created": now_iso(),
        "versions": library_versions(),
    }
    blur = _input_blur_of(out / MODEL_FILENAME)
    if blur:
        meta["input_blur"] = blur
    write_json(metadata_path(out / MODEL_FILENAME), meta)
    done, planned = meta["epochs_run"], config.epochs or meta["epochs_run"]
    of = f"{done}" if done >= planned else f"the {done} finished before the stop; {planned} planned"
    log.info(f"best model: {out / MODEL_FILENAME} (epoch {meta['best_epoch']} of {of}); "
          f"validation accuracy {100 * val_accuracy:.2f} % (the float model, as Keras measured it)")
    return meta
