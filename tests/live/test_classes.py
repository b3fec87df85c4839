"""The rules of a live class, against both stores (SQLite and Redis)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from app.live import model
from app.live.classes import CODE_ALPHABET, LiveClasses
from app.live.model import (
    BadInput,
    ClassEnded,
    ClassRecord,
    Conflict,
    Event,
    LimitReached,
    UnknownClass,
    WrongToken,
)
from app.live.redis_store import RedisStore
from app.live.store import Store
from app.sim import Permalink
from app.web.infra import urls
from tests.live.conftest import Clock, make_store

pytestmark = pytest.mark.anyio

SIM = "/sim?scenario=inc-inc&mode=none&n=1&schedule=A1B1A1B1A1B1&step=0"
HERE = "10.0.0.1"


async def _next(queue: asyncio.Queue[Event | None], name: str) -> dict[str, object]:
    """The next event called `name` (others skipped). The 10 s bound only ends a test whose
    event never comes: how fast events fan out is benchmarks/live_class.py's figure."""
    while True:
        event = await asyncio.wait_for(queue.get(), timeout=10)
        assert event is not None, "the stream was ended"
        if event.name == name:
            data: dict[str, object] = json.loads(event.data)
            return data


async def test_a_class_has_a_six_character_code_and_only_its_token_rules_it(
    classes: LiveClasses,
) -> None:
    record, token = await classes.create()
    assert len(record.code) == 6 and set(record.code) <= set(CODE_ALPHABET)
    assert (await classes.teacher(record.code.lower(), token, client=HERE)).code == record.code
    for wrong in (None, "", token + "x", "x" * len(token)):
        with pytest.raises(WrongToken):
            await classes.teacher(record.code, wrong, client=HERE)


async def test_the_server_runs_a_bounded_number_of_classes(classes: LiveClasses) -> None:
    for _ in range(classes.max_classes):
        await classes.create()
    with pytest.raises(LimitReached):
        await classes.create()


async def test_names_are_cleaned_bounded_and_unique_ignoring_case(classes: LiveClasses) -> None:
    record, _ = await classes.create()
    member, token = await classes.join(record, "  Ada \t Lovelace ")
    assert member.name == "Ada Lovelace"
    assert (await classes.student(record.code, token, client=HERE))[1] == member
    with pytest.raises(Conflict):
        await classes.join(record, "ADA lovelace")
    for bad in ("", "   ", "x" * (model.MAX_NAME_CHARS + 1), "a\u202eb", "a\x00b"):
        with pytest.raises(BadInput) as refused:
            await classes.join(record, bad)
        assert refused.value.parameter == "name"
    assert len(await classes.store.members(record.code)) == 1
    with pytest.raises(WrongToken):
        await classes.student(record.code, member.student_id + ".nope", client=HERE)


async def test_a_full_class_refuses_joins_exactly_at_the_bound_under_a_burst(
    classes: LiveClasses,
) -> None:
    classes.max_members = 30
    record, _ = await classes.create()
    tries = await asyncio.gather(
        *(classes.join(record, f"student {i}") for i in range(50)), return_exceptions=True
    )
    assert sum(not isinstance(t, BaseException) for t in tries) == 30
    assert all(isinstance(t, LimitReached) for t in tries if isinstance(t, BaseException))
    assert await classes.store.member_count(record.code) == 30


async def test_unknown_and_ended_codes_and_guessing(
    classes: LiveClasses,
) -> None:
    classes.failed_lookups = 3
    record, _ = await classes.create()
    member, _ = await classes.join(record, "Bo")
    await classes.end(record)
    with pytest.raises(ClassEnded):
        await classes.find(record.code, client="10.0.0.2")
    assert await classes.store.get_class(record.code) is None
    assert await classes.store.member(record.code, member.student_id) is None
    for _ in range(2):
        with pytest.raises(UnknownClass):
            await classes.find("ZZZZZZ", client=HERE)
    live, _ = await classes.create()
    # The third miss uses up the window; from then on even a right code is refused, so a
    # guesser cannot tell a hit from a miss.
    with pytest.raises(UnknownClass):
        await classes.find("ZZZZZZ", client=HERE)
    with pytest.raises(LimitReached):
        await classes.find(live.code, client=HERE)
    assert (await classes.find(live.code, client="10.0.0.3")).code == live.code


async def test_a_class_idle_for_six_hours_ends_and_its_data_goes(
    classes: LiveClasses, clock: Clock
) -> None:
    record, _ = await classes.create()
    busy, _ = await classes.create()
    clock.now += model.IDLE_SECONDS - 60
    await classes.join(busy, "Cy")  # touches the class
    clock.now += 120
    assert await classes.expire() == [record.code]
    with pytest.raises(ClassEnded):
        await classes.find(record.code, client=HERE)
    assert (await classes.find(busy.code, client=HERE)).code == busy.code


async def test_the_state_is_a_canonical_permalink_and_goes_to_every_stream(
    classes: LiveClasses,
) -> None:
    record, _ = await classes.create()
    async with classes.store.hub.listen(record.code) as queue:
        shown = await classes.set_state(record, "http://projector:8000" + SIM.replace("0", "2"))
        event = await _next(queue, "state")
    assert shown.url.startswith("/sim?scenario=inc-inc&mode=none&n=1&schedule=")
    # The very link /sim's own pages give that state, from the site's URL module.
    assert shown.run is not None and shown.url == urls.sim(Permalink.of(shown.run, 2))
    assert (await classes.set_state(record, "/challenges/keep-count?schedule=AAB")).url == (
        urls.challenge("keep-count", "A2B1")
    )
    assert event == {
        "url": shown.url, "title": shown.title, "step": 2, "steps": 6, "challenge": None,
    }  # fmt: skip
    for bad in ("/lab", "https://elsewhere/", "/sim?n=999", "/challenges/nope", "x" * 3000):
        with pytest.raises(BadInput) as refused:
            await classes.set_state(record, bad)
        assert refused.value.parameter == "url"


async def _showing_sim(classes: LiveClasses) -> ClassRecord:
    """A new class looking at SIM, as the store now holds it."""
    record, _ = await classes.create()
    await classes.set_state(record, SIM)
    return await classes.find(record.code, client=HERE)


async def test_predict_together_counts_each_answer_once_and_scores_on_reveal(
    classes: LiveClasses, clock: Clock
) -> None:
    record = await _showing_sim(classes)
    ada, _ = await classes.join(record, "Ada")
    bo, _ = await classes.join(record, "Bo")
    await classes.join(record, "Cy")  # never answers
    async with classes.store.hub.listen(record.code) as queue:
        question = await classes.ask(record)
        asked = await _next(queue, "question")
        assert asked["open"] is True and asked["step"] == 1 and "answer" not in asked
        assert [c.token for c in question.choices] == ["0", "1", "2"]  # A reads rc = 1
        await classes.answer(record, ada, question.id, "2")
        await classes.answer(record, ada, question.id, "1")  # a change of mind
        await classes.answer(record, bo, question.id, "2")
        with pytest.raises(BadInput) as refused:
            await classes.answer(record, bo, question.id, "7")
        assert refused.value.parameter == "choice"
        results = await classes.results(record, question.id, ada)
        assert results.counts == {"0": 0, "1": 1, "2": 1}
        assert (results.answered, results.members) == (2, 3)
        assert results.mine == "1"
        record = await classes.find(record.code, client=HERE)
        revealed = await classes.reveal(record, question.id)
        reveal = await _next(queue, "reveal")
    assert revealed.question.revealed and not revealed.question.open
    assert reveal["correct"] == "1" and reveal["counts"] == {"0": 0, "1": 1, "2": 1}
    assert reveal["top"] is None  # the teacher did not choose a top-5
    with pytest.raises(Conflict):
        await classes.answer(record, bo, question.id, "1")  # closed
    with pytest.raises(Conflict):
        await classes.reveal(record, question.id)  # once
    scores = {m.name: (m.right, m.answered) for m in await classes.store.members(record.code)}
    assert scores == {"Ada": (1, 1), "Bo": (0, 1), "Cy": (0, 0)}


async def test_answers_per_second_are_bounded_per_member(
    classes: LiveClasses, clock: Clock
) -> None:
    record = await _showing_sim(classes)
    ada, _ = await classes.join(record, "Ada")
    bo, _ = await classes.join(record, "Bo")
    question = await classes.ask(record)
    clock.now = float(int(clock.now))  # the start of a one-second window
    for _ in range(model.ANSWERS_PER_SECOND):
        await classes.answer(record, ada, question.id, "1")
    with pytest.raises(LimitReached):
        await classes.answer(record, ada, question.id, "2")
    await classes.answer(record, bo, question.id, "2")  # others are not held up
    clock.now += 1
    await classes.answer(record, ada, question.id, "2")
    assert (await classes.results(record, question.id, ada)).counts == {"0": 0, "1": 0, "2": 2}


async def test_no_question_without_a_run_to_predict(classes: LiveClasses) -> None:
    record, _ = await classes.create()
    with pytest.raises(Conflict):
        await classes.ask(record)
    await classes.set_state(record, SIM.replace("step=0", "step=6"))
    with pytest.raises(Conflict, match="over"):
        await classes.ask(await classes.find(record.code, client=HERE))
    await classes.set_state(record, "/challenges/keep-count")
    with pytest.raises(Conflict, match="challenge"):
        await classes.ask(await classes.find(record.code, client=HERE))


async def test_a_step_closes_the_open_question(classes: LiveClasses) -> None:
    record = await _showing_sim(classes)
    question = await classes.ask(record)
    record = await classes.find(record.code, client=HERE)
    await classes.set_state(record, SIM.replace("step=0", "step=1"))
    assert not (await classes.question(record, question.id)).open


async def test_a_challenge_as_a_class_counts_solved_runs_and_outcomes(
    classes: LiveClasses,
) -> None:
    record, _ = await classes.create()
    ada, _ = await classes.join(record, "Ada")
    bo, _ = await classes.join(record, "Bo")
    with pytest.raises(Conflict):
        await classes.hand_in(record, ada, "AAABBB")
    await classes.set_state(record, "/challenges/keep-count")
    record = await classes.find(record.code, client=HERE)
    assert (await classes.hand_in(record, ada, "AAABBB")).solved  # one call after the other
    assert not (await classes.hand_in(record, bo, "ABABAB")).solved  # a lost update
    for bad in ("BBBB9", "AAB"):  # not a schedule; a run not finished
        with pytest.raises(BadInput) as refused:
            await classes.hand_in(record, bo, bad)
        assert refused.value.parameter == "schedule"
    results = await classes.challenge_results(record)
    assert (results.slug, results.handed_in, results.solved) == (
        "keep-count", 2, 1,
    )  # fmt: skip
    keys = {(o["final_rc"], solved): count for o, count, solved in results.outcomes}
    assert keys == {(3, True): 1, (2, False): 1}


async def test_top_five_when_the_teacher_chooses(classes: LiveClasses) -> None:
    record = await _showing_sim(classes)
    ada, _ = await classes.join(record, "Ada")
    await classes.show_top(record, True)
    record = await classes.find(record.code, client=HERE)
    question = await classes.ask(record)
    await classes.answer(record, ada, question.id, "1")
    async with classes.store.hub.listen(record.code) as queue:
        await classes.reveal(await classes.find(record.code, client=HERE), question.id)
        reveal = await _next(queue, "reveal")
    assert reveal["top"] == [{"name": "Ada", "right": 1, "answered": 1}]


async def test_two_processes_on_one_store_see_each_others_events(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> None:
    """Two workers (or two machines, with Redis): a step taken on one reaches the other's
    streams, and a class created on one is found on the other."""
    if backend == "redis":
        first = make_store(backend, request, tmp_path)
        assert isinstance(first, RedisStore)
        second: Store = RedisStore(first.url, prefix=first.prefix)
    else:
        first, second = (make_store(backend, request, tmp_path) for _ in range(2))
    one = LiveClasses(first, links=urls, max_classes=5, clock=clock)
    other = LiveClasses(second, links=urls, max_classes=5, clock=clock)
    await one.start()
    await other.start()
    try:
        record, token = await one.create()
        found = await other.teacher(record.code, token, client=HERE)
        async with other.store.hub.listen(record.code) as queue:
            await one.set_state(found, SIM)
            assert (await _next(queue, "state"))["step"] == 0
            await other.join(found, "Dee")
            assert (await _next(queue, "members"))["members"] == 1
    finally:
        await one.stop()
        await other.stop()


async def test_two_reveals_at_once_score_once(classes: LiveClasses) -> None:
    """A double click on Reveal, or two dashboards: one reveal wins, the scores move once."""
    record = await _showing_sim(classes)
    ada, _ = await classes.join(record, "Ada")
    question = await classes.ask(record)
    await classes.answer(record, ada, question.id, "1")
    tries = await asyncio.gather(
        *(classes.reveal(record, question.id) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(t, BaseException) for t in tries) == 1
    assert all(isinstance(t, Conflict) for t in tries if isinstance(t, BaseException))
    member = await classes.store.member(record.code, ada.student_id)
    assert member is not None and (member.right, member.answered) == (1, 1)


async def test_the_teacher_takes_a_name_out_of_the_class(classes: LiveClasses) -> None:
    record, _ = await classes.create()
    rude, token = await classes.join(record, "Rude Name")
    await classes.join(record, "Ada")
    async with classes.store.hub.listen(record.code) as queue:
        await classes.remove(record, rude.student_id)
        while (await _next(queue, "members"))["members"] != 1:  # older join events may come first
            pass
    with pytest.raises(WrongToken):
        await classes.student(record.code, token, client=HERE)
    with pytest.raises(UnknownClass):
        await classes.remove(record, rude.student_id)
    await classes.join(record, "rude name")  # the name is free again
    assert sorted(m.name for m in await classes.store.members(record.code)) == ["Ada", "rude name"]
