"""app.sim stays a pure library: no web framework, templates, cffi, threads, clock or I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import app.sim

FORBIDDEN = {
    "fastapi", "starlette", "jinja2", "jinja2_fragments", "pydantic", "cffi", "app._native",
    "threading", "multiprocessing", "concurrent", "asyncio", "subprocess", "socket", "time",
    "datetime", "os", "app.web", "app.lab", "uvicorn", "httpx",
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_core_imports_nothing_impure() -> None:
    package = Path(app.sim.__file__).parent
    for module in sorted(package.glob("*.py")):
        for name in _imports(module):
            root_and_parents = {
                ".".join(name.split(".")[: i + 1]) for i in range(name.count(".") + 1)
            }
            assert not (root_and_parents & FORBIDDEN), f"{module.name} imports {name}"
