"""Model definitions: every architecture takes N×48×48×1 float32 (0..255) and returns N×7 softmax.

Keras is imported when a model is built, not when this module is imported, so the command line can list
the architectures (``main.py analyze --help``) without the seconds a TensorFlow import costs.
"""

import cv2
import numpy as np

from emorec.common.errors import InputError
from emorec.common.labels import INPUT_SIZE, NUM_CLASSES


def _stage(x, filters, kernel, convs, dropout, weight_decay):
    """One convolutional stage: ``convs`` × (Conv, BatchNorm, ReLU), then MaxPool and Dropout."""
    import keras
    from keras import layers

    for _ in range(convs):
        x = layers.Conv2D(filters, kernel, padding="same", use_bias=False,
                          kernel_regularizer=keras.regularizers.l2(weight_decay) if weight_decay else None)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.MaxPooling2D(2)(x)
    return layers.Dropout(dropout)(x)


def _dense(x, units, dropout):
    from keras import layers

    x = layers.Dense(units, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    return layers.Dropout(dropout)(x)


def _inputs():
    import keras
    from keras import layers

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 1), name="face")
    # Intensity scaling lives in the model so training and inference cannot disagree.
    return inputs, layers.Rescaling(1.0 / 255.0)(inputs)


def build_deep():
    """The seeds' deep network: 4 stages (64 5×5, 128 3×3, 512 3×3, 512 3×3), dense 256 and 512."""
    import keras
    from keras import layers

    inputs, x = _inputs()
    for filters, kernel in ((64, 5), (128, 3), (512, 3), (512, 3)):
        x = _stage(x, filters, kernel, convs=1, dropout=0.25, weight_decay=0)
    x = layers.Flatten()(x)
    x = _dense(x, 256, 0.25)
    x = _dense(x, 512, 0.25)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="deep")


def build_shallow():
    """The seeds' shallow network: 2 stages (32 3×3, 64 3×3) and one dense layer of 128."""
    import keras
    from keras import layers

    inputs, x = _inputs()
    for filters in (32, 64):
        x = _stage(x, filters, 3, convs=1, dropout=0.25, weight_decay=0)
    x = layers.Flatten()(x)
    x = _dense(x, 128, 0.5)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="shallow")


def build_vgg(widths=(32, 64, 128, 256), dense=256, weight_decay=1e-4, dropout=(0.1, 0.2, 0.3, 0.4),
              dense_dropout=0.5, name="vgg"):
    """Project default: 4 VGG-style stages of two 3×3 convs each, global pooling, one dense layer.

    Two small convs per stage see as far as one 5×5 with fewer weights and an extra
    non-linearity; global average pooling keeps the head small, so a face costs well
    under a millisecond on a laptop CPU.
    """
    import keras
    from keras import layers

    inputs, x = _inputs()
    for filters, rate in zip(widths, dropout, strict=True):
        x = _stage(x, filters, 3, convs=2, dropout=rate, weight_decay=weight_decay)
    x = layers.GlobalAveragePooling2D()(x)
    x = _dense(x, dense, dense_dropout)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name=name)


def build_vgg_wide():
    """The same four stages 1.5× wider (48/96/192/384, 2.7 M parameters), with lighter dropout.

    The 32-wide net ends training with train accuracy only ~3 points above validation, i.e. it
    underfits; this one has the capacity, costs ~0.6 ms per face through the int8 export and
    ~2× the training time per epoch.
    """
    return build_vgg((48, 96, 192, 384), dropout=(0.1, 0.15, 0.2, 0.25), dense_dropout=0.4, name="vgg_wide")


# ---------------------------------------------------------------- the small family (issue 21)
#
# On a 48×48 input a 3×3 convolution costs H·W·9·C_in·C_out multiply-adds, so in a VGG whose width doubles as
# the resolution halves every stage costs the same, and the first one (full resolution) is the cheapest place
# to save. The four networks below keep four convolutional stages and cost a third of vgg-wide or less
# (`multiply_adds`; bench/bench_arch.py prints them with their ms per pass).


def build_vgg_slim():
    """vgg-wide's shape at 0.55× its width (26/52/104/208): ~80 M multiply-adds per pass."""
    return build_vgg((26, 52, 104, 208), dense=192, dropout=(0.1, 0.15, 0.2, 0.25), dense_dropout=0.4,
                     name="vgg_slim")


def _lite(first, widths, dense, name):
    """A one-conv first stage of ``first`` filters at 48×48, then three VGG stages of two 3×3 convs."""
    import keras
    from keras import layers

    inputs, x = _inputs()
    x = _stage(x, first, 3, convs=1, dropout=0.1, weight_decay=1e-4)
    for filters, rate in zip(widths, (0.15, 0.2, 0.25)):
        x = _stage(x, filters, 3, convs=2, dropout=rate, weight_decay=1e-4)
    x = layers.GlobalAveragePooling2D()(x)
    x = _dense(x, dense, 0.4)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name=name)


def build_vgg_lite():
    """A cheap first stage (one 3×3 conv of 32 at 48×48, not two of 48), then three VGG stages of two convs,
    56/112/224 wide: ~75 M multiply-adds per pass; the saving goes to the deeper stages' widths."""
    return _lite(32, (56, 112, 224), 192, "vgg_lite")


def build_vgg_tiny():
    """vgg-lite at about half its cost: a first stage of 24, then 40/80/160: ~39 M multiply-adds per pass."""
    return _lite(24, (40, 80, 160), 160, "vgg_tiny")


def _residual_stage(x, filters, dropout, weight_decay=1e-4):
    """Conv-BN-ReLU-Conv-BN plus a shortcut (a 1×1 conv where the width changes), ReLU, MaxPool, Dropout."""
    import keras
    from keras import layers

    def conv(y, kernel):
        return layers.Conv2D(filters, kernel, padding="same", use_bias=False,
                             kernel_regularizer=keras.regularizers.l2(weight_decay))(y)

    shortcut = x if x.shape[-1] == filters else layers.BatchNormalization()(conv(x, 1))
    y = layers.ReLU()(layers.BatchNormalization()(conv(x, 3)))
    y = layers.BatchNormalization()(conv(y, 3))
    x = layers.ReLU()(layers.Add()([shortcut, y]))
    x = layers.MaxPooling2D(2)(x)
    return layers.Dropout(dropout)(x)


def build_res_lite():
    """vgg-lite's cost with residual stages: the same cheap first stage, then three stages of two 3×3 convs
    with an identity (or 1×1) shortcut, 56/112/224 wide: ~78 M multiply-adds per pass."""
    import keras
    from keras import layers

    inputs, x = _inputs()
    x = _stage(x, 32, 3, convs=1, dropout=0.1, weight_decay=1e-4)
    for filters, rate in ((56, 0.15), (112, 0.2), (224, 0.25)):
        x = _residual_stage(x, filters, rate)
    x = layers.GlobalAveragePooling2D()(x)
    x = _dense(x, 192, 0.4)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="res_lite")


def _separable(x, filters, weight_decay=1e-4):
    """A depthwise-separable conv (MobileNet's): 3×3 depthwise, BN, ReLU, 1×1 pointwise, BN, ReLU."""
    import keras
    from keras import layers
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2D(filters, 1, use_bias=False, kernel_regularizer=keras.regularizers.l2(weight_decay))(x)
    return layers.ReLU()(layers.BatchNormalization()(x))


def build_sep():
    """Depthwise-separable stages, wider than vgg-wide (48/128/256/512) at a quarter of its cost: the first
    conv is a full 3×3 (one input channel), every other conv separable, two per stage: ~60 M multiply-adds."""
    import keras
    from keras import layers

    inputs, x = _inputs()
    for i, (filters, rate) in enumerate(((48, 0.1), (128, 0.15), (256, 0.2), (512, 0.25))):
        if i == 0:
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                              kernel_regularizer=keras.regularizers.l2(1e-4))(x)
            x = layers.ReLU()(layers.BatchNormalization()(x))
        else:
            x = _separable(x, filters)
        x = _separable(x, filters)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(rate)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = _dense(x, 256, 0.4)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="sep")


ARCHITECTURES = {"vgg": build_vgg, "vgg-wide": build_vgg_wide, "deep": build_deep, "shallow": build_shallow,
                 "vgg-slim": build_vgg_slim, "vgg-lite": build_vgg_lite, "res-lite": build_res_lite,
                 "vgg-tiny": build_vgg_tiny, "sep": build_sep}
DEFAULT_ARCH = "vgg"


def multiply_adds(model):
    """Multiply-adds of one pass of one input through ``model``: its convolutions (depthwise included) and dense
    layers, counted from their output shapes and kernels (nested models too). Additions of biases, BatchNorm,
    pooling and activations are left out: they are a few per cent and mostly folded away in the export."""
    import keras
    total = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.Model):
            continue            # its own layers are visited by _flatten_layers
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            kh, kw = layer.kernel_size
            _, h, w, c = layer.output.shape
            total += h * w * kh * kw * c
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            _, h, w, c = layer.output.shape
            total += h * w * kh * kw * layer.kernel.shape[2] * c
        elif isinstance(layer, keras.layers.Dense):
            total += int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    return int(total)


def build_model(arch=DEFAULT_ARCH):
    """Build an uncompiled model by name (one of :data:`ARCHITECTURES`)."""
    try:
        return ARCHITECTURES[arch]()
    except KeyError:
        raise InputError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}") from None


# ---------------------------------------------------------------- the input blur, inside the network
#
# Every training image is resampled bilinearly by augmentation (rotation, shift, zoom), so a trained network
# has only seen slightly softened faces; a light Gaussian blur of sharp inference crops closes that gap
# (see emorec/calibrate.py, which chooses its σ). The blur is a few fixed, untrainable layers in front of
# the network, so the model file carries it: whatever runs the model (LiteRT, Keras, another program) gets
# the same input, and preprocessing has nothing to agree on.

#: Names of the two layers that hold the input blur (along the rows of a face, then along its columns).
BLUR_LAYERS = ("input_blur_rows", "input_blur_cols")


def gaussian_kernel(sigma):
    """OpenCV's 1-D Gaussian kernel for a float image and σ ``sigma`` (its size rule and weights), float64."""
    return cv2.getGaussianKernel(int(round(sigma * 4 * 2 + 1)) | 1, sigma, cv2.CV_64F)[:, 0]


def has_input_blur(model):
    """Whether ``model`` begins with a built-in input blur (:func:`with_input_blur`)."""
    return BLUR_LAYERS[0] in {layer.name for layer in model.layers}


def blur_matrix(sigma, size=INPUT_SIZE):
    """The size×size matrix M with ``M @ face @ M.T`` = ``cv2.GaussianBlur(face, (0, 0), sigma)`` for a float
    face: OpenCV's own kernel (its size and weights for float images) and border (reflect-101)."""
    if not sigma:
        return np.eye(size, dtype=np.float32)
    m = cv2.sepFilter2D(np.eye(size), cv2.CV_64F, np.ones((1, 1)), gaussian_kernel(sigma)[:, None],
                        borderType=cv2.BORDER_REFLECT_101)
    return m.astype(np.float32)


def without_input_blur(model):
    """The network behind a built-in input blur (``model`` itself when it has none)."""
    import keras
    if not has_input_blur(model):
        return model
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def with_input_blur(model, sigma):
    """``model`` (with or without a blur of its own) behind a fixed Gaussian blur of σ ``sigma`` pixels; with
    σ 0 the bare network. Same input and output as ``model``.

    The blur is OpenCV's: reflect-101 borders (rows and columns mirrored by crops and a concatenation), then
    the 1-D kernel along the rows and along the columns (two untrainable depthwise convolutions). Its few
    weights stay float in the LiteRT export (the int8 export quantizes only larger weight tensors)."""
    import keras
    from keras import layers
    base = without_input_blur(model)
    if not sigma:
        return base
    kernel = gaussian_kernel(sigma).astype(np.float32)
    ksize = len(kernel)
    pad, n = ksize // 2, INPUT_SIZE
    inputs = keras.Input((n, n, 1), name="face")
    x = inputs
    for axis, name in ((1, BLUR_LAYERS[0]), (2, BLUR_LAYERS[1])):
        def line(i, axis=axis):   # row (axis 1) or column (axis 2) i alone
            return layers.Cropping2D(((i, n - 1 - i), (0, 0)) if axis == 1 else ((0, 0), (i, n - 1 - i)))(x)
        edges = [line(i) for i in range(pad, 0, -1)], [line(n - 2 - i) for i in range(pad)]
        x = layers.Concatenate(axis=axis)([*edges[0], x, *edges[1]])
        x = layers.DepthwiseConv2D((ksize, 1) if axis == 1 else (1, ksize), use_bias=False, trainable=False,
                                   name=name)(x)
    blurred = keras.Model(inputs, base(x), name=base.name)
    blurred.get_layer(BLUR_LAYERS[0]).set_weights([kernel.reshape(ksize, 1, 1, 1)])
    blurred.get_layer(BLUR_LAYERS[1]).set_weights([kernel.reshape(1, ksize, 1, 1)])
    return blurred
