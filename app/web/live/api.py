"""The live-class JSON API under /api/classes (documented at /docs).

Credentials are Bearer tokens: the teacher's from `POST /api/classes`, a student's from
`.../join`. No cookies, so the API works from any client, and a cross-site page cannot act for
anyone.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response

from app.live.classes import CODE_LENGTH
from app.live.model import WrongToken
from app.web.infra import urls
from app.web.infra.public_url import PublicBaseDep
from app.web.live.deps import Classes, Client, Token
from app.web.live.models import (
    Answered,
    AnswerRequest,
    ChallengeResultsModel,
    ClassModel,
    HandInModel,
    HandInRequest,
    Joined,
    JoinRequest,
    MemberModel,
    NewClass,
    QuestionModel,
    ResultsModel,
    StateModel,
    StateRequest,
    TopEntry,
    TopRequest,
)

router = APIRouter(prefix="/api/classes", tags=["live classes"])

Code = Annotated[
    str, Path(min_length=1, max_length=CODE_LENGTH + 4, description="the class's join code")
]
QuestionId = Annotated[int, Path(ge=1, le=1_000_000, description="the question's id")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No class has this code (or no such question)"},
    410: {"description": "The class has ended (closed by its teacher, or idle for 6 hours)"},
    429: {"description": "A bound was hit (see Retry-After)"},
}
_TEACHER = {**_ERRORS, 403: {"description": "Not this class's teacher's token"}}
_STUDENT = {**_ERRORS, 403: {"description": "Not a member's token for this class"}}


@router.post(
    "", status_code=201, summary="Open a class: a join code and the teacher's token",
    responses={429: _ERRORS[429]},
)  # fmt: skip
async def create_class(classes: Classes, public: PublicBaseDep) -> NewClass:
    record, token = await classes.create()
    # Absolute only at an address the server vouches for (app.web.infra.public_url); else the
    # path, which the caller resolves against the address it called.
    join, teach = urls.live_class(record.code), urls.live_class_teach(record.code)
    return NewClass(
        code=record.code, teacher_token=token, join_url=public.link(join) or join,
        teacher_url=f"{public.link(teach) or teach}#token={token}",
    )  # fmt: skip


@router.post(
    "/{code}/join", status_code=201, summary="Join with a display name",
    responses={**_ERRORS, 409: {"description": "The name is taken in this class"}},
)  # fmt: skip
async def join(code: Code, body: JoinRequest, classes: Classes, client: Client) -> Joined:
    record = await classes.find(code, client=client)
    member, token = await classes.join(record, body.name)
    return Joined(student_id=member.student_id, student_token=token)


@router.get("/{code}", summary="What the class sees now", responses=_ERRORS)
async def get_class(code: Code, classes: Classes, client: Client) -> ClassModel:
    record = await classes.find(code, client=client)
    question = await classes.latest_question(record)
    return ClassModel(
        code=record.code, members=await classes.store.member_count(record.code),
        state=StateModel.of(classes.shown(record)),
        question=QuestionModel.of(question) if question else None, show_top=record.show_top,
    )  # fmt: skip


@router.delete(
    "/{code}", status_code=204, summary="End the class; its data is deleted", responses=_TEACHER
)
async def end_class(code: Code, classes: Classes, client: Client, token: Token) -> Response:
    await classes.end(await classes.teacher(code, token, client=client))
    return Response(status_code=204)


@router.put(
    "/{code}/state", summary="Show the class a /sim or /challenges permalink (teacher)",
    responses=_TEACHER,
)  # fmt: skip
async def set_state(
    code: Code, body: StateRequest, classes: Classes, client: Client, token: Token
) -> StateModel:
    record = await classes.teacher(code, token, client=client)
    return StateModel.of(await classes.set_state(record, body.url))


@router.post(
    "/{code}/questions", status_code=201,
    summary="Ask the class to predict the next step of the run on screen (teacher)",
    responses={**_TEACHER, 409: {"description": "Nothing to predict (no run, or it is over)"}},
)  # fmt: skip
async def ask(code: Code, classes: Classes, client: Client, token: Token) -> QuestionModel:
    record = await classes.teacher(code, token, client=client)
    return QuestionModel.of(await classes.ask(record))


@router.post(
    "/{code}/questions/{question_id}/close", summary="Stop taking answers (teacher)",
    responses=_TEACHER,
)  # fmt: skip
async def close(
    code: Code, question_id: QuestionId, classes: Classes, client: Client, token: Token
) -> QuestionModel:
    record = await classes.teacher(code, token, client=client)
    return QuestionModel.of(await classes.close(record, question_id))


@router.post(
    "/{code}/questions/{question_id}/reveal",
    summary="Close, score and show everyone the truth against the class's answers (teacher)",
    responses={**_TEACHER, 409: {"description": "Revealed already"}},
)  # fmt: skip
async def reveal(
    code: Code, question_id: QuestionId, classes: Classes, client: Client, token: Token
) -> ResultsModel:
    record = await classes.teacher(code, token, client=client)
    return ResultsModel.of(await classes.reveal(record, question_id), teacher=True, student=False)


@router.put(
    "/{code}/questions/{question_id}/answer",
    summary="Answer (or change one's answer) while the question is open (student)",
    responses={**_STUDENT, 409: {"description": "The question is closed"}},
)  # fmt: skip
async def answer(
    code: Code,
    question_id: QuestionId,
    body: AnswerRequest,
    classes: Classes,
    client: Client,
    token: Token,
) -> Answered:
    record, member = await classes.student(code, token, client=client)
    await classes.answer(record, member, question_id, body.choice)
    return Answered(id=question_id, choice=body.choice)


@router.get(
    "/{code}/questions/{question_id}",
    summary="A question's answers: counts to the teacher at any time, to students after reveal",
    responses=_STUDENT,
)  # fmt: skip
async def results(
    code: Code, question_id: QuestionId, classes: Classes, client: Client, token: Token
) -> ResultsModel:
    record = await classes.find(code, client=client)
    teacher = classes.is_teacher(record, token)
    member = None if teacher or not token else await classes.member_of(record, token)
    if token and not teacher and member is None:
        raise WrongToken("not a token of this class")
    found = await classes.results(record, question_id, member)
    return ResultsModel.of(found, teacher=teacher, student=member is not None)


@router.get("/{code}/me", summary="The student's own running score (student)", responses=_STUDENT)
async def me(code: Code, classes: Classes, client: Client, token: Token) -> MemberModel:
    _, member = await classes.student(code, token, client=client)
    return MemberModel.of(member)


@router.get(
    "/{code}/members", summary="Everyone in the class and their scores (teacher)",
    responses=_TEACHER,
)  # fmt: skip
async def members(code: Code, classes: Classes, client: Client, token: Token) -> list[MemberModel]:
    record = await classes.teacher(code, token, client=client)
    return [MemberModel.of(m) for m in await classes.store.members(record.code)]


@router.delete(
    "/{code}/members/{student_id}", status_code=204,
    summary="Take a student out of the class: their token stops working (teacher)",
    responses=_TEACHER,
)  # fmt: skip
async def remove_member(
    code: Code,
    student_id: Annotated[str, Path(max_length=40, description="from .../members")],
    classes: Classes,
    client: Client,
    token: Token,
) -> Response:
    record = await classes.teacher(code, token, client=client)
    await classes.remove(record, student_id)
    return Response(status_code=204)


@router.put(
    "/{code}/top", summary="Show the class a top-5 with each reveal, or stop (teacher)",
    responses=_TEACHER,
)  # fmt: skip
async def set_top(
    code: Code, body: TopRequest, classes: Classes, client: Client, token: Token
) -> list[TopEntry]:
    record = await classes.teacher(code, token, client=client)
    await classes.show_top(record, body.show)
    return [TopEntry.model_validate(entry) for entry in await classes.top(record)]


@router.put(
    "/{code}/challenge/run",
    summary="Hand in one's run of the assigned challenge; the core judges it (student)",
    responses={**_STUDENT, 409: {"description": "No challenge is assigned"}},
)  # fmt: skip
async def hand_in(
    code: Code,
    body: Annotated[HandInRequest, Body()],
    classes: Classes,
    client: Client,
    token: Token,
) -> HandInModel:
    record, member = await classes.student(code, token, client=client)
    handed = await classes.hand_in(record, member, body.schedule)
    return HandInModel.of(classes.assigned(record).slug, handed)


@router.get(
    "/{code}/challenge",
    summary="How many solved the assigned challenge, and the outcomes they reached (teacher)",
    responses={**_TEACHER, 409: {"description": "No challenge is assigned"}},
)  # fmt: skip
async def challenge_results(
    code: Code, classes: Classes, client: Client, token: Token
) -> ChallengeResultsModel:
    record = await classes.teacher(code, token, client=client)
    found = await classes.challenge_results(record)
    members = await classes.store.member_count(record.code)
    return ChallengeResultsModel.of(found, members=members)
