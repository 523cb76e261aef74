"""The files recognition results are written to, by the window's recordings, ``main.py analyze`` and the
server's video jobs alike: the one per-face CSV format, and the annotated video.

One row per face per frame: ``frame`` (index in the source), ``time_s`` (seconds from the start of the
video, or of the recording for a camera), then :data:`recognizer.FACE_COLUMNS` (track id, box, label,
confidence, the 7 probabilities to 6 decimals). Rows are streamed to a temporary file as they come, so
memory stays flat however long the source is, and the file appears under its name only when complete.
"""

import csv
from typing import Any

import cv2

from emorec.common.artifacts import AtomicFile
from emorec.common.errors import OutputError, output_error
from emorec.core.recognizer import FACE_COLUMNS

CSV_COLUMNS = ["frame", "time_s", *FACE_COLUMNS]
#: The annotated videos' codec, as OpenCV's four-character code (what ``cv2.VideoWriter_fourcc(*"mp4v")`` gives).
MP4V = int.from_bytes(b"mp4v", "little")


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

    def add(self, frame, time_s, faces):
        """Append one row per face of frame number ``frame`` at ``time_s`` seconds."""
        self._write([frame, f"{time_s:.3f}", *f.row()] for f in faces)
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


class AnnotatedVideo(_Committed):
    """An mp4 written frame by frame under a temporary name. cv2.VideoWriter fails silently (on a full disk
    it leaves a truncated file), so :meth:`commit` reopens the file and renames it into place only if it
    holds every frame written; otherwise it deletes it and raises :class:`errors.OutputError`."""

    def __init__(self, path, fps, hint="pass --no-video"):
        """``hint``: the other way out, named in error messages (analyze: "pass --no-video")."""
        self.hint = hint
        try:
            self._file = AtomicFile(path)
        except OSError as e:
            raise output_error(path, e) from None
        self.path, self.fps, self.frames, self._writer = self._file.path, fps, 0, None

    def write(self, frame):
        if self._writer is None:
            h, w = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self._file.tmp), MP4V, self.fps, (w, h))
            if not self._writer.isOpened():
                raise OutputError(f"cannot write {self.path}: OpenCV could not open an mp4v video writer (no "
                                  f"encoder, or the disk is full); free some space, or {self.hint}.")
        self._writer.write(frame)
        self.frames += 1

    def commit(self):
        self._release()
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
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def abort(self):
        self._release()
        self._file.abort()
