"""Request bodies: read with limits (size, stalls, disconnects) and decoded as images; every refusal an
:class:`HttpError` with its status and a message for the client."""

import asyncio
import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from emorec.common.errors import EmorecError

#: Largest image accepted, in pixels: a 10,000×10,000 upload is refused before it is decoded.
MAX_PIXELS = 40_000_000


class HttpError(HTTPException, EmorecError):
    """A client error: an HTTP status and a message, ``detail``, shown to the client as ``{"error": detail}``."""


def _open_checked(data, max_pixels):
    """Pillow's view of the image bytes (only the header is read yet), with the size limit applied."""
    if not data:
        raise HttpError(400, "empty body: send the image's bytes (JPEG, PNG, WebP, BMP or TIFF)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # our own limit comes next
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise HttpError(415, "not an image this server can read; send JPEG, PNG, WebP, BMP or TIFF bytes") from None
    width, height = image.size
    if width * height > max_pixels:
        raise HttpError(413, f"image too large: {width}×{height} pixels; the limit is "
                             f"{max_pixels / 1e6:.0f} megapixels. Downscale it first.")
    return image


TRUNCATED = "the image is truncated or damaged; send the whole file"


def decode_image(data, max_pixels=MAX_PIXELS):
    """Image bytes → H×W×3 uint8 BGR (EXIF orientation applied), checked by decoding, not by name."""
    image = _open_checked(data, max_pixels)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError):
        raise HttpError(422, TRUNCATED) from None
    rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def decode_gray_frame(data, max_pixels=MAX_PIXELS):
    """A streamed frame → H×W uint8 gray: all recognition needs, and at camera rate half the decoding time
    of :func:`decode_image` (OpenCV straight to gray). A JPEG or PNG cut short is still refused."""
    image = _open_checked(data, max_pixels)
    ends = {"JPEG": (b"\xff\xd9",), "PNG": (b"IEND\xaeB`\x82",)}.get(image.format)
    if ends is not None and not data.rstrip(b"\0").endswith(ends):
        raise HttpError(422, TRUNCATED)
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return gray if gray is not None else cv2.cvtColor(decode_image(data, max_pixels), cv2.COLOR_BGR2GRAY)


#: Seconds an upload may go without sending anything before it is dropped (a stalled or slow-sending client).
STALL_S = 30.0


async def body_chunks(request, limit_bytes, stall_s=None):
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


async def read_body(request, limit_bytes):
    """The whole request body, with the limits of :func:`body_chunks`."""
    return b"".join([chunk async for chunk in body_chunks(request, limit_bytes)])
