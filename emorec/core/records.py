"""The files recognition results are written to, by the window's recordings, ``main.py analyze`` and the
server's video jobs alike: the one per-face CSV format, and the annotated video.

One row per face per frame: ``frame`` (index in the source), ``time_s`` (seconds from the start of the
video, or of the recording for a camera), then :data:`faces.FACE_COLUMNS` (track id, box, label,
confidence, the 7 probabilities to 6 decimals). Rows are streamed to a temporary file as they come, so
memory stays flat however long the source is, and the file appears under its name only when complete.
"""

import csv
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np
from av import FFmpegError

from emorec.common.artifacts import AtomicFile
from emorec.common.errors import OutputError, output_error
from emorec.core.faces import FACE_COLUMNS, Faces

CSV_COLUMNS = ["frame", "time_s", *FACE_COLUMNS]


class _Committed:
    """As a context manager: :meth:`commit` on success, :meth:`abort` on an exception (the subclass's)."""

    def commit(self) -> Any:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class FaceCsv(_Committed):
    """``FaceCsv(path)``; ``add(frame, time_s, faces)`` per frame; ``commit()`` when done, ``abort()`` on failure.

    Write errors (disk full, no permission) raise :class:`errors.OutputError` naming the file.
    """

    def __init__(self, path):
        try:
            self._file = AtomicFile(path)
            self._handle = open(self._file.tmp, "w", newline="", encoding="utf-8")
        except OSError as e:
            raise output_error(path, e) from None
        self.path = self._file.path
        self.rows = 0
        self._writer = csv.writer(self._handle, lineterminator="\n")
        self._write([CSV_COLUMNS])

    def _write(self, rows):
        try:
            self._writer.writerows(rows)
        except OSError as e:
            self.abort()
            raise output_error(self.path, e) from None

    def add(self, frame: int, time_s: float, faces: Faces) -> None:
        """Append one row per face of frame number ``frame`` at ``time_s`` seconds (:meth:`faces.Faces.rows`)."""
        self._write([frame, f"{time_s:.3f}", *row] for row in faces.rows())
        self.rows += len(faces)

    def commit(self):
        """Close the file and rename it into place; returns its path."""
        try:
            self._handle.close()
            self._file.commit()
        except OSError as e:
            self.abort()
            raise output_error(self.path, e) from None
        return self.path

    def abort(self):
        """Close and delete the temporary file; ``path`` is left as it was."""
        if not self._handle.closed:
            try:
                self._handle.close()
            except OSError:
                pass   # the data is being thrown away anyway (e.g. the disk filled up)
        self._file.abort()


#: What writing a video can raise: PyAV's errors (a full disk is an OSError, ENOSPC) and the OS's.
VIDEO_ERRORS = (OSError, ValueError, FFmpegError)


class H264Writer:
    """Frames to an H.264 mp4 that browsers, QuickTime and every player open (yuv420p, the index at the
    front so that it plays while it downloads), through PyAV's FFmpeg. OpenCV's wheels can write only
    MPEG-4 part 2 (mp4v), which browsers do not play. Odd sizes get one repeated edge column or row."""

    def __init__(self, path: str, fps: float, width: int, height: int) -> None:
        self._container = av.open(path, "w", format="mp4", options={"movflags": "+faststart"})
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
        self._stream = self._container.add_stream("libx264", rate=rate, options={"preset": "veryfast", "crf": "23"})
        self._stream.width, self._stream.height = width + width % 2, height + height % 2
        self._stream.pix_fmt = "yuv420p"

    def write(self, bgr: np.ndarray) -> None:
        h, w = bgr.shape[:2]
        if (w, h) != (self._stream.width, self._stream.height):
            bgr = np.pad(bgr, ((0, self._stream.height - h), (0, self._stream.width - w), (0, 0)), mode="edge")
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")):
            self._container.mux(packet)

    def release(self) -> None:
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()


class AnnotatedVideo(_Committed):
    """An H.264 mp4 (:class:`H264Writer`) written frame by frame under a temporary name; :meth:`commit`
    reopens the file and renames it into place only if it holds every frame written, otherwise it deletes it
    and raises :class:`errors.OutputError` (a full disk), as does a write that fails."""

    def __init__(self, path, fps, hint="pass --no-video"):
        """``hint``: the other way out, named in error messages (analyze: "pass --no-video")."""
        self.hint = hint
        try:
            self._file = AtomicFile(path)
        except OSError as e:
            raise output_error(path, e) from None
        self.path, self.fps, self.frames = self._file.path, fps, 0
        self._writer: H264Writer | None = None

    def write(self, frame):
        try:
            if self._writer is None:
                h, w = frame.shape[:2]
                self._writer = H264Writer(str(self._file.tmp), self.fps, w, h)
            self._writer.write(frame)
        except VIDEO_ERRORS as e:
            self.abort()
            raise OutputError(f"cannot write {self.path}: {e}; free some space, or {self.hint}.") from None
        self.frames += 1

    def commit(self):
        try:
            self._release()
        except VIDEO_ERRORS as e:
            self.abort()
            raise OutputError(f"cannot write {self.path}: {e}; free some space, or {self.hint}.") from None
        cap = cv2.VideoCapture(str(self._file.tmp))
        readable = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        cap.release()
        if readable != self.frames:
            self.abort()
            raise OutputError(f"cannot write {self.path}: {readable} of its {self.frames} frames could be read "
                              f"back; the disk is probably full. Free some space and try again, or {self.hint}.")
        try:
            self._file.commit()
        except OSError as e:
            self.abort()
            raise output_error(self.path, e) from None

    def _release(self):
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.release()

    def abort(self):
        try:
            self._release()
        except VIDEO_ERRORS:
            pass   # the file is being thrown away anyway
        self._file.abort()
