import numpy as np
import pytest

from emorec.detector import DetectorSettings
from emorec.labels import EMOTIONS
from emorec.recognizer import Face, Recognizer

from conftest import FakeClassifier, FakeDetector


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
