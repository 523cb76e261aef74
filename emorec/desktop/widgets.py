"""The window's two drawing surfaces: the picture (frames scaled to fit, or a message) and the emotion bars.

Both redraw themselves when resized and change as little as they can per frame: the picture pastes into
the one PhotoImage it shows (a new one only when its size changes), the bars move their rectangles and
change their texts in place. Tk thread only.
"""

import tkinter as tk

import cv2
from PIL import Image, ImageTk

from emorec.common.labels import COLORS_HEX, EMOTIONS

BAR_PITCH, BAR_PITCH_MIN = 28, 16   # the bars give way when the window is short: rows shrink from 28 to 16 px


class Picture(tk.Canvas):
    """Frames scaled to fit (aspect kept, centred), or a message and ``hint`` when there is no frame."""

    def __init__(self, parent, hint):
        super().__init__(parent, width=640, height=480, background="black", highlightthickness=0)
        self.hint, self.photo = hint, None
        self.zoom, self.offset = 1.0, (0, 0)
        self._rgba = self._message = None
        self.bind("<Configure>", lambda e: self.redraw())

    def show(self, rgba):
        """An H×W×4 uint8 RGBA frame (Pillow's own pixel layout: Tk gets it without a conversion)."""
        self._rgba, self._message = rgba, None
        self.redraw()

    def show_message(self, text):
        self._rgba, self._message = None, text
        self.redraw()

    def clear(self):
        self._rgba = self._message = None
        self.redraw()

    def to_frame(self, x, y):
        """Canvas pixel → frame pixel of the frame shown."""
        return (x - self.offset[0]) / self.zoom, (y - self.offset[1]) / self.zoom

    def redraw(self):
        cw, ch = max(self.winfo_width(), 2), max(self.winfo_height(), 2)
        if self._rgba is None:
            self.delete("all")
            self.photo = None
            if self._message is not None:
                self.create_text(cw // 2, ch // 2, text=self._message, fill="white", width=cw - 60, anchor="s",
                                 font=("TkDefaultFont", 13), tags="message")
                self.create_text(cw // 2, ch // 2 + 30, text=self.hint, fill="#9cdcfe", width=cw - 10, anchor="n",
                                 justify="center", font=("TkDefaultFont", 12), tags="message")
            return
        rgba = self._rgba
        h, w = rgba.shape[:2]
        self.zoom = min(cw / w, ch / h)
        size = (max(1, int(w * self.zoom)), max(1, int(h * self.zoom)))
        if size != (w, h):   # bilinear: 0.5 ms for 1280×960 → 640×480 (INTER_AREA takes 4 ms on the Tk thread)
            rgba = cv2.resize(rgba, size, interpolation=cv2.INTER_LINEAR)
        image = Image.fromarray(rgba)
        offset = ((cw - size[0]) // 2, (ch - size[1]) // 2)
        if self.photo is not None and (self.photo.width(), self.photo.height()) == size and offset == self.offset:
            self.photo.paste(image)
            return
        self.delete("all")
        self.photo = ImageTk.PhotoImage(image, master=self)   # keep a reference, or Tk shows nothing
        self.offset = offset
        self.create_image(*offset, image=self.photo, anchor="nw")


class EmotionBars(tk.Canvas):
    """The 7 probabilities of one face as labelled bars; ``show(None)`` empties them and says "no face"."""

    min_height = (len(EMOTIONS) + 1) * BAR_PITCH_MIN + 10

    def __init__(self, parent):
        super().__init__(parent, width=260, height=(len(EMOTIONS) + 1) * BAR_PITCH, background="white",
                         highlightthickness=0)
        self.face = None
        self.bind("<Configure>", lambda e: self.layout())
        self.layout()

    def layout(self):
        """Create the items for the canvas's current size (at start and on every resize)."""
        self.delete("all")
        width = max(self.winfo_width(), int(self["width"]))
        height = self.winfo_height() if self.winfo_ismapped() else int(self["height"])
        pitch = max(BAR_PITCH_MIN, min(BAR_PITCH, height // (len(EMOTIONS) + 1)))
        bar = pitch - 10
        self._items = []
        for i, name in enumerate(EMOTIONS):
            y = 6 + i * pitch
            self.create_text(6, y + bar // 2 + 1, text=name, anchor="w", font=("TkDefaultFont", 10))
            self.create_rectangle(78, y + 2, width - 50, y + 2 + bar, outline="#cccccc")
            fill = self.create_rectangle(78, y + 2, 78, y + 2 + bar, fill=COLORS_HEX[name], outline="")
            pct = self.create_text(width - 6, y + bar // 2 + 1, text="–", anchor="e", font=("TkDefaultFont", 10))
            self._items.append((fill, pct, y + 2, bar))
        self._span = width - 128
        self._no_face = self.create_text(width // 2, 6 + len(EMOTIONS) * pitch + pitch // 2, text="no face",
                                         fill="#888888")
        self.show(self.face)

    def show(self, face):
        """Set the bars to ``face``'s probabilities (None: empty bars and "no face")."""
        self.face = face
        for name, (fill, pct, y, bar) in zip(EMOTIONS, self._items):
            p = face.probs[name] if face else 0.0
            self.coords(fill, 78, y, 78 + self._span * p, y + bar)
            self.itemconfigure(pct, text=f"{p:.0%}" if face else "–")
        self.itemconfigure(self._no_face, state="hidden" if face else "normal")
