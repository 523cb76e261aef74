"""The window's own cost per displayed frame: what the Tk thread does with a result the worker hands it
(scale to the canvas, convert, draw the bars and the readout, hand the picture to Tk, and Tk drawing it),
for 640×480 and 1280×960 frames, in a window at its natural size (a 640×480 picture) and enlarged to about 1280×960 of picture.

    python bench/bench_window.py

Needs a display: it starts Xvfb itself when there is none (apt-get install xvfb). The recognizer is not
involved (bench_frame.py measures it); the worker's part (drawing the boxes) is timed separately.
"""

import itertools
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
from common import frame_one_face, times_ms

from emorec.core.drawing import draw_faces
from emorec.core.recognizer import Face


def start_xvfb():
    if os.environ.get("DISPLAY"):
        return None
    if shutil.which("Xvfb") is None:
        raise SystemExit("no display and no Xvfb: apt-get install xvfb")
    n = next(n for n in range(80, 99) if not Path(f"/tmp/.X{n}-lock").exists())
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1920x1200x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            break
        time.sleep(0.1)
    os.environ["DISPLAY"] = f":{n}"
    return proc


class NoWork:
    """Stands in for the recognizer: the window is measured, not recognition."""

    def reset(self):
        pass

    def __call__(self, frame):
        return []


def result_for(frame, faces):
    annotated = draw_faces(frame, faces)
    return {"bgr": annotated, "rgba": cv2.cvtColor(annotated, cv2.COLOR_BGR2RGBA), "faces": faces, "frame": 1,
            "fps": 30.0, "ms": 4.0, "still": False}


def main():
    xvfb = start_xvfb()
    try:
        import tkinter as tk

        from emorec.desktop.window import App
        probs = np.array([0.05, 0.01, 0.04, 0.7, 0.1, 0.05, 0.05], np.float32)
        print("the window's cost per displayed frame (Tk thread: scale, convert, bars, readout, hand to Tk, Tk "
              "drawing it), median of 200 frames")
        print(f"{'frame':>10s} {'picture':>10s} {'window ms':>10s} {'worker draw ms':>15s}")
        for size in ((640, 480), (1280, 960)):
            frame = cv2.resize(frame_one_face(), size)
            face = Face.from_probs(1, (size[0] // 3, size[1] // 8, size[0] // 5, size[0] // 5), probs)
            draw = statistics.median(times_ms(lambda: draw_faces(frame, [face])))
            for enlarged in (False, True):
                root = tk.Tk()
                app = App(root, NoWork(), str(Path(__file__).resolve().parent / "missing.png"))
                app._poll = lambda: None                       # nothing else competes for the Tk thread
                root.update()
                if enlarged:                                   # the picture area grown to about 1280×960
                    root.geometry(f"{root.winfo_width() + 640}x{root.winfo_height() + 480}")
                root.update()
                results = itertools.cycle([result_for(frame, [face]) for _ in range(4)])
                times = times_ms(lambda: (app._show(next(results)), root.update_idletasks()))
                canvas = f"{app.canvas.winfo_width()}×{app.canvas.winfo_height()}"
                print(f"{size[0]}×{size[1]:<5d} {canvas:>10s} {statistics.median(times):10.2f} {draw:15.2f}")
                app.close()
        cpu_at_camera_rate(tk, App)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def cpu_at_camera_rate(tk, App, seconds=10.0):
    """The whole app (shipped model, real recognizer) on a 30 frames/s 640×480 one-face video played at its
    own speed, as a webcam would deliver it: frames shown per second and the process's CPU use."""
    import tempfile

    from emorec.core.recognizer import Recognizer
    frame = frame_one_face()
    path = Path(tempfile.mkdtemp()) / "camera30.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    for i in range(300):
        writer.write(np.roll(frame, 2 * (i % 20) - 20, axis=1))
    writer.release()
    root = tk.Tk()
    app = App(root, Recognizer(), str(path), loop=True)
    end = time.monotonic() + 2.0
    while time.monotonic() < end:           # warm up: model loaded, first frames shown
        root.update()
        time.sleep(0.002)
    shown, cpu0, t0 = app.frames_shown, time.process_time(), time.monotonic()
    while time.monotonic() < t0 + seconds:
        root.update()
        time.sleep(0.002)
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    print(f"the app on a 30 frames/s 640×480 video, one face, {seconds:.0f} s: {(app.frames_shown - shown) / wall:.1f} "
          f"frames/s shown, CPU {100 * cpu / wall:.0f} % of one core (readout: {app.readout.get()!r})")
    app.close()


if __name__ == "__main__":
    main()
