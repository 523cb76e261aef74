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


# ---------------------------------------------------------------- stills and streams (issue 24, item 1)

@pytest.fixture(scope="module")
def photo():
    """640×480 BGR with the astronaut's face (about 120 px) left of centre, as in the issue."""
    import cv2
    from skimage import data
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:, 80:560] = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (480, 480),
                                  interpolation=cv2.INTER_AREA)
    return frame


def real_detector(**kw):
    """The shipped Haar cascade with a fake classifier: real boxes, fast."""
    return Recognizer(classifier=FakeClassifier(), **{"detector": "haar", **kw})


def boxes_ids(faces):
    return [(f.id, f.box) for f in faces]


def test_image_neither_uses_nor_changes_the_stream_state(photo):
    mirrored = np.ascontiguousarray(photo[:, ::-1])
    fresh = real_detector().image(mirrored)
    assert len(fresh) == 1 and fresh[0].box[0] > 640 - 230 - 120 - 10    # the face is now on the right
    rec = real_detector()
    first = rec.image(photo)
    assert boxes_ids(first) == [(1, (230, 48, 120, 120))]
    assert boxes_ids(rec.image(mirrored)) == boxes_ids(fresh)           # not the first photo's box
    assert rec.image(mirrored)[0].probs == fresh[0].probs              # no smoothing with the call before
    # between the frames of a stream: the stream goes on as if the stills had not been there
    stream, alone = real_detector(), real_detector()
    expected = [boxes_ids(alone(photo)) for _ in range(3)]
    got = [boxes_ids(stream(photo))]
    stream.image(mirrored)
    got += [boxes_ids(stream(photo)) for _ in range(2)]
    assert got == expected and stream.last_scan == "near"


def test_a_stream_frame_of_another_size_starts_afresh(photo):
    import cv2
    small = cv2.resize(photo[0:300, 150:550], (320, 240), interpolation=cv2.INTER_AREA)   # face about 96 px
    expected = boxes_ids(real_detector()(small))
    assert len(expected) == 1
    rec = real_detector()
    rec(photo)
    rec(photo)
    assert boxes_ids(rec(small)) == expected and rec.last_scan == "full"   # not a box carried from 640×480
    assert boxes_ids(rec.image(small)) == expected


def test_a_1x1_frame_after_a_photo_has_no_face(photo):
    rec = real_detector()
    assert len(rec(photo)) == 1
    tiny = np.zeros((1, 1, 3), np.uint8)
    assert rec(tiny) == [] and rec.image(tiny) == []
    again = rec(photo)
    assert boxes_ids(again) == [(1, (230, 48, 120, 120))]     # a fresh stream: a new track, id 1


def test_a_carried_box_stays_inside_a_frame_of_another_size():
    det = NearDetector([[500, 300, 100, 100]], near=[])   # a detector that answers a box outside a 320×240 frame
    rec = make(det, full_scan_every=10, carry=1)
    assert len(rec(np.zeros((480, 640, 3), np.uint8))) == 1
    assert rec(np.zeros((240, 320, 3), np.uint8)) == []          # not the box, clipped to the frame's corner
    assert det.kinds == ["full", "full"]                         # the smaller frame was scanned, not searched near


# ---------------------------------------------------------------- one pass per face per frame (issue 22, item 1)

class RecordingClassifier(LeftHalfClassifier):
    """LeftHalfClassifier (a face and its mirror image score differently) that keeps every batch it gets."""

    def __init__(self):
        self.batches = []

    def __call__(self, faces):
        self.batches.append(np.array(faces))
        return super().__call__(faces)


def textured_frame(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (200, 300, 3), dtype=np.uint8)


def test_in_a_stream_a_face_gets_both_passes_on_its_first_frame_then_one_alternating():
    det = FakeDetector([[10, 10, 60, 60]], [[10, 10, 60, 60]], [[12, 10, 60, 60]],
                       [[12, 10, 60, 60], [200, 100, 60, 60]])   # a second face comes in frame 3
    clf = RecordingClassifier()
    rec = Recognizer(detector=det, classifier=clf, settings=DetectorSettings(pad=0))
    frame = textured_frame()
    for _ in range(5):
        rec(frame)
    assert [len(b) for b in clf.batches] == [2, 1, 1, 3, 2]
    from emorec.core.boxes import crop_faces
    from emorec.core.preprocess import as_gray_frame
    gray = as_gray_frame(frame)
    a, b = crop_faces(gray, np.array([[12, 10, 60, 60], [200, 100, 60, 60]]))
    assert (clf.batches[2][0] == a).all()                    # frame 2 (even): the face itself
    # frame 3 (odd): its mirror image, and the new face both ways (plain passes first, then mirror images)
    assert [(x == y).all() for x, y in zip(clf.batches[3], [b, a[:, ::-1], b[:, ::-1]])] == [True] * 3
    assert (clf.batches[4][0] == a).all() and (clf.batches[4][1] == b).all()


def test_a_new_tracks_first_label_is_the_averaged_one_and_smoothing_averages_the_two_views():
    det = FakeDetector([[10, 10, 60, 60]])
    clf = RecordingClassifier()
    rec = Recognizer(detector=det, classifier=clf, settings=DetectorSettings(pad=0), smoothing=0.5)
    frame = textured_frame(1)
    both = Recognizer(detector=det, classifier=clf, settings=DetectorSettings(pad=0)).classify(
        rec.detect(frame).crops)
    rec.reset()
    first, second = rec(frame)[0], rec(frame)[0]
    assert np.allclose(list(first.probs.values()), both[0], atol=1e-6)
    mirrored = clf(np.ascontiguousarray(rec.detect(frame).crops[:, :, ::-1]))[0]
    assert np.allclose(list(second.probs.values()), 0.5 * both[0] + 0.5 * mirrored, atol=1e-6)


@pytest.mark.parametrize("kw, batches", [
    ({}, [2, 1, 1]),
    ({"alternate": False}, [2, 2, 2]),         # both passes on every frame
    ({"smoothing": 0}, [2, 2, 2]),             # nothing would average the two views
    ({"tta": False}, [1, 1, 1]),
])
def test_which_frames_get_both_passes(kw, batches):
    clf = RecordingClassifier()
    rec = Recognizer(detector=FakeDetector([[10, 10, 60, 60]]), classifier=clf, settings=DetectorSettings(pad=0),
                     **kw)
    for _ in range(3):
        rec(textured_frame())
    assert [len(b) for b in clf.batches] == batches
    clf.batches.clear()
    rec.image(textured_frame())                # a still: both passes, whatever the stream does
    assert [len(b) for b in clf.batches] == [1 if kw.get("tta") is False else 2]


class FrameDetector:
    """Boxes by frame number (written in the frame's first pixel): ``boxes[n]`` for frame n, from a full scan
    or a near search alike."""

    def __init__(self, boxes):
        self.boxes = boxes

    def __call__(self, gray):
        return np.asarray(self.boxes[gray[0, 0]], int).reshape(-1, 4)

    def near(self, gray, known):
        return self(gray)


def test_a_segment_that_follows_the_period_before_it_sees_the_passes_of_one_uninterrupted_run():
    # one face throughout; a second one from frame 20, where a segment starts (10 frames: the resync period)
    boxes = [[[10 + i, 10, 60, 60]] + ([[200, 100, 60, 60]] if i >= 20 else []) for i in range(30)]
    frames = []
    for i in range(30):
        frames.append(textured_frame(i))
        frames[-1][0, 0] = i

    def run(start):
        rec = Recognizer(detector=FrameDetector(boxes), classifier=RecordingClassifier(),
                         settings=DetectorSettings(pad=0), full_scan_every=5, detect_every=2)
        lead = min(start, rec.resync_period)
        rec.reset(start - lead)
        for f in frames[start - lead:start]:
            rec.advance(f)
        return [rec.observe(f) for f in frames[start:]], [len(b) for b in rec.classifier.batches]

    (whole, _), (segment, batches) = run(0), run(20)
    assert batches == [3] + [2] * 9        # the old face one pass, the new one both; then one pass each
    for one, other in zip(whole[20:], segment, strict=True):
        assert (one.boxes == other.boxes).all() and np.allclose(one.probs, other.probs, atol=1e-7)
