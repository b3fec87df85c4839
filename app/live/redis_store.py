"""The Redis store: for a class served by several machines behind one load balancer.

Every record is a Redis hash or string under `{prefix}:{kind}:{code}`; each bound is one Lua
script (Redis runs a script alone, so a bound holds whatever the number of servers). Events go
out with PUBLISH on `{prefix}:ev:{code}`; each process holds one pattern subscription and hands
what arrives to its hub, so a class of 200 costs each process one Redis connection for events,
not 200. Rate windows and ended codes expire by themselves (EXPIRE).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import redis.asyncio as redis

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

# Connections per process: commands take well under a millisecond, so a few dozen serve a
# class of 300 answering at once.
MAX_CONNECTIONS = 32

# KEYS: classes zset, class hash, ended key. ARGV: code, max, fields as pairs...
_CREATE = """
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""
# KEYS: names hash, members hash, class hash. ARGV: folded name, student id, member json, max.
_JOIN = """
if redis.call('EXISTS', KEYS[3]) == 0 then return -3 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -1 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return -2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""
# KEYS: open key, answers hash. ARGV: question id, student id, choice.
_ANSWER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""
# KEYS: rate key. ARGV: limit, window seconds, cost.
_HIT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then return 0 end
if tonumber(ARGV[3]) > 0 then
  redis.call('INCRBY', KEYS[1], ARGV[3])
  if count == 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
end
return 1
"""
# KEYS: questions hash, open key. ARGV: id, doc.
_ASK = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
return 1
"""
# KEYS: open key, revealed set. ARGV: question id, reveal (1/0). Closes the question if it is
# the open one; with reveal, marks it revealed and says whether this call did (SADD's answer).
_SETTLE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if ARGV[2] == '1' then return redis.call('SADD', KEYS[2], ARGV[1]) end
return 0
"""

# KEYS: class hash, classes zset. ARGV: code, touched, state_url, question_id, show_top.
# Only while the class exists: a save racing the class's end must not bring it back.
_SAVE_CLASS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'touched', ARGV[2], 'state_url', ARGV[3], 'question_id', ARGV[4],
           'show_top', ARGV[5])
redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[1])
return 1
"""

# KEYS: class hash, classes zset. ARGV: code, touched.
_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'touched', ARGV[2])
redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[1])
return 1
"""


def _member_doc(member: Member) -> str:
    return json.dumps({
        "name": member.name, "token_hash": member.token_hash, "joined": member.joined,
    })  # fmt: skip


class RedisStore:
    def __init__(self, url: str, *, prefix: str = "gillab") -> None:
        self.url = url
        self.prefix = prefix
        self._hub = Hub()
        # A request waits for a free connection rather than failing when a class answers at
        # once (redis-py's default pool refuses past its size with "Too many connections").
        self._pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=10, decode_responses=True
        )
        self._redis: redis.Redis = redis.Redis(connection_pool=self._pool)
        self._create = self._redis.register_script(_CREATE)
        self._join = self._redis.register_script(_JOIN)
        self._answer = self._redis.register_script(_ANSWER)
        self._hit = self._redis.register_script(_HIT)
        self._ask = self._redis.register_script(_ASK)
        self._settle = self._redis.register_script(_SETTLE)
        self._save_class = self._redis.register_script(_SAVE_CLASS)
        self._touch = self._redis.register_script(_TOUCH)
        self._listener: asyncio.Task[None] | None = None

    @property
    def hub(self) -> Hub:
        return self._hub

    def _key(self, kind: str, code: str = "", *more: object) -> str:
        return ":".join([self.prefix, kind, code, *map(str, more)]).rstrip(":")

    async def start(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.psubscribe(self._key("ev", "*"))
        self._listener = asyncio.create_task(self._listen(pubsub), name="live-redis-events")

    async def _listen(self, pubsub: redis.client.PubSub) -> None:
        channel_prefix = len(self._key("ev", ""))
        try:
            async for message in pubsub.listen():
                if message.get("type") != "pmessage":
                    continue
                code = message["channel"][channel_prefix + 1 :]
                name, data = json.loads(message["data"])
                self._hub.deliver(code, Event(name=name, data=data))
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._redis.aclose()
        await self._pool.aclose()

    # Classes
    async def create_class(self, record: ClassRecord, *, max_classes: int) -> bool:
        fields = {
            "teacher_hash": record.teacher_hash, "created": record.created,
            "touched": record.touched, "state_url": record.state_url,
            "question_id": record.question_id, "show_top": int(record.show_top),
        }  # fmt: skip
        pairs = [str(item) for pair in fields.items() for item in pair]
        done = await self._create(
            keys=[self._key("classes"), self._key("class", record.code),
                  self._key("ended", record.code)],
            args=[record.code, max_classes, record.touched, *pairs],
        )  # fmt: skip
        if done == -1:
            raise LimitReached(
                f"this server runs {max_classes} classes already; try again later",
                retry_after=600,
            )
        return bool(done == 1)

    async def get_class(self, code: str) -> ClassRecord | None:
        data: dict[str, str] = await self._redis.hgetall(self._key("class", code))  # type: ignore[assignment]
        if not data:
            return None
        return ClassRecord(
            code=code, teacher_hash=data["teacher_hash"], created=float(data["created"]),
            touched=float(data["touched"]), state_url=data["state_url"],
            question_id=int(data["question_id"]), show_top=data["show_top"] == "1",
        )  # fmt: skip

    async def save_class(self, record: ClassRecord) -> None:
        await self._save_class(
            keys=[self._key("class", record.code), self._key("classes")],
            args=[record.code, record.touched, record.state_url, record.question_id,
                  int(record.show_top)],
        )  # fmt: skip

    async def touch(self, code: str, now: float) -> None:
        await self._touch(keys=[self._key("class", code), self._key("classes")], args=[code, now])

    async def is_ended(self, code: str) -> bool:
        return bool(await self._redis.exists(self._key("ended", code)))

    async def end_class(self, code: str, now: float) -> None:
        keys = [self._key("class", code), self._key("names", code), self._key("members", code),
                self._key("right", code), self._key("answered", code),
                self._key("questions", code), self._key("open", code),
                self._key("revealed", code)]  # fmt: skip
        keys += [key async for key in self._redis.scan_iter(match=self._key("*", code, "*"))]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(*keys)
            pipe.zrem(self._key("classes"), code)
            pipe.set(self._key("ended", code), now, ex=ENDED_KEPT_SECONDS)
            await pipe.execute()

    async def idle_classes(self, before: float) -> list[str]:
        codes: list[str] = await self._redis.zrangebyscore(  # type: ignore[assignment]
            self._key("classes"), "-inf", f"({before}"
        )
        return codes

    async def prune(self, now: float) -> None:
        """Nothing to do: rate windows and ended codes carry their own expiry."""

    # Members
    async def add_member(self, code: str, member: Member, *, max_members: int) -> None:
        done = await self._join(
            keys=[self._key("names", code), self._key("members", code), self._key("class", code)],
            args=[fold(member.name), member.student_id, _member_doc(member), max_members],
        )
        if done == -1:
            raise Conflict(f"someone in this class is called {member.name!r} already")
        if done == -2:
            raise LimitReached(f"this class is full ({max_members})", retry_after=60)
        if done == -3:
            raise Conflict("the class ended while joining")

    async def member(self, code: str, student_id: str) -> Member | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._key("members", code), student_id)
            pipe.hget(self._key("right", code), student_id)
            pipe.hget(self._key("answered", code), student_id)
            doc, right, answered = await pipe.execute()
        if doc is None:
            return None
        return self._member(student_id, doc, right, answered)

    @staticmethod
    def _member(student_id: str, doc: str, right: str | None, answered: str | None) -> Member:
        data = json.loads(doc)
        return Member(
            student_id=student_id, name=data["name"], token_hash=data["token_hash"],
            joined=data["joined"], right=int(right or 0), answered=int(answered or 0),
        )  # fmt: skip

    async def members(self, code: str) -> list[Member]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key("members", code))
            pipe.hgetall(self._key("right", code))
            pipe.hgetall(self._key("answered", code))
            docs, right, answered = await pipe.execute()
        members = [
            self._member(sid, doc, right.get(sid), answered.get(sid)) for sid, doc in docs.items()
        ]
        return sorted(members, key=lambda member: member.joined)

    async def member_count(self, code: str) -> int:
        return int(await self._redis.hlen(self._key("members", code)))

    async def remove_member(self, code: str, student_id: str) -> bool:
        member = await self.member(code, student_id)
        if member is None:
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._key("names", code), fold(member.name))
            for kind in ("members", "right", "answered"):
                pipe.hdel(self._key(kind, code), student_id)
            removed = await pipe.execute()
        return bool(removed[1])

    async def add_scores(self, code: str, right: set[str], answered: set[str]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for sid in answered:
                pipe.hincrby(self._key("answered", code), sid, 1)
                if sid in right:
                    pipe.hincrby(self._key("right", code), sid, 1)
            await pipe.execute()

    # Questions and answers
    async def add_question(self, code: str, question: QuestionRecord) -> None:
        doc = json.dumps({
            "url": question.url, "step": question.step, "prompt": question.prompt,
            "choices": [[c.token, c.label] for c in question.choices], "answer": question.answer,
        })  # fmt: skip
        done = await self._ask(
            keys=[self._key("questions", code), self._key("open", code)], args=[question.id, doc]
        )
        if not done:
            raise Conflict("another question was opened at the same moment")

    async def question(self, code: str, question_id: int) -> QuestionRecord | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._key("questions", code), question_id)
            pipe.get(self._key("open", code))
            pipe.sismember(self._key("revealed", code), str(question_id))
            doc, open_id, revealed = await pipe.execute()
        if doc is None:
            return None
        data = json.loads(doc)
        return QuestionRecord(
            id=question_id, url=data["url"], step=data["step"], prompt=data["prompt"],
            choices=tuple(Choice(token=t, label=label) for t, label in data["choices"]),
            answer=data["answer"], open=open_id == str(question_id), revealed=bool(revealed),
        )  # fmt: skip

    async def close_question(self, code: str, question_id: int) -> None:
        await self._settle(
            keys=[self._key("open", code), self._key("revealed", code)], args=[question_id, 0]
        )

    async def reveal_question(self, code: str, question_id: int) -> bool:
        revealed = await self._settle(
            keys=[self._key("open", code), self._key("revealed", code)], args=[question_id, 1]
        )
        return bool(revealed)

    async def put_answer(self, code: str, question_id: int, student_id: str, choice: str) -> bool:
        done = await self._answer(
            keys=[self._key("open", code), self._key("answers", code, question_id)],
            args=[question_id, student_id, choice],
        )
        return bool(done)

    async def answers(self, code: str, question_id: int) -> dict[str, str]:
        answers: dict[str, str] = await self._redis.hgetall(  # type: ignore[assignment]
            self._key("answers", code, question_id)
        )
        return answers

    # Challenges
    async def put_hand_in(self, code: str, slug: str, hand_in: HandIn) -> None:
        doc = json.dumps([hand_in.schedule, hand_in.outcome, hand_in.solved])
        await self._redis.hset(self._key("handins", code, slug), hand_in.student_id, doc)

    async def hand_ins(self, code: str, slug: str) -> list[HandIn]:
        docs: dict[str, str] = await self._redis.hgetall(  # type: ignore[assignment]
            self._key("handins", code, slug)
        )
        hand_ins = []
        for sid, doc in docs.items():
            schedule, outcome, solved = json.loads(doc)
            hand_ins.append(
                HandIn(student_id=sid, schedule=schedule, outcome=outcome, solved=solved)
            )
        return hand_ins

    # Rates and events
    async def hit(self, key: str, *, limit: int, window: int, now: float, cost: int = 1) -> bool:
        started = int(now) // window * window
        done = await self._hit(keys=[self._key("rate", key, started)], args=[limit, window, cost])
        return bool(done)

    async def publish(self, code: str, event: Event) -> None:
        await self._redis.publish(self._key("ev", code), json.dumps([event.name, event.data]))
