"""Video analysis throughput (frames/s) at 640×480 with one face, with 1 and 2 worker processes.

    python bench/bench_analyze.py [--model PATH] [--frames 300]

Writes two synthetic clips (the astronaut drifting across the frame), then times
`main.py analyze` on both with --workers 1 and --workers 2.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from common import ROOT, frame_one_face, host_header


def write_clip(path, n):
    base = frame_one_face()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 480))
    for i in range(n):
        writer.write(np.roll(base, int(20 * np.sin(i / 15)), axis=1))
    writer.release()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model .h5 (default: the shipped model)")
    p.add_argument("--frames", type=int, default=300, help="frames per clip")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    clips = [tmp / "a.mp4", tmp / "b.mp4"]
    for c in clips:
        write_clip(c, args.frames)
    print(host_header())
    print(f"analyze throughput: 2 clips × {args.frames} frames, 640×480, one face, annotated video on")
    for workers in (1, 2):
        cmd = [sys.executable, str(ROOT / "main.py"), "analyze", *map(str, clips), "--out", str(tmp / f"out{workers}"),
               "--workers", str(workers)] + (["--model", args.model] if args.model else [])
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        print(f"--workers {workers}: {2 * args.frames / seconds:6.1f} frames/s "
              f"({seconds:.1f} s wall, including process start-up)")


if __name__ == "__main__":
    main()
