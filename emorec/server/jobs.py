"""Video jobs for the server: upload → the ``main.py analyze`` code path → downloadable files.

A job's video is streamed to disk (refused past the upload limit, deleted if the client goes away), checked
by decoding its first frame, then analysed by :func:`analyze.analyze_one` on one background thread (one
video at a time, so live streams keep their share of the engines). Job ids are random; files are served
only by their output name, never by a path from the client. Finished jobs are deleted after ``ttl_s``
seconds, oldest first when the jobs' folder passes ``max_bytes``, and all of them when the server stops.
"""

import asyncio
import re
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, JSONResponse

from emorec.analysis.analyze import describe_result, source_identity
from emorec.analysis.outputs import AnalyzeOptions, analyze_one
from emorec.common.artifacts import read_json
from emorec.common.errors import Cancelled, SourceError
from emorec.common.labels import VIDEO_EXTENSIONS
from emorec.core.sources import Video
from emorec.server.http import HttpError, body_chunks

_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")
#: Seconds between the sweeps that polls trigger: a sweep walks every job's files, and a page polls its job
#: twice a second. Creating a job always sweeps first.
SWEEP_EVERY_S = 10.0


class Job:
    """One video job; also the progress object :func:`analyze.analyze_one` updates (``total``, ``update``)."""

    def __init__(self, job_id, name, folder):
        self.id, self.name, self.folder = job_id, name, folder
        self.status, self.error, self.record = "queued", None, None
        self.total, self.done = None, 0
        self.cancelled = False
        self.finished_at = None

    # the tqdm-like progress protocol analyze uses
    def refresh(self):
        pass

    def update(self, n=1):
        if self.cancelled:
            raise Cancelled("deleted by the client")
        self.done += n

    def state(self):
        files, record = {}, self.record if self.status == "done" else None
        if record is not None:
            files = {name: f"/api/jobs/{self.id}/files/{name}" for name in record.outputs or {}}
        return {"id": self.id, "name": self.name, "status": self.status, "frames_done": self.done,
                "frames_total": self.total,
                "progress": 1.0 if self.status == "done" else round(self.done / self.total, 4) if self.total else 0.0,
                "error": self.error, "summary": describe_result(record) if record is not None else None,
                "files": files}


class JobStore:
    def __init__(self, pool, recognizer_kwargs, root="", ttl_s=3600.0, max_bytes=2e9):
        self.pool, self.recognizer_kwargs = pool, recognizer_kwargs
        self._own_root = not root
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="emorec-jobs-"))
        self.root.mkdir(parents=True, exist_ok=True)
        for folder in self.root.iterdir():   # jobs of a server that stopped without cleaning up (e.g. killed)
            if folder.is_dir() and _ID.match(folder.name) and (folder / "upload").is_dir():
                shutil.rmtree(folder, ignore_errors=True)
        self.ttl_s, self.max_bytes = ttl_s, max_bytes
        self.jobs, self._lock = {}, threading.Lock()
        self._swept_at = time.monotonic()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="video-job")

    def get(self, job_id):
        if time.monotonic() - self._swept_at >= SWEEP_EVERY_S:
            self.sweep()
        job = self.jobs.get(job_id) if _ID.match(job_id or "") else None
        if job is None:
            raise HttpError(404, f"no job {job_id!r} (finished jobs are deleted after {self.ttl_s / 60:.0f} minutes)")
        return job

    async def create(self, request, name, limit_bytes):
        suffix = Path(name or "video.mp4").suffix.lower()
        if suffix not in VIDEO_EXTENSIONS:
            raise HttpError(415, f"{name!r} is not a video file name; videos end in "
                                 f"{', '.join(sorted(VIDEO_EXTENSIONS))}")
        self.sweep()
        job_id = secrets.token_urlsafe(12)
        job = Job(job_id, Path(name).name if name else f"video{suffix}", self.root / job_id)
        # under the user's own name (made safe), which the timeline's title and summary.json show
        upload = job.folder / "upload" / (re.sub(r"[^\w.-]+", "_", Path(job.name).stem)[:80] + suffix)
        try:
            upload.parent.mkdir(parents=True)
            await _save_body(request, upload, limit_bytes)
            try:
                # checked by decoding, not by its name; off the event loop, which serves the live streams
                await asyncio.to_thread(lambda: Video(upload).close())
            except SourceError:
                raise HttpError(422, f"{job.name} is not a video this server can decode (damaged, empty or an "
                                     "unsupported codec)") from None
        except BaseException:                   # too large, undecodable, or the client went away
            shutil.rmtree(job.folder, ignore_errors=True)
            raise
        with self._lock:
            self.jobs[job_id] = job
        self._executor.submit(self._run, job, upload)
        return job

    def _run(self, job, upload):
        if job.cancelled:
            return
        job.status = "running"
        recognizer = self.pool.recognizer(**self.recognizer_kwargs)
        record = analyze_one(upload, job.folder / "result", source_identity(upload), AnalyzeOptions(),
                             recognizer, progress=job)
        if record.status == "done" and record.outputs is not None:
            record.outputs["summary"] = str(Path(record.folder) / "summary.json")
        job.record, job.finished_at = record, time.time()
        job.status = "done" if record.status == "done" else "failed"
        job.error = record.reason
        upload.unlink(missing_ok=True)          # the outputs stay; the upload is not needed any more

    def delete(self, job_id):
        self._remove(self.get(job_id))

    def _remove(self, job):
        job.cancelled = True
        with self._lock:
            self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def sweep(self, now=None):
        """Delete finished jobs past their age, then the oldest finished ones while the folder is too big."""
        self._swept_at = time.monotonic()
        now = now or time.time()
        with self._lock:
            finished = sorted((j for j in self.jobs.values() if j.finished_at), key=lambda j: j.finished_at)
        for job in finished:
            if now - job.finished_at > self.ttl_s:
                self._remove(job)
        finished = [j for j in finished if j.id in self.jobs]
        while finished and _size(self.root) > self.max_bytes:
            self._remove(finished.pop(0))

    def close(self):
        """Stop running jobs and delete every job's files (and the folder, if it was a temporary one)."""
        for job in list(self.jobs.values()):
            job.cancelled = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        for job in list(self.jobs.values()):
            self._remove(job)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def add_routes(self, app, limit_bytes):
        @app.post("/api/jobs", status_code=202)
        async def create_job(request: Request, name: str = "video.mp4"):
            """Body: a video's bytes; ``name``: its file name (for the type and the downloads). Returns the
            job's id; poll ``GET /api/jobs/{id}``."""
            return (await self.create(request, name, limit_bytes)).state()

        @app.get("/api/jobs/{job_id}")
        async def job_state(job_id: str):
            """Status (queued, running, done, failed), frames done of total, the summary line and file URLs."""
            return self.get(job_id).state()

        @app.get("/api/jobs/{job_id}/files/{name}")
        async def job_file(job_id: str, name: str):
            """One output of a finished job: annotated, frames_csv, timeline or summary."""
            job = self.get(job_id)
            outputs = (job.record.outputs or {}) if job.record is not None and job.status == "done" else {}
            if name not in outputs:
                raise HttpError(404, f"job {job_id} has no file {name!r}" +
                                (f"; it has {', '.join(outputs)}" if outputs else " (yet)"))
            path = Path(outputs[name])
            stem = Path(job.name).stem
            if name == "summary":     # the results, not where this server keeps its files
                summary = {k: v for k, v in read_json(path).items() if k not in ("folder", "outputs", "source")}
                return JSONResponse({**summary, "input": job.name},
                                    headers={"content-disposition": f'attachment; filename="{stem}-summary.json"'})
            return FileResponse(path, filename=f"{stem}-{path.name}")

        @app.delete("/api/jobs/{job_id}")
        async def delete_job(job_id: str):
            """Delete a job and its files (a running job stops at its next frame)."""
            self.delete(job_id)
            return {"deleted": job_id}


async def _save_body(request, path, limit_bytes):
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HttpError(415, "send the video's bytes as the request body (not a form), with ?name=FILE.mp4")
    size = 0
    with open(path, "wb") as f:
        async for chunk in body_chunks(request, limit_bytes):
            size += len(chunk)
            f.write(chunk)
    if size == 0:
        raise HttpError(400, "empty body: send the video's bytes")


def _size(folder):
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
