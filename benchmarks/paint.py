"""First paint and htmx while the CDN hangs, as behind a school firewall (issue 17.1).

    .venv/bin/python benchmarks/paint.py [--loads 5]

It starts its own server (`python -m app`, default settings: scripts from the CDN with the
vendored fallback) and opens each page `--loads` times in the system Chromium with every
third-party request left hanging. For each page it prints, in ms (median and worst):
- paint: first contentful paint after the HTML arrived (responseEnd);
- htmx: from the HTML's arrival to htmx running from the site's own copy.

Targets: paint <= 1000 ms; htmx about a second (the loader's patience) after the page loaded,
never the 15 s a classroom's firewall held requests. tests/browser/test_network.py checks the
order of these events (paint before the CDN is given up), which holds however busy the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Browser, Route, sync_playwright

from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.serving import live_server

PAGES = ["/sim", "/", "/lessons/lost-updates", "/gil"]
PAINT_TARGET_MS = 1000.0
FIGURES = """() => ({
    paint: performance.getEntriesByName('first-contentful-paint')[0].startTime
        - performance.getEntriesByType('navigation')[0].responseEnd,
    htmx: performance.now() - performance.getEntriesByType('navigation')[0].responseEnd,
})"""


def _hang(route: Route) -> None:
    """Never answer: the request stays pending, as behind a firewall that drops packets."""


def measure(browser: Browser, url: str) -> dict[str, float]:
    context = browser.new_context()
    context.set_default_timeout(60_000)
    origin = url.split("/", 3)[:3]
    context.route(lambda target: target.split("/", 3)[:3] != origin, _hang)
    page = context.new_page()
    try:
        page.goto(url, wait_until="load")
        page.wait_for_function(
            "() => performance.getEntriesByName('first-contentful-paint').length > 0"
        )
        page.wait_for_function("() => document.documentElement.dataset.scripts === 'vendored'")
        figures: dict[str, float] = page.evaluate(FIGURES)
        return figures
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with live_server() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for path in PAGES:
                runs = [measure(browser, server.url + path) for _ in range(args.loads)]
                paint = [run["paint"] for run in runs]
                htmx = [run["htmx"] for run in runs]
                verdict = "ok" if max(paint) <= PAINT_TARGET_MS else "OVER"
                print(
                    f"{path:24} paint median {statistics.median(paint):6.0f} ms, "
                    f"worst {max(paint):6.0f} ms ({verdict}); htmx median "
                    f"{statistics.median(htmx):6.0f} ms, worst {max(htmx):6.0f} ms"
                )
        finally:
            browser.close()


if __name__ == "__main__":
    main()
