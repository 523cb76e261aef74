"""Frame sources for the window and the analyser: a camera, a video file or a still image.

``open_source(spec)``: an int (or digit string) is a camera index, anything else a file path.
``source.read()`` returns the next H×W×3 uint8 BGR frame, or ``None`` at the end of a video.
A camera that stops delivering raises :class:`SourceError`.
"""

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

from emorec.common.errors import SourceError
from emorec.common.labels import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS


def kind_of(path):
    """'image', 'video' or None for a path, by extension."""
    suffix = Path(path).suffix.lower()
    return "image" if suffix in IMAGE_EXTENSIONS else "video" if suffix in VIDEO_EXTENSIONS else None


def is_complete_image(image):
    """Whether Pillow can decode the image (a path, or the file's bytes) to its last byte. OpenCV decodes a
    truncated JPEG without a word, filling the missing part with grey; such a picture must be refused, not
    analysed or trained on."""
    try:
        with PILImage.open(io.BytesIO(image) if isinstance(image, bytes) else image) as im:
            im.load()
        return True
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError):
        return False


def read_image(path):
    """Read an image file as BGR uint8 (EXIF orientation applied) or raise :class:`SourceError` naming the
    problem. The file is read once: both the completeness check and OpenCV decode those bytes."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"image not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SourceError(f"cannot read {path}: {e.strerror or e}") from None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if is_complete_image(data) else None
    if image is None:
        raise SourceError(f"cannot read {path}: not an image, or the file is truncated or damaged")
    return image


class Camera:
    live = True

    def __init__(self, index=0, width=640, height=480):
        self.name = f"camera {index}"
        self.cap = cv2.VideoCapture(int(index))
        if not self.cap.isOpened():
            self.cap.release()
            raise SourceError(f"no camera found at index {index}. Connect a webcam (or try another "
                              "index with --camera N), or open a video or image file instead.")
        self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self.fps = self.cap.get(cv2.CAP_PROP_FPS) or 30.0
        self.frame_count = None
        self._failures = 0

    def read(self):
        ok, frame = self.cap.read()
        while not ok:
            # A few dropped reads happen on USB cameras; many in a row mean it is gone.
            self._failures += 1
            if self._failures >= 10:
                raise SourceError(f"{self.name} stopped delivering frames (unplugged or in use by "
                                  "another program). Reconnect it and choose the camera again, or open a file.")
            ok, frame = self.cap.read()
        self._failures = 0
        return frame

    def close(self):
        self.cap.release()


class Video:
    live = False

    def __init__(self, path, start=0):
        """``start``: the index of the first frame :meth:`read` returns (a segment of the video)."""
        self.name = str(path)
        if not Path(path).is_file():
            raise SourceError(f"video not found: {path}")
        self.cap = cv2.VideoCapture(str(path))
        if start and self.cap.isOpened():
            self._seek(start)
        self._first: np.ndarray | None
        ok, self._first = self.cap.read() if self.cap.isOpened() else (False, None)
        if not ok:
            self.cap.release()
            raise SourceError(f"cannot read video {path}: unsupported format or damaged file")
        self.fps = self.cap.get(cv2.CAP_PROP_FPS) or 25.0
        count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None

    def read(self):
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        ok, frame = self.cap.read()
        return frame if ok else None

    def _seek(self, start):
        """Position at frame ``start``: FFmpeg seeks to the key frame before it and decodes forward. Where the
        container cannot seek to that frame exactly, the frames before it are read and dropped instead."""
        if self.cap.set(cv2.CAP_PROP_POS_FRAMES, start) and int(self.cap.get(cv2.CAP_PROP_POS_FRAMES)) == start:
            return
        self.cap.release()
        self.cap = cv2.VideoCapture(self.name)
        for _ in range(start):
            if not self.cap.grab():
                break

    def rewind(self):
        self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def close(self):
        self.cap.release()


class Image:
    """A still image as a one-frame source."""
    live = False
    fps = 0.0
    frame_count = 1

    def __init__(self, path):
        self.name = str(path)
        self.image = read_image(path)
        self._done = False

    def read(self):
        if self._done:
            return None
        self._done = True
        return self.image

    def rewind(self):
        self._done = False

    def close(self):
        pass


def open_source(spec, width=640, height=480):
    """Camera index (int or digits), image path or video path → an opened source."""
    if isinstance(spec, (int, np.integer)) or (isinstance(spec, str) and spec.isdigit()):
        return Camera(int(spec), width, height)
    kind = kind_of(spec)
    if kind == "image":
        return Image(spec)
    if kind == "video":
        return Video(spec)
    if not Path(spec).exists():
        raise SourceError(f"not found: {spec}")
    raise SourceError(f"{spec}: unsupported file type; open an image "
                      f"({', '.join(sorted(IMAGE_EXTENSIONS))}) or a video ({', '.join(sorted(VIDEO_EXTENSIONS))}).")
