"""The /versions survey's results, measured at most once per interpreter and kept for the process.

One asyncio task per interpreter measures its row through the area's `JobRunner`; every page or
stream that wants the row awaits that same task (shielded, so a visitor who leaves does not
cancel what others wait for), so concurrent visitors never run an experiment twice. A row whose
measurement failed (the lab was busy, a script broke) is not kept: the next request tries
again. `rerun` forgets finished rows; rows being measured finish and are kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.lab.interpreters import Interpreter
from app.lab.jobs import Busy, JobRunner, TimedOut
from app.lab.survey import ROW_TIMEOUT_S, Row, measure_row


class SurveyCache:
    def __init__(
        self, runner: JobRunner, *, measure: Callable[[Interpreter], Row] = measure_row
    ) -> None:
        """`measure` makes one interpreter's row in the runner (tests give rows at once)."""
        self._runner = runner
        self._measure_row = measure
        self._tasks: dict[str, asyncio.Task[Row]] = {}

    def cached(self, interpreter: Interpreter) -> Row | None:
        """The finished, successful row of this interpreter, if there is one."""
        task = self._tasks.get(interpreter.version)
        if task is None or not task.done() or task.cancelled():
            return None
        row = task.result()
        return None if row.errors and not row.races else row

    def measuring(self) -> bool:
        return any(not task.done() for task in self._tasks.values())

    async def row(self, interpreter: Interpreter) -> Row:
        task = self._tasks.get(interpreter.version)
        if task is None or (task.done() and self.cached(interpreter) is None):
            task = asyncio.ensure_future(self._measure(interpreter))
            self._tasks[interpreter.version] = task
        return await asyncio.shield(task)

    def rerun(self) -> None:
        for version, task in list(self._tasks.items()):
            if task.done():
                del self._tasks[version]

    async def _measure(self, interpreter: Interpreter) -> Row:
        try:
            return await self._runner.run(
                lambda: self._measure_row(interpreter), timeout=ROW_TIMEOUT_S
            )
        except (Busy, TimedOut) as exc:
            return Row(interpreter=interpreter, errors=(str(exc),))
