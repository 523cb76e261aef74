"""Where the window saves things, its snapshots, and its recordings: per-face rows in the one CSV format (and optionally
the annotated video), written under temporary names and renamed into place when the recording stops."""

import time
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from emorec.common.artifacts import atomic_path
from emorec.common.errors import OutputError, output_error
from emorec.core.faces import Faces
from emorec.core.records import AnnotatedVideo, FaceCsv


def default_output_dir(home=None):
    """Where snapshots and recordings go unless ``--output-dir`` says otherwise:
    ``~/Pictures/emorec`` if there is a ``~/Pictures`` folder, else ``~/emorec``."""
    home = Path.home() if home is None else Path(home)
    return (home / "Pictures" if (home / "Pictures").is_dir() else home) / "emorec"


def ensure_folder(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed; returns it as an absolute path.
    Raises :class:`errors.OutputError` naming the fix when it cannot be created."""
    path = Path(folder).expanduser().absolute()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise output_error(path, e, "create the folder") from None
    return path


def save_snapshot(bgr: np.ndarray, folder: str | Path) -> Path:
    """Save an annotated BGR frame as ``snapshot-<date-time>.png`` in ``folder`` (created if needed), whole or
    not at all; returns its path. Raises :class:`errors.OutputError` naming the problem and the fix."""
    folder = ensure_folder(folder)
    path = folder / f"snapshot-{datetime.now():%Y%m%d-%H%M%S-%f}.png"
    try:
        with atomic_path(path) as tmp:
            if not cv2.imwrite(str(tmp), bgr):
                raise OutputError(f"cannot write {path}: OpenCV could not write the PNG.")
    except OSError as e:
        raise output_error(path, e) from None
    return path


class Recording:
    """Per-face rows to a :class:`records.FaceCsv` (and optionally an annotated .mp4), owned by the worker.

    For a live camera ``frame`` and ``time_s`` both count from the start of the recording (frame 0 is the
    first frame recorded; seconds since Record), as the browser page's recordings do. For a file both are the
    video's own: its frame index (counted on across loops, so that a recording's frames are unique and
    increasing) and its timestamp (frame / fps). Both files appear under their names only on :meth:`close`;
    :meth:`abort` deletes them. Write failures raise :class:`errors.OutputError`.
    """

    def __init__(self, folder, source, with_video):
        folder = ensure_folder(folder)
        base = stem = f"emotions-{datetime.now():%Y%m%d-%H%M%S}"
        n = 1
        while (folder / f"{stem}.csv").exists():   # two recordings within one second
            n += 1
            stem = f"{base}-{n}"
        self.csv = FaceCsv(folder / f"{stem}.csv")
        self._live, self._fps = source.live, source.fps
        try:
            self.video = AnnotatedVideo(folder / f"{stem}.mp4", self._fps or 30.0,
                                        hint="untick “Record annotated video too” to record the CSV alone") \
                if with_video else None
        except Exception:
            self.csv.abort()
            raise
        self._started = time.monotonic()
        self._last, self._offset = -1, 0
        self._first: int | None = None       # a live camera's first recorded frame index

    def add(self, frame_index: int, faces: Faces, annotated) -> None:
        """One frame: its index in the source, its faces and the annotated BGR frame (for the .mp4). An index
        that goes back (the video looped) is counted on from the last one."""
        if self._live:
            self._first = frame_index if self._first is None else self._first
            frame_index -= self._first
        frame = frame_index + self._offset
        if frame <= self._last:
            self._offset += self._last + 1 - frame
            frame = self._last + 1
        self._last = frame
        if self._live:
            t = time.monotonic() - self._started
        else:
            t = frame / self._fps if self._fps else 0.0
        self.csv.add(frame, t, faces)
        if self.video is not None:
            self.video.write(annotated)

    def close(self):
        """Finish both files; returns the paths written."""
        paths = [self.csv.commit()]
        if self.video is not None:
            self.video.commit()
            paths.append(self.video.path)
        return paths

    def abort(self):
        self.csv.abort()
        if self.video is not None:
            self.video.abort()
