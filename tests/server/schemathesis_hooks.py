"""Schemathesis hooks for tests/server/test_schema.py (loaded by `st run` from SCHEMATHESIS_HOOKS).

The document says the bodies are images or videos, and a JSON Schema cannot say "bytes that decode": so
that schema-valid requests are valid, each media type the API documents gets a strategy that makes real
files of that type, small and varied (size, content, frame count), with OpenCV and Pillow.
"""

import io
import os
import tempfile

import cv2
import numpy as np
import schemathesis
from hypothesis import strategies as st
from PIL import Image

from emorec.server.schema import IMAGE_TYPES, VIDEO_TYPES

PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/bmp": "BMP", "image/tiff": "TIFF"}
pixels = st.tuples(st.integers(1, 64), st.integers(1, 64), st.integers(0, 2**32 - 1))


def noise(width, height, seed, channels=3):
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


def image_bytes(pil_format):
    def encode(size):
        buf = io.BytesIO()
        Image.fromarray(noise(*size)).save(buf, pil_format)
        return buf.getvalue()
    return pixels.map(encode)


def video_bytes(spec):
    """A few frames of noise as MP4 (mp4v) or AVI (MJPG): the server reads the content, whatever the name."""
    (width, height, seed), frames, mjpg = spec
    width, height = max(16, width - width % 2), max(16, height - height % 2)
    fd, path = tempfile.mkstemp(suffix=".avi" if mjpg else ".mp4")
    os.close(fd)
    try:
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*("MJPG" if mjpg else "mp4v")), 8, (width, height))
        for i in range(frames):
            writer.write(noise(width, height, seed + i))
        writer.release()
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


for media_type in IMAGE_TYPES:
    schemathesis.openapi.media_type(media_type, image_bytes(PIL_FORMATS[media_type]))
videos = st.tuples(pixels, st.integers(1, 3), st.booleans()).map(video_bytes)
for media_type in VIDEO_TYPES:
    schemathesis.openapi.media_type(media_type, videos)
