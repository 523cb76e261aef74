"""The HTTP API's contract as typed records: the response models FastAPI checks and documents, the request
bodies the routes read by hand (an image's or a video's bytes, or a form with one file), and every error
status an operation answers, each with the ``{"error": ...}`` body. ``/api/openapi.json`` is built from
these, so the document describes the API that runs (tests/server/test_schema.py fuzzes it with Schemathesis).
"""

import dataclasses
import re
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from emorec.common.labels import VIDEO_EXTENSIONS
from emorec.core import faces

#: The image types ``POST /api/recognize`` documents (Pillow reads them; the body is checked by decoding).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff")
#: The video types ``POST /api/jobs`` documents; the body's type is taken from ``?name=``, not from this header.
VIDEO_TYPES = ("video/mp4", "video/x-msvideo", "video/quicktime", "video/x-matroska", "video/webm",
               "application/octet-stream")


def _any_case(text: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


#: A video's file name: something before a dot and one of :data:`labels.VIDEO_EXTENSIONS`, in any case, after the
#: last slash. One pattern, written so that Python's ``re`` and the JSON Schema (ECMA) dialect read it alike:
#: the server checks names with it and the OpenAPI document states it.
VIDEO_NAME_PATTERN = (r"^(?:[^/]*/)*[^/]+\.(?:" +
                      "|".join(_any_case(e.lstrip(".")) for e in sorted(VIDEO_EXTENSIONS)) + r")$")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer."""
    error: str = Field(description="what was wrong, and what to do about it (each status's meaning is above it)")


def _face_model() -> type[BaseModel]:
    """One face as the API answers it (:meth:`faces.Face.as_dict`), built from :class:`faces.Face`'s fields: their
    types, descriptions, examples and checks, in :data:`faces.JSON_FIELDS` order."""
    fields = {f.name: f for f in dataclasses.fields(faces.Face)}
    declared: dict[str, Any] = {}
    for name in faces.JSON_FIELDS:
        about = dict(fields[name].metadata)
        json = dict(about["json"])
        declared[name] = (json.pop("type", fields[name].type),
                          Field(description=about["description"], examples=[about["example"]], **json))
    return create_model("Face", __doc__="One face: its track id, box, label and probabilities.", **declared)


Face = _face_model()


class Faces(BaseModel):
    width: int = Field(examples=[640])
    height: int = Field(examples=[480])
    faces: list[Face]  # type: ignore[valid-type]  # a model built from faces.Face (_face_model)
    ms: float = Field(description="milliseconds spent on recognition (decoding not included)", examples=[4.2])


class Health(BaseModel):
    status: Literal["ok"]
    model: str = Field(description="the live streams' model: its folder and file name")
    upload_model: str = Field(description="the model of images and video jobs (the same as `model` unless the server "
                                          "was started with --upload-model)")
    arch: str | None = Field(description="the model's architecture")
    classes: list[str] = Field(description="the emotions, in the order of the model's outputs")
    colors: dict[str, str] = Field(description="each emotion's colour, #rrggbb")
    csv_columns: list[str] = Field(description="the columns of per-frame CSVs (recordings, analyze, jobs)")
    video_extensions: list[str] = Field(description="file name endings that POST /api/jobs accepts")
    tta: bool = Field(description="whether each face is also classified mirrored")
    engines: int = Field(description="recognition engines shared by all clients")
    max_upload_mb: float
    versions: dict[str, str]
    serve_command: str = Field(description="how this server was started, for the pages' hints "
                                           "(e.g. `emorec serve` or `.venv/bin/python main.py serve`)")


class JobStatus(str, Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class JobState(BaseModel):
    id: str
    name: str = Field(description="the video's file name, as sent")
    status: JobStatus
    frames_done: int
    frames_total: int | None = Field(description="null until the video has been opened")
    progress: float = Field(ge=0, le=1)
    error: str | None = Field(description="why a failed job failed")
    summary: str | None = Field(description="what was found, once done")
    files: dict[str, str] = Field(description="once done: output name → its URL (annotated, frames_csv, timeline, "
                                              "summary)")


class Deleted(BaseModel):
    deleted: str


_BINARY = {"type": "string", "format": "binary"}


def body(description: str, media_types: tuple[str, ...], one_file_form: bool = False) -> dict[str, Any]:
    """An operation's ``openapi_extra`` for a body the route reads itself (bytes of ``media_types``, or a
    multipart form whose one field ``file`` holds them): FastAPI cannot see such a body."""
    content: dict[str, Any] = {t: {"schema": _BINARY} for t in media_types}
    if one_file_form:
        content["multipart/form-data"] = {
            "schema": {"type": "object", "properties": {"file": _BINARY}, "required": ["file"]},
            "encoding": {"file": {"contentType": ", ".join(media_types)}}}
    return {"requestBody": {"required": True, "description": description, "content": content}}


#: What each status means when an operation does not say more.
_MEANING = {
    400: "bad request",
    404: "not found",
    405: "this path does not have that method; the Allow header lists the ones it has",
    408: "the upload stalled: nothing was received for 30 s",
    413: "too large",
    415: "unsupported type",
    422: "a parameter or the content is not valid",
    500: "internal error: the error's type, never a stack trace; the server keeps running",
    507: "the server's disk is full",
}


def errors(meanings: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation's error statuses, each with the ``{"error": ...}`` body: those of
    ``meanings`` (status → what it means there; "" for the usual meaning), plus 405 (with its ``Allow`` header)
    and 500, which any operation can answer."""
    codes = dict(meanings)
    codes.setdefault(405, _MEANING[405])
    codes.setdefault(500, _MEANING[500])
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted(codes):
        out[code] = {"model": ErrorBody, "description": codes[code] or _MEANING[code]}
        if code == 405:
            out[code]["headers"] = {"Allow": {"description": "the methods this path has", "schema": {"type": "string"}}}
    return out


def without_guessed_422(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (FastAPI's OpenAPI) without the 422 FastAPI adds, in its own ``{"detail": [...]}`` shape, to
    every operation that has parameters: this API answers a bad parameter with ``{"error": ...}``, and the
    operations that can answer 422 say so with :func:`errors`."""
    for operation in (op for ops in document.get("paths", {}).values() for op in ops.values()):
        guessed = operation.get("responses", {}).get("422", {})
        if "HTTPValidationError" in str(guessed):
            del operation["responses"]["422"]
    schemas = document.get("components", {}).get("schemas", {})
    if "HTTPValidationError" not in str(document.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return document
