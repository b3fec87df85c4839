"""The one Jinja2 environment: whole pages, or one named block of a page for htmx requests."""

from __future__ import annotations

from jinja2_fragments.fastapi import Jinja2Blocks

from app.web.assets import SCRIPTS, TEMPLATES_DIR
from app.web.settings import Settings

templates = Jinja2Blocks(directory=TEMPLATES_DIR)


def configure(settings: Settings) -> None:
    """Expose what every page's <head> needs (the pinned scripts and the offline switch)."""
    templates.env.globals.update(scripts=SCRIPTS, offline=settings.offline)
