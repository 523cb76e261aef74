"""The Tkinter window: live video with labelled faces, probability bars and controls.

Threading (ABQ, the tkinter docs): the window steers its :class:`worker.FrameWorker` with commands on
one queue; the worker puts only the newest result on a queue of size 1 and its messages on a second
queue. The Tk main thread polls both with ``after()``, builds the PhotoImage and keeps a reference to it.
No widget is touched off the main thread, and the main thread never blocks on the worker: a source
switch stops the old worker and starts the new one only once the old one has ended.
The window gets its recognizer from the caller and never imports TensorFlow.
"""

import logging
import queue
import time
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk
from tkinter import font as tkfont

from emorec.common.errors import EmorecError
from emorec.common.labels import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from emorec.core.recognizer import Recognizes
from emorec.desktop.panel import SidePanel, bind_keys
from emorec.desktop.readout import READOUT_BLANK, READOUT_WIDEST, NoFaceHint, Readout, no_face_hint
from emorec.desktop.recording import default_output_dir, save_snapshot
from emorec.desktop.widgets import Picture
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
STOP_TIMEOUT_S = 3.0             # a worker that takes longer to stop is reported as stuck
PICTURE_MIN = (320, 180)         # the picture shrinks down to this; the controls never shrink
HINT = "Use “Open video…” or “Open image…” on the right, or “Camera” to retry."


class App:
    """The main window. ``recognizer``: a :class:`recognizer.Recognizer` (or any
    :class:`recognizer.Recognizes`); ``source``: camera index or file path to start with; ``output_dir``: where
    snapshots and recordings go (default :func:`recording.default_output_dir`, created when first needed)."""

    stop_timeout_s = STOP_TIMEOUT_S

    @property
    def photo(self):
        """The PhotoImage on screen (None while there is no picture)."""
        return self.canvas.photo

    def __init__(self, root: tk.Tk, recognizer: Recognizes, source: int | str = 0, *, output_dir=None, loop=False,
                 mirror=False, record_video=False, camera=0):
        self.root, self.recognizer = root, recognizer
        self.camera = camera            # what the Camera button opens (--camera)
        self._last_file: Path | None = None   # the file dialogs start in its folder
        self.output_dir = Path(default_output_dir() if output_dir is None else output_dir).expanduser().absolute()
        self.results: queue.Queue[Result] = queue.Queue(maxsize=1)
        self.messages: queue.Queue[Message] = queue.Queue()
        self.commands: queue.Queue[Command] | None = None
        self.worker, self._pending, self._stop_deadline = None, None, None
        self.latest: Result | None = None
        self.frames_shown = 0
        self._readout = Readout()
        self.selected_id: int | None = None
        self.state: str | None = None    # None (opening, or failed), "moving", "still" or "ended"
        self.paused = self.recording = False
        self._camera_shown = False       # the source shown is a camera (the no-face hint's advice)
        self._poll_id = None
        self.status = tk.StringVar(value="starting…")
        self._hint = NoFaceHint(self.status)
        self.readout = tk.StringVar(value=READOUT_BLANK)     # all its lines from the start: the layout never jumps
        self.loop = tk.BooleanVar(value=loop)
        self.mirror = tk.BooleanVar(value=mirror)
        self.record_video = tk.BooleanVar(value=record_video)
        self._build()
        root.protocol("WM_DELETE_WINDOW", self.close)
        # space = pause, q / Esc = quit, whichever button or checkbox has focus
        bind_keys(root, {"<space>": self.toggle_pause, "<q>": self.close, "<Escape>": self.close})
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
        # spans both rows. The status row always has room for two lines, so a status that wraps (a saved
        # file's path, the no-face hint) does not take its height from the picture.
        self.canvas = Picture(main, HINT)
        self.canvas.grid(row=0, column=0, sticky="nsew")
        self.canvas.bind("<Button-1>", self._on_click)
        status = ttk.Label(main, textvariable=self.status, anchor="nw", width=1)
        status.grid(row=1, column=0, sticky="new", pady=(6, 0))
        status.bind("<Configure>", lambda e: status.configure(wraplength=max(e.width, 100)))
        status_height = 2 * tkfont.nametofont("TkDefaultFont").metrics("linespace") + 8
        main.columnconfigure(0, weight=1)
        main.rowconfigure(0, weight=1)
        main.rowconfigure(1, minsize=status_height + 6)
        self.status_label = status

        buttons = [("Camera", self.choose_camera), ("Open video…", self.choose_video),
                   ("Open image…", self.choose_image), ("Pause", self.toggle_pause),
                   ("Snapshot", self.snapshot), ("Record", self.toggle_record), ("Quit", self.close)]
        checks = [("Mirror", self.mirror, self.toggle_mirror),
                  ("Loop videos", self.loop, lambda: self._send(Loop(self.loop.get()))),
                  ("Record annotated video too", self.record_video, None)]
        side = SidePanel(main, self.readout, buttons, checks, other_texts=("Stop recording", "Resume"),
                         readout_widest=READOUT_WIDEST)
        side.grid(row=0, column=1, rowspan=2, sticky="n")
        self.bars, self.button, self.checks = side.bars, side.button, side.checks
        self._enable_source_buttons()

        # The window opens at its natural size and stays at the size it is given: texts that change
        # never resize it. Below the minimum the controls would be cut off.
        root.update_idletasks()
        width, height = root.winfo_reqwidth(), root.winfo_reqheight()
        min_w = width - self.canvas.winfo_reqwidth() + PICTURE_MIN[0]
        min_h = max(side.min_height, PICTURE_MIN[1] + status_height + 6) + 12
        root.minsize(min_w, min_h)
        root.geometry(f"{width}x{height}")

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
        self._hint.restart(time.monotonic())
        self.canvas.clear()
        self.state, self.paused, self.recording = None, False, False
        self._readout.restart()
        self.button["Pause"].configure(text="Pause")
        self.button["Record"].configure(text="Record")
        self.readout.set(READOUT_BLANK)
        self._enable_source_buttons()
        self._camera_shown = str(source).isdigit()
        self.status.set(f"opening {'camera ' + str(source) if self._camera_shown else source}…")
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

    def _choose(self, title, kind, extensions):
        path = filedialog.askopenfilename(title=title, initialdir=self._initial_dir(), filetypes=[
            (kind, " ".join(f"*{e}" for e in sorted(extensions))), ("All files", "*")])
        if path:
            self.start(path)

    def choose_video(self):
        self._choose("Open a video", "Videos", VIDEO_EXTENSIONS)

    def choose_image(self):
        self._choose("Open an image", "Images", IMAGE_EXTENSIONS)

    def toggle_pause(self):
        if self.state != "moving":
            return   # nothing is playing: a still, the end of a video, or no source
        self.paused = not self.paused
        self._readout.restart()          # the pause is not a slow frame
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
        try:
            path = save_snapshot(self.latest.bgr, self.output_dir)
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
        self._hint.forget()
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
            self._readout.new_frame(time.monotonic(), result)
        first, self.latest = self.latest is None, result
        faces = result.faces
        self.canvas.show(result.rgba)
        settings = self.recognizer.settings
        self._hint.update(result, time.monotonic(), paused=self.paused,
                          hint=None if settings is None else lambda: no_face_hint(
                              settings, result.bgr.shape[1], camera=self._camera_shown, still=result.still))
        self.bars.show(next((f for f in faces if f.id == self.selected_id), None) or
                       max(faces, key=lambda f: f.box[2] * f.box[3], default=None))
        self._readout.displayed((time.perf_counter() - started) * 1e3, alone=result.still)
        if self._readout.due(started, force=first or result.still):
            self.readout.set(self._readout_text())
        if first:
            self._enable_source_buttons()
        self.frames_shown += 1

    def _readout_text(self):
        return self._readout.text(self.latest, paused=self.paused, state=self.state)

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
