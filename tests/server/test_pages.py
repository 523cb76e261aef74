"""The pages load nothing from elsewhere: the API docs' Swagger UI files come from the fastapi-offline package
and are served by the app, like the favicon (the browser test, test_browser.py, opens them with no network)."""

import re
import urllib.request

import pytest

from emorec.server.pages import docs_assets, favicon


def get(url):
    with urllib.request.urlopen(url) as f:
        return f.status, f.headers.get_content_type(), f.read()


def test_the_docs_page_loads_its_script_style_and_icon_from_this_server(live_server):
    status, kind, page = get(live_server + "/api/docs")
    assert status == 200 and kind == "text/html"
    urls = re.findall(rb'(?:src|href)="([^"]+)"', page) + re.findall(rb"url: '([^']+)'", page)
    assert urls and all(u.startswith(b"/") for u in urls), urls          # no CDN, no other host
    assert {b"/api/docs/assets/swagger-ui-bundle.js", b"/api/docs/assets/swagger-ui.css", b"/favicon.ico",
            b"/api/openapi.json"} <= set(urls)
    for url, expected in (("/api/docs/assets/swagger-ui-bundle.js", "text/javascript"),
                          ("/api/docs/assets/swagger-ui.css", "text/css"), ("/favicon.ico", "image/x-icon")):
        status, kind, data = get(live_server + url)
        assert status == 200 and kind == expected and data


@pytest.mark.parametrize("name", ["swagger-ui-bundle.js", "swagger-ui.css"])
def test_the_docs_assets_come_from_the_installed_package(name):
    """fastapi-offline keeps them in its static/ folder; if a release moved them, this says so."""
    path = docs_assets() / name
    assert path.is_file() and path.stat().st_size > 100_000


def test_the_favicon_is_drawn_once_and_tiny():
    assert favicon() is favicon() and favicon()[:4] == b"\0\0\1\0" and len(favicon()) < 2000


def test_an_environment_without_the_docs_package_is_told_how_to_get_it(monkeypatch):
    import sys

    from emorec.common.errors import EmorecError
    monkeypatch.setitem(sys.modules, "fastapi_offline", None)        # as if it were not installed
    with pytest.raises(EmorecError, match=r"\S+ -m pip install fastapi-offline"):
        docs_assets()
