"""The window's worker thread: reads a source, recognizes, annotates and records frames.

The window steers it in one way only: :data:`Command` records on :attr:`FrameWorker.commands`. It never
touches a widget: it hands the newest :class:`Result` to the window through a queue of size 1 (older results
are dropped, never queued) and :class:`Message` records through a second queue. Every failure becomes a
message; the thread never dies silently.
"""

import enum
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emorec.common.errors import InputError, error_message
from emorec.core.drawing import draw_faces
from emorec.core.faces import Faces
from emorec.core.recognizer import Recognizes
from emorec.core.sources import open_source
from emorec.desktop.recording import Recording

# ---------------------------------------------------------------- what crosses the thread boundary


@dataclass(frozen=True)
class Pause:
    on: bool


@dataclass(frozen=True)
class Mirror:
    on: bool


@dataclass(frozen=True)
class Loop:
    on: bool


@dataclass(frozen=True)
class Select:
    """Draw this track's box thicker (None: no face selected)."""
    track_id: int | None


@dataclass(frozen=True)
class StartRecording:
    folder: Path
    with_video: bool


@dataclass(frozen=True)
class StopRecording:
    pass


@dataclass(frozen=True)
class Reprocess:
    """Recognize the frame on screen again."""


@dataclass(frozen=True)
class Stop:
    pass


#: What the window may put on ``FrameWorker.commands``.
Command = Pause | Mirror | Loop | Select | StartRecording | StopRecording | Reprocess | Stop


class Kind(enum.Enum):
    """What a :class:`Message` is about."""
    SOURCE = "source"                # a moving source opened: its name
    STILL = "still"                  # a still image opened: its name
    END = "end"                      # a video ended
    ERROR = "error"                  # the worker has stopped: why
    RECORDING = "recording"          # a recording started: its CSV
    SAVED = "saved"                  # a recording was written: the paths
    RECORD_FAILED = "record-failed"  # a recording was stopped by an error: why


@dataclass(frozen=True)
class Message:
    kind: Kind
    text: str


@dataclass(frozen=True)
class Result:
    """One frame, ready to show. ``rgba``: H×W×4 uint8, annotated (and mirrored if asked), in Pillow's layout
    for Tk; ``bgr``: the same picture in BGR; ``frame``: its index in the source (the window counts the frames
    it shows per second itself: :func:`readout.shown_rate`); ``ms``: recognize + draw time of this frame in
    milliseconds, ``network_ms`` the part of it spent in the emotion network (None where the recognizer does not say);
    ``still``: a still image, recognized once and again only when a setting changes."""
    rgba: np.ndarray
    bgr: np.ndarray
    faces: Faces
    frame: int
    ms: float
    still: bool
    network_ms: float | None = None


class FrameWorker(threading.Thread):
    """Reads a source, recognizes each frame and hands the newest :class:`Result` to the window, with
    :class:`Message` records on ``messages``; obeys :data:`Command` records on ``commands``."""

    def __init__(self, recognizer: Recognizes, source_spec: int | str, results: "queue.Queue[Result]",
                 messages: "queue.Queue[Message]", commands: "queue.Queue[Command] | None" = None, *,
                 loop: bool = False, mirror: bool = False):
        super().__init__(daemon=True, name="frame-worker")
        self.recognizer, self.spec = recognizer, source_spec
        self.results, self.messages = results, messages
        self.commands: queue.Queue[Command] = queue.Queue() if commands is None else commands
        # The worker's own state: the window changes it only through commands.
        self._loop, self._mirror, self._paused = loop, mirror, False
        self._selected_id: int | None = None
        self._stopped = False
        self._redo: str | None = None    # None, "redraw" (selection changed) or "reprocess" (mirror changed)
        self._recording: Recording | None = None
        self._source: Any = None
        self._still = False
        self._shown: tuple | None = None   # (raw frame, index, faces, annotated) of the frame on screen

    def stop(self) -> None:
        """Ask the thread to finish (a command like the others); then ``join()`` it."""
        self.commands.put(Stop())

    def _post(self, kind: Kind, text: str) -> None:
        self.messages.put(Message(kind, text))

    def run(self):
        source = None
        try:
            source = open_source(self.spec)
            self._play(source)
            self._close_recording()
        except Exception as e:   # whatever it is, the window must hear of it (STYLE 15)
            self._close_recording()
            self._post(Kind.ERROR, error_message(e))
        finally:
            if source is not None:
                source.close()

    # ---------------------------------------------------------------- the loop
    def _play(self, source):
        self._source = source
        self.recognizer.reset()
        self._still = not source.live and source.frame_count == 1
        self._post(Kind.STILL if self._still else Kind.SOURCE, source.name)
        index, ended = -1, False
        period = 1.0 / source.fps if not source.live and source.fps else 0.0
        while True:
            self._take_commands(block=(self._paused or ended) and self._redo is None)
            if self._stopped:
                return
            if ended and self._can_loop(index):   # "Loop" ticked after the end
                index, ended = self._rewind(source), False
                self._post(Kind.SOURCE, source.name)
            if self._paused or ended:
                if self._redo is not None and self._shown is not None:
                    frame, shown_index = self._shown[:2]
                    self._process(frame, shown_index, redo=self._redo)
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
                    self._post(Kind.END, f"end of {source.name}")
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
        network_ms = None if redo == "redraw" else self.recognizer.network_ms
        self._shown = (frame, index, faces, annotated)
        if redo is None:
            self._record()
        try:
            self.results.get_nowait()   # drop the stale frame the window has not shown yet
        except queue.Empty:
            pass
        self.results.put_nowait(Result(rgba=cv2.cvtColor(annotated, cv2.COLOR_BGR2RGBA), bgr=annotated, faces=faces,
                                       frame=index, ms=ms, still=self._still,
                                       network_ms=network_ms))

    def _wait_until(self, deadline):
        """Sleep until ``deadline`` (perf_counter seconds), obeying commands as they come."""
        while not self._stopped and not self._paused:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return
            try:
                self._obey(self.commands.get(timeout=remaining))
            except queue.Empty:
                return

    # ---------------------------------------------------------------- commands
    def _take_commands(self, block):
        """Obey every queued command; with ``block``, wait for at least one (the worker is idle)."""
        try:
            command = self.commands.get() if block else self.commands.get_nowait()
            while True:
                self._obey(command)
                command = self.commands.get_nowait()
        except queue.Empty:
            pass

    def _obey(self, command: Command) -> None:
        if isinstance(command, Stop):
            self._stopped = True
        elif isinstance(command, Pause):
            self._paused = command.on
        elif isinstance(command, Mirror):
            if command.on != self._mirror:
                self._mirror, self._redo = command.on, "reprocess"
        elif isinstance(command, Loop):
            self._loop = command.on
        elif isinstance(command, Select):
            self._selected_id, self._redo = command.track_id, self._redo or "redraw"
        elif isinstance(command, Reprocess):
            self._redo = "reprocess"
        elif isinstance(command, StartRecording):
            self._close_recording()
            self._start_recording(command.folder, command.with_video)
        elif isinstance(command, StopRecording):
            self._close_recording()
        else:
            raise InputError(f"unknown command {command!r}; expected one of Pause, Mirror, Loop, Select, "
                             "StartRecording, StopRecording, Reprocess, Stop")

    # ---------------------------------------------------------------- recording
    def _start_recording(self, folder, with_video):
        try:
            self._recording = Recording(folder, self._source, with_video)
        except Exception as e:
            self._post(Kind.RECORD_FAILED, f"recording not started: {error_message(e)}")
            return
        self._post(Kind.RECORDING, str(self._recording.csv.path))
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
            self._post(Kind.RECORD_FAILED, f"recording stopped: {error_message(e)}")

    def _close_recording(self):
        if self._recording is None:
            return
        recording, self._recording = self._recording, None
        try:
            paths = recording.close()
        except Exception as e:
            recording.abort()
            self._post(Kind.RECORD_FAILED, f"recording lost: {error_message(e)}")
            return
        self._post(Kind.SAVED, ", ".join(str(p) for p in paths))
