"""The pure core: a deterministic simulator of two threads sharing one reference count, and an
exact explorer of all their interleavings. No web framework, templates, cffi, threads or clock.
"""

from app.sim.errors import InvalidParameter, ScheduleError, TooLarge
from app.sim.explorer import MAX_STATES, Exploration, OutcomeCount, explore
from app.sim.machine import Machine, Outcome, State, Step, ThreadState
from app.sim.model import (
    DEFAULT_INTERVAL,
    MAX_INTERVAL,
    MAX_N_EXPLORE,
    MAX_N_SIMULATE,
    THREADS,
    Config,
    Event,
    Mode,
    Op,
    Scenario,
    Status,
    Thread,
)
from app.sim.permalink import Permalink
from app.sim.program import code_listing
from app.sim.run import Run, ThreadView, gil_handovers, simulate
from app.sim.schedule import format_schedule, parse_schedule

__all__ = [
    "DEFAULT_INTERVAL",
    "MAX_INTERVAL",
    "MAX_N_EXPLORE",
    "MAX_N_SIMULATE",
    "MAX_STATES",
    "THREADS",
    "Config",
    "Event",
    "Exploration",
    "InvalidParameter",
    "Machine",
    "Mode",
    "Op",
    "Outcome",
    "OutcomeCount",
    "Permalink",
    "Run",
    "Scenario",
    "ScheduleError",
    "State",
    "Status",
    "Step",
    "Thread",
    "ThreadState",
    "ThreadView",
    "TooLarge",
    "code_listing",
    "explore",
    "format_schedule",
    "gil_handovers",
    "parse_schedule",
    "simulate",
]
