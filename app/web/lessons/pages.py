"""Lesson pages: `/` is the path through the argument, `/lessons/{slug}` one step of it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.lab import interpreters
from app.lab.interpreters import Interpreter
from app.sim import Mode, Scenario, Thread, code_listing
from app.sim.challenges import CHALLENGES, Challenge
from app.web.infra import urls
from app.web.infra.deps import PagesDep
from app.web.infra.page_cache import pure
from app.web.lessons.content import LESSONS, explore_url, find, neighbours

router = APIRouter(tags=["lessons"], include_in_schema=False)


def _listing(scenario: str, mode: str, thread: str = "A") -> str:
    """The C function a simulator thread runs, from the core, so lessons never copy code."""
    return "\n".join(code_listing(Scenario(scenario), Mode(mode), Thread(thread)))


def _free_threaded_builds() -> tuple[Interpreter, ...]:
    """The free-threaded CPythons on this host; called only by the lessons that mention them
    (the first call probes every interpreter, then discovery is kept for the process)."""
    return interpreters.free_threaded(interpreters.available())


def _challenges_for(page: str) -> tuple[Challenge, ...]:
    """The play-the-scheduler challenges that belong to the lesson at /lessons/<page>."""
    return tuple(challenge for challenge in CHALLENGES if challenge.lesson == page)


@router.get("/", response_class=HTMLResponse, summary="The lessons, in order")
@pure
def index(request: Request, pages: PagesDep) -> Response:
    return pages.render(request, "lessons/index.html", {"section": "lessons", "lessons": LESSONS})


@router.get("/lessons", summary="The lessons live at /")
def lessons_folder() -> RedirectResponse:
    # People trim URLs to their folder; send them to the index rather than a 404.
    return RedirectResponse("/", status_code=308)


@router.get("/lessons/{slug}", response_class=HTMLResponse, summary="One lesson")
@pure
def lesson(request: Request, pages: PagesDep, slug: str) -> Response:
    found = find(slug)
    if found is None:
        # Not the generic error page: a student who mistyped a slug wants the list of lessons.
        return pages.render(
            request,
            "lessons/not_found.html",
            {"section": "lessons", "lessons": LESSONS, "slug": slug},
            status_code=404,
        )
    previous, following = neighbours(found)
    context = {
        "section": "lessons",
        "lessons": LESSONS,
        "lesson": found,
        "number": LESSONS.index(found) + 1,
        "previous": previous,
        "next": following,
        "examples": {example.key: example for example in found.examples},
        "frames": {frame.key: frame for frame in found.frames},
        "proofs": {proof.key: proof for proof in found.proofs},
        "explore_url": explore_url,
        "pyrace_url": urls.gil_pyrace,
        "listing": _listing,
        "free_threaded_builds": _free_threaded_builds,
        "challenges": _challenges_for(found.slug),
    }
    return pages.render(request, found.template, context)
