"""Both cores: does overlapping the next frame's detection with this frame's classification (and drawing) pay?

    python bench/bench_pipeline.py [--model PATH] [--frames 300]

The frame loop as the window runs it (``Recognizer.__call__`` then drawing, one frame after the other) against a
two-stage pipeline: one thread runs ``Recognizer.detect`` frame after frame (the detection state, and which
passes each face gets), another classifies (``Recognizer.classify_detection``), tracks and draws each frame in
order, with a queue of one frame between them; so detection of frame n+1 runs while frame n is classified.
Both on the same 640×480 frames with one and four real faces (near searches between full scans, as live),
with LiteRT on 1 and 2 threads. The results of the two loops are compared (same boxes, ids, probabilities).

Prints ms per frame (wall time / frames, the inverse of the frames/s the loop sustains) and the cores the
process kept busy (CPU time / wall time). The host is shared: the first line measures how many cores this
process can actually get right now (two busy threads against one), so a pipeline that could use a second core
is judged only where one is free.
"""

import argparse
import queue
import threading
import time

import cv2
import numpy as np
from common import frame_four_faces, frame_one_face, host_header

from emorec.core.drawing import draw_faces
from emorec.core.recognizer import Recognizer


def sequential(rec, frames):
    out = []
    for frame in frames:
        faces = rec(frame)
        draw_faces(frame, faces)
        out.append(faces)
    return out


def pipelined(rec, frames):
    """Detection one frame ahead on its own thread; classification, tracking and drawing in frame order."""
    found = queue.Queue(maxsize=1)

    def detect():
        for frame in frames:
            found.put((frame, rec.detect(frame)))
        found.put(None)

    thread = threading.Thread(target=detect, daemon=True)
    thread.start()
    out = []
    while (item := found.get()) is not None:
        frame, detection = item
        faces = rec.tracker.track(rec.classify_detection(detection))
        draw_faces(frame, faces)
        out.append(faces)
    thread.join()
    return out


def timed(loop, rec, frames):
    """(ms per frame, cores busy, results) of ``loop`` over ``frames`` from a fresh stream."""
    rec.reset()
    t0, c0 = time.perf_counter(), time.process_time()
    out = loop(rec, frames)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall / len(frames) * 1e3, cpu / wall, out


def compare(rec, frames, rounds):
    """The two loops in alternation, ``rounds`` times each over ``frames`` (the host's load drifts: each round's
    ratio compares two runs a moment apart). Returns the medians: sequential ms, its cores, pipelined ms, its
    cores, the per-round speed-up, and whether every round gave the same faces."""
    timed(sequential, rec, frames[:20])
    timed(pipelined, rec, frames[:20])                   # warm up (interpreter sizes, caches)
    seq, pipe, same_faces = [], [], True
    for i in range(rounds):
        order = (sequential, pipelined) if i % 2 == 0 else (pipelined, sequential)
        runs = {loop: timed(loop, rec, frames) for loop in order}
        seq.append(runs[sequential][:2])
        pipe.append(runs[pipelined][:2])
        same_faces &= same(runs[sequential][2], runs[pipelined][2])
    seq, pipe = np.array(seq), np.array(pipe)
    return (*np.median(seq, 0), *np.median(pipe, 0), float(np.median(seq[:, 0] / pipe[:, 0])), same_faces)


def spin(seconds=0.5):
    """Busy on one core for ``seconds`` (hashing a large buffer releases the GIL, so threads run in parallel)."""
    import hashlib
    block, end = b"x" * (1 << 20), time.perf_counter() + seconds
    while time.perf_counter() < end:
        hashlib.sha256(block)


def available_cores():
    """How many cores two busy threads get at once right now (2.0 on an idle 2-core machine)."""
    t0, c0 = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=spin) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (time.process_time() - c0) / (time.perf_counter() - t0)


def same(a, b):
    return all([(f.id, f.box, f.label) for f in x] == [(f.id, f.box, f.label) for f in y]
               and all(np.allclose(list(f.probs.values()), list(g.probs.values()), atol=1e-6) for f, g in zip(x, y))
               for x, y in zip(a, b, strict=True))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model .h5 (default: the shipped model)")
    p.add_argument("--frames", type=int, default=60, help="frames per run")
    p.add_argument("--rounds", type=int, default=9, help="runs of each loop, in alternation")
    args = p.parse_args()
    from emorec.core.classifier import Classifier
    print(host_header(args.model or ""))
    print(f"cores this process gets right now: {available_cores():.2f} (OpenCV threads: {cv2.getNumThreads()})")
    print(f"{args.rounds} runs of {args.frames} frames per loop, in alternation; medians")
    print(f"\n{'frame':8s} {'LiteRT':>7s} {'sequential ms':>14s} {'cores':>6s} {'pipelined ms':>13s} {'cores':>6s} "
          f"{'speed-up':>9s}  same results")
    for name, frame in (("1 face", frame_one_face()), ("4 faces", frame_four_faces())):
        # a little motion, so the near searches and tracks work as on a live face
        frames = [np.roll(frame, (i % 7) - 3, axis=1) for i in range(args.frames)]
        for threads in (2, 1):
            rec = Recognizer(classifier=Classifier(args.model, num_threads=threads))
            seq_ms, seq_cores, pipe_ms, pipe_cores, ratio, same_faces = compare(rec, frames, args.rounds)
            print(f"{name:8s} {threads:7d} {seq_ms:14.2f} {seq_cores:6.2f} {pipe_ms:13.2f} {pipe_cores:6.2f} "
                  f"{ratio:8.2f}×  {'yes' if same_faces else 'NO'}", flush=True)
    print(f"cores this process gets right now: {available_cores():.2f}")
    print("speed-up: the median over rounds of sequential ms / pipelined ms (same LiteRT threads); "
          "the window runs the sequential loop with 2 LiteRT threads")


if __name__ == "__main__":
    main()
