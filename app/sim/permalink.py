"""Permalinks: a run and a step ⇄ the canonical query string of /sim.

Canonical form: `scenario`, `mode`, `n`, `interval` (mode gil only), the whole run's schedule
in canonical run-length form (so no seed is needed to replay it), then `step`. Parsing accepts
any schedule/seed the simulator accepts and canonicalises it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from app.sim.errors import InvalidParameter
from app.sim.model import MAX_INTERVAL, MAX_N_SIMULATE, Config, Mode, Scenario
from app.sim.run import Run, simulate

DEFAULT_N = 2
MAX_SEED = 2**32 - 1


E = TypeVar("E", Scenario, Mode)


def _choice(kind: type[E], name: str, value: str | None, default: E) -> E:
    if value is None or value == "":
        return default
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidParameter(name, f"must be one of {allowed}; got {value!r}") from None


def _integer(name: str, value: str | None, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidParameter(name, f"must be a whole number from {low} to {high}") from None
    if not low <= number <= high:
        raise InvalidParameter(name, f"must be from {low} to {high}; got {number}")
    return number


@dataclass(frozen=True, slots=True, kw_only=True)
class Permalink:
    config: Config
    schedule: str  # canonical, the whole run
    step: int  # 0 .. number of steps

    @classmethod
    def of(cls, run: Run, step: int) -> Permalink:
        if not 0 <= step <= len(run.steps):
            raise InvalidParameter("step", f"must be from 0 to {len(run.steps)}; got {step}")
        return cls(config=run.config, schedule=run.schedule, step=step)

    @classmethod
    def resolve(
        cls,
        config: Config,
        *,
        schedule: str | None = None,
        seed: int | None = None,
        step: int | None = None,
    ) -> tuple[Permalink, Run]:
        """The canonical permalink of a run given as typed values (the schedule in any form the
        simulator accepts, the rest by `seed`; no step is step 0); the run comes along."""
        run = simulate(config, schedule or None, seed)
        return cls.of(run, 0 if step is None else step), run

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> tuple[Permalink, Run]:
        """Parse /sim's parameters as text (missing ones take defaults); the run comes along."""
        n = _integer("n", query.get("n"), 1, MAX_N_SIMULATE) or DEFAULT_N
        config = Config(
            scenario=_choice(Scenario, "scenario", query.get("scenario"), Scenario.INC_INC),
            mode=_choice(Mode, "mode", query.get("mode"), Mode.NONE),
            n=n,
            interval=_integer("interval", query.get("interval"), 1, MAX_INTERVAL),
        )
        seed = _integer("seed", query.get("seed"), 0, MAX_SEED)
        run = simulate(config, query.get("schedule") or None, seed)
        step = _integer("step", query.get("step"), 0, len(run.steps))
        return cls.of(run, 0 if step is None else step), run

    @staticmethod
    def config_params(config: Config) -> dict[str, str]:
        """A run's configuration as /sim's parameters: the interval only in mode gil."""
        params = {"scenario": config.scenario.value, "mode": config.mode.value, "n": str(config.n)}
        if config.interval is not None:
            params["interval"] = str(config.interval)
        return params

    def params(self) -> dict[str, str]:
        return {
            **self.config_params(self.config),
            "schedule": self.schedule,
            "step": str(self.step),
        }

    def to_query(self) -> str:
        return urlencode(self.params())

    def at(self, step: int) -> Permalink:
        return Permalink(config=self.config, schedule=self.schedule, step=step)
