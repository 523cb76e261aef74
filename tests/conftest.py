"""Shared fixtures: tiny synthetic data, fake detector/classifier, a tiny trained model, Xvfb."""

import os
import shutil
import subprocess
import time

import cv2
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


from tests.helpers import (  # noqa: F401
    CountingRecognizer,
    FakeClassifier,
    FakeDetector,
    csv_rows,
    moving_square_frames,
    synthetic_faces,
    write_csv,
    write_video,
)


@pytest.fixture(autouse=True, scope="session")
def cache_outside_the_users_home(tmp_path_factory):
    """Commands under test (and their subprocesses) cache parsed CSVs and exports in a temporary folder, not in
    the user's ~/.cache/emorec."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(autouse=True, scope="session")
def messages_show_as_the_commands_show_them():
    """The package's log lines go to stdout/stderr as every entry point sets them up, so a test that calls a
    library function directly sees the same output whichever test ran first."""
    from emorec.cli.entry import configure_logging
    configure_logging()


@pytest.fixture
def tiny_csv(tmp_path):
    """A 21-row Kaggle-format CSV: 7 Training, 7 PublicTest, 7 PrivateTest rows, one per class each."""
    rows, _ = csv_rows()
    return write_csv(tmp_path / "fer_tiny.csv", rows)


@pytest.fixture
def fake_classifier():
    return FakeClassifier()


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

    from emorec.training.config import TrainConfig
    from emorec.training.data import load_csv
    from emorec.training.train import train
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
            config = TrainConfig(data=str(data), out=str(out), arch="shallow", epochs=1, batch_size=35, patience=0,
                                 precision="float32")
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
    url.app, url.port, url.server = app, port, server
    yield url
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def model_copy(tiny_model, tmp_path):
    """A copy of the tiny trained model folder that a test may change."""
    for f in tiny_model.parent.glob("emotion_cnn.*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "emotion_cnn.h5"


@pytest.fixture
def inputs(tmp_path):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    frames = moving_square_frames(12)
    cv2.imwrite(str(d / "a.png"), frames[0])
    cv2.imwrite(str(d / "sub" / "b.jpg"), frames[3])
    write_video(d / "sub" / "clip.avi", frames)
    (d / "sub" / "notes.txt").write_text("ignored: not media")
    return d


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The app with the shipped model and its own jobs folder, through FastAPI's test client (one per module)."""
    from fastapi.testclient import TestClient

    from emorec.server.app import ServeOptions, create_app
    app = create_app(ServeOptions(jobs_dir=str(tmp_path_factory.mktemp("jobs")), max_upload_mb=5))
    with TestClient(app) as c:      # an exception that left the app would be raised in the test
        yield c
