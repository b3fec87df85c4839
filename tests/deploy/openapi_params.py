"""The query parameters of the app's operations as OpenAPI documents them, and hypothesis
strategies for values that break each one's declared rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from app.main import create_app
from app.web.settings import Settings

_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    path: str
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


def query_parameters(*, path_regex: str = "") -> list[Parameter]:
    spec = create_app(Settings()).openapi()
    found = []
    for path, operations in spec["paths"].items():
        if not re.search(path_regex, path) or "get" not in operations:
            continue
        for parameter in operations["get"].get("parameters", []):
            if parameter["in"] == "query":
                found.append(Parameter(
                    path=path, name=parameter["name"], schema=_flatten(parameter["schema"], spec),
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
        pattern = _INTEGER if kind == "integer" else _NUMBER
        options.append(st.text(max_size=12).filter(lambda text: not pattern.match(text)))
        if "maximum" in schema:
            options.append(st.integers(min_value=int(schema["maximum"]) + 1).map(str))
        if "exclusiveMaximum" in schema:
            options.append(st.integers(min_value=int(schema["exclusiveMaximum"])).map(str))
        if "minimum" in schema:
            options.append(st.integers(max_value=int(schema["minimum"]) - 1).map(str))
        if "exclusiveMinimum" in schema:
            options.append(st.integers(max_value=int(schema["exclusiveMinimum"])).map(str))
        if kind == "integer":
            options.append(st.sampled_from(["0.5", "1e3", "2.0", "nan", "inf"]))
    elif kind == "boolean":
        options.append(st.sampled_from(["maybe", "2", "yes please", "tru"]))
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
