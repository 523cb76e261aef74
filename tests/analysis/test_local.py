"""emorec.analysis.local: analyze's in-process engine and its worker processes."""

import multiprocessing
import os
import signal
import threading

from emorec.analysis import local
from emorec.analysis.analyze import analyze_paths
from emorec.analysis.outputs import AnalyzeOptions
from emorec.cli.main import main


def kill_workers_as_they_start(stop):
    """Every worker process this process starts is killed at once, as the kernel's out-of-memory killer would."""
    while not stop.is_set():
        for child in multiprocessing.active_children():
            try:
                os.kill(child.pid, signal.SIGKILL)
            except (ProcessLookupError, TypeError):
                pass
        stop.wait(0.005)


def test_a_worker_that_dies_fails_its_inputs_with_a_message(inputs, tmp_path):
    stop = threading.Event()
    killer = threading.Thread(target=kill_workers_as_they_start, args=(stop,))
    killer.start()
    try:
        records = analyze_paths([inputs], tmp_path / "out", AnalyzeOptions(no_video=True), workers=2)
    finally:
        stop.set()
        killer.join()
    assert [r.status for r in records] == ["failed"] * 3
    assert all("stopped abruptly" in r.reason and "run again" in r.reason for r in records)


def test_a_pool_that_breaks_while_starting_its_workers_fails_what_it_did_not_take(inputs, tmp_path, monkeypatch):
    # What ProcessPoolExecutor.submit raises when a worker dies while the next one is being spawned.
    def submit(self, *args, **kwargs):
        raise ValueError("bad value(s) in fds_to_keep")
    monkeypatch.setattr(local.ProcessPoolExecutor, "submit", submit)
    records = analyze_paths([inputs], tmp_path / "out", AnalyzeOptions(no_video=True), workers=2)
    assert [r.status for r in records] == ["failed"] * 3
    assert all("stopped abruptly" in r.reason for r in records)


def test_two_workers_give_the_same_results_as_one(inputs, tmp_path, tiny_model):
    for workers in (1, 2):
        assert main(["analyze", str(inputs), "--out", str(tmp_path / f"w{workers}"), "--model", str(tiny_model),
                     "--workers", str(workers), "--no-video"]) == 0
    for name in ("in__sub__clip_avi/frames.csv", "in__a_png/faces.csv"):
        assert (tmp_path / "w1" / name).read_text() == (tmp_path / "w2" / name).read_text()
