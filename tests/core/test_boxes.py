import numpy as np

from emorec.core.boxes import clip_boxes, crop_faces, square_boxes


def test_square_boxes_keep_centre_and_pad():
    out = square_boxes([[10, 20, 40, 20]], pad=0.25)
    x, y, w, h = out[0]
    assert w == h == 60 and (x + w / 2, y + h / 2) == (30, 30)


def test_clip_boxes_at_frame_edges():
    out = clip_boxes([[-10, -5, 50, 50], [90, 70, 40, 40], [200, 200, 10, 10]], width=100, height=80)
    assert out.tolist()[0] == [0, 0, 40, 45]
    assert out.tolist()[1] == [90, 70, 10, 10]
    x, y, w, h = out[2]
    assert 0 <= x < 100 and 0 <= y < 80 and w >= 1 and h >= 1 and x + w <= 100 and y + h <= 80


def test_crop_faces_shapes():
    gray = np.random.default_rng(0).integers(0, 256, (120, 160), dtype=np.uint8)
    crops = crop_faces(gray, clip_boxes([[0, 0, 60, 60], [150, 100, 30, 30]], 160, 120))
    assert crops.shape == (2, 48, 48) and crops.dtype == np.uint8
    assert crop_faces(gray, np.zeros((0, 4), int)).shape == (0, 48, 48)
