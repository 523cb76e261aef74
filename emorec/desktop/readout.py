"""What the window says about what it shows: the side panel's readout, and the status line's no-face hint.

The readout is three short lines: '30 frames/s · 1 face', 'recognize 4.0 ms (network 0.9 ms)' (the worker's
time for a frame, and the part of it the emotion network took: what ``--model model/fast`` saves) and
'display 2.0 ms' (the window's own). The rate is new frames shown per second of wall time, so it never reads
above what the source delivers; a moving source's times are medians over the same span, so one slow frame
(a full detector scan, a garbage collection) does not make the line jump."""

import statistics
import tkinter as tk
from collections import deque
from collections.abc import Callable, Sequence

from emorec.common.invocation import prog
from emorec.core.detector import DetectorSettings
from emorec.core.face_size import smaller_faces_flags, smallest_face
from emorec.desktop.worker import Result

READOUT_EVERY_S = 0.25           # refreshed this often: a number changing 30 times a second is unreadable
RATE_WINDOW_S = 2.0              # frames/s: the new frames shown over this much wall time
READOUT_BLANK = "\n\n"           # the readout's three lines, empty
#: the longest readout line the panel is made wide enough for (a slow CPU: 10 ms and more per network pass)
READOUT_WIDEST = "recognize 99.9 ms (network 99.9 ms)"
NO_FACE_S = 3.0                  # a source that shows no face this long gets a hint in the status line


def shown_rate(times: Sequence[float]) -> float | None:
    """Frames per second of wall time from the times (seconds, increasing) at which new frames were shown:
    frames over the span, never a mean of per-frame rates (that overstates it whenever frames come unevenly:
    a 30 frames/s source read as 31–37)."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


class Readout:
    """What the readout needs to remember: when new frames were shown (over :data:`RATE_WINDOW_S`), the
    window's own time per frame (a moving average) and when the text was last refreshed."""

    def __init__(self) -> None:
        # per new frame shown over the last RATE_WINDOW_S: (when, its ms, its network ms); not the frame itself
        self.shown: deque[tuple[float, float, float | None]] = deque()
        self.display_ms = 0.0
        self.refreshed_at = 0.0

    def restart(self) -> None:
        """A new source, or a pause: the gap is not a slow frame."""
        self.shown.clear()

    def new_frame(self, now: float, result: Result) -> None:
        """A new frame of the source was shown at ``now`` (seconds, monotonic); a redraw is not one."""
        self.shown.append((now, result.ms, result.network_ms))
        while now - self.shown[0][0] > RATE_WINDOW_S:
            self.shown.popleft()

    def recognize_text(self, latest: Result, moving: bool) -> str:
        """'recognize 4.0 ms (network 0.9 ms)': the latest frame's, or a moving source's medians."""
        ms, network = latest.ms, latest.network_ms
        if moving and self.shown:
            ms = statistics.median(t for _, t, _ in self.shown)
            known = [n for _, _, n in self.shown if n is not None]
            network = statistics.median(known) if known else None
        return f"recognize {ms:.1f} ms" + (f" (network {network:.1f} ms)" if network is not None else "")

    def displayed(self, ms: float, alone: bool = False) -> None:
        """The window took ``ms`` to show a frame (averaged over the frames of a stream; ``alone``: a still,
        whose time is its own)."""
        self.display_ms = 0.9 * self.display_ms + 0.1 * ms if self.display_ms and not alone else ms

    def due(self, now: float, force: bool = False) -> bool:
        """Whether the text should be refreshed at ``now`` (then it counts as refreshed); ``force``: yes."""
        if not force and now - self.refreshed_at <= READOUT_EVERY_S:
            return False
        self.refreshed_at = now
        return True

    def text(self, latest: Result | None, *, paused: bool, state: str | None) -> str:
        """The two lines for ``latest`` (the result on screen), the window ``paused`` or not, in ``state``."""
        if latest is None:
            return READOUT_BLANK
        n = len(latest.faces)
        faces = f"{n} face{'s' if n != 1 else ''}"
        moving = not (paused or latest.still or state == "ended")
        times = f"{self.recognize_text(latest, moving)}\ndisplay {self.display_ms:.1f} ms"
        if paused:
            return f"paused · {faces}\n{times}"
        if latest.still:
            return f"still image · {faces}\n{times}"
        if state == "ended":
            return f"last frame · {faces}\n{times}"
        fps = shown_rate([t for t, _, _ in self.shown])
        rate = f"{fps:.0f} frames/s · " if fps else ""
        return f"{rate}{faces}\n{times}"


def no_face_hint(settings: DetectorSettings, frame_width: int, *, camera: bool, still: bool) -> str:
    """The status line's words when no face is found: the smallest face looked for, what can be done in the
    window (come closer to the camera; open another file), then the flags that find smaller faces."""
    text = f"no face of {smallest_face(settings, frame_width)} px or more found"
    if camera:
        action = "move closer to the camera and face it"
    else:
        action = f"open another {'picture (Open image…)' if still else 'video (Open video…)'}"
    flags = smaller_faces_flags(settings, frame_width)
    more = f", or for smaller faces start {prog('UI.py')} with {flags}" if flags else ""
    return f"{text}: {action}{more}"


class NoFaceHint:
    """A source that has shown no face for :data:`NO_FACE_S` seconds (a still: at once) gets a hint in the
    status line (the smallest face size looked for, and what finds smaller ones); the first face found puts
    back the status line it replaced."""

    def __init__(self, status: tk.StringVar) -> None:
        self.status = status
        self.face_seen_at = 0.0        # when the last face was shown (or the source opened)
        self.replaced: str | None = None   # the status line the hint replaced

    def restart(self, now: float) -> None:
        """A new source opened at ``now``."""
        self.face_seen_at, self.replaced = now, None

    def forget(self) -> None:
        """A message took the status line: it is not put back."""
        self.replaced = None

    def update(self, result: Result, now: float, hint: Callable[[], str] | None, *, paused: bool) -> None:
        """``result`` was shown at ``now``; ``hint`` gives the hint's text (None: the recognizer has none)."""
        if result.faces:
            self.face_seen_at = now
            if self.replaced is not None:
                self.status.set(self.replaced)
                self.replaced = None
            return
        if hint is None or self.replaced is not None or paused:
            return
        if result.still or now - self.face_seen_at >= NO_FACE_S:
            self.replaced = self.status.get()
            self.status.set(hint())
