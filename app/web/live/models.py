"""The JSON shapes of the live-class API (pydantic at the edge)."""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from app.live.classes import ChallengeResults, Results
from app.live.model import HandIn, Member, QuestionRecord
from app.live.stage import MAX_URL_CHARS, Stage

MAX_SCHEDULE_CHARS = 4000


class NewClass(BaseModel):
    code: str = Field(description="six letters or digits, for students to type")
    teacher_token: str = Field(description="the teacher's only credential: keep it secret")
    join_url: str = Field(
        description="the page students open (project it, or its QR code): absolute at the "
        "server's public address (GILLAB_PUBLIC_URL, an allowed host, or the address the "
        "request reached), else a path on the server called (never from the Host header alone)"
    )
    teacher_url: str = Field(
        description="the teacher's dashboard, likewise; carries the token"
    )


class JoinRequest(BaseModel):
    name: str = Field(max_length=200, description="a display name, unique in the class")


class Joined(BaseModel):
    student_id: str
    student_token: str = Field(description="the student's credential, as a Bearer token")


class StateModel(BaseModel):
    url: str | None = Field(description="the /sim or /challenges permalink on screen")
    title: str | None = None
    step: int | None = None
    steps: int | None = Field(default=None, description="the run's length (none for challenges)")
    challenge: str | None = Field(default=None, description="the assigned challenge's slug")

    @classmethod
    def of(cls, shown: Stage | None) -> StateModel:
        if shown is None:
            return cls(url=None)
        return cls(
            url=shown.url, title=shown.title, step=shown.step, steps=shown.steps,
            challenge=shown.challenge.slug if shown.challenge else None,
        )  # fmt: skip


class StateRequest(BaseModel):
    url: str = Field(max_length=MAX_URL_CHARS, description="a /sim or /challenges permalink")


class ChoiceModel(BaseModel):
    token: str = Field(description="what an answer sends as `choice`")
    label: str


class QuestionModel(BaseModel):
    id: int
    open: bool
    revealed: bool
    step: int = Field(description="the step the class predicts")
    url: str = Field(description="the permalink of the state the question was asked at")
    prompt: str
    choices: list[ChoiceModel]

    @classmethod
    def of(cls, question: QuestionRecord) -> QuestionModel:
        return cls(
            id=question.id, open=question.open, revealed=question.revealed, step=question.step,
            url=question.url, prompt=question.prompt,
            choices=[ChoiceModel(token=c.token, label=c.label) for c in question.choices],
        )  # fmt: skip


class ClassModel(BaseModel):
    code: str
    members: int
    state: StateModel
    question: QuestionModel | None = Field(description="the latest question, if any")
    show_top: bool


class AnswerRequest(BaseModel):
    choice: str = Field(max_length=40, description="the token of one of the question's choices")


class Answered(BaseModel):
    id: int
    choice: str


class Mine(BaseModel):
    choice: str | None = Field(description="the student's answer (none if they did not answer)")
    right: bool | None = Field(description="whether it was right (none before the reveal)")


class ResultsModel(BaseModel):
    id: int
    open: bool
    revealed: bool
    counts: dict[str, int] | None = Field(
        description="answers per choice: to the teacher at any time, to students after reveal"
    )
    answered: int
    members: int
    correct: str | None = Field(description="the right choice, after the reveal")
    mine: Mine | None = Field(description="the asking student's own answer")

    @classmethod
    def of(cls, results: Results, *, teacher: bool, student: bool) -> ResultsModel:
        question = results.question
        shown = teacher or question.revealed
        mine = None
        if student:
            right = results.mine == question.answer if question.revealed and results.mine else None
            mine = Mine(choice=results.mine, right=right)
        return cls(
            id=question.id, open=question.open, revealed=question.revealed,
            counts=results.counts if shown else None, answered=results.answered,
            members=results.members, correct=question.answer if question.revealed else None,
            mine=mine,
        )  # fmt: skip


class MemberModel(BaseModel):
    student_id: str
    name: str
    right: int = Field(description="revealed questions answered right")
    answered: int = Field(description="revealed questions answered")

    @classmethod
    def of(cls, member: Member) -> MemberModel:
        return cls(
            student_id=member.student_id, name=member.name, right=member.right,
            answered=member.answered,
        )  # fmt: skip


class TopRequest(BaseModel):
    show: bool = Field(description="show the class a top-5 with each reveal")


class TopEntry(BaseModel):
    name: str
    right: int
    answered: int


class HandInRequest(BaseModel):
    schedule: str = Field(
        max_length=MAX_SCHEDULE_CHARS, description="the student's run: letters or A1B2 form"
    )


class OutcomeKey(BaseModel):
    final_rc: int
    freed: bool
    use_after_free: bool
    double_free: bool


class HandInModel(BaseModel):
    slug: str
    schedule: str = Field(description="the whole run, completed and canonical")
    solved: bool
    outcome: OutcomeKey

    @classmethod
    def of(cls, slug: str, hand_in: HandIn) -> HandInModel:
        return cls(
            slug=slug, schedule=hand_in.schedule, solved=hand_in.solved,
            outcome=OutcomeKey.model_validate(json.loads(hand_in.outcome)),
        )  # fmt: skip


class OutcomeCount(OutcomeKey):
    count: int
    solved: bool


class ChallengeResultsModel(BaseModel):
    slug: str
    handed_in: int
    solved: int
    members: int
    outcomes: list[OutcomeCount] = Field(description="most common first")

    @classmethod
    def of(cls, results: ChallengeResults, *, members: int) -> ChallengeResultsModel:
        return cls(
            slug=results.slug, handed_in=results.handed_in, solved=results.solved,
            members=members,
            outcomes=[
                OutcomeCount(**outcome, count=count, solved=solved)  # type: ignore[arg-type]
                for outcome, count, solved in results.outcomes
            ],
        )  # fmt: skip
