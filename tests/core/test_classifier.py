
import numpy as np

from emorec.core.classifier import Classifier


def test_batched_equals_per_face_and_matches_keras(model_copy):
    import keras
    clf = Classifier(model_copy)
    faces = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    batched = clf(faces)
    single = np.concatenate([clf(faces[i:i + 1]) for i in range(5)])
    assert batched.shape == (5, 7) and np.allclose(batched.sum(1), 1, atol=1e-5)
    assert np.allclose(batched, single, atol=1e-6)
    ref = np.asarray(keras.models.load_model(model_copy, compile=False)(faces[..., None].astype(np.float32)))
    assert np.allclose(batched, ref, atol=0.03)          # int8 weights: close to the float model, not equal
    assert clf(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)


def test_flip_tta_is_symmetric(model_copy):
    clf = Classifier(model_copy)
    faces = np.random.default_rng(1).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    a = clf.predict(faces, tta=True)
    b = clf.predict(faces[:, :, ::-1], tta=True)
    assert np.allclose(a, b, atol=1e-5)


def test_building_a_classifier_prints_nothing(model_copy, capfd):
    classifier = Classifier(model_copy)
    for n in (1, 5, 2):                                   # each new batch size re-applies the XNNPACK delegate
        classifier(np.zeros((n, 48, 48), np.uint8))
    out, err = capfd.readouterr()
    assert out == "" and err == ""                     # no "INFO: Created TensorFlow Lite XNNPACK delegate"
