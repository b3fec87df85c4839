"""The one Jinja2 environment: whole pages, or one named block of a page for htmx requests."""

from __future__ import annotations

from fastapi import Request
from jinja2_fragments.fastapi import Jinja2Blocks

from app.web.infra.assets import SCRIPTS, TEMPLATES_DIR
from app.web.infra.settings import Settings
from app.web.infra.wording import plural

templates = Jinja2Blocks(directory=TEMPLATES_DIR)
templates.env.filters["plural"] = plural  # {{ lost | plural("update") }} lost


def configure(settings: Settings) -> None:
    """Expose what every page's <head> needs (the pinned scripts and the offline switch)."""
    templates.env.globals.update(scripts=SCRIPTS, offline=settings.offline)


def is_htmx(request: Request) -> bool:
    """Whether to answer with the blocks that change rather than the whole page: an htmx
    request, except a history restore after a cache miss, which wants the whole page back.
    (app.web.infra.page_cache keys on both headers.)"""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )
