"""emorec.training.preview: the grid of sample faces per class."""

import numpy as np
from PIL import Image

from emorec.training.preview import preview_grid
from tests.helpers import synthetic_faces


def test_the_grid_has_a_row_per_emotion_and_a_column_per_sample(tmp_path):
    x = synthetic_faces(35)
    y = np.arange(35) % 7
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    preview_grid(x, y, small, per_class=2, title="tiny")
    preview_grid(x, y, large, per_class=5)
    (w2, h2), (w5, h5) = Image.open(small).size, Image.open(large).size
    assert h2 == h5 and w5 > 2 * w2


def test_a_class_with_fewer_samples_than_asked_or_none_still_gets_its_row(tmp_path):
    x = synthetic_faces(6)
    y = np.array([0, 0, 3, 3, 3, 6])            # most classes are absent, none has 8 samples
    preview_grid(x, y, tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").size[1] > 7 * 48 and sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]
