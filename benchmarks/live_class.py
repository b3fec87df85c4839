"""A live class on loopback: one teacher and 200 students following over server-sent events,
with GILLAB_WORKERS=2 and a native race running, on the SQLite store and on the Redis store.

    .venv/bin/python benchmarks/live_class.py [--students 200] [--rounds 30] [--backend both]

Each backend gets its own server (`python -m app` on a free loopback port, the entry point
Docker runs) and, for Redis, its own redis-server on a free port; both are stopped when done.
The students join, open their streams and wait for the opening state. Then, each round, the
teacher steps the run (PUT .../state) and the round's figure is the time from sending that
request to the moment the *last* student's stream delivers the new step. Every third round the
teacher asks a question: every student answers twice (a first thought, then a final answer,
as the issue allows until the question closes), the teacher's count must equal the final
answers exactly, and the reveal must reach every stream with the same counts. Any missing
event, refused request or wrong count is an error. Every loop is bounded in count and time.

Target (issue 15): fan-out p99 under 250 ms, no answer lost, zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.redis_server import redis_server
from tests.serving import live_server

RUN = "/sim?scenario=inc-inc&mode=none&n=20&step={step}"  # 120 steps: room for every round
NATIVE_RACE = "/api/native/race?experiment=inc-inc&mode=none&iterations=1000000&runs=5"
EVENT_TIMEOUT = 10.0  # a round waits this long for the last student before counting errors
REQUEST_TIMEOUT = 30.0
TARGET_FANOUT_MS = 250


class Connection:
    """A keep-alive HTTP/1.1 connection on asyncio streams: JSON requests and SSE events.

    A general-purpose client spends milliseconds of its own CPU per request on the same two
    cores as the server, which would be measured as the server's latency; this does only what
    the benchmark needs (Content-Length or chunked bodies, gzip as a browser accepts it)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None

    async def _send(self, method: str, path: str, body: object, token: str | None) -> tuple[
        asyncio.StreamReader, int, dict[bytes, bytes]
    ]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                "Accept-Encoding: gzip", f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        if token:
            head.append(f"Authorization: Bearer {token}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        headers: dict[bytes, bytes] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        return reader, int(status_line.split()[1]), headers

    async def call(self, method: str, path: str, body: object = None,
                   token: str | None = None) -> tuple[int, object]:
        reused = self._streams is not None
        try:
            return await asyncio.wait_for(self._call(method, path, body, token), REQUEST_TIMEOUT)
        except ConnectionError:
            await self.close()
            if not reused:
                raise
        except BaseException:
            await self.close()
            raise
        # The server closed a kept-alive connection while it was idle (uvicorn's keep-alive
        # timeout), before reading this request: send it again on a new connection, once.
        return await asyncio.wait_for(self._call(method, path, body, token), REQUEST_TIMEOUT)

    async def _call(self, method: str, path: str, body: object,
                    token: str | None) -> tuple[int, object]:
        reader, status, headers = await self._send(method, path, body, token)
        if headers.get(b"transfer-encoding") == b"chunked":
            raw = b""
            while size := int((await reader.readline()).strip() or b"0", 16):
                raw += await reader.readexactly(size)
                await reader.readexactly(2)
            await reader.readline()
        else:
            raw = await reader.readexactly(int(headers.get(b"content-length", b"0")))
        if headers.get(b"content-encoding") == b"gzip":
            raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS)
        return status, json.loads(raw) if raw else None

    async def events(self, path: str) -> asyncio.Queue[tuple[str, dict[str, object], float]]:
        """Open an event stream; its events arrive on the queue, stamped on arrival."""
        reader, status, headers = await self._send("GET", path, None, None)
        if status != 200:
            raise ConnectionError(f"{path} answered {status}")
        queue: asyncio.Queue[tuple[str, dict[str, object], float]] = asyncio.Queue()
        asyncio.get_running_loop().create_task(self._read_events(reader, headers, queue))
        return queue

    @staticmethod
    async def _read_events(reader: asyncio.StreamReader, headers: dict[bytes, bytes],
                           queue: asyncio.Queue[tuple[str, dict[str, object], float]]) -> None:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        gzipped = headers.get(b"content-encoding") == b"gzip"
        buffered, name = b"", ""
        try:
            while size := int((await reader.readline()).strip() or b"0", 16):
                chunk = await reader.readexactly(size)
                await reader.readexactly(2)
                buffered += inflate.decompress(chunk) if gzipped else chunk
                *lines, buffered = buffered.split(b"\n")
                for line in lines:
                    if line.startswith(b"event: "):
                        name = line[7:].decode()
                    elif line.startswith(b"data: "):
                        queue.put_nowait((name, json.loads(line[6:]), time.perf_counter()))
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        queue.put_nowait(("closed", {}, time.perf_counter()))


@dataclass
class Student:
    number: int
    token: str
    http: Connection
    events: asyncio.Queue[tuple[str, dict[str, object], float]] = field(
        default_factory=asyncio.Queue
    )

    async def wait_for(self, name: str, match: dict[str, object]) -> float:
        """The arrival time of the first event `name` whose data has the `match` fields."""
        while True:
            got, data, at = await self.events.get()
            if got == "closed":
                raise ConnectionError(f"student {self.number}'s stream closed")
            if got == name and all(data.get(key) == value for key, value in match.items()):
                return at


@dataclass
class Figures:
    fanout_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    answers_sent: int = 0
    answers_counted: int = 0
    events_expected: int = 0
    events_received: int = 0
    errors: list[str] = field(default_factory=list)


def _p(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def _everyone(students: list[Student], name: str, match: dict[str, object],
                    figures: Figures) -> list[float]:
    figures.events_expected += len(students)
    waits = [asyncio.wait_for(s.wait_for(name, match), EVENT_TIMEOUT) for s in students]
    arrivals = []
    for student, result in zip(students, await asyncio.gather(*waits, return_exceptions=True),
                               strict=True):
        if isinstance(result, BaseException):
            figures.errors.append(f"student {student.number}: no {name} {match} ({result!r})")
        else:
            arrivals.append(result)
    figures.events_received += len(arrivals)
    return arrivals


async def _answer(student: Student, api: str, question: int, choice: str,
                  figures: Figures) -> None:
    started = time.perf_counter()
    figures.answers_sent += 1
    try:
        status, body = await student.http.call("PUT", f"{api}/questions/{question}/answer",
                                               {"choice": choice}, student.token)
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
        figures.errors.append(f"answer by student {student.number}: {error!r}")
        return
    figures.answer_ms.append((time.perf_counter() - started) * 1000)
    if status != 200:
        figures.errors.append(f"answer by student {student.number}: {status} {body}")


async def _native_races(base: Connection, until: asyncio.Event, figures: Figures) -> int:
    races = 0
    while not until.is_set():
        status, body = await base.call("GET", NATIVE_RACE)
        if status != 200:
            figures.errors.append(f"native race: {status} {body}")
            return races
        races += 1
    return races


async def class_session(base: str, *, students: int, rounds: int) -> tuple[Figures, int]:
    host, port = base.removeprefix("http://").split(":")
    figures = Figures()
    teacher = Connection(host, int(port))
    status, created = await teacher.call("POST", "/api/classes")
    assert status == 201 and isinstance(created, dict), (status, created)
    code, token = created["code"], created["teacher_token"]
    api = f"/api/classes/{code}"

    async def join(number: int) -> Student:
        http = Connection(host, int(port))
        status, joined = await http.call("POST", f"{api}/join", {"name": f"student {number}"})
        assert status == 201 and isinstance(joined, dict), (status, joined)
        return Student(number=number, token=joined["student_token"], http=http)

    class_ = [await join(number) for number in range(students)]
    await teacher.call("PUT", f"{api}/state", {"url": RUN.format(step=0)}, token)
    streams = [Connection(host, int(port)) for _ in class_]
    for student, stream in zip(class_, streams, strict=True):
        student.events = await stream.events(f"/stream/classes/{code}")
    await _everyone(class_, "state", {"step": 0}, figures)  # every stream is open and in step

    racing = asyncio.Event()
    racer = asyncio.create_task(_native_races(Connection(host, int(port)), racing, figures))
    await asyncio.sleep(1.0)  # the race is under way before the first step
    for round_number in range(1, rounds + 1):
        started = time.perf_counter()
        status, body = await teacher.call(
            "PUT", f"{api}/state", {"url": RUN.format(step=round_number)}, token
        )
        if status != 200:
            figures.errors.append(f"step {round_number}: {status} {body}")
        arrivals = await _everyone(class_, "state", {"step": round_number}, figures)
        if arrivals:
            figures.fanout_ms.append((max(arrivals) - started) * 1000)
        if round_number % 3 == 0:
            await _question(teacher, token, api, class_, figures)
        await asyncio.sleep(0.2)  # a teacher's pace is slower; this keeps rounds apart
    racing.set()
    races = await racer
    for connection in [teacher, *streams, *(s.http for s in class_)]:
        await connection.close()
    return figures, races


async def _question(teacher: Connection, token: str, api: str, class_: list[Student],
                    figures: Figures) -> None:
    status, asked = await teacher.call("POST", f"{api}/questions", None, token)
    if status != 201 or not isinstance(asked, dict):
        figures.errors.append(f"ask: {status} {asked}")
        return
    question, choices = asked["id"], [c["token"] for c in asked["choices"]]
    await _everyone(class_, "question", {"id": question, "open": True}, figures)
    final = {s.number: choices[s.number % len(choices)] for s in class_}
    first = {s.number: choices[(s.number + 1) % len(choices)] for s in class_}
    for thought in (first, final):
        await asyncio.gather(*(_answer(s, api, question, thought[s.number], figures)
                               for s in class_))
    expected = {choice: 0 for choice in choices} | Counter(final.values())
    status, counted = await teacher.call("GET", f"{api}/questions/{question}", None, token)
    if not isinstance(counted, dict) or counted["counts"] != expected:
        figures.errors.append(f"question {question}: counted {counted}, sent {expected}")
    else:
        figures.answers_counted += counted["answered"]
    status, revealed = await teacher.call(
        "POST", f"{api}/questions/{question}/reveal", None, token
    )
    if status != 200:
        figures.errors.append(f"reveal {question}: {status} {revealed}")
    await _everyone(class_, "reveal", {"id": question, "counts": expected}, figures)


@contextmanager
def _server(backend: str) -> Iterator[str]:
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        # The default stream ceiling, as a teacher runs it (400 per worker holds 300 phones).
        env = {"GILLAB_WORKERS": "2", "GILLAB_LIVE_DB": str(folder / "live.sqlite3")}
        if backend == "redis":
            env["GILLAB_REDIS_URL"] = stack.enter_context(redis_server())
        log = folder / "server.log"
        server = stack.enter_context(live_server(env=env, log=log))
        try:
            yield server.url
        finally:
            errors = [line for line in log.read_text(errors="replace").splitlines()
                      if "Error" in line or "Traceback" in line]
            for line in errors[-8:]:  # what the server said went wrong, if anything
                print(f"  server log: {line}")


def report(backend: str, figures: Figures, races: int, seconds: float) -> bool:
    fanout, answers = figures.fanout_ms, figures.answer_ms
    ok = (not figures.errors and figures.answers_counted * 2 == figures.answers_sent
          and figures.events_received == figures.events_expected
          and _p(fanout, 99) < TARGET_FANOUT_MS)
    print(f"\n{backend}: {len(fanout)} steps, {figures.answers_sent} answers, "
          f"{races} native races alongside, {seconds:.0f} s")
    print(f"  step -> last student's event: p50 {_p(fanout, 50):.0f} ms, "
          f"p99 {_p(fanout, 99):.0f} ms, max {max(fanout, default=float('nan')):.0f} ms "
          f"(target p99 < {TARGET_FANOUT_MS} ms)")
    print(f"  answer latency: p50 {_p(answers, 50):.0f} ms, p99 {_p(answers, 99):.0f} ms")
    print(f"  answers: {figures.answers_sent} sent ({figures.answers_sent // 2} final), "
          f"{figures.answers_counted} counted as final, exactly as sent: "
          f"{'yes' if not any('counted' in e for e in figures.errors) else 'NO'}")
    print(f"  events: {figures.events_received} of {figures.events_expected} received")
    print(f"  errors: {len(figures.errors)}")
    for error in figures.errors[:10]:
        print(f"    {error}")
    print(f"  {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--backend", choices=["sqlite", "redis", "both"], default="both")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 110:
        parser.error("--rounds must be from 1 to 110 (the run has 120 steps)")
    backends = ["sqlite", "redis"] if args.backend == "both" else [args.backend]
    print(f"Live class: 1 teacher, {args.students} students (SSE), GILLAB_WORKERS=2, "
          f"{args.rounds} steps, a question every 3rd, a native race running")
    passed = True
    for backend in backends:
        with _server(backend) as url:
            started = time.perf_counter()
            figures, races = asyncio.run(
                class_session(url, students=args.students, rounds=args.rounds)
            )
            passed &= report(backend, figures, races, time.perf_counter() - started)
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
