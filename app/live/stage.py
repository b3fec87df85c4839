"""What a class looks at: a /sim or /challenges permalink, checked and made canonical.

This package reads a teacher's link but never writes one: the canonical link of a run (its
`Permalink`) or of a challenge's prefix comes from the web layer's URL module (`Links`), so a
class shows the same URL, byte for byte, that every page of the site links to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from app.live.model import BadInput
from app.sim import InvalidParameter, Permalink, Run, format_schedule, parse_schedule
from app.sim.challenges import Challenge, UnknownChallenge, find, valid_prefix

MAX_URL_CHARS = 2000
_CHALLENGES = "/challenges/"


class Links(Protocol):
    """How the site links to a state: `app.web.infra.urls` is the one implementation."""

    def sim(self, permalink: Permalink) -> str: ...

    def challenge(self, slug: str, schedule: str = "") -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    url: str  # canonical, relative to the site
    title: str  # a line that says what is on screen
    step: int
    steps: int | None  # the run's length (None for a challenge: the student decides)
    challenge: Challenge | None = None
    run: Run | None = field(default=None, repr=False)  # the simulator's run (None for a challenge)


def _bad(message: str) -> BadInput:
    return BadInput("url", message)


def parse(url: str, links: Links) -> Stage:
    """A teacher's link (as copied from the address bar, with or without the host) → Stage."""
    if len(url) > MAX_URL_CHARS:
        raise _bad(f"must be at most {MAX_URL_CHARS} characters")
    parts = urlsplit(url.strip())
    query = dict(parse_qsl(parts.query))
    if parts.path == "/sim":
        try:
            permalink, run = Permalink.from_query(query)
        except InvalidParameter as error:
            raise _bad(f"{error.parameter}: {error.message}") from None
        config = permalink.config
        return Stage(
            url=links.sim(permalink),
            title=f"{config.scenario.value}, {config.mode.value}, n = {config.n}",
            step=permalink.step, steps=len(run.steps), run=run,
        )  # fmt: skip
    if parts.path.startswith(_CHALLENGES):
        slug = parts.path.removeprefix(_CHALLENGES)
        try:
            challenge = find(slug)
        except UnknownChallenge:
            raise _bad(f"no challenge {slug[:60]!r}") from None
        schedule = query.get("schedule", "")
        try:
            chosen = parse_schedule(schedule)
        except InvalidParameter as error:
            raise _bad(f"schedule: {error.message}") from None
        playable = valid_prefix(challenge, schedule)
        if len(playable) != len(chosen):
            raise _bad(f"schedule: step {len(playable) + 1} picks a thread that cannot run")
        return Stage(
            url=links.challenge(challenge.slug, format_schedule(playable)),
            title=f"Challenge: {challenge.title}",
            step=len(playable), steps=None, challenge=challenge,
        )  # fmt: skip
    raise _bad("must be a /sim or /challenges/... permalink of this site")
