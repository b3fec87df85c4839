"""Every page under the real Content-Security-Policy in Chromium: no violation, htmx running.

The header tests prove what the policy says; this proves the pages live with it (htmx's own
behaviour, the vendored fallback that static/js/loader.js adds, every stylesheet). Both with
the CDN tags (unreachable here, so the fallback runs) and in offline mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.main import create_app
from app.web.infra.settings import Settings
from app.web.infra.sitemap import page_paths
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.given_measurements import given_measurements
from tests.live_server import serve

playwright_api = pytest.importorskip("playwright.sync_api")

# Recorded before any page script runs, so a violation during parsing is caught too.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__violations.push(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""
# Every page, plus an error page: it is rendered from base.html like the rest.
PAGES = [path for path in page_paths(create_app(Settings())) if path != "/healthz"]
PAGES.append("/no-such-page")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module", params=["cdn-with-fallback", "offline"])
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    """The app served in a thread (the policy is the app's own header), its labs' measurements
    given: what is tested is each page under the policy, not what it measures (the GIL and
    native labs' pages took over 15 s at load 30)."""
    app = create_app(Settings(offline=request.param == "offline"))
    with given_measurements(app), serve(app) as url:
        yield url


@pytest.mark.parametrize("path", PAGES)
def test_page_runs_under_the_policy(browser: object, server: str, path: str) -> None:
    """(Embed mode loads the same scripts and styles; only its framing differs, tested below.)"""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    try:
        page.goto(server + path, wait_until="load")
        page.wait_for_function("() => window.htmx !== undefined")
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("() => window.__violations")
        assert page.evaluate("() => htmx.config.includeIndicatorStyles") is False
        assert page.evaluate("() => htmx.config.allowScriptTags") is False
        assert page.evaluate("() => typeof htmx.createEventSource") == "function"  # sse loaded
    finally:
        context.close()
    policy_messages = [text for text in console if "Content Security Policy" in text]
    assert not violations and not policy_messages, (violations, policy_messages)


@pytest.mark.parametrize("embed", [True, False], ids=["embed", "page"])
def test_only_embed_mode_can_be_framed_by_slides_on_disk(
    browser: object, server: str, tmp_path: Path, embed: bool
) -> None:
    """A teacher's slides are often a local HTML file: file:// must be admitted as a framer of
    a page in embed mode; the full page is never shown there (the frame says how to embed it)."""
    url = server + "/sim" + ("?embed=1" if embed else "")
    slides = tmp_path / "slides.html"
    slides.write_text(f'<!doctype html><iframe src="{url}" width="800" height="600"></iframe>')
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        with page.expect_response(url):
            page.goto(slides.as_uri(), wait_until="load")
        framed = page.frames[1]
        # Until the frame shows a page (the asked one, or /framed it was sent to), however
        # long a busy machine takes: a fixed 300 ms did not always see it loaded.
        framed.wait_for_selector("main#main", state="attached", timeout=30_000)
        shown = urlsplit(framed.url).path
        loaded = framed.evaluate("() => !!document.querySelector('main#main')")
    finally:
        context.close()
    assert loaded, framed.url
    assert shown == ("/sim" if embed else "/framed"), framed.url


def test_the_api_reference_works_offline_under_its_policy(
    browser: object, server: str
) -> None:
    """/docs draws every endpoint from the vendored Swagger UI; nothing is fetched elsewhere."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    elsewhere: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(server)
            else elsewhere.append(request.url))
    page.add_init_script(RECORD_VIOLATIONS)
    try:
        page.goto(server + "/docs", wait_until="load")
        page.wait_for_function("() => document.querySelectorAll('.opblock').length > 10")
        shown = page.locator(".opblock-summary-path").all_inner_texts()
        violations = page.evaluate("() => window.__violations")
    finally:
        context.close()
    assert "/api/explore" in shown and "/api/sim" in shown, shown
    assert not violations and not elsewhere, (violations, elsewhere)
