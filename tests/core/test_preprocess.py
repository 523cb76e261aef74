import cv2
import numpy as np
import pytest

from emorec.common.errors import InputError
from emorec.core.preprocess import to_face48, to_model_input


def test_gray_48_passes_through_unchanged():
    x = np.arange(48 * 48, dtype=np.uint32).reshape(48, 48).astype(np.uint8)
    assert np.array_equal(to_face48(x), x)


@pytest.mark.parametrize("shape", [(100, 80, 3), (30, 30, 4), (64, 64, 1), (200, 200)])
def test_any_image_becomes_48x48_uint8(shape):
    out = to_face48(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8))
    assert out.shape == (48, 48) and out.dtype == np.uint8


def test_colour_uses_luminance():
    bgr = np.zeros((48, 48, 3), np.uint8)
    bgr[..., 1] = 255                      # pure green is bright in gray
    assert to_face48(bgr).mean() > 140


@pytest.mark.parametrize("bad", [np.zeros((0, 5), np.uint8), np.zeros((48, 48), np.float32),
                                 np.zeros((4, 4, 2), np.uint8), np.zeros((2, 2, 2, 2), np.uint8)])
def test_bad_images_are_rejected(bad):
    with pytest.raises(InputError):
        to_face48(bad)


def test_model_input_shape_and_range():
    x = to_model_input(np.full((3, 48, 48), 255, np.uint8))
    assert x.shape == (3, 48, 48, 1) and x.dtype == np.float32 and x.max() == 255
    with pytest.raises(InputError):
        to_model_input(np.zeros((3, 40, 40), np.uint8))


def test_the_input_blur_in_the_network_is_opencvs_gaussian_blur():
    """The blur calibration chooses lives in the model as two matrix products: the same numbers as OpenCV's
    blur (kernel and reflect-101 border), in Keras and through the blur matrix alike."""
    import keras

    from emorec.network.architectures import blur_matrix, build_shallow, with_input_blur, without_input_blur
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    x = to_model_input(faces)
    assert np.array_equal(x[..., 0], faces.astype(np.float32)) and x.shape == (3, 48, 48, 1)
    for sigma in (0.3, 0.6, 1.0):
        m = blur_matrix(sigma)
        expected = cv2.GaussianBlur(faces[1].astype(np.float32), (0, 0), sigma)
        assert np.allclose(m @ x[1, :, :, 0] @ m.T, expected, atol=1e-3)
    assert np.array_equal(blur_matrix(0), np.eye(48, dtype=np.float32))
    bare = build_shallow()
    blurred = with_input_blur(bare, 0.7)
    m = blur_matrix(0.7)
    pre_blurred = (m @ x[..., 0] @ m.T)[..., None]
    assert np.allclose(np.asarray(blurred(x)), np.asarray(bare(pre_blurred)), atol=1e-5)
    assert not blurred.get_layer("input_blur_rows").trainable
    assert without_input_blur(blurred) is bare and with_input_blur(blurred, 0) is bare
    again = with_input_blur(blurred, 0.3)    # a new blur replaces the old one, it does not stack
    assert len([la for la in again.layers if la.name.startswith("input_blur")]) == 2
    assert isinstance(without_input_blur(again), keras.Model)
