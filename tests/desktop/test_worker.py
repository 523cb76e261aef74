"""The window's worker thread without a display: FrameWorker driven directly, with fake detector and classifier."""

import csv
import queue
import time

import pytest

from emorec.common.errors import OutputError, SourceError
from emorec.core.records import CSV_COLUMNS, FaceCsv
from emorec.desktop import worker as worker_module
from emorec.desktop.worker import (
    FrameWorker,
    Kind,
    Loop,
    Mirror,
    Pause,
    Reprocess,
    Select,
    StartRecording,
    StopRecording,
)
from tests.helpers import CountingRecognizer, moving_square_frames, write_video


class Run:
    """A started FrameWorker with helpers to wait for its results and messages."""

    def __init__(self, source, recognizer=None, **kw):
        self.recognizer = recognizer or CountingRecognizer()
        self.results, self.messages, self.log = queue.Queue(maxsize=1), queue.Queue(), []
        self.worker = FrameWorker(self.recognizer, source, self.results, self.messages, **kw)
        self.worker.start()

    def send(self, command):
        self.worker.commands.put(command)

    def message(self, kind, timeout=5.0):
        """The text of the next message of ``kind`` (a :class:`Kind` or its value; earlier ones of other kinds go
        to ``log``)."""
        kind = Kind(kind)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                message = self.messages.get(timeout=0.05)
            except queue.Empty:
                continue
            self.log.append((message.kind.value, message.text))
            if message.kind == kind:
                return message.text
        pytest.fail(f"no {kind!r} message; got {self.log}")

    def result(self, timeout=5.0):
        return self.results.get(timeout=timeout)

    def finish(self):
        self.worker.stop()
        self.worker.join(5)
        assert not self.worker.is_alive()


@pytest.fixture
def video(tmp_path):
    return str(write_video(tmp_path / "clip.avi", moving_square_frames(10), fps=100))


def test_a_recording_that_cannot_start_is_reported_and_frames_keep_coming(video, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    run = Run(video, loop=True)
    run.result()
    run.send(StartRecording(tmp_path / "file" / "out", False))
    text = run.message("record-failed")
    assert text.startswith("recording not started: cannot create the folder") and "part of that path is a file" in text
    for _ in range(3):
        run.result()
    assert run.worker.is_alive()
    run.finish()


def test_a_recording_that_fails_midway_is_stopped_and_its_temporary_file_removed(video, tmp_path, monkeypatch):
    def full_disk(self, frame, time_s, faces):
        raise OutputError(f"cannot write {self.path}: the disk is full.")

    run = Run(video, loop=True)
    run.result()
    monkeypatch.setattr(FaceCsv, "add", full_disk)
    run.send(StartRecording(tmp_path / "out", False))
    assert run.message("record-failed").startswith("recording stopped: cannot write")
    run.result()
    run.result()
    assert list((tmp_path / "out").iterdir()) == []        # neither the CSV nor its temporary file
    run.finish()


def test_recordings_use_the_face_csv_with_the_video_timestamps(video, tmp_path):
    run = Run(video)
    run.send(StartRecording(tmp_path, True))
    path = run.message("recording")
    assert run.message("end") == f"end of {video}"
    saved = run.message("saved").split(", ")            # the end of the video closes the recording
    assert saved[0] == path and saved[1].endswith(".mp4")
    rows = list(csv.DictReader(open(path)))
    assert list(rows[0]) == CSV_COLUMNS and rows[-1]["frame"] == "9"
    assert all(float(r["time_s"]) == pytest.approx(int(r["frame"]) / 100, abs=1e-3) for r in rows)
    run.finish()


def test_an_exception_from_the_recognizer_becomes_a_one_line_message(video):
    run = Run(video, CountingRecognizer(ZeroDivisionError("division by zero")))
    assert run.message("error") == "internal error: ZeroDivisionError: division by zero. This is a bug in emorec: please report it (EMOREC_DEBUG=1 shows the details)."
    run.worker.join(5)
    assert not run.worker.is_alive()


def test_source_errors_are_messages(tmp_path, monkeypatch):
    run = Run(str(tmp_path / "missing.mp4"))
    assert run.message("error").startswith("video not found")

    class DyingCamera:
        name, live, fps, frame_count = "camera 0", True, 30.0, None

        def __init__(self):
            self.reads, self.closed = 0, False

        def read(self):
            self.reads += 1
            if self.reads > 2:
                raise SourceError("camera 0 stopped delivering frames")
            return moving_square_frames(1)[0]

        def close(self):
            self.closed = True

    camera = DyingCamera()
    monkeypatch.setattr(worker_module, "open_source", lambda spec: camera)
    run = Run(0)
    assert run.message("error") == "camera 0 stopped delivering frames"
    run.worker.join(5)
    assert camera.closed


def test_a_still_is_recognized_once_and_again_only_when_a_setting_changes(image):
    run = Run(image, loop=True)
    assert run.message("still") == image
    first = run.result()
    assert first.still
    with pytest.raises(queue.Empty):
        run.results.get(timeout=0.3)                     # no second pass over the same picture
    assert run.recognizer.calls == 1
    run.send(Mirror(True))
    mirrored = run.result()
    assert run.recognizer.calls == 2 and (mirrored.bgr[110, 259] == 200).all()
    run.send(Select(mirrored.faces[0].id))
    selected = run.result()                              # redrawn with a thicker box, not recognized again
    assert run.recognizer.calls == 2 and (selected.bgr != mirrored.bgr).any()
    run.send(Reprocess())
    run.result()
    assert run.recognizer.calls == run.recognizer.stills == 3   # a still is not a stream: Recognizer.image
    run.finish()


def test_commands_pause_loop_and_stop(video):
    run = Run(video)
    run.result()
    run.send(Pause(True))
    time.sleep(0.1)
    calls = run.recognizer.calls
    with pytest.raises(queue.Empty):
        while True:
            run.results.get_nowait()                     # what came before the pause
    with pytest.raises(queue.Empty):
        run.results.get(timeout=0.2)
    assert run.recognizer.calls == calls
    run.send(Pause(False))
    run.message("end")                                   # not looping: the video ends
    assert run.result().frame == 9
    run.send(Loop(True))                               # ticking Loop after the end starts it again
    assert run.message("source") == video
    assert run.result().frame < 9
    t0 = time.monotonic()
    run.finish()
    assert time.monotonic() - t0 < 2


def test_an_unknown_command_is_reported(video):
    run = Run(video, loop=True)
    run.send("fly")                                      # not a command record
    assert "unknown command 'fly'" in run.message("error")


def test_a_recording_across_a_video_loop_keeps_its_frame_numbers_unique_and_increasing(tmp_path):
    video = str(write_video(tmp_path / "clip.avi", moving_square_frames(5), fps=100))
    run = Run(video, loop=True)
    run.send(StartRecording(tmp_path, False))
    path = run.message("recording")
    for _ in range(12):                                  # the 5-frame video loops: 0…4, 0…4, 0…
        run.result()
    run.send(StopRecording())
    assert run.message("saved") == path
    rows = list(csv.DictReader(open(path)))
    numbers = [int(r["frame"]) for r in rows]
    assert len(numbers) >= 12 and numbers == sorted(set(numbers))      # unique, increasing: …, 4, 5, 6, …
    assert all(float(r["time_s"]) == pytest.approx(int(r["frame"]) / 100, abs=1e-3) for r in rows)
    run.finish()
