"""`python -m app` (what Docker and `gil-lab` run) serves with the settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

from app.web.serving import live_server


def test_several_workers_serve_one_port() -> None:
    with live_server(env={"GILLAB_WORKERS": "2"}) as server:
        for _ in range(10):
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as response:
                assert response.read() == b"ok"
                assert "server" not in {name.lower() for name in response.headers}


def test_a_bad_setting_stops_the_start_with_one_line_naming_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app"], env={**os.environ, "GILLAB_WORKERS": "many"},
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode != 0
    assert "GILLAB_WORKERS" in result.stderr
    assert "Traceback" not in result.stderr
