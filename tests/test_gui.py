"""The window under Xvfb: the tests start Xvfb themselves (conftest.display)."""

import csv
import time

import cv2
import numpy as np
import pytest

tk = pytest.importorskip("tkinter")

from emorec.detector import DetectorSettings  # noqa: E402
from emorec.gui import App  # noqa: E402
from emorec.labels import EMOTIONS  # noqa: E402
from emorec.recognizer import Recognizer  # noqa: E402

from conftest import FakeClassifier, FakeDetector, moving_square_frames, write_video  # noqa: E402


def pump(root, until, timeout=10.0):
    """Run the Tk event loop until ``until()`` is true; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not until():
        if time.monotonic() > end:
            pytest.fail("the window did not reach the expected state")
        root.update()
        time.sleep(0.005)


@pytest.fixture
def app_factory(display, tmp_path):
    apps = []

    def make(source, **kw):
        root = tk.Tk()
        rec = Recognizer(detector=FakeDetector([[40, 60, 100, 100]]), classifier=FakeClassifier(),
                         settings=DetectorSettings(pad=0))
        app = App(root, rec, source, output_dir=tmp_path, **kw)
        apps.append(app)
        return app

    yield make
    for app in apps:
        if app.worker is not None:
            app.close()


@pytest.fixture
def video(tmp_path):
    return str(write_video(tmp_path / "clip.avi", moving_square_frames(20), fps=50))


def test_shows_labelled_frames_and_closes_cleanly(app_factory, video):
    app = app_factory(video)
    pump(app.root, lambda: app.frames_shown >= 5)
    faces = app.latest["faces"]
    assert len(faces) == 1 and faces[0].label in EMOTIONS
    assert app.photo is not None and app.canvas.find_all()
    bar_texts = [app.bars.itemcget(i, "text") for i in app.bars.find_all() if app.bars.type(i) == "text"]
    assert set(EMOTIONS) <= set(bar_texts) and any(t.endswith("%") for t in bar_texts)
    assert "frames/s" in app.fps_text.get()
    worker = app.worker
    app.close()
    worker.join(1.0)
    assert not worker.is_alive()


def test_no_camera_shows_a_message_and_offers_files(app_factory, video):
    app = app_factory(57)
    pump(app.root, lambda: "no camera" in app.status.get())
    texts = " ".join(app.canvas.itemcget(i, "text") for i in app.canvas.find_withtag("message"))
    assert "no camera found at index 57" in texts and "Open video" in texts
    assert {"Open video…", "Open image…", "Camera"} <= set(app.button)
    app.start(video)                                   # still usable: pick a file instead
    pump(app.root, lambda: app.frames_shown >= 2)


def test_unreadable_file_keeps_the_app_usable(app_factory, tmp_path, video):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"garbage")
    app = app_factory(str(bad))
    pump(app.root, lambda: "cannot read video" in app.status.get())
    app.start(video)
    pump(app.root, lambda: app.frames_shown >= 2)


def test_end_of_video_keeps_the_last_frame_or_loops(app_factory, video):
    app = app_factory(video)
    pump(app.root, lambda: app.status.get().startswith("end of"))
    assert app.latest["frame"] == 19
    looping = app_factory(video, loop=True)
    pump(looping.root, lambda: looping.frames_shown >= 30)
    assert not looping.status.get().startswith("end of")


def test_image_source(app_factory, tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), moving_square_frames(1)[0])
    app = app_factory(str(tmp_path / "a.png"))
    pump(app.root, lambda: app.frames_shown == 1 and "a.png" in app.status.get())
    assert len(app.latest["faces"]) == 1


def test_pause_snapshot_and_record(app_factory, video, tmp_path):
    app = app_factory(video, loop=True, record_video=True)
    pump(app.root, lambda: app.frames_shown >= 2)
    shot = app.snapshot()
    assert cv2.imread(str(shot)).shape == (240, 320, 3)
    app.toggle_record()
    pump(app.root, lambda: "recording to" in app.status.get())
    shown = app.frames_shown
    pump(app.root, lambda: app.frames_shown >= shown + 10)
    app.toggle_record()
    pump(app.root, lambda: app.status.get().startswith("saved"))
    rows = list(csv.DictReader(open(next(tmp_path.glob("emotions-*.csv")))))
    assert len(rows) >= 10 and {"frame", "id", "label", *EMOTIONS} <= set(rows[0])
    assert next(tmp_path.glob("emotions-*.mp4")).stat().st_size > 0
    app.toggle_pause()
    pump(app.root, lambda: app.results.empty())
    paused_at = app.frames_shown
    end = time.monotonic() + 0.3
    pump(app.root, lambda: time.monotonic() > end)
    assert app.frames_shown <= paused_at + 1 and app.button["Pause"].cget("text") == "Resume"


def test_mirror_flips_the_frame(app_factory, tmp_path):
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:, :100] = 255
    cv2.imwrite(str(tmp_path / "left.png"), frame)
    app = app_factory(str(tmp_path / "left.png"), mirror=True)
    pump(app.root, lambda: app.frames_shown == 1)
    assert app.latest["bgr"][120, 310].sum() > 600 and app.latest["bgr"][120, 5].sum() < 200
