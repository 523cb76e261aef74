"""emorec.server.http: request bodies, image decoding and the error responses."""

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from emorec.server.app import ServeOptions, create_app
from tests.helpers import astronaut, frame_message, jpeg, small_video


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


def test_a_405_names_every_method_of_its_path(client):
    response = client.put("/api/jobs/AAAAAAAAAAAAAAAA")
    assert response.status_code == 405 and response.headers["allow"] == "DELETE, GET" and "error" in response.json()
    assert client.post("/api/health").headers["allow"] == "GET"


class BrokenPool:
    """Recognition that fails with a bug."""
    size, metadata = 1, {}

    def __init__(self, tmp_path):
        self.model_path = tmp_path / "m" / "emotion_cnn.h5"

    def options(self, options=None):
        return options

    def recognizer(self, options=None, **changes):
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
