"""`python main.py serve`: the recognizer behind a web page and an HTTP API (FastAPI + uvicorn).

The same pipeline as the window (:class:`recognizer.Recognizer`) behind another front door:

- ``GET /`` the live page (the browser's camera, faces boxed on a canvas, bars, snapshot, record);
  ``GET /upload`` the upload page (images annotated at once, videos as jobs); ``GET /api/docs`` the API's
  docs: all served by the app itself (:mod:`pages`) — no CDN, no build step.
- ``POST /api/recognize`` an image's bytes → faces as JSON (``?annotated=1``: the annotated PNG instead).
- ``WS /api/stream`` frames in, faces out; one tracker per connection; the newest frame wins.
- ``/api/jobs`` video jobs (create, progress, files, delete): the code path of ``main.py analyze``.
- ``GET /api/health`` the models (live, and uploads: ``serve --upload-model``), classes, colours, CSV columns,
  the video file types jobs accept, versions.

Recognition runs in worker threads on an :class:`pool.EnginePool` (one interpreter per engine, no global
lock). Every error reaches the client as JSON ``{"error": "..."}`` (:func:`http.install_error_handlers`), never a
stack trace, and the document at ``/api/openapi.json`` describes each operation's bodies and statuses
(:mod:`schema`).
"""

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import cv2
from fastapi import FastAPI, Query, Request, WebSocket
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request as StarletteRequest

from emorec import __version__
from emorec.common.artifacts import library_versions
from emorec.common.errors import InputError, ModelError
from emorec.common.invocation import command
from emorec.common.labels import COLORS_HEX, EMOTIONS, VIDEO_EXTENSIONS
from emorec.core.drawing import draw_faces
from emorec.core.records import CSV_COLUMNS
from emorec.network.files import resolve_model_path
from emorec.server.http import (
    HttpError,
    decode_image,
    install_error_handlers,
    read_body,
    video_here,
)
from emorec.server.jobs import JobStore, prepare_root
from emorec.server.options import ServeOptions
from emorec.server.pages import DOCS_URL, add_pages
from emorec.server.pool import EnginePool
from emorec.server.schema import IMAGE_TYPES, Faces, Health, body, errors, without_guessed_422
from emorec.server.stream import faces_payload, run_stream

log = logging.getLogger(__name__)
T = TypeVar("T")
API_DESCRIPTION = """Images (`POST /api/recognize`) and video jobs (`/api/jobs`) below; live streams over the
WebSocket `/api/stream` (binary messages: a 4-byte little-endian frame number, then JPEG/PNG/WebP bytes; one
tracker per connection; the newest frame wins). Every error is `{"error": "..."}` with its status."""
TAGS = [{"name": "images", "description": "one image in, its faces out; nothing is kept"},
        {"name": "video jobs", "description": "a video in, the files of `main.py analyze` out"},
        {"name": "server", "description": "what this server runs and accepts"}]


def create_app(options: ServeOptions | None = None, pool: Any = None, upload_pool: Any = None) -> FastAPI:
    """The FastAPI app. ``pool``: an :class:`pool.EnginePool` for live streams (built from ``options`` when not
    given); ``upload_pool``: the one for images and video jobs (default: built from ``options.upload_model``
    where that names another model, else ``pool``).

    The jobs' folder is checked first (an :class:`errors.OutputError` if it cannot be written), before the model loads.
    """
    options = options or ServeOptions()
    if options.jobs_dir:
        prepare_root(options.jobs_dir)      # before the model loads: a folder that cannot be written fails at once
    recognizing = options.recognizer
    upload_path = None
    if upload_pool is None and options.upload_model:
        try:                                # checked before any model loads, and named by its flag
            upload_path = resolve_model_path(options.upload_model)
        except ModelError as e:
            raise ModelError(f"--upload-model: {e}") from None
    pool = pool or EnginePool(recognizing.model, options.engines, recognizing.settings)
    uploads = upload_pool or pool
    if upload_path is not None and upload_path.resolve() != Path(pool.model_path).resolve():
        uploads = EnginePool(upload_path, options.engines, recognizing.settings)
    limit = options.limit_bytes
    jobs = JobStore(uploads, options)

    # Decoding and recognition run on as many threads as there are engines: more would only wait for an
    # engine while holding their decoded frames (16 streams on 16 threads cost ~100 MB for nothing). Uploads
    # on their own model have their own threads, so that a burst of them never holds up the live streams.
    executor = ThreadPoolExecutor(pool.size, thread_name_prefix="recognize")
    upload_executor = executor if uploads is pool else ThreadPoolExecutor(uploads.size, thread_name_prefix="upload")

    def running_on(threads: ThreadPoolExecutor) -> Callable[..., Awaitable[Any]]:
        async def run(fn: Callable[..., T], *args: Any) -> T:
            return await asyncio.get_running_loop().run_in_executor(threads, fn, *args)
        return run
    in_executor, in_upload_executor = running_on(executor), running_on(upload_executor)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.close()     # running jobs stop, their files go
        for each in {executor, upload_executor}:
            each.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="emorec", version=__version__,
                  summary="Facial emotion recognition: images, video jobs, streams",
                  description=API_DESCRIPTION, openapi_tags=TAGS, docs_url=None, openapi_url="/api/openapi.json",
                  redoc_url=None, lifespan=lifespan)
    app.state.pool, app.state.uploads, app.state.jobs = pool, uploads, jobs
    install_error_handlers(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = without_guessed_422(FastAPI.openapi(app))
        return app.openapi_schema
    app.openapi = openapi  # type: ignore[method-assign]   # FastAPI's documented way to adjust the document
    add_pages(app)

    @app.get("/api/health", response_model=Health, responses=errors({}), tags=["server"],
             summary="The models, the classes and their colours, and what the server accepts")
    async def health() -> Health:
        """The models (live streams', and uploads'), classes and their colours, the CSV columns recordings
        use, the file name endings of the videos `/api/jobs` accepts (the upload page sends those as jobs), versions."""
        return Health(status="ok", model=shown_model(pool.model_path), upload_model=shown_model(uploads.model_path),
                      arch=pool.metadata.get("arch"), classes=list(EMOTIONS), colors=COLORS_HEX,
                      csv_columns=CSV_COLUMNS, video_extensions=sorted(VIDEO_EXTENSIONS), tta=recognizing.tta,
                      engines=pool.size, max_upload_mb=options.max_upload_mb, versions=library_versions(),
                      serve_command=f"{command()} serve")

    recognized = {200: {"description": "the faces found; with `annotated=true`, the image with them drawn, as PNG",
                        "content": {"image/png": {}}}, **errors({
        400: "an empty body, a form without exactly one file, or the upload was interrupted", 408: "",
        413: f"the upload is over the limit ({options.max_upload_mb:.0f} MB; serve --max-upload-mb) or the image "
             "over 40 megapixels",
        415: "not an image this server reads (a video: send it to POST /api/jobs)",
        422: "the image is truncated or damaged, or a bad parameter"})}
    image = body("an image's bytes (checked by decoding them, whatever the Content-Type), or a form with one file",
                 IMAGE_TYPES, one_file_form=True)

    @app.post("/api/recognize", response_model=Faces, tags=["images"], summary="The faces in one image",
              responses=recognized, openapi_extra=image)
    async def recognize(request: Request, annotated: bool = Query(
            False, description="return the annotated image (PNG) instead of JSON")) -> Faces | Response:
        """The faces in one image, each with its box [x, y, w, h], label, confidence and all 7 probabilities.
        Stateless: each image is recognized on its own."""
        if request.headers.get("content-type", "").startswith("video/"):
            raise video_here()
        data = await read_body(request, limit)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            data = await _first_file(request, data)
        frame = await in_upload_executor(decode_image, data)
        started = time.perf_counter()
        faces = await in_upload_executor(uploads.recognizer(recognizing).image, frame)
        if annotated:
            png = cv2.imencode(".png", draw_faces(frame, faces))[1].tobytes()
            return Response(png, media_type="image/png")
        return faces_payload(faces, frame, started)

    @app.websocket("/api/stream")
    async def stream(ws: WebSocket) -> None:
        """Binary messages: 4-byte little-endian frame number + image bytes; replies (JSON text):
        ``{"type": "faces", "seq", "width", "height", "faces", "ms", "dropped"}`` or
        ``{"type": "error", "seq", "error"}``. Text ``{"type": "reset"}`` forgets the tracks."""
        await ws.accept()
        await run_stream(ws, pool.recognizer(recognizing), in_executor)

    jobs.add_routes(app, limit)
    return app


def shown_model(path: Path) -> str:
    """A model as the server names it: its folder and file name (``default/emotion_cnn.h5``)."""
    return path.parent.name + "/" + path.name


async def _first_file(request: Request, body: bytes) -> bytes:

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}
    bad_form = HttpError(400, "send one image, either as the request body or as the only file of a form")
    try:
        form = await StarletteRequest(request.scope, replay).form(max_files=1, max_fields=10)
    except (HTTPException, ValueError, KeyError):
        raise bad_form from None
    files = [v for v in form.values() if isinstance(v, UploadFile)]
    if not files:
        raise bad_form
    if (files[0].content_type or "").startswith("video/") or Path(files[0].filename or "").suffix.lower() \
            in VIDEO_EXTENSIONS:
        raise video_here()
    return await files[0].read()


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_listen(host: str, port: int) -> None:
    """Refuse at once, with what to do, an address this server could not listen on."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as e:
        # create_server adds "(while attempting to bind ...)" to the reason: the message says where already
        reason = os.strerror(e.errno) if e.errno and e.errno > 0 else e.strerror or str(e)
        where = f"cannot listen on {host}:{port} ({reason})"
        if e.errno == errno.EADDRINUSE:
            fix = "another program (another emorec serve?) uses that port: pass another --port, or stop that program"
            if not is_loopback(host):
                fix += ", or --host 127.0.0.1 to serve this machine only"
        elif e.errno == errno.EACCES and port < 1024:
            fix = "ports below 1024 need administrator rights: pass --port 8000 (or another above 1023)"
        elif e.errno == errno.EADDRNOTAVAIL or isinstance(e, socket.gaierror) or (e.errno or 0) < 0:
            where = f"cannot listen on {host}:{port}"
            fix = f"this machine has no address {host}: pass --host 127.0.0.1 (this machine only) or 0.0.0.0 " \
                  "(all its networks)"
        else:
            fix = "pass another --port or --host"
        raise InputError(f"{where}: {fix}") from None


def serve(options: ServeOptions) -> None:
    """Run the server until Ctrl-C; logs the URL (and a warning when others on the network can reach it).

    Everything that can be checked before serving is, each an :class:`errors.EmorecError` naming the fix: the
    certificate pair, the address, the jobs' folder, the model."""
    import uvicorn
    host, port, cert, key = options.host, options.port, options.cert, options.key
    if bool(cert) != bool(key):
        raise InputError("HTTPS needs both --cert and --key (a certificate and its private key, PEM files)")
    for path in (cert, key):
        if path and not Path(path).is_file():
            raise InputError(f"not found: {path}")
    check_listen(host, port)
    app = create_app(options)
    scheme = "https" if cert else "http"
    shown = f"[{host}]" if ":" in host else host
    uploads = "" if app.state.uploads is app.state.pool else f" (uploads: {app.state.uploads.model_path})"
    log.info(f"emorec is serving {app.state.pool.model_path}{uploads} on {scheme}://{shown}:{port}/  (upload page: "
             f"/upload, API docs: {DOCS_URL}; Ctrl-C stops)")
    if not is_loopback(host):
        log.warning(f"warning: --host {host} lets anyone who can reach this machine use the recognizer and upload "
                    "files. Browsers allow the camera only on localhost or HTTPS: pass --cert/--key for other "
                    "machines.")
    # No permessage-deflate: JPEG frames do not compress (99.5 %), and it cost ~3 ms a frame both ends.
    uvicorn.run(app, host=host, port=port, ssl_certfile=cert, ssl_keyfile=key, log_level="warning",
                ws_max_size=options.limit_bytes, ws_per_message_deflate=False)
