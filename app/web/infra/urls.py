"""The URLs of the simulator's states, built from the typed state they show, in one place.

A state of the simulator is a `Permalink` (app.sim.permalink), whose query is canonical: every
view that links to one state links to the same URL, byte for byte, so the page cache keeps it
once and a shared link always opens what its sender saw. Modes of a page that are not state
(the embed layout, predict mode's score) follow as extra parameters, after it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from app.sim import Permalink

SIM_PATH = "/sim"
SIM_STREAM_PATH = "/stream/sim"


def _query(permalink: Permalink, extra: dict[str, str], *, embed: bool) -> str:
    params = {**permalink.params(), **extra}
    if embed:
        params["embed"] = "1"
    return urlencode(params, safe="/")  # score=3/4 reads better than 3%2F4


def sim(permalink: Permalink, *, embed: bool = False, **extra: str) -> str:
    """/sim at the state `permalink` names."""
    return f"{SIM_PATH}?{_query(permalink, extra, embed=embed)}"


def sim_stream(permalink: Permalink, *, speed: float, embed: bool = False) -> str:
    """The event stream that plays on from `permalink` at `speed` steps a second."""
    return f"{SIM_STREAM_PATH}?{_query(permalink, {'speed': f'{speed:g}'}, embed=embed)}"
