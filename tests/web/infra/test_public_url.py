"""The address a live class's join link and QR code point at (app.web.infra.public_url): never
one that only the request's Host header vouches for."""

from __future__ import annotations

import pytest

from app.web.infra.public_url import Machine, PublicBase, machine_addresses, resolve
from app.web.infra.settings import Settings

LAN = ("192.168.1.20", 8000)
ON_ZERO = Settings(host="0.0.0.0")  # a classroom server, bound to every address


def _machine(*addresses: str, in_container: bool = False) -> Machine:
    return Machine(addresses=lambda: addresses, in_container=in_container)


def _resolve(
    host: str,
    server: tuple[str, int | None] | None = LAN,
    settings: Settings = ON_ZERO,
    machine: Machine | None = None,
    scheme: str = "http",
) -> PublicBase:
    return resolve(
        host=host, scheme=scheme, server=server, settings=settings,
        machine=machine or _machine("192.168.1.20", "10.0.0.5"),
    )  # fmt: skip


@pytest.mark.parametrize(
    "forged",
    [
        "evil.example", "evil.example:8000", "192.168.1.66:8000", "192.168.1.20:8001",
        "evil.example@192.168.1.20:8000", "192.168.1.20:8000/x", "localhost:8000", "", "[::1]:8000",
    ],
)
def test_a_host_nothing_vouches_for_gives_no_link_but_this_machines_addresses(
    forged: str,
) -> None:
    public = _resolve(forged)
    assert public.url is None and public.link("/class/ABCDEF") is None
    assert public.addresses == ("http://192.168.1.20:8000", "http://10.0.0.5:8000")


def test_the_setting_wins_over_any_host() -> None:
    settings = Settings(host="0.0.0.0", public_url="https://gil.school.example")
    for host in ("evil.example", "192.168.1.20:8000", "localhost:8000"):
        public = _resolve(host, settings=settings)
        assert public.link("/class/ABCDEF") == "https://gil.school.example/class/ABCDEF"
        assert not public.local_only and public.addresses == ()


def test_a_host_that_is_the_socket_it_arrived_on_is_the_link() -> None:
    """A teacher who opened the dashboard at the machine's network address."""
    public = _resolve("192.168.1.20:8000")
    assert public.link("/class/ABCDEF") == "http://192.168.1.20:8000/class/ABCDEF"
    assert not public.local_only and public.addresses == ()  # nothing more to offer
    assert _resolve("[fe80::1]:8000", server=("fe80::1", 8000)).url == "http://[fe80::1]:8000"
    assert _resolve("10.1.1.1", server=("10.1.1.1", 80)).url == "http://10.1.1.1"


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST:8000"])
def test_the_loopback_default_works_and_says_it_is_for_this_machine_only(host: str) -> None:
    """`make run`: 127.0.0.1:8000, the teacher's browser on the same machine."""
    public = _resolve(host, server=("127.0.0.1", 8000), settings=Settings())
    assert public.url == f"http://{host.lower()}"
    assert public.local_only and public.listens_locally and public.addresses == ()
    on_zero = _resolve(host, server=("127.0.0.1", 8000))  # bound to 0.0.0.0: offer the LAN
    assert on_zero.local_only and on_zero.addresses == (
        "http://192.168.1.20:8000", "http://10.0.0.5:8000")
    assert _resolve("[::1]:8000", server=("::1", 8000)).url == "http://[::1]:8000"


def test_docker_port_mapping_needs_the_setting() -> None:
    """The socket is the container's: neither localhost nor the LAN address names it, and the
    container's own addresses are no use to a phone."""
    machine = _machine("172.17.0.2", in_container=True)
    for host in ("localhost:8000", "192.168.1.20:8000"):
        public = _resolve(host, server=("172.17.0.2", 8000), machine=machine)
        assert public.url is None and public.in_container and public.addresses == ()


def test_allowed_hosts_vouch_for_their_names_but_a_star_for_none() -> None:
    settings = Settings(host="0.0.0.0", allowed_hosts=("gil.school.example", "*.lab.example"))
    assert _resolve("gil.school.example", settings=settings).url == "http://gil.school.example"
    https = _resolve("a.lab.example:8443", settings=settings, scheme="https")
    assert https.link("/class/X") == "https://a.lab.example:8443/class/X"
    assert _resolve("gil.school.example:443", settings=settings, scheme="https").url == (
        "https://gil.school.example")
    assert _resolve("evil.example", settings=settings).url is None
    assert _resolve("evil.example", settings=Settings(allowed_hosts=("*",))).url is None


def test_a_server_bound_to_one_address_offers_that_one() -> None:
    public = _resolve("evil.example", settings=Settings(host="192.168.1.20"))
    assert public.addresses == ("http://192.168.1.20:8000",)
    no_tcp = _resolve("evil.example", server=("/run/gil.sock", None))
    assert no_tcp.url is None and no_tcp.addresses == ()


def test_this_machines_addresses_are_real_and_reachable_ones() -> None:
    for address in machine_addresses():
        assert not address.startswith(("127.", "169.254.")), address
