"""Video jobs (emorec.server.jobs): uploads, results, sweeping, and a job deleted while it runs."""

import json
import threading
import time

import pytest

from emorec.core.records import CSV_COLUMNS
from tests.helpers import small_video, wait_for


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


def test_job_names_follow_the_documented_pattern(client, tmp_path):
    video = small_video(tmp_path / "clip.avi", frames=2).read_bytes()
    for name in (".mp4", "a/.mp4", "clip.mp4/", "clip.mp4.txt", "", "clip"):
        response = client.post("/api/jobs", params={"name": name}, content=video)
        assert response.status_code == 415 and "is not a video file name" in response.json()["error"], name
    job = client.post("/api/jobs", params={"name": "talks/Interview 2.AVI"}, content=video).json()
    assert job["name"] == "Interview 2.AVI"
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 200


def test_a_job_deleted_while_it_starts_writing_leaves_no_files(tmp_path, monkeypatch):
    """Deleted after the run made its result folder and opened the video, before its writers exist: they make
    the folder again, and the run stops at its first progress update; nothing of the job may be left."""
    from fastapi.testclient import TestClient

    import emorec.analysis.outputs
    from emorec.server.app import ServeOptions, create_app
    started, release, real_video = threading.Event(), threading.Event(), emorec.analysis.outputs.Video

    def held_video(*args, **kwargs):
        video = real_video(*args, **kwargs)
        started.set()
        assert release.wait(30), "the test never let the job go on"
        return video
    monkeypatch.setattr(emorec.analysis.outputs, "Video", held_video)
    jobs_dir = tmp_path / "jobs"
    with TestClient(create_app(ServeOptions(jobs_dir=str(jobs_dir), engines=1))) as c:
        created = c.post("/api/jobs?name=clip.avi", content=small_video(tmp_path / "c.avi", 4).read_bytes()).json()
        job = c.app.state.jobs.jobs[created["id"]]
        assert started.wait(30)                                       # the video is open; no writer yet
        assert c.delete(f"/api/jobs/{created['id']}").status_code == 200
        release.set()
        end = time.monotonic() + 30
        while job.finished_at is None and time.monotonic() < end:      # the run goes on, notices, and ends
            time.sleep(0.01)
        assert job.finished_at is not None
        assert not job.folder.exists() and list(jobs_dir.iterdir()) == []


def test_job_ids_never_begin_like_a_flag(monkeypatch):
    import secrets

    from emorec.server.jobs import new_job_id
    drawn = iter(["-abc", "_def", "Ghij"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(drawn))
    assert new_job_id() == "Ghij"


@pytest.mark.parametrize("live, uploads", [("fast", None), (None, "fast")])
def test_every_video_job_records_the_servers_own_settings(tmp_path, live, uploads):
    """Jobs run the server's settings, and its --upload-model where it has one."""
    from fastapi.testclient import TestClient

    from emorec.core.detector import DetectorSettings
    from emorec.core.options import RecognizerOptions
    from emorec.network.files import model_digest, resolve_model_path
    from emorec.server.app import ServeOptions, create_app
    recognizer = RecognizerOptions(model=live, settings=DetectorSettings(detector="haar", min_size=60, pad=0.05),
                                   smoothing=0.3, tta=False, full_scan_every=5)
    options = ServeOptions(recognizer=recognizer, engines=1, jobs_dir=str(tmp_path / "jobs"), upload_model=uploads)
    with TestClient(create_app(options)) as client:
        for name in ("one.avi", "two.avi"):
            job = client.post(f"/api/jobs?name={name}", content=small_video(tmp_path / name).read_bytes()).json()
            state = wait_for(client, job["id"])
            settings = client.get(state["files"]["summary"]).json()["settings"]
            assert settings["detector"]["detector"] == "haar" and settings["detector"]["min_size"] == 60
            assert settings["detector"]["pad"] == 0.05 and settings["smoothing"] == 0.3 and settings["tta"] is False
            assert settings["full_scan_every"] == 5
            assert settings["model"]["sha256"] == model_digest(resolve_model_path("fast"))
