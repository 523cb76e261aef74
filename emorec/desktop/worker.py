"""The window's worker thread: reads a source, recognizes, annotates and records frames.

The window steers it in one way only: ``(name, value)`` commands on :attr:`FrameWorker.commands`
(see :data:`COMMANDS`). It never touches a widget: it hands the newest result to the window through a
queue of size 1 (older results are dropped, never queued) and ``(kind, text)`` messages through a second
queue. Every failure becomes a message; the thread never dies silently.
"""

import queue
import threading
import time

import cv2
import numpy as np

from emorec.common.errors import InputError, error_message
from emorec.core.drawing import draw_faces
from emorec.core.sources import open_source
from emorec.desktop.recording import Recording

#: What the window may put on ``FrameWorker.commands``, as ``(name, value)``:
#: ``("pause", bool)``, ``("mirror", bool)``, ``("loop", bool)``, ``("select", track id or None)``,
#: ``("record", (folder, with_video))`` to start a recording or ``("record", None)`` to stop it,
#: ``("reprocess", None)`` to recognize the frame on screen again, ``("stop", None)``.
COMMANDS = ("pause", "mirror", "loop", "select", "record", "reprocess", "stop")

#: ``(kind, text)`` messages the worker posts: "source" (a moving source opened: its name), "still" (a still
#: image opened), "end" (a video ended), "error" (the worker has stopped: why), "recording" (started: the CSV),
#: "saved" (a recording was written: the paths), "record-failed" (a recording was stopped by an error: why).
MESSAGES = ("source", "still", "end", "error", "recording", "saved", "record-failed")


class FrameWorker(threading.Thread):
    """Reads a source, recognizes each frame and hands the newest result to the window.

    Results: dicts with ``rgba`` (H×W×4 uint8 annotated, mirrored if asked, ready for Tk), ``bgr`` (the same,
    BGR), ``faces``, ``frame`` (index in the source), ``fps`` (frames shown per second, None when not known or
    for a still), ``ms`` (recognize + draw time of this frame, milliseconds) and ``still`` (True for a still
    image, which is recognized once, and again only when a setting changes).
    Messages: ``(kind, text)`` tuples, see :data:`MESSAGES`. Commands: see :data:`COMMANDS`.
    """

    def __init__(self, recognizer, source_spec, results, messages, commands=None, *, loop=False, mirror=False):
        super().__init__(daemon=True, name="frame-worker")
        self.recognizer, self.spec = recognizer, source_spec
        self.results, self.messages = results, messages
        self.commands = queue.Queue() if commands is None else commands
        # The worker's own state: the window changes it only through commands.
        self._loop, self._mirror, self._paused, self._selected_id = loop, mirror, False, None
        self._stopped = False
        self._redo = None          # None, "redraw" (selection changed) or "reprocess" (mirror changed)
        self._recording = None
        self._source, self._still = None, False
        self._shown: tuple | None = None   # (raw frame, index, faces, annotated) of the frame on screen
        self._fps, self._t_last = None, None

    def stop(self):
        """Ask the thread to finish (a command like the others); then ``join()`` it."""
        self.commands.put(("stop", None))

    def run(self):
        source = None
        try:
            source = open_source(self.spec)
            self._play(source)
            self._close_recording()
        except Exception as e:   # whatever it is, the window must hear of it (STYLE 15)
            self._close_recording()
            self.messages.put(("error", error_message(e)))
        finally:
            if source is not None:
                source.close()

    # ---------------------------------------------------------------- the loop
    def _play(self, source):
        self._source = source
        self.recognizer.reset()
        self._still = not source.live and source.frame_count == 1
        self.messages.put(("still" if self._still else "source", source.name))
        index, ended = -1, False
        period = 1.0 / source.fps if not source.live and source.fps else 0.0
        while True:
            self._take_commands(block=(self._paused or ended) and self._redo is None)
            if self._stopped:
                return
            if ended and self._can_loop(index):   # "Loop" ticked after the end
                index, ended = self._rewind(source), False
                self.messages.put(("source", source.name))
            if self._paused or ended:
                if self._redo is not None and self._shown is not None:
                    self._process(self._shown[0], self._shown[1], redo=self._redo)
                self._redo = None
                continue
            t0 = time.perf_counter()
            frame = source.read()
            if frame is None:
                if self._can_loop(index):
                    index = self._rewind(source)
                    continue
                ended = True
                if not (self._still or index == 0):   # a still has no "end"; the picture just stays
                    self.messages.put(("end", f"end of {source.name}"))
                self._close_recording()
                continue
            index += 1
            self._redo = None
            self._process(frame, index)
            if period:   # play files at their own speed rather than as fast as possible
                self._wait_until(t0 + period)

    def _can_loop(self, index):
        # Never a still, nor a video that had a single frame: that would recognize one picture forever.
        return self._loop and not self._still and index > 0 and hasattr(self._source, "rewind")

    def _rewind(self, source):
        source.rewind()
        self.recognizer.reset()
        self._t_last = None
        return -1

    def _process(self, frame, index, redo=None):
        """Recognize (unless only the selection changed: ``redo="redraw"``), draw and publish one frame;
        a new frame (``redo=None``) also goes into the recording."""
        t0 = time.perf_counter()
        shown = np.ascontiguousarray(frame[:, ::-1]) if self._mirror else frame
        if redo == "redraw" and self._shown is not None:
            faces = self._shown[2]
        else:   # a still is not a stream: nothing carries over from the picture before (a mirror toggle)
            faces = self.recognizer.image(shown) if self._still else self.recognizer(shown)
        annotated = draw_faces(shown, faces, self._selected_id)
        ms = (time.perf_counter() - t0) * 1e3
        self._shown = (frame, index, faces, annotated)
        fps = None
        if redo is None:
            self._record()
            if not self._still:
                now = time.perf_counter()
                if self._t_last is not None:   # a rate needs two frames
                    rate = 1.0 / max(now - self._t_last, 1e-6)
                    self._fps = 0.9 * self._fps + 0.1 * rate if self._fps else rate
                    fps = self._fps
                self._t_last = now
        try:
            self.results.get_nowait()   # drop the stale frame the window has not shown yet
        except queue.Empty:
            pass
        self.results.put_nowait({"bgr": annotated, "rgba": cv2.cvtColor(annotated, cv2.COLOR_BGR2RGBA),
                                 "faces": faces, "frame": index, "fps": fps, "ms": ms, "still": self._still})

    def _wait_until(self, deadline):
        """Sleep until ``deadline`` (perf_counter seconds), obeying commands as they come."""
        while not self._stopped and not self._paused:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return
            try:
                self._obey(*self.commands.get(timeout=remaining))
            except queue.Empty:
                return

    # ---------------------------------------------------------------- commands
    def _take_commands(self, block):
        """Obey every queued command; with ``block``, wait for at least one (the worker is idle)."""
        try:
            command = self.commands.get() if block else self.commands.get_nowait()
            while True:
                self._obey(*command)
                command = self.commands.get_nowait()
        except queue.Empty:
            pass

    def _obey(self, name, value):
        if name == "stop":
            self._stopped = True
        elif name == "pause":
            self._paused = bool(value)
            self._t_last = self._fps = None   # the pause is not a slow frame
        elif name == "mirror":
            if bool(value) != self._mirror:
                self._mirror, self._redo = bool(value), "reprocess"
        elif name == "loop":
            self._loop = bool(value)
        elif name == "select":
            self._selected_id, self._redo = value, self._redo or "redraw"
        elif name == "reprocess":
            self._redo = "reprocess"
        elif name == "record":
            self._close_recording()
            if value is not None:
                self._start_recording(*value)
        else:
            raise InputError(f"unknown command {name!r}; expected one of {', '.join(COMMANDS)}")

    # ---------------------------------------------------------------- recording
    def _start_recording(self, folder, with_video):
        try:
            self._recording = Recording(folder, self._source, with_video)
        except Exception as e:
            self.messages.put(("record-failed", f"recording not started: {error_message(e)}"))
            return
        self.messages.put(("recording", str(self._recording.csv.path)))
        self._record()   # the frame on screen is the recording's first

    def _record(self):
        if self._recording is None or self._shown is None:
            return
        _, index, faces, annotated = self._shown
        try:
            self._recording.add(index, faces, annotated)
        except Exception as e:
            self._recording.abort()
            self._recording = None
            self.messages.put(("record-failed", f"recording stopped: {error_message(e)}"))

    def _close_recording(self):
        if self._recording is None:
            return
        recording, self._recording = self._recording, None
        try:
            paths = recording.close()
        except Exception as e:
            recording.abort()
            self.messages.put(("record-failed", f"recording lost: {error_message(e)}"))
            return
        self.messages.put(("saved", ", ".join(str(p) for p in paths)))
