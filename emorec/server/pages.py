"""The pages and everything they load, served by the app itself: no CDN, so they work with no internet.

- ``/`` the live page, ``/upload`` the upload page; their scripts and styles from ``web/`` under ``/static``.
- ``/api/docs`` the interactive API docs: FastAPI's Swagger UI page, with Swagger UI's script and style taken
  from the ``fastapi-offline`` package (the same Swagger UI 5 files FastAPI's page otherwise loads from a CDN)
  and served under ``/api/docs/assets`` (FastAPI's documented way to self-host them).
- ``/favicon.ico`` the icon, drawn here (a face in a box, the colours of the pages).
"""

import functools
import io
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image, ImageDraw

from emorec.common.errors import EmorecError
from emorec.common.invocation import python

WEB_DIR = Path(__file__).resolve().parent / "web"
DOCS_URL = "/api/docs"
DOCS_ASSETS_URL = DOCS_URL + "/assets"


def docs_assets() -> Path:
    """The folder of Swagger UI's ``swagger-ui-bundle.js`` and ``swagger-ui.css``, from the ``fastapi-offline``
    package (a runtime dependency)."""
    try:
        import fastapi_offline
    except ImportError:     # an environment made before it was a dependency
        raise EmorecError("the API docs need the fastapi-offline package, which this environment lacks: "
                          f"{python()} -m pip install fastapi-offline") from None
    return Path(fastapi_offline.__file__).resolve().parent / "static"


@functools.cache
def favicon() -> bytes:
    """The icon as ICO bytes (16 and 32 px): a dark tile with a face boxed in yellow, as the pages box faces."""
    size = 128
    tile = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tile)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=24, fill="#252526")
    yellow = "#fac828"
    draw.rectangle((22, 22, 105, 105), outline=yellow, width=9)            # the detection box
    for x in (47, 81):
        draw.ellipse((x - 7, 50, x + 7, 64), fill="#e8e8e8")                  # eyes
    draw.arc((40, 50, 88, 90), start=25, end=155, fill="#e8e8e8", width=8)    # a smile
    buf = io.BytesIO()
    tile.save(buf, "ICO", sizes=[(16, 16), (32, 32)])
    return buf.getvalue()


def add_pages(app: FastAPI) -> None:
    """The pages, their static files, the favicon and the API docs (``app`` made with ``docs_url=None``)."""

    @app.get("/", include_in_schema=False)
    async def live_page() -> FileResponse:
        return FileResponse(WEB_DIR / "live.html")

    @app.get("/upload", include_in_schema=False)
    async def upload_page() -> FileResponse:
        return FileResponse(WEB_DIR / "upload.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def icon() -> Response:
        return Response(favicon(), media_type="image/x-icon", headers={"cache-control": "max-age=86400"})

    @app.get(DOCS_URL, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "", title=f"{app.title} API",
                                   swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
                                   swagger_favicon_url="/favicon.ico")

    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=docs_assets()), name="docs-assets")
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
