"""The lessons: every page renders in order, every link and embedded tool on them resolves, and
every simulator state they embed really shows what the text says it shows (replayed through
app.sim, not trusted)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from itertools import pairwise
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape  # the escaping Jinja2 applies

from app.main import create_app
from app.web.infra.settings import Settings
from app.web.lessons.content import LESSONS, Example, Lesson
from tests.given_measurements import given_measurements
from tests.live_server import serve

EXAMPLES = [(lesson, example) for lesson in LESSONS for example in lesson.examples]


@dataclass
class _Page:
    """What the tests look at in a page: links, iframes, headings, landmarks."""

    links: list[dict[str, str | None]] = field(default_factory=list)
    iframes: list[dict[str, str | None]] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)
    landmarks: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = _Page()
        self._heading: tuple[int, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.page.links.append(attributes)
        elif tag == "iframe":
            self.page.iframes.append(attributes)
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self._heading = (int(tag[1]), [])
        if tag in {"main", "nav", "header", "footer", "article"}:
            self.page.landmarks.append(tag)

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._heading is not None and tag == f"h{self._heading[0]}":
            level, parts = self._heading
            self.page.headings.append((level, " ".join("".join(parts).split())))
            self._heading = None


def _parse(html: str) -> _Page:
    parser = _Parser()
    parser.feed(html)
    return parser.page


def _internal(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and parts.path.startswith("/")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_every_lesson_renders_with_its_title_and_neighbours(
    client: TestClient, lesson: Lesson
) -> None:
    response = client.get(lesson.url)
    assert response.status_code == 200
    page = _parse(response.text)
    number = LESSONS.index(lesson) + 1
    assert page.headings[0] == (1, lesson.title)
    assert f"Lesson {number} of {len(LESSONS)}" in response.text
    assert f'href="{lesson.url}" aria-current="step"' in response.text

    rel = {link.get("rel"): link["href"] for link in page.links if link.get("rel")}
    if number > 1:
        assert rel["prev"] == LESSONS[number - 2].url
    else:
        assert "prev" not in rel
    if number < len(LESSONS):
        assert rel["next"] == LESSONS[number].url
    else:
        assert "next" not in rel


def test_the_index_lists_every_lesson_in_order(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    lesson_links = [
        link["href"]
        for link in _parse(response.text).links
        if str(link["href"]).startswith("/lessons/")
    ]
    in_order = list(dict.fromkeys(lesson_links))  # the "start here" button repeats lesson 1
    assert in_order == [lesson.url for lesson in LESSONS]
    for lesson in LESSONS:
        assert escape(lesson.title) in response.text
    for tool in ("/sim", "/explore", "/lab", "/gil", "/versions", "/challenges"):
        assert f'href="{tool}"' in response.text


def test_an_unknown_lesson_is_a_404_that_lists_the_real_ones(client: TestClient) -> None:
    response = client.get("/lessons/no-such-lesson")
    assert response.status_code == 404
    assert "no-such-lesson" in response.text
    hrefs = {link["href"] for link in _parse(response.text).links}
    assert {lesson.url for lesson in LESSONS} <= hrefs
    assert "Traceback" not in response.text


def test_the_lessons_folder_leads_to_the_index(client: TestClient) -> None:
    response = client.get("/lessons", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/"


def test_an_unknown_slug_is_escaped(client: TestClient) -> None:
    response = client.get("/lessons/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert response.status_code == 404
    assert "<script>alert(1)</script>" not in response.text


def test_every_lesson_has_a_template_and_unique_slug() -> None:
    slugs = [lesson.slug for lesson in LESSONS]
    assert len(slugs) == len(set(slugs)) == 9
    for lesson in LESSONS:
        keys = [example.key for example in lesson.examples]
        assert len(keys) == len(set(keys)), lesson.slug


@pytest.mark.parametrize("path", ["/", *[lesson.url for lesson in LESSONS]])
def test_pages_are_accessible_in_structure(client: TestClient, path: str) -> None:
    page = _parse(client.get(path).text)
    levels = [level for level, _ in page.headings]
    assert levels.count(1) == 1 and levels[0] == 1
    for before, after in pairwise(levels):
        assert after <= before + 1, f"heading level jumps from h{before} to h{after} on {path}"
    assert "main" in page.landmarks and "nav" in page.landmarks
    for iframe in page.iframes:
        assert iframe.get("title"), f"an iframe on {path} has no title"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_every_example_is_embedded_with_a_text_link(client: TestClient, lesson: Lesson) -> None:
    page = _parse(client.get(lesson.url).text)
    sources = [iframe["src"] for iframe in page.iframes]
    hrefs = {link["href"] for link in page.links}
    expected = [example.embed_url for example in lesson.examples]
    expected += [frame.embed_url for frame in lesson.frames]
    assert sorted(sources) == sorted(expected)
    for example in lesson.examples:
        assert example.url in hrefs, f"{example.key}: no text link beside the iframe"
        assert example.explore_url in hrefs
    for frame in lesson.frames:
        assert frame.url in hrefs, f"{frame.key}: no text link beside the iframe"
    # A link that leaves an embed opens a new tab, but here it may replace the lesson
    # (static/js/embed.js; tests/browser/test_embedding.py follows one).
    assert all(iframe.get("data-embed-links") == "top" for iframe in page.iframes)


_RESOLVED: dict[str, int] = {}  # target -> status, so each lab panel is measured once per run


@pytest.fixture(scope="module")
def live() -> Iterator[httpx.Client]:
    """A real server, whose GIL lab answers with given measurements: what is checked here is
    that every target answers, not what it measures (36 s for one lesson on a busy machine)."""
    app = create_app(Settings())
    with (
        given_measurements(app),
        serve(app) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        yield http


@pytest.mark.parametrize("path", ["/", *[lesson.url for lesson in LESSONS]])
def test_every_internal_link_and_iframe_resolves(
    client: TestClient, live: httpx.Client, path: str
) -> None:
    """Targets built by other areas (/sim, /explore, /lab, /gil, /versions, /challenges) fail
    here until their routers are on main: the message lists every target that did not answer."""
    page = _parse(client.get(path).text)
    targets = {str(link["href"]) for link in page.links} | {
        str(iframe["src"]) for iframe in page.iframes
    }
    internal = sorted(target for target in targets if _internal(target))
    assert internal
    broken = {}
    for target in internal:
        if target not in _RESOLVED:
            _RESOLVED[target] = live.get(target).status_code
        if _RESOLVED[target] != 200:
            broken[target] = _RESOLVED[target]
    assert not broken, f"links on {path} that do not resolve: {broken}"
    html = client.get(path).text
    for target in sorted(targets - set(internal)):
        if target.startswith("#"):  # in-page, like the skip link: the id must exist
            assert f'id="{target[1:]}"' in html, f"{path}: no element for {target}"
        else:
            assert target.startswith("https://"), f"{path}: {target} is neither ours nor https"


# Replaying the examples through the simulator core.


@pytest.mark.parametrize(
    ("lesson", "example"),
    EXAMPLES,
    ids=[f"{lesson.slug}:{example.key}" for lesson, example in EXAMPLES],
)
def test_every_embedded_run_shows_what_its_lesson_says(lesson: Lesson, example: Example) -> None:
    from app.sim import Thread, simulate

    run = simulate(example.config, example.schedule)
    # The schedule is given in full and canonical: the permalink shows the same run forever.
    assert run.schedule == example.schedule
    assert 1 <= example.step <= len(run.steps)
    shown = run.steps[example.step - 1]
    events = {event.value for event in shown.events}
    assert set(example.events) <= events, (
        f"{lesson.slug}:{example.key} step {example.step} has events {sorted(events)}, "
        f"the lesson promises {list(example.events)}; trace: "
        + " ".join(f"{step.thread.value}:{step.op.value}" for step in run.steps)
    )
    for thread, status in example.statuses:
        view = run.thread_view(example.step, Thread(thread))
        assert view.status.value == status, f"{example.key}: thread {thread} at step {example.step}"
    for name, expected in example.outcome:
        assert getattr(run.outcome, name) == expected, f"{example.key}: outcome.{name}"


@pytest.mark.parametrize(("lesson", "example"), EXAMPLES, ids=[e.key for _, e in EXAMPLES])
def test_every_embedded_permalink_opens_that_run_at_that_step(
    lesson: Lesson, example: Example
) -> None:
    """What /sim will do with the link: parse it back into the same run and step."""
    from app.sim import Permalink

    query = dict(parse_qsl(urlsplit(example.embed_url).query))
    assert query.pop("embed") == "1"
    permalink, run = Permalink.from_query(query)
    assert permalink.config == example.config
    assert permalink.schedule == run.schedule == example.schedule
    assert permalink.step == example.step


def test_the_lessons_claims_about_all_interleavings() -> None:
    from app.sim import Mode, Scenario, explore

    def outcomes(scenario: str, mode: str, n: int):  # type: ignore[no-untyped-def]
        return explore(Scenario(scenario), Mode(mode), n)

    # Lesson 2: "20 ways to interleave the six steps, and only the 2 ... give 3".
    unlocked = outcomes("inc-inc", "none", 1)
    assert unlocked.total == 20
    assert sum(outcome.count for outcome in unlocked.outcomes if outcome.correct) == 2
    # Lesson 2's question: "of 924 interleavings, 702 end at 3, 216 at 4, and only 6 at 5".
    by_count = {o.final_rc: o.count for o in outcomes("inc-inc", "none", 2).outcomes}
    assert outcomes("inc-inc", "none", 2).total == 924
    assert by_count == {3: 702, 4: 216, 5: 6}
    # Lesson 3: "292 interleavings. Only 32 free the object exactly once. 200 leak it, and 60
    # free it twice (20 of those also touch it after the first free)".
    decrements = outcomes("dec-dec", "none", 1)
    assert decrements.total == 292
    assert sum(o.count for o in decrements.outcomes if o.correct) == 32
    assert sum(o.count for o in decrements.outcomes if not o.freed) == 200
    assert sum(o.count for o in decrements.outcomes if o.double_free) == 60
    assert sum(o.count for o in decrements.outcomes if o.double_free and o.use_after_free) == 20
    # Lesson 4's question: "only two interleavings"; one safe, one reading freed memory.
    locked = outcomes("inc-dec", "global-lock", 1)
    assert locked.total == 2
    assert sorted((o.freed, o.use_after_free) for o in locked.outcomes) == [
        (False, False),
        (True, True),
    ]
    # Lessons 4, 5, 6: these explorer links show one outcome, the correct one.
    for scenario, mode in [
        ("inc-inc", "global-lock"),
        ("dec-dec", "global-lock"),
        ("inc-inc", "object-lock"),
        ("dec-dec", "gil"),
    ]:
        result = outcomes(scenario, mode, 2)
        assert all(outcome.correct for outcome in result.outcomes), (scenario, mode)


def test_the_time_slice_question() -> None:
    """Lesson 6: an interval of 7 lets A finish its three increments first; 6 does not."""
    from app.sim import Config, Mode, Scenario, simulate

    def schedule(interval: int) -> str:
        config = Config(scenario=Scenario.INC_INC, mode=Mode.GIL, n=3, interval=interval)
        return simulate(config).schedule

    assert schedule(6) == "A6B6A3B3"
    assert schedule(7) == "A9B9"


def test_the_bytecode_simulations_show_what_lesson_8_says() -> None:
    """Lesson 8: 3.6-3.9 switching loses updates of counter += 1; the 3.10 and 3.11+ rules
    lose none of them, but lose updates of counter = counter + one()."""
    from app.sim import pyrace

    def lost(statement: str, switching: str) -> int:
        race = pyrace.simulate(pyrace.Statement(statement), pyrace.Switching(switching), 2, 3)
        assert race.outcome.refcounts_consistent
        return race.outcome.lost_updates

    frames = {frame.key: dict(frame.params) for frame in LESSONS[7].frames}
    assert frames["any-bytecode"] == {
        "statement": "inplace",
        "switching": "any-bytecode",
        "n": 2,
        "interval": 3,
    }
    assert frames["resume-call"] == {
        "statement": "call",
        "switching": "resume",
        "n": 2,
        "interval": 3,
    }
    assert lost("inplace", "any-bytecode") > 0
    for switching in ("checkpoints", "resume"):
        assert lost("inplace", switching) == 0
        assert lost("call", switching) > 0


def test_every_challenge_points_at_a_real_lesson() -> None:
    """app.sim.challenges names lesson pages by slug; they must be ours."""
    from app.sim.challenges import LESSONS as CHALLENGE_LESSONS

    slugs = [lesson.slug for lesson in LESSONS]
    pages = list(CHALLENGE_LESSONS)
    assert set(pages) <= set(slugs)
    assert pages == sorted(pages, key=slugs.index), "challenge groups out of the lessons' order"


def test_each_lesson_lists_its_challenges(client: TestClient) -> None:
    from app.sim.challenges import CHALLENGES

    for challenge in CHALLENGES:
        html = client.get(f"/lessons/{challenge.lesson}").text
        assert f'href="/challenges/{challenge.slug}"' in html, challenge.slug


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_every_link_in_an_embedded_tool_stays_in_its_layout_or_opens_a_tab(
    live: httpx.Client, lesson: Lesson
) -> None:
    """Framed in a teacher's slides, a link that leaves the embed layout took the frame to a
    full page (which refuses other sites' frames) or, with target="_top", the whole deck."""
    for source in [example.embed_url for example in lesson.examples] + [
        frame.embed_url for frame in lesson.frames
    ]:
        page = _parse(live.get(source).text)
        for link in page.links:
            href = str(link["href"])
            if href.startswith("#") or "embed=1" in href or link.get("hx-get") == href:
                continue  # within the frame: a state of the tool, or the panel measured again
            assert (link.get("target"), link.get("rel")) == ("_blank", "noopener"), (source, href)
