"""The query parameters of the app's operations as OpenAPI documents them, and hypothesis
strategies for values that break each one's declared rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from app.main import create_app
from app.web.infra.settings import Settings

# The areas whose operations run real experiments (seconds of real cores per call), by the
# OpenAPI tag their router gives them: a new endpoint in those routers is covered by itself.
LAB_TAGS = frozenset({"native lab", "gil", "versions"})
STREAMS = r"^/stream/"

# pydantic is the oracle for what a query string parses to ("1.0" is a fine int to it).
_PARSERS: dict[str, TypeAdapter[Any]] = {
    "integer": TypeAdapter(int), "number": TypeAdapter(float), "boolean": TypeAdapter(bool),
}


def _unparsable(kind: str) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            _PARSERS[kind].validate_strings(text)
        except ValidationError:
            return True
        return False

    return check


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    path: str
    tags: tuple[str, ...]
    name: str
    schema: dict[str, Any]
    required: bool

    @property
    def id(self) -> str:
        return f"{self.path}?{self.name}"


def _flatten(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Resolve `$ref` (enums live in components) and `X | None` (anyOf [X, null]) to X's rules."""
    if "$ref" in schema:
        _, _, name = schema["$ref"].rpartition("/")
        target = spec["components"]["schemas"][name]
        rest = {key: value for key, value in schema.items() if key != "$ref"}
        return _flatten({**target, **rest}, spec)
    options = [option for option in schema.get("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        rest = {key: value for key, value in schema.items() if key != "anyOf"}
        return _flatten({**options[0], **rest}, spec)
    return schema


def query_parameters() -> list[Parameter]:
    spec = create_app(Settings()).openapi()
    found = []
    for path, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        tags = tuple(operations["get"].get("tags", ()))
        for parameter in operations["get"].get("parameters", []):
            if parameter["in"] == "query":
                found.append(Parameter(
                    path=path, tags=tags, name=parameter["name"],
                    schema=_flatten(parameter["schema"], spec),
                    required=parameter.get("required", False),
                ))
    return found


def invalid_values(schema: dict[str, Any]) -> st.SearchStrategy[str] | None:
    """Query-string values this schema refuses, or None when it refuses nothing expressible."""
    kind = schema.get("type")
    options: list[st.SearchStrategy[str]] = []
    if "enum" in schema:
        allowed = {str(value) for value in schema["enum"]}
        options.append(st.text(max_size=20).filter(lambda text: text not in allowed))
    elif kind in {"integer", "number"}:
        options.append(st.text(max_size=12).filter(_unparsable(kind)))
        if "maximum" in schema:
            options.append(st.integers(min_value=int(schema["maximum"]) + 1).map(str))
        if "exclusiveMaximum" in schema:
            options.append(st.integers(min_value=int(schema["exclusiveMaximum"])).map(str))
        if "minimum" in schema:
            options.append(st.integers(max_value=int(schema["minimum"]) - 1).map(str))
        if "exclusiveMinimum" in schema:
            options.append(st.integers(max_value=int(schema["exclusiveMinimum"])).map(str))
        if kind == "integer":
            options.append(st.sampled_from(["0.5", "1e3", "nan", "inf"]))
    elif kind == "boolean":
        options.append(st.text(max_size=8).filter(_unparsable(kind)))
    elif kind == "string" and "maxLength" in schema:
        longest = int(schema["maxLength"])
        options.append(st.text(min_size=longest + 1, max_size=longest + 50))
    return st.one_of(options) if options else None


def is_bounded(schema: dict[str, Any]) -> bool:
    """Whether a user can only ask for a bounded amount of work through this parameter."""
    kind = schema.get("type")
    if "enum" in schema or "const" in schema or kind == "boolean":
        return True
    if kind in {"integer", "number"}:
        has_low = "minimum" in schema or "exclusiveMinimum" in schema
        has_high = "maximum" in schema or "exclusiveMaximum" in schema
        return has_low and has_high
    if kind == "string":
        return "maxLength" in schema or "pattern" in schema
    return False
