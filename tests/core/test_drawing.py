import numpy as np
import pytest

from emorec.common.labels import COLORS_BGR, EMOTIONS
from emorec.core.drawing import draw_faces
from emorec.core.faces import Face, Faces


def face(box, label="happy", track_id=1):
    probs = np.full(len(EMOTIONS), 0.01)
    probs[EMOTIONS.index(label)] = 1 - 0.01 * (len(EMOTIONS) - 1)
    return Face.from_probs(track_id, box, probs)


def colored(image, label):
    """Mask of the pixels painted in ``label``'s colour."""
    return (image == COLORS_BGR[label]).all(axis=2)


@pytest.mark.parametrize("label", EMOTIONS)
def test_each_emotion_has_its_box_colour(label):
    out = draw_faces(np.zeros((200, 300, 3), np.uint8), Faces.of([face((100, 80, 60, 60), label)]))
    assert tuple(out[110, 100]) == COLORS_BGR[label] and tuple(out[110, 159]) == COLORS_BGR[label]


def test_the_label_goes_above_the_box_or_inside_its_top_edge_never_outside_the_frame():
    frame = np.zeros((200, 300, 3), np.uint8)
    above = colored(draw_faces(frame, Faces.of([face((100, 80, 60, 60))])), "happy")
    assert above[:78, 100:160].any()                     # a tag above a box with room above it

    at_top = colored(draw_faces(frame, Faces.of([face((100, 0, 60, 60))])), "happy")
    assert at_top[2:15, 102].all()                       # the tag's fill, inside the box at its top edge
    assert not at_top[62:].any()                         # nothing below the box (its 2-px line ends at 60)

    right = colored(draw_faces(frame, Faces.of([face((270, 50, 30, 30))])), "happy")
    assert right[:50, 200:270].any()                     # a wide tag is moved left to stay in the frame


def test_the_selected_face_has_a_thicker_box():
    frame = np.zeros((200, 300, 3), np.uint8)
    plain = colored(draw_faces(frame, Faces.of([face((100, 80, 60, 60))]), selected_id=None), "happy")
    chosen = colored(draw_faces(frame, Faces.of([face((100, 80, 60, 60))]), selected_id=1), "happy")
    assert chosen[100:130].sum() > plain[100:130].sum()   # the box's sides, below its tag


def test_the_input_frame_is_not_modified():
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    before = frame.copy()
    out = draw_faces(frame, Faces.of([face((10, 10, 50, 50), "sad"), face((80, 0, 70, 40), "angry", 2)]), selected_id=2)
    assert np.array_equal(frame, before) and not np.array_equal(out, frame) and out.shape == frame.shape
