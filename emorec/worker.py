"""The GUI's worker thread: reads a source, recognizes, annotates and records frames.

It never touches a widget: it hands the newest result to the window through a queue of size 1
(older results are dropped, never queued) and status messages through a second queue.
"""

import contextlib
import csv
import queue
import threading
import time
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from .artifacts import atomic_path
from .drawing import draw_faces
from .recognizer import FACE_COLUMNS
from .sources import SourceError, open_source

CSV_HEADER = ["time", "frame", *FACE_COLUMNS]


class Recording:
    """Per-frame, per-face rows to a CSV (and optionally an annotated video), owned by the worker thread.

    Both files are written under temporary names and renamed into place by :meth:`close`.
    """

    def __init__(self, folder, fps, with_video):
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.csv_path = Path(folder) / f"emotions-{stamp}.csv"
        self.video_path = Path(folder) / f"emotions-{stamp}.mp4" if with_video else None
        self._fps, self._video = fps or 30.0, None
        # ExitStack unwinds last-in first-out: each file is closed before its temporary name is renamed.
        self._files = contextlib.ExitStack()
        tmp = self._files.enter_context(atomic_path(self.csv_path))
        self._writer = csv.writer(self._files.enter_context(open(tmp, "w", newline="")))
        self._writer.writerow(CSV_HEADER)

    def add(self, frame_index, faces, annotated):
        t = datetime.now().isoformat(timespec="milliseconds")
        for f in faces:
            self._writer.writerow([t, frame_index, *f.row()])
        if self.video_path is not None:
            if self._video is None:
                tmp = self._files.enter_context(atomic_path(self.video_path))
                h, w = annotated.shape[:2]
                self._video = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), self._fps, (w, h))
                self._files.callback(self._video.release)
            self._video.write(annotated)

    def close(self):
        """Finish both files; returns the paths written."""
        self._files.close()
        return [p for p in (self.csv_path, self.video_path) if p is not None and p.exists()]


class FrameWorker(threading.Thread):
    """Reads a source, recognizes each frame and hands the newest result to the GUI.

    Results: dicts with ``rgb`` (H×W×3 uint8 annotated, mirrored if asked), ``bgr`` (the same, BGR),
    ``faces``, ``frame`` index, ``fps`` (frames shown per second) and ``ms`` (read + recognize + draw
    time of this frame). Messages: (kind, text) tuples.
    """

    def __init__(self, recognizer, source_spec, results, messages, *, loop=False, mirror=False):
        super().__init__(daemon=True, name="frame-worker")
        self.recognizer, self.spec = recognizer, source_spec
        self.results, self.messages = results, messages
        self.loop, self.mirror, self.selected_id = loop, mirror, None
        self.paused = threading.Event()
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._recording = None
        self._record_request = None

    def stop(self):
        self.stopped.set()

    def request_recording(self, folder=None, with_video=False):
        """Start (folder given) or stop (None) recording; the worker thread acts on it."""
        with self._lock:
            self._record_request = (folder, with_video)

    def _publish(self, item):
        try:
            self.results.get_nowait()   # drop the stale frame the GUI has not shown yet
        except queue.Empty:
            pass
        self.results.put_nowait(item)

    def run(self):
        try:
            source = open_source(self.spec)
        except SourceError as e:
            self.messages.put(("error", str(e)))
            return
        self.recognizer.reset()
        self.messages.put(("source", source.name))
        frame_index, t_last, fps = 0, time.perf_counter(), 0.0
        period = 1.0 / source.fps if not source.live and source.fps else 0.0
        try:
            while not self.stopped.is_set():
                self._handle_recording(source)
                if self.paused.is_set():
                    time.sleep(0.02)
                    continue
                t0 = time.perf_counter()
                frame = source.read()
                if frame is None:
                    if self.loop and hasattr(source, "rewind") and frame_index > 0:
                        source.rewind()
                        self.recognizer.reset()
                        continue
                    self._finish_recording()
                    self.messages.put(("end", f"end of {source.name}" if frame_index != 1 else source.name))
                    self.stopped.wait()
                    break
                if self.mirror:
                    frame = np.ascontiguousarray(frame[:, ::-1])
                faces = self.recognizer(frame)
                annotated = draw_faces(frame, faces, self.selected_id)
                busy_ms = (time.perf_counter() - t0) * 1e3
                if self._recording is not None:
                    self._recording.add(frame_index, faces, annotated)
                now = time.perf_counter()
                if frame_index:   # a rate needs two frames; 0 means "not known yet"
                    rate = 1.0 / max(now - t_last, 1e-6)
                    fps = 0.9 * fps + 0.1 * rate if fps else rate
                t_last = now
                self._publish({"bgr": annotated, "rgb": cv2.cvtColor(annotated, cv2.COLOR_BGR2RGB), "faces": faces,
                               "frame": frame_index, "fps": fps, "ms": busy_ms})
                frame_index += 1
                if period:   # play files at their own speed rather than as fast as possible
                    self.stopped.wait(max(0.0, period - (time.perf_counter() - t0)))
        except SourceError as e:
            self.messages.put(("error", str(e)))
        finally:
            self._finish_recording()
            source.close()

    def _handle_recording(self, source):
        with self._lock:
            request, self._record_request = self._record_request, None
        if request is None:
            return
        folder, with_video = request
        self._finish_recording()
        if folder is not None:
            self._recording = Recording(folder, source.fps, with_video)
            self.messages.put(("info", f"recording to {self._recording.csv_path}"))

    def _finish_recording(self):
        if self._recording is not None:
            written = self._recording.close()
            self._recording = None
            self.messages.put(("info", "saved " + ", ".join(str(p) for p in written)))
