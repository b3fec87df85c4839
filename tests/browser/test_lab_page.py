"""The /lab page in headless Chromium at phone width: the stream appends each run and redraws
the histogram and summary out of band, and nothing overflows 360 px."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def lab_server() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[2],
        env={"GILLAB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (apt-get install chromium)")
def test_runs_stream_into_the_page_at_phone_width(lab_server: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 800})
            page.goto(
                f"{lab_server}/lab?run=true&experiment=inc-inc&mode=atomic&iterations=1000&runs=4"
            )
            page.wait_for_selector("#stream-status:has-text('Done: 4 runs')", timeout=20_000)
            assert page.locator("#run-list > li").count() == 4
            assert "Runs so far\n4" in page.locator("#summary").inner_text()
            assert page.locator("#histogram rect.bar.correct").count() == 1
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
        finally:
            browser.close()
