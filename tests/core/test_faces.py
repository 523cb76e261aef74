"""The Faces record (issue 30, item 2): one record of arrays from detection to the outputs, that is also the
sequence of its Face objects."""

import dataclasses
import pickle

import numpy as np
import pytest

from emorec.common.errors import InputError
from emorec.common.labels import EMOTIONS
from emorec.core.detector import DetectorSettings
from emorec.core.faces import FACE_COLUMNS, JSON_FIELDS, Face, Faces
from emorec.core.recognizer import Recognizer
from emorec.core.tracking import Tracker
from emorec.server import schema
from tests.helpers import FakeClassifier

FRAME = np.random.default_rng(3).integers(0, 256, (240, 320, 3), dtype=np.uint8)


class ScoringDetector:
    """A detector with ``detect`` → Faces (scores and eyes) and a ``near`` search that finds the first face only."""

    def __init__(self, boxes, scores):
        self.boxes, self.scores, self.kinds = np.asarray(boxes), np.asarray(scores, np.float32), []

    def detect(self, gray):
        self.kinds.append("full")
        return self._found()

    def _found(self):
        eyes = np.stack([self.boxes[:, :2] + [10, 20], self.boxes[:, :2] + [40, 20]], axis=1)
        return Faces(self.boxes, self.scores, eyes)

    def __call__(self, gray):
        return self.detect(gray).boxes

    def near(self, gray, boxes):
        self.kinds.append("near")
        return self._found().select([0])


def recognizer(detector, **kw):
    return Recognizer(detector=detector, classifier=FakeClassifier(), settings=DetectorSettings(pad=0, align=False),
                      **kw)


def test_a_frames_faces_are_one_record_of_aligned_arrays_and_the_sequence_of_their_face_objects():
    det = ScoringDetector([[10, 20, 60, 60], [150, 40, 80, 80]], [0.9, 0.6])
    faces = recognizer(det, smoothing=0)(FRAME)
    assert isinstance(faces, Faces) and len(faces) == 2
    assert faces.boxes.shape == (2, 4) and faces.probs.shape == (2, 7) and faces.ids.tolist() == [1, 2]
    np.testing.assert_allclose(faces.scores, [0.9, 0.6])            # the detector's scores come through
    assert faces.eyes.shape == (2, 2, 2) and not np.isnan(faces.eyes).any()
    assert all(isinstance(f, Face) for f in faces) and faces[-1].id == 2
    assert faces.labels == [f.label for f in faces] and np.allclose(faces.confidences, [f.confidence for f in faces])
    assert faces == list(faces) and faces == Faces.of(faces).replace(scores=faces.scores, eyes=faces.eyes)
    assert faces.rows() == [f.row() for f in faces] and len(faces.rows()[0]) == len(FACE_COLUMNS)
    assert faces.as_dicts() == [f.as_dict() for f in faces]
    with pytest.raises(IndexError):
        faces[2]


def test_carried_faces_keep_their_scores_and_eyes_through_near_searches():
    det = ScoringDetector([[10, 20, 60, 60], [150, 40, 80, 80]], [0.9, 0.6])
    rec = recognizer(det, full_scan_every=5, carry=3)
    first, second = rec(FRAME), rec(FRAME)
    assert det.kinds == ["full", "near"]        # the near search found face 1 only; face 2 is carried
    assert second.ids.tolist() == first.ids.tolist() and np.allclose(second.scores, first.scores)
    np.testing.assert_array_equal(second.eyes, first.eyes)


def test_each_step_adds_its_arrays_observe_classifies_and_the_tracker_gives_ids_and_smoothed_probs():
    rec = recognizer(ScoringDetector([[10, 20, 60, 60]], [0.8]), smoothing=0.5)
    detection = rec.detect(FRAME)
    assert detection.faces.probs is None and detection.faces.ids is None
    with pytest.raises(InputError, match="not been classified"):
        detection.faces[0]
    observed = rec.classify_detection(detection)
    assert observed.probs is not None and observed.ids is None and observed[0].id == 1   # untracked: numbered
    tracker = Tracker(smoothing=0.5)
    tracked = tracker.track(observed)
    again = tracker.track(observed.replace(probs=np.roll(observed.probs, 1, axis=1)))
    assert tracked.ids.tolist() == again.ids.tolist() == [1]
    np.testing.assert_allclose(again.probs, 0.5 * observed.probs + 0.5 * np.roll(observed.probs, 1, axis=1), atol=1e-6)
    with pytest.raises(InputError, match="classified"):
        tracker.track(detection.faces)


def test_no_face_is_an_empty_record_equal_to_an_empty_list():
    faces = recognizer(ScoringDetector(np.zeros((0, 4)), []))(FRAME)
    assert faces == [] and not faces and faces.boxes.shape == (0, 4) and faces.rows() == []
    assert Faces.empty() == Faces.concat([]) and len(Faces.concat([Faces.empty(), Faces.empty()])) == 0


def test_select_and_concat_keep_every_array_in_step():
    faces = Faces.of_boxes([[0, 0, 10, 10], [20, 0, 10, 10], [40, 0, 10, 10]], scores=[0.1, 0.2, 0.3],
                           probs=np.eye(7)[[1, 3, 5]], ids=[7, 8, 9])
    picked = faces.select([2, 0])
    assert picked.ids.tolist() == [9, 7] and picked.labels == ["surprise", "disgust"]
    np.testing.assert_allclose(picked.scores, [0.3, 0.1])
    masked = faces.select(np.array([False, True, False]))
    assert masked.ids.tolist() == [8] and masked.boxes.tolist() == [[20, 0, 10, 10]]
    joined = Faces.concat([picked, masked])
    assert joined.ids.tolist() == [9, 7, 8] and joined.probs.shape == (3, 7)
    assert Faces.concat([picked, masked.replace(ids=None)]).ids is None    # ids only where every part has them
    assert faces != faces.replace(scores=[0.1, 0.2, 0.4])


def test_a_record_crosses_processes_and_ray_as_it_is():
    faces = recognizer(ScoringDetector([[10, 20, 60, 60]], [0.7]))(FRAME)
    assert pickle.loads(pickle.dumps(faces)) == faces


def test_arrays_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError):
        Faces.of_boxes([[0, 0, 10, 10]], probs=np.ones((2, 7)))
    with pytest.raises(ValueError):
        Faces(np.zeros((2, 4)), np.ones(3), np.zeros((2, 2, 2)))


def test_the_http_schema_is_built_from_the_face_record():
    fields = {f.name: f for f in dataclasses.fields(Face)}
    model = schema.Face.model_fields
    assert tuple(model) == JSON_FIELDS == tuple(Face.from_probs(1, [0, 0, 1, 1], np.eye(7)[0]).as_dict())
    for name in JSON_FIELDS:
        assert model[name].description == fields[name].metadata["description"]
    faces = recognizer(ScoringDetector([[10, 20, 60, 60]], [0.7]))(FRAME)
    for face in faces.as_dicts():
        assert schema.Face(**face).model_dump() == face
    with pytest.raises(ValueError):
        schema.Face(**{**faces.as_dicts()[0], "box": [1, 2, 3]})
    assert list(faces[0].probs) == list(EMOTIONS)
