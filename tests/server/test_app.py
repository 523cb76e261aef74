"""The HTTP API and WebSocket stream, through FastAPI's test client (the browser test is test_browser.py)."""

import io
import json
import struct
import threading
import time

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from emorec.common.errors import InputError
from emorec.common.labels import VIDEO_EXTENSIONS
from emorec.core.recognizer import Recognizer
from emorec.core.records import CSV_COLUMNS
from emorec.server.app import ServeOptions, create_app, serve
from tests.helpers import write_video


def astronaut(mirror=False):
    from skimage import data
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(image[:, ::-1]) if mirror else image


def jpeg(image):
    return cv2.imencode(".jpg", image)[1].tobytes()


def frame_message(seq, image):
    return struct.pack("<I", seq) + jpeg(image)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app(ServeOptions(jobs_dir=str(tmp_path_factory.mktemp("jobs")), max_upload_mb=5))
    with TestClient(app) as c:      # an exception that left the app would be raised in the test
        yield c


def test_health_names_the_model_classes_colours_and_csv_format(client):
    info = client.get("/api/health").json()
    assert info["status"] == "ok" and info["model"] == "default/emotion_cnn.h5"
    assert info["classes"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert set(info["colors"]) == set(info["classes"]) and all(c.startswith("#") for c in info["colors"].values())
    assert info["csv_columns"] == CSV_COLUMNS and "ai-edge-litert" in info["versions"]
    assert info["video_extensions"] == sorted(VIDEO_EXTENSIONS)      # the upload page's list: one source


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


def test_the_pool_is_its_recognizers_detector_full_scans_and_near_searches(client):
    pool = client.app.state.pool
    recognizer = pool.recognizer(smoothing=0)
    assert recognizer.detector is pool and recognizer.full_scan_every > 1     # near searches between full scans
    gray = cv2.cvtColor(astronaut(), cv2.COLOR_BGR2GRAY)
    boxes = pool(gray)
    assert len(boxes) == 1 and len(pool.near(gray, boxes)) == 1
    assert [len(recognizer(astronaut())) for _ in range(3)] == [1, 1, 1]


def huge_png():
    buf = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buf, "PNG")     # 100 megapixels in a few kilobytes
    return buf.getvalue()


@pytest.mark.parametrize("body, status, message", [
    (b"", 400, "empty body"),
    (b"hello, not an image", 415, "not an image"),
    (jpeg(astronaut())[:4000], 422, "truncated"),
    (huge_png(), 413, "10000×10000 pixels"),
    (b"\xff" * 6_000_000, 413, "upload too large"),
])
def test_bad_images_get_a_4xx_with_a_json_error(client, body, status, message):
    response = client.post("/api/recognize", content=body)
    assert response.status_code == status and message in response.json()["error"]
    assert client.get("/api/health").status_code == 200          # and the server goes on


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".mkv"])
def test_a_video_sent_as_an_image_is_told_where_videos_go(client, tmp_path, suffix):
    video = small_video(tmp_path / f"clip{suffix}", frames=2).read_bytes()
    for response in (client.post("/api/recognize", content=video),
                     client.post("/api/recognize", files={"file": (f"clip{suffix}", video, "application/octet-stream")}),
                     client.post("/api/recognize", content=b"\0" * 64, headers={"content-type": "video/mp4"})):
        assert response.status_code == 415 and "POST /api/jobs" in response.json()["error"]
    assert "POST /api/jobs" not in client.post("/api/recognize", content=b"hello").json()["error"]


def test_job_names_follow_the_documented_pattern(client, tmp_path):
    video = small_video(tmp_path / "clip.avi", frames=2).read_bytes()
    for name in (".mp4", "a/.mp4", "clip.mp4/", "clip.mp4.txt", "", "clip"):
        response = client.post("/api/jobs", params={"name": name}, content=video)
        assert response.status_code == 415 and "is not a video file name" in response.json()["error"], name
    job = client.post("/api/jobs", params={"name": "talks/Interview 2.AVI"}, content=video).json()
    assert job["name"] == "Interview 2.AVI"
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 200


def test_the_favicon_is_a_small_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"] == "image/x-icon"
    assert len(response.content) < 2000 and Image.open(io.BytesIO(response.content)).size == (32, 32)


def test_a_405_names_every_method_of_its_path(client):
    response = client.put("/api/jobs/AAAAAAAAAAAAAAAA")
    assert response.status_code == 405 and response.headers["allow"] == "DELETE, GET" and "error" in response.json()
    assert client.post("/api/health").headers["allow"] == "GET"


class BrokenPool:
    """Recognition that fails with a bug."""
    size, metadata = 1, {}

    def __init__(self, tmp_path):
        self.model_path = tmp_path / "m" / "emotion_cnn.h5"

    def recognizer(self, **kw):
        def boom(frame):
            raise RuntimeError("detector crashed")
        boom.reset = lambda: None
        boom.image = boom     # a still (POST) and a stream frame alike
        return boom


def test_an_internal_failure_is_a_500_and_one_log_line_never_a_traceback(tmp_path, caplog):
    # raise_server_exceptions: an exception that left the app would be raised here, as uvicorn would print it
    with TestClient(create_app(ServeOptions(jobs_dir=str(tmp_path)), pool=BrokenPool(tmp_path))) as c:
        response = c.post("/api/recognize", content=jpeg(astronaut()))
        assert response.status_code == 500 and response.json() == {
            "error": "internal error (RuntimeError); the server keeps running"}
        assert "Traceback" not in response.text and c.get("/api/health").status_code == 200
        with c.websocket_connect("/api/stream") as ws:         # a stream's frame fails alone; the stream goes on
            ws.send_bytes(frame_message(7, astronaut()))
            assert ws.receive_json() == {"type": "error", "seq": 7, "dropped": 0,
                                         "error": "internal error (RuntimeError); the server keeps running"}
            ws.send_text('{"type": "ping"}')
            assert ws.receive_json() == {"type": "pong"}
    lines = [r for r in caplog.records if r.name.startswith("emorec.server")]
    assert len(lines) == 2 and all(r.exc_info is None and "RuntimeError: detector crashed" in r.getMessage()
                                   for r in lines)


def test_a_full_disk_during_an_upload_is_a_507_and_leaves_nothing(client, monkeypatch, caplog):
    import errno

    import emorec.server.jobs

    async def disk_full(request, path, limit_bytes):
        path.write_bytes(b"half a video")
        raise OSError(errno.ENOSPC, "No space left on device")          # as a write() says it: no file name
    monkeypatch.setattr(emorec.server.jobs, "_save_body", disk_full)
    jobs_dir = client.app.state.jobs.root
    before = set(jobs_dir.iterdir())
    response = client.post("/api/jobs?name=clip.mp4", content=b"x" * 1000)
    assert response.status_code == 507 and "the server's disk is full" in response.json()["error"]
    assert str(jobs_dir) not in response.json()["error"]           # no server paths
    assert set(jobs_dir.iterdir()) == before
    [line] = [r for r in caplog.records if r.name.startswith("emorec.server")]
    assert line.exc_info is None and "the disk is full" in line.getMessage()
    assert f"POST /api/jobs failed: cannot write {jobs_dir}" in line.getMessage()     # the operator's log says where


def test_each_stream_has_its_own_tracker_and_bad_messages_keep_it_open(client):
    with client.websocket_connect("/api/stream") as a, client.websocket_connect("/api/stream") as b:
        a.send_bytes(frame_message(1, astronaut()))
        first = a.receive_json()
        b.send_bytes(frame_message(1, astronaut(mirror=True)))     # the face elsewhere: a new track for a shared
        other = b.receive_json()                                     # tracker, id 1 again for its own
        assert first["type"] == other["type"] == "faces" and first["faces"][0]["id"] == other["faces"][0]["id"] == 1
        for seq in (2, 3):
            a.send_bytes(frame_message(seq, astronaut()))
            reply = a.receive_json()
            assert reply["seq"] == seq and reply["faces"][0]["id"] == 1
        cut = frame_message(9, astronaut())
        for bad, message in ((b"xy", "4-byte frame number"), (struct.pack("<I", 9) + b"junk", "not an image"),
                             (cut[:len(cut) // 2], "truncated")):
            a.send_bytes(bad)
            reply = a.receive_json()
            assert reply["type"] == "error" and message in reply["error"]
        a.send_text("not json")
        assert "unknown message" in a.receive_json()["error"]
        a.send_text('{"type": "reset"}')
        assert a.receive_json() == {"type": "reset"}
        a.send_bytes(frame_message(10, astronaut(mirror=True)))
        assert a.receive_json()["faces"][0]["id"] == 1             # ids start again after a reset
        a.send_bytes(struct.pack("<I", 11) + cv2.imencode(".png", astronaut(mirror=True))[1].tobytes())
        assert a.receive_json()["faces"][0]["id"] == 1             # PNG frames too


class GatedPool:
    """Recognition that holds its first frame until the test lets it go, so frames pile up meanwhile."""
    size, metadata = 1, {}

    def __init__(self, tmp_path):
        self.model_path = tmp_path / "m" / "emotion_cnn.h5"
        self.started, self.release = threading.Event(), threading.Event()

    def recognizer(self, **kw):
        def gated(frame):
            self.started.set()
            assert self.release.wait(30), "the test never released the first frame"
            return []
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


def test_a_video_job_runs_the_analyze_code_path_and_offers_its_files(client, tmp_path):
    video = small_video(tmp_path / "clip.avi").read_bytes()
    created = client.post("/api/jobs?name=interview.avi", content=video)
    assert created.status_code == 202
    job = created.json()
    assert len(job["id"]) == 16 and job["status"] in ("queued", "running", "done")
    state = wait_for(client, job["id"])
    assert state["status"] == "done" and state["frames_done"] == state["frames_total"] == 8
    assert state["progress"] == 1.0 and state["summary"].startswith("8 frames")
    assert set(state["files"]) == {"annotated", "frames_csv", "timeline", "summary"}
    rows = client.get(state["files"]["frames_csv"]).text.splitlines()
    assert rows[0].split(",") == CSV_COLUMNS and len(rows) == 9
    mp4 = client.get(state["files"]["annotated"])
    assert mp4.status_code == 200 and "interview-annotated.mp4" in mp4.headers["content-disposition"]
    assert client.get(state["files"]["timeline"]).headers["content-type"] == "image/png"
    summary = client.get(state["files"]["summary"]).json()
    assert summary["frames"] == 8 and summary["input"] == "interview.avi"
    assert str(client.app.state.jobs.root) not in json.dumps(summary)           # no server paths
    assert client.delete(f"/api/jobs/{job['id']}").json() == {"deleted": job["id"]}
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404


def test_bad_jobs_and_paths_outside_a_job_are_refused(client, tmp_path):
    jobs_dir = client.app.state.jobs.root
    before = set(jobs_dir.iterdir())
    bad = client.post("/api/jobs?name=clip.mp4", content=b"this is not a video")
    assert bad.status_code == 422 and "not a video" in bad.json()["error"]
    assert client.post("/api/jobs?name=notes.txt", content=b"x").status_code == 415
    form = client.post("/api/jobs?name=clip.mp4", files={"file": ("clip.mp4", b"x" * 100, "video/mp4")})
    assert form.status_code == 415 and "not a form" in form.json()["error"]
    assert client.post("/api/jobs?name=clip.mp4", content=b"").status_code == 400
    assert set(jobs_dir.iterdir()) == before                         # nothing left behind
    video = small_video(tmp_path / "clip.avi", frames=2).read_bytes()
    job = client.post("/api/jobs?name=clip.avi", content=video).json()
    wait_for(client, job["id"])
    for url in (f"/api/jobs/{job['id']}/files/..%2F..%2Fetc%2Fpasswd", f"/api/jobs/{job['id']}/files/input.avi",
                "/api/jobs/..%2F..%2Fetc/files/passwd", "/api/jobs/AAAAAAAAAAAAAAAA"):
        response = client.get(url)
        assert response.status_code == 404 and "error" in response.json()


def test_finished_jobs_are_swept_after_their_time(client, tmp_path):
    store = client.app.state.jobs
    job = client.post("/api/jobs?name=clip.avi", content=small_video(tmp_path / "c.avi", 2).read_bytes()).json()
    wait_for(client, job["id"])
    folder = store.root / job["id"]
    assert folder.is_dir()
    store.sweep(now=time.time() + store.ttl_s + 1)
    assert not folder.exists() and client.get(f"/api/jobs/{job['id']}").status_code == 404


def test_polls_sweep_the_jobs_folder_now_and_then_and_expired_jobs_still_go(client, tmp_path, monkeypatch):
    import emorec.server.jobs
    store = client.app.state.jobs
    job = client.post("/api/jobs?name=clip.avi", content=small_video(tmp_path / "c.avi", 2).read_bytes()).json()
    wait_for(client, job["id"])
    walks, size = [], emorec.server.jobs._size
    monkeypatch.setattr(emorec.server.jobs, "_size", lambda folder: walks.append(folder) or size(folder))
    store.sweep()
    for _ in range(20):                                   # a page polling its job
        assert client.get(f"/api/jobs/{job['id']}").status_code == 200
    assert len(walks) <= 2                                # not one walk of every job's files per poll
    store.jobs[job["id"]].finished_at -= store.ttl_s + 1
    store._swept_at -= emorec.server.jobs.SWEEP_EVERY_S          # the interval has passed: the next poll sweeps
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404 and not (store.root / job["id"]).exists()


def free_port():
    import socket
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


def test_serve_refuses_a_busy_port_saying_what_to_do_and_half_an_https_setup(tmp_path):
    import socket
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(InputError, match=f"cannot listen on 127.0.0.1:{port}") as e:
            serve(ServeOptions(), port=port)
        # the host is already 127.0.0.1: the way out is another port, or stopping the other server
        assert "--host" not in str(e.value) and "pass another --port, or stop that program" in str(e.value)
        assert "while attempting" not in str(e.value)
    with socket.create_server(("0.0.0.0", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(InputError, match="another --port.*or --host 127.0.0.1 to serve this machine only"):
            serve(ServeOptions(), host="0.0.0.0", port=port)
    for host in ("192.0.2.1", "nosuch.invalid"):           # TEST-NET-1, nobody's address; a name nobody has
        with pytest.raises(InputError, match=f"this machine has no address {host}: pass --host 127.0.0.1"):
            serve(ServeOptions(), host=host, port=free_port())
    with pytest.raises(InputError, match="both --cert and --key"):
        serve(ServeOptions(), cert=str(tmp_path / "c.pem"))


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
