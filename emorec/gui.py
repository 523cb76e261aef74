"""The Tkinter window: live video with labelled faces, probability bars and controls.

Threading (see the tkinter docs): a :class:`worker.FrameWorker` thread reads and recognizes frames
and puts only the newest result in a queue of size 1; status messages go through a second queue.
The Tk main thread polls both with ``after()``, builds the PhotoImage and keeps a reference to it.
No widget is touched off the main thread.
The window gets its recognizer from the caller and never imports TensorFlow.
"""

import queue
import tkinter as tk
from datetime import datetime
from pathlib import Path
from tkinter import filedialog, ttk

import cv2
from PIL import Image, ImageTk

from .artifacts import atomic_path
from .labels import COLORS_BGR, EMOTIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from .worker import FrameWorker

POLL_MS = 10


def _hex(bgr):
    return "#%02x%02x%02x" % (bgr[2], bgr[1], bgr[0])


class App:
    """The main window. ``recognizer``: a :class:`recognizer.Recognizer` (or anything with the same
    ``__call__``/``reset``); ``source``: camera index or file path to start with."""

    def __init__(self, root, recognizer, source=0, *, output_dir=".", loop=False, mirror=False, record_video=False):
        self.root, self.recognizer = root, recognizer
        self.output_dir = Path(output_dir)
        self.results, self.messages = queue.Queue(maxsize=1), queue.Queue()
        self.worker = None
        self.latest = None
        self.photo = None
        self.frames_shown = 0
        self.selected_id = None
        self.recording = False
        self.status = tk.StringVar(value="starting…")
        self.fps_text = tk.StringVar(value="")
        self.loop = tk.BooleanVar(value=loop)
        self.mirror = tk.BooleanVar(value=mirror)
        self.record_video = tk.BooleanVar(value=record_video)
        self._build()
        root.protocol("WM_DELETE_WINDOW", self.close)
        root.bind("<space>", lambda e: self.toggle_pause())
        root.bind("<q>", lambda e: self.close())
        root.bind("<Escape>", lambda e: self.close())
        self.start(source)
        self._poll_id = root.after(POLL_MS, self._poll)

    # ---------------------------------------------------------------- layout
    def _build(self):
        self.root.title("Emotion recognizer")
        self.root.configure(background="#1e1e1e")
        main = ttk.Frame(self.root, padding=6)
        main.grid(sticky="nsew")
        self.root.columnconfigure(0, weight=1)
        self.root.rowconfigure(0, weight=1)
        self.canvas = tk.Canvas(main, width=640, height=480, background="black", highlightthickness=0)
        self.canvas.grid(row=0, column=0, rowspan=2, sticky="nsew")
        self.canvas.bind("<Button-1>", self._on_click)
        main.columnconfigure(0, weight=1)
        main.rowconfigure(0, weight=1)

        side = ttk.Frame(main, padding=(8, 0))
        side.grid(row=0, column=1, sticky="n")
        ttk.Label(side, text="Emotions", font=("TkDefaultFont", 12, "bold")).grid(sticky="w")
        self.bars = tk.Canvas(side, width=260, height=len(EMOTIONS) * 28 + 28, background="white", highlightthickness=0)
        self.bars.grid(sticky="w", pady=(2, 8))
        ttk.Label(side, textvariable=self.fps_text).grid(sticky="w")

        controls = ttk.Frame(side)
        controls.grid(sticky="ew", pady=8)
        buttons = [("Camera", self.choose_camera), ("Open video…", self.choose_video),
                   ("Open image…", self.choose_image), ("Pause", self.toggle_pause),
                   ("Snapshot", self.snapshot), ("Record", self.toggle_record), ("Quit", self.close)]
        self.button = {}
        for i, (text, cmd) in enumerate(buttons):
            b = ttk.Button(controls, text=text, command=cmd)
            b.grid(row=i // 2, column=i % 2, sticky="ew", padx=2, pady=2)
            self.button[text] = b
        ttk.Checkbutton(side, text="Mirror", variable=self.mirror, command=self._sync_flags).grid(sticky="w")
        ttk.Checkbutton(side, text="Loop videos", variable=self.loop, command=self._sync_flags).grid(sticky="w")
        ttk.Checkbutton(side, text="Record annotated video too", variable=self.record_video).grid(sticky="w")
        ttk.Label(main, textvariable=self.status, wraplength=900, anchor="w").grid(row=2, column=0, columnspan=2,
                                                                                  sticky="ew", pady=(6, 0))
        self._draw_bars(None)

    # ---------------------------------------------------------------- source control
    def start(self, source):
        """Stop the current worker (if any) and start one on ``source`` (camera index or path)."""
        self.stop_worker()
        self.latest, self.selected_id = None, None
        self.status.set(f"opening {'camera ' + str(source) if str(source).isdigit() else source}…")
        self.worker = FrameWorker(self.recognizer, source, self.results, self.messages,
                                  loop=self.loop.get(), mirror=self.mirror.get())
        self.worker.start()
        self.button["Pause"].configure(text="Pause")
        self.button["Record"].configure(text="Record")
        self.recording = False

    def stop_worker(self, timeout=1.0):
        if self.worker is not None:
            self.worker.stop()
            self.worker.join(timeout)
            self.worker = None
        while not self.results.empty():
            self.results.get_nowait()

    def choose_camera(self):
        self.start(0)

    def choose_video(self):
        path = filedialog.askopenfilename(title="Open a video", filetypes=[
            ("Videos", " ".join(f"*{e}" for e in sorted(VIDEO_EXTENSIONS))), ("All files", "*")])
        if path:
            self.start(path)

    def choose_image(self):
        path = filedialog.askopenfilename(title="Open an image", filetypes=[
            ("Images", " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))), ("All files", "*")])
        if path:
            self.start(path)

    def toggle_pause(self):
        if self.worker is None:
            return
        if self.worker.paused.is_set():
            self.worker.paused.clear()
            self.button["Pause"].configure(text="Pause")
        else:
            self.worker.paused.set()
            self.button["Pause"].configure(text="Resume")

    def toggle_record(self):
        if self.worker is None or not self.worker.is_alive():
            self.status.set("nothing to record: open a camera, video or image first")
            return
        self.recording = not self.recording
        self.worker.request_recording(self.output_dir if self.recording else None, self.record_video.get())
        self.button["Record"].configure(text="Stop recording" if self.recording else "Record")

    def snapshot(self):
        if self.latest is None:
            self.status.set("no frame to save yet")
            return
        path = self.output_dir / f"snapshot-{datetime.now():%Y%m%d-%H%M%S-%f}.png"
        with atomic_path(path) as tmp:
            ok = cv2.imwrite(str(tmp), self.latest["bgr"])
        self.status.set(f"saved {path}" if ok else f"could not write {path}")
        return path

    def _sync_flags(self):
        if self.worker is not None:
            self.worker.mirror, self.worker.loop = self.mirror.get(), self.loop.get()

    def _on_click(self, event):
        if self.latest is None:
            return
        x, y = (event.x - self._offset[0]) / self._scale, (event.y - self._offset[1]) / self._scale
        hits = [f for f in self.latest["faces"]
                if f.box[0] <= x <= f.box[0] + f.box[2] and f.box[1] <= y <= f.box[1] + f.box[3]]
        self.selected_id = hits[0].id if hits else None
        if self.worker is not None:
            self.worker.selected_id = self.selected_id

    # ---------------------------------------------------------------- main-thread polling
    def _poll(self):
        while True:
            try:
                kind, text = self.messages.get_nowait()
            except queue.Empty:
                break
            self._show_message(kind, text)
        try:
            result = self.results.get_nowait()
        except queue.Empty:
            result = None
        if result is not None:
            self._show(result)
        self._poll_id = self.root.after(POLL_MS, self._poll)

    def _show_message(self, kind, text):
        if kind in ("error", "end") and self.recording:   # the worker has closed the recording
            self.recording = False
            self.button["Record"].configure(text="Record")
        if kind == "error":
            self.status.set(text)
            self.canvas.delete("all")
            self.latest = None
            w, h = max(self.canvas.winfo_width(), 640), max(self.canvas.winfo_height(), 480)
            self.canvas.create_text(w // 2, h // 2 - 20, text=text, fill="white", width=w - 60,
                                    font=("TkDefaultFont", 13), tags="message")
            self.canvas.create_text(w // 2, h // 2 + 50, fill="#9cdcfe", font=("TkDefaultFont", 12), tags="message",
                                    text="Use “Open video…” or “Open image…” on the right, or “Camera” to retry.")
            self._draw_bars(None)
        elif kind == "source":
            self.status.set(f"showing {text}")
        else:
            self.status.set(text)

    def _show(self, result):
        self.latest = result
        rgb = result["rgb"]
        cw, ch = max(self.canvas.winfo_width(), 2), max(self.canvas.winfo_height(), 2)
        h, w = rgb.shape[:2]
        self._scale = min(cw / w, ch / h)
        size = (max(1, int(w * self._scale)), max(1, int(h * self._scale)))
        image = Image.fromarray(rgb)
        if size != (w, h):
            image = image.resize(size, Image.BILINEAR)
        self.photo = ImageTk.PhotoImage(image, master=self.root)   # keep a reference, or Tk shows nothing
        self._offset = ((cw - size[0]) // 2, (ch - size[1]) // 2)
        self.canvas.delete("all")
        self.canvas.create_image(*self._offset, image=self.photo, anchor="nw")
        faces = result["faces"]
        shown = next((f for f in faces if f.id == self.selected_id), None) or \
            max(faces, key=lambda f: f.box[2] * f.box[3], default=None)
        self._draw_bars(shown)
        rate = f"{result['fps']:.1f} frames/s · " if result["fps"] else ""
        self.fps_text.set(f"{rate}{result['ms']:.1f} ms/frame · {len(faces)} face{'s' if len(faces) != 1 else ''}")
        self.frames_shown += 1

    def _draw_bars(self, face):
        c = self.bars
        c.delete("all")
        width = int(c["width"])
        for i, name in enumerate(EMOTIONS):
            y = 6 + i * 28
            p = face.probs[name] if face else 0.0
            c.create_text(6, y + 10, text=name, anchor="w", font=("TkDefaultFont", 10))
            c.create_rectangle(78, y + 2, width - 50, y + 20, outline="#cccccc")
            c.create_rectangle(78, y + 2, 78 + (width - 128) * p, y + 20, fill=_hex(COLORS_BGR[name]), outline="")
            c.create_text(width - 6, y + 10, text=f"{p:.0%}" if face else "–", anchor="e", font=("TkDefaultFont", 10))
        if face is None:
            c.create_text(width // 2, int(c["height"]) - 4, text="no face", anchor="s", fill="#888888")

    def close(self):
        """Stop the worker (it releases the camera and closes any recording) and destroy the window."""
        if self._poll_id is not None:
            self.root.after_cancel(self._poll_id)
            self._poll_id = None
        self.stop_worker()
        self.root.destroy()
