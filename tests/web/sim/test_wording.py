"""The simulator's vocabulary (app.web.sim.wording) names every status, event and operation."""

from __future__ import annotations

from app.sim import Event, Op, Status
from app.web.sim.wording import EVENT_LABELS, EVENT_TEXT, STATUS_LABELS, op_words


def test_every_status_and_event_has_its_words() -> None:
    assert set(STATUS_LABELS) == set(Status)
    assert set(EVENT_LABELS) == set(EVENT_TEXT) == set(Event)
    for text in EVENT_TEXT.values():
        assert text.format(thread="A", rc=0).startswith("A ")


def test_every_op_reads_as_words_and_no_two_alike() -> None:
    words = [op_words(op) for op in Op]
    assert len(set(words)) == len(words)
    assert all("-" not in word.removesuffix("-1") for word in words), words
    assert op_words(Op.ATOMIC_ADD) == "atomic add" and op_words(Op.IS_OWNER) == "owner?"
