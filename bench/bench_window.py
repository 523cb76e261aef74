"""The window's own cost per displayed frame: what the Tk thread does with a result the worker hands it
(scale to the canvas, convert, draw the bars and the readout, hand the picture to Tk, and Tk drawing it),
for 640×480 and 1280×960 frames, in a window at its natural size (a 640×480 picture) and enlarged to about 1280×960 of picture.

    python bench/bench_window.py [--seconds 10] [--app-only]

Needs a display: it starts Xvfb itself when there is none (apt-get install xvfb). The recognizer is not
involved (bench_frame.py measures it); the worker's part (drawing the boxes) is timed separately.
Then the whole app: UI.py's own entry point in a child process, on a 30 frames/s 640×480 video with one and
with four faces (the astronaut photo, as bench_frame.py uses it), looped: frames/s shown, CPU share and the
readout (its network time is what ``--model model/fast`` saves), for the shipped model and model/fast.
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
from common import frame_four_faces, frame_one_face, host_header, times_ms

from emorec.core.drawing import draw_faces
from emorec.core.faces import Face, Faces
from emorec.desktop.worker import Result


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
    settings = network_ms = None

    def reset(self):
        pass

    def __call__(self, frame):
        return Faces.empty()


def result_for(frame, faces):
    annotated = draw_faces(frame, faces)
    return Result(bgr=annotated, rgba=cv2.cvtColor(annotated, cv2.COLOR_BGR2RGBA), faces=faces, frame=1, ms=4.0,
                  still=False, network_ms=1.0)


def main():
    import argparse
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of UI.py measured per video")
    p.add_argument("--app-only", action="store_true", help="only the whole app (UI.py) on the two videos")
    p.add_argument("--models", nargs="+", default=["model/default", "model/fast"],
                   help="models the whole app runs with (default: both shipped ones)")
    args = p.parse_args()
    print(host_header(""))
    xvfb = start_xvfb()
    try:
        if not args.app_only:
            window_cost()
        cpu_at_camera_rate(args.seconds, models=args.models)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def window_cost():
    """The Tk thread's work per shown result, for two frame sizes at two window sizes."""
    import tkinter as tk

    from emorec.desktop.window import App
    probs = np.array([0.05, 0.01, 0.04, 0.7, 0.1, 0.05, 0.05], np.float32)
    print("the window's cost per displayed frame (Tk thread: scale, convert, bars, readout, hand to Tk, Tk "
          "drawing it), median of 200 frames")
    print(f"{'frame':>10s} {'picture':>10s} {'window ms':>10s} {'worker draw ms':>15s}")
    for size in ((640, 480), (1280, 960)):
        frame = cv2.resize(frame_one_face(), size)
        face = Face.from_probs(1, (size[0] // 3, size[1] // 8, size[0] // 5, size[0] // 5), probs)
        draw = statistics.median(times_ms(lambda: draw_faces(frame, Faces.of([face]))))
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


#: Runs UI.py's own entry point (emorec.cli.window.main: flags, Recognizer, App, Tk's mainloop) with a hook that
#: counts the frames the window shows between ``warm`` and ``warm + seconds`` and the process's CPU time over
#: the same span (all its threads), prints them as JSON and closes the window.
UI_RUN = """
import json, sys, time
import emorec.desktop.window as window
warm, seconds, passes = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
App = window.App
if passes == "both":     # the loop before one pass per face per frame: face + mirror on every frame
    import emorec.core.recognizer as recognizer
    init = recognizer.Recognizer.__init__
    recognizer.Recognizer.__init__ = lambda self, *a, **kw: init(self, *a, **{**kw, "alternate": False})

class Measured(App):
    def __init__(self, root, *a, **kw):
        super().__init__(root, *a, **kw)
        root.after(int(warm * 1e3), self._begin)

    def _begin(self):
        self._mark = (self.frames_shown, time.process_time(), time.perf_counter())
        self.root.after(int(seconds * 1e3), self._end)

    def _end(self):
        shown, cpu, t0 = self._mark
        wall = time.perf_counter() - t0
        print(json.dumps({"fps": (self.frames_shown - shown) / wall, "cpu": (time.process_time() - cpu) / wall,
                          "readout": self.readout.get()}), flush=True)
        self.close()
        self.root.destroy()

window.App = Measured
from emorec.cli.window import main
main(sys.argv[4:])
"""


def camera_clip(frame, path, frames=300, fps=30.0):
    """A 640×480 MJPG clip of ``frame`` drifting a few pixels to and fro, as a webcam delivers a sitting person."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    for i in range(frames):
        writer.write(np.roll(frame, 2 * (i % 20) - 20, axis=1))
    writer.release()
    return path


def cpu_at_camera_rate(seconds=10.0, warm=3.0, models=("model/default",)):
    """UI.py (shipped model, default flags) on a 30 frames/s 640×480 video with one and with four faces, played
    at its own speed and looped, as a webcam would deliver it: frames shown per second and the process's CPU
    use (100 % = one core)."""
    import json
    import sys
    import tempfile
    tmp = Path(tempfile.mkdtemp())
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    print(f"\nUI.py on a 30 frames/s 640×480 video, {seconds:.0f} s after {warm:.0f} s of warm-up "
          "(CPU: the whole process, all threads, 100 % = one core):")
    rows = [(model, passes, how) for model in models
            for passes, how in (("both", "face + mirror every frame"), ("alternate", "one pass per face per frame"))
            if passes == "alternate" or model == models[0]]
    for name, frame in (("1 face", frame_one_face()), ("4 faces", frame_four_faces())):
        clip = camera_clip(frame, tmp / f"{name.replace(' ', '_')}.avi")
        for model, passes, how in rows:
            run = subprocess.run([sys.executable, "-c", UI_RUN, str(warm), str(seconds), passes,
                                  "--source", str(clip), "--loop", "--model", str(root / model)],
                                 capture_output=True, text=True, env=env, cwd=tmp, timeout=warm + seconds + 120)
            lines = [ln for ln in run.stdout.splitlines() if ln.startswith("{")]
            if run.returncode or not lines:
                raise SystemExit(f"UI.py failed ({run.returncode}):\n{run.stderr[-2000:]}")
            r = json.loads(lines[-1])
            readout = " · ".join(r["readout"].splitlines())
            print(f"  {name:8s} {Path(model).name:8s} {how:28s} {r['fps']:5.1f} frames/s shown, "
                  f"CPU {100 * r['cpu']:4.0f} %   "
                  f"readout: {readout}", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
