"""The join link and QR code a teacher projects: never built from a Host header nothing vouches
for (a forged one sent a class's phones elsewhere); GILLAB_PUBLIC_URL wins; the loopback
default and a dashboard opened at the machine's own address work; otherwise the dashboard
says how to get a link."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import segno
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.infra.public_url import Machine, this_machine
from app.web.infra.settings import Settings

FORGED = "evil.example:8000"
LAN = "http://192.168.1.20:8000"


@contextmanager
def _server(tmp_path: Path, base_url: str, **settings: object) -> Iterator[TestClient]:
    """The app, reached at `base_url` (its socket), on a machine whose address is LAN's."""
    app = create_app(Settings(live_db=str(tmp_path / "live.sqlite3"), **settings))  # type: ignore[arg-type]
    app.dependency_overrides[this_machine] = lambda: Machine(
        addresses=lambda: ("192.168.1.20",), in_container=False
    )
    with TestClient(app, base_url=base_url) as client:
        yield client


def _qr(url: str, code: str) -> str:
    """The QR code of `url`, drawn as the dashboard draws it."""
    svg = io.BytesIO()
    segno.make(url, error="m").save(
        svg, kind="svg", scale=10, border=2, xmldecl=False, title=f"Join class {code}")
    return svg.getvalue().decode()


def _open(client: TestClient, host: str | None = None) -> tuple[dict[str, str], str, str]:
    """A class opened through the API and its dashboard, asked for with Host `host`."""
    headers = {"host": host} if host else {}
    created = client.post("/api/classes", headers=headers).json()
    dashboard = client.get(f"/class/{created['code']}/teach", headers=headers).text
    return created, dashboard, created["code"]


def test_a_forged_host_never_reaches_a_join_link_or_qr_code(tmp_path: Path) -> None:
    with _server(tmp_path, LAN, host="0.0.0.0") as client:
        created, dashboard, code = _open(client, FORGED)
        assert "evil" not in str(created) and "evil" not in dashboard
        assert created["join_url"] == f"/class/{code}"  # a path: no host at all
        assert 'id="join-url"' not in dashboard and "qr.svg" not in dashboard
        assert "No join link or QR code yet" in dashboard and "GILLAB_PUBLIC_URL" in dashboard
        # What the teacher can do: open the dashboard at this machine's own address.
        assert f'href="{LAN}/class/{code}/teach" data-carry-token' in dashboard
        qr = client.get(f"/class/{code}/qr.svg", headers={"host": FORGED})
        assert qr.status_code == 409 and "GILLAB_PUBLIC_URL" in qr.text
        # The same dashboard at the machine's own address has its link and code.
        at_lan = client.get(f"/class/{code}/teach").text
        assert f'<a href="{LAN}/class/{code}" id="join-url">' in at_lan
        assert 'id="join-setup"' not in at_lan
        assert client.get(f"/class/{code}/qr.svg").text == _qr(f"{LAN}/class/{code}", code)


def test_the_public_url_setting_wins_over_any_host(tmp_path: Path) -> None:
    public = "https://gil.school.example"
    with _server(tmp_path, LAN, host="0.0.0.0", public_url=public) as client:
        for host in (FORGED, None):
            created, dashboard, code = _open(client, host)
            join = f"{public}/class/{code}"
            assert created["join_url"] == join
            assert created["teacher_url"].startswith(f"{public}/class/{code}/teach#token=")
            assert f'<a href="{join}" id="join-url">' in dashboard and "evil" not in dashboard
            assert 'id="join-setup"' not in dashboard
            # "Copy my teacher link", to open the dashboard on another device, goes there too.
            assert f'data-link="{public}/class/{code}/teach"' in dashboard
            headers = {"host": host} if host else {}
            qr = client.get(f"/class/{code}/qr.svg", headers=headers)
            assert qr.text == _qr(join, code)


def test_the_loopback_default_works_and_says_phones_need_more(tmp_path: Path) -> None:
    """`make run`: the server and the teacher's browser both on 127.0.0.1."""
    with _server(tmp_path, "http://127.0.0.1:8000") as client:
        created, dashboard, code = _open(client)
        join = f"http://127.0.0.1:8000/class/{code}"
        assert created["join_url"] == join
        assert f'<a href="{join}" id="join-url">' in dashboard
        qr = client.get(f"/class/{code}/qr.svg")
        assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
        assert qr.text.startswith("<svg") and f"Join class {code}" in qr.text
        assert qr.text == _qr(join, code)
        assert "works on this computer only" in dashboard and "GILLAB_HOST=0.0.0.0" in dashboard
        forged = client.get(f"/class/{code}/teach", headers={"host": FORGED}).text
        assert "evil" not in forged and 'id="join-url"' not in forged


def test_a_forged_host_on_loopback_is_refused_too(tmp_path: Path) -> None:
    """A local program (or a DNS-rebinding page in the teacher's browser) names another host."""
    with _server(tmp_path, "http://127.0.0.1:8000") as client:
        created, dashboard, code = _open(client, "localhost:9999")
        assert created["join_url"] == f"/class/{code}" and "9999" not in dashboard
        assert re.search(r'id="join-url"', dashboard) is None
