"""The SQLite store: one file in WAL mode, shared by every worker process of one machine.

Each process talks to the file from one thread of its own (so a lock wait never blocks the
event loop), and every bound is one statement or one `BEGIN IMMEDIATE` transaction, so it holds
across processes. Events are rows of `events`: every process polls for rows newer than the last
it saw (POLL_SECONDS apart) and hands them to its hub; rows older than a minute are pruned.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from app.live.model import (
    ENDED_KEPT_SECONDS,
    Choice,
    ClassRecord,
    Conflict,
    Event,
    HandIn,
    LimitReached,
    Member,
    QuestionRecord,
    fold,
)
from app.live.store import Hub

T = TypeVar("T")

# An indexed look-up of rows newer than the last seen: about 0.1 ms, so 100 a second cost a
# worker 1% of a core and a step waits at most 10 ms to leave the file.
POLL_SECONDS = 0.01
EVENTS_KEPT_SECONDS = 60

_SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (
    code TEXT PRIMARY KEY, teacher_hash TEXT NOT NULL, created REAL NOT NULL,
    touched REAL NOT NULL, state_url TEXT NOT NULL, question_id INTEGER NOT NULL,
    show_top INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ended (code TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    code TEXT NOT NULL, student_id TEXT NOT NULL, name TEXT NOT NULL, folded TEXT NOT NULL,
    token_hash TEXT NOT NULL, joined REAL NOT NULL, correct INTEGER NOT NULL DEFAULT 0,
    answered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (code, student_id), UNIQUE (code, folded));
CREATE TABLE IF NOT EXISTS questions (
    code TEXT NOT NULL, id INTEGER NOT NULL, doc TEXT NOT NULL, open INTEGER NOT NULL,
    revealed INTEGER NOT NULL, PRIMARY KEY (code, id));
CREATE TABLE IF NOT EXISTS answers (
    code TEXT NOT NULL, question_id INTEGER NOT NULL, student_id TEXT NOT NULL,
    choice TEXT NOT NULL, PRIMARY KEY (code, question_id, student_id));
CREATE TABLE IF NOT EXISTS hand_ins (
    code TEXT NOT NULL, slug TEXT NOT NULL, student_id TEXT NOT NULL, schedule TEXT NOT NULL,
    outcome TEXT NOT NULL, solved INTEGER NOT NULL, PRIMARY KEY (code, slug, student_id));
CREATE TABLE IF NOT EXISTS rates (key TEXT PRIMARY KEY, started INTEGER NOT NULL,
    count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL,
    name TEXT NOT NULL, data TEXT NOT NULL, at REAL NOT NULL);
"""

# The tables that hold a class's data, all keyed by `code` (deleted when the class ends).
_CLASS_TABLES = ("classes", "members", "questions", "answers", "hand_ins")


def _question_doc(question: QuestionRecord) -> str:
    return json.dumps({
        "url": question.url, "step": question.step, "prompt": question.prompt,
        "choices": [[c.token, c.label] for c in question.choices], "answer": question.answer,
    })  # fmt: skip


def _question(question_id: int, doc: str, is_open: int, revealed: int) -> QuestionRecord:
    data = json.loads(doc)
    return QuestionRecord(
        id=question_id, url=data["url"], step=data["step"], prompt=data["prompt"],
        choices=tuple(Choice(token=t, label=label) for t, label in data["choices"]),
        answer=data["answer"], open=bool(is_open), revealed=bool(revealed),
    )  # fmt: skip


class SqliteStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._hub = Hub()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-sqlite")
        self._db: sqlite3.Connection | None = None
        self._seen = 0
        self._poller: asyncio.Task[None] | None = None

    @property
    def hub(self) -> Hub:
        return self._hub

    # The connection belongs to the store's one thread: everything runs there.
    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            assert self._db is not None, "the store is not started"
            return work(self._db)

        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL loses no integrity on a crash, only the last commits on power loss:
        # the right trade for a lesson's answers, and it spares every answer an fsync.
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=10000")
        with _immediate(db):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
        self._db = db
        row = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        return int(row[0])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._seen = await loop.run_in_executor(self._thread, self._open)
        self._poller = asyncio.create_task(self._poll(), name="live-sqlite-events")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._db is not None:
            await self._run(lambda db: db.close())
            self._db = None
        self._thread.shutdown(wait=True)

    def _new_events(self, db: sqlite3.Connection) -> tuple[int, dict[str, list[Event]]]:
        rows = db.execute(
            "SELECT seq, code, name, data FROM events WHERE seq > ? ORDER BY seq", (self._seen,)
        ).fetchall()
        batch: dict[str, list[Event]] = defaultdict(list)
        for _, code, name, data in rows:
            batch[code].append(Event(name=name, data=data))
        return (rows[-1][0] if rows else self._seen), batch

    async def _poll(self) -> None:
        while True:
            self._seen, batch = await self._run(self._new_events)
            self._hub.deliver_all(batch)
            await asyncio.sleep(POLL_SECONDS)

    # Classes
    async def create_class(self, record: ClassRecord, *, max_classes: int) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            with _immediate(db):
                (count,) = db.execute("SELECT count(*) FROM classes").fetchone()
                if count >= max_classes:
                    raise LimitReached(
                        f"this server runs {max_classes} classes already; try again later",
                        retry_after=600,
                    )
                taken = db.execute(
                    "SELECT 1 FROM classes WHERE code = ? UNION SELECT 1 FROM ended WHERE code = ?",
                    (record.code, record.code),
                ).fetchone()
                if taken:
                    return False
                db.execute(
                    "INSERT INTO classes VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (record.code, record.teacher_hash, record.created, record.touched,
                     record.state_url, record.question_id, int(record.show_top)),
                )  # fmt: skip
                return True

        return await self._run(work)

    async def get_class(self, code: str) -> ClassRecord | None:
        row = await self._run(
            lambda db: db.execute("SELECT * FROM classes WHERE code = ?", (code,)).fetchone()
        )
        if row is None:
            return None
        code, teacher_hash, created, touched, state_url, question_id, show_top = row
        return ClassRecord(
            code=code, teacher_hash=teacher_hash, created=created, touched=touched,
            state_url=state_url, question_id=question_id, show_top=bool(show_top),
        )  # fmt: skip

    async def save_class(self, record: ClassRecord) -> None:
        await self._run(
            lambda db: db.execute(
                "UPDATE classes SET state_url = ?, question_id = ?, show_top = ?, touched = ? "
                "WHERE code = ?",
                (record.state_url, record.question_id, int(record.show_top), record.touched,
                 record.code),
            )
        )

    async def touch(self, code: str, now: float) -> None:
        await self._run(
            lambda db: db.execute("UPDATE classes SET touched = ? WHERE code = ?", (now, code))
        )

    async def is_ended(self, code: str) -> bool:
        row = await self._run(
            lambda db: db.execute("SELECT 1 FROM ended WHERE code = ?", (code,)).fetchone()
        )
        return row is not None

    async def end_class(self, code: str, now: float) -> None:
        def work(db: sqlite3.Connection) -> None:
            with _immediate(db):
                for table in _CLASS_TABLES:
                    db.execute(f"DELETE FROM {table} WHERE code = ?", (code,))
                db.execute("INSERT OR REPLACE INTO ended VALUES (?, ?)", (code, now))

        await self._run(work)

    async def prune(self, now: float) -> None:
        def work(db: sqlite3.Connection) -> None:
            with _immediate(db):
                db.execute("DELETE FROM ended WHERE at < ?", (now - ENDED_KEPT_SECONDS,))
                db.execute("DELETE FROM events WHERE at < ?", (now - EVENTS_KEPT_SECONDS,))
                db.execute("DELETE FROM rates WHERE started < ?", (now - 3600,))

        await self._run(work)

    async def idle_classes(self, before: float) -> list[str]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT code FROM classes WHERE touched < ?", (before,)
            ).fetchall()
        )
        return [code for (code,) in rows]

    # Members
    async def add_member(self, code: str, member: Member, *, max_members: int) -> None:
        def work(db: sqlite3.Connection) -> None:
            with _immediate(db):
                (count,) = db.execute(
                    "SELECT count(*) FROM members WHERE code = ?", (code,)
                ).fetchone()
                if db.execute(
                    "SELECT 1 FROM members WHERE code = ? AND folded = ?", (code, fold(member.name))
                ).fetchone():
                    raise Conflict(f"someone in this class is called {member.name!r} already")
                if count >= max_members:
                    raise LimitReached(f"this class is full ({max_members})", retry_after=60)
                db.execute(
                    "INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
                    (code, member.student_id, member.name, fold(member.name), member.token_hash,
                     member.joined),
                )  # fmt: skip

        await self._run(work)

    @staticmethod
    def _member(row: tuple[str, str, str, float, int, int]) -> Member:
        student_id, name, token_hash, joined, right, answered = row
        return Member(
            student_id=student_id, name=name, token_hash=token_hash, joined=joined, right=right,
            answered=answered,
        )  # fmt: skip

    _MEMBER_COLUMNS = "student_id, name, token_hash, joined, correct, answered"

    async def member(self, code: str, student_id: str) -> Member | None:
        row = await self._run(
            lambda db: db.execute(
                f"SELECT {self._MEMBER_COLUMNS} FROM members WHERE code = ? AND student_id = ?",
                (code, student_id),
            ).fetchone()
        )
        return None if row is None else self._member(row)

    async def members(self, code: str) -> list[Member]:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {self._MEMBER_COLUMNS} FROM members WHERE code = ? ORDER BY joined",
                (code,),
            ).fetchall()
        )
        return [self._member(row) for row in rows]

    async def member_count(self, code: str) -> int:
        (count,) = await self._run(
            lambda db: db.execute("SELECT count(*) FROM members WHERE code = ?", (code,)).fetchone()
        )
        return int(count)

    async def remove_member(self, code: str, student_id: str) -> bool:
        cursor = await self._run(
            lambda db: db.execute(
                "DELETE FROM members WHERE code = ? AND student_id = ?", (code, student_id)
            )
        )
        return cursor.rowcount == 1

    async def add_scores(self, code: str, right: set[str], answered: set[str]) -> None:
        def work(db: sqlite3.Connection) -> None:
            with _immediate(db):
                db.executemany(
                    "UPDATE members SET answered = answered + 1, correct = correct + ? "
                    "WHERE code = ? AND student_id = ?",
                    [(int(sid in right), code, sid) for sid in answered],
                )

        await self._run(work)

    # Questions and answers
    async def add_question(self, code: str, question: QuestionRecord) -> None:
        def work(db: sqlite3.Connection) -> None:
            with _immediate(db):
                try:
                    db.execute(
                        "INSERT INTO questions VALUES (?, ?, ?, 1, 0)",
                        (code, question.id, _question_doc(question)),
                    )
                except sqlite3.IntegrityError:
                    raise Conflict("another question was opened at the same moment") from None
                db.execute(
                    "UPDATE questions SET open = 0 WHERE code = ? AND id != ?", (code, question.id)
                )

        await self._run(work)

    async def question(self, code: str, question_id: int) -> QuestionRecord | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT doc, open, revealed FROM questions WHERE code = ? AND id = ?",
                (code, question_id),
            ).fetchone()
        )
        return None if row is None else _question(question_id, *row)

    async def close_question(self, code: str, question_id: int) -> None:
        await self._run(
            lambda db: db.execute(
                "UPDATE questions SET open = 0 WHERE code = ? AND id = ?", (code, question_id)
            )
        )

    async def reveal_question(self, code: str, question_id: int) -> bool:
        cursor = await self._run(
            lambda db: db.execute(
                "UPDATE questions SET open = 0, revealed = 1 "
                "WHERE code = ? AND id = ? AND revealed = 0",
                (code, question_id),
            )
        )
        return cursor.rowcount == 1

    async def put_answer(self, code: str, question_id: int, student_id: str, choice: str) -> bool:
        # One statement: the open check and the write cannot be split by a close.
        cursor = await self._run(
            lambda db: db.execute(
                "INSERT INTO answers SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM questions "
                "WHERE code = ? AND id = ? AND open = 1) "
                "ON CONFLICT (code, question_id, student_id) "
                "DO UPDATE SET choice = excluded.choice",
                (code, question_id, student_id, choice, code, question_id),
            )
        )
        return cursor.rowcount == 1

    async def answers(self, code: str, question_id: int) -> dict[str, str]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT student_id, choice FROM answers WHERE code = ? AND question_id = ?",
                (code, question_id),
            ).fetchall()
        )
        return dict(rows)

    # Challenges
    async def put_hand_in(self, code: str, slug: str, hand_in: HandIn) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO hand_ins VALUES (?, ?, ?, ?, ?, ?)",
                (code, slug, hand_in.student_id, hand_in.schedule, hand_in.outcome,
                 int(hand_in.solved)),
            )
        )

    async def hand_ins(self, code: str, slug: str) -> list[HandIn]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT student_id, schedule, outcome, solved FROM hand_ins "
                "WHERE code = ? AND slug = ?",
                (code, slug),
            ).fetchall()
        )
        return [
            HandIn(student_id=sid, schedule=schedule, outcome=outcome, solved=bool(solved))
            for sid, schedule, outcome, solved in rows
        ]

    # Rates and events
    async def hit(self, key: str, *, limit: int, window: int, now: float, cost: int = 1) -> bool:
        current = int(now) // window * window  # the start of this window, in seconds

        def work(db: sqlite3.Connection) -> bool:
            with _immediate(db):
                row = db.execute(
                    "SELECT started, count FROM rates WHERE key = ?", (key,)
                ).fetchone()
                count = row[1] if row is not None and row[0] == current else 0
                if count >= limit:
                    return False
                if cost:
                    db.execute(
                        "INSERT OR REPLACE INTO rates VALUES (?, ?, ?)",
                        (key, current, count + cost),
                    )
                return True

        return await self._run(work)

    async def publish(self, code: str, event: Event) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO events (code, name, data, at) VALUES (?, ?, ?, ?)",
                (code, event.name, event.data, time.time()),
            )
        )


@contextlib.contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the file's write lock at once (no upgrade deadlocks)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
