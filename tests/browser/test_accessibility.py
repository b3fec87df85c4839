"""axe-core on every page at 1280 and 360 px wide: zero violations (issue 17.14).

axe-core comes from the npm registry, pinned in package-lock.json (`make test` runs npm ci).
The site's Content-Security-Policy forbids injecting a script, so the check runs in a context
that bypasses it (TECH-NOTES, "Browser checks that catch classroom failures"). Also checked on
each page at both widths: no console error (Lighthouse's best-practices audit fails a page
for one; test_best_practices runs Lighthouse itself, as on a phone, on all but the error page).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.browser.pages import ERROR_PAGE, PAGES

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

WIDTHS = [1280, 360]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        missing = f"no axe-core at {AXE}: run `npm ci` (make test does)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return AXE.read_text()


@pytest.fixture(params=WIDTHS, ids=[f"{width}px" for width in WIDTHS])
def context(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    width: int = request.param
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    context.set_default_timeout(60_000)  # generous: pages and axe-core on a busy machine
    yield context
    context.close()


def _describe(violations: list[dict[str, object]]) -> str:
    lines = []
    for violation in violations:
        nodes = violation["nodes"]
        assert isinstance(nodes, list)
        targets = "; ".join(str(node["target"]) for node in nodes[:4])
        lines.append(f"{violation['id']} ({len(nodes)}): {violation['help']}: {targets}")
    return "\n".join(lines)


@pytest.mark.parametrize("path", PAGES)
def test_no_accessibility_violations_and_no_console_errors(
    context: BrowserContext, live_server: str, axe_source: str, path: str
) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server + path, wait_until="load")
    page.wait_for_load_state("networkidle")  # what htmx loads into the page is checked too
    page.add_script_tag(content=axe_source)
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    if path == ERROR_PAGE:  # its 404 is the page's own answer, not an error
        errors = [text for text in errors if "404" not in text]
    assert not violations, _describe(violations)
    assert not errors, errors


def test_a_live_class_dashboard_and_phone_page_have_no_violations(
    context: BrowserContext, live_server: str, axe_source: str
) -> None:
    """Pages of one class (they need a class, so they are not in PAGES): the dashboard with
    its join-link notice (a loopback server: the link works on this machine only), and the
    phone's join form."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server + "/class/new", wait_until="load")
    page.get_by_role("button", name="Open a class").click()
    page.locator("#join-setup").wait_for()
    code = page.locator("#live").get_attribute("data-code")
    for url in (page.url, f"{live_server}/class/{code}"):
        page.goto(url, wait_until="load")
        page.add_script_tag(content=axe_source)
        violations = page.evaluate("async () => (await axe.run(document)).violations")
        assert not violations, (url, _describe(violations))
    assert not errors, errors
