"""Errors the core raises for input it cannot run; each names the parameter at fault."""

from __future__ import annotations


class InvalidParameter(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class ScheduleError(InvalidParameter):
    """A schedule that is malformed or picks a thread that cannot run at some step."""

    def __init__(self, message: str, *, step: int | None = None) -> None:
        text = message if step is None else f"step {step}: {message}"
        super().__init__("schedule", text)
        self.step = step


class TooLarge(InvalidParameter):
    """An exploration past the explorer's budget."""
