"""Every response carries the security headers; the policy matches what the pages load."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.infra.assets import SCRIPTS
from app.web.infra.security import is_embed, page_policy
from app.web.infra.settings import Settings
from app.web.infra.sitemap import page_paths


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


def test_scripts_come_only_from_this_site_and_the_pinned_cdn_files() -> None:
    script_src = _directives(page_policy(offline=False, embed=False))["script-src"]
    assert script_src[0] == "'self'"
    expected = {"'self'"} | {s.cdn_url for s in SCRIPTS} | {f"'{s.integrity}'" for s in SCRIPTS}
    assert set(script_src) == expected
    assert not any("unsafe" in source for source in script_src)


def test_offline_mode_admits_no_cdn_at_all() -> None:
    policy = page_policy(offline=True, embed=False)
    assert "cdn" not in policy
    assert _directives(policy)["script-src"] == ["'self'"]


def test_no_inline_styles_and_streams_only_to_this_site() -> None:
    directives = _directives(page_policy(offline=False, embed=False))
    assert directives["style-src"] == ["'self'"]
    # Besides this site, only the exact pinned CDN files, which static/js/loader.js probes.
    assert directives["connect-src"] == ["'self'", *(script.cdn_url for script in SCRIPTS)]
    assert directives["object-src"] == ["'none'"]


@pytest.mark.parametrize(
    ("query", "embed"),
    [(b"", False), (b"embed=1", True), (b"n=2&embed=true", True), (b"embed=0", False),
     (b"embed=", False), (b"xembed=1", False), (b"embed=%31", True)],
)
def test_embed_is_read_like_a_boolean_parameter(query: bytes, embed: bool) -> None:
    assert is_embed(query) is embed


def test_every_page_carries_the_headers(app: FastAPI, client: TestClient) -> None:
    paths = page_paths(app)
    assert "/healthz" in paths
    for path in paths:
        response = client.get(path, follow_redirects=False)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "same-origin", path
        assert response.headers["x-frame-options"] == "SAMEORIGIN", path
        frame = _directives(response.headers["content-security-policy"])["frame-ancestors"]
        assert frame == ["'self'"], path


def test_embed_mode_may_be_framed_anywhere(app: FastAPI, client: TestClient) -> None:
    for path in page_paths(app):
        response = client.get(path, params={"embed": "1"}, follow_redirects=False)
        assert "x-frame-options" not in response.headers, path
        frame = _directives(response.headers["content-security-policy"])["frame-ancestors"]
        assert frame == ["*", "file:"], path


def test_errors_and_static_files_carry_the_headers_too(client: TestClient) -> None:
    for path in ("/no-such-page", "/static/vendor/htmx-2.0.11.min.js", "/static/nope.js"):
        response = client.get(path)
        assert "content-security-policy" in response.headers, path
        assert response.headers["x-content-type-options"] == "nosniff", path


def test_api_docs_admit_exactly_their_own_inline_script(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "cdn.jsdelivr.net" not in response.text  # the vendored Swagger UI: works offline
    assert "https:" not in response.headers["content-security-policy"]
    script_src = _directives(response.headers["content-security-policy"])["script-src"]
    assert "'unsafe-inline'" not in script_src
    import base64
    import hashlib

    for body in re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src


def test_offline_pages_never_reference_the_cdn() -> None:
    with TestClient(create_app(Settings(offline=True))) as offline:
        response = offline.get("/no-such-page")  # any page rendered from base.html
        assert "cdn.jsdelivr.net" not in response.text
        assert "cdn.jsdelivr.net" not in response.headers["content-security-policy"]


def test_pages_have_no_inline_scripts_styles_or_handlers(app: FastAPI, client: TestClient) -> None:
    """What the CSP would block in a browser, caught here without one."""
    paths = [*page_paths(app), "/no-such-page"]
    for path in paths:
        response = client.get(path)
        if not response.headers["content-type"].startswith("text/html"):
            continue
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline <script> on {path}"
        assert not re.search(r"<style\b", html), f"<style> element on {path}"
        assert not re.search(r"\sstyle=", html), f"style= attribute on {path}"
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {path}"
        assert not re.search(r"\shx-on[:-]", html), f"hx-on (needs eval) on {path}"
        assert "javascript:" not in html, f"javascript: URL on {path}"
