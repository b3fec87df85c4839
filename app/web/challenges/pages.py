"""The challenge pages: `/challenges` (the list, with progress) and `/challenges/{slug}` (play).

Thin: parse, call the view builder (which reads the core), render. A full GET renders the whole
page, so every prefix of every schedule is a readable URL; an htmx request (a step, an undo, a
hint) gets only the `play` block, and htmx pushes the canonical URL into the history, so the
back button undoes a step. With `embed=1` a challenge is drawn for a frame (slides, a live
class's phones): no site header, footer or links away, and other sites may frame it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.sim import ScheduleError, format_schedule
from app.sim.challenges import valid_prefix
from app.web.challenges import view as challenge_view
from app.web.challenges.api import MAX_SCHEDULE_CHARS, challenge_or_404
from app.web.infra.deps import PagesDep
from app.web.infra.errors import BadParameter
from app.web.infra.page_cache import pure
from app.web.infra.security import EmbedLayout

router = APIRouter(tags=["pages"])


@router.get("/challenges", response_class=HTMLResponse, summary="Every challenge, by lesson")
@pure
def challenges_page(
    request: Request,
    pages: PagesDep,
    solved: Annotated[
        str,
        Query(
            max_length=challenge_view.MAX_SOLVED_CHARS,
            description="Solutions to restore: slug:schedule or slug, separated by commas.",
        ),
    ] = "",
) -> Response:
    view = challenge_view.build_index(solved)
    return pages.render(request, "challenges/index.html", {"view": view, "section": "challenges"})


@router.get(
    "/challenges/{slug}", response_class=HTMLResponse, summary="Play one challenge, step by step"
)
@pure
def challenge_page(
    request: Request,
    pages: PagesDep,
    embed: EmbedLayout,  # before the slug, so an unknown one's 404 page keeps this layout
    slug: str,
    schedule: Annotated[
        str,
        Query(max_length=MAX_SCHEDULE_CHARS, description="The steps chosen so far (A1B2...)."),
    ] = "",
    hint: Annotated[bool, Query(description="Show the next step of a winning schedule.")] = False,
    giveup: Annotated[bool, Query(description="Show a winning schedule, or the proof.")] = False,
    claim: Annotated[
        bool, Query(description="Claim that no schedule reaches the goal (before the proof).")
    ] = False,
) -> Response:
    challenge = challenge_or_404(slug)
    try:
        view = challenge_view.build(
            challenge, schedule, show_hint=hint, gave_up=giveup, claimed=claim, embed=embed
        )
    except ScheduleError as error:
        nearest = format_schedule(valid_prefix(challenge, schedule))
        raise BadParameter(
            "schedule",
            error.message,
            suggestion=challenge_view.challenge_url(challenge, nearest, embed=embed),
        ) from None
    context = {"view": view, "section": "challenges", "embed": embed}
    # The links are canonical already; their hx-push-url puts them in the history.
    return pages.render(request, "challenges/play.html", context, blocks=("play",))
