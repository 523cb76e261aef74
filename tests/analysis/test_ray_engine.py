"""`main.py analyze --engine ray`: a local Ray with 2 workers gives the in-process engine's files, a worker killed
mid-segment is retried without losing or duplicating a row, and every way of asking for Ray wrongly gets one line.

One Ray run (the expensive part: Ray's start, two workers loading the model) checks several things."""

import csv
import json
import os
import socket
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from emorec.analysis.analyze import analyze_paths
from emorec.analysis.outputs import AnalyzeOptions
from emorec.analysis.ray_engine.planner import plan_units, resync_period, segments
from emorec.analysis.ray_engine.work import ImageBatch, VideoSegment
from emorec.cli.main import main
from emorec.common.labels import EMOTIONS
from emorec.core.options import RecognizerOptions
from emorec.core.recognizer import Recognizer
from tests.helpers import write_video

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("ray")   # requirements-cluster.txt; part of requirements-dev.txt, so CI runs these


def faces_clip(n=90):
    """640×480 frames with real faces: the astronaut's head drifting right, and a second, mirrored head that
    comes at frame 25 and goes at frame 65 (so ids are given and retired across segment boundaries)."""
    from skimage import data
    head = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[0:256, 100:356], (220, 220),
                      interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(n):
        f = np.full((480, 640, 3), 90, np.uint8)
        f[10:230, 20 + 2 * i:240 + 2 * i] = head
        if 25 <= i < 65:
            f[250:470, 400 - i:620 - i] = cv2.flip(head, 1)
        frames.append(f)
    return frames


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster_inputs")
    frames = faces_clip()
    write_video(d / "faces.mp4", frames, fps=30, fourcc="mp4v")
    cv2.imwrite(str(d / "two.png"), frames[40])
    cv2.imwrite(str(d / "one.png"), frames[0])
    (d / "broken.mp4").write_bytes(b"not a video")
    return d


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def assert_same_rows(a, b):
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        assert [x[k] for k in ("frame", "time_s", "id", "x", "y", "w", "h", "label")] == \
               [y[k] for k in ("frame", "time_s", "id", "x", "y", "w", "h", "label")]
        assert np.allclose([float(x[e]) for e in EMOTIONS], [float(y[e]) for e in EMOTIONS], atol=1e-5)


def test_ray_with_two_workers_gives_the_in_process_files_even_when_a_worker_is_killed(inputs, tmp_path, monkeypatch):
    options = AnalyzeOptions()
    paths = [inputs / name for name in ("faces.mp4", "two.png", "broken.mp4", "one.png")]
    local = analyze_paths(paths, tmp_path / "local", options, recognizer=Recognizer())
    marker = tmp_path / "killed"
    # The test starts the local Ray itself (analyze joins a Ray that is already up), with a hook that kills the
    # first worker to get halfway through a segment; the workers find the tests package through PYTHONPATH.
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={
        "worker_process_setup_hook": "tests.analysis.ray_hooks.die_once_halfway_through_a_segment",
        "env_vars": {"EMOREC_TEST_KILLED": str(marker), "PYTHONPATH": str(ROOT),
                     "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", "")}})
    try:
        on_ray = analyze_paths(paths, tmp_path / "ray", options, workers=2, engine="ray", segment_frames=20)
    finally:
        ray.shutdown()
    assert marker.exists(), "no worker was killed: the retry was not exercised"

    status = {r.input.rsplit("/", 1)[-1]: r.status for r in on_ray}
    assert status == {"faces.mp4": "done", "one.png": "done", "two.png": "done", "broken.mp4": "failed"}
    assert [r.reason for r in on_ray if r.status == "failed"] == \
        [r.reason for r in local if r.status == "failed"]
    video = rows(tmp_path / "local" / "faces_mp4" / "frames.csv")
    assert {r["id"] for r in video} == {"1", "2"}            # the second face was found, tracked and retired
    assert_same_rows(video, rows(tmp_path / "ray" / "faces_mp4" / "frames.csv"))   # nothing lost or doubled
    for image in ("one_png", "two_png"):
        assert_same_rows(rows(tmp_path / "local" / image / "faces.csv"), rows(tmp_path / "ray" / image / "faces.csv"))
        assert (tmp_path / "ray" / image / "annotated.png").read_bytes() == \
            (tmp_path / "local" / image / "annotated.png").read_bytes()
    for name in ("faces_mp4", "one_png", "two_png"):
        a, b = (json.loads((tmp_path / run / name / "summary.json").read_text()) for run in ("local", "ray"))
        assert a["frames"] == b["frames"] == (90 if "mp4" in name else 1)
        for key in ("overall", *a["summary"]["tracks"]):
            x = a["summary"]["tracks"].get(key, a["summary"]["overall"])
            y = b["summary"]["tracks"].get(key, b["summary"]["overall"])
            assert x["face_frames"] == y["face_frames"] and x["label_share"] == y["label_share"]
            assert x["mean_probs"] == pytest.approx(y["mean_probs"], abs=1e-6)
    cap = cv2.VideoCapture(str(tmp_path / "ray" / "faces_mp4" / "annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 90
    cap.release()
    assert (tmp_path / "ray" / "faces_mp4" / "timeline.png").stat().st_size > 1000
    assert not list((tmp_path / "ray").rglob(".*partial*"))
    index = json.loads((tmp_path / "ray" / "index.json").read_text())["files"]
    assert sorted(r["status"] for r in index) == ["done", "done", "done", "failed"]

    # a re-run skips the finished inputs (and, with nothing left to do, starts no Ray)
    again = analyze_paths([p for p in paths if p.name != "broken.mp4"], tmp_path / "ray", options, engine="ray")
    assert [r.status for r in again] == ["skipped", "skipped", "skipped"]


def test_segments_start_where_detection_starts_afresh():
    assert segments(None, 10) == [(0, None)] and segments(0, 10) == [(0, None)]
    assert segments(125, 10, 40) == [(0, 40), (40, 80), (80, 120), (120, None)]
    assert segments(125, 30, 40) == [(0, 30), (30, 60), (60, 90), (90, 120), (120, None)]   # multiples of 30
    assert segments(5, 10, 40) == [(0, None)]
    options = AnalyzeOptions(every=2, recognizer=RecognizerOptions(detect_every=3, full_scan_every=5))
    assert resync_period(options) == 30


def test_units_keep_the_inputs_order_and_batch_images(inputs, monkeypatch):
    todo = [(inputs / n, None, None) for n in ("one.png", "two.png", "faces.mp4", "broken.mp4", "one.png")]
    units, jobs = plan_units(todo, AnalyzeOptions(), segment_frames=50, images_per_task=16)
    assert [type(u.work) for u in units] == [ImageBatch, VideoSegment, VideoSegment, ImageBatch]
    assert [(u.work.start, u.work.stop) for u in units if isinstance(u.work, VideoSegment)] == [(0, 50), (50, None)]
    assert [list(j.units) for j in jobs if j.error is None] == [[0], [0], [1, 2], [3]]
    assert "cannot read video" in jobs[3].error
    assert [u.job for u in units] == [0, 2, 2, 4]           # each unit names the input it belongs to
    monkeypatch.chdir(inputs)   # workers do not share the driver's working directory: they get absolute paths
    from pathlib import Path
    units, _ = plan_units([(Path("faces.mp4"), None, None), (Path("one.png"), None, None)], AnalyzeOptions())
    assert units[0].work.path == str(inputs / "faces.mp4") and units[1].work.paths == (str(inputs / "one.png"),)


def test_asking_for_ray_wrongly_gets_one_line(inputs, tmp_path, capsys, monkeypatch):
    image = str(inputs / "one.png")
    with socket.socket() as s:   # a port nothing listens at
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cases = {
        "nothing at that address": (["--engine", "ray", "--address", f"127.0.0.1:{port}"], "cannot reach the Ray"),
        "not an address": (["--engine", "ray", "--address", "head-node"], "expected HOST:PORT"),
        "cluster flags without the engine": (["--segment-frames", "30"], "add --engine ray"),
    }
    for name, (flags, words) in cases.items():
        assert main(["analyze", image, "--out", str(tmp_path / "out"), *flags]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err and err.count("\n") == 1, (name, err)
    monkeypatch.setitem(sys.modules, "ray", None)   # as if Ray were not installed
    assert main(["analyze", image, "--out", str(tmp_path / "out"), "--engine", "ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install -r requirements-cluster.txt" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
