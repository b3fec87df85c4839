"""`gil-lab` / `python -m app`: serve the site with the settings from the environment."""

from __future__ import annotations

import uvicorn

from app.web.infra import server
from app.web.infra.settings import Settings

SHUTDOWN_GRACE_S = 2


def main() -> None:
    try:
        settings = Settings.from_env()
    except ValueError as error:
        raise SystemExit(f"gil-lab: {error}") from None  # a teacher needs the variable, not a trace
    server.raise_open_file_limit()  # inherited by the worker processes uvicorn starts
    uvicorn.run(
        "app.main:create_app",
        http=server.PROTOCOL,  # uvicorn's httptools protocol with a deadline for each request
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=True,
        # On SIGTERM or Ctrl-C, event streams end at once (app.web.infra.limits) and requests
        # still running get this long before they are cancelled: a play lasts minutes and held
        # `make run` (the uvicorn CLI, no limit) 40 s. The app's own shutdown then stops the
        # labs' worker processes (app.web.infra.resources): a stop takes well under a second.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        server_header=False,  # no need to tell every client which server software answers
    )


if __name__ == "__main__":
    main()
