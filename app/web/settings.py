"""Settings, read once from environment variables (all prefixed GILLAB_)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Serve htmx only from static/vendor/, never reference the CDN (classrooms with no internet).
    offline: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            host=env.get("GILLAB_HOST", "127.0.0.1"),
            port=int(env.get("GILLAB_PORT", "8000")),
            workers=int(env.get("GILLAB_WORKERS", "1")),
            offline=_flag(env.get("GILLAB_OFFLINE")),
        )
