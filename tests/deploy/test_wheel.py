"""The Docker path without Docker: build the wheels, install them with no index into a fresh
venv outside the checkout, serve from there and fetch every page and every static file.

This is what proves that templates/, static/ and the C extension ship inside the wheel (see
pyproject.toml's package-dir and package-data): nothing here can fall back on the checkout.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import venv
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from app.main import create_app
from app.web.infra.assets import STATIC_DIR
from app.web.infra.settings import Settings
from app.web.infra.sitemap import page_paths, templated_page_paths
from tests.serving import LiveServer, live_server

ROOT = Path(__file__).resolve().parents[2]
MAX_URLS = 400  # a bound on the crawl, far above what the site links to

pytestmark = pytest.mark.slow


def _ignored(relative: str, patterns: list[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, bare):
            return True
        if pattern.startswith("**/") and fnmatch.fnmatch(name, bare):
            return True
    return False


def _copy_build_context(destination: Path) -> None:
    """The files `docker build` would see: the checkout filtered by .dockerignore."""
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if any(_ignored(part, patterns) for part in _prefixes(relative)):
            continue
        if path.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _prefixes(relative: str) -> Iterator[str]:
    parts = relative.split("/")
    for end in range(1, len(parts) + 1):
        yield "/".join(parts[:end])


def _run(*command: str | Path, cwd: Path) -> None:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv, outside the checkout, with gil-lab installed from its wheel alone."""
    base = tmp_path_factory.mktemp("wheel")
    source, wheels, env = base / "src", base / "wheels", base / "venv"
    _copy_build_context(source)
    # As the Dockerfile's build stage: wheels of the app (compiling the C extension) and its deps.
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", wheels, source, cwd=base)
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    (wheel,) = wheels.glob("gil_lab-*.whl")
    # As the runtime stage: no index, only the wheels just built.
    _run(python, "-m", "pip", "install", "--quiet", "--no-index", "--find-links", wheels, wheel,
         cwd=base)
    return python


def test_the_installed_package_does_not_come_from_the_checkout(installed: Path) -> None:
    result = subprocess.run(
        [
            installed, "-c",
            "import app, app.web.infra.assets as a; print(app.__file__, a.TEMPLATES_DIR)",
        ],
        cwd=installed.parent.parent.parent, capture_output=True, text=True, check=True,
    )
    assert str(ROOT) not in result.stdout
    assert "site-packages" in result.stdout


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"href", "src", "data-vendored"} and value:
                self.links.append(value)


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("content-type", "")


def _route_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def _crawl(server: LiveServer) -> dict[str, int]:
    """Every page from the route table, then every same-site link that a route serves."""
    app = create_app(Settings())
    pages = page_paths(app)
    patterns = [_route_pattern(path) for path in [*pages, *templated_page_paths(app)]]
    queue = [*pages]
    statuses: dict[str, int] = {}
    while queue and len(statuses) < MAX_URLS:
        path = queue.pop(0)
        if path in statuses:
            continue
        status, body, content_type = _get(server.url + path)
        statuses[path] = status
        if status != 200 or not content_type.startswith("text/html"):
            continue
        parser = _Links()
        parser.feed(body.decode("utf-8", "replace"))
        for link in parser.links:
            target = urlsplit(urljoin(server.url + path, link))
            if target.netloc != urlsplit(server.url).netloc:
                continue
            wanted = target.path.startswith("/static/") or any(
                pattern.match(target.path) for pattern in patterns
            )
            # One URL per path: permalinks to other states of a page prove nothing more about
            # what the wheel ships, and pages link to many of them.
            if wanted and target.path not in statuses and target.path not in queue:
                queue.append(target.path)
    return statuses


def test_every_page_and_static_file_is_served_from_the_installed_wheel(
    installed: Path, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with live_server(python=installed, cwd=tmp_path, log=log, timeout=60) as server:
        statuses = _crawl(server)
        static_files = sorted(p.relative_to(STATIC_DIR).as_posix()
                              for p in STATIC_DIR.rglob("*") if p.is_file())
        for relative in static_files:
            statuses[f"/static/{relative}"] = _get(f"{server.url}/static/{relative}")[0]
        for path in ("/docs", "/openapi.json"):  # the footer's API link, and what it draws
            statuses[path] = _get(server.url + path)[0]
    failures = {path: status for path, status in statuses.items() if status != 200}
    assert not failures, f"not 200 from the installed wheel: {failures}\n{log.read_text()[-3000:]}"
    assert "/healthz" in statuses
    assert any(path.startswith("/static/vendor/") for path in statuses)
    # Every templated page (e.g. /lessons/{slug}) was reached through some link.
    crawled = [path.split("?", 1)[0] for path in statuses]
    for template in templated_page_paths(create_app(Settings())):
        pattern = _route_pattern(template)
        assert any(pattern.match(path) for path in crawled), f"no page links to {template}"
    print(f"{len(statuses)} URLs, all 200, from the installed wheel")


def test_the_wheel_carries_the_compiled_extension(installed: Path) -> None:
    if not (ROOT / "native").is_dir():
        pytest.skip("no native/ in this checkout yet")
    site = installed.parent.parent / "lib"
    assert list(site.glob("python*/site-packages/app/_native*.so")), "no C extension installed"


def test_the_seeds_programs_ship_built_and_run_without_a_compiler(
    installed: Path, tmp_path: Path
) -> None:
    # The Docker image has no compiler: the programs and their disassembly come from the build.
    site = installed.parent.parent / "lib"
    (built,) = site.glob("python*/site-packages/app/lab/_seed")
    assert {path.name for path in built.iterdir()} >= {"seed-O0", "seed-O2", "seed.json"}
    log = tmp_path / "server.log"
    with live_server(python=installed, cwd=tmp_path, log=log, timeout=60) as server:
        for opt in (0, 2):
            status, body, _ = _get(f"{server.url}/api/native/seed?opt={opt}")
            assert status == 200, body.decode()[-2000:] + log.read_text()[-2000:]
            answer = json.loads(body)
            assert answer["opt"] == opt and answer["loop_asm"] and answer["final_counts"]
            assert answer["compiler"]
