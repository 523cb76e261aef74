"""The OpenAPI document describes the API that runs: bodies, content types, every error status with its
``{"error": ...}`` body; and Schemathesis, fuzzing a live server from that document, finds no failure."""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path, PurePosixPath

import pytest

from emorec.common.labels import VIDEO_EXTENSIONS
from emorec.server.schema import IMAGE_TYPES, VIDEO_NAME_PATTERN

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document(live_server):
    with urllib.request.urlopen(live_server + "/api/openapi.json") as f:
        return json.load(f)


def operation(document, method, path):
    return document["paths"][path][method]


def test_the_upload_bodies_and_their_content_types_are_described(document):
    recognize = operation(document, "post", "/api/recognize")["requestBody"]
    assert recognize["required"] and set(recognize["content"]) == {*IMAGE_TYPES, "multipart/form-data"}
    form = recognize["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    jobs = operation(document, "post", "/api/jobs")
    assert jobs["requestBody"]["required"] and "video/mp4" in jobs["requestBody"]["content"]
    name = next(p for p in jobs["parameters"] if p["name"] == "name")
    assert name["schema"]["pattern"] == VIDEO_NAME_PATTERN
    assert set(operation(document, "post", "/api/recognize")["responses"]["200"]["content"]) == \
        {"application/json", "image/png"}


@pytest.mark.parametrize("method, path, statuses", [
    ("get", "/api/health", {"200", "405", "500"}),
    ("post", "/api/recognize", {"200", "400", "405", "408", "413", "415", "422", "500"}),
    ("post", "/api/jobs", {"202", "400", "405", "408", "413", "415", "422", "500", "507"}),
    ("get", "/api/jobs/{job_id}", {"200", "404", "405", "500"}),
    ("delete", "/api/jobs/{job_id}", {"200", "404", "405", "500"}),
    ("get", "/api/jobs/{job_id}/files/{name}", {"200", "404", "405", "500"}),
])
def test_every_status_an_operation_answers_is_documented_with_the_error_body(document, method, path, statuses):
    responses = operation(document, method, path)["responses"]
    assert set(responses) == statuses
    for status in statuses - {"200", "202"}:
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, status
    assert "Allow" in responses["405"]["headers"]
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["error"]
    assert "HTTPValidationError" not in json.dumps(document)           # FastAPI's {"detail": ...} is never sent


@pytest.mark.parametrize("name", ["clip.mp4", "a/b/Clip.MKV", "..mp4", ".x.webm", "a b.mpeg", ".mp4", "a/.mp4",
                                  "clip.mp4/", "clip.mp4\n", "clip", "", "clip.mp4.txt", "x.gif", "d.mp4/x"])
def test_the_name_pattern_agrees_with_file_name_suffixes(name):
    """One pattern checks names in the server and is the document's: what it accepts has a video suffix."""
    accepted = re.fullmatch(VIDEO_NAME_PATTERN, name) is not None
    has_suffix = "\n" not in name and not name.endswith("/") and PurePosixPath(name).suffix.lower() in VIDEO_EXTENSIONS
    assert accepted == has_suffix


def test_schemathesis_finds_no_failure_against_a_live_server(live_server, tmp_path):
    """`st run --checks all` as the issue ran it, fewer examples: every generated request (bodies from the
    document, real images and videos for its media types: schemathesis_hooks.py) gets a documented answer."""
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("schemathesis_hooks.py")),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    st = [sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"]
    run = subprocess.run([*st, "run", live_server + "/api/openapi.json", "--checks", "all", "--max-examples", "5",
                          "--seed", "24", "--generation-database", "none", "--no-color"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "No issues found" in run.stdout, run.stdout[-6000:] + run.stderr[-2000:]


def test_the_api_docs_give_the_package_version(document):
    from emorec import __version__
    assert document["info"]["version"] == __version__
