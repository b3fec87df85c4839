"""Every response carries the security headers; the policy matches what the pages load."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.infra.assets import SCRIPTS
from app.web.infra.security import page_policy
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


def _framing(response: httpx.Response) -> tuple[bool, bool]:
    """(rendered in the embed layout, framable by any site)."""
    frame = _directives(response.headers["content-security-policy"])["frame-ancestors"]
    framable = frame == ["*", "file:"]
    assert ("x-frame-options" in response.headers) is not framable
    return 'class="site-header"' not in response.text, framable


EMBED_PAGES = {"/sim", "/gil", "/versions", "/gil/convoy", "/lab/cost", "/gil/timeline"}


def test_only_pages_rendered_in_their_embed_layout_may_be_framed(
    app: FastAPI, client: TestClient
) -> None:
    """Issue 16.5: `?embed=1` made every page frameable, its full layout or not. Each page,
    both ways: it may be framed exactly when it renders its embed layout."""
    embedded = set()
    for path in page_paths(app):
        for params in ({}, {"embed": "1"}):
            response = client.get(path, params=params, follow_redirects=False)
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            layout, framable = _framing(response)
            assert layout is framable, (path, params)
            if framable:
                assert params, path  # never without asking
                embedded.add(path)
    assert embedded >= EMBED_PAGES
    assert "/" not in embedded and "/lab" not in embedded and "/explore" not in embedded


@pytest.mark.parametrize(
    ("query", "embed"),
    [("embed=1&embed=0", False), ("embed=0&embed=1", True), ("embed=t", True),
     ("embed=on", True), ("embed=no", False), ("n=2&embed=true", True)],
)
def test_one_reading_of_embed_decides_the_layout_and_the_framing(
    client: TestClient, query: str, embed: bool
) -> None:
    response = client.get(f"/sim?{query}")
    assert response.status_code == 200
    assert _framing(response) == (embed, embed)


def test_a_page_without_an_embed_layout_is_never_framable(client: TestClient) -> None:
    for path in ("/", "/lab", "/challenges", "/no-such-page"):
        response = client.get(path, params={"embed": "1"})
        assert _framing(response) == (False, False), path


def test_a_kept_page_keeps_its_framing(client: TestClient) -> None:
    """The page cache answers without running the route: the framing comes back with it."""
    url = "/sim?scenario=inc-dec&n=3&step=2&embed=1"
    first, again = client.get(url), client.get(url)
    assert _framing(first) == _framing(again) == (True, True)
    assert _framing(client.get(url.replace("embed=1", "embed=0"))) == (False, False)


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


def test_pages_never_reference_the_cdn_by_default() -> None:
    """Offline unless GILLAB_OFFLINE=0: a failed CDN request is a console error on every page
    of a classroom without internet (Lighthouse's best practices count it)."""
    with TestClient(create_app(Settings.from_env({}))) as offline:
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
