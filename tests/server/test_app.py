"""The HTTP API and WebSocket stream, through FastAPI's test client (the browser test is test_browser.py)."""

import io
import threading
import time

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from emorec.common.errors import InputError, ModelError
from emorec.common.invocation import command
from emorec.common.labels import VIDEO_EXTENSIONS
from emorec.core.faces import Faces
from emorec.core.recognizer import Recognizer
from emorec.core.records import CSV_COLUMNS
from emorec.server.app import ServeOptions, create_app, serve
from emorec.server.http import decode_gray_frame
from tests.helpers import astronaut, frame_message, jpeg, small_video, wait_for


def test_health_names_the_model_classes_colours_and_csv_format(client):
    info = client.get("/api/health").json()
    assert info["status"] == "ok" and info["model"] == info["upload_model"] == "default/emotion_cnn.h5"
    assert info["classes"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert set(info["colors"]) == set(info["classes"]) and all(c.startswith("#") for c in info["colors"].values())
    assert info["csv_columns"] == CSV_COLUMNS and "ai-edge-litert" in info["versions"]
    assert info["video_extensions"] == sorted(VIDEO_EXTENSIONS)      # the upload page's list: one source
    assert info["serve_command"] == f"{command()} serve"          # the pages' "still running?" hint


def test_recognize_returns_every_face_with_box_probabilities_label_and_confidence(client):
    image = astronaut()
    body = client.post("/api/recognize", content=jpeg(image)).json()
    assert (body["width"], body["height"]) == (512, 512) and len(body["faces"]) == 1
    face = body["faces"][0]
    x, y, w, h = face["box"]
    assert 150 < x < 250 and 20 < y < 120 and 80 < w < 200 and w == h
    assert sum(face["probs"].values()) == pytest.approx(1, abs=1e-4)
    assert face["label"] == max(face["probs"], key=face["probs"].get) and face["confidence"] == face["probs"][face["label"]]
    # the same answer as the Recognizer the window runs, for the same decoded frame
    decoded = cv2.imdecode(np.frombuffer(jpeg(image), np.uint8), cv2.IMREAD_COLOR)
    expected = Recognizer(smoothing=0)(decoded)[0]
    assert face["box"] == list(expected.box) and face["probs"]["happy"] == pytest.approx(expected.probs["happy"], abs=1e-4)
    png = client.post("/api/recognize?annotated=1", content=jpeg(image))
    assert png.headers["content-type"] == "image/png"
    assert cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_COLOR).shape == (512, 512, 3)
    form = client.post("/api/recognize", files={"file": ("a.jpg", jpeg(image), "image/jpeg")}).json()
    assert form["faces"][0]["box"] == face["box"]


def test_uploads_can_have_their_own_model_while_streams_keep_the_live_one(tmp_path):
    options = ServeOptions(jobs_dir=str(tmp_path), engines=1, upload_model="fast")
    with TestClient(create_app(options)) as c:
        assert c.get("/api/health").json()["model"] == "default/emotion_cnn.h5"
        assert c.get("/api/health").json()["upload_model"] == "fast/emotion_cnn.h5"
        decoded = cv2.imdecode(np.frombuffer(jpeg(astronaut()), np.uint8), cv2.IMREAD_COLOR)
        face = c.post("/api/recognize", content=jpeg(astronaut())).json()["faces"][0]
        fast, default = (Recognizer(model=m, smoothing=0)(decoded)[0] for m in ("fast", None))
        assert face["probs"]["happy"] == pytest.approx(fast.probs["happy"], abs=1e-4)
        assert abs(fast.probs["happy"] - default.probs["happy"]) > 1e-3      # so the check tells them apart
        with c.websocket_connect("/api/stream") as ws:
            ws.send_bytes(frame_message(1, astronaut()))
            live = ws.receive_json()["faces"][0]
        streamed = Recognizer(smoothing=0)(decode_gray_frame(jpeg(astronaut())))[0]     # streams decode to gray
        assert live["probs"]["happy"] == pytest.approx(streamed.probs["happy"], abs=1e-4)
    # the same model twice is one pool; a model that is not there fails before serving, naming it
    app = create_app(ServeOptions(jobs_dir=str(tmp_path), engines=1, upload_model="model/default"))
    assert app.state.uploads is app.state.pool
    with pytest.raises(ModelError, match="--upload-model: model not found: nowhere"):
        create_app(ServeOptions(jobs_dir=str(tmp_path), engines=1, upload_model="nowhere"))


def test_the_favicon_is_a_small_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"] == "image/x-icon"
    assert len(response.content) < 2000 and Image.open(io.BytesIO(response.content)).size == (32, 32)


class GatedPool:
    """Recognition that holds its first frame until the test lets it go, so frames pile up meanwhile."""
    size, metadata = 1, {}

    def __init__(self, tmp_path):
        self.model_path = tmp_path / "m" / "emotion_cnn.h5"
        self.started, self.release = threading.Event(), threading.Event()

    def options(self, options=None):
        return options

    def recognizer(self, options=None, **changes):
        def gated(frame):
            self.started.set()
            assert self.release.wait(30), "the test never released the first frame"
            return Faces.empty()
        gated.reset = lambda: None
        return gated


def test_a_slow_server_answers_the_newest_frame_and_drops_stale_ones(tmp_path):
    pool = GatedPool(tmp_path)
    with TestClient(create_app(ServeOptions(jobs_dir=str(tmp_path)), pool=pool)) as c:
        with c.websocket_connect("/api/stream") as ws:
            ws.send_bytes(frame_message(1, astronaut()))
            assert pool.started.wait(30)                       # frame 1 is being recognized
            for seq in range(2, 6):
                ws.send_bytes(frame_message(seq, astronaut()))
            ws.send_text('{"type": "ping"}')
            assert ws.receive_json() == {"type": "pong"}       # messages are read in order: 2..5 are in
            pool.release.set()
            replies = [ws.receive_json(), ws.receive_json()]
    assert [r["seq"] for r in replies] == [1, 5] and replies[-1]["dropped"] == 3


def free_port():
    import socket
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


def test_serve_refuses_a_busy_port_saying_what_to_do_and_half_an_https_setup(tmp_path):
    import socket
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(InputError, match=f"cannot listen on 127.0.0.1:{port}") as e:
            serve(ServeOptions(port=port))
        # the host is already 127.0.0.1: the way out is another port, or stopping the other server
        assert "--host" not in str(e.value) and "pass another --port, or stop that program" in str(e.value)
        assert "while attempting" not in str(e.value)
    with socket.create_server(("0.0.0.0", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(InputError, match="another --port.*or --host 127.0.0.1 to serve this machine only"):
            serve(ServeOptions(host="0.0.0.0", port=port))
    for host in ("192.0.2.1", "nosuch.invalid"):           # TEST-NET-1, nobody's address; a name nobody has
        with pytest.raises(InputError, match=f"this machine has no address {host}: pass --host 127.0.0.1"):
            serve(ServeOptions(host=host, port=free_port()))
    with pytest.raises(InputError, match="both --cert and --key"):
        serve(ServeOptions(cert=str(tmp_path / "c.pem")))


@pytest.mark.parametrize("where", ["a file", "under a file", "read-only"])
def test_serve_refuses_a_jobs_dir_it_cannot_write_at_start_in_one_line(tmp_path, where, monkeypatch, capsys):
    import os

    import emorec.server.app
    import emorec.server.jobs
    from emorec.cli.main import main
    loads = []
    monkeypatch.setattr(emorec.server.app, "EnginePool", lambda *a: loads.append(a))
    jobs = {"a file": tmp_path / "jobs", "under a file": tmp_path / "jobs" / "more", "read-only": tmp_path / "ro"}[where]
    if where == "read-only":
        jobs.mkdir(mode=0o555)
        if os.geteuid() == 0:      # root writes anyway: the file system says no instead, as a read-only mount does
            def read_only(*a, **kw):
                raise OSError(30, "Read-only file system", str(jobs))
            monkeypatch.setattr(emorec.server.jobs.tempfile, "mkdtemp", read_only)
    else:
        (tmp_path / "jobs").write_text("not a folder")
    assert main(["serve", "--jobs-dir", str(jobs), "--port", str(free_port())]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: cannot keep video jobs in --jobs-dir {jobs}: ")
    assert {"a file": "in the way", "under a file": "part of that path is a file",
            "read-only": "no permission to write there"}[where] in err
    assert loads == []                           # refused before the model was loaded


def test_serve_prints_its_url_and_warns_when_others_can_reach_it(monkeypatch, capsys):
    import uvicorn

    from emorec.cli.main import main
    runs = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: runs.append(kw))
    port = free_port()
    assert main(["serve", "--port", str(port)]) == 0
    out, err = capsys.readouterr()
    assert f"http://127.0.0.1:{port}/" in out and "/api/docs" in out and err == ""
    assert main(["serve", "--host", "0.0.0.0", "--port", str(port)]) == 0
    assert "warning: --host 0.0.0.0 lets anyone" in capsys.readouterr().err
    assert [r["host"] for r in runs] == ["127.0.0.1", "0.0.0.0"]


def test_a_client_that_goes_away_mid_upload_leaves_nothing_behind(live_server):
    import socket
    jobs_dir = live_server.app.state.jobs.root
    before, jobs_before = set(jobs_dir.iterdir()), set(live_server.app.state.jobs.jobs)
    with socket.create_connection(("127.0.0.1", live_server.port)) as s:
        s.sendall(b"POST /api/jobs?name=clip.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
        s.sendall(b"\0" * 100_000)                     # 2 % of the video, then the connection drops
        end = time.monotonic() + 5
        while set(jobs_dir.iterdir()) == before and time.monotonic() < end:   # the upload has begun
            time.sleep(0.01)
        assert set(jobs_dir.iterdir()) != before
    end = time.monotonic() + 5
    while set(jobs_dir.iterdir()) != before and time.monotonic() < end:
        time.sleep(0.05)
    assert set(jobs_dir.iterdir()) == before and set(live_server.app.state.jobs.jobs) == jobs_before


def test_stalled_and_abandoned_uploads_end_without_a_traceback(live_server, monkeypatch, capfd):
    import socket

    import emorec.server.app
    import emorec.server.http
    monkeypatch.setattr(emorec.server.http, "STALL_S", 0.5)
    bodies_read, read_body = [], emorec.server.app.read_body

    async def counted_read_body(*args, **kwargs):
        try:
            return await read_body(*args, **kwargs)
        finally:
            bodies_read.append(1)
    monkeypatch.setattr(emorec.server.app, "read_body", counted_read_body)
    with socket.create_connection(("127.0.0.1", live_server.port)) as s:
        s.sendall(b"POST /api/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
        s.settimeout(10)
        reply = s.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 408") and '"error":"the upload stalled' in reply
    with socket.create_connection(("127.0.0.1", live_server.port)) as s:      # gone mid-upload
        s.sendall(b"POST /api/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
    end = time.monotonic() + 10                  # wait for the server to be done with the abandoned upload
    while (len(bodies_read) < 2 or live_server.server.server_state.connections) and time.monotonic() < end:
        time.sleep(0.01)
    assert len(bodies_read) == 2 and not live_server.server.server_state.connections
    assert requests_get(f"{live_server}/api/health") == 200      # one more request through the same loop
    assert "Traceback" not in capfd.readouterr().err


def test_stopping_the_server_deletes_every_jobs_files(tmp_path):
    jobs = tmp_path / "jobs"
    (jobs / "AAAAAAAAAAAAAAAA" / "upload").mkdir(parents=True)          # left by a server that was killed
    (jobs / "keep-me").mkdir()                                          # not a job's folder
    with TestClient(create_app(ServeOptions(jobs_dir=str(jobs)))) as c:
        assert not (jobs / "AAAAAAAAAAAAAAAA").exists()
        job = c.post("/api/jobs?name=clip.avi", content=small_video(tmp_path / "c.avi", 2).read_bytes()).json()
        wait_for(c, job["id"])
        assert (jobs / job["id"]).is_dir()
    assert sorted(p.name for p in jobs.iterdir()) == ["keep-me"]


def requests_get(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status
