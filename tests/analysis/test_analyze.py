import errno
import json
import os
from dataclasses import replace
from pathlib import Path

import av
import cv2
import pytest

import emorec.analysis.analyze
import emorec.analysis.outputs
import emorec.analysis.results
from emorec.analysis.analyze import analyze_paths, collect_inputs
from emorec.analysis.analyze import describe_result as _describe_result
from emorec.analysis.outputs import AnalyzeOptions, InputRecord
from emorec.cli.main import main
from emorec.common.errors import OutputError
from emorec.common.labels import EMOTIONS
from emorec.core.detector import DetectorSettings
from emorec.core.options import RecognizerOptions
from emorec.core.recognizer import Recognizer
from emorec.core.records import H264Writer
from tests.helpers import FakeClassifier, FakeDetector, moving_square_frames, read_csv, write_video


def fake_recognizer():
    return Recognizer(detector=FakeDetector([[40, 60, 100, 100]]), classifier=FakeClassifier(),
                      settings=DetectorSettings(pad=0), smoothing=0.5)


def test_folder_is_expanded_recursively(inputs):
    found, bad = collect_inputs([inputs])
    assert sorted(p.name for p, _ in found) == ["a.png", "b.jpg", "clip.avi"] and bad == []
    assert len({k for _, k in found}) == 3
    assert collect_inputs([inputs, inputs / "a.png"])[0] == found   # named twice, analysed once


def test_images_and_video_produce_every_output(inputs, tmp_path):
    out = tmp_path / "out"
    records = analyze_paths([inputs], out, AnalyzeOptions(), recognizer=fake_recognizer())
    assert [r.status for r in records] == ["done"] * 3
    video = next(r for r in records if r.kind == "video")
    folder = out / "in__sub__clip_avi"
    assert video.folder == str(folder) and video.frames == 12
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
    # one face in 12 frames: 12 face-frames, named as such (not "faces": 12)
    assert summary["face_frames"] == summary["summary"]["overall"]["face_frames"] == 12 and "faces" not in summary
    assert (folder / "timeline.png").stat().st_size > 1000
    image_folder = out / "in__a_png"
    assert cv2.imread(str(image_folder / "annotated.png")).shape == (240, 320, 3)
    faces = read_csv(image_folder / "faces.csv")
    assert len(faces) == 1 and list(faces[0]) == list(rows[0]) and faces[0]["frame"] == "0"
    index = json.loads((out / "index.json").read_text())
    assert len(index["files"]) == 3 and len(read_csv(out / "index.csv")) == 3
    shares = summary["summary"]["overall"]["label_share"]
    assert video.main_label == max(shares, key=shares.get)
    assert video.label_share == {e: v for e, v in shares.items() if v}
    assert {r["input"]: r["main_label"] for r in read_csv(out / "index.csv")} == \
        {r.input: r.main_label for r in records}


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
    assert [r.status for r in again] == ["skipped"] * 3
    assert [r.frames for r in again] == [1, 1, 12]
    redo = analyze_paths([inputs], out, AnalyzeOptions(overwrite=True), recognizer=fake_recognizer())
    assert [r.status for r in redo] == ["done"] * 3


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
    # the index names only result folders that exist
    assert all(Path(r["folder"]).is_dir() for r in read_csv(out / "index.csv") if r["folder"])
    assert all(not r.get("folder") for r in index if r["status"] == "failed")
    assert all("frames_per_s" in r for r in index if r["status"] == "done" and r["kind"] == "video")
    captured = capsys.readouterr()
    assert "broken.mp4" in captured.err and "cannot read video" in captured.err and "not found" in captured.err
    # each finished input gets a one-line result in the terminal
    # (the real Haar cascade finds no face in the synthetic squares)
    # with the smallest face size looked for and how to find smaller ones (the frames are 320 px wide)
    # 320-wide inputs: BlazeFace's 192-px input sees faces from 12 px there, 20 px here; nothing finds smaller
    assert "  a.png: no face of 20 px or more found\n" in captured.out
    assert "  clip.avi: 12 frames, no face of 20 px or more found\n" in captured.out


def test_terminal_result_line_cannot_be_read_as_a_probability(inputs, tmp_path):
    # the pictures say "happy 92%" (a face's probability): the terminal counts faces, or shares of face-frames
    records = analyze_paths([inputs], tmp_path / "out", AnalyzeOptions(), recognizer=fake_recognizer())
    video = next(r for r in records if r.kind == "video")
    top = max(video.label_share, key=video.label_share.get)
    assert _describe_result(video).startswith(f"12 frames, 12 face-frames: labelled {top} in ")
    video = replace(video, frames=300, face_frames=290, label_share={"neutral": 0.13, "happy": 0.87})
    assert _describe_result(video) == "300 frames, 290 face-frames: labelled happy in 87 %, neutral in 13 %"
    image = replace(video, kind="image", face_frames=4, label_share={"happy": 0.5, "sad": 0.25, "fear": 0.25})
    assert _describe_result(image) == "4 faces: happy ×2, sad ×1, fear ×1"
    assert _describe_result(replace(image, face_frames=1, label_share={"sad": 1.0})) == "1 face: sad"


def test_index_lists_everything_in_the_output_folder(inputs, tmp_path):
    out = tmp_path / "out"
    analyze_paths([inputs / "sub"], out, AnalyzeOptions(), recognizer=fake_recognizer())
    analyze_paths([inputs / "a.png", tmp_path / "missing.png"], out, AnalyzeOptions(), recognizer=fake_recognizer())
    again = analyze_paths([inputs / "sub"], out, AnalyzeOptions(), recognizer=fake_recognizer())
    assert [r.status for r in again] == ["skipped", "skipped"]
    index = {r["input"].rsplit("/", 1)[-1]: r for r in json.loads((out / "index.json").read_text())["files"]}
    assert sorted(index) == ["a.png", "b.jpg", "clip.avi"]
    assert all(r["status"] == "done" and r["main_label"] and r["frames"] for r in index.values())
    assert sorted(r["folder"] for r in read_csv(out / "index.csv")) == sorted(r["folder"] for r in index.values())


def test_a_run_reads_each_finished_summary_once_and_indexes_what_it_wrote(inputs, tmp_path, monkeypatch):
    out = tmp_path / "out"
    analyze_paths([inputs / "sub"], out, AnalyzeOptions(), recognizer=fake_recognizer())
    reads, read_json = [], emorec.analysis.analyze.read_json
    monkeypatch.setattr(emorec.analysis.analyze, "read_json", lambda path: reads.append(path.parent.name) or read_json(path))
    analyze_paths([inputs / "a.png"], out, AnalyzeOptions(), recognizer=fake_recognizer())
    assert sorted(reads) == ["sub__b_jpg", "sub__clip_avi"]          # to plan the run; the index reads none again
    index = {r["folder"]: r for r in json.loads((out / "index.json").read_text())["files"]}
    assert sorted(index) == [str(out / n) for n in ("a_png", "sub__b_jpg", "sub__clip_avi")]
    summary = json.loads((out / "a_png" / "summary.json").read_text())   # this run's record, as its summary says
    assert index[str(out / "a_png")] == {k: summary[k] for k in emorec.analysis.outputs.RECORD_KEYS if k in summary}


def test_same_name_from_another_folder_gets_its_own_folder(tmp_path):
    frames = moving_square_frames(12)
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    a, b = tmp_path / "A" / "photo.png", tmp_path / "B" / "photo.png"
    cv2.imwrite(str(a), frames[0])
    cv2.imwrite(str(b), frames[11][:, ::-1])
    out = tmp_path / "out"

    def run(path):
        [record] = analyze_paths([path], out, AnalyzeOptions(), recognizer=fake_recognizer())
        return record.status, record.folder.rsplit("/", 1)[-1]

    assert run(a) == ("done", "photo_png")
    assert run(b) == ("done", "photo_png-2")
    assert run(a) == ("skipped", "photo_png") and run(b) == ("skipped", "photo_png-2")
    assert (out / "photo_png" / "faces.csv").read_text() != (out / "photo_png-2" / "faces.csv").read_text()
    cv2.imwrite(str(a), frames[6])                        # same path, new content: redone in its folder
    os.utime(a, ns=(10**18, 10**18))
    assert run(a) == ("done", "photo_png")
    assert json.loads((out / "photo_png" / "summary.json").read_text())["source"]["mtime_ns"] == 10**18
    assert len(json.loads((out / "index.json").read_text())["files"]) == 2


def test_killed_runs_temporary_files_are_cleaned_up(inputs, tmp_path):
    out = tmp_path / "out"
    (out / "clip_avi").mkdir(parents=True)
    leftovers = [out / "clip_avi" / ".frames.x1.partial.csv", out / "clip_avi" / ".annotated.x2.partial.mp4",
                 out / ".index.x3.partial.json"]
    for p in leftovers:
        p.write_bytes(b"half")
    [record] = analyze_paths([inputs / "sub" / "clip.avi"], out, AnalyzeOptions(), recognizer=fake_recognizer())
    assert record.status == "done" and not any(p.exists() for p in leftovers)


def test_a_truncated_annotated_video_fails_that_input_and_leaves_nothing(inputs, tmp_path, monkeypatch):
    write = H264Writer.write
    written = []

    def silently_stops(self, frame):
        """Like a writer on a full disk that drops frames without a word (here after 5 frames)."""
        written.append(1)
        if len(written) <= 5:
            write(self, frame)

    monkeypatch.setattr(H264Writer, "write", silently_stops)
    out = tmp_path / "out"
    records = analyze_paths([inputs], out, AnalyzeOptions(), recognizer=fake_recognizer())
    by_name = {r.input.rsplit("/", 1)[-1]: r for r in records}
    assert [by_name[n].status for n in ("a.png", "b.jpg", "clip.avi")] == ["done", "done", "failed"]
    reason = by_name["clip.avi"].reason
    assert "5 of its 12 frames" in reason and "disk is probably full" in reason
    assert not (out / "in__sub__clip_avi").exists()


def test_a_full_disk_while_encoding_fails_that_input_with_the_fix(inputs, tmp_path, monkeypatch):
    write = H264Writer.write

    def no_space_after_3(self, frame):
        self.n = getattr(self, "n", 0) + 1
        if self.n > 3:
            av.error.err_check(-errno.ENOSPC)       # what PyAV raises when the disk is full
        write(self, frame)

    monkeypatch.setattr(H264Writer, "write", no_space_after_3)
    out = tmp_path / "out"
    records = analyze_paths([inputs], out, AnalyzeOptions(), recognizer=fake_recognizer())
    video = next(r for r in records if r.input.endswith("clip.avi"))
    assert video.status == "failed" and "No space left on device" in video.reason
    assert "free some space, or pass --no-video" in video.reason
    assert not (out / "in__sub__clip_avi").exists() and not list(out.rglob("*.partial*"))


def test_annotated_videos_are_h264_that_browsers_play(inputs, tmp_path):
    analyze_paths([inputs / "sub" / "clip.avi"], tmp_path / "out", AnalyzeOptions(), recognizer=fake_recognizer())
    [video] = (tmp_path / "out").rglob("annotated.mp4")
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert sum(1 for _ in container.decode(stream)) == 12
    head = video.read_bytes()[:4096]
    assert b"moov" in head          # the index first: it plays while it downloads


def test_one_input_failing_to_write_or_crashing_fails_alone(inputs, tmp_path, monkeypatch):
    write_json, read_image = emorec.analysis.outputs.write_json, emorec.analysis.outputs.read_image

    def full_disk_for_a(path, obj):
        if path.parent.name == "in__a_png":
            raise OSError(errno.ENOSPC, "No space left on device")
        write_json(path, obj)

    def crash_on_b(path):
        if path.name == "b.jpg":
            raise ZeroDivisionError("division by zero")
        return read_image(path)

    monkeypatch.setattr(emorec.analysis.outputs, "write_json", full_disk_for_a)
    monkeypatch.setattr(emorec.analysis.outputs, "read_image", crash_on_b)
    out = tmp_path / "out"
    records = analyze_paths([inputs], out, AnalyzeOptions(), recognizer=fake_recognizer())
    by_name = {r.input.rsplit("/", 1)[-1]: r for r in records}
    assert [by_name[n].status for n in ("a.png", "b.jpg", "clip.avi")] == ["failed", "failed", "done"]
    assert "the disk is full; free some space" in by_name["a.png"].reason
    assert by_name["b.jpg"].reason == "internal error: ZeroDivisionError: division by zero. This is a bug in emorec: please report it (EMOREC_DEBUG=1 shows the details)."
    assert not (out / "in__a_png").exists()
    index = json.loads((out / "index.json").read_text())["files"]
    assert sorted(r["status"] for r in index) == ["done", "failed", "failed"]


def test_an_unusable_output_folder_is_one_clear_error(inputs, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "results.txt"
    blocker.write_text("a file, not a folder")
    assert main(["analyze", str(inputs), "--out", str(blocker)]) == 2
    assert capsys.readouterr().err == f"error: cannot write to the output folder {blocker}: a file or folder of " \
                                      "that name is in the way; choose another path.\n"
    with pytest.raises(OutputError, match="a file or folder of that name is in the way"):
        analyze_paths([inputs], blocker, AnalyzeOptions(), recognizer=fake_recognizer())
    with pytest.raises(OutputError, match="part of that path is a file"):
        analyze_paths([inputs], blocker / "out", AnalyzeOptions(), recognizer=fake_recognizer())
    write_json = emorec.analysis.analyze.write_json

    def full_disk_for_index(path, obj):
        if path.name == "index.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        write_json(path, obj)

    monkeypatch.setattr(emorec.analysis.analyze, "write_json", full_disk_for_index)
    with pytest.raises(OutputError, match="index.json: the disk is full"):
        analyze_paths([inputs / "a.png"], tmp_path / "out", AnalyzeOptions(), recognizer=fake_recognizer())


@pytest.mark.parametrize("model", ["missing.h5", "notes.txt"])
def test_a_bad_model_reads_the_same_with_two_workers(inputs, tmp_path, model, capsys):
    (tmp_path / "notes.txt").write_text("not a model")
    errors = []
    for workers in (1, 2):
        assert main(["analyze", str(inputs), "--out", str(tmp_path / f"w{workers}"), "--model", str(tmp_path / model),
                     "--workers", str(workers)]) == 2
        errors.append(capsys.readouterr().err)
    assert errors[0] == errors[1] and errors[0].startswith("error: ") and str(tmp_path / model) in errors[0]


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_during_analyze_stops_with_130_and_leaves_no_partial_files(tmp_path, workers):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    frames = [cv2.resize(f, (640, 480)) for f in moving_square_frames(20)] * 25     # 500 frames each
    clips = [write_video(tmp_path / f"clip{i}.avi", frames, fps=25) for i in range(2)]
    out = tmp_path / "out"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, str(root / "main.py"), "analyze", *map(str, clips), "--out", str(out),
                             "--workers", str(workers)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 60
    while not list(out.rglob(".*partial*")) and time.monotonic() < end and proc.poll() is None:
        time.sleep(0.05)                                       # until a video is being written
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted." in err and "Traceback" not in err
    assert not list(out.rglob(".*partial*")) and not list(out.rglob("summary.json"))
    assert [p for p in out.iterdir() if p.is_dir()] == []          # no empty <name>_avi/ folder either


def test_summary_records_the_settings_and_a_rerun_with_other_settings_redoes_it(inputs, tmp_path, caplog, capsys):
    from emorec.analysis.outputs import model_identity
    from emorec.cli.terminal import report
    clip, out = inputs / "sub" / "clip.avi", tmp_path / "out"
    analyze_paths([clip], out, AnalyzeOptions(), recognizer=fake_recognizer())
    settings = json.loads((out / "clip_avi" / "summary.json").read_text())["settings"]
    assert settings["model"] == model_identity(None) and len(settings["model"]["sha256"]) == 64
    assert settings["detector"] == {"detector": "blazeface", "min_size": None, "pad": 0.1, "align": True}
    haar = DetectorSettings(detector="haar").record()
    assert haar == {"detector": "haar", "scale_factor": 1.2, "min_neighbors": 5, "min_size": 48, "detect_width": 320,
                    "pad": 0.1, "align": True}
    assert (settings["every"], settings["tta"], settings["no_video"]) == (1, True, False)

    smaller = AnalyzeOptions(recognizer=RecognizerOptions(settings=DetectorSettings(min_size=40)))
    with caplog.at_level("INFO", logger="emorec"):
        [record] = analyze_paths([clip], out, smaller, recognizer=fake_recognizer())
    assert record.status == "done"
    assert "clip.avi: analysed again: --min-size default → 40" in caplog.messages
    assert json.loads((out / "clip_avi" / "summary.json").read_text())["settings"]["detector"]["min_size"] == 40
    caplog.clear()
    with caplog.at_level("INFO", logger="emorec"):
        records = analyze_paths([clip], out, smaller, recognizer=fake_recognizer())
    assert [r.status for r in records] == ["skipped"] and not caplog.messages
    assert report(records, out) == 0
    assert f"0 done, 1 skipped (already done with these settings; --overwrite redoes them), 0 failed; index: {out / 'index.json'}" \
        in capsys.readouterr().out
    with caplog.at_level("INFO", logger="emorec"):
        [record] = analyze_paths([clip], out, AnalyzeOptions(every=2, no_video=True), recognizer=fake_recognizer())
    assert record.status == "done"
    assert "clip.avi: analysed again: --min-size 40 → default, --every 1 → 2, --no-video added" in caplog.messages
    summary = json.loads((out / "clip_avi" / "summary.json").read_text())
    del summary["settings"]["model"]                         # as an older version wrote it
    (out / "clip_avi" / "summary.json").write_text(json.dumps(summary))
    caplog.clear()
    with caplog.at_level("INFO", logger="emorec"):
        [record] = analyze_paths([clip], out, AnalyzeOptions(every=2, no_video=True), recognizer=fake_recognizer())
    assert record.status == "done"
    assert caplog.messages == ["clip.avi: analysed again: its settings were not recorded (made by an older version)"]


def test_index_and_summary_keep_their_fields_and_order(inputs, tmp_path):
    out = tmp_path / "out"
    [record] = analyze_paths([inputs / "a.png"], out, AnalyzeOptions(), recognizer=fake_recognizer())
    summary = json.loads((out / "a_png" / "summary.json").read_text())
    # an image is one frame: no frames per second
    assert list(summary) == ["input", "kind", "folder", "status", "seconds", "frames", "face_frames",
                             "main_label", "label_share", "outputs", "size", "summary", "source", "settings", "created"]
    [row] = json.loads((out / "index.json").read_text())["files"]
    assert list(row) == ["input", "kind", "folder", "status", "seconds", "frames", "face_frames",
                         "main_label", "label_share", "outputs"]
    assert row == record.as_dict() and record.width == 320
    missing = analyze_paths([inputs / "a.png", tmp_path / "gone.png"], out, AnalyzeOptions(),
                            recognizer=fake_recognizer())[0]
    assert missing.as_dict() == {"input": str(tmp_path / "gone.png"), "kind": "image", "folder": "",
                                 "status": "failed", "reason": "not found"}


@pytest.mark.parametrize("paths", [["missing.jpg"], ["notes.txt"], ["empty"]])
def test_nothing_to_analyse_exits_2_and_creates_no_output_folder(tmp_path, monkeypatch, capsys, paths):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not media")
    (tmp_path / "empty").mkdir()
    assert main(["analyze", *paths, "--out", "r"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: nothing to analyse: {paths[0]}: ") and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


class Interrupting:
    """A recognizer that is interrupted (Ctrl-C) at its ``n``th frame."""
    def __init__(self, n):
        self.inner, self.n, self.calls = fake_recognizer(), n, 0

    def reset(self):
        self.inner.reset()

    def __call__(self, frame):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return self.inner(frame)


def test_ctrl_c_during_a_video_leaves_no_folder(inputs, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        analyze_paths([inputs / "sub" / "clip.avi"], out, AnalyzeOptions(), recognizer=Interrupting(5))
    assert list(out.iterdir()) == []


def test_the_fast_model_is_chosen_by_name_from_any_folder(tmp_path, monkeypatch, capsys):
    """Issue 21: `--model model/fast` picks the shipped small network in every command, also where the current
    folder has no model/ (an installed emorec run from anywhere)."""
    from emorec.common.labels import FAST_MODEL_DIR
    from tests.helpers import astronaut
    monkeypatch.chdir(tmp_path)
    cv2.imwrite("photo.jpg", astronaut())
    assert main(["analyze", "photo.jpg", "--out", "r", "--model", "model/fast"]) == 0
    assert "photo.jpg: 1 face: happy" in capsys.readouterr().out
    summary = json.loads((tmp_path / "r" / "photo_jpg" / "summary.json").read_text())
    assert summary["settings"]["model"]["path"] == str((FAST_MODEL_DIR / "emotion_cnn.h5").resolve())


def test_a_summary_written_before_face_frames_had_its_name_still_gives_its_count():
    record = InputRecord.from_summary({"input": "a.mp4", "kind": "video", "status": "done", "frames": 10, "faces": 9})
    assert record.face_frames == 9 and "faces" not in record.as_dict()
