"""Words shared by every page: one way to say a count of things (also the `plural` filter)."""

from __future__ import annotations


def plural(count: int, one: str, many: str | None = None) -> str:
    """`plural(1, "update")` is "1 update", `plural(3, "update")` "3 updates"; counts get
    thousands separators ("1,024 updates")."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"
