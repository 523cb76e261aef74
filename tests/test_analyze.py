import csv
import json

import cv2
import numpy as np
import pytest

from emorec.analyze import AnalyzeOptions, analyze_paths, collect_inputs
from emorec.analyze import describe_result as _describe_result
from emorec.cli import main
from emorec.detector import DetectorSettings
from emorec.labels import EMOTIONS
from emorec.recognizer import Recognizer

from conftest import FakeClassifier, FakeDetector, moving_square_frames, write_video


@pytest.fixture
def inputs(tmp_path):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    frames = moving_square_frames(12)
    cv2.imwrite(str(d / "a.png"), frames[0])
    cv2.imwrite(str(d / "sub" / "b.jpg"), frames[3])
    write_video(d / "sub" / "clip.avi", frames)
    (d / "sub" / "notes.txt").write_text("ignored: not media")
    return d


def fake_recognizer():
    return Recognizer(detector=FakeDetector([[40, 60, 100, 100]]), classifier=FakeClassifier(),
                      settings=DetectorSettings(pad=0), smoothing=0.5)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_folder_is_expanded_recursively(inputs):
    found, bad = collect_inputs([inputs])
    assert sorted(p.name for p, _ in found) == ["a.png", "b.jpg", "clip.avi"] and bad == []
    assert len({k for _, k in found}) == 3


def test_images_and_video_produce_every_output(inputs, tmp_path):
    out = tmp_path / "out"
    records = analyze_paths([inputs], out, AnalyzeOptions(), recognizer=fake_recognizer())
    assert [r["status"] for r in records] == ["done"] * 3
    video = next(r for r in records if r["kind"] == "video")
    folder = out / "in__sub__clip_avi"
    assert video["folder"] == str(folder) and video["frames"] == 12
    rows = read_csv(folder / "frames.csv")
    assert len(rows) == 12 and list(rows[0]) == ["frame", "time_s", "id", "x", "y", "w", "h", "label",
                                                 "confidence", *EMOTIONS]
    for r in rows:
        assert sum(float(r[e]) for e in EMOTIONS) == pytest.approx(1, abs=1e-4)
        assert r["label"] == max(EMOTIONS, key=lambda e: float(r[e]))
    assert float(rows[5]["time_s"]) == pytest.approx(0.5)
    cap = cv2.VideoCapture(str(folder / "annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12 and cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10)
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (320, 240)
    cap.release()
    summary = json.loads((folder / "summary.json").read_text())
    assert sum(summary["summary"]["overall"]["label_share"].values()) == pytest.approx(1)
    assert list(summary["summary"]["tracks"]) == ["1"]
    assert (folder / "timeline.png").stat().st_size > 1000
    image_folder = out / "in__a_png"
    assert cv2.imread(str(image_folder / "annotated.png")).shape == (240, 320, 3)
    assert len(read_csv(image_folder / "faces.csv")) == 1
    index = json.loads((out / "index.json").read_text())
    assert len(index["files"]) == 3 and len(read_csv(out / "index.csv")) == 3
    shares = summary["summary"]["overall"]["label_share"]
    assert video["main_label"] == max(shares, key=shares.get)
    assert video["label_share"] == {e: v for e, v in shares.items() if v}
    assert {r["input"]: r["main_label"] for r in read_csv(out / "index.csv")} == \
        {r["input"]: r["main_label"] for r in records}


def test_every_n_and_no_video(inputs, tmp_path):
    out = tmp_path / "out"
    analyze_paths([inputs / "sub" / "clip.avi"], out, AnalyzeOptions(every=4, no_video=True),
                  recognizer=fake_recognizer())
    folder = out / "clip_avi"
    assert [r["frame"] for r in read_csv(folder / "frames.csv")] == ["0", "4", "8"]
    assert not (folder / "annotated.mp4").exists() and not list(folder.glob(".*partial*"))


def test_rerun_skips_finished_files_unless_overwrite(inputs, tmp_path):
    out = tmp_path / "out"
    analyze_paths([inputs], out, AnalyzeOptions(), recognizer=fake_recognizer())
    again = analyze_paths([inputs], out, AnalyzeOptions(), recognizer=fake_recognizer())
    assert [r["status"] for r in again] == ["skipped"] * 3
    redo = analyze_paths([inputs], out, AnalyzeOptions(overwrite=True), recognizer=fake_recognizer())
    assert [r["status"] for r in redo] == ["done"] * 3


def test_corrupt_files_are_reported_and_the_rest_goes_on(inputs, tmp_path, tiny_model, capsys):
    (inputs / "broken.mp4").write_bytes(b"garbage")
    (inputs / "broken.png").write_bytes(b"garbage")
    out = tmp_path / "out"
    code = main(["analyze", str(inputs), str(tmp_path / "missing.avi"), "--out", str(out), "--model", str(tiny_model)])
    assert code == 1
    index = json.loads((out / "index.json").read_text())["files"]
    status = {r["input"].rsplit("/", 1)[-1]: r["status"] for r in index}
    assert status == {"a.png": "done", "b.jpg": "done", "clip.avi": "done", "broken.mp4": "failed",
                      "broken.png": "failed", "missing.avi": "failed"}
    captured = capsys.readouterr()
    assert "broken.mp4" in captured.err and "cannot read video" in captured.err and "not found" in captured.err
    # each finished input gets a one-line result in the terminal
    # (the real Haar cascade finds no face in the synthetic squares)
    assert "  a.png: no face found" in captured.out and "  clip.avi: 12 frames, no face found" in captured.out


def test_terminal_result_line_lists_label_shares_largest_first(inputs, tmp_path):
    records = analyze_paths([inputs], tmp_path / "out", AnalyzeOptions(), recognizer=fake_recognizer())
    video = next(r for r in records if r["kind"] == "video")
    top = max(video["label_share"], key=video["label_share"].get)
    assert _describe_result(video).startswith(f"12 frames, 12 face-frames: {top} ")
    image = {**video, "kind": "image", "faces": 2, "label_share": {"happy": 0.5, "sad": 0.25, "fear": 0.25}}
    assert _describe_result(image) == "2 faces: happy 50 %, sad 25 %, fear 25 %"


def test_two_workers_give_the_same_results_as_one(inputs, tmp_path, tiny_model):
    for workers in (1, 2):
        assert main(["analyze", str(inputs), "--out", str(tmp_path / f"w{workers}"), "--model", str(tiny_model),
                     "--workers", str(workers), "--no-video"]) == 0
    for name in ("in__sub__clip_avi/frames.csv", "in__a_png/faces.csv"):
        assert (tmp_path / "w1" / name).read_text() == (tmp_path / "w2" / name).read_text()
