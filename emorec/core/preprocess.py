"""The one preprocessing function shared by training and inference.

Every face that reaches a model, whether it comes from the FER2013 CSV, a PNG class
folder, a webcam frame or a video, goes through :func:`to_face48`. Intensity scaling
(0..255 -> 0..1) lives inside the model itself (its first layer), so there is no second
place where inputs could be normalised differently.
"""

from collections.abc import Callable, Sized

import cv2
import numpy as np
from numpy.typing import ArrayLike

from emorec.common.errors import InputError
from emorec.common.labels import INPUT_SIZE

PREPROCESSING = {
    "color": "grayscale (cv2 BGR2GRAY / BGRA2GRAY)",
    "resize": f"{INPUT_SIZE}x{INPUT_SIZE}, cv2.INTER_AREA when shrinking, INTER_LINEAR when enlarging",
    "dtype": "uint8 0..255; the model rescales to 0..1 in its first layer",
}


def as_uint8(array: ArrayLike, what: str, expected: str) -> np.ndarray:
    """``array`` as a uint8 NumPy array, or :class:`errors.InputError` naming ``expected``.

    Accepted without loss: uint8, and any integer array (or nested list of ints) whose values are all in
    0..255. Refused, because their scale is ambiguous or they would wrap: floats (0..1 or 0..255?),
    integers outside 0..255 (uint16 frames), booleans, NaN, None and empty arrays.
    """
    if array is None:
        raise InputError(f"{what} is None; expected {expected}")
    try:
        a = np.asarray(array)
    except ValueError as e:   # ragged nested lists
        raise InputError(f"{what} is not a regular array ({e}); expected {expected}") from None
    if a.size == 0:
        raise InputError(f"{what} is empty (shape {a.shape}); expected {expected}")
    if a.dtype == np.uint8:
        return a
    if np.issubdtype(a.dtype, np.integer) and a.dtype != np.bool_:
        lo, hi = int(a.min()), int(a.max())
        if lo >= 0 and hi <= 255:
            return a.astype(np.uint8)
        raise InputError(f"{what} has values {lo}..{hi} ({a.dtype}); expected {expected} with values 0..255 "
                         "(scale it down first, e.g. (frame >> 8).astype(np.uint8) for 16-bit)")
    if np.issubdtype(a.dtype, np.floating):
        raise InputError(f"{what} is {a.dtype}; expected {expected}. Float pixels are ambiguous (0..1 or 0..255?): "
                         "convert with (x * 255).round().astype(np.uint8) for 0..1 values, or "
                         "x.round().astype(np.uint8) for 0..255")
    raise InputError(f"{what} has dtype {a.dtype}; expected {expected}")


FRAME_EXPECTED = "an H×W×3 uint8 BGR frame (H×W or H×W×1 gray and H×W×4 BGRA are accepted too)"
CROPS_EXPECTED = f"N×{INPUT_SIZE}×{INPUT_SIZE} uint8 gray crops (one {INPUT_SIZE}×{INPUT_SIZE} crop is accepted too)"


def as_gray_frame(frame: ArrayLike) -> np.ndarray:
    """A frame as the H×W uint8 gray image detection and cropping work on (see :data:`FRAME_EXPECTED`)."""
    a = as_uint8(frame, "the frame", FRAME_EXPECTED)
    if a.ndim == 2:
        return a
    if a.ndim == 3 and a.shape[2] == 1:
        return a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 3:
        return cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)
    if a.ndim == 3 and a.shape[2] == 4:
        return cv2.cvtColor(a, cv2.COLOR_BGRA2GRAY)
    raise InputError(f"the frame has shape {a.shape}; expected {FRAME_EXPECTED}")


def as_color_frame(frame: ArrayLike) -> np.ndarray:
    """A frame as H×W×3 uint8 BGR for a detector that uses colour (BGRA loses its alpha); a gray frame stays
    H×W gray (see :data:`FRAME_EXPECTED`)."""
    a = as_uint8(frame, "the frame", FRAME_EXPECTED)
    if a.ndim == 3 and a.shape[2] == 4:
        return cv2.cvtColor(a, cv2.COLOR_BGRA2BGR)
    if a.ndim == 3 and a.shape[2] == 1:
        return a[:, :, 0]
    if a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3):
        return a
    raise InputError(f"the frame has shape {a.shape}; expected {FRAME_EXPECTED}")


def as_crops(faces: ArrayLike) -> tuple[np.ndarray, bool]:
    """Crops as an N×48×48 uint8 array (see :data:`CROPS_EXPECTED`); returns (crops, was_single)."""
    empty = isinstance(faces, Sized) and len(faces) == 0
    a = np.zeros((0, INPUT_SIZE, INPUT_SIZE), np.uint8) if empty else as_uint8(faces, "the crops", CROPS_EXPECTED)
    if a.ndim == 4 and a.shape[3] == 1:
        a = a[..., 0]
    single = a.ndim == 2
    if single:
        a = a[None]
    if a.ndim != 3 or a.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
        raise InputError(f"the crops have shape {a.shape}; expected {CROPS_EXPECTED} "
                         "(crop and resize faces with emorec.core.preprocess.to_face48)")
    return a, single


def to_face48(image: ArrayLike) -> np.ndarray:
    """Any face image -> the model's input crop.

    image: uint8 array, H×W (gray), H×W×1, H×W×3 (BGR) or H×W×4 (BGRA), any size > 0.
    Returns a contiguous uint8 array of shape (48, 48).
    """
    image = np.asarray(image)
    if image.size == 0:
        raise InputError("empty image: nothing to crop")
    if image.dtype != np.uint8:
        raise InputError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 3:
        channels = image.shape[2]
        if channels == 1:
            image = image[:, :, 0]
        elif channels == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        elif channels == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
        else:
            raise InputError(f"unsupported channel count {channels}")
    elif image.ndim != 2:
        raise InputError(f"expected a 2-D or 3-D image, got shape {image.shape}")
    h, w = image.shape
    if (h, w) != (INPUT_SIZE, INPUT_SIZE):
        shrinking = h > INPUT_SIZE or w > INPUT_SIZE
        interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        image = cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=interp)
    return np.ascontiguousarray(image)


def to_model_input(faces: ArrayLike) -> np.ndarray:
    """N×48×48 uint8 crops -> the float32 N×48×48×1 tensor every model takes (values 0..255). Everything
    else (scaling, a model's input blur) happens inside the model."""
    faces = np.asarray(faces)
    if faces.ndim != 3 or faces.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
        raise InputError(f"expected N×{INPUT_SIZE}×{INPUT_SIZE} crops, got shape {faces.shape}")
    return faces.astype(np.float32)[..., None]


#: Which network passes a crop gets (:func:`classify_passes`): the crop itself, its mirror image, or both
#: (flip test-time augmentation: the two averaged).
PLAIN, MIRROR, BOTH = 0, 1, 2

#: A classifier: N×48×48 uint8 crops → N×7 float32 probabilities.
Classify = Callable[[np.ndarray], np.ndarray]


def flip_pair(classify: Classify, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities of the N×48×48 crops, probabilities of their mirror images), both from one batched
    call of ``classify`` on 2N crops."""
    if len(crops) == 0:
        probs = classify(crops)
        return probs, probs
    probs = classify(np.concatenate([crops, crops[:, :, ::-1]]))
    return probs[:len(crops)], probs[len(crops):]


def classify_passes(classify: Classify, crops: np.ndarray, passes: ArrayLike) -> np.ndarray:
    """N×48×48 crops → N×7 probabilities, each crop from the passes ``passes`` (N ints) names for it:
    :data:`PLAIN` (the crop), :data:`MIRROR` (its mirror image) or :data:`BOTH` (the two averaged). One
    batched call of ``classify`` on the crops that need a plain pass, then the mirror images that need one;
    with every crop ``BOTH`` that is exactly :func:`flip_tta`."""
    passes = np.asarray(passes).reshape(-1)
    if len(crops) == 0:
        return classify(crops)
    plain, mirror = passes != MIRROR, passes != PLAIN
    probs = classify(np.concatenate([crops[plain], crops[mirror][:, :, ::-1]]))
    n = int(plain.sum())
    out = np.zeros((len(crops), probs.shape[1]), probs.dtype)
    out[plain] = probs[:n]
    out[mirror] += probs[n:]
    out[plain & mirror] /= 2
    return out


def flip_tta(classify: Classify, crops: np.ndarray) -> np.ndarray:
    """Flip test-time augmentation: each crop's probabilities averaged with its mirror image's, from one
    batched call on the crops and then their mirror images (:func:`classify_passes` with every crop ``BOTH``)."""
    return classify_passes(classify, crops, np.full(len(crops), BOTH))
