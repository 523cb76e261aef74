"""The one per-face CSV format, written by the window's recordings and by ``main.py analyze`` alike.

One row per face per frame: ``frame`` (index in the source), ``time_s`` (seconds from the start of the
video, or of the recording for a camera), then :data:`recognizer.FACE_COLUMNS` (track id, box, label,
confidence, the 7 probabilities to 6 decimals). Rows are streamed to a temporary file as they come, so
memory stays flat however long the source is, and the file appears under its name only when complete.
"""

import csv

from .artifacts import AtomicFile
from .errors import output_error
from .recognizer import FACE_COLUMNS

CSV_COLUMNS = ["frame", "time_s", *FACE_COLUMNS]


class FaceCsv:
    """``FaceCsv(path)``; ``add(frame, time_s, faces)`` per frame; ``commit()`` when done, ``abort()`` on failure.

    Write errors (disk full, no permission) raise :class:`errors.OutputError` naming the file.
    Also a context manager: commits on success, aborts on an exception.
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

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
