"""Pages that are pure functions of their URL are rendered once and then sent from memory, byte
for byte what the route would have sent; nothing else is ever kept."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from app.main import create_app
from app.sim import Config, Mode, Permalink, Scenario, simulate
from app.web.infra import deps, page_cache, resources, urls
from app.web.infra.page_cache import PageCache, pure
from app.web.infra.settings import Settings
from app.web.infra.templating import Pages
from app.web.sim import pages as sim_pages
from app.web.sim.view import RunView

HTMX = {"HX-Request": "true"}
T = TypeVar("T")


def _toy(max_bytes: int = 1 << 20) -> tuple[TestClient, Counter[str]]:
    """An app whose routes count their calls, behind the cache and compression as in app.main."""
    calls: Counter[str] = Counter()
    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(PageCache, kept=page_cache.page_table(max_bytes))

    @app.get("/pure")
    @pure
    def pure_page(request: Request, size: int = 10, status: int = 200) -> Response:
        calls["pure"] += 1
        fragment = request.headers.get("HX-Request") == "true"
        body = ("fragment " if fragment else "page ") + request.base_url.hostname + " " * size
        return Response(body, status_code=status, media_type="text/html")

    @app.get("/measured")
    def measured_page() -> Response:
        calls["measured"] += 1
        return Response(f"run {calls['measured']}", media_type="text/plain")

    @app.get("/stream")
    @pure
    def stream() -> StreamingResponse:
        calls["stream"] += 1
        return StreamingResponse(iter([b"one ", b"two"]), media_type="text/plain")

    return TestClient(app), calls


def test_a_pure_page_runs_once_and_is_then_sent_as_it_was() -> None:
    client, calls = _toy()
    first = client.get("/pure?size=2000")
    again = client.get("/pure?size=2000")
    assert calls["pure"] == 1
    assert again.content == first.content and again.headers == first.headers
    assert again.headers["content-encoding"] == "gzip"  # kept compressed


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"url": "/pure?size=1"}, {"url": "/pure?size=2"}),
        ({"url": "/pure"}, {"url": "/pure", "headers": HTMX}),
        ({"url": "/pure"}, {"url": "/pure", "headers": {"Host": "192.168.1.5:8000"}}),
        (
            {"url": "/pure?size=2000", "headers": {"Accept-Encoding": "gzip"}},
            {"url": "/pure?size=2000", "headers": {"Accept-Encoding": "identity"}},
        ),
    ],
    ids=["query", "htmx", "host", "gzip"],
)
def test_what_changes_an_answer_is_part_of_the_key(
    first: dict[str, object], second: dict[str, object]
) -> None:
    client, calls = _toy()
    answers = [
        (answer.content, answer.headers.get("content-encoding"))
        for answer in (client.get(**request) for request in (first, second, first, second))  # type: ignore[arg-type]
    ]
    assert calls["pure"] == 2
    assert answers[0] == answers[2] != answers[1] == answers[3]


@pytest.mark.parametrize(
    ("url", "route"),
    [("/measured", "measured"), ("/pure?status=404", "pure"), ("/stream", "stream")],
    ids=["not marked pure", "not 200", "streamed"],
)
def test_measurements_errors_and_streams_are_never_kept(url: str, route: str) -> None:
    client, calls = _toy()
    client.get(url)
    client.get(url)
    assert calls[route] == 2


def test_the_table_stays_within_its_bytes_dropping_the_least_recently_used() -> None:
    client, calls = _toy(max_bytes=25_000)  # two answers of 10 KB and their objects, not three
    headers = {"Accept-Encoding": "identity"}
    for size in (10_000, 10_001, 10_000, 10_002):  # the third is a hit, so 10_001 is the oldest
        client.get(f"/pure?size={size}", headers=headers)
    assert calls["pure"] == 3
    client.get("/pure?size=10000", headers=headers)
    assert calls["pure"] == 3
    client.get("/pure?size=10001", headers=headers)
    assert calls["pure"] == 4


def test_an_answer_too_large_to_keep_is_sent_whole_every_time() -> None:
    client, calls = _toy()
    size = page_cache.MAX_ENTRY_BYTES + 1
    headers = {"Accept-Encoding": "identity"}
    answers = [client.get(f"/pure?size={size}", headers=headers) for _ in range(2)]
    assert calls["pure"] == 2 and all(len(answer.content) > size for answer in answers)


def test_size_zero_turns_the_cache_off() -> None:
    client, calls = _toy(max_bytes=0)
    client.get("/pure")
    client.get("/pure")
    assert calls["pure"] == 2


PURE_URLS = [
    "/",
    "/lessons/lost-updates",
    "/sim?scenario=inc-dec&mode=gil&n=2&interval=3&seed=5&step=7",
    "/sim?scenario=inc-inc&n=2&schedule=A3B3&step=4&embed=1",
    "/sim?n=1&predict=1&score=1/2",
    "/explore?scenario=dec-dec&mode=none&n=2&wait=1",
    "/api/sim?scenario=inc-dec&mode=object-lock&n=2&seed=3",
    "/api/explore?scenario=inc-inc&mode=none&n=3",
    "/challenges",
    "/api/challenges",
    "/lab",
    "/gil/pyrace",
    "/api/gil/pyrace",
]


@pytest.fixture(scope="module")
def cached_app() -> FastAPI:
    """The real app with its page cache on (the shared `app` runs without one)."""
    return create_app(Settings())


@pytest.fixture(scope="module")
def cached(cached_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(cached_app) as client:
        yield client


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
@pytest.mark.parametrize("url", PURE_URLS)
def test_every_page_kept_is_the_page_the_route_renders(
    client: TestClient, cached: TestClient, url: str, headers: dict[str, str]
) -> None:
    rendered = client.get(url, headers=headers)
    assert rendered.status_code == 200, rendered.text
    cached.get(url, headers=headers)
    kept = cached.get(url, headers=headers)
    assert kept.content == rendered.content
    assert {**kept.headers, "content-length": ""} == {**rendered.headers, "content-length": ""}


def test_a_step_is_kept_apart_for_each_state_the_page_showed(
    client: TestClient, cached: TestClient
) -> None:
    """/sim answers a step with what changes from the state the page shows (the Sim-Shown
    header): two pages at different steps asking for the same step get different answers."""
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=4))
    url = urls.sim(Permalink.of(run, 6))
    answers = []
    for shown in (5, 1, 5, 1):
        headers = {**HTMX, "Sim-Shown": urls.sim(Permalink.of(run, shown))}
        answers.append(cached.get(url, headers=headers).content)
        assert answers[-1] == client.get(url, headers=headers).content
    assert answers[0] == answers[2] != answers[1] == answers[3]


def test_a_permalink_is_rendered_once_however_many_students_open_it(
    cached_app: FastAPI, cached: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = deps.resources_of(cached_app).pages
    rendered = Counter[str]()

    def counted_pages() -> Pages:  # what the route asks for each time it runs
        rendered["pages"] += 1
        return pages

    monkeypatch.setitem(cached_app.dependency_overrides, deps.pages, counted_pages)
    url = "/sim?scenario=dec-dec&mode=atomic&n=3&seed=11&step=5"
    assert all(cached.get(url).status_code == 200 for _ in range(30))
    assert rendered["pages"] == 1


class _CountingExecutor(ThreadPoolExecutor):
    """The render thread, counting the steps it is given to render."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_a_run_played_by_a_whole_class_renders_each_step_once(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    played = resources.played_steps()  # none of this run's steps kept by an earlier test
    renderer = _CountingExecutor()
    monkeypatch.setitem(app.dependency_overrides, deps.played_steps, lambda: played)
    monkeypatch.setitem(app.dependency_overrides, deps.renderer, lambda: renderer)
    url = "/stream/sim?scenario=inc-dec&mode=object-lock&n=1&seed=41&speed=20"
    plays = []
    try:
        for _ in range(3):
            with client.stream("GET", url) as stream:
                plays.append("".join(stream.iter_text()))
    finally:
        renderer.shutdown()
    steps = plays[0].count("event: step")
    assert steps > 5 and plays[0] == plays[1] == plays[2]
    assert renderer.submitted == steps


def test_plays_started_together_render_each_step_once() -> None:
    """A class pressing Play together asks for each step at the same moment: every stream
    waits for one render, even when the stream that started it goes away meanwhile."""
    played = resources.played_steps()
    renderer = _CountingExecutor()
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=2))

    def step_event() -> Coroutine[Any, Any, bytes]:
        return sim_pages._step_event(
            RunView.of(run), 3, embed=False, speed=2.0, hardware=None,
            pages=Pages(offline=True), played=played, renderer=renderer,
        )  # fmt: skip

    async def class_plays() -> list[bytes]:
        first = asyncio.ensure_future(step_event())
        others = [asyncio.ensure_future(step_event()) for _ in range(29)]
        await asyncio.sleep(0)
        first.cancel()  # that student closed the tab
        return await asyncio.gather(*others)

    try:
        pages = asyncio.run(class_plays())
    finally:
        renderer.shutdown()
    assert renderer.submitted == 1
    assert len(set(pages)) == 1 and b'data-step="3"' in pages[0]
    assert played.rendering == {}
    assert asyncio.run(step_event()) == pages[0] and renderer.submitted == 1  # kept


def test_a_kept_table_stays_within_its_bytes() -> None:
    kept = page_cache.Kept[str, str](10, lambda key, value: len(value))
    kept.put("a", "1234")
    kept.put("b", "1234")
    assert kept.get("a") == "1234"  # now the most recently used
    kept.put("c", "1234")
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == ("1234", None, "1234")
    kept.put("huge", "x" * 11)
    assert kept.get("huge") is None and kept.get("a") is None


def _fresh(text: bytes) -> bytes:
    """A new bytes object, as each response's headers and body are (literals are shared)."""
    return bytes(bytearray(text))


def _small_page(number: int) -> tuple[page_cache.Key, page_cache.Entry]:
    """What the middleware keeps for one small answer: its key and its headers and body."""
    query = f"scenario=inc-inc&mode=none&n=2&step={number}".encode()
    vary = (_fresh(b"127.0.0.1:8000"), _fresh(b""), _fresh(b""))
    key = ("http", _fresh(b"/sim").decode(), query, vary, True)
    headers = tuple(
        (_fresh(name), _fresh(value))
        for name, value in (
            (b"content-length", str(80 + number % 50).encode()),
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-encoding", b"gzip"),
            (b"vary", b"Accept-Encoding"),
        )
    )
    return key, page_cache.Entry(headers, _fresh(b"x" * (80 + number % 50)), False)


def test_the_cache_holds_what_its_megabytes_say_not_more() -> None:
    """Issue 16.10: 80,000 small entries counted as 1 MB used 1.36 MB. Counted as the objects
    they are, a full table's real memory (tracemalloc) stays within its limit, and close to it."""
    limit = 8 << 20
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        table = page_cache.page_table(limit)
        # About 5,700 of these fill 8 MB: 8,000 fill it and evict the oldest (80,000 took
        # 40-140 s under tracemalloc, for the same figure).
        for number in range(8_000):
            table.put(*_small_page(number))
        used = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert len(table) < 8_000  # full: the oldest went
    assert 0.85 * limit <= used <= limit, f"{used / 2**20:.2f} MB held for a {limit >> 20} MB limit"
