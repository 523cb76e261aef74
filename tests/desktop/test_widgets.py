"""emorec.desktop.widgets under Xvfb (conftest.display starts it): the picture and the emotion bars."""

import numpy as np
import pytest

tk = pytest.importorskip("tkinter")

from emorec.common.labels import EMOTIONS  # noqa: E402
from emorec.core.faces import Face  # noqa: E402
from emorec.desktop.widgets import EmotionBars, Picture  # noqa: E402


@pytest.fixture
def root(display):
    root = tk.Tk()
    root.geometry("400x300")
    yield root
    root.destroy()


def test_a_frame_is_scaled_to_fit_and_canvas_clicks_map_back_to_frame_pixels(root):
    picture = Picture(root, "hint")
    picture.pack(fill="both", expand=True)
    root.update()
    picture.show(np.zeros((100, 200, 4), np.uint8))
    cw, ch = picture.winfo_width(), picture.winfo_height()
    assert picture.zoom == pytest.approx(min(cw / 200, ch / 100))
    x, y = picture.to_frame(cw / 2, ch / 2)
    assert x == pytest.approx(100, abs=1) and y == pytest.approx(50, abs=1)     # the centre is the centre
    assert (picture.photo.width(), picture.photo.height()) == (int(200 * picture.zoom), int(100 * picture.zoom))


def test_a_message_replaces_the_frame_and_names_the_hint(root):
    picture = Picture(root, "open a file with o")
    picture.pack(fill="both", expand=True)
    root.update()
    picture.show(np.zeros((10, 10, 4), np.uint8))
    picture.show_message("no camera found")
    texts = [picture.itemcget(i, "text") for i in picture.find_withtag("message")]
    assert texts == ["no camera found", "open a file with o"] and picture.photo is None
    picture.clear()
    assert picture.find_all() == ()


def test_the_bars_show_a_faces_probabilities_or_no_face(root):
    bars = EmotionBars(root)
    bars.pack()
    root.update()
    percents = lambda: [bars.itemcget(pct, "text") for _, pct, _, _ in bars._items]
    assert percents() == ["–"] * len(EMOTIONS) and bars.itemcget(bars._no_face, "state") == "normal"
    probs = np.full(len(EMOTIONS), 0.05)
    probs[EMOTIONS.index("happy")] = 0.7
    bars.show(Face.from_probs(1, (0, 0, 10, 10), probs))
    assert percents()[EMOTIONS.index("happy")] == "70%" and percents()[0] == "5%"
    assert bars.itemcget(bars._no_face, "state") == "hidden"
    bars.show(None)
    assert percents() == ["–"] * len(EMOTIONS)
