"""Training: a dataset and a :class:`TrainConfig` in, a run folder out.

``train()`` reads as three steps: :func:`prepare` (check the run folder and the data, build or restore the
trainer), :func:`fit` (the epochs; each one commits the run's resume record, see :mod:`emorec.training.checkpoint`)
and :func:`finish` (write the best model's metadata, choose its input blur and build it into the model).
Ctrl-C, ``kill`` (SIGTERM) or a killed process loses at most the epoch in progress; ``resume=True`` goes on.
``config.devices`` above 1 trains data parallel on several GPUs with Keras's JAX backend
(:mod:`emorec.training.devices`).
"""

import argparse
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from emorec.common.argtypes import number
from emorec.common.artifacts import file_sha256, library_versions, metadata_path, now_iso, write_json
from emorec.common.errors import TrainingError, output_error
from emorec.common.invocation import command
from emorec.common.labels import EMOTIONS, INPUT_SIZE, MODEL_FILENAME, NUM_CLASSES, shipped_model_name
from emorec.core.preprocess import PREPROCESSING, to_model_input
from emorec.network.architectures import ARCHITECTURES, DEFAULT_ARCH
from emorec.training.batches import epoch_batches, reseeding
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
from emorec.training.data import Dataset, describe, load_dataset
from emorec.training.devices import device_count, distribute, plan, usable, validation_data
from emorec.training.precision import PRECISIONS, resolve

log = logging.getLogger(__name__)


def option(default, help, **flag):
    """A config field that is also a command-line flag: ``help`` text and argparse keywords in its metadata."""
    return field(default=default, metadata={"help": help, **flag})


@dataclass
class TrainConfig:
    """Everything a run depends on. Each field is also a flag of `main.py train` (see :func:`add_config_flags`);
    its default here is the one default."""
    data: str = option("", "fer2013.csv(.gz), or a folder with train/ and test/ class folders (required unless "
                           "--resume)", metavar="PATH")
    out: str = option("", "run folder (default: a new folder model/<arch>-<date-time>)", metavar="DIR")
    arch: str = option(DEFAULT_ARCH, "vgg: 2 convs per stage, 32-256 wide; vgg-wide: the same 48-384 wide (the "
                                     "shipped model, 264 M multiply-adds per face); the small family for slow CPUs: "
                                     "vgg-slim (vgg-wide at 0.55x width, 78 M), vgg-lite (a one-conv first stage, "
                                     "then 56-224 wide, 75 M), res-lite (vgg-lite with residual stages, 78 M), "
                                     "vgg-tiny (vgg-lite at half the cost, 39 M), sep (depthwise-separable, 48-512 "
                                     "wide, 50 M); deep: the seeds' 4-conv 64/128/512/512 network; shallow: the "
                                     "seeds' 2-conv network", choices=sorted(ARCHITECTURES))
    epochs: int = option(60, "maximum epochs; --resume keeps the saved run's budget unless this is given",
                         type=number(int, 1))
    batch_size: int = option(128, "images per training step, over all --devices together", type=number(int, 1))
    devices: str = option("1", "devices (GPUs) to train on at once: N or all. Above 1, training is data parallel on "
                               "Keras's JAX backend (requirements-cluster.txt); each step's "
                               "--batch-size is split evenly over them, so N devices make the same updates as one. "
                               "To use their throughput, raise --batch-size ×N and --lr ×N (linear scaling). "
                               "A property of the machine: --resume keeps the run's count unless this is given",
                          type=device_count, metavar="N")
    lr: float = option(1e-3, "AdamW learning rate", type=number(float, 0, low_open=True))
    weight_decay: float = option(1e-4, "AdamW weight decay", type=number(float, 0))
    schedule: str = option("plateau", "plateau: halve the LR after --lr-patience epochs without a validation "
                                      "accuracy gain; cosine: decay to 0 over --epochs", choices=("plateau", "cosine"))
    lr_patience: int = option(3, "epochs without a validation accuracy gain before the plateau schedule halves "
                                 "the LR", type=number(int, 1))
    patience: int = option(12, "early stopping: epochs without a validation accuracy gain (0 = off)",
                           type=number(int, 0))
    class_weight: str = option("none", "balanced: weight each class by n/(7·count) to help rare classes (Disgust)",
                               choices=("none", "balanced"))
    label_smoothing: float = option(0.0, "label smoothing of the cross-entropy loss, 0..1",
                                    type=number(float, 0, 1))
    augment: bool = option(True, "flips, rotations, shifts, zoom and erasing of training images")
    seed: int = option(0, "seed for weights, shuffling, augmentation and splits", type=int)
    skip_bad_rows: bool = option(False, "leave out malformed CSV rows / unreadable images (and report how many) "
                                        "instead of stopping")
    val_fraction: float = option(0.1, "share of train held out for validation when the data has no validation "
                                      "split", type=number(float, 0, 1, low_open=True))
    init_from: str = option("", "start from this model's weights (a .h5 or run folder of the same --arch), e.g. to "
                                "fine-tune the shipped model on your data or give a finished run another LR cycle",
                            metavar="MODEL")
    ferplus: str = option("", "FER+ votes (fer2013new.csv, Kaggle CSV data only): train on a mix of the FER2013 "
                              "label and the 10 annotators' vote shares; validation and test keep the FER2013 labels",
                          metavar="CSV")
    ferplus_weight: float = option(0.5, "share of the FER+ votes in the training targets, 0..1",
                                   type=number(float, 0, 1))
    mixup: float = option(0.0, "mixup (keras.layers.MixUp): blend each training image and its target with another "
                               "image of the batch, the share drawn from Beta(α, α); α, e.g. 0.2 (0 = off)",
                          type=number(float, 0), metavar="ALPHA")
    cutmix: float = option(0.0, "CutMix (keras.layers.CutMix): paste a box from another image of the batch, targets "
                                "mixed by area; each batch draws α uniformly from 0..FACTOR and each box's area "
                                "share from Beta(α, α), so a smaller FACTOR gives more extreme boxes; 1 is the "
                                "paper's setting (0 = off). With --mixup too, each batch gets one of the two",
                           type=number(float, 0, 1), metavar="FACTOR")
    teacher: str = option("", "knowledge distillation: a trained model (run folder or .h5, any --arch, e.g. "
                              "model/default) whose softened probabilities (its face and mirror averaged, on each "
                              "training image, computed once at the start) join the training targets",
                          metavar="MODEL")
    teacher_weight: float = option(0.5, "share of the teacher's probabilities in the training targets, 0..1",
                                   type=number(float, 0, 1))
    precision: str = option("auto", "compute precision: bfloat16 (Keras's mixed_bfloat16: weights stay float32, "
                                    "convolutions run in bf16, about 2x faster on CPUs with native bf16 units, "
                                    "Intel AMX or AVX512-BF16); float32; auto = bfloat16 where the CPU has those "
                                    "units, else float32 (emulated bf16 is slower). Saved models are float32 "
                                    "either way; --resume keeps the run's",
                            choices=PRECISIONS)
    teacher_temperature: float = option(2.0, "softening of the teacher's probabilities: p^(1/T), renormalised "
                                             "(1 = as they are; higher = flatter)",
                                        type=number(float, 0, low_open=True))

    #: fields holding paths, made absolute so that --resume works from any working directory
    PATHS = ("data", "init_from", "ferplus", "teacher")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`TrainConfig` field (``lr_patience`` → ``--lr-patience``; a boolean that defaults to
    True becomes ``--no-...``). Flags default to None, so :func:`config_from_args` can tell what was given."""
    for f in fields(TrainConfig):
        meta = dict(f.metadata)
        help_text = meta.pop("help")
        name = "--" + f.name.replace("_", "-")
        if f.type is bool or isinstance(f.default, bool):
            if f.default:
                parser.add_argument(f"--no-{name[2:]}", dest=f.name, action="store_false", default=None,
                                    help=f"turn off: {help_text}")
            else:
                parser.add_argument(name, action="store_true", default=None, help=help_text)
            continue
        if f.default not in ("", None) and "default" not in help_text:
            help_text += f" (default: {f.default})"
        parser.add_argument(name, default=None, **{"type": f.type if isinstance(f.type, type) else None, **meta},
                            help=help_text)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """A :class:`TrainConfig` from parsed flags: what was given, and each field's default for the rest."""
    values: dict[str, Any] = {}
    for f in fields(TrainConfig):
        given = getattr(args, f.name, None)
        values[f.name] = f.default if given is None else given
        if f.name in TrainConfig.PATHS and values[f.name]:
            values[f.name] = str(Path(values[f.name]).resolve())
    return TrainConfig(**values)


def given_flags(args: argparse.Namespace) -> set[str]:
    """Names of the :class:`TrainConfig` fields set on the command line."""
    return {f.name for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}


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


def class_weights(y: np.ndarray, mode: str) -> dict[int, float] | None:
    """``"balanced"`` -> {class: n / (7 · count)} (Disgust, the rarest, gets ~9×); ``"none"`` -> None."""
    if mode == "none":
        return None
    if mode != "balanced":
        raise TrainingError(f"unknown class weighting {mode!r}; use 'none' or 'balanced'")
    counts = np.bincount(y, minlength=NUM_CLASSES).astype(float)
    return {c: float(len(y) / (NUM_CLASSES * n)) if n else 0.0 for c, n in enumerate(counts)}


def _one_hot(y):
    return np.eye(NUM_CLASSES, dtype=np.float32)[y]


def _cosine(config, steps_per_epoch):
    """Cosine decay from ``config.lr`` to 0 at the end of epoch ``config.epochs`` (a function of the step count)."""
    import keras
    return keras.optimizers.schedules.CosineDecay(config.lr, decay_steps=config.epochs * steps_per_epoch)


def _build_trainer(config, steps_per_epoch):
    import keras

    from emorec.network.architectures import build_model
    from emorec.training.precision import policy
    with policy(resolve(config.precision)):
        inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 1), name="face")
        x = augmentation(config.seed)(inputs) if config.augment else inputs
        model = keras.Model(inputs, build_model(config.arch)(x), name="trainer")
    lr = _cosine(config, steps_per_epoch) if config.schedule == "cosine" else config.lr
    model.compile(optimizer=keras.optimizers.AdamW(lr, weight_decay=config.weight_decay),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    return model


def load_initial_weights(base, path):
    """Copy the weights of the model in ``path`` (a .h5 or a run folder) into ``base``; same architecture only.
    A built-in input blur is left out: training learns the bare network, and its completion chooses a blur."""
    from emorec.common.errors import ModelError
    from emorec.network.architectures import without_input_blur
    from emorec.network.files import load_keras_model, resolve_model_path
    try:
        path = resolve_model_path(path)
        source = without_input_blur(load_keras_model(path))
    except ModelError as e:
        raise TrainingError(f"--init-from: {e}") from None
    theirs, ours = source.get_weights(), base.get_weights()
    if len(theirs) != len(ours) or any(a.shape != b.shape for a, b in zip(theirs, ours)):
        raise TrainingError(f"--init-from: {path} holds a different network ({source.count_params():,} parameters) "
                            f"than --arch builds ({base.count_params():,}); pass the --arch it was trained with "
                            f"(see its emotion_cnn.json, \"arch\").")
    base.set_weights(theirs)
    log.info(f"starting from the weights of {path}")


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
    if config.teacher:
        from emorec.common.errors import ModelError
        from emorec.network.files import resolve_model_path
        try:
            resolve_model_path(config.teacher)
        except ModelError as e:
            raise TrainingError(f"--teacher: {e}") from None
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

    from emorec.common.quiet import import_keras
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
        trainer.optimizer.learning_rate = record["next_lr"] if config.schedule == "plateau" else _cosine(config, steps)
        log.info(f"resuming {out} after epoch {epochs_done} "
              f"(best val accuracy {record['best_val_accuracy']:.4f} at epoch {record['best_epoch']})")
    else:
        record = {"config": asdict(config), "history": [], "epochs_done": 0, "started": now_iso(),
                  "precision": resolve(config.precision)}
        trainer = _build_trainer(config, steps)
        if config.init_from:
            load_initial_weights(base_of(trainer), config.init_from)
    record["config"] = asdict(config)
    log.info(describe(dataset))
    record["params"] = int(base_of(trainer).count_params())
    from emorec.training.precision import precision_of
    record["precision"] = precision_of(trainer)
    log.info(f"architecture {config.arch}: {record['params']:,} parameters; {record['precision']} compute")
    return Run(config, out, record, dataset, trainer, devices)


def training_targets(config: TrainConfig, dataset: Dataset) -> np.ndarray:
    """One-hot labels, or with ``config.ferplus`` the FER2013 label mixed with the FER+ vote shares; with
    ``config.teacher`` either of those mixed with the teacher's softened probabilities (:func:`distilled`)."""
    x, y = dataset.split("train")
    targets = _one_hot(y)
    if config.ferplus:
        from emorec.training.ferplus import load_votes, soft_targets
        log.info(f"training targets: {1 - config.ferplus_weight:.2f} × FER2013 label + "
              f"{config.ferplus_weight:.2f} × FER+ votes ({config.ferplus})")
        targets = soft_targets(y, load_votes(config.ferplus, dataset), config.ferplus_weight)
    if config.teacher:
        w = config.teacher_weight
        base = "targets above" if config.ferplus else "FER2013 labels"
        log.info(f"distilling: {1 - w:.2f} × the {base} + {w:.2f} × the teacher's probabilities at "
                 f"temperature {config.teacher_temperature:g} ({config.teacher})")
        targets = ((1 - w) * targets + w * teacher_targets(config.teacher, x, config.teacher_temperature))
    return targets.astype(np.float32)


def teacher_targets(teacher: str, x: np.ndarray, temperature: float) -> np.ndarray:
    """The teacher model's probabilities for the N×48×48 uint8 training images (each face averaged with its
    mirror, through the model's LiteRT export and its input blur, as the app runs it), softened: p^(1/T),
    renormalised. Computed once per run (and again on a resume: the same numbers)."""
    from emorec.common.errors import ModelError
    from emorec.core.classifier import Classifier
    try:
        classifier = Classifier(teacher)
    except ModelError as e:
        raise TrainingError(f"--teacher: {e}") from None
    probs = classifier.predict(x, tta=True).astype(np.float64)
    soft = np.power(np.clip(probs, 1e-12, 1.0), 1.0 / temperature)
    return (soft / soft.sum(axis=1, keepdims=True)).astype(np.float32)


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
    validation = validation_data(to_model_input(x_val), _one_hot(y_val), run.devices)
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


def build_training_state(trainer, x, y):
    """Create the optimizer's and the metrics' variables now, from one example. Keras on TensorFlow leaves that
    to the first trace of the training step, and TensorFlow, seeing variables created there, traces the step a
    second time: seconds per run, most of a tiny run's time."""
    import keras
    if keras.backend.backend() != "tensorflow":
        return          # Keras builds them before tracing on the other backends
    if not trainer.optimizer.built:
        trainer.optimizer.build(trainer.trainable_variables)
    trainer.compute_metrics(x, y, trainer(x, training=False))


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
        from emorec.training.calibrate import calibrate as choose_blur
        from emorec.training.calibrate import describe as describe_blur
        meta["input_blur"] = choose_blur(run.out / MODEL_FILENAME, run.dataset)
        log.info(describe_blur(meta["input_blur"]))
    return meta


def _calibrate_later(run, backend):
    """What to run instead, where TensorFlow is: the input blur is scored through the LiteRT export, which
    converts the model with TensorFlow and cannot convert a model living on another backend."""
    import shlex
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
    from emorec.common.artifacts import read_json
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
