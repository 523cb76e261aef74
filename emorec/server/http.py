"""Request bodies: read with limits (size, stalls, disconnects) and decoded as images; every refusal an
:class:`HttpError` with its status and a message for the client. :func:`install_error_handlers` turns every
error, a bug included, into a ``{"error": ...}`` answer and at most one line in the server's log."""

import asyncio
import errno
import io
import logging
import warnings
from collections.abc import AsyncIterator

import cv2
import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from PIL import Image, ImageOps, UnidentifiedImageError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emorec.common.errors import EmorecError, error_message, output_error

log = logging.getLogger(__name__)

#: Largest image accepted, in pixels: a 10,000×10,000 upload is refused before it is decoded.
MAX_PIXELS = 40_000_000


class HttpError(HTTPException, EmorecError):
    """A client error: an HTTP status and a message, ``detail``, shown to the client as ``{"error": detail}``."""


#: Still-image formats of the ISO base media file format (the "ftyp" brand): the rest of that family is video.
_IMAGE_BRANDS = {b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"}


def video_container(data: bytes) -> str | None:
    """The container named by a video's first bytes ("MP4/MOV", "AVI", "Matroska/WebM", "FLV", "MPEG", "WMV"),
    or None: so that a video sent where an image goes is told where videos go."""
    head = data[:16]
    if head[4:8] == b"ftyp" and head[8:12] not in _IMAGE_BRANDS or head[4:8] in (b"moov", b"mdat", b"wide"):
        return "MP4/MOV"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "Matroska/WebM"
    if head[:3] == b"FLV":
        return "FLV"
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "MPEG"
    if head == bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"):
        return "WMV"
    return None


def video_here(container: str = "") -> HttpError:
    """The 415 for a video sent where an image goes."""
    return HttpError(415, f"a video{f' ({container})' if container else ''}, not an image: send videos to "
                          "POST /api/jobs?name=FILE.mp4 (the upload page does), images here")


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """Pillow's view of the image bytes (only the header is read yet), with the size limit applied."""
    if not data:
        raise HttpError(400, "empty body: send the image's bytes (JPEG, PNG, WebP, BMP or TIFF)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # our own limit comes next
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        container = video_container(data)
        if container:
            raise video_here(container) from None
        raise HttpError(415, "not an image this server can read; send JPEG, PNG, WebP, BMP or TIFF bytes") from None
    width, height = image.size
    if width * height > max_pixels:
        raise HttpError(413, f"image too large: {width}×{height} pixels; the limit is "
                             f"{max_pixels / 1e6:.0f} megapixels. Downscale it first.")
    return image


TRUNCATED = "the image is truncated or damaged; send the whole file"


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Image bytes → H×W×3 uint8 BGR (EXIF orientation applied), checked by decoding, not by name."""
    image = _open_checked(data, max_pixels)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError):
        raise HttpError(422, TRUNCATED) from None
    rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def decode_gray_frame(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A streamed frame → H×W uint8 gray: all recognition needs, and at camera rate half the decoding time
    of :func:`decode_image` (OpenCV straight to gray). A JPEG or PNG cut short is still refused."""
    image = _open_checked(data, max_pixels)
    ends = {"JPEG": (b"\xff\xd9",), "PNG": (b"IEND\xaeB`\x82",)}.get(image.format or "")
    if ends is not None and not data.rstrip(b"\0").endswith(ends):
        raise HttpError(422, TRUNCATED)
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return gray if gray is not None else cv2.cvtColor(decode_image(data, max_pixels), cv2.COLOR_BGR2GRAY)


#: Seconds an upload may go without sending anything before it is dropped (a stalled or slow-sending client).
STALL_S = 30.0


async def body_chunks(request: Request, limit_bytes: int, stall_s: float | None = None) -> AsyncIterator[bytes]:
    """The request body chunk by chunk, refused with 413 as soon as it passes ``limit_bytes`` (also when no
    length is sent), 408 when nothing arrives for ``stall_s`` seconds, 400 when the client goes away."""
    declared = request.headers.get("content-length")
    too_big = HttpError(413, f"upload too large: the limit is {limit_bytes / 1e6:.0f} MB (serve --max-upload-mb)")
    if declared and declared.isdigit() and int(declared) > limit_bytes:
        raise too_big
    stall_s = STALL_S if stall_s is None else stall_s
    size, stream = 0, request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), stall_s)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise HttpError(408, f"the upload stalled (nothing received for {stall_s:.0f} s)") from None
        except ClientDisconnect:
            raise HttpError(400, "the upload was interrupted") from None
        size += len(chunk)
        if size > limit_bytes:
            raise too_big
        yield chunk


async def read_body(request: Request, limit_bytes: int) -> bytes:
    """The whole request body, with the limits of :func:`body_chunks`."""
    return b"".join([chunk async for chunk in body_chunks(request, limit_bytes)])


def install_error_handlers(app: FastAPI) -> None:
    """Every error reaches the client as ``{"error": ...}`` (a 405 with its ``Allow`` header), and none reaches
    the server's terminal as a traceback: a full disk is a 507, any other failure to write a 500 naming it, a
    bug a 500 naming its type and one line in the log (``EMOREC_DEBUG=1`` adds the traceback)."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:     # Starlette names the methods of the first route on the path, not all
            headers["Allow"] = ", ".join(_methods(app, request.scope))
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": f"bad request: {where}"}, status_code=422)

    @app.exception_handler(EmorecError)
    async def emorec_error(request: Request, exc: EmorecError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> JSONResponse:
        # the operator's log names the file; the client learns what happened, not where the server keeps files
        log.error("%s %s failed: %s", request.method, request.url.path, output_error(exc.filename or "a file", exc))
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", None)):
            return JSONResponse({"error": "the server's disk is full: try again later, or ask whoever runs it to "
                                          "free some space"}, status_code=507)
        return JSONResponse({"error": f"the server cannot write its files ({exc.strerror or type(exc).__name__}); "
                                      "ask whoever runs it (the reason is in its log)"}, status_code=500)

    # Starlette hands an exception that no handler above took to its outermost layer, which answers 500 and
    # then raises it again for the server to print with its traceback: this layer, just inside, keeps it.
    app.add_middleware(_LastResort)


def _methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods of every route on the request's path."""
    methods: set[str] = set()
    for route in app.router.routes:
        if route.matches(scope)[0] is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


class _LastResort:
    """Answers a request that failed with a bug with a 500 (if nothing was sent yet; a WebSocket is closed
    with 1011) and logs one line for it, not a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] in ("http.response.start", "websocket.accept", "websocket.close")
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as e:
            log.error("%s %s failed: %s", scope.get("method", "WS"), scope.get("path", ""),
                      error_message(e, report="the server keeps running; please report it (EMOREC_DEBUG=1 shows "
                                              "the details)"))
            if scope["type"] == "http" and not started:
                await internal_error_response(e)(scope, receive, send)
            elif scope["type"] == "websocket":
                try:
                    await send({"type": "websocket.close", "code": 1011, "reason": internal_error_text(e)})
                except Exception:   # the connection is already gone
                    pass


def internal_error_text(error: BaseException) -> str:
    return f"internal error ({type(error).__name__}); the server keeps running"


def internal_error_response(error: BaseException) -> JSONResponse:
    return JSONResponse({"error": internal_error_text(error)}, status_code=500)

