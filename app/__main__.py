"""`gil-lab` / `python -m app`: serve the site with the settings from the environment."""

from __future__ import annotations

import uvicorn

from app.web.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
