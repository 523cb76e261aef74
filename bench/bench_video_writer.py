"""The annotated video's cost: ms per 640×480 frame and bytes per frame for the H.264 writer the project uses
(emorec.core.records.H264Writer, PyAV) against OpenCV's mp4v writer (which browsers do not play), on the
astronaut photo drifting a few pixels to and fro as a webcam delivers a sitting person.

    python bench/bench_video_writer.py [--frames 150]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from common import frame_one_face, host_header

from emorec.core.records import H264Writer


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=150, help="frames written per writer (default: 150)")
    args = p.parse_args()
    print(host_header())
    face = frame_one_face()
    frames = [np.roll(face, 2 * (i % 20) - 20, axis=1) for i in range(args.frames)]
    h, w = face.shape[:2]
    with tempfile.TemporaryDirectory() as tmp:
        writers = {"H.264 (PyAV, the project's)": lambda path: H264Writer(str(path), 30.0, w, h),
                   "mp4v (OpenCV)": lambda path: cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0,
                                                                 (w, h))}
        print(f"{args.frames} frames of {w}×{h} at 30 frames/s, written and closed:")
        for i, (name, open_writer) in enumerate(writers.items()):
            path = Path(tmp) / f"{i}.mp4"
            started = time.perf_counter()
            writer = open_writer(path)
            for frame in frames:
                writer.write(frame)
            writer.release()
            ms = (time.perf_counter() - started) * 1e3 / args.frames
            print(f"  {name:28s} {ms:6.2f} ms per frame, {os.path.getsize(path) / 1024:7.0f} KiB in all")


if __name__ == "__main__":
    main()
