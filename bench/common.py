"""Shared helpers for the benchmarks: test frames with real faces, timing, the FER2013 data path."""

import statistics
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def astronaut_bgr():
    """scikit-image's astronaut photo (512×512) as BGR; it ships inside the scikit-image wheel."""
    try:
        from skimage import data
    except ImportError:
        raise SystemExit("the benchmarks need scikit-image for their test photo: "
                         "pip install -r requirements-dev.txt") from None
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def frame_one_face():
    """640×480 BGR frame with one real face (~100 px wide)."""
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:, 80:560] = cv2.resize(astronaut_bgr(), (480, 480), interpolation=cv2.INTER_AREA)
    return frame


def frame_four_faces():
    """640×480 BGR frame with four real faces (2×2 tiles of the astronaut's head, ~95 px faces)."""
    head = cv2.resize(astronaut_bgr()[0:256, 100:356], (230, 230), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 90, np.uint8)
    for y in (5, 245):
        for x in (70, 340):
            frame[y:y + 230, x:x + 230] = head
    return frame


def times_ms(fn, repeat=200, warmup=10):
    """``fn()`` timed ``repeat`` times after ``warmup`` untimed calls: an array of milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return np.array(times)


def median_ms(fn, repeat=200, warmup=10):
    return float(statistics.median(times_ms(fn, repeat, warmup)))


def fer2013_csv():
    path = SHARED_DATA / "fer2013.csv.gz"
    if not path.exists():
        raise SystemExit(f"{path} not found: this benchmark reads the real FER2013 CSV")
    return path


def short_run_scores(dataset, configs, tta=False):
    """Train each named :class:`emorec.training.train.TrainConfig` (its ``out`` is replaced by a temporary folder)
    and score its best model on the validation split (PublicTest), never on PrivateTest.
    ``configs``: {name: TrainConfig}; returns {name: evaluate.score(...) dict}."""
    import tempfile
    from dataclasses import replace

    from emorec.core.classifier import Classifier
    from emorec.training.evaluate import score
    from emorec.training.train import train
    x, y = dataset.split("val")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, config) in enumerate(configs.items()):
            out = Path(tmp) / f"run{i}"
            train(replace(config, out=str(out)), dataset=dataset, verbose=0)
            results[name] = score(y, Classifier(out / "emotion_cnn.h5").predict(x, tta=tta))
    return results
