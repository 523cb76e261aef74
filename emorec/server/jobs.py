"""Video jobs for the server: upload → the ``main.py analyze`` code path → downloadable files.

A job's video is streamed to disk (refused past the upload limit, deleted if the client goes away), checked
by decoding its first frame, then analysed by :func:`emorec.analysis.outputs.analyze_one` on one background thread (one
video at a time, so live streams keep their share of the engines). Job ids are random; files are served
only by their output name, never by a path from the client. Finished jobs are deleted after ``--job-ttl``
minutes, oldest first when the jobs' folder passes :attr:`emorec.server.options.ServeOptions.jobs_max_mb`, and
all of them when the server stops.
"""

import asyncio
import re
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response

from emorec.analysis.analyze import describe_result, source_identity
from emorec.analysis.outputs import AnalyzeOptions, InputRecord, analysis_settings, analyze_one
from emorec.common.artifacts import read_json
from emorec.common.errors import Cancelled, SourceError, error_message, output_error
from emorec.common.labels import VIDEO_EXTENSIONS
from emorec.core.sources import Video
from emorec.server.http import HttpError, body_chunks
from emorec.server.options import ServeOptions
from emorec.server.schema import VIDEO_NAME_PATTERN, VIDEO_TYPES, Deleted, JobState, JobStatus, body, errors

_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")
_VIDEO_NAME = re.compile(VIDEO_NAME_PATTERN)
#: Seconds between the sweeps that polls trigger: a sweep walks every job's files, and a page polls its job
#: twice a second. Creating a job always sweeps first.
SWEEP_EVERY_S = 10.0
#: The output files a finished job offers, and their types.
FILE_TYPES = {"annotated": "video/mp4", "frames_csv": "text/csv", "timeline": "image/png",
              "summary": "application/json"}


def new_job_id() -> str:
    """A random job id (URL-safe) that never begins with '-' or '_', so that it cannot pass for a flag when a
    user pastes it into a command line."""
    while (job_id := secrets.token_urlsafe(12))[0] in "-_":
        pass
    return job_id


@dataclass(eq=False)
class Job:
    """One video job: written by the job's thread, read by the requests that poll it. Also the progress
    object :func:`outputs.analyze_one` updates (``total``, ``update``)."""
    id: str
    name: str
    folder: Path
    status: JobStatus = JobStatus.queued
    error: str | None = None
    record: InputRecord | None = field(default=None, repr=False)   # analyze's record, once finished
    total: int | None = None
    done: int = 0
    cancelled: bool = False
    finished_at: float | None = None

    # the tqdm-like progress protocol analyze uses
    def refresh(self) -> None:
        pass

    def update(self, n: int = 1) -> None:
        if self.cancelled:
            raise Cancelled("deleted by the client")
        self.done += n

    def outputs(self) -> dict[str, str]:
        """A finished job's output name → its file."""
        return dict(self.record.outputs or {}) if self.status is JobStatus.done and self.record else {}

    def state(self) -> JobState:
        done = self.status is JobStatus.done
        return JobState(id=self.id, name=self.name, status=self.status, frames_done=self.done,
                        frames_total=self.total,
                        progress=1.0 if done else min(1.0, round(self.done / self.total, 4)) if self.total else 0.0,
                        error=self.error, summary=describe_result(self.record) if done and self.record else None,
                        files={name: f"/api/jobs/{self.id}/files/{name}" for name in self.outputs()})


def prepare_root(root: str | Path = "") -> tuple[Path, bool]:
    """The jobs' folder (``root``, or a new temporary one when empty), created and checked writable once, at
    start: a read-only folder, or a file in the way, is an :class:`errors.OutputError` then, not a failed upload later.
    Returns the folder and whether it is a temporary one of our own."""
    where = str(root) if root else tempfile.gettempdir()
    try:
        path = Path(root) if root else Path(tempfile.mkdtemp(prefix="emorec-jobs-"))
        path.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(prefix=".write-check-", dir=path)).rmdir()
    except OSError as e:
        raise output_error(where, e, "keep video jobs in" + (" --jobs-dir" if root else " the temporary folder")) \
            from None
    return path, not root


class JobStore:
    """The server's video jobs: created from uploads, run one at a time, swept when old."""

    def __init__(self, pool: Any, options: ServeOptions) -> None:
        self.pool = pool
        # One recognizer's options for every job: the server's own settings, with the pool's detector and model.
        self.recognizer_options = pool.options(options.recognizer)
        # What each job's summary.json records: those settings and the model, worked out (the model's hash
        # included) once, by the first job, not per job.
        self.options = AnalyzeOptions(recognizer=self.recognizer_options)
        self._settings: dict[str, Any] | None = None
        self.root, self._own_root = prepare_root(options.jobs_dir)
        for folder in self.root.iterdir():   # jobs of a server that stopped without cleaning up (e.g. killed)
            if folder.is_dir() and _ID.match(folder.name) and (folder / "upload").is_dir():
                shutil.rmtree(folder, ignore_errors=True)
        self.ttl_s, self.max_bytes = options.job_ttl_s, options.jobs_max_mb * 1e6
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._swept_at = time.monotonic()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="video-job")

    def get(self, job_id: str) -> Job:
        if time.monotonic() - self._swept_at >= SWEEP_EVERY_S:
            self.sweep()
        job = self.jobs.get(job_id) if _ID.match(job_id or "") else None
        if job is None:
            raise HttpError(404, f"no job {job_id!r} (finished jobs are deleted after {self.ttl_s / 60:.0f} minutes)")
        return job

    async def create(self, request: Request, name: str, limit_bytes: int) -> Job:
        if not _VIDEO_NAME.fullmatch(name):
            raise HttpError(415, f"{name!r} is not a video file name; videos end in "
                                 f"{', '.join(sorted(VIDEO_EXTENSIONS))}")
        suffix = "." + name.rsplit(".", 1)[1].lower()
        self.sweep()
        job_id = new_job_id()
        job = Job(job_id, name.rsplit("/", 1)[-1], self.root / job_id)
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
        except BaseException as e:              # too large, undecodable, a full disk, or the client went away
            shutil.rmtree(job.folder, ignore_errors=True)
            if isinstance(e, OSError) and not e.filename:
                e.filename = str(upload)        # for the server's log: the file it could not write
            raise
        with self._lock:
            self.jobs[job_id] = job
        self._executor.submit(self._run, job, upload)
        return job

    def _run(self, job: Job, upload: Path) -> None:
        if job.cancelled:
            return
        job.status = JobStatus.running
        try:
            recognizer = self.pool.recognizer(self.recognizer_options)
            if self._settings is None:
                self._settings = analysis_settings(self.options)
            record = analyze_one(upload, job.folder / "result", source_identity(upload), self.options,
                                 recognizer, progress=job, settings=self._settings)
            if record.status == "done" and record.outputs is not None:
                record.outputs["summary"] = str(Path(record.folder) / "summary.json")
            job.record, job.error = record, record.reason
            job.status = JobStatus.done if record.status == "done" else JobStatus.failed
        except Exception as e:                  # the job fails, saying why; the server and other jobs go on
            job.error, job.status = error_message(e, upload, "analyse"), JobStatus.failed
        job.finished_at = time.time()
        upload.unlink(missing_ok=True)          # the outputs stay; the upload is not needed any more
        if job.cancelled:   # deleted while it ran: its folder went then, but the run may have made parts of it again
            shutil.rmtree(job.folder, ignore_errors=True)

    def delete(self, job_id: str) -> None:
        self._remove(self.get(job_id))

    def _remove(self, job: Job) -> None:
        job.cancelled = True
        with self._lock:
            self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def sweep(self, now: float | None = None) -> None:
        """Delete finished jobs past their age, then the oldest finished ones while the folder is too big."""
        self._swept_at = time.monotonic()
        now = now or time.time()
        with self._lock:
            finished = sorted((j for j in self.jobs.values() if j.finished_at), key=lambda j: j.finished_at or 0)
        for job in finished:
            if job.finished_at and now - job.finished_at > self.ttl_s:
                self._remove(job)
        finished = [j for j in finished if j.id in self.jobs]
        while finished and _size(self.root) > self.max_bytes:
            self._remove(finished.pop(0))

    def close(self) -> None:
        """Stop running jobs and delete every job's files (and the folder, if it was a temporary one)."""
        for job in list(self.jobs.values()):
            job.cancelled = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        for job in list(self.jobs.values()):
            self._remove(job)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def add_routes(self, app: FastAPI, limit_bytes: int) -> None:
        limit_mb = f"{limit_bytes / 1e6:.0f} MB"
        no_job = {404: "no such job (finished jobs are deleted after a while)"}

        created = {202: {"description": "the job, queued: poll its `id`"}, **errors({
            400: "an empty body, or the upload was interrupted", 408: "",
            413: f"the upload is over the limit ({limit_mb}; serve --max-upload-mb)",
            415: "`name` is not a video file name, or the body is a form (send the bytes)",
            422: "the video does not decode (damaged, empty, or an unsupported codec), or a bad parameter",
            507: ""})}
        video = body("the video's bytes (its type is taken from `name`; the content is checked by decoding it)",
                     VIDEO_TYPES)

        @app.post("/api/jobs", status_code=202, response_model=JobState, tags=["video jobs"],
                  summary="Start a video job", responses=created, openapi_extra=video)
        async def create_job(request: Request, name: str = Query(
                "video.mp4", description="the video's file name, ending in " +
                ", ".join(sorted(VIDEO_EXTENSIONS)) + " (any case): the downloads are named after it",
                json_schema_extra={"pattern": VIDEO_NAME_PATTERN})) -> JobState:
            """Start a video job: the code path of `main.py analyze`. Poll `GET /api/jobs/{id}` for its progress."""
            return (await self.create(request, name, limit_bytes)).state()

        @app.get("/api/jobs/{job_id}", response_model=JobState, responses=errors(no_job), tags=["video jobs"],
                 summary="A job's progress, and its files once done")
        async def job_state(job_id: str) -> JobState:
            """Status (queued, running, done, failed), frames done of total, the summary line and file URLs."""
            return self.get(job_id).state()

        @app.get("/api/jobs/{job_id}/files/{name}", response_class=Response, tags=["video jobs"],
                 summary="One output file of a finished job", responses={
            200: {"description": "the file", "content": {t: {} for t in FILE_TYPES.values()}},
            **errors({404: "no such job, or it has no such file (yet)"})})
        async def job_file(job_id: str, name: str = PathParam(
                description="which output", json_schema_extra={"enum": list(FILE_TYPES)})) -> Response:
            """One output of a finished job: annotated (MP4), frames_csv, timeline (PNG) or summary (JSON)."""
            job = self.get(job_id)
            outputs = job.outputs()
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

        @app.delete("/api/jobs/{job_id}", response_model=Deleted, responses=errors(no_job), tags=["video jobs"],
                    summary="Delete a job and its files")
        async def delete_job(job_id: str) -> Deleted:
            """Delete a job and its files (a running job stops at its next frame)."""
            self.delete(job_id)
            return Deleted(deleted=job_id)


async def _save_body(request: Request, path: Path, limit_bytes: int) -> None:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HttpError(415, "send the video's bytes as the request body (not a form), with ?name=FILE.mp4")
    size = 0
    with open(path, "wb") as f:
        async for chunk in body_chunks(request, limit_bytes):
            size += len(chunk)
            f.write(chunk)
    if size == 0:
        raise HttpError(400, "empty body: send the video's bytes")


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
