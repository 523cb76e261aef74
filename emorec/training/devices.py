"""Training on several devices at once (``main.py train --devices N|all``): Keras's own data parallelism.

With more than one device, training runs on Keras's JAX backend under ``keras.distribution.DataParallel``
(Keras's distribution API exists for JAX only): the weights are replicated on every device, each step's
batch is split into equal slices, one per device, and the gradients are averaged by an all-reduce that
XLA compiles into the training step. Nothing here averages gradients by hand.

``--batch-size`` stays the whole step's batch (the *global* batch), so with the same ``--batch-size`` and
``--lr`` N devices compute the same updates as one (BatchNorm too: its statistics are taken over the
whole batch), only faster per step. To use N devices' throughput, raise ``--batch-size`` ×N and scale
``--lr`` linearly, ×N (Goyal et al. 2017, "Accurate, Large Minibatch SGD"); at large batches a short
warmup of the learning rate helps.

Each device must get an equal slice, so ``--batch-size`` must be a multiple of the device count. An epoch's
last, partial batch is cut to a multiple of it too: each epoch leaves out at most N-1 images (the last of
that epoch's shuffled order, so different ones each epoch). Validation uses every image (see
:func:`validation_data`).
"""

import argparse
import logging
import os
import sys

import numpy as np

from emorec.common.errors import TrainingError
from emorec.common.invocation import command, python

log = logging.getLogger(__name__)

ALL = "all"


def install_jax():
    return (f'{python()} -m pip install -r requirements-cluster.txt (on NVIDIA GPUs then: {python()} -m pip install '
            '"jax[cuda12]", JAX\'s CUDA build)')


def device_count(text):
    """The argparse type of ``--devices``: a whole number ≥ 1, or ``all``; returned as a string ("2", "all")."""
    text = text.strip().lower()
    if text == ALL:
        return ALL
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of devices; give a whole number "
                                         "(e.g. 2) or 'all'") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (or 'all'), got {text}")
    return str(n)


def _jax(devices):
    """JAX, once it is sure that Keras runs on it already or can be imported on it (Keras reads
    ``KERAS_BACKEND`` once, at import)."""
    keras = sys.modules.get("keras")
    if keras is not None:
        backend = keras.backend.backend()
        if backend != "jax":
            raise TrainingError(f"--devices {devices} trains with Keras's JAX backend, but Keras is already loaded "
                                f"with the {backend} backend in this process. Run `{command()} train` in a new "
                                "process (it chooses JAX itself), or set KERAS_BACKEND=jax before Keras is imported.")
    elif os.environ.get("KERAS_BACKEND", "jax") != "jax":
        raise TrainingError(f"--devices {devices} trains with Keras's JAX backend, but KERAS_BACKEND="
                            f"{os.environ['KERAS_BACKEND']} is set; unset it (or set KERAS_BACKEND=jax).")
    try:
        import jax
    except ImportError:
        raise TrainingError(f"--devices {devices} trains with Keras's JAX backend, and JAX is not installed: "
                            f"{install_jax()}.") from None
    return jax


def choose(devices, available, batch_size):
    """The devices a run uses: the first ``devices`` ("N" or "all") of ``available`` (JAX's device names,
    e.g. ["gpu:0", "gpu:1"]); refuses a count the machine lacks or a batch that does not split evenly."""
    n = len(available) if devices == ALL else int(devices)
    if n > len(available):
        hint = "" if any(not name.startswith("cpu") for name in available) else \
            f'. JAX sees no GPU here; for NVIDIA GPUs install its CUDA build: {python()} -m pip install "jax[cuda12]"'
        raise TrainingError(f"--devices {devices}: this machine has {len(available)} JAX device"
                            f"{'s' if len(available) != 1 else ''} ({', '.join(available)}); pass --devices "
                            f"{len(available)} or --devices all{hint}.")
    if batch_size % n:
        lower, higher = batch_size - batch_size % n, batch_size - batch_size % n + n
        raise TrainingError(f"--batch-size {batch_size} does not split evenly over {n} devices; use a multiple of "
                            f"{n}, e.g. {higher}" + (f" or {lower}." if lower else "."))
    return available[:n]


def plan(devices, batch_size):
    """Before Keras is imported: ``None`` for ``--devices 1`` (one device, on whichever backend is set, as
    always), else the chosen JAX device names, with ``KERAS_BACKEND=jax`` set for the import to come."""
    if devices == "1":
        return None
    jax = _jax(devices)
    try:
        available = jax.devices()
    except RuntimeError as e:      # e.g. a CUDA build of JAX that finds no usable driver
        raise TrainingError(f"--devices {devices}: JAX could not start its devices ({' '.join(str(e).split())[:300]}); "
                            "check the GPU driver, or the JAX install: " + install_jax()) from None
    names = choose(devices, [f"{d.platform}:{d.id}" for d in available], batch_size)
    os.environ["KERAS_BACKEND"] = "jax"
    return names


def distribute(names, keras):
    """Set Keras's distribution for the models built or loaded from now on: data parallel over ``names``
    (two or more), or none. Returns the device count."""
    if names is None or len(names) == 1:
        if keras.distribution.distribution() is not None:
            keras.distribution.set_distribution(None)
        if names:
            log.info(f"training on 1 device ({names[0]})")
        return 1
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=list(names)))
    log.info(f"training on {len(names)} devices ({', '.join(names)}), data parallel: each step's batch is split "
          f"into {len(names)} equal slices")
    return len(names)


def usable(n_images, n_devices):
    """How many images of each epoch's shuffled order are trained on: all but the last ``n_images % n_devices``,
    so that the last batch splits evenly too."""
    return n_images - n_images % n_devices


def validation_data(x, y, n_devices):
    """``(x, y)``, or, when the count does not split evenly over the devices, ``(x, y, weights)`` padded with
    copies of the first images weighted 0 and the real ones weighted ``padded / n``. Keras averages a batch's
    loss over all its rows and weights each batch by its row count, so that weight makes the validation loss
    and accuracy exactly those of the ``n`` real images."""
    n = len(y)
    pad = -n % n_devices
    if pad == 0:
        return x, y
    copies = np.arange(pad) % n
    weights = np.concatenate([np.full(n, (n + pad) / n, np.float32), np.zeros(pad, np.float32)])
    return np.concatenate([x, x[copies]]), np.concatenate([y, y[copies]]), weights
