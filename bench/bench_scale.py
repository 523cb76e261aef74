"""Scaling `main.py analyze` past one process: frames/s of the in-process engine, `--workers 2` and a local Ray
with 1 and 2 workers on the same inputs; Ray's fixed and per-segment costs; the driver's own cost per frame (the
single writer); and from these, on paper, frames/s for N workers and where it stops growing.

    python bench/bench_scale.py [--videos 4] [--frames 450] [--long-frames 1800] [--processes 2]
                                [--ray-workers 1 2] [--small-segments 10] [--model PATH]

About 5 minutes on the project's 2-core machine. Inputs, written to a temporary folder that is deleted at the
end (Ray's session files go there too, so the benchmark's Ray is its own): ``--videos`` clips of ``--frames``
frames and one clip of ``--long-frames`` frames, 640×480, 30 frames/s, mp4v, with real faces moving: the
astronaut's head drifting back and forth, and a mirrored head that comes for 4 s in every 8 (so face ids are
given and retired across segment boundaries).

Measured, all in this one run:

- Throughput: the wall time of ``analyze_paths`` per engine on the same inputs: in process (``workers=1``),
  ``--processes`` local processes (``--workers N``: one file each), and Ray with each of ``--ray-workers``
  workers; with the annotated video, and without it (``AnalyzeOptions(no_video=True)``) in process and on Ray
  with the most workers. frames/s = the input set's frames / wall seconds. The Ray rows run on one local Ray
  started by the benchmark (as a cluster joined with ``--address`` would be), so each includes its actors
  starting and loading the model but not Ray's own start, a fixed cost measured apart. The long clip shows
  Ray spreading one video over its workers, which ``--workers N`` cannot. "same rows" compares every clip's
  frames.csv from Ray (most workers) with the in-process one as tests/test_cluster.py does, row for row, and
  where that fails with each frame's rows sorted by face id (saying in how many frames the order differed).
- Fixed costs: a 30-frame clip analysed on a fresh local Ray, as `main.py analyze --engine ray` does it (Ray
  starts, the actors load the model, Ray stops), against the same clip in process; ``ray.init`` of the
  benchmark's Ray; the actors' start on it, up to their first answer.
- Per-segment overhead, three ways: (a) Ray's cost per unit: empty units (``SegmentWorker.run(ImageBatch(()))``)
  pushed through :class:`emorec.analysis.ray_engine.OrderedResults` to the actors, and the round trip of one such call;
  (b) what a segment's worker does beyond its frames: reopen the video at the segment's first frame
  (``Video(path, start)``: open, seek to the key frame before it, decode forward to it); (c) the whole, end
  to end: one clip analysed by 1 Ray worker without video in segments of ``--small-segments`` frames and in
  one segment, each twice (the faster run of each counts): wall difference / difference in segments. The
  extrapolation charges the larger of (c) and (a) + (b) to every segment.
- The driver, alone: the loop of ``cluster._video_work`` replayed without Ray on the long clip, fed the boxes
  and probabilities of the in-process run's frames.csv: tracking + frames.csv + summary + timeline per frame;
  with the annotated video also decode + draw + mp4 encode per frame; then the per-video finish (files
  committed, timeline plotted). Each step is timed; frames / total seconds is the writer's ceiling.
- One worker's rate: :class:`emorec.analysis.ray_engine.SegmentWorker` (one OpenCV thread, one LiteRT thread, as in an
  actor) run in this process over a whole clip: decode + detect + classify on one core.

On paper: frames/s for N workers ≈ min(N × the worker's rate (less the per-segment overhead at the default
segment length), the driver's ceiling), each worker and the driver on a core of its own; it stops growing at
N ≈ ceiling / rate. The bytes per frame read and written give the storage bandwidth that needs. On a 2-core
machine the Ray rows have the workers, the driver and Ray's own processes on 2 cores, so they cannot show the
N× the paper figure assumes; on a larger machine pass e.g. ``--ray-workers 1 2 4 8`` to check it.
"""

import argparse
import contextlib
import csv
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from common import astronaut_bgr, host_header

from emorec.common.quiet import quiet_libraries

quiet_libraries()

from emorec.analysis.analyze import analyze_paths
from emorec.analysis.outputs import (
    AnalyzeOptions,
    VideoOutputs,
)
from emorec.analysis.ray_engine.planner import SEGMENT_FRAMES, resync_period, segments
from emorec.analysis.ray_engine.scheduler import OrderedResults
from emorec.analysis.ray_engine.work import Failed, ImageBatch, Unit, VideoSegment
from emorec.analysis.ray_engine.worker import SegmentWorker
from emorec.common.labels import EMOTIONS
from emorec.core.drawing import draw_faces
from emorec.core.faces import Faces
from emorec.core.options import RecognizerOptions
from emorec.core.sources import Video
from emorec.core.tracking import DEFAULT_SMOOTHING, Tracker

FPS = 30
SIZE = (640, 480)
HEAD = 220          # px: the Haar cascade finds the astronaut's head reliably from about this size
TINY_FRAMES = 30
EXTRAPOLATE = (2, 8, 32, 128)


# ---------------------------------------------------------------- inputs

def write_faces_clip(path, n, seed=0):
    """``n`` frames, 640×480, mp4v: the astronaut's head drifting left and right along the top, and its mirror
    image crossing the bottom half from right to left for 120 frames in every 240. ``seed`` shifts the phase,
    so the clips differ; the second face is never there at frame 0 (two new faces in one frame could take
    their ids in either order). Written frame by frame (memory does not grow with ``n``)."""
    head = cv2.resize(astronaut_bgr()[0:256, 100:356], (HEAD, HEAD), interpolation=cv2.INTER_AREA)
    mirror = cv2.flip(head, 1)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    if not writer.isOpened():
        raise SystemExit("OpenCV cannot write mp4v videos here: the benchmark needs it for its inputs")
    try:
        for i in range(n):
            t = i + 240 * seed + 53 * seed % 100
            frame = np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)
            x, y = int(210 + 200 * math.sin(t / 45)), int(5 + 5 * math.sin(t / 17))
            frame[y:y + HEAD, x:x + HEAD] = head
            if (t // 120) % 2:
                x2 = 410 - 3 * (t % 120)
                frame[250:250 + HEAD, x2:x2 + HEAD] = mirror
            writer.write(frame)
    finally:
        writer.release()
    return path


# ---------------------------------------------------------------- running analyze quietly

@contextlib.contextmanager
def stderr_to(log):
    """File descriptor 2 (tqdm's bars, Ray's and the worker processes' messages) into ``log`` inside the block;
    the table stays readable. On an exception the log's tail is printed."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log, "a") as f:
        os.dup2(f.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            print(Path(log).read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


class Runs:
    """Timed ``analyze_paths`` runs into OUT/<name>; each must finish every input."""

    def __init__(self, tmp, model):
        self.tmp, self.model = tmp, model
        self.log = tmp / "analyze.log"

    def options(self, no_video=False):
        return AnalyzeOptions(no_video=no_video, recognizer=RecognizerOptions(model=self.model))

    def analyze(self, name, paths, no_video=False, workers=None, engine="local", **cluster):
        """Wall seconds of one run."""
        out = self.tmp / "out" / name
        with stderr_to(self.log):
            t0 = time.perf_counter()
            records = analyze_paths(paths, out, self.options(no_video), workers=workers, engine=engine, **cluster)
            seconds = time.perf_counter() - t0
        failed = [f"{r['input']}: {r.get('reason', r['status'])}" for r in records if r["status"] != "done"]
        if failed:
            raise SystemExit(f"run {name} did not finish every input:\n  " + "\n  ".join(failed))
        return seconds

    def frames_csv(self, name, clip):
        return self.tmp / "out" / name / f"{clip.stem}_mp4" / "frames.csv"


def frame_count(path):
    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return n


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _same(x, y):
    keys = ("frame", "time_s", "id", "x", "y", "w", "h", "label")
    return [x[k] for k in keys] == [y[k] for k in keys] and \
        np.allclose([float(x[e]) for e in EMOTIONS], [float(y[e]) for e in EMOTIONS], atol=1e-5)


def compare_rows(a, b):
    """frames.csv ``a`` against ``b``, as tests/test_cluster.py compares them (frame, time, id, box and label
    equal, probabilities equal to float rounding): (True, 0) row for row; (True, k) the same rows once sorted
    by id within each frame, k frames having them in another order; (False, first differing row number)."""
    ra, rb = read_rows(a), read_rows(b)
    if len(ra) != len(rb) or not ra:
        return False, min(len(ra), len(rb))
    if all(_same(x, y) for x, y in zip(ra, rb)):
        return True, 0

    def by_frame(row):
        return int(row["frame"]), int(row["id"])
    sa, sb = sorted(ra, key=by_frame), sorted(rb, key=by_frame)
    for i, (x, y) in enumerate(zip(sa, sb)):
        if not _same(x, y):
            return False, i
    return True, len({x["frame"] for x, y in zip(ra, rb) if x["id"] != y["id"]})


# ---------------------------------------------------------------- Ray's costs

def ray_unit_costs(ray, kwargs, count, units=400, calls=60):
    """(seconds for ``count`` actors to start and load the model, ms per empty unit through OrderedResults with
    them, median ms of one empty call's round trip)."""
    actor = ray.remote(SegmentWorker).options(num_cpus=1)
    t0 = time.perf_counter()
    actors = [actor.remote(kwargs) for _ in range(count)]
    try:
        ray.get([a.run.remote(ImageBatch(())) for a in actors])
        start = time.perf_counter() - t0
        trips = []
        for _ in range(calls):
            t0 = time.perf_counter()
            ray.get(actors[0].run.remote(ImageBatch(())))
            trips.append(time.perf_counter() - t0)
        stream = OrderedResults(ray, actors, [Unit(0, ImageBatch(()))] * units)
        t0 = time.perf_counter()
        for _ in range(units):
            stream.take()
        per_unit = (time.perf_counter() - t0) / units
    finally:
        for a in actors:
            ray.kill(a)
    return start, 1e3 * per_unit, 1e3 * statistics.median(trips)


def reopen_ms(path, period, frames):
    """Median ms of ``Video(path, start)`` at segment starts: open, seek, decode up to and including the first."""
    times = []
    for start in range(period, frames, period)[:60]:
        t0 = time.perf_counter()
        Video(path, start).close()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


# ---------------------------------------------------------------- the driver alone

def observations(frames_csv, frames):
    """Per frame its untracked :class:`faces.Faces` (boxes and probabilities) from a frames.csv: what the workers
    send."""
    per = [([], []) for _ in range(frames)]
    for row in read_rows(frames_csv):
        boxes, probs = per[int(row["frame"])]
        boxes.append([int(row[k]) for k in "xywh"])
        probs.append([float(row[e]) for e in EMOTIONS])
    return [Faces.of_boxes(np.asarray(b).reshape(-1, 4), probs=np.asarray(p, np.float32).reshape(-1, len(EMOTIONS)))
            for b, p in per]


def replay_driver(path, seen, folder, no_video):
    """The driver's loop (``cluster._video_work``, every = 1) over one video, fed ``seen``: {step: seconds}."""
    steps = dict.fromkeys(("track + csv", "decode", "draw", "encode", "finish"), 0.0)
    folder.mkdir(parents=True)
    clock = time.perf_counter
    t_all = clock()
    with contextlib.ExitStack() as stack:
        picture = None if no_video else stack.enter_context(contextlib.closing(Video(path)))
        out = stack.enter_context(VideoOutputs(folder, FPS, AnalyzeOptions(no_video=no_video)))
        tracker = Tracker(DEFAULT_SMOOTHING)
        for index, observed in enumerate(seen):
            t0 = clock()
            faces = tracker.track(observed)
            out.add(index, faces)
            t1 = clock()
            steps["track + csv"] += t1 - t0
            if picture is not None:
                frame = picture.read()
                t2 = clock()
                drawn = draw_faces(frame, faces)
                t3 = clock()
                out.annotated.write(drawn)      # out.show(frame, faces) in two timed halves
                steps["decode"] += t2 - t1
                steps["draw"] += t3 - t2
                steps["encode"] += clock() - t3
        t0 = clock()
        out.finish(len(seen), path.name)
        steps["finish"] = clock() - t0
    steps["total"] = clock() - t_all
    return steps


def worker_rate(path, kwargs):
    """Frames/s of one actor's work (decode + detect + classify, one thread) over a whole clip, in this process."""
    threads = cv2.getNumThreads()
    try:
        with stderr_to(os.devnull):
            worker = SegmentWorker(kwargs)
        if worker.error:
            raise SystemExit(f"the worker cannot start: {worker.error}")
        t0 = time.perf_counter()
        result = worker.run(VideoSegment(str(path), 0, None, 1))
        seconds = time.perf_counter() - t0
    finally:
        cv2.setNumThreads(threads)
    if isinstance(result, Failed):
        raise SystemExit(f"the worker failed: {result.reason}")
    return result.frames / seconds


# ---------------------------------------------------------------- printing

def table(header, rows, left=1):
    """Columns as wide as their widest cell; the first ``left`` left-aligned, the others right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    for i, row in enumerate([header, *rows]):
        print("  " + "  ".join(str(c).ljust(w) if j < left else str(c).rjust(w)
                               for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def plural(n, word):
    return f"{n} {word}{'s' * (n != 1)}"


def cleanup(tmp):
    for _ in range(10):   # Ray's processes may still be closing their log files for a moment
        shutil.rmtree(tmp, ignore_errors=True)
        if not tmp.exists():
            return
        time.sleep(0.5)
    print(f"warning: could not delete {tmp}", file=sys.stderr)


# ---------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model .h5 (default: the shipped model)")
    p.add_argument("--videos", type=int, default=4, help="clips in the set of short clips (default 4)")
    p.add_argument("--frames", type=int, default=450, help="frames per short clip (default 450)")
    p.add_argument("--long-frames", type=int, default=1800, help="frames of the long clip (default 1800)")
    p.add_argument("--processes", type=int, default=2, help="--workers N of the local engine (default 2)")
    p.add_argument("--ray-workers", type=int, nargs="+", default=[1, 2],
                   help="Ray worker counts to time on the short clips (default 1 2); the largest also runs "
                        "without video and on the long clip")
    p.add_argument("--small-segments", type=int, default=10,
                   help="segment length in frames for the per-segment overhead run (default 10, the least)")
    args = p.parse_args()
    if min(args.videos, args.frames, args.long_frames, args.processes, *args.ray_workers) < 1 \
            or args.frames < 2 * args.small_segments:
        p.error("counts must be at least 1, and --frames at least twice --small-segments")
    try:
        import ray
    except ImportError:
        raise SystemExit("this benchmark needs Ray: pip install -r requirements-cluster.txt") from None

    tmp = Path(tempfile.mkdtemp(prefix="scale"))
    os.environ["RAY_TMPDIR"] = str(tmp / "ray")   # Ray's session files in our folder, and a Ray of our own
    try:
        run(ray, args, tmp)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cleanup(tmp)


def run(ray, args, tmp):
    from emorec.analysis.ray_engine.cluster import connect
    runs = Runs(tmp, args.model)
    kwargs = runs.options().recognizer
    most = max(args.ray_workers)
    clips = [write_faces_clip(tmp / f"clip{i}.mp4", args.frames, seed=i) for i in range(args.videos)]
    long_clip = write_faces_clip(tmp / "long.mp4", args.long_frames, seed=args.videos)
    tiny = write_faces_clip(tmp / "tiny.mp4", TINY_FRAMES, seed=99)
    n_short = sum(frame_count(c) for c in clips)
    n_long = frame_count(long_clip)
    print(host_header())
    print(f"analyze scaling on {os.cpu_count()} cores; inputs 640×480 {FPS} fps mp4v with 1-2 moving real faces: "
          f"{args.videos} × {args.frames} frames, 1 × {args.long_frames} frames; Ray {ray.__version__}", flush=True)

    # Fixed costs: a tiny clip on a fresh local Ray (Ray's start and stop, the actors' model load), vs in process.
    tiny_local = runs.analyze("tiny-local", [tiny], no_video=True)
    tiny_ray = runs.analyze("tiny-ray", [tiny], no_video=True, workers=most, engine="ray")

    # One local Ray for the rest, as a cluster joined with --address would be.
    with stderr_to(runs.log):
        t0 = time.perf_counter()
        connect(ray, None, most)
        ray_start = time.perf_counter() - t0
        actor_start, per_unit_ms, trip_ms = ray_unit_costs(ray, kwargs, most)

    rows, rates = [], {}
    short_set, long_set = f"{args.videos} × {args.frames}", f"1 × {args.long_frames}"

    def measure(key, paths, frames, no_video=False, workers=None, engine="local", **cluster):
        seconds = runs.analyze(key, paths, no_video, workers, engine, **cluster)
        rates[key] = frames / seconds
        base = rates.get(f"{key.split(':')[0]}:in-process{':nv' if no_video else ''}")
        inputs = short_set if key.startswith("short") else long_set
        engine = ("in-process" if not workers else f"--workers {workers} (processes)") if engine == "local" \
            else f"Ray, {plural(workers, 'worker')}"
        rows.append([inputs, engine, "no" if no_video else "yes", f"{seconds:.1f}", f"{rates[key]:.1f}",
                     f"{rates[key] / base:.2f}×" if base else "-", f"{os.getloadavg()[0]:.1f}"])
        print(f"  … {inputs}, {engine}, video {'off' if no_video else 'on'}: {seconds:.1f} s", flush=True)

    print("running (each line one analyze run):", flush=True)
    measure("short:in-process", clips, n_short)
    measure("short:in-process:nv", clips, n_short, no_video=True)
    measure("short:processes", clips, n_short, workers=args.processes)
    for k in sorted(set(args.ray_workers)):
        measure(f"short:ray{k}", clips, n_short, workers=k, engine="ray")
    measure(f"short:ray{most}:nv", clips, n_short, no_video=True, workers=most, engine="ray")
    measure("long:in-process", [long_clip], n_long)
    measure("long:in-process:nv", [long_clip], n_long, no_video=True)
    measure(f"long:ray{most}", [long_clip], n_long, workers=most, engine="ray")
    measure(f"long:ray{most}:nv", [long_clip], n_long, no_video=True, workers=most, engine="ray")
    same = {c.name: compare_rows(runs.frames_csv(f"{key}:in-process", c), runs.frames_csv(f"{key}:ray{most}", c))
            for key, group in (("short", clips), ("long", [long_clip])) for c in group}

    # Per-segment overhead, end to end: one clip, 1 worker, no video, in small segments and in one.
    period = resync_period(runs.options())
    length = frame_count(clips[0])
    small, whole = segments(length, period, args.small_segments), segments(length, period, length)
    walls = {len(small): [], len(whole): []}
    for attempt in range(2):
        for segs, frames in ((small, args.small_segments), (whole, length)):
            walls[len(segs)].append(runs.analyze(f"segments{frames}-{attempt}", clips[:1], no_video=True,
                                                 workers=1, engine="ray", segment_frames=frames))
    seg_ms = 1e3 * (min(walls[len(small)]) - min(walls[len(whole)])) / (len(small) - len(whole))
    ray.shutdown()
    seek_ms = reopen_ms(clips[0], period, length)

    # The driver alone, and one worker alone.
    seen = observations(runs.frames_csv("long:in-process", long_clip), n_long)
    drive = {nv: replay_driver(long_clip, seen, tmp / "driver" / ("nv" if nv else "video"), nv) for nv in (False, True)}
    worker = worker_rate(clips[0], kwargs)

    print()
    print(f"throughput (frames/s = the set's frames / wall s; Ray rows on a Ray already started; "
          f"segments of {SEGMENT_FRAMES} frames):")
    table(["inputs", "engine", "annotated video", "wall s", "frames/s", "vs in-process", "load"], rows, left=3)
    print(f"  load: the host's 1-minute load average as the run ended, this run's processes included; above "
          f"{os.cpu_count()} (the cores) other work was taking CPU from the run")
    print(f"  --workers {args.processes} with one video: one file per process, so it runs in process "
          "(the in-process row)")
    reordered = sum(k for ok, k in same.values() if ok)
    print(f"  same rows (frames.csv of Ray, {plural(most, 'worker')} vs in-process, all {len(same)} clips): "
          + ("yes" if all(ok for ok, _ in same.values()) else "NO: " + ", ".join(
              f"{name} from row {k}" for name, (ok, k) in same.items() if not ok))
          + (f"; in {plural(reordered, 'frame')} the same faces came in another order (the in-process "
             "engine's Haar scan on several OpenCV threads returns faces in a varying order; Ray's workers use one)"
             if reordered else ""))

    print()
    print("Ray's fixed costs:")
    print(f"  {TINY_FRAMES}-frame clip, no video: {tiny_ray:.1f} s on a fresh local Ray with "
          f"{plural(most, 'worker')} vs {tiny_local:.1f} s in process: a run on a local Ray costs "
          f"{tiny_ray - tiny_local:.1f} s more")
    print(f"  of which: ray.init of a local Ray {ray_start:.1f} s; {plural(most, 'actor')} started and model loaded "
          f"{actor_start:.1f} s (every run, also on a running cluster)")
    print("Ray's per-segment overhead:")
    print(f"  (a) an empty unit through OrderedResults, {plural(most, 'worker')}: {per_unit_ms:.2f} ms per unit "
          f"(one call's round trip: {trip_ms:.2f} ms)")
    print(f"  (b) a worker reopening the video at a segment's start (open + seek + decode to it): {seek_ms:.1f} ms")
    print(f"  (c) end to end, 1 worker, no video, {length} frames in {len(small)} segments vs {len(whole)}: "
          f"{min(walls[len(small)]):.2f} s vs {min(walls[len(whole)]):.2f} s → {seg_ms:.1f} ms per segment")
    seg_s = max(seg_ms, per_unit_ms + seek_ms) / 1e3
    effective = SEGMENT_FRAMES / (SEGMENT_FRAMES / worker + seg_s)
    print(f"  at the default {SEGMENT_FRAMES} frames per segment, {1e3 * seg_s:.1f} ms (the larger of (c) and "
          f"(a)+(b)) is {100 * seg_s * worker / SEGMENT_FRAMES:.1f} % of a segment's "
          f"{SEGMENT_FRAMES / worker:.1f} s of work")

    print()
    print(f"the driver alone (the single writer), {n_long}-frame clip replayed without recognition, ms per frame:")
    steps = ["track + csv", "decode", "draw", "encode"]
    drows = [["annotated video" if not nv else "--no-video", *(f"{1e3 * drive[nv][s] / n_long:.3f}" for s in steps),
              f"{drive[nv]['finish']:.2f} s", f"{1e3 * drive[nv]['total'] / n_long:.3f}",
              f"{n_long / drive[nv]['total']:.0f}"] for nv in (False, True)]
    table(["driver", *steps, "finish/video", "total", "frames/s"], drows)
    ceiling = {nv: n_long / drive[nv]["total"] for nv in (False, True)}
    print(f"  frames/s: for videos of {n_long} frames ({n_long / FPS / 60:.0f} min), the finish included; the finish "
          "(mostly the timeline plot) is per video, so shorter videos lower the ceiling")
    size = {name: sum(f.stat().st_size for f in (tmp / "driver" / d).glob(f"*.{name}")) / n_long
            for name, d in (("mp4", "video"), ("csv", "nv"))}
    read = long_clip.stat().st_size / n_long
    moved = {False: 2 * read + size["mp4"] + size["csv"], True: read + size["csv"]}   # bytes read + written per frame
    print(f"  per frame: {read / 1e3:.1f} kB of input mp4v (read by a worker, and again by the driver for the "
          f"annotated video), {size['mp4'] / 1e3:.1f} kB of annotated.mp4 and {size['csv'] / 1e3:.2f} kB of "
          "frames.csv written")
    print(f"one worker (SegmentWorker in this process, 1 thread): {worker:.1f} frames/s "
          f"(decode + detect + classify); {effective:.1f} frames/s with the per-segment overhead")

    print()
    print(f"on paper: frames/s for N workers ≈ min(N × {effective:.1f}, the driver's ceiling), each worker and the "
          "driver on a core of its own; MB/s: input read + outputs written")
    prows = []
    for n in EXTRAPOLATE:
        cells = []
        for nv in (False, True):
            fps = min(n * effective, ceiling[nv])
            cells += [f"{fps:.0f}" + (" (driver-bound)" if n * effective > ceiling[nv] else ""),
                      f"{fps * moved[nv] / 1e6:.1f}"]
        prows.append([f"N = {n}", f"{n * effective:.0f}", *cells])
    table(["workers", "workers alone", "annotated video", "MB/s", "--no-video", "MB/s"], prows)
    for nv in (False, True):
        print(f"  {'--no-video' if nv else 'annotated video'}: stops scaling at about {ceiling[nv] / effective:.0f} "
              f"workers ({ceiling[nv]:.0f} frames/s, the driver's ceiling)")


if __name__ == "__main__":
    main()
