"""Across interpreters: the Python-level experiments on every CPython this host has.

JSON: /api/interpreters, /api/versions/race, /api/gil/convoy. Page: /versions, filled in over
SSE (/stream/versions) one interpreter at a time, from a cache kept for the server's lifetime;
POST /versions/rerun forgets it. /gil/convoy is the convoy chart of one interpreter, for /gil.
All lab work goes through the app's runner for timed experiments, which the GIL lab shares, one
job at a time: the experiments time threads against each other and would disturb each other's
figures if they shared the cores (app.web.infra.resources).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from markupsafe import Markup, escape
from pydantic import BaseModel, Field

from app.lab import convoy as convoy_effect
from app.lab import interpreters as discovery
from app.lab import lost_updates, survey
from app.lab.convoy import IntervalMs
from app.lab.interpreters import Interpreter, UnknownInterpreter
from app.lab.lost_updates import STATEMENT_CODE, STATEMENTS, Statement
from app.lab.scripts import ScriptFailed
from app.lab.survey import Row
from app.lab.survey_cache import SurveyCache
from app.web.gil.version_charts import convoy_chart, lost_updates_chart
from app.web.infra.deps import InterpretersDep, MeasurementsDep, PagesDep, SurveyDep
from app.web.infra.errors import BadParameter
from app.web.infra.security import EmbedLayout
from app.web.infra.templating import is_htmx

router = APIRouter()

_RACE_TIMEOUT_S = 90.0
_CONVOY_TIMEOUT_S = 30.0

PythonVersion = Annotated[
    str | None,
    Query(
        max_length=40,
        description="An interpreter's version as /api/interpreters lists it (e.g. 3.12.1), or "
        "its series (3.12) when only one interpreter has it. Default: the server's own.",
    ),
]


class InterpreterInfo(BaseModel):
    version: str = Field(examples=["3.12.1"])
    implementation: str = Field(examples=["CPython"])
    free_threaded: bool
    gil_enabled: bool


class Interpreters(BaseModel):
    interpreters: list[InterpreterInfo]


class RaceRun(BaseModel):
    lost_updates: int = Field(ge=0, description="2 * iterations minus the final count")


class Race(BaseModel):
    python: str
    statement: Statement
    iterations: int = Field(description="per thread; two threads run")
    runs: list[RaceRun]


class Convoy(BaseModel):
    python: str
    interval_ms: float
    idle_rtt_ms: float = Field(description="median round trip alone")
    loaded_rtt_ms: float = Field(description="median round trip beside one CPU-bound thread")


def _interpreter(found: tuple[Interpreter, ...], version: str | None) -> Interpreter:
    if version is None:
        return discovery.running(found)
    try:
        return discovery.find(version, found)
    except UnknownInterpreter as exc:
        raise BadParameter("python", str(exc)) from exc


def _failed(exc: ScriptFailed) -> HTTPException:
    # The interpreter under test failed, not the request: a gateway error, never a 500.
    return HTTPException(status_code=502, detail=str(exc))


@router.get("/api/interpreters", response_model=Interpreters, tags=["versions"])
async def list_interpreters(found: InterpretersDep) -> Interpreters:
    """The CPython 3 interpreters found on this host (probed once, then cached)."""
    return Interpreters(
        interpreters=[
            InterpreterInfo(
                version=interpreter.version,
                implementation=interpreter.implementation,
                free_threaded=interpreter.free_threaded,
                gil_enabled=interpreter.gil_enabled,
            )
            for interpreter in found
        ]
    )


@router.get("/api/versions/race", response_model=Race, tags=["versions"])
async def race(
    runner: MeasurementsDep,
    found: InterpretersDep,
    python: PythonVersion = None,
    statement: Annotated[
        Statement, Query(description="inplace: `n += 1`; call: `n = n + one()`")
    ] = "inplace",
    runs: Annotated[
        int, Query(ge=lost_updates.MIN_RUNS, le=lost_updates.MAX_RUNS)
    ] = lost_updates.DEFAULT_RUNS,
) -> Race:
    """Two threads run the statement 200,000 times each on a shared global, `runs` times."""
    interpreter = _interpreter(found, python)
    try:
        result = await runner.run_shared(
            ("versions race", interpreter.version, statement, runs),
            lambda: lost_updates.measure_race(interpreter, statement=statement, runs=runs),
            timeout=_RACE_TIMEOUT_S,
        )
    except ScriptFailed as exc:
        raise _failed(exc) from exc
    return Race(
        python=interpreter.version,
        statement=statement,
        iterations=result.iterations,
        runs=[RaceRun(lost_updates=lost) for lost in result.lost_updates],
    )


@router.get("/api/gil/convoy", response_model=Convoy, tags=["versions"])
async def convoy(
    runner: MeasurementsDep,
    found: InterpretersDep,
    python: PythonVersion = None,
    interval_ms: Annotated[IntervalMs, Query(description="the switch interval, in ms")] = "5",
) -> Convoy:
    """Median round trip of a one-byte echo, alone and beside one CPU-bound thread."""
    interpreter = _interpreter(found, python)
    try:
        result = await runner.run_shared(
            ("convoy", interpreter.version, interval_ms),
            lambda: convoy_effect.measure_convoy(interpreter, interval_ms=float(interval_ms)),
            timeout=_CONVOY_TIMEOUT_S,
        )
    except ScriptFailed as exc:
        raise _failed(exc) from exc
    return Convoy(
        python=interpreter.version,
        interval_ms=result.interval_ms,
        idle_rtt_ms=result.idle_rtt_ms,
        loaded_rtt_ms=result.loaded_rtt_ms,
    )


def _slug(interpreter: Interpreter) -> str:
    """An id and event name: py-3-12-1, py-3-14-0t-gil."""
    return "py-" + re.sub(r"[^0-9a-z]+", "-", interpreter.version.lower())


def _with_code(sentence: str) -> Markup:
    """Escape a sentence and show its `backquoted` parts as code."""
    parts = str(escape(sentence)).split("`")
    return Markup(
        "".join(f"<code>{part}</code>" if odd else part for odd, part in _alternate(parts))
    )


def _alternate(parts: list[str]) -> list[tuple[bool, str]]:
    return [(index % 2 == 1, part) for index, part in enumerate(parts)]


def _row_context(interpreter: Interpreter, row: Row | None) -> dict[str, Any]:
    why = survey.explain(row) if row is not None else []
    return {
        "interpreter": interpreter,
        "slug": _slug(interpreter),
        "row": row,
        "why": [_with_code(sentence) for sentence in why],
        "statements": STATEMENTS,
        "intervals": convoy_effect.INTERVALS_MS,
    }


def _charts_context(rows: Sequence[Row]) -> dict[str, Any]:
    return {"lost_chart": lost_updates_chart(rows), "convoy_chart": convoy_chart(rows)}


def _page_context(survey: SurveyCache, found: Sequence[Interpreter]) -> dict[str, Any]:
    rows = [row for row in (survey.cached(interpreter) for interpreter in found) if row]
    return {
        "section": "versions",
        "interpreters": found,
        "rows": [_row_context(interpreter, survey.cached(interpreter)) for interpreter in found],
        "pending": len(rows) < len(found),
        "finished": len(rows),
        "statement_code": STATEMENT_CODE,
        "pathsep": os.pathsep,
        "free_threaded": discovery.free_threaded(found),
        "intervals": convoy_effect.INTERVALS_MS,
        **_charts_context(rows),
    }


@router.get("/versions", response_class=HTMLResponse, include_in_schema=False)
async def versions_page(
    request: Request,
    pages: PagesDep,
    survey: SurveyDep,
    found: InterpretersDep,
    embed: EmbedLayout,
) -> Response:
    """The whole page; `embed=1` drops the site's header and footer (for lessons)."""
    context = _page_context(survey, found) | {"embed": embed}
    return pages.render(request, "versions.html", context)


@router.post("/versions/rerun", include_in_schema=False)
async def rerun(
    request: Request, pages: PagesDep, survey: SurveyDep, found: InterpretersDep
) -> Response:
    """Forget the cached results; the survey block that comes back streams fresh ones."""
    survey.rerun()
    if is_htmx(request):
        context = _page_context(survey, found)
        return pages.render(request, "versions.html", context, blocks=("survey",))
    return RedirectResponse("/versions", status_code=303)


@router.get("/stream/versions", response_class=EventSourceResponse, tags=["versions"])
async def stream_versions(
    pages: PagesDep, survey: SurveyDep, found: InterpretersDep
) -> AsyncIterator[ServerSentEvent]:
    """Each interpreter's row as an HTML fragment (event `py-3-12-1`), the charts after each
    (`charts`), progress (`status`), then `done`. Cached rows come at once."""
    rows: list[Row] = []
    for index, interpreter in enumerate(found):
        yield ServerSentEvent(
            raw_data=f"Measuring Python {interpreter.version} ({index + 1} of {len(found)})…",
            event="status",
        )
        row = await survey.row(interpreter)
        if row.races or row.convoy:
            rows.append(row)
        yield ServerSentEvent(
            raw_data=pages.text("partials/version_row.html", _row_context(interpreter, row)),
            event=_slug(interpreter),
        )
        yield ServerSentEvent(
            raw_data=pages.text("partials/version_charts.html", _charts_context(rows)),
            event="charts",
        )
    yield ServerSentEvent(
        raw_data=f"Measured {len(found)} interpreter{'s' if len(found) != 1 else ''}.",
        event="status",
    )
    yield ServerSentEvent(
        raw_data=pages.text("partials/version_controls.html", {"pending": False}), event="controls"
    )
    yield ServerSentEvent(raw_data="", event="done")


@router.get("/gil/convoy", response_class=HTMLResponse, include_in_schema=False)
async def convoy_panel(
    request: Request,
    pages: PagesDep,
    survey: SurveyDep,
    found: InterpretersDep,
    embed: EmbedLayout,
    python: PythonVersion = None,
) -> Response:
    """The convoy chart of one interpreter (default: the server's): the fragment alone for htmx
    (/gil loads it so), else a page around it (`embed=1`: without the site's chrome)."""
    interpreter = _interpreter(found, python)
    row = await survey.row(interpreter)
    context = {
        "section": "gil",
        "embed": embed,
        "convoy_chart": convoy_chart([row] if row.convoy else []),
        "convoy_note": _with_code(convoy_effect.explain(interpreter, row.convoy)),
        "convoy_python": interpreter.version,
        "convoy_errors": row.errors,
    }
    return pages.render(request, "convoy.html", context, blocks=("convoy",))
