import numpy as np
import pytest

from emorec.common.errors import DetectorError
from emorec.core.detector import DETECTOR_NAMES, DETECTORS, DetectorSettings, HaarDetector


def test_every_detector_a_flag_offers_is_registered_and_no_other():
    assert set(DETECTORS) == set(DETECTOR_NAMES)


def test_blank_frame_has_no_faces():
    assert len(HaarDetector()(np.zeros((480, 640), np.uint8))) == 0


def test_missing_cascade_fails_loudly(tmp_path):
    (tmp_path / "bad.xml").write_text("<opencv_storage></opencv_storage>")
    for path in (tmp_path / "none.xml", tmp_path / "bad.xml"):
        with pytest.raises(DetectorError, match="could not load the Haar cascade"):
            HaarDetector(path)


def test_finds_the_astronauts_face_at_full_and_reduced_detection_size():
    data = pytest.importorskip("skimage.data", reason="scikit-image (requirements-dev.txt) ships the test photo")
    import cv2
    gray = cv2.cvtColor(cv2.resize(data.astronaut(), (640, 640)), cv2.COLOR_RGB2GRAY)[80:560]
    for width in (0, 320):
        boxes = HaarDetector(settings=DetectorSettings(detect_width=width))(gray)
        assert len(boxes) == 1
        x, y, w, h = boxes[0]
        assert 200 < x + w / 2 < 330 and 30 < y + h / 2 < 200 and w > 60   # her face, upper middle


def moving_faces(n=60):
    """640×480 gray frames: a face drifting right while it grows and shrinks; a second face enters at
    frame 20 and leaves at 50. Faces are cut from the astronaut photo."""
    import cv2
    from skimage import data
    head = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[0:300, 80:380]
    second = cv2.resize(head, (260, 260))
    frames = []
    for i in range(n):
        f = np.full((480, 640), 90, np.uint8)
        size = int(280 + 40 * np.sin(2 * np.pi * i / n))
        x, y = int(10 + 100 * i / n), int(35 + 30 * np.sin(4 * np.pi * i / n))
        f[y:y + size, x:x + size] = cv2.resize(head, (size, size))[:480 - y, :640 - x]
        if 20 <= i < 50:                      # appears at once, drifts left, vanishes
            gx = 370 - 2 * (i - 20)
            f[210:470, gx:gx + 260] = second
        frames.append(f)
    return frames


def test_a_near_search_finds_the_face_where_it_was_and_nothing_elsewhere():
    from emorec.core.tracking import iou_matrix
    frame = moving_faces(1)[0]
    det = HaarDetector()
    [full] = det(frame)
    near = det.near(frame, [full + [6, -4, 0, 0]])           # the face moved a little since
    assert len(near) == 1 and iou_matrix(near, [full])[0, 0] > 0.85
    assert len(det.near(frame, [[500, 300, 100, 100]])) == 0    # no face there
    assert len(det.near(frame, np.zeros((0, 4), int))) == 0


def test_following_faces_finds_what_full_scans_find():
    """Near searches between full scans (every 10th frame) against a full scan on every frame, on faces that
    move, change size, enter and leave: measured recall 0.96 and mean IoU 0.95 (the misses are a face the
    cascade itself finds only on some frames; Haar boxes jitter by about as much from frame to frame).
    Measured with min_size 80: at the default 48 the full scans also find faces in these frames that the
    cascade finds only now and then, which a near search picks up at the next full scan (recall 0.92)."""
    from emorec.core.detector import DetectorSettings
    from emorec.core.recognizer import Recognizer
    from emorec.core.tracking import iou_matrix

    def boxes_of(rec):
        return [rec.boxes(f) for f in frames]

    frames = moving_faces()
    flat = lambda crops: np.full((len(crops), 7), 1 / 7, np.float32)
    settings = DetectorSettings(detector="haar", min_size=80)
    full = boxes_of(Recognizer(classifier=flat, full_scan_every=1, settings=settings))
    following = Recognizer(classifier=flat, settings=settings)
    followed = boxes_of(following)
    found = [iou_matrix(a, b).max(axis=1) if len(b) else np.zeros(len(a)) for a, b in zip(full, followed)]
    hits = np.concatenate(found)
    assert len(hits) >= 60 and np.mean(hits > 0.5) >= 0.95 and np.mean(hits[hits > 0.5]) >= 0.93
    first_two = next(i for i, b in enumerate(full) if len(b) == 2)        # the second face, to a full scan
    assert any(len(b) == 2 for b in followed[first_two:first_two + 10])   # found by the next full scan
