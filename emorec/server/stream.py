"""``WS /api/stream``: frames in, faces out, one tracker per connection, and the newest frame wins.

A reader task keeps only the latest frame a client sent (``dropped`` counts the ones it replaced); the loop
recognizes it on the recognition threads and replies. A bad message gets an error reply and the stream
stays open.
"""

import asyncio
import json
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect

from emorec.common.errors import InputError, error_message
from emorec.core.faces import Faces
from emorec.server import schema
from emorec.server.http import HttpError, decode_gray_frame, internal_error_text

log = logging.getLogger(__name__)
#: Stream messages: a 4-byte little-endian frame number, then the encoded image (JPEG, PNG or WebP).
HEADER = struct.Struct("<I")


def faces_payload(faces: Faces, frame: np.ndarray, started: float) -> schema.Faces:
    """The answer for ``faces`` found in ``frame`` since ``started`` (perf_counter)."""
    h, w = frame.shape[:2]
    return schema.Faces(width=w, height=h, faces=[schema.Face(**face) for face in faces.as_dicts()],
                        ms=round((time.perf_counter() - started) * 1e3, 2))


@dataclass
class _Inbox:
    """A stream's newest frame, shared by its reader task and its recognition loop (one event loop)."""
    frame: bytes | None = None
    dropped: int = 0
    closed: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)


async def run_stream(ws: WebSocket, recognizer: Any, in_executor: Callable[..., Awaitable[Any]]) -> None:
    """Newest frame wins: a reader task keeps only the latest frame; the loop recognizes it and replies."""
    inbox = _Inbox()

    async def reader() -> None:
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    inbox.dropped += inbox.frame is not None
                    inbox.frame = message["bytes"]
                    inbox.wake.set()
                elif message.get("text") is not None:
                    await _control(ws, recognizer, message["text"])
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            inbox.closed = True
            inbox.wake.set()

    task = asyncio.create_task(reader())
    try:
        while True:
            await inbox.wake.wait()
            inbox.wake.clear()
            if inbox.closed:
                break
            data, inbox.frame = inbox.frame, None
            if data is not None:
                reply = await in_executor(_recognize_message, recognizer, data)
                await ws.send_json({**reply, "dropped": inbox.dropped})
    except (WebSocketDisconnect, RuntimeError):
        pass    # the client went away mid-frame: nothing is kept for it
    finally:
        task.cancel()


def _recognize_message(recognizer: Any, data: bytes) -> dict[str, Any]:
    """One stream message → its reply: the faces, or an error that keeps the stream open."""
    if len(data) <= HEADER.size:
        return {"type": "error", "seq": None,
                "error": "a frame message is a 4-byte frame number followed by the image bytes (JPEG, PNG or WebP)"}
    (seq,) = HEADER.unpack_from(data)
    try:
        frame = decode_gray_frame(data[HEADER.size:])
        started = time.perf_counter()
        return {"type": "faces", "seq": seq, **faces_payload(recognizer(frame), frame, started).model_dump()}
    except HttpError as e:
        return {"type": "error", "seq": seq, "error": e.detail}
    except InputError as e:
        return {"type": "error", "seq": seq, "error": str(e)}
    except Exception as e:      # a bug: this frame fails, the stream goes on, the log gets one line
        log.error("stream frame %d: %s", seq, error_message(e, report="the server keeps running; please report it"))
        return {"type": "error", "seq": seq, "error": internal_error_text(e)}


async def _control(ws: WebSocket, recognizer: Any, text: str) -> None:
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
