# syntax=docker/dockerfile:1
# GIL Lab for a classroom: `docker build -t gil-lab .` then `docker run --init -p 8000:8000 gil-lab`.
# Everything the site needs is inside the image (htmx is vendored), so it serves with no internet.
# GILLAB_OFFLINE=1 by default: pages load the image's own htmx and never wait on a CDN that a
# school firewall may silently drop (`docker run -e GILLAB_OFFLINE=0` to use the CDN).

# Other CPythons for the versions page (/versions): the same experiments on each. Every image is
# pinned to the same Debian release as the runtime, so their binaries find the same libraries.
FROM python:3.9-slim-bookworm AS python39
FROM python:3.10-slim-bookworm AS python310
FROM python:3.12-slim-bookworm AS python312
FROM python:3.13-slim-bookworm AS python313

# A free-threaded CPython (PEP 703) for /versions, installed the way that ecosystem installs one:
# uv's managed builds (python-build-standalone: relocatable, self-contained), in a folder of
# their own. uv is pinned, so "3.14t" always resolves to the same build.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv
FROM python:3.11-slim-bookworm AS free-threaded
COPY --from=uv /uv /bin/uv
ENV UV_PYTHON_INSTALL_DIR=/opt/python
RUN uv python install 3.14t

# --- build: compile the C extension into a wheel, and wheels of every dependency -------------
FROM python:3.11-slim-bookworm AS build

# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# .dockerignore keeps the context to what the wheel is built from (no .venv, tests, caches).
COPY . .
# Wheels for the app and all its dependencies, so the runtime stage installs with no index.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- runtime: no compiler, no sources, a user without privileges ------------------------------
FROM python:3.11-slim-bookworm AS runtime

# UV_PYTHON_INSTALL_DIR: where discovery finds the free-threaded build (app/lab/interpreters.py).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    GILLAB_HOST=0.0.0.0 \
    GILLAB_PORT=8000 \
    GILLAB_WORKERS=1 \
    GILLAB_OFFLINE=1

# The wheels are bind-mounted from the build stage, so they never become a layer of the image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/gil_lab-*.whl \
 && useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin gillab

# Versioned names only (python3.X, lib/python3.X, libpython3.X.so), so nothing of the
# runtime's own 3.11 is overwritten; the versions page finds each python3.X on PATH.
COPY --from=python39 /usr/local/bin/python3.9 /usr/local/bin/
COPY --from=python39 /usr/local/lib/python3.9/ /usr/local/lib/python3.9/
COPY --from=python39 /usr/local/lib/libpython3.9.so.1.0 /usr/local/lib/
COPY --from=python310 /usr/local/bin/python3.10 /usr/local/bin/
COPY --from=python310 /usr/local/lib/python3.10/ /usr/local/lib/python3.10/
COPY --from=python310 /usr/local/lib/libpython3.10.so.1.0 /usr/local/lib/
COPY --from=python312 /usr/local/bin/python3.12 /usr/local/bin/
COPY --from=python312 /usr/local/lib/python3.12/ /usr/local/lib/python3.12/
COPY --from=python312 /usr/local/lib/libpython3.12.so.1.0 /usr/local/lib/
COPY --from=python313 /usr/local/bin/python3.13 /usr/local/bin/
COPY --from=python313 /usr/local/lib/python3.13/ /usr/local/lib/python3.13/
COPY --from=python313 /usr/local/lib/libpython3.13.so.1.0 /usr/local/lib/
RUN ldconfig
COPY --from=free-threaded /opt/python/ /opt/python/

# Numeric, so orchestrators can check it is not root without reading /etc/passwd.
USER 10001
WORKDIR /home/gillab
EXPOSE 8000

# slim has no curl; Python's urllib asks /healthz on whatever port the settings chose.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GILLAB_PORT', '8000'), timeout=4)"]

# `gil-lab` reads GILLAB_HOST, GILLAB_PORT, GILLAB_WORKERS, GILLAB_OFFLINE and the limits.
CMD ["gil-lab"]
