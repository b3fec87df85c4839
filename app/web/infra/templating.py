"""The app's Jinja2 environment, and the one way a route answers with a page or part of one.

One template per page, with named blocks for the parts that change (STYLE.md 9): a route renders
the whole page, or, for an htmx request, only those blocks. `Pages.render` makes that choice for
every route with one rule (`is_htmx`), so a back button after a cache miss (htmx's history
restore) always gets a whole page, never a bare fragment. Event streams render blocks to text
with `Pages.blocks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from jinja2_fragments import render_blocks
from jinja2_fragments.fastapi import Jinja2Blocks

from app.web.infra.assets import SCRIPTS, TEMPLATES_DIR
from app.web.infra.wording import plural


def is_htmx(request: Request) -> bool:
    """Whether to answer with the blocks that change rather than the whole page: an htmx
    request, except a history restore after a cache miss, which wants the whole page back.
    (app.web.infra.page_cache keys on both headers.)"""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


@pass_context
def _url_path_for(context: Context, name: str, /, **path_params: Any) -> str:
    """`url_for` in templates: a path, never an absolute URL, which Starlette would build from
    the Host header, the client's word (issue 16.6: `Host: evil.example` put
    `http://evil.example/static/...` into pages)."""
    request: Request = context["request"]
    path = request.app.url_path_for(name, **path_params)
    return f"{request.scope.get('root_path', '')}{path}"


class Pages:
    """The template environment of one app (create_app builds it from the settings)."""

    def __init__(self, *, offline: bool) -> None:
        self._templates = Jinja2Blocks(directory=TEMPLATES_DIR)
        # What every page's <head> needs: the pinned scripts and the offline switch.
        self._templates.env.globals.update(scripts=SCRIPTS, offline=offline)
        self._templates.env.globals["url_for"] = _url_path_for
        self._templates.env.filters["plural"] = plural  # {{ lost | plural("update") }} lost

    @property
    def env(self) -> Environment:
        return self._templates.env

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        *,
        blocks: Sequence[str] = (),
        url: str | None = None,
        replace_url: bool = False,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """The page `name`; for an htmx request, only its `blocks` when it names any. The
        template sees `fragment` (true when only blocks are sent, so it can mark side panels
        `hx-swap-oob`). `url` is the state's permalink: htmx pushes it into the history (or
        replaces the current entry, `replace_url`), so the address bar is always a permalink."""
        fragment = bool(blocks) and is_htmx(request)
        full_context = {**context, "fragment": fragment}
        response: HTMLResponse
        if fragment:
            response = self._templates.TemplateResponse(
                request,
                name,
                full_context,
                status_code=status_code,
                headers=headers,
                block_names=list(blocks),
            )  # type: ignore[assignment]
            if url is not None:
                response.headers["HX-Replace-Url" if replace_url else "HX-Push-Url"] = url
        else:
            response = self._templates.TemplateResponse(
                request, name, full_context, status_code=status_code, headers=headers
            )  # type: ignore[assignment]
        return response

    def blocks(self, name: str, blocks: Sequence[str], context: Mapping[str, Any]) -> str:
        """Named blocks of a template as text, for an event stream (always a fragment)."""
        return render_blocks(self.env, name, list(blocks), {**context, "fragment": True})

    def text(self, name: str, context: Mapping[str, Any]) -> str:
        """A whole template (a partial) as text, for an event stream."""
        return self.env.get_template(name).render(context)
