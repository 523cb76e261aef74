"""The one preprocessing function shared by training and inference.

Every face that reaches a model, whether it comes from the FER2013 CSV, a PNG class
folder, a webcam frame or a video, goes through :func:`to_face48`. Intensity scaling
(0..255 -> 0..1) lives inside the model itself (its first layer), so there is no second
place where inputs could be normalised differently.
"""

import cv2
import numpy as np

from .labels import INPUT_SIZE

PREPROCESSING = {
    "color": "grayscale (cv2 BGR2GRAY / BGRA2GRAY)",
    "resize": f"{INPUT_SIZE}x{INPUT_SIZE}, cv2.INTER_AREA when shrinking, INTER_LINEAR when enlarging",
    "dtype": "uint8 0..255; the model rescales to 0..1 in its first layer",
}


def to_face48(image):
    """Any face image -> the model's input crop.

    image: uint8 array, H×W (gray), H×W×1, H×W×3 (BGR) or H×W×4 (BGRA), any size > 0.
    Returns a contiguous uint8 array of shape (48, 48).
    """
    image = np.asarray(image)
    if image.size == 0:
        raise ValueError("empty image: nothing to crop")
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 3:
        channels = image.shape[2]
        if channels == 1:
            image = image[:, :, 0]
        elif channels == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        elif channels == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
        else:
            raise ValueError(f"unsupported channel count {channels}")
    elif image.ndim != 2:
        raise ValueError(f"expected a 2-D or 3-D image, got shape {image.shape}")
    h, w = image.shape
    if (h, w) != (INPUT_SIZE, INPUT_SIZE):
        shrinking = h > INPUT_SIZE or w > INPUT_SIZE
        interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        image = cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=interp)
    return np.ascontiguousarray(image)


def to_model_input(faces, blur_sigma=0.0):
    """N×48×48 uint8 crops -> the float32 N×48×48×1 tensor every model takes (values 0..255).

    ``blur_sigma`` (pixels, inference only): a Gaussian blur that matches the softening every training
    image gets from augmentation's bilinear resampling; each model's own value is chosen on its
    validation split and kept in its metadata (see :mod:`emorec.calibrate`).
    """
    faces = np.asarray(faces)
    if faces.ndim != 3 or faces.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
        raise ValueError(f"expected N×{INPUT_SIZE}×{INPUT_SIZE} crops, got shape {faces.shape}")
    x = faces.astype(np.float32)
    if blur_sigma and len(x):
        x = np.stack([cv2.GaussianBlur(face, (0, 0), blur_sigma) for face in x])
    return x[..., None]
