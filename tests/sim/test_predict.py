"""Predict-the-step questions: every answer is among the choices and agrees with the run."""

from __future__ import annotations

import pytest

from app.sim import Config, Event, InvalidParameter, Mode, Op, Scenario, simulate
from app.sim.predict import Score, question


@pytest.mark.parametrize("scenario", list(Scenario))
@pytest.mark.parametrize("mode", list(Mode))
def test_every_step_has_a_question_whose_answer_is_a_choice(scenario: Scenario, mode: Mode) -> None:
    for seed in range(5):
        run = simulate(Config(scenario=scenario, mode=mode, n=2), seed=seed)
        for k, step in enumerate(run.steps):
            asked = question(run, k)
            assert asked is not None
            assert asked.step == step.index and asked.thread is step.thread and asked.op is step.op
            tokens = [choice.token for choice in asked.choices]
            assert asked.answer in tokens
            assert len(tokens) == len(set(tokens)) >= 2
            if step.op in (Op.READ, Op.ADD, Op.SUB):
                assert asked.answer == str(step.reg[step.thread])
            elif step.op in (
                Op.WRITE,
                Op.ATOMIC_ADD,
                Op.ATOMIC_SUB,
                Op.DEC_SHARED,
                Op.MARK_MERGED,
                Op.MERGE,
            ):
                assert asked.answer == str(step.rc)
            elif step.op in (Op.STORE_LOCAL_INC, Op.STORE_LOCAL_DEC):
                assert asked.answer == str(step.ref_local)
            elif step.op is Op.LOAD_LOCAL:
                assert asked.answer == str(step.reg[step.thread])
            elif step.op is Op.CHECK:
                assert (asked.answer == "fails") == (Event.FAILED_CHECK in step.events)
            elif step.op is Op.FREE:
                assert (asked.answer == "double-free") == (Event.DOUBLE_FREE in step.events)
        assert question(run, len(run.steps)) is None


def test_choices_do_not_depend_on_the_answer() -> None:
    # Two writes from the same state and register, one a lost update: the same choices.
    config = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=1)
    lost = simulate(config, "A2B3A1")
    asked = question(lost, 5)
    assert asked is not None and asked.op is Op.WRITE
    assert [c.token for c in asked.choices] == ["1", "2", "3"]
    assert asked.answer == "2"


def test_score_parses_counts_and_refuses_nonsense() -> None:
    assert Score.parse("") == Score()
    assert Score.parse("3/4").after(True) == Score(right=4, asked=5)
    assert str(Score.parse("3/4").after(False)) == "3/5"
    for bad in ("5/4", "a/b", "-1/2", "1/2/3", "99999/999999"):
        with pytest.raises(InvalidParameter, match="score"):
            Score.parse(bad)
