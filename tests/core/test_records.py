"""emorec.core.records: the per-face CSV and the annotated video appear only complete, or not at all."""

import csv

import numpy as np
import pytest

from emorec.common.errors import OutputError
from emorec.core.faces import Face, Faces
from emorec.core.records import CSV_COLUMNS, AnnotatedVideo, FaceCsv


def face(track=1):
    return Face.from_probs(track, (10, 20, 30, 30), np.eye(7)[3] * 0.9 + 0.1 / 7)


def test_a_face_csv_appears_under_its_name_only_when_committed(tmp_path):
    path = tmp_path / "faces.csv"
    with FaceCsv(path) as out:
        out.add(0, 0.0, Faces.of([face(1), face(2)]))
        out.add(1, 0.04, Faces.of([]))
        out.add(2, 0.08, Faces.of([face(1)]))
        assert not path.exists()
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == CSV_COLUMNS and out.rows == 3 and len(rows) == 4
    assert [r[:3] for r in rows[1:]] == [["0", "0.000", "1"], ["0", "0.000", "2"], ["2", "0.080", "1"]]
    assert all(len(r) == len(CSV_COLUMNS) for r in rows)


def test_a_face_csv_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "faces.csv"
    path.write_text("the previous run's rows\n")
    with pytest.raises(RuntimeError), FaceCsv(path) as out:
        out.add(0, 0.0, Faces.of([face()]))
        raise RuntimeError("the recognizer failed midway")
    assert path.read_text() == "the previous run's rows\n" and list(tmp_path.iterdir()) == [path]


def test_a_face_csv_in_a_folder_that_cannot_exist_is_an_output_error(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OutputError, match="a_file"):
        FaceCsv(tmp_path / "a_file" / "faces.csv")


def test_an_annotated_video_holds_every_frame_written(tmp_path):
    path = tmp_path / "annotated.mp4"
    with AnnotatedVideo(path, fps=10) as video:
        for i in range(5):
            video.write(np.full((48, 64, 3), 40 * i, np.uint8))
        assert not path.exists()
    import cv2
    cap = cv2.VideoCapture(str(path))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5 and list(tmp_path.iterdir()) == [path]
    cap.release()
