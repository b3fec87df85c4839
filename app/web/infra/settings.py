"""Settings, read once from environment variables (all prefixed GILLAB_)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _count(env: os._Environ[str] | dict[str, str], name: str, default: int, *, least: int) -> int:
    """A whole number from the environment, refusing nonsense at start-up rather than later."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < least:
        raise ValueError(f"{name} must be at least {least}, not {value}")
    return value


def _public_url(raw: str | None) -> str:
    """GILLAB_PUBLIC_URL as `scheme://host[:port]`, or "" when unset; nonsense stops start-up."""
    text = (raw or "").strip()
    if not text:
        return ""
    parts = urlsplit(text)
    try:
        port = parts.port  # raises on a port that is no number or out of range
    except ValueError:
        port = -1
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or port == -1
        or "@" in parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            f"GILLAB_PUBLIC_URL must be an address like http://192.168.1.20:8000 "
            f"(http or https, a host, an optional port, no path), not {text!r}"
        )
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Serve htmx only from static/vendor/, never reference the CDN. On by default: a browser
    # logs every request that fails, and a classroom with no internet (or a firewall that
    # refuses the CDN) would see two errors on every page; off, static/js/loader.js tries the
    # CDN for at most a second and falls back to the same copies.
    offline: bool = True
    # Live server-sent event streams per worker process; past it, new streams get 429.
    # 400: a live class of 300 phones (app.live.model.MAX_MEMBERS) and its teacher fit on one
    # worker with room to spare; a class's streams sit idle between steps.
    max_streams: int = 400
    # Seconds a streamed lab series (/stream/native/race) waits for a turn while the lab's
    # runner is full, telling the student so; then it reports the lab busy. 0: report at once.
    lab_wait: int = 60
    # Megabytes of finished pages kept per worker process (app.web.infra.page_cache); 0: none.
    cache_mb: int = 32
    # Live classes (app.live): Redis when several machines serve one class, else one SQLite
    # file that every worker process of this machine shares ("" picks one per port in /tmp).
    redis_url: str = ""
    live_db: str = ""
    max_classes: int = 100
    # Seconds a client has to send a whole request (app.web.infra.server); then 408 and close.
    request_timeout: int = 10
    # Host names this site answers to (app.web.infra.security); empty: any.
    allowed_hosts: tuple[str, ...] = ()
    # The address students' phones reach this site at ("http://192.168.1.20:8000"): a live
    # class's join link and QR code (app.web.infra.public_url). "": vouched for otherwise.
    public_url: str = ""

    def hosts_answered(self) -> tuple[str, ...]:
        """GILLAB_ALLOWED_HOSTS (empty: any) and, if it is set, GILLAB_PUBLIC_URL's host: the
        name a join link sends phones to must be answered."""
        public = urlsplit(self.public_url).hostname if self.public_url else None
        if not self.allowed_hosts or public is None or public in self.allowed_hosts:
            return self.allowed_hosts
        return (*self.allowed_hosts, public)

    def live_db_path(self) -> Path:
        if self.live_db:
            return Path(self.live_db)
        return Path(tempfile.gettempdir()) / f"gil-lab-live-{self.port}.sqlite3"

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        # A slotted dataclass keeps its defaults on an instance, not as class attributes.
        default = cls()
        return cls(
            host=env.get("GILLAB_HOST", default.host),
            port=_count(env, "GILLAB_PORT", default.port, least=0),
            workers=_count(env, "GILLAB_WORKERS", default.workers, least=1),
            offline=_flag(env.get("GILLAB_OFFLINE", "").strip() or "1"),
            max_streams=_count(env, "GILLAB_MAX_STREAMS", default.max_streams, least=1),
            lab_wait=_count(env, "GILLAB_LAB_WAIT", default.lab_wait, least=0),
            cache_mb=_count(env, "GILLAB_CACHE_MB", default.cache_mb, least=0),
            redis_url=env.get("GILLAB_REDIS_URL", "").strip(),
            live_db=env.get("GILLAB_LIVE_DB", "").strip(),
            max_classes=_count(env, "GILLAB_MAX_CLASSES", default.max_classes, least=1),
            request_timeout=_count(env, "GILLAB_REQUEST_TIMEOUT", default.request_timeout, least=1),
            allowed_hosts=tuple(
                host.strip().lower()
                for host in env.get("GILLAB_ALLOWED_HOSTS", "").split(",")
                if host.strip()
            ),
            public_url=_public_url(env.get("GILLAB_PUBLIC_URL")),
        )
