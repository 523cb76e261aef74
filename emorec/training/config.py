"""A training run's configuration: :class:`TrainConfig`, whose fields are the flags of ``main.py train``
(:mod:`emorec.common.options`), each default written once, in its field."""

import argparse
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from emorec.common.argtypes import number
from emorec.common.options import add_flags, from_args, given, option
from emorec.network.architectures import ARCHITECTURES, DEFAULT_ARCH
from emorec.training.devices import device_count
from emorec.training.precision import PRECISIONS


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
    """One flag per :class:`TrainConfig` field. Flags default to None (their help names the default), so that
    :func:`given_flags` can tell what was given, as ``--resume`` needs."""
    add_flags(parser, TrainConfig, unset_is_none=True)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """A :class:`TrainConfig` from parsed flags: what was given, and each field's default for the rest; paths
    made absolute."""
    config = from_args(TrainConfig, args)
    for name in TrainConfig.PATHS:
        if getattr(config, name):
            setattr(config, name, str(Path(getattr(config, name)).resolve()))
    return config


def given_flags(args: argparse.Namespace) -> set[str]:
    """Names of the :class:`TrainConfig` fields set on the command line."""
    return given(TrainConfig, args)
