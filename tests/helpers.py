"""Test helpers shared by the test modules: tiny synthetic data, videos, and stand-ins for the detector, the
classifier and the recognizer."""

import csv
import os

import cv2
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import struct
import time

import pytest

from emorec.common.labels import NUM_CLASSES

SPLIT_USAGES = ["Training", "PublicTest", "PrivateTest"]


def synthetic_faces(n, seed=0):
    """n distinct 48×48 uint8 images whose class (i % 7) is visible as a bright band position."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 80, (n, 48, 48), dtype=np.uint8)
    for i in range(n):
        c = i % NUM_CLASSES
        x[i, 6 * c:6 * c + 6, :] = 200 + rng.integers(0, 50)
    return x


def write_csv(path, rows, header=("emotion", "pixels", "Usage")):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def csv_rows(usages=SPLIT_USAGES, seed=0):
    """One block of 7 rows (labels 0..6) per entry of ``usages``; returns (rows, images)."""
    n = NUM_CLASSES * len(usages)
    x = synthetic_faces(n, seed)
    return [[i % NUM_CLASSES, " ".join(map(str, x[i].ravel())), usages[i // NUM_CLASSES]] for i in range(n)], x


class FakeDetector:
    """``FakeDetector(boxes_call1, boxes_call2, ...)``: each argument is the box list one call returns;
    the last one repeats."""

    def __init__(self, *sequence):
        self.sequence, self.calls = sequence, 0

    def __call__(self, gray):
        boxes = self.sequence[min(self.calls, len(self.sequence) - 1)]
        self.calls += 1
        return np.asarray(boxes, int).reshape(-1, 4)


class FakeClassifier:
    """Probabilities from the mean brightness of each crop (deterministic, per-face independent)."""

    def __init__(self):
        self.batches = []

    def __call__(self, faces):
        faces = np.asarray(faces)
        self.batches.append(len(faces))
        logits = np.stack([np.cos(faces.reshape(len(faces), 48 * 48).mean(1) / 40 + k) for k in range(NUM_CLASSES)], 1)
        e = np.exp(3 * logits)
        return (e / e.sum(1, keepdims=True)).astype(np.float32)


class CountingRecognizer:
    """A Recognizer on FakeDetector (one 100-px box) and FakeClassifier that counts its calls (``calls``: all,
    ``stills``: those of :meth:`image`); ``error`` makes every call raise it."""

    def __init__(self, error=None):
        from emorec.core.detector import DetectorSettings
        from emorec.core.recognizer import Recognizer
        self.inner = Recognizer(detector=FakeDetector([[40, 60, 100, 100]]), classifier=FakeClassifier(),
                                settings=DetectorSettings(pad=0))
        self.calls, self.stills, self.error = 0, 0, error

    def reset(self):
        self.inner.reset()

    @property
    def settings(self):
        return self.inner.settings

    @property
    def network_ms(self):
        return self.inner.network_ms

    def __call__(self, frame):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.inner(frame)

    def image(self, frame):
        self.calls += 1
        self.stills += 1
        if self.error is not None:
            raise self.error
        return self.inner.image(frame)


def write_video(path, frames, fps=10.0, fourcc="MJPG"):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"cv2.VideoWriter cannot write {path}"
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def moving_square_frames(n=12, size=(240, 320)):
    """Frames with a bright square drifting right, BGR uint8."""
    frames = []
    for i in range(n):
        f = np.full((*size, 3), 30, np.uint8)
        cv2.rectangle(f, (40 + 4 * i, 60), (140 + 4 * i, 160), (200, 200, 200), -1)
        frames.append(f)
    return frames


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def astronaut(mirror=False):
    from skimage import data
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(image[:, ::-1]) if mirror else image


def jpeg(image):
    return cv2.imencode(".jpg", image)[1].tobytes()


def frame_message(seq, image):
    return struct.pack("<I", seq) + jpeg(image)


def small_video(path, frames=8):
    base = astronaut()
    return write_video(path, [np.roll(base, 4 * i, axis=1) for i in range(frames)], fps=8)


def wait_for(client, job_id, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = client.get(f"/api/jobs/{job_id}").json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.1)
    pytest.fail("the job did not finish")
