"""Every number in a lesson comes from a live measurement, from the simulator, or is quoted
with where and how it was measured, and never contradicts the panel beside it (issue 13.3,
13.9, 13.13). Each test names the lesson, the figure and what it is checked against."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.lab import convoy, interpreters
from app.lab.convoy import ConvoyResult
from app.lab.facts import measure_facts
from app.web.lessons.content import LESSONS, Lesson

TIME_FIGURE = re.compile(r"\d+(?:\.\d+)?\s*(?:ns|µs|ms)\b")


def _lesson(slug: str) -> Lesson:
    return next(lesson for lesson in LESSONS if lesson.slug == slug)


def _text(client: TestClient, lesson: Lesson) -> str:
    """The lesson's prose, without the embedded panels' own (live) content or markup."""
    html = client.get(lesson.url).text
    article = html[html.index('<article class="lesson"') : html.index("</article>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", article))


def test_lesson_5_quotes_no_cost_and_embeds_the_live_table(client: TestClient) -> None:
    """It said "a safe increment costs tens of times a plain one" beside a table measured once
    (atomic 3-4x and a mutex 12-15x plain, live). The ratios now come from the live table."""
    lesson = _lesson("per-object-locks")
    text = _text(client, lesson)
    assert "tens of times" not in text
    assert not TIME_FIGURE.findall(text), TIME_FIGURE.findall(text)
    page = client.get(lesson.url).text
    assert 'src="/lab/cost?embed=1"' in page
    assert "relative-costs" in client.get("/lab/cost?embed=1&iterations=1000").text


def test_lesson_7_quotes_the_convoy_as_the_panel_beside_it_measures_it(
    client: TestClient,
) -> None:
    """It quoted "10 to 15 ms" (both echo ends in one process) beside a panel and a lesson 8
    that measure about one switch interval (the client in another process)."""
    lesson = _lesson("io-releases-the-gil")
    text = _text(client, lesson)
    assert "10 to 15" not in text
    # The only times in its prose are the panel's settings, which must be the panel's own.
    settings = "switch intervals of 5, 1 and 0.1 ms"
    assert settings in text
    assert convoy.INTERVALS_MS == (5.0, 1.0, 0.1)
    prose = text.replace(settings, "")
    assert not TIME_FIGURE.findall(prose), TIME_FIGURE.findall(prose)
    assert "about one switch interval" in text
    assert 'src="/gil/convoy?embed=1"' in client.get(lesson.url).text
    # The panel's own reading of a convoy of one interval uses the lesson's words.
    interval = ConvoyResult(interval_ms=5.0, idle_rtt_ms=0.02, loaded_rtt_ms=5.2)
    assert "about a switch interval" in convoy.explain(interpreters.current(), (interval,))


def test_lesson_1_getrefcount_figures_are_this_interpreters(client: TestClient) -> None:
    """It quoted 4 for a script; the seed's 2 is the prompt's. Both, and a module's 3, are
    what the running interpreter measures (and tests/lab checks them against a real prompt)."""
    text = _text(client, _lesson("objects-and-reference-counts"))
    assert "printed 2, 3 and 4" in text
    facts = measure_facts(interpreters.current())
    assert (
        facts.refcount_interactive_literal,
        facts.refcount_compiled_literal,
        facts.refcount_module_literal,
    ) == (2, 3, 4)


# Times a lesson's prose may state, and why each is not a measurement that could drift from a
# panel: settings of the panels it embeds, or CPython's documented default. Anything else
# must come from a live panel (and this test fails until it is listed with its source).
STATED_TIMES: dict[str, dict[str, str]] = {
    "time-slices": {
        "5 ms": "sys.getswitchinterval() default since 3.2 (docs/claims.md, lesson 6); the "
        "embedded frame's interval setting",
        "300 ms": "the embedded frame's duration setting",
        "20 ms": "an interval the reader is invited to try",
    },
    "io-releases-the-gil": {"0.1 ms": "one of the convoy panel's interval settings"},
    "what-the-gil-does-not-promise": {"0.1 ms": "one of the convoy panel's interval settings"},
}


def test_every_time_in_a_lesson_is_a_setting_or_a_documented_default(client: TestClient) -> None:
    for lesson in LESSONS:
        allowed = STATED_TIMES.get(lesson.slug, {})
        stated = {
            re.sub(r"\s+", " ", time) for time in TIME_FIGURE.findall(_text(client, lesson))
        }
        assert stated <= set(allowed), (lesson.slug, stated - set(allowed))
