"""Training batches and their randomness.

Every epoch's randomness (the order of the images, mixing, augmentation, dropout) is a function of (seed,
epoch) alone, so a run that is stopped and resumed follows exactly the course of one that never stopped.
"""

import warnings

import numpy as np

from emorec.core.preprocess import to_model_input
from emorec.training.devices import usable


def epoch_batches(x, targets, weights, config, first_epoch, devices=1):
    """The training batches as a Keras PyDataset: epoch e visits the images in the order of a permutation
    seeded with (seed, e); batches are made float as they are needed and mixed if ``config.mixup`` or
    ``config.cutmix`` asks (see :func:`mix`); ``weights`` (per image, or None: the class weights) come along.
    On several ``devices`` the order's last few images that would not split evenly over them are left out
    (:func:`devices.usable`)."""
    import keras
    n = usable(len(x), devices)
    mixers = batch_mixers(config)

    class EpochBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = first_epoch
            self._shuffle()

        def _shuffle(self):
            self.order = np.random.default_rng([config.seed, self.epoch]).permutation(len(x))[:n]

        def __len__(self):
            return int(np.ceil(n / config.batch_size))

        def __getitem__(self, i):
            idx = self.order[i * config.batch_size:(i + 1) * config.batch_size]
            images, batch_targets = to_model_input(x[idx]), targets[idx]
            batch_weights = None if weights is None else weights[idx]
            if mixers:
                return mix(mixers, images, batch_targets, batch_weights, key=(config.seed, self.epoch, i))
            return (images, batch_targets) if weights is None else (images, batch_targets, batch_weights)

        def on_epoch_end(self):
            self.epoch += 1
            self._shuffle()

    return EpochBatches()


def batch_mixers(config):
    """The Keras layers that mix images within a batch (``--mixup``, ``--cutmix``); empty when both are off."""
    import keras
    # Keras's MixUp asks for an int64 range, which JAX (32-bit by default) gives as int32, saying so each batch
    warnings.filterwarnings("ignore", message="Explicitly requested dtype int64 requested in arange")
    mixers = []
    if config.mixup:
        mixers.append(keras.layers.MixUp(alpha=config.mixup, seed=config.seed))
    if config.cutmix:
        mixers.append(keras.layers.CutMix(factor=config.cutmix, seed=config.seed))
    return mixers


def mix(mixers, images, targets, weights=None, *, key):
    """Mix a batch (N×48×48×1 float32 images 0..255, N×7 float32 targets, N per-image loss weights or None)
    with one of ``mixers``: each image with another of the batch, and its target alike. Which mixer and how
    are functions of ``key`` (seed, epoch, batch index) alone, so a resumed run mixes as an uninterrupted one.

    The weights (class weights) are mixed with the targets: both layers mix rows linearly, so mixing w·t and
    splitting it back into weight and target gives each image's loss λ·wᵢ·CE(tᵢ) + (1−λ)·wⱼ·CE(tⱼ), and a rare
    class keeps its weight when it is blended into another image. Returns (images, targets) or, with
    weights, (images, targets, weights)."""
    import keras
    rng = np.random.default_rng(key)
    mixer = mixers[int(rng.integers(len(mixers)))]
    set_state(mixer.generator, rng.integers(0, 2**31, 2))
    labels = targets if weights is None else targets * weights[:, None]
    out = mixer({"images": images, "labels": labels}, training=True)
    images, labels = keras.ops.convert_to_numpy(out["images"]), keras.ops.convert_to_numpy(out["labels"])
    if weights is None:
        return images, labels
    weights = labels.sum(axis=1)
    return images, labels / weights[:, None], weights.astype(np.float32)


def reseeding(seed):
    """A Keras callback that, before each epoch, sets Keras's seed generators (augmentation, dropout) from
    ``seed``, their place in the model and the epoch; and Python's, NumPy's and TensorFlow's global seeds from
    seed and epoch. A layer built without a seed draws a new one whenever the model is loaded, so the saved
    generator states cannot be relied on."""
    import keras

    class Reseed(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            keras.utils.set_random_seed((seed * 1_000_003 + epoch) % 2**31)
            generators = [g for layer in self.model._flatten_layers() for g in getattr(layer, "_seed_generators", ())]
            for i, generator in enumerate(generators):
                set_state(generator, [(seed * 1009 + i) % 2**31, epoch * 1_000_003])

    return Reseed()


def set_state(generator, values):
    """Set a Keras SeedGenerator's two-number state, in the state's own dtype (which differs by backend)."""
    import keras
    generator.state.assign(np.asarray(values, dtype=keras.ops.convert_to_numpy(generator.state).dtype))
