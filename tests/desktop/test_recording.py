"""emorec.desktop.recording: where recordings and snapshots go, and the frames and times a recording gives."""

import csv
from types import SimpleNamespace

import numpy as np
import pytest

from emorec.common.errors import OutputError
from emorec.common.labels import EMOTIONS
from emorec.core.faces import Face, Faces
from emorec.desktop.recording import Recording, default_output_dir, ensure_folder


def test_default_output_folder(tmp_path):
    assert default_output_dir(tmp_path) == tmp_path / "emorec"
    (tmp_path / "Pictures").mkdir()
    assert default_output_dir(tmp_path) == tmp_path / "Pictures" / "emorec"
    assert ensure_folder(tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError, match="part of that path is a file"):
        ensure_folder(tmp_path / "f" / "b")


def recorded(tmp_path, live, indices):
    source = SimpleNamespace(live=live, fps=None if live else 10.0)
    recording = Recording(tmp_path, source, with_video=False)
    face = Face.from_probs(1, (0, 0, 10, 10), np.full(len(EMOTIONS), 1 / len(EMOTIONS)))
    for i in indices:
        recording.add(i, Faces.of([face]), None)
    [path] = recording.close()
    with open(path, newline="") as f:
        return [(int(r["frame"]), float(r["time_s"])) for r in csv.DictReader(f)]


def test_a_camera_recording_counts_frames_and_time_from_its_start(tmp_path):
    rows = recorded(tmp_path, live=True, indices=[57, 58, 59])
    assert [frame for frame, _ in rows] == [0, 1, 2]              # not the camera's frame 57
    assert all(0 <= t < 5 for _, t in rows)                       # seconds since Record


def test_a_file_recording_keeps_the_videos_own_frames_and_times(tmp_path):
    rows = recorded(tmp_path, live=False, indices=[30, 31, 0, 1])   # the video looped after frame 31
    assert rows == [(30, 3.0), (31, 3.1), (32, 3.2), (33, 3.3)]
