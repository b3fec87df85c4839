"""Lighthouse's best-practices category scores 100 on every page (issue 17, "Done when").

Lighthouse comes from the npm registry, pinned in package-lock.json (`make test` runs npm ci),
and drives the system Chromium. One Node process (best_practices.mjs) audits every selected
page in one browser, as on a phone (the script says why); each page is a test of its own here,
so a failure names the page and prints the audits that failed with what they found. Besides
console errors (failed requests included) it checks deprecated APIs, Chrome's issues panel,
charset, doctype, legible font sizes and images' sizes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser.pages import ERROR_PAGE, PAGES
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.serving import descendants, kill_all

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("best_practices.mjs")
LIGHTHOUSE = ROOT / "node_modules" / "lighthouse" / "package.json"

# Lighthouse judges a page by its document; a 404 document is a failed run, not a page to
# score (axe-core and the console check in test_accessibility cover the error page). The API
# reference is a page too (the vendored Swagger UI, which axe-core is excused from): it scores.
AUDITED = [*(path for path in PAGES if path != ERROR_PAGE), "/docs"]

Result = dict[str, Any]


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    if shutil.which("node") is None:
        return "no node (apt-get install npm; .ci/run does)"
    if not LIGHTHOUSE.exists():
        return f"no Lighthouse at {LIGHTHOUSE.parent}: run `npm ci` (make test does)"
    return None


def _selected(session: pytest.Session) -> list[str]:
    """The pages of this module's tests that will run (all of them, or what -k chose)."""
    paths = {
        item.callspec.params["path"]
        for item in session.items
        if isinstance(item, pytest.Function) and item.module is not None
        and item.module.__name__ == __name__ and hasattr(item, "callspec")
    }
    return [path for path in AUDITED if path in paths]


@pytest.fixture(scope="module")
def reports(request: pytest.FixtureRequest, live_server: str) -> dict[str, Result]:
    """Lighthouse's verdict per page, for every page selected, in one run."""
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI installs them: a check that skips there hides a bug
        pytest.skip(missing)
    paths = _selected(request.session)
    job = {
        "baseUrl": live_server, "paths": paths,
        "chromePath": str(CHROMIUM), "chromeFlags": CHROMIUM_ARGS,
    }
    with subprocess.Popen(
        ["node", str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
    ) as node:
        try:
            # About ten seconds a run on a loaded two-core machine: a ceiling, not a speed test.
            stdout, stderr = node.communicate(
                json.dumps(job), timeout=60 + 30 * len(paths)
            )
        except subprocess.TimeoutExpired:
            # chrome-launcher starts Chromium in a process group of its own: stop the tree.
            kill_all({node.pid, *descendants(node.pid)})
            raise
    assert node.returncode == 0, stderr
    results = [json.loads(line) for line in stdout.splitlines()]
    return {result["path"]: result for result in results}


def _describe(result: Result) -> str:
    lines = [
        f"{result['path']}: best practices {result['score']} ({result['seconds']:.1f} s)"
    ]
    if result["runtimeError"]:
        lines.append(f"  run failed: {result['runtimeError']}")
    for audit in result["failing"]:
        lines.append(f"  {audit['id']}: {audit['title']}")
        lines.extend(f"    {json.dumps(item)}" for item in audit["items"][:10])
    return "\n".join(lines)


@pytest.mark.parametrize("path", AUDITED)
def test_best_practices_score_100(reports: dict[str, Result], path: str) -> None:
    result = reports[path]
    assert result["score"] == 1, _describe(result)
