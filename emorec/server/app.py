"""`python main.py serve`: the recognizer behind a web page and an HTTP API (FastAPI + uvicorn).

The same pipeline as the window (:class:`recognizer.Recognizer`) behind another front door:

- ``GET /`` the live page (the browser's camera, faces boxed on a canvas, bars, snapshot, record);
  ``GET /upload`` the upload page (images annotated at once, videos as jobs); scripts and styles are served
  from ``emorec/web/`` — no CDN, no build step.
- ``POST /api/recognize`` an image's bytes → faces as JSON (``?annotated=1``: the annotated PNG instead).
- ``WS /api/stream`` frames in, faces out; one tracker per connection; the newest frame wins.
- ``/api/jobs`` video jobs (create, progress, files, delete): the code path of ``main.py analyze``.
- ``GET /api/health`` model, classes, colours, CSV columns, the video file types jobs accept, versions.

Recognition runs in worker threads on an :class:`pool.EnginePool` (one interpreter per engine, no global
lock). Every error reaches the client as JSON ``{"error": "..."}`` with a 4xx status; never a stack trace.
"""

import asyncio
import contextlib
import ipaddress
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from emorec.common.artifacts import library_versions
from emorec.common.errors import EmorecError, InputError
from emorec.common.labels import COLORS_HEX, EMOTIONS, VIDEO_EXTENSIONS
from emorec.core.drawing import draw_faces
from emorec.core.recognizer import FULL_SCAN_EVERY
from emorec.core.records import CSV_COLUMNS
from emorec.core.tracking import DEFAULT_SMOOTHING
from emorec.server.http import HttpError, decode_gray_frame, decode_image, read_body
from emorec.server.jobs import JobStore
from emorec.server.pool import EnginePool

WEB_DIR = Path(__file__).resolve().parent / "web"
#: Stream messages: a 4-byte little-endian frame number, then the encoded image (JPEG, PNG or WebP).
HEADER = struct.Struct("<I")


@dataclass
class ServeOptions:
    model: str = None
    settings: object = None                      # detector.DetectorSettings
    smoothing: float = DEFAULT_SMOOTHING
    tta: bool = True
    detect_every: int = 1
    full_scan_every: int = FULL_SCAN_EVERY
    engines: int = 0                             # 0: one per core
    max_upload_mb: float = 200.0
    jobs_dir: str = ""                           # "": a temporary folder
    job_ttl_s: float = 3600.0
    jobs_max_mb: float = 2000.0


def faces_payload(faces, frame, started):
    h, w = frame.shape[:2]
    return {"width": w, "height": h, "faces": [f.as_dict() for f in faces],
            "ms": round((time.perf_counter() - started) * 1e3, 2)}


def create_app(options=None, pool=None):
    """The FastAPI app. ``pool``: an :class:`pool.EnginePool` (built from ``options`` when not given)."""
    options = options or ServeOptions()
    pool = pool or EnginePool(options.model, options.engines, options.settings)
    limit = int(options.max_upload_mb * 1e6)
    recognizer_kwargs = {"smoothing": options.smoothing, "tta": options.tta, "detect_every": options.detect_every,
                         "full_scan_every": options.full_scan_every}
    jobs = JobStore(pool, recognizer_kwargs, options.jobs_dir, options.job_ttl_s, options.jobs_max_mb * 1e6)

    # Decoding and recognition run on as many threads as there are engines: more would only wait for an
    # engine while holding their decoded frames (16 streams on 16 threads cost ~100 MB for nothing).
    executor = ThreadPoolExecutor(pool.size, thread_name_prefix="recognize")

    async def in_executor(fn, *args):
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        jobs.close()     # running jobs stop, their files go
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="emorec", version="1", summary="Facial emotion recognition: images, video jobs, streams",
                  docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None, lifespan=lifespan)
    app.state.pool, app.state.jobs = pool, jobs

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request, exc):
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": f"bad request: {where}"}, status_code=422)

    @app.exception_handler(EmorecError)
    async def emorec_error(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request, exc):
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); the server keeps running"},
                            status_code=500)

    @app.get("/", include_in_schema=False)
    async def live_page():
        return FileResponse(WEB_DIR / "live.html")

    @app.get("/upload", include_in_schema=False)
    async def upload_page():
        return FileResponse(WEB_DIR / "upload.html")

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/api/health")
    async def health():
        """Model, classes and their colours, the CSV columns recordings use, the file name endings of the
        videos ``/api/jobs`` accepts (the upload page sends those as jobs), versions."""
        return {"status": "ok", "model": pool.model_path.parent.name + "/" + pool.model_path.name,
                "arch": pool.metadata.get("arch"), "classes": list(EMOTIONS),
                "colors": COLORS_HEX, "csv_columns": CSV_COLUMNS, "video_extensions": sorted(VIDEO_EXTENSIONS),
                "tta": options.tta, "engines": pool.size,
                "max_upload_mb": options.max_upload_mb, "versions": library_versions()}

    @app.post("/api/recognize")
    async def recognize(request: Request, annotated: bool = False):
        """Body: an image's bytes (or a multipart form with one file). Returns the faces found, each with its
        box [x, y, w, h], label, confidence and all 7 probabilities; ``?annotated=1`` returns the annotated PNG."""
        data = await read_body(request, limit)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            data = await _first_file(request, data)
        frame = await in_executor(decode_image, data)
        started = time.perf_counter()
        faces = await in_executor(pool.recognizer(tta=options.tta).image, frame)
        if annotated:
            png = cv2.imencode(".png", draw_faces(frame, faces))[1].tobytes()
            return Response(png, media_type="image/png")
        return faces_payload(faces, frame, started)

    @app.websocket("/api/stream")
    async def stream(ws: WebSocket):
        """Binary messages: 4-byte little-endian frame number + image bytes; replies (JSON text):
        ``{"type": "faces", "seq", "width", "height", "faces", "ms", "dropped"}`` or
        ``{"type": "error", "seq", "error"}``. Text ``{"type": "reset"}`` forgets the tracks."""
        await ws.accept()
        await _stream(ws, pool.recognizer(**recognizer_kwargs), in_executor)

    jobs.add_routes(app, limit)
    return app


async def _first_file(request, body):
    from starlette.datastructures import UploadFile
    from starlette.requests import Request as StarletteRequest

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}
    bad_form = HttpError(400, "send one image, either as the request body or as the only file of a form")
    try:
        form = await StarletteRequest(request.scope, replay).form(max_files=1, max_fields=10)
    except (HTTPException, ValueError, KeyError):
        raise bad_form from None
    files = [v for v in form.values() if isinstance(v, UploadFile)]
    if not files:
        raise bad_form
    return await files[0].read()


async def _stream(ws, recognizer, in_executor):
    """Newest frame wins: a reader task keeps only the latest frame; the loop recognizes it and replies."""
    state = {"frame": None, "dropped": 0, "closed": False}
    wake = asyncio.Event()

    async def reader():
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    state["dropped"] += state["frame"] is not None
                    state["frame"] = message["bytes"]
                    wake.set()
                elif message.get("text") is not None:
                    await _control(ws, recognizer, message["text"])
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            state["closed"] = True
            wake.set()

    task = asyncio.create_task(reader())
    try:
        while True:
            await wake.wait()
            wake.clear()
            if state["closed"]:
                break
            data, state["frame"] = state["frame"], None
            if data is not None:
                reply = await in_executor(_recognize_message, recognizer, data)
                await ws.send_json({**reply, "dropped": state["dropped"]})
    except (WebSocketDisconnect, RuntimeError):
        pass    # the client went away mid-frame: nothing is kept for it
    finally:
        task.cancel()


def _recognize_message(recognizer, data):
    if len(data) <= HEADER.size:
        return {"type": "error", "seq": None,
                "error": "a frame message is a 4-byte frame number followed by the image bytes (JPEG, PNG or WebP)"}
    (seq,) = HEADER.unpack_from(data)
    try:
        frame = decode_gray_frame(data[HEADER.size:])
        started = time.perf_counter()
        return {"type": "faces", "seq": seq, **faces_payload(recognizer(frame), frame, started)}
    except HttpError as e:
        return {"type": "error", "seq": seq, "error": e.detail}
    except InputError as e:
        return {"type": "error", "seq": seq, "error": str(e)}


async def _control(ws, recognizer, text):
    import json
    try:
        message = json.loads(text)
        kind = message.get("type") if isinstance(message, dict) else None
    except ValueError:
        kind = None
    if kind == "reset":
        recognizer.reset()
        await ws.send_json({"type": "reset"})
    elif kind == "ping":
        await ws.send_json({"type": "pong"})
    else:
        await ws.send_json({"type": "error", "seq": None,
                            "error": 'unknown message: send frames as binary messages, or the text {"type": "reset"}'})


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(options, host="127.0.0.1", port=8000, cert=None, key=None):
    """Run the server until Ctrl-C; prints the URL (and a warning when others on the network can reach it)."""
    import socket

    import uvicorn
    if bool(cert) != bool(key):
        raise InputError("HTTPS needs both --cert and --key (a certificate and its private key, PEM files)")
    for path in (cert, key):
        if path and not Path(path).is_file():
            raise InputError(f"not found: {path}")
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as e:
        raise InputError(f"cannot listen on {host}:{port} ({e.strerror or e}): another program may use that port; "
                         "pass --port N (or --host 127.0.0.1)") from None
    app = create_app(options)
    scheme = "https" if cert else "http"
    shown = f"[{host}]" if ":" in host else host
    print(f"emorec is serving {app.state.pool.model_path} on {scheme}://{shown}:{port}/  (upload page: /upload, "
          f"API docs: /api/docs; Ctrl-C stops)")
    if not is_loopback(host):
        print(f"warning: --host {host} lets anyone who can reach this machine use the recognizer and upload files. "
              "Browsers allow the camera only on localhost or HTTPS: pass --cert/--key for other machines.")
    # No permessage-deflate: JPEG frames do not compress (99.5 %), and it cost ~3 ms a frame both ends.
    uvicorn.run(app, host=host, port=port, ssl_certfile=cert, ssl_keyfile=key, log_level="warning",
                ws_max_size=int(options.max_upload_mb * 1e6), ws_per_message_deflate=False)
