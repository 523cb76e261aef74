"""Live frame loop at 640×480: detect / classify / draw / total ms per frame with one and four real
faces, per-face classification ms, and cold start (process start to first recognized frame).

    python bench/bench_frame.py [--model PATH] [--fer-python PATH]

--fer-python: a Python that can `import fer` (bench/setup_fer_venv.sh makes one); the PyPI `fer`
package is then timed on the same frames in the same run and the ratio printed.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from common import frame_four_faces, frame_one_face, median_ms, times_ms

from emorec.core.drawing import draw_faces
from emorec.core.recognizer import Recognizer


def stage_times(rec, frame):
    """Per stage, median ms; ``total``: the whole frame as the window runs it, frame after frame (a full scan
    every ``rec.full_scan_every`` detections, near searches in between): median and mean; ``total_full``: the
    same with a full scan on every frame (the frame loop before near searches)."""
    from emorec.core.detector import crop_faces
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    rec.reset()
    faces = rec(frame)
    raw = rec.detector(gray)
    crops = crop_faces(gray, rec.boxes(gray))
    rec.reset()
    total = times_ms(lambda: draw_faces(frame, rec(frame)))
    every = rec.full_scan_every
    rec.full_scan_every = 1
    rec.reset()
    total_full = times_ms(lambda: draw_faces(frame, rec(frame)))
    rec.full_scan_every = every
    classify_ms = median_ms(lambda: rec.classify(crops))
    return {
        "faces": len(faces),
        "detect_full_ms": median_ms(lambda: rec.detector(gray)),
        "detect_near_ms": median_ms(lambda: rec.detector.near(gray, raw)),
        "classify_ms": classify_ms,
        "draw_ms": median_ms(lambda: draw_faces(frame, faces)),
        "total_ms": float(np.median(total)), "total_mean_ms": float(total.mean()),
        "total_full_ms": float(np.median(total_full)),
        "per_face_classify_ms": classify_ms / max(1, len(crops)),
    }


COLD = """
import time, sys
t0 = time.perf_counter()
import cv2
from emorec.core.recognizer import Recognizer
frame = cv2.imread({frame!r})
faces = Recognizer({model!r})(frame)
print(len(faces), time.perf_counter() - t0)
"""


def cold_start(model, frame_path):
    code = COLD.format(frame=str(frame_path), model=model)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return time.perf_counter() - t0, int(out[0])


FER = """
import json, sys, time, statistics, cv2, warnings
warnings.filterwarnings("ignore")
try:
    from fer import FER
except ImportError:   # fer >= 25 no longer re-exports it
    from fer.fer import FER
det = FER()
res = {}
for name in sys.argv[1:]:
    frame = cv2.imread(name)
    for _ in range(5):
        faces = det.detect_emotions(frame)
    ts = []
    for _ in range(50):
        t0 = time.perf_counter(); det.detect_emotions(frame); ts.append((time.perf_counter() - t0) * 1e3)
    res[name] = {"total_ms": statistics.median(ts), "faces": len(faces)}
print(json.dumps(res))
"""


def fer_times(fer_python, paths):
    run = subprocess.run([fer_python, "-c", FER, *map(str, paths)], capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(f"timing fer failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def export_speeds(model_path, faces):
    """Per-face ms of the shipped int8-weight export vs a float32 export of the same .h5 (needs TensorFlow)."""
    from ai_edge_litert.interpreter import Interpreter

    from emorec.network.files import ensure_export, load_keras_model, resolve_model_path, to_litert
    path = resolve_model_path(model_path)
    float_model = to_litert(load_keras_model(path), quantize=False)
    out = {}
    for name, kwargs in (("float32", {"model_content": float_model}), ("int8 weights", {"model_path": str(ensure_export(path))})):
        it = Interpreter(num_threads=1, **kwargs)
        index = it.get_input_details()[0]["index"]
        x = faces[:1, ..., None].astype(np.float32)
        it.resize_tensor_input(index, x.shape)
        it.allocate_tensors()
        out[name] = median_ms(lambda: (it.set_tensor(index, x), it.invoke()))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model .h5 (default: the shipped model)")
    p.add_argument("--fer-python", help="Python interpreter with the PyPI fer package installed")
    args = p.parse_args()
    rec = Recognizer(args.model)
    frames = {"1 face": frame_one_face(), "4 faces": frame_four_faces()}
    tmp = Path(tempfile.mkdtemp())
    paths = {k: tmp / f"{k.replace(' ', '_')}.png" for k in frames}
    for k, f in frames.items():
        cv2.imwrite(str(paths[k]), f)
    ours = {k: stage_times(rec, f) for k, f in frames.items()}
    peer = fer_times(args.fer_python, paths.values()) if args.fer_python else None
    print(f"frame loop at 640×480, ms (Haar with OpenCV's default threads, a full scan every "
          f"{rec.full_scan_every} frames and near searches in between; LiteRT with {rec.classifier.num_threads} "
          f"thread(s) as in the window, flip TTA {'on' if rec.tta else 'off'}"
          f"{': face + mirror per face' if rec.tta else ''}, input blur σ = {rec.classifier.input_blur:g}, in the network)")
    print(f"{'frame':8s} {'faces':>5s} {'detect full':>11s} {'near':>6s} {'classify':>9s} {'draw':>6s} "
          f"{'total p50':>9s} {'mean':>6s} {'full-scan':>9s} {'per face':>9s}"
          + ("   fer total  fer faces  ratio" if peer else ""))
    for k, r in ours.items():
        line = (f"{k:8s} {r['faces']:5d} {r['detect_full_ms']:11.2f} {r['detect_near_ms']:6.2f} "
                f"{r['classify_ms']:9.2f} {r['draw_ms']:6.2f} {r['total_ms']:9.2f} {r['total_mean_ms']:6.2f} "
                f"{r['total_full_ms']:9.2f} {r['per_face_classify_ms']:9.3f}")
        if peer:
            f = peer[str(paths[k])]
            line += f"   {f['total_ms']:9.2f}  {f['faces']:9d}  {f['total_ms'] / r['total_ms']:5.1f}×"
        print(line)
    print("total p50 / mean: the frame as the window runs it; full-scan: the same with a full scan on every frame; "
          "ratio: fer's total / our total p50")
    seconds, n = cold_start(args.model, paths["1 face"])
    print(f"cold start (new process → first recognized frame, {n} face): {seconds:.2f} s")
    gray = cv2.cvtColor(frames["1 face"], cv2.COLOR_BGR2GRAY)
    from emorec.core.detector import crop_faces
    speeds = export_speeds(args.model, crop_faces(gray, rec.boxes(gray)))
    print("one pass of one face through LiteRT (1 thread): " + ", ".join(f"{k} export {v:.3f} ms" for k, v in speeds.items())
          + f" ({speeds['float32'] / speeds['int8 weights']:.1f}× faster quantized)")


if __name__ == "__main__":
    main()
