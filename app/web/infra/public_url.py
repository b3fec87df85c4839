"""The address other machines reach this site at: a live class's join link and its QR code.

A join link is projected to a room and scanned by every phone in it, so it must point at this
server whoever sent the request that drew it. The Host header is the client's word: a forged
request, a proxy that passes any name on, DNS rebinding or a stale cache can put another
machine's name there, and a QR code built from it sends a class to that machine. So the Host
is used only when something other than the client vouches for it:

1. `GILLAB_PUBLIC_URL`, when set, is the address, whatever the request says.
2. A Host named in `GILLAB_ALLOWED_HOSTS` (the operator listed it; other names get 400).
3. A Host that names the very socket the request arrived on (uvicorn's `server`: its IP and
   port), or `localhost` on a loopback socket: a link there reaches this server whatever the
   header claims. This is `make run` on 127.0.0.1, and a teacher who opened the dashboard at
   the machine's network address (http://192.168.1.20:8000) on a server bound to 0.0.0.0.

Otherwise the site knows no address to give: the dashboard says so and offers the way out,
this machine's own addresses (read from its interfaces, never from a request) to open the
dashboard at, or the setting. Behind Docker's port mapping or a proxy the socket is the
container's or the proxy's, so only the setting (or an allowed host) gives a join link there.
A loopback address is a good link for this machine only: the dashboard says phones need
another one.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.web.infra.deps import SettingsDep
from app.web.infra.settings import Settings

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WILDCARDS = {"", "0.0.0.0", "::"}
_LOOPBACK_NAMES = {"localhost"}
_HOST_NAME = re.compile(r"[a-z0-9.\-]+|[0-9a-f:.]+")  # a DNS name, an IPv4 or IPv6 address
# Docker and Podman mark their containers so; there the machine's own addresses are the
# container's, which no phone reaches.
_CONTAINER_MARKS = ("/.dockerenv", "/run/.containerenv")


NO_PUBLIC_URL = (
    "this server does not know the address students reach it at, and will not take it from "
    "the request's Host header: set GILLAB_PUBLIC_URL (e.g. http://192.168.1.20:8000)"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicBase:
    """Where students reach this site, as far as the server can vouch."""

    url: str | None  # "http://192.168.1.20:8000" (no trailing slash); None: not known
    local_only: bool  # a loopback address: only this machine can open links there
    listens_locally: bool  # the server is bound to loopback only: no phone can reach it
    in_container: bool  # the addresses below would be the container's: use the setting
    addresses: tuple[str, ...]  # this machine's own addresses, as base URLs, to offer

    def link(self, path: str) -> str | None:
        """`path` (absolute, on this site) at the public address, if there is one."""
        return None if self.url is None else self.url + path


def _split_host(host: str, scheme: str) -> tuple[str, int]:
    """A Host header → (name or IP without brackets, lower case; port, the scheme's default)."""
    name, port = host.strip().lower(), _DEFAULT_PORTS.get(scheme, 80)
    if name.startswith("["):  # [::1]:8000
        inside, _, rest = name[1:].partition("]")
        name, port_text = inside, rest.removeprefix(":")
    elif name.count(":") == 1:
        name, _, port_text = name.partition(":")
    else:
        port_text = ""
    if port_text:
        port = int(port_text) if port_text.isdigit() else -1
    return name, port


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _allowed(name: str, patterns: tuple[str, ...]) -> bool:
    """Starlette's TrustedHostMiddleware reading of GILLAB_ALLOWED_HOSTS, except that `*`
    (any name at all) vouches for none."""
    return any(
        pattern == name or (pattern.startswith("*.") and name.endswith(pattern[1:]))
        for pattern in patterns
    )


def _names_the_socket(name: str, port: int, server: tuple[str, int | None] | None) -> bool:
    """Whether the Host (`name`, `port`) is the socket the request arrived on."""
    if server is None or server[1] is None or port != server[1]:
        return False
    socket_ip, host_ip = _ip(server[0]), _ip(name)
    if socket_ip is None:
        return False
    if host_ip is not None:
        return host_ip == socket_ip
    return name in _LOOPBACK_NAMES and socket_ip.is_loopback


def _base(name: str, port: int, scheme: str) -> str:
    """A base URL rebuilt from parsed parts (never the header's own text)."""
    host = f"[{name}]" if ":" in name else name
    return f"{scheme}://{host}" + ("" if _DEFAULT_PORTS.get(scheme) == port else f":{port}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Machine:
    """What this machine says about itself, never what a request says."""

    addresses: Callable[[], tuple[str, ...]]  # asked only when there are addresses to offer
    in_container: bool


def resolve(
    *,
    host: str,
    scheme: str,
    server: tuple[str, int | None] | None,
    settings: Settings,
    machine: Machine,
) -> PublicBase:
    """The public base for a request with this Host header, scheme and socket (`server`)."""
    url: str | None = None
    if settings.public_url:
        url = settings.public_url
    else:
        name, port = _split_host(host, scheme)
        if _HOST_NAME.fullmatch(name) and 0 < port < 65536 and (
            _allowed(name, settings.allowed_hosts) or _names_the_socket(name, port, server)
        ):
            url = _base(name, port, scheme)
    local_only = url is not None and _is_loopback(url)
    listens_locally = _is_loopback_name(settings.host)
    addresses: tuple[str, ...] = ()
    wanted = url is None or local_only
    if wanted and not listens_locally and not machine.in_container and server and server[1]:
        bound = (settings.host,) if settings.host not in _WILDCARDS else machine.addresses()
        addresses = tuple(_base(ip, server[1], scheme) for ip in bound if _reachable(ip))
    return PublicBase(
        url=url, local_only=local_only, listens_locally=listens_locally,
        in_container=machine.in_container, addresses=addresses,
    )  # fmt: skip


def _is_loopback(url: str) -> bool:
    scheme, _, host = url.partition("://")
    return _is_loopback_name(_split_host(host, scheme)[0])


def _is_loopback_name(name: str) -> bool:
    ip = _ip(name)
    return name in _LOOPBACK_NAMES or (ip is not None and ip.is_loopback)


def _reachable(ip: str) -> bool:
    """An address another machine on the network could use."""
    address = _ip(ip)
    return address is not None and not (address.is_loopback or address.is_link_local)


_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def machine_addresses() -> tuple[str, ...]:
    """This machine's IPv4 addresses, the one its default route uses first. Read from the
    interfaces (no request, no DNS, no packet sent); loopback and link-local left out."""
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:  # a UDP "connect" only picks the route and its source address
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never a real host
            found.append(probe.getsockname()[0])
        except OSError:
            pass  # no route at all (an isolated machine): the interfaces may still say
        if sys.platform == "linux":
            import fcntl

            for _, name in socket.if_nameindex():
                request = struct.pack("256s", name.encode()[:15])
                try:
                    answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
                except OSError:
                    continue  # an interface without an IPv4 address
                found.append(socket.inet_ntoa(answer[20:24]))
    return tuple(dict.fromkeys(ip for ip in found if _reachable(ip)))


def this_machine() -> Machine:
    """The dependency (a test gives another machine through `dependency_overrides`)."""
    in_container = any(os.path.exists(mark) for mark in _CONTAINER_MARKS)
    return Machine(addresses=machine_addresses, in_container=in_container)


def public_base(
    request: Request, settings: SettingsDep, machine: Annotated[Machine, Depends(this_machine)]
) -> PublicBase:
    server = request.scope.get("server")
    return resolve(
        host=request.headers.get("host", ""),
        scheme=request.url.scheme,
        server=(str(server[0]), server[1]) if server else None,
        settings=settings,
        machine=machine,
    )


PublicBaseDep = Annotated[PublicBase, Depends(public_base)]
