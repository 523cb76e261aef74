import cv2
import numpy as np
import pytest

from emorec.preprocess import to_face48, to_model_input


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
    with pytest.raises(ValueError):
        to_face48(bad)


def test_model_input_shape_and_range():
    x = to_model_input(np.full((3, 48, 48), 255, np.uint8))
    assert x.shape == (3, 48, 48, 1) and x.dtype == np.float32 and x.max() == 255
    with pytest.raises(ValueError):
        to_model_input(np.zeros((3, 40, 40), np.uint8))


def test_model_input_blur_is_a_gaussian_per_face_and_off_by_default():
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    plain = to_model_input(faces)
    assert np.array_equal(plain[..., 0], faces.astype(np.float32))
    blurred = to_model_input(faces, blur_sigma=0.7)
    assert blurred.shape == (3, 48, 48, 1) and blurred.dtype == np.float32
    expected = cv2.GaussianBlur(faces[1].astype(np.float32), (0, 0), 0.7)
    assert np.allclose(blurred[1, :, :, 0], expected)
    assert np.abs(blurred - plain).mean() > 10           # noise is smoothed a lot
    assert to_model_input(np.zeros((0, 48, 48), np.uint8), blur_sigma=0.7).shape == (0, 48, 48, 1)
