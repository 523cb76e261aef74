import numpy as np
import pytest

from emorec.common.labels import EMOTIONS
from emorec.core.detector import DetectorSettings
from emorec.core.recognizer import Face, Recognizer
from tests.helpers import FakeClassifier, FakeDetector


def make(detector, **kw):
    return Recognizer(detector=detector, classifier=FakeClassifier(), settings=DetectorSettings(pad=0), **kw)


def test_no_face_gives_an_empty_list():
    rec = make(FakeDetector([]))
    assert rec(np.zeros((480, 640, 3), np.uint8)) == []


def test_faces_have_int_boxes_all_probabilities_label_and_id():
    frame = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    faces = make(FakeDetector([[10, 20, 60, 60], [150, 40, 80, 80]]), smoothing=0)(frame)
    assert len(faces) == 2 and all(isinstance(f, Face) for f in faces)
    for f in faces:
        assert all(isinstance(v, int) for v in f.box)
        assert list(f.probs) == list(EMOTIONS) and sum(f.probs.values()) == pytest.approx(1, abs=1e-5)
        assert f.label == max(f.probs, key=f.probs.get) and f.confidence == f.probs[f.label]
    assert faces[0].id != faces[1].id


def test_boxes_are_clipped_at_the_frame_edge():
    faces = make(FakeDetector([[-30, 200, 100, 100]]))(np.zeros((240, 320, 3), np.uint8))
    x, y, w, h = faces[0].box
    assert x == 0 and y == 200 and w == 70 and h == 40


@pytest.mark.parametrize("tta, batch", [(True, 6), (False, 3)])
def test_all_faces_of_a_frame_go_in_one_batched_call(tta, batch):
    rec = make(FakeDetector([[0, 0, 40, 40], [50, 0, 40, 40], [100, 0, 40, 40]]), tta=tta)
    rec(np.zeros((200, 200, 3), np.uint8))
    assert rec.classifier.batches == [batch]


class LeftHalfClassifier:
    """Scores from the left half only, so a face and its mirror image get different probabilities."""

    def __call__(self, faces):
        left = faces[:, :, :24].reshape(len(faces), -1).mean(1) / 255
        logits = np.stack([left * (k + 1) for k in range(7)], 1)
        e = np.exp(logits)
        return (e / e.sum(1, keepdims=True)).astype(np.float32)


def test_tta_averages_each_face_with_its_mirror_image():
    clf = LeftHalfClassifier()
    faces = np.zeros((2, 48, 48), np.uint8)
    faces[0, :, :24] = 255                      # bright left half
    faces[1, :, 24:] = 200                      # bright right half
    with_tta = Recognizer(detector=FakeDetector([]), classifier=clf, tta=True).classify(faces)
    plain = Recognizer(detector=FakeDetector([]), classifier=clf, tta=False).classify(faces)
    mirrored = clf(np.ascontiguousarray(faces[:, :, ::-1]))
    assert not np.allclose(plain, mirrored)
    assert np.allclose(with_tta, (plain + mirrored) / 2)
    assert np.allclose(with_tta.sum(1), 1, atol=1e-6)
    assert np.allclose(with_tta, Recognizer(detector=FakeDetector([]), classifier=clf).classify(faces[:, :, ::-1]))


def test_batched_classify_equals_per_face_classify():
    rec = make(FakeDetector([]))
    crops = np.random.default_rng(2).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    assert np.allclose(rec.classify(crops), np.concatenate([rec.classify(c[None]) for c in crops]))


def test_ids_stable_over_frames_and_detect_every_reuses_boxes():
    det = FakeDetector(*[[[20 + 3 * i, 30, 60, 60]] for i in range(10)])
    rec = make(det, detect_every=3)
    ids = [rec(np.zeros((240, 320, 3), np.uint8))[0].id for _ in range(9)]
    assert len(set(ids)) == 1 and det.calls == 3


def test_gray_frames_are_accepted_and_reset_forgets_tracks():
    rec = make(FakeDetector([[0, 0, 40, 40]], [[0, 0, 40, 40], [50, 50, 40, 40]]), smoothing=0.9)
    gray = np.random.default_rng(0).integers(0, 256, (100, 100), dtype=np.uint8)
    first = rec(gray)[0]
    assert [f.id for f in rec(gray)] == [1, 2]
    rec.reset()
    again = rec(np.zeros((100, 100), np.uint8))[0]
    assert again.id == 1 and again.probs != first.probs      # a fresh track: no smoothing with the old one


def test_default_recognizer_runs_the_real_model_and_cascade(tiny_model):
    rec = Recognizer(tiny_model)
    assert rec(np.zeros((480, 640, 3), np.uint8)) == []
    probs = rec.classify(np.zeros((2, 48, 48), np.uint8))
    assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)


@pytest.mark.parametrize("frame, message", [
    (None, "is None"),
    (np.zeros((0, 0, 3), np.uint8), "is empty"),
    (np.zeros((48, 64, 3), np.float32), "float32.*ambiguous"),
    (np.full((48, 64), 300, np.uint16), "values 300..300"),
    (np.zeros((48, 64, 3), bool), "dtype bool"),
    (np.zeros((2, 48, 64, 3), np.uint8), r"shape \(2, 48, 64, 3\)"),
    (np.zeros((48, 64, 2), np.uint8), r"shape \(48, 64, 2\)"),
    ([[1, 2], [3]], "not a regular array"),
])
def test_bad_frames_are_refused_naming_the_expected_dtype_and_shape(frame, message):
    from emorec.common.errors import InputError
    with pytest.raises(InputError, match=message) as e:
        make(FakeDetector([]))(frame)
    assert "H×W×3 uint8 BGR" in str(e.value)


def test_frames_that_are_unambiguous_are_accepted():
    rec = make(FakeDetector([[0, 0, 40, 40]]), smoothing=0)
    gray = np.random.default_rng(1).integers(0, 256, (60, 80), dtype=np.uint8)
    expected = rec(gray)[0].probs
    for frame in (gray[..., None], gray.astype(np.int32), gray.tolist(), np.dstack([gray] * 3),
                  np.dstack([gray] * 3 + [np.full_like(gray, 255)])):
        rec.reset()
        assert rec(frame)[0].probs == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("crops, message", [
    (np.full((2, 48, 48), 0.5, np.float32), "float32.*ambiguous"),
    (np.full((2, 48, 48), 256, np.int32), "values 256..256"),
    (np.full((2, 48, 48), np.nan), "float64"),
    (np.zeros((2, 32, 32), np.uint8), r"shape \(2, 32, 32\).*to_face48"),
])
def test_bad_crops_are_refused_instead_of_silently_cast(crops, message):
    from emorec.common.errors import InputError
    with pytest.raises(InputError, match=message):
        make(FakeDetector([])).classify(crops)


def test_one_crop_gives_one_row_of_probabilities():
    rec = make(FakeDetector([]))
    crop = np.random.default_rng(3).integers(0, 256, (48, 48), dtype=np.uint8)
    probs = rec.classify(crop)
    assert probs.shape == (7,) and np.allclose(probs, rec.classify(crop[None])[0])
    assert np.allclose(rec.classify(crop[None, :, :, None]), rec.classify(crop[None]))
    assert rec.classify([]).shape == (0, 7)


class NearDetector(FakeDetector):
    """A fake detector that can also search near known boxes; records which kind of search ran."""

    def __init__(self, *sequence, near=None):
        super().__init__(*sequence)
        self.near_result, self.kinds = near, []

    def __call__(self, gray):
        self.kinds.append("full")
        return super().__call__(gray)

    def near(self, gray, boxes):
        self.kinds.append("near")
        result = np.asarray(boxes if self.near_result is None else self.near_result, int).reshape(-1, 4)
        return result


def test_full_scans_every_nth_detection_and_near_searches_in_between():
    det = NearDetector([[20, 20, 60, 60]])
    rec = make(det, full_scan_every=3)
    for _ in range(7):
        assert len(rec(np.zeros((200, 200, 3), np.uint8))) == 1
    assert det.kinds == ["full", "near", "near", "full", "near", "near", "full"]
    plain = make(FakeDetector([[20, 20, 60, 60]]), full_scan_every=3)    # a detector without near: always full
    assert plain.full_scan_every == 1


def test_a_face_the_near_search_misses_is_carried_once_and_a_full_scan_looks_again():
    det = NearDetector([[20, 20, 60, 60]], [], near=[])      # the face is gone after the first frame
    rec = make(det, full_scan_every=10, carry=1)
    frame = np.zeros((200, 200, 3), np.uint8)
    ids = [[f.id for f in rec(frame)] for _ in range(4)]
    assert ids == [[1], [1], [], []]
    assert det.kinds == ["full", "near", "full", "full"]      # lost → full scan; nothing known → full scan
