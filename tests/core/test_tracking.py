import numpy as np
import pytest

from emorec.common.errors import InputError
from emorec.core.tracking import Tracker, iou_matrix


def test_iou():
    m = iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5]])
    assert m[0].tolist() == pytest.approx([1.0, 50 / 150, 0.0])


def test_ids_stay_stable_as_faces_move_and_new_faces_get_new_ids():
    tr = Tracker(smoothing=0)
    p = np.full((2, 7), 1 / 7)
    ids0, _ = tr.update(np.array([[0, 0, 50, 50], [200, 0, 50, 50]]), p)
    ids1, _ = tr.update(np.array([[205, 3, 50, 50], [4, 2, 50, 50]]), p)          # swapped order, moved
    assert ids1 == [ids0[1], ids0[0]]
    ids2, _ = tr.update(np.array([[8, 4, 50, 50], [205, 3, 50, 50], [400, 300, 60, 60]]), np.full((3, 7), 1 / 7))
    assert ids2[:2] == ids0 and ids2[2] not in ids0


def test_tracks_survive_short_gaps_then_retire():
    tr = Tracker(max_missed=2)
    (tid,), _ = tr.update(np.array([[0, 0, 50, 50]]), np.full((1, 7), 1 / 7))
    for _ in range(2):
        tr.update(np.zeros((0, 4)), np.zeros((0, 7)))
    assert tr.update(np.array([[0, 0, 50, 50]]), np.full((1, 7), 1 / 7))[0] == [tid]
    for _ in range(3):
        tr.update(np.zeros((0, 4)), np.zeros((0, 7)))
    assert tr.update(np.array([[0, 0, 50, 50]]), np.full((1, 7), 1 / 7))[0] != [tid]


def _flips(labels):
    return int(np.sum(labels[1:] != labels[:-1]))


def test_smoothing_reduces_label_flips_on_a_noisy_sequence():
    rng = np.random.default_rng(0)
    truth = np.array([0.1, 0.0, 0.0, 0.45, 0.0, 0.0, 0.35])      # happy, with neutral close behind
    noisy = np.clip(truth + rng.normal(0, 0.12, (200, 7)), 1e-3, None)
    noisy /= noisy.sum(1, keepdims=True)
    results = {}
    for s in (0.0, 0.7):
        tr = Tracker(smoothing=s)
        labels = np.array([tr.update(np.array([[10, 10, 50, 50]]), noisy[i:i + 1])[1][0].argmax() for i in range(200)])
        results[s] = _flips(labels)
    assert results[0.0] > 3 * results[0.7]
    assert results[0.0] == _flips(noisy.argmax(1))               # 0 = off: probabilities pass through


def test_smoothed_probabilities_still_sum_to_one():
    tr = Tracker(smoothing=0.5)
    for p in np.random.default_rng(1).dirichlet(np.ones(7), 10):
        _, out = tr.update(np.array([[0, 0, 40, 40]]), p[None])
        assert out[0].sum() == pytest.approx(1, abs=1e-5)


def test_smoothing_out_of_range():
    with pytest.raises(InputError):
        Tracker(smoothing=1.0)
