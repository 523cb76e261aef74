"""Peak memory of `main.py analyze` against video length: it should not grow with the number of frames.

    python bench/bench_analyze_memory.py [--model PATH] [--frames 300 3000 9000]

Writes one synthetic 640×480, 30 fps clip per length (the astronaut drifting across the frame, one face),
then analyses each clip with and without --no-video (one worker), every run in a fresh process, and
prints the process's peak resident memory (its ru_maxrss, read with os.wait4) and wall time.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_analyze import write_clip
from common import ROOT, host_header


def peak_rss(cmd, log):
    """Run ``cmd`` to the end; returns (peak RSS of that process in MiB, wall seconds)."""
    t0 = time.perf_counter()
    with open(log, "w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)   # the rusage of this child alone
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n{err.read()[-2000:]}")
    return usage.ru_maxrss / 1024, time.perf_counter() - t0   # Linux reports ru_maxrss in KiB


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model .h5 (default: the shipped model)")
    p.add_argument("--frames", type=int, nargs="+", default=[300, 3000, 9000], help="clip lengths in frames")
    args = p.parse_args()
    print(host_header())
    print("peak RSS of `main.py analyze CLIP` (--workers 1), 640×480 30 fps one-face clips")
    print(f"{'frames':>7} | {'annotated video':>22} | {'--no-video':>22}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.frames:
            measure(Path(tmp), n, args.model)


def measure(tmp, n, model):
    """Print one row of the table: a clip of ``n`` frames analysed with and without --no-video."""
    clip = tmp / f"clip{n}.mp4"
    write_clip(clip, n)
    cells = []
    for flags in ([], ["--no-video"]):
        out = tmp / f"out{n}{'-novideo' if flags else ''}"
        cmd = [sys.executable, str(ROOT / "main.py"), "analyze", str(clip), "--out", str(out), *flags] \
            + (["--model", model] if model else [])
        mib, seconds = peak_rss(cmd, tmp / "analyze.log")
        cells.append(f"{mib:6.0f} MiB, {seconds:5.1f} s")
        shutil.rmtree(out)
    clip.unlink()
    print(f"{n:>7} | {cells[0]:>22} | {cells[1]:>22}", flush=True)


if __name__ == "__main__":
    main()
