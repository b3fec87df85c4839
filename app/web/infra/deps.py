"""The typed dependencies routes take the app's resources by (app.web.infra.resources).

    async def api_race(query: RaceParams, runner: NativeRunsDep) -> RaceResponse: ...

Each alias is `Annotated[T, Depends(provider)]`; a test swaps what a route gets with
`app.dependency_overrides[provider] = ...` instead of patching a module. Providers are
`async def`: they only look up what the app owns, and FastAPI sends every plain `def`
dependency to the thread pool and back, a round trip per provider per request.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Annotated, cast

from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection

from app.lab import interpreters as discovery
from app.lab.interpreters import Interpreter
from app.lab.jobs import JobRunner
from app.lab.survey_cache import SurveyCache
from app.live.classes import LiveClasses
from app.web.infra.resources import PlayedSteps, Resources, Runs
from app.web.infra.settings import Settings
from app.web.infra.templating import Pages


def resources_of(app: FastAPI) -> Resources:
    """What create_app built for `app` (also for code outside routes, e.g. error handlers)."""
    return cast(Resources, app.state.resources)


def _resources(connection: HTTPConnection) -> Resources:
    return resources_of(connection.app)


async def settings(connection: HTTPConnection) -> Settings:
    return _resources(connection).settings


async def pages(connection: HTTPConnection) -> Pages:
    return _resources(connection).pages


async def runs(connection: HTTPConnection) -> Runs:
    return _resources(connection).runs


async def played_steps(connection: HTTPConnection) -> PlayedSteps:
    return _resources(connection).played


async def renderer(connection: HTTPConnection) -> Executor:
    return _resources(connection).renderer


async def explorations(connection: HTTPConnection) -> JobRunner:
    return _resources(connection).explorations


async def native_runs(connection: HTTPConnection) -> JobRunner:
    return _resources(connection).native_runs


async def measurements(connection: HTTPConnection) -> JobRunner:
    return _resources(connection).measurements


async def survey(connection: HTTPConnection) -> SurveyCache:
    return _resources(connection).survey


async def live_classes(connection: HTTPConnection) -> LiveClasses:
    return _resources(connection).live


async def interpreters() -> tuple[Interpreter, ...]:
    """The CPython interpreters of this host. The first call probes every candidate (up to
    seconds, so off the event loop), then discovery is kept for the process."""
    return await asyncio.to_thread(discovery.available)


SettingsDep = Annotated[Settings, Depends(settings)]
PagesDep = Annotated[Pages, Depends(pages)]
RunsDep = Annotated[Runs, Depends(runs)]
PlayedStepsDep = Annotated[PlayedSteps, Depends(played_steps)]
RendererDep = Annotated[Executor, Depends(renderer)]
ExplorationsDep = Annotated[JobRunner, Depends(explorations)]
NativeRunsDep = Annotated[JobRunner, Depends(native_runs)]
MeasurementsDep = Annotated[JobRunner, Depends(measurements)]
SurveyDep = Annotated[SurveyCache, Depends(survey)]
LiveClassesDep = Annotated[LiveClasses, Depends(live_classes)]
InterpretersDep = Annotated[tuple[Interpreter, ...], Depends(interpreters)]
