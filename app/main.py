"""The app factory: `uvicorn app.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES

from app.web.challenges import api as challenges
from app.web.challenges import pages as challenge_pages
from app.web.gil import routes as gil
from app.web.gil import versions
from app.web.infra import api_docs, errors, framing, health, security
from app.web.infra.assets import STATIC_DIR
from app.web.infra.head import HeadAsGet
from app.web.infra.limits import StreamLimit
from app.web.infra.page_cache import PageCache
from app.web.infra.resources import Resources
from app.web.infra.settings import Settings
from app.web.lab import routes as native_lab
from app.web.lessons import pages as lessons
from app.web.live import api as live_api
from app.web.live import deps as live_deps
from app.web.live import pages as live_pages
from app.web.live import stream as live_stream
from app.web.sim import api as sim_api
from app.web.sim import pages as sim_pages

# What Starlette leaves uncompressed by default, except event streams (create_app says why).
COMPRESSED_ALREADY = tuple(
    kind for kind in DEFAULT_EXCLUDED_CONTENT_TYPES if kind != "text/event-stream"
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    resources = Resources.build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await resources.start()
        try:
            yield
        finally:
            await resources.stop()

    app = FastAPI(
        title="GIL Lab",
        summary="Experiments that show what CPython's Global Interpreter Lock solves.",
        version="0.1.0",
        docs_url=None,  # app.web.infra.api_docs serves /docs from the vendored Swagger UI
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.resources = resources  # routes get them through app.web.infra.deps
    errors.install(app)
    live_deps.install(app)
    # Innermost: a stream ended when the server stops still gets its gzip stream closed.
    app.add_middleware(StreamLimit, streams=resources.streams)
    # Pages, CSS and the vendored scripts shrink several times, and so do event streams: a played
    # step re-sends the run's timeline (9 KB at n = 2, 73 KB at n = 30; 0.4 and 5 KB gzipped),
    # and a class plays at once on one network. Starlette flushes each streamed chunk
    # (Z_SYNC_FLUSH), so a player still gets each step the moment it is sent. Level 6: nearly
    # level 9's size for half its CPU.
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1024,
        compresslevel=6,
        exclude_content_types=COMPRESSED_ALREADY,
    )
    # Outside the compression, so a page kept is kept compressed and costs no CPU at all.
    app.add_middleware(PageCache, kept=resources.page_table)
    app.add_middleware(framing.FramedWithoutEmbed)
    # Outermost but for HEAD: refusals (403 cross-site, 400 unknown host) get the headers too.
    security.install(app, offline=settings.offline, allowed_hosts=settings.hosts_answered())
    app.add_middleware(HeadAsGet)  # HEAD is GET without the body, for every route
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    api_docs.install(app)
    app.include_router(health.router)
    app.include_router(framing.router)
    app.include_router(sim_pages.router)
    app.include_router(sim_api.router)
    app.include_router(native_lab.router)
    app.include_router(gil.router)
    app.include_router(versions.router)
    app.include_router(challenges.router)
    app.include_router(challenge_pages.router)
    app.include_router(lessons.router)
    app.include_router(live_api.router)
    app.include_router(live_stream.router)
    app.include_router(live_pages.router)
    return app
