"""Live frame loop at 640×480: detect / classify / draw / total ms per frame with one and four real
faces, per-face classification ms, and cold start (process start to first recognized frame).

    python bench/bench_frame.py [--model PATH [PATH ...]] [--fer-python PATH]

The total is the frame as the window runs it, frame after frame on a face that moves a little (a full scan
every 10th frame, near searches between; one network pass per face per frame, alternating plain and mirror,
both passes on a face's first frame), beside the same loop with both passes on every frame (the loop before
that change) and with a full scan on every frame (the loop before near searches).

--fer-python: a Python that can `import fer` (bench/setup_fer_venv.sh makes one); the PyPI `fer`
package is then timed on the same frames in the same run and the ratio printed.
"""

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from common import frame_four_faces, frame_one_face, host_header, median_ms, network_cost

from emorec.core.drawing import draw_faces
from emorec.core.recognizer import Recognizer

#: The frame loop three ways: as the window runs it, with both passes on every frame (before one pass per face
#: per frame), and with a full scan on every frame (before near searches).
VARIANTS = {"total": {}, "total_both": {"alternate": False}, "total_full": {"full_scan_every": 1}}


def loop_times(rec, frames, rounds=10, block=20):
    """{variant: ms per frame (recognize + draw)} for :data:`VARIANTS`, measured in alternating blocks of ``block``
    frames (the host's load drifts; each variant gets a share of every moment), one stream running on through
    ``frames`` over and over."""
    defaults = {k: getattr(rec, k) for settings in VARIANTS.values() for k in settings}
    frames = itertools.cycle(frames)
    rec.reset()
    times = {name: [] for name in VARIANTS}
    for _ in range(10):                       # warm up
        f = next(frames)
        draw_faces(f, rec(f))
    for _ in range(rounds):
        for name, settings in VARIANTS.items():
            for k, v in {**defaults, **settings}.items():
                setattr(rec, k, v)
            for _ in range(block):
                t0 = time.perf_counter()
                f = next(frames)
                draw_faces(f, rec(f))
                times[name].append((time.perf_counter() - t0) * 1e3)
    for k, v in defaults.items():
        setattr(rec, k, v)
    return {name: np.array(t) for name, t in times.items()}


def stage_times(rec, frame):
    """Per stage, median ms; ``total``: the whole frame as the window runs it (median and mean); ``total_both``:
    the same with both passes for every face on every frame; ``total_full``: with a full scan on every frame."""
    from emorec.core.boxes import crop_faces
    from emorec.core.detector import detect
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    faces = rec.image(frame)
    raw = detect(rec.detector, gray, frame).boxes
    rec.reset()
    crops = crop_faces(gray, rec.boxes(gray, frame))
    frames = [np.roll(frame, (i % 7) - 3, axis=1) for i in range(14)]   # a face that moves a little
    loops = loop_times(rec, frames)
    both_ms = median_ms(lambda: rec.classify(crops))
    one_ms = median_ms(lambda: rec.classifier(crops))
    return {
        "faces": len(faces),
        "detect_full_ms": median_ms(lambda: detect(rec.detector, gray, frame)),
        "detect_near_ms": median_ms(lambda: rec.detector.near(gray, raw)) if hasattr(rec.detector, "near")
        else float("nan"),
        "classify_both_ms": both_ms, "classify_one_ms": one_ms,
        "draw_ms": median_ms(lambda: draw_faces(frame, faces)),
        **{f"{name}_ms": float(np.median(t)) for name, t in loops.items()},
        "total_mean_ms": float(loops["total"].mean()),
        "per_face_pass_ms": one_ms / max(1, len(crops)),
    }


COLD = """
import time, sys
t0 = time.perf_counter()
import cv2
from emorec.core.recognizer import Recognizer
frame = cv2.imread({frame!r})
faces = Recognizer({model!r}).image(frame)
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


def report(model, rec, ours, peer, paths, frame):
    """One model's table, its cold start and its per-pass figures."""
    how = {"haar": "Haar with OpenCV's default threads",
           "blazeface": f"BlazeFace through LiteRT with {getattr(rec.detector, 'num_threads', 1)} thread(s), the "
                        "short-range network for near searches"}.get(rec.settings.detector, rec.settings.detector)
    detection = (f"{how}, a full scan every {rec.full_scan_every} frames and near searches in between"
                 if rec.full_scan_every > 1 else f"{how}, a full scan on every frame (it has no near search)")
    print(f"\n{model or 'the shipped model'}: frame loop at 640×480, ms ({detection}; LiteRT with "
          f"{rec.classifier.num_threads} thread(s) as in the window; input blur σ = {rec.classifier.input_blur:g}, in "
          "the network)")
    print(f"{'frame':8s} {'faces':>5s} {'detect full':>11s} {'near':>6s} {'classify 2 passes':>17s} {'1 pass':>7s} "
          f"{'draw':>6s} {'total p50':>9s} {'mean':>6s} {'2 passes':>9s} {'full-scan':>9s} {'ms/pass':>8s}"
          + ("   fer total  fer faces  ratio" if peer else ""))
    for k, r in ours.items():
        line = (f"{k:8s} {r['faces']:5d} {r['detect_full_ms']:11.2f} {r['detect_near_ms']:6.2f} "
                f"{r['classify_both_ms']:17.2f} {r['classify_one_ms']:7.2f} {r['draw_ms']:6.2f} {r['total_ms']:9.2f} "
                f"{r['total_mean_ms']:6.2f} {r['total_both_ms']:9.2f} {r['total_full_ms']:9.2f} "
                f"{r['per_face_pass_ms']:8.3f}")
        if peer:
            f = peer[str(paths[k])]
            line += f"   {f['total_ms']:9.2f}  {f['faces']:9d}  {f['total_ms'] / r['total_ms']:5.1f}×"
        print(line)
    print(f"classify: all the frame's faces in one call, face + mirror (2 passes) or the face alone (1 pass); "
          f"ms/pass: one face's pass in that batch ({network_cost(model or '')})")
    print("total p50 / mean: the frame as the window runs it (one pass per face per frame, alternating); "
          "2 passes: the same loop with face + mirror on every frame; full-scan: with a full scan on every frame; "
          "ratio: fer's total / our total p50")
    seconds, n = cold_start(model, paths["1 face"])
    print(f"cold start (new process → first recognized frame, {n} face): {seconds:.2f} s")
    from emorec.network.files import is_ensemble, resolve_model_path
    if is_ensemble(resolve_model_path(model)):
        print("(an ensemble: its members' float32 and int8 exports are timed with --model MEMBER)")
        return
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    from emorec.core.boxes import crop_faces
    rec.reset()
    speeds = export_speeds(model, crop_faces(gray, rec.boxes(gray, frame)))
    print(f"one pass of one face through LiteRT (1 thread; {network_cost(model or '')}): "
          + ", ".join(f"{k} export {v:.3f} ms" for k, v in speeds.items())
          + f" ({speeds['float32'] / speeds['int8 weights']:.1f}× faster quantized)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", nargs="+", default=[None],
                   help="model .h5 or folder, or several to compare in one run, e.g. model/default model/fast "
                        "(default: the shipped model)")
    p.add_argument("--fer-python", help="Python interpreter with the PyPI fer package installed")
    p.add_argument("--detector", nargs="+", default=["blazeface"], choices=["haar", "blazeface"],
                   help="face detectors to run the loop with, each in this run (default: blazeface, the default)")
    args = p.parse_args()
    frames = {"1 face": frame_one_face(), "4 faces": frame_four_faces()}
    tmp = Path(tempfile.mkdtemp())
    paths = {k: tmp / f"{k.replace(' ', '_')}.png" for k in frames}
    for k, f in frames.items():
        cv2.imwrite(str(paths[k]), f)
    print(host_header())
    recs = {(m, d): Recognizer(m, detector=d) for m in args.model for d in args.detector}
    ours = {key: {k: stage_times(rec, f) for k, f in frames.items()} for key, rec in recs.items()}
    peer = fer_times(args.fer_python, paths.values()) if args.fer_python else None
    for (m, d), rec in recs.items():
        report(m, rec, ours[(m, d)], peer, paths, frames["1 face"])
    if len(recs) > 1:
        first = next(iter(recs))
        print(f"\nframe total p50 against {first[0] or 'the shipped model'} with {first[1]} (same run):")
        for m, d in list(recs)[1:]:
            print(f"  {m or 'the shipped model'} with {d}: "
                  + ", ".join(f"{k} {ours[first][k]['total_ms'] / ours[(m, d)][k]['total_ms']:.2f}× faster"
                              for k in frames))

if __name__ == "__main__":
    main()
