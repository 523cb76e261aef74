"""The panel beside the picture (the emotion bars, the readout, the buttons and the checkboxes), and the window's
keys. Tk thread only."""

import math
import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from emorec.desktop.widgets import EmotionBars

Action = Callable[[], Any]
KEYS_TAG = "EmorecKeys"          # bind tag put first on every widget: the keys win whatever has focus


def _breaking(action: Action) -> Callable[[tk.Event], str]:
    """A binding that runs ``action`` and stops there (Tk's "break"): the widget's own binding does not run."""
    def run(event: tk.Event) -> str:
        action()
        return "break"
    return run


def bind_keys(root: tk.Misc, keys: dict[str, Action]) -> None:
    """Each key sequence runs its action and nothing else, whichever widget under ``root`` has focus: the keys
    are bound to a tag that comes before each widget's own class bindings and stops there (so space on a
    focused button pauses instead of pressing it). Call once every widget exists."""
    for sequence, action in keys.items():
        root.bind_class(KEYS_TAG, sequence, _breaking(action))
    widgets = [root]
    while widgets:
        w = widgets.pop()
        w.bindtags((KEYS_TAG,) + w.bindtags())
        widgets.extend(w.winfo_children())


class SidePanel(ttk.Frame):
    """``buttons``: (text, command) pairs, two per row, every one as wide as the longest text any of them shows
    (``other_texts``: the texts they change to, e.g. "Stop recording"), so that a change of text moves nothing;
    ``checks``: (text, variable, command) triples, one per row. The bars are what gives way when the window is
    short (their rows shrink from 28 to 16 px); the readout never widens the panel, which is made wide enough
    for ``readout_widest``, its longest usual line."""

    def __init__(self, parent: tk.Misc, readout: tk.StringVar, buttons: Sequence[tuple[str, Action]],
                 checks: Sequence[tuple[str, tk.Variable, Action | None]], other_texts: Sequence[str] = (),
                 readout_widest: str = ""):
        super().__init__(parent, padding=(8, 0, 0, 0))
        font = tkfont.nametofont("TkDefaultFont")
        self.columnconfigure(0, minsize=font.measure(readout_widest) + 4)
        ttk.Label(self, text="Emotions", font=("TkDefaultFont", 12, "bold")).grid(row=0, sticky="w")
        self.bars = EmotionBars(self)
        self.bars.grid(row=1, sticky="nsew", pady=(2, 8))
        self.rowconfigure(1, weight=1, minsize=self.bars.min_height)
        ttk.Label(self, textvariable=readout, width=1).grid(row=2, sticky="ew")   # width=1: never widens

        controls = ttk.Frame(self)
        controls.grid(row=3, sticky="w", pady=8)
        chars = math.ceil(max(font.measure(t) for t in [text for text, _ in buttons] + list(other_texts))
                          / font.measure("0"))
        self.button: dict[str, ttk.Button] = {}
        for i, (text, command) in enumerate(buttons):
            b = ttk.Button(controls, text=text, command=command, width=chars)
            b.grid(row=i // 2, column=i % 2, sticky="ew", padx=2, pady=2)
            self.button[text] = b
        self.checks = [ttk.Checkbutton(self, text=text, variable=variable, command=command or "")
                       for text, variable, command in checks]
        for i, check in enumerate(self.checks):
            check.grid(row=4 + i, sticky="w")

    @property
    def min_height(self) -> int:
        """The panel's height with the bars at their smallest (call once the layout is computed)."""
        return self.winfo_reqheight() - self.bars.winfo_reqheight() + self.bars.min_height
