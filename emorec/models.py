"""Model definitions: every architecture takes N×48×48×1 float32 (0..255) and returns N×7 softmax.

Keras is imported when a model is built, not when this module is imported, so the command line can list
the architectures (``main.py analyze --help``) without the seconds a TensorFlow import costs.
"""

from .labels import INPUT_SIZE, NUM_CLASSES


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


ARCHITECTURES = {"vgg": build_vgg, "vgg-wide": build_vgg_wide, "deep": build_deep, "shallow": build_shallow}
DEFAULT_ARCH = "vgg"


def build_model(arch=DEFAULT_ARCH):
    """Build an uncompiled model by name (one of :data:`ARCHITECTURES`)."""
    try:
        return ARCHITECTURES[arch]()
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}") from None


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
    import cv2
    return cv2.getGaussianKernel(int(round(sigma * 4 * 2 + 1)) | 1, sigma, cv2.CV_64F)[:, 0]


def has_input_blur(model):
    """Whether ``model`` begins with a built-in input blur (:func:`with_input_blur`)."""
    return BLUR_LAYERS[0] in {layer.name for layer in model.layers}


def blur_matrix(sigma, size=INPUT_SIZE):
    """The size×size matrix M with ``M @ face @ M.T`` = ``cv2.GaussianBlur(face, (0, 0), sigma)`` for a float
    face: OpenCV's own kernel (its size and weights for float images) and border (reflect-101)."""
    import cv2
    import numpy as np
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
    import numpy as np
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
