"""The Keras trainer of a run: the network behind its augmentation, compiled with AdamW and its schedule; its
start from another model's weights (``--init-from``)."""

import logging

from emorec.common.errors import ModelError, TrainingError
from emorec.common.labels import INPUT_SIZE
from emorec.network.architectures import build_model, without_input_blur
from emorec.network.files import load_keras_model, resolve_model_path
from emorec.training.precision import policy, resolve

log = logging.getLogger(__name__)


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


def cosine(config, steps_per_epoch):
    """Cosine decay from ``config.lr`` to 0 at the end of epoch ``config.epochs`` (a function of the step count)."""
    import keras
    return keras.optimizers.schedules.CosineDecay(config.lr, decay_steps=config.epochs * steps_per_epoch)


def build_trainer(config, steps_per_epoch):
    import keras
    with policy(resolve(config.precision)):
        inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 1), name="face")
        x = augmentation(config.seed)(inputs) if config.augment else inputs
        model = keras.Model(inputs, build_model(config.arch)(x), name="trainer")
    lr = cosine(config, steps_per_epoch) if config.schedule == "cosine" else config.lr
    model.compile(optimizer=keras.optimizers.AdamW(lr, weight_decay=config.weight_decay),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    return model


def load_initial_weights(base, path):
    """Copy the weights of the model in ``path`` (a .h5 or a run folder) into ``base``; same architecture only.
    A built-in input blur is left out: training learns the bare network, and its completion chooses a blur."""
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
