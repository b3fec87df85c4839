"""The records of a live class, its bounds, and the errors the rules raise."""

from __future__ import annotations

from dataclasses import dataclass

# Bounds a teacher in front of 200 students never meets, and an abuser always does.
MAX_MEMBERS = 300
MAX_NAME_CHARS = 40
ANSWERS_PER_SECOND = 5  # per member: enough to change one's mind, not to flood
IDLE_SECONDS = 6 * 3600  # a class nobody touched for this long ends, and its data is deleted
ENDED_KEPT_SECONDS = 24 * 3600  # how long an ended code still answers 410 rather than 404
# Failed look-ups of a join code per client address and window: with 31**6 codes and a full
# server of classes, a guesser finds one class in about 10**4 days of windows per address.
FAILED_LOOKUPS = 30
FAILED_LOOKUP_WINDOW = 600


def fold(name: str) -> str:
    """Names are unique in a class regardless of case: the key a store keeps them under."""
    return name.casefold()


class LiveError(Exception):
    """A request the rules refuse; `status` is the HTTP status the web layer answers with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownClass(LiveError):
    status = 404


class ClassEnded(LiveError):
    status = 410


class WrongToken(LiveError):
    status = 403


class Conflict(LiveError):
    """A duplicate name, an answer to a closed question, a question about a finished run."""

    status = 409


class LimitReached(LiveError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadInput(LiveError):
    """Well-formed JSON whose value the rules refuse; names the parameter (answered as 422)."""

    status = 422

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassRecord:
    code: str
    teacher_hash: str
    created: float
    touched: float
    state_url: str = ""  # a canonical /sim or /challenges permalink; "" before the first one
    question_id: int = 0  # the latest question (0: none yet)
    show_top: bool = False  # the teacher chose to show the class a top-5


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    student_id: str
    name: str
    token_hash: str
    joined: float
    right: int = 0  # revealed questions answered right
    answered: int = 0  # revealed questions answered


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    token: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionRecord:
    id: int
    url: str  # the permalink of the state asked about (the step before the one predicted)
    step: int  # the 1-based step predicted
    prompt: str
    choices: tuple[Choice, ...]
    answer: str  # the right choice's token; never sent before the reveal
    open: bool = True
    revealed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class HandIn:
    """A member's run of the assigned challenge, judged by the core."""

    student_id: str
    schedule: str
    outcome: str  # the explorer's outcome key as text, e.g. "final_rc=2 freed=false ..."
    solved: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One message to every stream of a class: its name and a JSON text (one line)."""

    name: str
    data: str

    def wire(self) -> bytes:
        """The event as server-sent-event text."""
        return f"event: {self.name}\ndata: {self.data}\n\n".encode()
