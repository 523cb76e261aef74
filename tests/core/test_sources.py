import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from emorec.common.errors import SourceError
from emorec.core.sources import Camera, open_source, read_image
from tests.helpers import moving_square_frames, write_video

ROOT = Path(__file__).resolve().parents[2]


def test_video_reads_back_every_frame_then_none(synthetic_video):
    src = open_source(str(synthetic_video))
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    assert len(frames) == 12 and frames[0].shape == (240, 320, 3) and src.fps == pytest.approx(10)
    src.rewind()
    assert src.read() is not None
    src.close()


def test_image_source_is_one_frame(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), moving_square_frames(1)[0])
    src = open_source(str(tmp_path / "a.png"))
    assert src.read().shape == (240, 320, 3) and src.read() is None


@pytest.mark.parametrize("name,content,message", [
    ("missing.mp4", None, "not found"),
    ("broken.mp4", b"not a video at all", "cannot read video"),
    ("broken.png", b"not an image", "cannot read"),
    ("notes.txt", b"hello", "unsupported file type"),
])
def test_bad_files(tmp_path, name, content, message):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match=message):
        open_source(str(tmp_path / name))


def test_an_image_file_is_read_once_and_decoded_as_opencv_reads_it(tmp_path, monkeypatch):
    from PIL import Image
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6                                     # "rotate 90°", which cv2.imread applies
    Image.fromarray(moving_square_frames(1)[0][:, :, ::-1]).save(path, exif=exif.tobytes())
    expected = cv2.imread(str(path), cv2.IMREAD_COLOR)
    opened, watching = [], [True]
    sys.addaudithook(lambda event, args: watching[0] and event == "open" and opened.append(str(args[0])))

    def imread(*args):
        raise AssertionError("the file was read a second time, by OpenCV")
    monkeypatch.setattr(cv2, "imread", imread)
    try:
        image = read_image(path)
    finally:
        watching[0] = False
    assert opened.count(str(path)) == 1 and image.shape == (320, 240, 3) and np.array_equal(image, expected)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    with pytest.raises(SourceError, match="truncated"):
        read_image(cut)


def test_missing_camera_says_what_to_do():
    with pytest.raises(SourceError, match="no camera found at index 57.*open a video or image"):
        open_source(57)


def test_camera_that_dies_mid_run_raises_a_clear_error(monkeypatch):
    class DyingCapture:
        def __init__(self, index):
            self.reads = 0

        def isOpened(self):
            return True

        def set(self, *a):
            return True

        def get(self, prop):
            return 30.0

        def read(self):
            self.reads += 1
            return (True, np.zeros((48, 64, 3), np.uint8)) if self.reads <= 2 else (False, None)

        def release(self):
            pass

    monkeypatch.setattr(cv2, "VideoCapture", DyingCapture)
    cam = Camera(0)
    assert cam.read() is not None and cam.read() is not None
    with pytest.raises(SourceError, match="stopped delivering frames"):
        cam.read()


def test_mp4_video_round_trip(tmp_path):
    path = write_video(tmp_path / "c.mp4", moving_square_frames(5), fourcc="mp4v")
    src = open_source(str(path))
    n = 0
    while src.read() is not None:
        n += 1
    assert n == 5


def test_a_missing_camera_leaves_no_library_noise_on_the_terminal():
    code = ("from emorec.common.quiet import quiet_libraries; quiet_libraries()\n"
            "from emorec.core.sources import open_source\n"
            "try:\n    open_source(57)\nexcept Exception as e:\n    print(type(e).__name__)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.stdout.strip() == "SourceError" and run.stderr == ""       # no V4L2 / obsensor lines
