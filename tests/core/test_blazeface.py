"""BlazeFace: anchors, decoding (against boxes checked by eye on the astronaut photo), weighted NMS, the
registry, eye levelling, and bad files and frames."""

import math
import shutil

import cv2
import numpy as np
import pytest

from emorec.common.errors import DetectorError
from emorec.core.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFaceModel, anchor_centres, decode, weighted_nms
from emorec.core.boxes import crop_faces, eye_roll
from emorec.core.detector import (
    DETECTORS,
    BlazeFaceDetector,
    Detector,
    DetectorSettings,
    HaarDetector,
    detect,
    make_detector,
)
from emorec.core.faces import Faces
from emorec.core.recognizer import Recognizer
from tests.helpers import FakeClassifier, astronaut


@pytest.fixture(scope="module")
def blazeface():
    return make_detector(DetectorSettings(detector="blazeface"))


def test_anchor_layouts_match_the_networks_outputs():
    full = anchor_centres(FULL_RANGE.size, FULL_RANGE.strides, FULL_RANGE.anchors_per_layer)
    short = anchor_centres(SHORT_RANGE.size, SHORT_RANGE.strides, SHORT_RANGE.anchors_per_layer)
    assert full.shape == (2304, 2) and short.shape == (896, 2)
    # full-range: a 48×48 grid, row by row; short-range: 16×16 cells × 2 anchors, then 8×8 × 6
    np.testing.assert_allclose(full[:2], [[0.5 / 48, 0.5 / 48], [1.5 / 48, 0.5 / 48]])
    np.testing.assert_allclose(full[48], [0.5 / 48, 1.5 / 48])
    np.testing.assert_allclose(short[0], short[1])
    np.testing.assert_allclose(short[512:518], np.repeat([[0.5 / 8, 0.5 / 8]], 6, axis=0))


def test_decode_turns_offsets_into_boxes_and_keypoints_around_their_anchor():
    anchors = np.array([[0.5, 0.5], [0.25, 0.75]], np.float32)
    raw = np.zeros((2, 16), np.float32)
    raw[0, :4] = [19.2, -9.6, 96, 48]        # centre +0.1, -0.05 of the 192 input; 0.5 × 0.25 in size
    raw[0, 4:6] = [-19.2, 0]                 # right eye 0.1 left of the anchor
    boxes, scores, keypoints = decode(raw, np.array([5.0, -5.0]), anchors, 192, 0.5)
    assert len(boxes) == 1 and scores[0] == pytest.approx(1 / (1 + math.exp(-5)))
    np.testing.assert_allclose(boxes[0], [0.35, 0.325, 0.85, 0.575], atol=1e-6)
    np.testing.assert_allclose(keypoints[0, 0], [0.4, 0.5], atol=1e-6)
    np.testing.assert_allclose(keypoints[0, 1:], np.repeat([[0.5, 0.5]], 5, axis=0), atol=1e-6)


def test_weighted_nms_merges_overlaps_with_score_weights_and_keeps_the_rest():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.3, 0.8], np.float32)
    keypoints = np.zeros((3, 6, 2), np.float32)
    keypoints[1] += 4
    b, s, k = weighted_nms(boxes, scores, keypoints)
    assert len(b) == 2 and list(s) == pytest.approx([0.9, 0.8])
    np.testing.assert_allclose(b[0], [0.25, 0, 10.25, 10])        # (0.9 × 0 + 0.3 × 1) / 1.2
    np.testing.assert_allclose(k[0], np.full((6, 2), 1.0))         # 0.3 × 4 / 1.2
    np.testing.assert_allclose(b[1], boxes[2])
    assert weighted_nms(boxes[:0], scores[:0], keypoints[:0])[0].shape == (0, 4)


def test_finds_the_astronaut_where_it_was_checked_by_eye(blazeface):
    # Drawn and looked at: BlazeFace's own box 172,66 106×106 (brow to chin, ear to ear); the keypoints on
    # the eyes, nose tip, mouth and ears; Haar's box on the same photo 174,64 101×101.
    image = astronaut()
    raw, scores, keypoints = BlazeFaceModel(FULL_RANGE).detect(image)
    assert len(raw) == 1 and scores[0] > 0.85
    np.testing.assert_allclose(raw[0], [172, 66, 106, 106], atol=3)
    np.testing.assert_allclose(keypoints[0, :4], [[202, 103], [248, 106], [223, 132], [221, 149]], atol=4)
    found = blazeface.detect(image)
    haar = HaarDetector()(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    np.testing.assert_allclose(found.boxes[0], haar[0], atol=4)    # framed as Haar frames it
    assert eye_roll(found.eyes[0]) == pytest.approx(4.2, abs=1.5)


def test_finds_rolled_and_small_faces_that_haar_misses(blazeface):
    image = astronaut()
    haar = HaarDetector()
    rolled = cv2.warpAffine(image, cv2.getRotationMatrix2D((225, 120), 30, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REPLICATE)
    assert len(haar(cv2.cvtColor(rolled, cv2.COLOR_BGR2GRAY))) == 0
    found = blazeface.detect(rolled)
    assert len(found.boxes) == 1 and eye_roll(found.eyes[0]) == pytest.approx(-26, abs=6)
    frame = np.full((480, 640, 3), 120, np.uint8)
    small = cv2.resize(image[:260], None, fx=40 / 95, fy=40 / 95, interpolation=cv2.INTER_AREA)
    frame[100:100 + small.shape[0], 100:100 + small.shape[1]] = small
    assert len(haar(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))) == 0
    assert len(blazeface(frame)) == 1


def test_no_false_boxes_on_face_free_frames(blazeface):
    rng = np.random.default_rng(0)
    for frame in (np.zeros((480, 640, 3), np.uint8), rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),
                  cv2.resize(astronaut()[300:, 300:], (640, 480))):     # the helmet and suit, no face
        assert len(blazeface(frame)) == 0


def test_the_registry_names_every_detector_and_refuses_unknown_ones():
    assert set(DETECTORS) >= {"haar", "blazeface"}
    assert isinstance(make_detector(DetectorSettings(detector="haar")), HaarDetector)
    with pytest.raises(DetectorError, match="unknown detector 'yolo'; choose one of haar, blazeface"):
        make_detector(DetectorSettings(detector="yolo"))


def test_the_recognizer_takes_a_name_or_any_object_that_meets_the_protocol():
    rec = Recognizer(detector="blazeface", classifier=FakeClassifier())
    assert isinstance(rec.detector, BlazeFaceDetector) and rec.settings.detector == "blazeface"
    faces = rec.image(astronaut())
    assert len(faces) == 1

    class OneBox:
        def __call__(self, gray):
            return np.array([[10, 10, 30, 30]])
    assert isinstance(OneBox(), Detector)
    assert detect(OneBox(), np.zeros((64, 64), np.uint8)).boxes.tolist() == [[10, 10, 30, 30]]
    assert [f.box for f in Recognizer(detector=OneBox(), classifier=FakeClassifier()).image(
        np.zeros((64, 64, 3), np.uint8))] == [(7, 7, 36, 36)]


@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 3), (3000, 4000, 3), (480, 640), (480, 640, 4), (480, 640, 1)])
def test_frames_of_any_accepted_size_and_layout(blazeface, shape):
    rec = Recognizer(detector=blazeface, classifier=FakeClassifier())
    assert rec.image(np.full(shape, 128, np.uint8)) == []
    assert rec(np.full(shape, 128, np.uint8)) == []


def test_gray_and_bgra_frames_find_the_face(blazeface):
    rec = Recognizer(detector=blazeface, classifier=FakeClassifier())
    image = astronaut()
    assert len(rec.image(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))) == 1
    assert len(rec.image(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))) == 1


def test_a_missing_or_corrupt_detector_file_names_it_and_the_fix(tmp_path):
    with pytest.raises(DetectorError, match=r"face_detection_full_range_sparse.tflite is missing.*git checkout"):
        BlazeFaceModel(FULL_RANGE, tmp_path / "face_detection_full_range_sparse.tflite")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model")
    with pytest.raises(DetectorError, match="bad.tflite could not be loaded"):
        BlazeFaceModel(FULL_RANGE, bad)
    other = tmp_path / "short.tflite"
    shutil.copy(SHORT_RANGE.path, other)
    with pytest.raises(DetectorError, match="is not BlazeFace full-range"):
        BlazeFaceModel(FULL_RANGE, other)


def test_eye_roll_and_levelled_crops():
    assert eye_roll([[10, 10], [20, 10]]) == 0
    assert eye_roll([[10, 10], [20, 20]]) == pytest.approx(45)
    assert np.isnan(Faces.of_boxes([[0, 0, 4, 4]]).eyes).all()
    # a bar through two "eyes" 30° off level: levelled, it lies along the crop's rows
    frame = np.zeros((200, 200), np.uint8)
    c, r = np.array([100, 100]), 40
    d = np.array([math.cos(math.radians(30)), math.sin(math.radians(30))])
    cv2.line(frame, tuple((c - r * d).astype(int)), tuple((c + r * d).astype(int)), 255, 5)
    eyes = np.array([[c - r * d, c + r * d]])
    box = np.array([[50, 50, 100, 100]])
    plain, level = crop_faces(frame, box)[0], crop_faces(frame, box, eyes)[0]
    assert (level[24] > 128).sum() > 30 and (plain[24] > 128).sum() < 15
    np.testing.assert_array_equal(crop_faces(frame, box, Faces.of_boxes(box).eyes)[0], plain)


def test_a_near_search_finds_the_face_where_it_was_framed_like_a_full_scan(blazeface):
    from emorec.core.detector import NEAR_MAX_FACES
    from emorec.core.tracking import iou_matrix
    image = astronaut()
    full = blazeface.detect(image)
    near = blazeface.near(image, full.boxes + [6, -4, 0, 0])          # the face moved a little since
    assert len(near.boxes) == 1 and iou_matrix(near.boxes, full.boxes)[0, 0] > 0.85
    np.testing.assert_allclose(near.eyes, full.eyes, atol=4)           # its eyes come too, for the alignment
    blank = np.full_like(image, 90)
    assert len(blazeface.near(blank, full.boxes).boxes) == 0           # no face there
    assert len(blazeface.near(image, np.zeros((0, 4), int)).boxes) == 0
    many = np.repeat(full.boxes, NEAR_MAX_FACES + 1, axis=0)           # more faces: one full scan instead
    np.testing.assert_array_equal(blazeface.near(image, many).boxes, full.boxes)


def test_a_blazeface_stream_follows_faces_with_near_searches():
    """Near searches (short-range network around each face) between full scans, against a full scan on every
    frame, on faces that move, change size, enter and leave (tests/core/test_detector.py's frames)."""
    from emorec.core.tracking import iou_matrix
    from tests.core.test_detector import moving_faces
    frames = moving_faces()
    flat = lambda crops: np.full((len(crops), 7), 1 / 7, np.float32)
    full_rec = Recognizer(classifier=flat, full_scan_every=1)
    full = [full_rec.boxes(f) for f in frames]
    following = Recognizer(classifier=flat)
    followed, scans = [], []
    for f in frames:
        followed.append(following.boxes(f))
        scans.append(following.last_scan)
    assert scans.count("near") >= 40 and scans.count("full") >= 6
    found = [iou_matrix(a, b).max(axis=1) if len(b) else np.zeros(len(a)) for a, b in zip(full, followed)]
    hits = np.concatenate(found)
    assert len(hits) >= 80 and np.mean(hits > 0.5) >= 0.95 and np.mean(hits[hits > 0.5]) >= 0.9


def test_shrinking_by_halves_stays_close_to_one_area_resize():
    from emorec.core.blazeface import shrink
    frame = astronaut()
    for size in ((192, 192), (192, 144), (100, 75), (511, 300)):
        fast = shrink(frame, *size).astype(int)
        exact = cv2.resize(frame, size, interpolation=cv2.INTER_AREA).astype(int)
        assert fast.shape == exact.shape and np.abs(fast - exact).mean() < 2.5
