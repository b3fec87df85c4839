"""JSON API of the challenges: `/api/challenges` and `/api/challenges/{slug}/check`.

Thin: the counts, the completion of short schedules and the judging are the core's
(`app.sim.challenges`); these routes only look the challenge up and shape the answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from app.sim import Mode, Scenario
from app.sim.challenges import CHALLENGES, Challenge, UnknownChallenge, check, find, odds
from app.web.infra.page_cache import pure
from app.web.sim.api import OutcomeModel

router = APIRouter(prefix="/api/challenges", tags=["challenges"])

MAX_SCHEDULE_CHARS = 4000


def _omitted(value: object) -> bool:
    return value is None


class GoalModel(BaseModel):
    """The fields of the explorer's outcome key a winning run must have; absent means any."""

    final_rc: int | None = Field(default=None, exclude_if=_omitted)
    freed: bool | None = Field(default=None, exclude_if=_omitted)
    use_after_free: bool | None = Field(
        default=None, exclude_if=_omitted, description="true: some access touched freed memory"
    )
    double_free: bool | None = Field(
        default=None, exclude_if=_omitted, description="true: the object was freed twice"
    )


class ChallengeModel(BaseModel):
    slug: str
    title: str
    lesson: str = Field(description="the lesson the challenge belongs to")
    story: str
    scenario: Scenario
    mode: Mode
    n: int = Field(description="calls per thread")
    interval: int | None = Field(description="GIL switch interval in steps (mode gil only)")
    goal: GoalModel
    winning: int = Field(description="exact number of complete schedules that reach the goal")
    total: int = Field(description="exact number of complete schedules")
    odds: str = Field(description="the same in words, e.g. '1 in 7 interleavings'")

    @classmethod
    def of(cls, challenge: Challenge) -> ChallengeModel:
        config, counted = challenge.config, odds(challenge)
        return cls(
            slug=challenge.slug, title=challenge.title, lesson=challenge.lesson,
            story=challenge.story, scenario=config.scenario, mode=config.mode, n=config.n,
            interval=config.interval, goal=GoalModel.model_validate(challenge.goal.items()),
            winning=counted.winning, total=counted.total, odds=counted.text,
        )  # fmt: skip


class ChallengeList(BaseModel):
    challenges: list[ChallengeModel]


class CheckResponse(BaseModel):
    slug: str
    solved: bool = Field(description="the finished run's outcome matches the goal")
    schedule: str = Field(description="the whole run's schedule, completed and canonical")
    outcome: OutcomeModel


@router.get("", summary="Every challenge, with the exact number of schedules that win it")
@pure
def list_challenges() -> ChallengeList:
    return ChallengeList(challenges=[ChallengeModel.of(c) for c in CHALLENGES])


def challenge_or_404(slug: str) -> Challenge:
    try:
        return find(slug)
    except UnknownChallenge:
        known = ", ".join(c.slug for c in CHALLENGES)
        raise HTTPException(404, f"no challenge {slug!r}; the challenges are: {known}") from None


@router.get(
    "/{slug}/check",
    summary="Run a schedule (completed by alternating threads when short) and judge it",
    responses={
        404: {"description": "No challenge has this slug"},
        422: {"description": "The schedule is malformed or picks a thread that cannot run"},
    },
)
@pure
def check_schedule(
    slug: Annotated[str, Path(description="the challenge, as listed by /api/challenges")],
    schedule: Annotated[
        str,
        Query(
            max_length=MAX_SCHEDULE_CHARS,
            description="who takes each step: letters (ABBA) or run-length form (A1B2A1)",
        ),
    ] = "",
) -> CheckResponse:
    challenge = challenge_or_404(slug)
    verdict = check(challenge, schedule)
    return CheckResponse(
        slug=challenge.slug,
        solved=verdict.solved,
        schedule=verdict.run.schedule,
        outcome=OutcomeModel(**{
            name: getattr(verdict.run.outcome, name) for name in OutcomeModel.model_fields
        }),
    )
