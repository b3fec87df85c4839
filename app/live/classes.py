"""The rules of a live class, over any `Store`: who may do what, the bounds, the events.

Every method takes the caller's credential (a teacher's or a member's token) and the class's
code, checks both, does one thing and publishes what changed to the class's streams. Tokens are
random (`secrets`), kept only as SHA-256 hashes, and compared in constant time. A member's
token is `<student_id>.<secret>`, so it finds its member without a scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from app.live import stage
from app.live.model import (
    ANSWERS_PER_SECOND,
    FAILED_LOOKUP_WINDOW,
    FAILED_LOOKUPS,
    IDLE_SECONDS,
    MAX_MEMBERS,
    MAX_NAME_CHARS,
    BadInput,
    Choice,
    ClassEnded,
    ClassRecord,
    Conflict,
    Event,
    HandIn,
    LimitReached,
    Member,
    QuestionRecord,
    UnknownClass,
    WrongToken,
)
from app.live.redis_store import RedisStore
from app.live.sqlite_store import SqliteStore
from app.live.store import Store
from app.sim import InvalidParameter, ScheduleError, parse_schedule
from app.sim.challenges import Challenge, check
from app.sim.predict import question as predict_question

log = logging.getLogger(__name__)

# Six characters from 31: no 0/O, 1/I/L, so a code read off a projector is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
HOUSEKEEPING_SECONDS = 60
TOP = 5


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """What a student typed → the code (case and spaces do not matter)."""
    return "".join(code.split()).upper()[: CODE_LENGTH + 1]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _same(token: str, token_hash: str) -> bool:
    return hmac.compare_digest(_hash(token), token_hash)


def clean_name(name: str) -> str:
    """A display name as shown to the class: spaces collapsed, no control characters."""
    text = " ".join(unicodedata.normalize("NFC", name).split())
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise BadInput("name", "must not contain control or invisible formatting characters")
    if not 1 <= len(text) <= MAX_NAME_CHARS:
        raise BadInput("name", f"must be 1 to {MAX_NAME_CHARS} characters")
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class Results:
    question: QuestionRecord
    counts: dict[str, int]  # every choice, 0 when nobody picked it
    answered: int
    members: int
    mine: str | None  # the asking member's choice


@dataclass(frozen=True, slots=True, kw_only=True)
class ChallengeResults:
    slug: str
    handed_in: int
    solved: int
    outcomes: list[tuple[dict[str, int | bool], int, bool]]  # outcome, how many, solves it


def _event(name: str, **data: object) -> Event:
    return Event(name=name, data=json.dumps(data, separators=(",", ":")))


class LiveClasses:
    def __init__(
        self,
        store: Store,
        *,
        links: stage.Links,
        max_classes: int,
        max_members: int = MAX_MEMBERS,
        failed_lookups: int = FAILED_LOOKUPS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.links = links
        self.max_classes = max_classes
        self.max_members = max_members
        self.failed_lookups = failed_lookups
        self._clock = clock
        self._housekeeping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.store.start()
        self._housekeeping = asyncio.create_task(self._keep_house(), name="live-housekeeping")

    async def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        self.store.hub.end_all()  # open streams finish now, not at uvicorn's deadline
        await self.store.stop()

    async def _keep_house(self) -> None:
        while True:
            try:
                await self.expire()
            except Exception:  # a lost round only delays the next one; keep the loop alive
                log.exception("live classes: housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_SECONDS)

    async def expire(self) -> list[str]:
        """End every class idle for IDLE_SECONDS (its data is deleted); forget old rows."""
        now = self._clock()
        codes = await self.store.idle_classes(now - IDLE_SECONDS)
        for code in codes:
            await self._end(code, now)
        await self.store.prune(now)
        return codes

    async def _end(self, code: str, now: float) -> None:
        await self.store.end_class(code, now)
        await self.store.publish(code, _event("ended"))

    # Looking a class up
    async def find(self, code: str, *, client: str) -> ClassRecord:
        """The class, or 404/410. Failed look-ups count per client address; past the bound
        every look-up from there is refused, so codes cannot be found by guessing."""
        code = normalize_code(code)
        key = f"miss:{client}"
        now = self._clock()
        if not await self.store.hit(
            key, limit=self.failed_lookups, window=FAILED_LOOKUP_WINDOW, now=now, cost=0
        ):
            raise LimitReached(
                "too many look-ups of unknown class codes from your address; wait a few minutes",
                retry_after=FAILED_LOOKUP_WINDOW,
            )
        record = await self.store.get_class(code) if len(code) == CODE_LENGTH else None
        if record is not None and record.touched < now - IDLE_SECONDS:
            await self._end(code, now)
            record = None
        if record is None:
            ended = len(code) == CODE_LENGTH and await self.store.is_ended(code)
            await self.store.hit(
                key, limit=self.failed_lookups, window=FAILED_LOOKUP_WINDOW, now=now
            )
            if ended:
                raise ClassEnded(f"class {code} has ended")
            raise UnknownClass(f"no class {code[:CODE_LENGTH]!r}; check the code")
        return record

    async def teacher(self, code: str, token: str | None, *, client: str) -> ClassRecord:
        record = await self.find(code, client=client)
        if not self.is_teacher(record, token):
            raise WrongToken("only this class's teacher may do that (wrong or missing token)")
        return record

    @staticmethod
    def is_teacher(record: ClassRecord, token: str | None) -> bool:
        return bool(token) and _same(token or "", record.teacher_hash)

    async def member_of(self, record: ClassRecord, token: str | None) -> Member | None:
        """The member whose token this is, or None."""
        student_id, _, _ = (token or "").partition(".")
        member = await self.store.member(record.code, student_id) if student_id else None
        if member is None or token is None or not _same(token, member.token_hash):
            return None
        return member

    async def student(
        self, code: str, token: str | None, *, client: str
    ) -> tuple[ClassRecord, Member]:
        record = await self.find(code, client=client)
        member = await self.member_of(record, token)
        if member is None:
            raise WrongToken("not a member's token for this class (join it first)")
        return record, member

    async def _touch(self, record: ClassRecord) -> None:
        # Coarse on purpose: idleness is measured in hours.
        now = self._clock()
        if now - record.touched > 30:
            await self.store.touch(record.code, now)

    # The teacher
    async def create(self) -> tuple[ClassRecord, str]:
        token = secrets.token_urlsafe(24)
        now = self._clock()
        for _ in range(20):  # with at most max_classes of 31**6 codes taken, one try is enough
            record = ClassRecord(
                code=new_code(), teacher_hash=_hash(token), created=now, touched=now
            )
            if await self.store.create_class(record, max_classes=self.max_classes):
                return record, token
        raise LimitReached("no free class code found; try again", retry_after=1)

    async def set_state(self, record: ClassRecord, url: str) -> stage.Stage:
        shown = stage.parse(url, self.links)
        question_open = await self._open_question(record)
        if question_open is not None:  # the step moves on: the question is over
            await self._close(record, question_open)
        record = replace(record, state_url=shown.url, touched=self._clock())
        await self.store.save_class(record)
        await self.store.publish(record.code, self.state_event(shown))
        return shown

    @staticmethod
    def state_event(shown: stage.Stage | None) -> Event:
        if shown is None:
            return _event("state", url=None)
        return _event(
            "state", url=shown.url, title=shown.title, step=shown.step, steps=shown.steps,
            challenge=shown.challenge.slug if shown.challenge else None,
        )  # fmt: skip

    async def _open_question(self, record: ClassRecord) -> QuestionRecord | None:
        if not record.question_id:
            return None
        question = await self.store.question(record.code, record.question_id)
        return question if question is not None and question.open else None

    async def ask(self, record: ClassRecord) -> QuestionRecord:
        if not record.state_url:
            raise Conflict("show the class a /sim permalink first (PUT .../state)")
        shown = stage.parse(record.state_url, self.links)
        if shown.run is None:
            raise Conflict("questions are about a /sim run; this class is on a challenge")
        asked = predict_question(shown.run, shown.step)
        if asked is None:
            raise Conflict(f"the run is over at step {shown.step}: nothing left to predict")
        question = QuestionRecord(
            id=record.question_id + 1, url=shown.url, step=asked.step, prompt=asked.prompt,
            choices=tuple(Choice(token=c.token, label=c.label) for c in asked.choices),
            answer=asked.answer,
        )  # fmt: skip
        await self.store.add_question(record.code, question)
        await self.store.save_class(
            replace(record, question_id=question.id, touched=self._clock())
        )
        await self.store.publish(record.code, self.question_event(question))
        return question

    @staticmethod
    def question_event(question: QuestionRecord) -> Event:
        return _event(
            "question", id=question.id, open=question.open, step=question.step, url=question.url,
            prompt=question.prompt, revealed=question.revealed,
            choices=[{"token": c.token, "label": c.label} for c in question.choices],
        )  # fmt: skip

    async def question(self, record: ClassRecord, question_id: int) -> QuestionRecord:
        question = await self.store.question(record.code, question_id)
        if question is None:
            raise UnknownClass(f"class {record.code} has no question {question_id}")
        return question

    async def _close(self, record: ClassRecord, question: QuestionRecord) -> QuestionRecord:
        closed = replace(question, open=False)
        await self.store.close_question(record.code, question.id)
        await self.store.publish(record.code, self.question_event(closed))
        return closed

    async def close(self, record: ClassRecord, question_id: int) -> QuestionRecord:
        question = await self.question(record, question_id)
        return await self._close(record, question) if question.open else question

    async def reveal(self, record: ClassRecord, question_id: int) -> Results:
        question = await self.question(record, question_id)
        # Atomic: of two reveals at once (a double click, two dashboards) one scores, once.
        if question.revealed or not await self.store.reveal_question(record.code, question.id):
            raise Conflict(f"question {question_id} was revealed already")
        question = replace(question, open=False, revealed=True)
        await self.store.publish(record.code, self.question_event(question))
        answers = await self.store.answers(record.code, question.id)
        right = {sid for sid, choice in answers.items() if choice == question.answer}
        await self.store.add_scores(record.code, right, set(answers))
        results = await self._results(record, question, answers, None)
        top = await self.top(record) if record.show_top else None
        await self.store.publish(
            record.code,
            _event(
                "reveal", id=question.id, correct=question.answer, counts=results.counts,
                answered=results.answered, members=results.members, top=top,
            ),
        )  # fmt: skip
        return results

    async def top(self, record: ClassRecord) -> list[dict[str, object]]:
        members = await self.store.members(record.code)
        best = sorted(members, key=lambda m: (-m.right, m.answered, m.joined))[:TOP]
        return [{"name": m.name, "right": m.right, "answered": m.answered} for m in best]

    async def show_top(self, record: ClassRecord, show: bool) -> None:
        await self.store.save_class(replace(record, show_top=show, touched=self._clock()))

    async def end(self, record: ClassRecord) -> None:
        await self._end(record.code, self._clock())

    async def _results(
        self,
        record: ClassRecord,
        question: QuestionRecord,
        answers: dict[str, str],
        member: Member | None,
    ) -> Results:
        counted = Counter(answers.values())
        return Results(
            question=question,
            counts={choice.token: counted[choice.token] for choice in question.choices},
            answered=len(answers),
            members=await self.store.member_count(record.code),
            mine=answers.get(member.student_id) if member else None,
        )

    async def results(
        self, record: ClassRecord, question_id: int, member: Member | None
    ) -> Results:
        question = await self.question(record, question_id)
        answers = await self.store.answers(record.code, question_id)
        return await self._results(record, question, answers, member)

    # Members
    async def join(self, record: ClassRecord, name: str) -> tuple[Member, str]:
        student_id = secrets.token_hex(8)
        token = f"{student_id}.{secrets.token_urlsafe(24)}"
        member = Member(
            student_id=student_id, name=clean_name(name), token_hash=_hash(token),
            joined=self._clock(),
        )  # fmt: skip
        await self.store.add_member(record.code, member, max_members=self.max_members)
        await self._touch(record)
        count = await self.store.member_count(record.code)
        await self.store.publish(record.code, _event("members", members=count))
        return member, token

    async def remove(self, record: ClassRecord, student_id: str) -> None:
        """The teacher takes a member out of the class (a name the class should not see)."""
        if not await self.store.remove_member(record.code, student_id):
            raise UnknownClass(f"class {record.code} has no member {student_id[:20]!r}")
        count = await self.store.member_count(record.code)
        await self.store.publish(record.code, _event("members", members=count))

    async def answer(
        self, record: ClassRecord, member: Member, question_id: int, choice: str
    ) -> None:
        question = await self.question(record, question_id)
        if choice not in {c.token for c in question.choices}:
            allowed = ", ".join(c.token for c in question.choices)
            raise BadInput("choice", f"must be one of {allowed}")
        if not await self.store.hit(
            f"answer:{record.code}:{member.student_id}",
            limit=ANSWERS_PER_SECOND, window=1, now=self._clock(),
        ):  # fmt: skip
            raise LimitReached(
                f"at most {ANSWERS_PER_SECOND} answers a second; wait a moment", retry_after=1
            )
        if not await self.store.put_answer(record.code, question_id, member.student_id, choice):
            raise Conflict(f"question {question_id} is closed")
        await self._touch(record)

    # Challenges
    def shown(self, record: ClassRecord) -> stage.Stage | None:
        """What the class looks at now; None before the teacher shows it anything."""
        return stage.parse(record.state_url, self.links) if record.state_url else None

    def assigned(self, record: ClassRecord) -> Challenge:
        shown = self.shown(record)
        if shown is None or shown.challenge is None:
            raise Conflict("no challenge is assigned to the class right now")
        return shown.challenge

    async def hand_in(self, record: ClassRecord, member: Member, schedule: str) -> HandIn:
        """Judge a member's run of the assigned challenge and keep it (the latest counts)."""
        challenge = self.assigned(record)
        try:
            verdict = check(challenge, schedule)
            chosen = len(parse_schedule(schedule))
        except (InvalidParameter, ScheduleError) as error:
            raise BadInput("schedule", str(error)) from None
        if chosen < len(verdict.run.steps):  # the outcome a student reached, not one made up
            raise BadInput(
                "schedule", f"finish the run first: {chosen} of {len(verdict.run.steps)} steps"
            )
        outcome = verdict.run.outcome
        key = {
            "final_rc": outcome.final_rc, "freed": outcome.freed,
            "use_after_free": outcome.use_after_free > 0, "double_free": outcome.double_free > 0,
        }  # fmt: skip
        hand_in = HandIn(
            student_id=member.student_id, schedule=verdict.run.schedule,
            outcome=json.dumps(key, sort_keys=True), solved=verdict.solved,
        )  # fmt: skip
        await self.store.put_hand_in(record.code, challenge.slug, hand_in)
        await self._touch(record)
        return hand_in

    async def challenge_results(self, record: ClassRecord) -> ChallengeResults:
        challenge = self.assigned(record)
        hand_ins = await self.store.hand_ins(record.code, challenge.slug)
        counted = Counter((h.outcome, h.solved) for h in hand_ins)
        outcomes = [
            (json.loads(outcome), count, solved)
            for (outcome, solved), count in sorted(counted.items(), key=lambda kv: -kv[1])
        ]
        return ChallengeResults(
            slug=challenge.slug, handed_in=len(hand_ins),
            solved=sum(h.solved for h in hand_ins), outcomes=outcomes,
        )  # fmt: skip

    async def latest_question(self, record: ClassRecord) -> QuestionRecord | None:
        if not record.question_id:
            return None
        return await self.store.question(record.code, record.question_id)

    # The opening burst of a stream: everything a newcomer (or a reconnecting phone) needs.
    async def snapshot(self, record: ClassRecord) -> list[Event]:
        events = [
            self.state_event(self.shown(record)),
            _event("members", members=await self.store.member_count(record.code)),
        ]
        question = await self.latest_question(record)
        if question is not None:
            events.append(self.question_event(question))
        return events


def open_classes(
    *, redis_url: str, sqlite_path: Path, links: stage.Links, max_classes: int
) -> LiveClasses:
    """The live classes of a server: on Redis when a URL is given, else on the SQLite file."""
    store: Store = RedisStore(redis_url) if redis_url else SqliteStore(sqlite_path)
    return LiveClasses(store, links=links, max_classes=max_classes)
