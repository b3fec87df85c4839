"""Predict mode of /sim (`predict=1`): before each step the student says what it will do.

The state is all in the URL: `/sim?<permalink>&predict=1&score=3/4` asks about the next step;
answering requests the same URL with `guess=<choice>`, which the server judges and turns into
the next state's URL, `...&step=k+1&predict=1&score=4/5&said=<choice>` (a redirect, or the
pushed URL of an htmx swap). So the score travels in the URL, a reload never counts an answer
twice, and the right answer never sits in a link. The questions and answers are the core's
(`app.sim.predict`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.lab.trial import HardwareRun
from app.sim import Permalink, Run
from app.sim.errors import InvalidParameter
from app.sim.predict import Question, Score, question
from app.web.infra import urls


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceLink:
    token: str
    label: str
    url: str
    key: str  # the digit key that picks it (see answer_keys)


@dataclass(frozen=True, slots=True, kw_only=True)
class Feedback:
    step: int
    what: str  # "A read"
    said: str
    answer: str
    correct: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PredictPanel:
    score: Score
    question: Question | None  # None once the run is over
    choices: tuple[ChoiceLink, ...]
    feedback: Feedback | None  # the answer to the question just answered
    url: str  # this state's permalink, predict mode included
    restart_url: str  # the same run from step 0 with a fresh score
    leave_url: str  # the same state without predict mode


def predict_url(
    run: Run,
    step: int,
    score: Score,
    *,
    said: str | None = None,
    embed: bool = False,
    hardware: HardwareRun | None = None,
) -> str:
    """`hardware`: the run a hardware replay replays, which predict mode keeps too."""
    return urls.predict(
        Permalink.of(run, step), str(score), said=said, embed=embed, hardware=hardware
    )


def answer(run: Run, step: int, score: Score, guess: str) -> Score:
    """The score after answering `guess` about step `step` + 1 (InvalidParameter if no choice)."""
    asked = question(run, step)
    if asked is None:
        raise InvalidParameter("guess", "the run is over: there is no next step to predict")
    if guess not in {choice.token for choice in asked.choices}:
        allowed = ", ".join(choice.token for choice in asked.choices)
        raise InvalidParameter("guess", f"must be one of {allowed}; got {guess[:20]!r}")
    return score.after(guess == asked.answer)


def answer_keys(labels: tuple[str, ...]) -> tuple[str, ...]:
    """The digit key for each choice. When every answer is itself one digit (a register that
    will hold 0, 1 or 2), its key is that digit: pressing 1 must not answer "0". Otherwise (rc
    = 10, or a sentence) the choices are numbered from 1, and each shows its number."""
    if all(len(label) == 1 and label.isdigit() for label in labels) and len(set(labels)) == len(
        labels
    ):
        return labels
    return tuple(str(number) for number in range(1, len(labels) + 1))


def build(
    run: Run,
    step: int,
    score: Score,
    *,
    said: str | None,
    embed: bool,
    leave_url: str,
    hardware: HardwareRun | None = None,
) -> PredictPanel:
    asked = question(run, step)
    here = Permalink.of(run, step)
    offered = asked.choices if asked else ()
    choices = tuple(
        ChoiceLink(
            token=choice.token,
            label=choice.label,
            url=urls.predict(
                here, str(score), said=None, embed=embed, guess=choice.token, hardware=hardware
            ),
            key=key,
        )
        for choice, key in zip(offered, answer_keys(tuple(c.label for c in offered)), strict=True)
    )
    feedback = None
    previous = question(run, step - 1) if step > 0 else None
    if said is not None and previous is not None:
        feedback = Feedback(
            step=step,
            what=f"{previous.thread.value} {previous.op.value}",
            said=previous.label_of(said),
            answer=previous.label_of(previous.answer),
            correct=said == previous.answer,
        )
    return PredictPanel(
        score=score,
        question=asked,
        choices=choices,
        feedback=feedback,
        url=predict_url(run, step, score, said=said, embed=embed, hardware=hardware),
        restart_url=predict_url(run, 0, Score(), embed=embed, hardware=hardware),
        leave_url=leave_url,
    )
