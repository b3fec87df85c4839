"""Errors the core raises for input it cannot run; each names the parameter at fault."""

from __future__ import annotations


class InvalidParameter(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message

    def __reduce__(self) -> tuple[object, ...]:
        # Explorations run in worker processes; their errors must cross back intact.
        return (type(self), (self.parameter, self.message))


class ScheduleError(InvalidParameter):
    """A schedule that is malformed or picks a thread that cannot run at some step."""

    def __init__(self, message: str, *, step: int | None = None) -> None:
        text = message if step is None else f"step {step}: {message}"
        super().__init__("schedule", text)
        self.step = step
        self._text = message

    def __reduce__(self) -> tuple[object, ...]:
        return (_schedule_error, (self._text, self.step))


def _schedule_error(message: str, step: int | None) -> ScheduleError:
    return ScheduleError(message, step=step)


class TooLarge(InvalidParameter):
    """An exploration past the explorer's budget."""
