"""Shared fixtures: tiny synthetic data, fake detector/classifier, a tiny trained model, Xvfb."""

import csv
import os
import shutil
import subprocess
import time

import cv2
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

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


@pytest.fixture(autouse=True, scope="session")
def cache_outside_the_users_home(tmp_path_factory):
    """Commands under test (and their subprocesses) cache parsed CSVs and exports in a temporary folder, not in
    the user's ~/.cache/emorec."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture
def tiny_csv(tmp_path):
    """A 21-row Kaggle-format CSV: 7 Training, 7 PublicTest, 7 PrivateTest rows, one per class each."""
    rows, _ = csv_rows()
    return write_csv(tmp_path / "fer_tiny.csv", rows)


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
    """A Recognizer on FakeDetector (one 100-px box) and FakeClassifier that counts its calls;
    ``error`` makes every call raise it."""

    def __init__(self, error=None):
        from emorec.core.detector import DetectorSettings
        from emorec.core.recognizer import Recognizer
        self.inner = Recognizer(detector=FakeDetector([[40, 60, 100, 100]]), classifier=FakeClassifier(),
                                settings=DetectorSettings(pad=0))
        self.calls, self.error = 0, error

    def reset(self):
        self.inner.reset()

    def __call__(self, frame):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.inner(frame)


@pytest.fixture
def fake_classifier():
    return FakeClassifier()


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


@pytest.fixture
def image(tmp_path):
    """A still image (PNG) with one bright square, as a path string."""
    cv2.imwrite(str(tmp_path / "a.png"), moving_square_frames(1)[0])
    return str(tmp_path / "a.png")


@pytest.fixture
def synthetic_video(tmp_path):
    return write_video(tmp_path / "clip.avi", moving_square_frames())


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, worker_id):
    """A really trained (1 epoch, shallow architecture) model folder: emotion_cnn.h5 + .json + export.
    Trained once per session: under pytest-xdist the first worker to ask trains it, in the folder all
    workers share, and the others wait for it (tests only read it, or copy it)."""
    from filelock import FileLock

    from emorec.training.data import load_csv
    from emorec.training.train import TrainConfig, train
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    root = shared / "tiny_model"
    out = root / "run"
    with FileLock(str(shared / "tiny_model.lock")):
        if not (root / "trained").exists():
            shutil.rmtree(root, ignore_errors=True)           # what a worker that failed here left
            root.mkdir()
            rows, _ = csv_rows(["Training"] * 5 + ["PublicTest", "PrivateTest"])
            data = write_csv(root / "fer_tiny.csv", rows)
            config = TrainConfig(data=str(data), out=str(out), arch="shallow", epochs=1, batch_size=35, patience=0)
            train(config, dataset=load_csv(data, use_cache=False), verbose=0)
            (root / "trained").touch()
    return out / "emotion_cnn.h5"


@pytest.fixture(scope="session")
def display():
    """A DISPLAY for Tk: the existing one, or an Xvfb the tests start (skipped only if Xvfb is absent)."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb); the window tests need a display")
    # -displayfd: Xvfb picks a free display itself and writes its number (safe with parallel test workers)
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,))
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        n = f.readline().strip()
    if not n:
        pytest.fail("Xvfb did not start")
    os.environ["DISPLAY"] = f":{n}"
    yield f":{n}"
    del os.environ["DISPLAY"]
    proc.terminate()
    proc.wait(5)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """A real uvicorn server with the shipped model on a free loopback port: its URL (and ``.app``)."""
    import socket
    import threading

    import uvicorn

    from emorec.server.app import ServeOptions, create_app
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    app = create_app(ServeOptions(jobs_dir=str(tmp_path_factory.mktemp("jobs")), max_upload_mb=20))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)

    class Url(str):
        pass
    url = Url(f"http://127.0.0.1:{port}")
    url.app, url.port = app, port
    yield url
    server.should_exit = True
    thread.join(10)
