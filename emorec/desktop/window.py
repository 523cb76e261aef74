"""The Tkinter window: live video with labelled faces, probability bars and controls.

Threading (ABQ, the tkinter docs): the window steers its :class:`worker.FrameWorker` with commands on
one queue; the worker puts only the newest result on a queue of size 1 and its messages on a second
queue. The Tk main thread polls both with ``after()``, builds the PhotoImage and keeps a reference to it.
No widget is touched off the main thread, and the main thread never blocks on the worker: a source
switch stops the old worker and starts the new one only once the old one has ended.
The window gets its recognizer from the caller and never imports TensorFlow.
"""

import logging
import math
import queue
import time
import tkinter as tk
from collections import deque
from datetime import datetime
from pathlib import Path
from tkinter import filedialog, ttk
from tkinter import font as tkfont

import cv2

from emorec.common.artifacts import atomic_path
from emorec.common.errors import EmorecError, OutputError, output_error
from emorec.common.labels import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from emorec.core.face_size import no_face_message
from emorec.desktop.recording import default_output_dir, ensure_folder
from emorec.desktop.widgets import EmotionBars, Picture
from emorec.desktop.worker import (
    Command,
    FrameWorker,
    Kind,
    Loop,
    Message,
    Mirror,
    Pause,
    Result,
    Select,
    StartRecording,
    Stop,
    StopRecording,
)

log = logging.getLogger(__name__)

POLL_MS = 10
READOUT_EVERY_S = 0.25           # the frames/s and ms readout is refreshed this often
RATE_WINDOW_S = 2.0              # frames/s: the new frames shown over this much wall time
STOP_TIMEOUT_S = 3.0             # a worker that takes longer to stop is reported as stuck
PICTURE_MIN = (320, 180)         # the picture shrinks down to this; the controls never shrink
KEYS_TAG = "EmorecKeys"          # bind tag put first on every widget: the keys win whatever has focus
def shown_rate(times) -> float | None:
    """Frames per second of wall time from the times (seconds, increasing) at which new frames were shown:
    frames over the span, never a mean of per-frame rates (that overstates it whenever frames come unevenly:
    a 30 frames/s source read as 31–37)."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


HINT = "Use “Open video…” or “Open image…” on the right, or “Camera” to retry."
NO_FACE_S = 3.0                  # a source that shows no face this long gets a hint in the status line


class App:
    """The main window. ``recognizer``: a :class:`recognizer.Recognizer` (or anything with the same
    ``__call__``/``reset``); ``source``: camera index or file path to start with; ``output_dir``: where
    snapshots and recordings go (default :func:`recording.default_output_dir`, created when first needed)."""

    stop_timeout_s = STOP_TIMEOUT_S

    @property
    def photo(self):
        """The PhotoImage on screen (None while there is no picture)."""
        return self.canvas.photo

    def __init__(self, root, recognizer, source=0, *, output_dir=None, loop=False, mirror=False, record_video=False,
                 camera=0):
        self.root, self.recognizer = root, recognizer
        self.camera = camera            # what the Camera button opens (--camera)
        self._last_file: Path | None = None   # the file dialogs start in its folder
        self.output_dir = Path(default_output_dir() if output_dir is None else output_dir).expanduser().absolute()
        self.results: queue.Queue[Result] = queue.Queue(maxsize=1)
        self.messages: queue.Queue[Message] = queue.Queue()
        self.commands: queue.Queue[Command] | None = None
        self.worker, self._pending, self._stop_deadline = None, None, None
        self.latest: Result | None = None
        self._face_seen_at = 0.0        # when the last face was shown (or the source opened)
        self._status_before_hint = None  # the status line the no-face hint replaced
        self.display_ms = 0.0        # the window's own time per shown frame (moving average)
        self._readout_at = 0.0
        self.frames_shown = 0
        self._shown_at: deque[float] = deque()    # when each new frame of the source was shown (shown_rate)
        self.selected_id = None
        self.state = None            # None (opening, or failed), "moving", "still" or "ended"
        self.paused = self.recording = False
        self._poll_id = None
        self.status = tk.StringVar(value="starting…")
        self.readout = tk.StringVar(value="\n")     # two lines from the start: the layout never jumps
        self.loop = tk.BooleanVar(value=loop)
        self.mirror = tk.BooleanVar(value=mirror)
        self.record_video = tk.BooleanVar(value=record_video)
        self._build()
        root.protocol("WM_DELETE_WINDOW", self.close)
        self._bind_keys()
        self.start(source)
        self._poll_id = root.after(POLL_MS, self._poll)

    # ---------------------------------------------------------------- layout
    def _build(self):
        root = self.root
        root.title("Emotion recognizer")
        root.configure(background="#1e1e1e")
        main = ttk.Frame(root, padding=6)
        main.grid(sticky="nsew")
        root.columnconfigure(0, weight=1)
        root.rowconfigure(0, weight=1)
        # Column 0 (picture over status line) takes all the slack; the side panel keeps its width and
        # spans both rows, so a status that wraps to two lines takes its height from the picture.
        self.canvas = Picture(main, HINT)
        self.canvas.grid(row=0, column=0, sticky="nsew")
        self.canvas.bind("<Button-1>", self._on_click)
        status = ttk.Label(main, textvariable=self.status, anchor="w", width=1)
        status.grid(row=1, column=0, sticky="ew", pady=(6, 0))
        status.bind("<Configure>", lambda e: status.configure(wraplength=max(e.width, 100)))
        main.columnconfigure(0, weight=1)
        main.rowconfigure(0, weight=1)

        side = ttk.Frame(main, padding=(8, 0, 0, 0))
        side.grid(row=0, column=1, rowspan=2, sticky="n")
        ttk.Label(side, text="Emotions", font=("TkDefaultFont", 12, "bold")).grid(row=0, sticky="w")
        # The bars are what gives way when the window is short: their rows shrink from 28 to 16 px.
        self.bars = EmotionBars(side)
        self.bars.grid(row=1, sticky="nsew", pady=(2, 8))
        side.rowconfigure(1, weight=1, minsize=self.bars.min_height)
        # width=1: the readout never widens the panel (its texts are kept short enough to fit).
        ttk.Label(side, textvariable=self.readout, width=1).grid(row=2, sticky="ew")

        controls = ttk.Frame(side)
        controls.grid(row=3, sticky="w", pady=8)
        buttons = [("Camera", self.choose_camera), ("Open video…", self.choose_video),
                   ("Open image…", self.choose_image), ("Pause", self.toggle_pause),
                   ("Snapshot", self.snapshot), ("Record", self.toggle_record), ("Quit", self.close)]
        # Every button as wide as the longest text any of them shows, so "Stop recording" moves nothing.
        font = tkfont.nametofont("TkDefaultFont")
        chars = math.ceil(max(font.measure(t) for t in [b[0] for b in buttons] + ["Stop recording", "Resume"])
                          / font.measure("0"))
        self.button = {}
        for i, (text, cmd) in enumerate(buttons):
            b = ttk.Button(controls, text=text, command=cmd, width=chars)
            b.grid(row=i // 2, column=i % 2, sticky="ew", padx=2, pady=2)
            self.button[text] = b
        self.checks = [ttk.Checkbutton(side, text="Mirror", variable=self.mirror, command=self.toggle_mirror),
                       ttk.Checkbutton(side, text="Loop videos", variable=self.loop,
                                       command=lambda: self._send(Loop(self.loop.get()))),
                       ttk.Checkbutton(side, text="Record annotated video too", variable=self.record_video)]
        for i, check in enumerate(self.checks):
            check.grid(row=4 + i, sticky="w")
        self._enable_source_buttons()

        # The window opens at its natural size and stays at the size it is given: texts that change
        # never resize it. Below the minimum the controls would be cut off.
        root.update_idletasks()
        width, height = root.winfo_reqwidth(), root.winfo_reqheight()
        side_min = side.winfo_reqheight() - self.bars.winfo_reqheight() + self.bars.min_height
        min_w = width - self.canvas.winfo_reqwidth() + PICTURE_MIN[0]
        min_h = max(side_min, PICTURE_MIN[1] + status.winfo_reqheight() + 6) + 12
        root.minsize(min_w, min_h)
        root.geometry(f"{width}x{height}")

    def _bind_keys(self):
        """space = pause, q / Esc = quit, and nothing else, whichever button or checkbox has focus: the keys
        are bound to a tag that comes before the widget's own class bindings and stops there."""
        for sequence, action in (("<space>", self.toggle_pause), ("<q>", self.close), ("<Escape>", self.close)):
            self.root.bind_class(KEYS_TAG, sequence, lambda e, action=action: (action(), "break")[1])
        widgets = [self.root]
        while widgets:
            w = widgets.pop()
            w.bindtags((KEYS_TAG,) + w.bindtags())
            widgets.extend(w.winfo_children())

    def _enable_source_buttons(self):
        """Pause only for a camera or a video that is playing; Record for those (not for a still: one picture
        is a Snapshot); Snapshot for anything shown."""
        self.button["Pause"].state(["!disabled" if self.state == "moving" else "disabled"])
        recordable = self.state == "moving" or self.recording     # an ended video has no frames left to record
        self.button["Record"].state(["!disabled" if recordable else "disabled"])
        self.button["Snapshot"].state(["!disabled" if self.latest is not None else "disabled"])

    # ---------------------------------------------------------------- source control
    def start(self, source):
        """Show ``source`` (camera index or path). The current worker is stopped first and the new one
        starts only once it has ended: two workers must never share the recognizer."""
        self._pending = source
        if not str(source).isdigit():
            self._last_file = Path(source)
        if self.worker is not None and self.worker.is_alive():
            self._send(Stop())
            self._stop_deadline = time.monotonic() + self.stop_timeout_s
            self.status.set("closing the current source…")
        self._start_pending()

    def _start_pending(self):
        if self._pending is None:
            return
        if self.worker is not None and self.worker.is_alive():
            if self._stop_deadline is not None and time.monotonic() > self._stop_deadline:
                self._stop_deadline = None
                self.status.set(f"the current source has not stopped after {self.stop_timeout_s:.0f} s (a camera "
                                "driver that hangs?); the new one starts as soon as it does, or restart the app.")
            return
        if self.worker is not None:
            self.worker.join()
        source, self._pending = self._pending, None
        while not self.results.empty():
            self.results.get_nowait()
        self.latest, self.selected_id = None, None
        self._status_before_hint, self._face_seen_at = None, time.monotonic()
        self.canvas.clear()
        self.state, self.paused, self.recording = None, False, False
        self._shown_at.clear()
        self.button["Pause"].configure(text="Pause")
        self.button["Record"].configure(text="Record")
        self.readout.set("\n")
        self._enable_source_buttons()
        self.status.set(f"opening {'camera ' + str(source) if str(source).isdigit() else source}…")
        self.commands = queue.Queue()
        self.worker = FrameWorker(self.recognizer, source, self.results, self.messages, self.commands,
                                  loop=self.loop.get(), mirror=self.mirror.get())
        self.worker.start()

    def _send(self, command: Command) -> None:
        """The one way the window steers its worker."""
        if self.commands is not None:
            self.commands.put(command)

    def choose_camera(self):
        self.start(self.camera)

    def _initial_dir(self):
        """The folder of the file shown last (the file dialogs start there), else the current folder."""
        folder = self._last_file.expanduser().absolute().parent if self._last_file else Path.cwd()
        return str(folder if folder.is_dir() else Path.cwd())

    def choose_video(self):
        path = filedialog.askopenfilename(title="Open a video", initialdir=self._initial_dir(), filetypes=[
            ("Videos", " ".join(f"*{e}" for e in sorted(VIDEO_EXTENSIONS))), ("All files", "*")])
        if path:
            self.start(path)

    def choose_image(self):
        path = filedialog.askopenfilename(title="Open an image", initialdir=self._initial_dir(), filetypes=[
            ("Images", " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))), ("All files", "*")])
        if path:
            self.start(path)

    def toggle_pause(self):
        if self.state != "moving":
            return   # nothing is playing: a still, the end of a video, or no source
        self.paused = not self.paused
        self._shown_at.clear()          # the pause is not a slow frame
        self._send(Pause(self.paused))
        self.button["Pause"].configure(text="Resume" if self.paused else "Pause")
        self.readout.set(self._readout_text())

    def toggle_mirror(self):
        """Mirror (or un-mirror) the picture; a "saved …" line is about the picture before, so it goes."""
        if self.status.get().startswith("saved "):
            self.status.set("")
        self._send(Mirror(self.mirror.get()))

    def toggle_record(self):
        if self.state == "still" and not self.recording:
            self.status.set("a still image has nothing to record: “Snapshot” saves it")
            return
        if self.state is None and not self.recording:
            self.status.set("nothing to record: open a camera or a video first")
            return
        if self.state == "ended" and not self.recording:
            self.status.set("the video has ended, so there is nothing left to record: open it again "
                            "(tick “Loop videos” to keep it playing)")
            return
        self.recording = not self.recording
        self._send(StartRecording(self.output_dir, self.record_video.get()) if self.recording else StopRecording())
        self.button["Record"].configure(text="Stop recording" if self.recording else "Record")

    def snapshot(self):
        """Save the annotated frame on screen as a PNG in the output folder; returns its path (or None)."""
        if self.latest is None:
            self.status.set("no frame to save yet")
            return None
        path = self.output_dir / f"snapshot-{datetime.now():%Y%m%d-%H%M%S-%f}.png"
        try:
            ensure_folder(self.output_dir)
            with atomic_path(path) as tmp:
                if not cv2.imwrite(str(tmp), self.latest.bgr):
                    raise OutputError(f"cannot write {path}: OpenCV could not write the PNG.")
        except OSError as e:
            self.status.set(str(output_error(path, e)))
            return None
        except EmorecError as e:
            self.status.set(str(e))
            return None
        self.status.set(f"saved {path}")
        return path

    def _on_click(self, event):
        if self.latest is None:
            return
        x, y = self.canvas.to_frame(event.x, event.y)
        hits = [f for f in self.latest.faces
                if f.box[0] <= x <= f.box[0] + f.box[2] and f.box[1] <= y <= f.box[1] + f.box[3]]
        self.selected_id = hits[0].id if hits else None
        self._send(Select(self.selected_id))

    # ---------------------------------------------------------------- main-thread polling
    def _poll(self):
        while True:
            try:
                message = self.messages.get_nowait()
            except queue.Empty:
                break
            self._show_message(message.kind, message.text)
        try:
            self._show(self.results.get_nowait())
        except queue.Empty:
            pass
        self._start_pending()
        self._poll_id = self.root.after(POLL_MS, self._poll)

    def _show_message(self, kind: Kind, text: str) -> None:
        if kind in (Kind.ERROR, Kind.END, Kind.RECORD_FAILED) and self.recording:   # the worker closed it
            self.recording = False
            self.button["Record"].configure(text="Record")
        self._status_before_hint = None
        if kind in (Kind.SOURCE, Kind.STILL):
            self.state = "moving" if kind == Kind.SOURCE else "still"
            self.status.set(f"showing {text}" + (" (a still image)" if kind == Kind.STILL else ""))
        elif kind == Kind.END:
            self.state = "ended"
            self.status.set(text)
        elif kind == Kind.ERROR:
            # Said once, where the picture was (with what to do next); the status line has nothing to add.
            self.state, self.latest = None, None
            self.status.set("")
            self.bars.show(None)
            self.canvas.show_message(text)
        elif kind == Kind.RECORDING:
            self.status.set(f"recording to {text}")
        else:   # SAVED, RECORD_FAILED
            self.status.set(f"saved {text}" if kind == Kind.SAVED else text)
        if self.paused and self.state != "moving":
            self.paused = False
            self._send(Pause(False))
            self.button["Pause"].configure(text="Pause")
        self.readout.set(self._readout_text())
        self._enable_source_buttons()

    def _show(self, result: Result) -> None:
        started = time.perf_counter()
        if not result.still and (self.latest is None or result.frame != self.latest.frame):   # not a redraw
            self._shown_at.append(time.monotonic())
            while self._shown_at[-1] - self._shown_at[0] > RATE_WINDOW_S:
                self._shown_at.popleft()
        first, self.latest = self.latest is None, result
        faces = result.faces
        self.canvas.show(result.rgba)
        self._hint_when_no_face(result)
        self.bars.show(next((f for f in faces if f.id == self.selected_id), None) or
                       max(faces, key=lambda f: f.box[2] * f.box[3], default=None))
        if first or started - self._readout_at > READOUT_EVERY_S or result.still:
            self.readout.set(self._readout_text())      # a number changing 30 times a second is unreadable
            self._readout_at = started
        if first:
            self._enable_source_buttons()
        self.frames_shown += 1
        ms = (time.perf_counter() - started) * 1e3
        self.display_ms = 0.9 * self.display_ms + 0.1 * ms if self.display_ms else ms

    def _hint_when_no_face(self, result: Result) -> None:
        """A source that has shown no face for :data:`NO_FACE_S` seconds (a still: at once) gets, in the status
        line, the smallest face size looked for and the flags that find smaller ones; the first face found puts
        the status line back."""
        now = time.monotonic()
        if result.faces:
            self._face_seen_at = now
            if self._status_before_hint is not None:
                self.status.set(self._status_before_hint)
                self._status_before_hint = None
            return
        settings = getattr(self.recognizer, "settings", None)
        if settings is None or self._status_before_hint is not None or self.paused:
            return
        if result.still or now - self._face_seen_at >= NO_FACE_S:
            self._status_before_hint = self.status.get()
            self.status.set(no_face_message(settings, result.bgr.shape[1]))

    def _readout_text(self):
        """Two short lines for the side panel: '30 frames/s · 1 face' and 'recognize 4 ms · display 2 ms'
        (the worker's time for a frame, and the window's own)."""
        r = self.latest
        if r is None:
            return "\n"
        n = len(r.faces)
        faces = f"{n} face{'s' if n != 1 else ''}"
        times = f"recognize {r.ms:.1f} ms · display {self.display_ms:.1f} ms"
        if self.paused:
            return f"paused · {faces}\n{times}"
        if r.still:
            return f"still image · {faces}\n{times}"
        if self.state == "ended":
            return f"last frame · {faces}\n{times}"
        fps = shown_rate(self._shown_at)
        rate = f"{fps:.0f} frames/s · " if fps else ""
        return f"{rate}{faces}\n{times}"

    def close(self):
        """Stop the worker (it releases the camera and finishes any recording) and destroy the window."""
        if self._poll_id is None:
            return   # already closed
        self.root.after_cancel(self._poll_id)
        self._poll_id = None
        self._send(Stop())
        if self.worker is not None:
            self.worker.join(self.stop_timeout_s)
        # The window is going away: where a recording went (or why it failed) is said in the log (the terminal).
        while not self.messages.empty():
            message = self.messages.get_nowait()
            if message.kind == Kind.SAVED:
                log.info(f"saved {message.text}")
            elif message.kind == Kind.RECORD_FAILED:
                log.warning(message.text)
        self.root.destroy()
