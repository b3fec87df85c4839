"""Where the templates and static files live, and the pinned front-end libraries.

In a source checkout they sit at the top level; an installed wheel carries them as
app/templates and app/static (see pyproject.toml's package-dir).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[2]  # app/, from app/web/infra/assets.py


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"GIL Lab cannot find its {name}/ folder next to {_PACKAGE}")


TEMPLATES_DIR = _find("templates")
STATIC_DIR = _find("static")


@dataclass(frozen=True, slots=True, kw_only=True)
class Script:
    """A front-end library pinned to one version, from the CDN with a vendored fallback."""

    name: str
    cdn_url: str
    integrity: str
    vendored: str  # path under /static


SCRIPTS = (
    Script(
        name="htmx",
        cdn_url="https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js",
        integrity="sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg",
        vendored="vendor/htmx-2.0.11.min.js",
    ),
    Script(
        name="sse",
        cdn_url="https://cdn.jsdelivr.net/npm/htmx-ext-sse@2.2.4/dist/sse.min.js",
        integrity="sha384-A986SAtodyH8eg8x8irJnYUk7i9inVQqYigD6qZ9evobksGNIXfeFvDwLSHcp31N",
        vendored="vendor/htmx-ext-sse-2.2.4.min.js",
    ),
    # Morphs a step into the page (static/js/sim.js registers it with htmx as "morph").
    Script(
        name="idiomorph",
        cdn_url="https://cdn.jsdelivr.net/npm/idiomorph@0.8.0/dist/idiomorph.min.js",
        integrity="sha384-e8O/d5cD6uoo78UI/d99hf1dEsbvkgBZNIetwKEi79V9qexl0Bdc2wxEqLEaj58U",
        vendored="vendor/idiomorph-0.8.0.min.js",
    ),
)
