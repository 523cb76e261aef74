"""emorec.training.batches: shuffled, mixed and weighted training batches."""

import numpy as np

from emorec.training.config import TrainConfig
from emorec.training.targets import class_weights


def test_mixup_and_cutmix_mix_images_and_targets_alike_and_as_a_function_of_the_key():
    from emorec.training.batches import batch_mixers, mix
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (16, 48, 48, 1)).astype(np.float32)
    targets = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 16)]
    assert batch_mixers(TrainConfig()) == []                          # off by default
    for cfg in (TrainConfig(mixup=0.4), TrainConfig(cutmix=1.0), TrainConfig(mixup=0.4, cutmix=1.0)):
        mixers = batch_mixers(cfg)
        x, t = mix(mixers, images, targets, key=(0, 3, 5))
        again = mix(mixers, images, targets, key=(0, 3, 5))
        other = mix(mixers, images, targets, key=(0, 3, 6))
        assert np.array_equal(x, again[0]) and np.array_equal(t, again[1]) and not np.array_equal(x, other[0])
        assert x.shape == images.shape and x.min() >= 0 and x.max() <= 255 and not np.array_equal(x, images)
        assert np.allclose(t.sum(axis=1), 1, atol=1e-5) and (t < 1 - 1e-3).any()     # some targets are mixed


def test_mixed_batches_keep_each_class_its_weight():
    """--mixup and --cutmix reach the training batches, and with --class-weight balanced a rare class blended
    into other images keeps its share of the loss (the weights are mixed with the targets)."""
    from emorec.training.batches import epoch_batches
    rng = np.random.default_rng(1)
    y = np.where(rng.random(2000) < 0.02, 1, rng.integers(2, 7, 2000))          # class 1 rare, class 0 absent
    x = rng.integers(0, 256, (len(y), 48, 48)).astype(np.uint8)
    weight_of = class_weights(y, "balanced")
    weights = np.array([weight_of[c] for c in y], np.float32)
    targets = np.eye(7, dtype=np.float32)[y]

    def class_shares(cfg):
        batches = epoch_batches(x, targets, weights, cfg, first_epoch=0)
        mass = sum((t * w[:, None]).sum(axis=0) for _, t, w in (batches[i] for i in range(len(batches))))
        return mass / mass.sum()

    plain = class_shares(TrainConfig(batch_size=250))
    assert np.allclose(plain[1:], 1 / 6, atol=1e-4)              # balanced: every present class weighs alike
    for cfg in (TrainConfig(batch_size=250, mixup=0.2), TrainConfig(batch_size=250, cutmix=1.0)):
        batches = epoch_batches(x, targets, weights, cfg, first_epoch=0)
        images, t, _ = batches[0]
        assert (t.max(axis=1) < 1 - 1e-3).any() and not np.array_equal(images[..., 0], x[batches.order[:250]])
        assert np.array_equal(t, batches[0][1])                  # the same batch again: the same mixing
        assert np.allclose(class_shares(cfg)[1:], 1 / 6, atol=0.03)
