"""The lessons: the site's argument, one page per step, in order.

A lesson is data (slug, title, summary, the simulator states it embeds); its text lives in
templates/lessons/<slug>.html. Each embedded simulator state is an `Example`: a permalink plus
what a student should see there (the events of the step it opens at, the run's outcome), so
tests/web/lessons/test_pages.py can replay every example through app.sim and prove the text right.

Permalinks come from the core's own `Permalink`, so they are canonical by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from app.sim import Config, Exploration, Mode, Permalink, Scenario, explore
from app.web.infra import urls
from app.web.sim import view as sim_view


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    """One simulator state a lesson embeds, and what the student should see when it opens."""

    key: str  # how a lesson template names it: examples["lost-update"]
    title: str  # the iframe's accessible title, and the text link's label
    scenario: str
    mode: str
    n: int
    schedule: str  # the complete canonical schedule of the run, so the story never changes
    step: int  # the page opens after this many steps
    interval: int | None = None  # gil mode only: the switch interval in steps
    # Values of app.sim.Event that the step the page opens at (steps[step - 1]) must carry.
    events: tuple[str, ...] = ()
    # (thread, app.sim.Status value) pairs that must hold in the state the page opens at.
    statuses: tuple[tuple[str, str], ...] = ()
    # Fields of app.sim.Outcome that the finished run must have (final_rc, freed, correct, ...).
    outcome: tuple[tuple[str, int | bool], ...] = ()

    @property
    def config(self) -> Config:
        return Config(
            scenario=Scenario(self.scenario), mode=Mode(self.mode), n=self.n, interval=self.interval
        )

    @property
    def permalink(self) -> Permalink:
        """The simulator's own canonical permalink for this state (never written by hand)."""
        return Permalink(config=self.config, schedule=self.schedule, step=self.step)

    @property
    def url(self) -> str:
        """The simulator page at this state: the link students follow to play on."""
        return urls.sim(self.permalink)

    @property
    def embed_url(self) -> str:
        return urls.sim(self.permalink, embed=True)

    @property
    def explore_url(self) -> str:
        """Every interleaving of the same run, counted: where this one sits among them."""
        return explore_url(self.scenario, self.mode, self.n)

    @property
    def native_url(self) -> str | None:
        """The same race in real C on real cores, freeing for real (None where C has no such
        mode, as in gil)."""
        return sim_view.native_race_url(self.config)


def explore_url(scenario: str, mode: str, n: int) -> str:
    """/explore for a run a lesson names by its parameters' values (`"dec-dec", "gil", 2`)."""
    return urls.explore(Scenario(scenario), Mode(mode), n)


@dataclass(frozen=True, slots=True, kw_only=True)
class LabFrame:
    """One panel of a lab page a lesson embeds live (it measures or simulates when it loads)."""

    key: str
    title: str
    path: str  # a panel that honours ?embed=1, e.g. /gil/pyrace
    params: tuple[tuple[str, str | int | float], ...] = ()

    @property
    def url(self) -> str:
        return urls.lab_panel(self.path, self.params)

    @property
    def embed_url(self) -> str:
        return urls.lab_panel(self.path, self.params, embed=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Proof:
    """An exploration a lesson quotes: every schedule of a small run, counted by the explorer
    when the page is built, so the lesson's numbers are the core's, never typed in."""

    key: str
    scenario: str
    mode: str
    n: int  # small: the page counts it in the server's own process (milliseconds)

    def __post_init__(self) -> None:
        if not 1 <= self.n <= MAX_PROOF_N:
            raise ValueError(f"proof {self.key!r}: n must be between 1 and {MAX_PROOF_N}")

    @property
    def exploration(self) -> Exploration:
        return explore(Scenario(self.scenario), Mode(self.mode), self.n)

    @property
    def url(self) -> str:
        return explore_url(self.scenario, self.mode, self.n)


MAX_PROOF_N = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Lesson:
    slug: str
    title: str
    summary: str  # one sentence for the index and the page's meta description
    examples: tuple[Example, ...] = ()
    frames: tuple[LabFrame, ...] = ()
    proofs: tuple[Proof, ...] = ()

    @property
    def template(self) -> str:
        return f"lessons/{self.slug}.html"

    @property
    def url(self) -> str:
        return urls.lesson(self.slug)

    def example(self, key: str) -> Example:
        for example in self.examples:
            if example.key == key:
                return example
        raise KeyError(f"lesson {self.slug!r} has no example {key!r}")


# Lessons 7 and 8 both embed the measured convoy: where I/O meets CPU-bound work, and as a
# promise the GIL does not make (latency).
_CONVOY = LabFrame(
    key="convoy",
    title="The convoy effect: an I/O thread's round trip alone and beside one CPU-bound thread, "
    "at switch intervals of 5, 1 and 0.1 ms",
    path="/gil/convoy",
    params=(),
)

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        slug="objects-and-reference-counts",
        title="Objects and reference counts",
        summary="Every Python object lives on the heap with a count of the references to it; "
        "at zero it is freed at once.",
        examples=(
            Example(
                key="freed-at-zero",
                title="Two threads drop their references one after the other; the second frees "
                "the object",
                scenario="dec-dec",
                mode="none",
                n=1,
                schedule="A5B6",
                step=11,
                events=("freed",),
                outcome=(("final_rc", 0), ("freed", True), ("correct", True)),
            ),
        ),
    ),
    Lesson(
        slug="lost-updates",
        title="The lost update",
        summary="rc++ is a read, an add and a write; two threads interleaving them lose an "
        "increment.",
        examples=(
            Example(
                key="lost-update",
                title="Thread A writes back a stale count and B's increment is lost",
                scenario="inc-inc",
                mode="none",
                n=1,
                schedule="A2B3A1",
                step=6,
                events=("lost-update",),
                outcome=(("final_rc", 2), ("lost_updates", 1), ("correct", False)),
            ),
        ),
    ),
    Lesson(
        slug="freeing-under-a-race",
        title="Freeing under a race",
        summary="When the count is wrong, objects are freed while still in use, freed twice, "
        "or never freed at all.",
        examples=(
            Example(
                key="use-after-free",
                title="Thread A passes its check, B frees the object, A writes into freed memory",
                scenario="inc-dec",
                mode="none",
                n=1,
                schedule="A1B6A3",
                step=10,
                events=("use-after-free",),
                outcome=(("final_rc", 1), ("freed", True), ("use_after_free", 2)),
            ),
            Example(
                key="double-free",
                title="Both threads see the count reach zero and both free the object",
                scenario="dec-dec",
                mode="none",
                n=1,
                schedule="A4B4A1B1A1B1",
                step=12,
                events=("double-free",),
                outcome=(("final_rc", 0), ("double_free", 1), ("correct", False)),
            ),
            Example(
                key="leak",
                title="A lost decrement leaves the count at 1: the object is never freed",
                scenario="dec-dec",
                mode="none",
                n=1,
                schedule="A2B5A3",
                step=10,
                outcome=(("final_rc", 1), ("freed", False), ("lost_updates", 1)),
            ),
        ),
    ),
    Lesson(
        slug="the-lock",
        title="One lock",
        summary="A mutex around each update makes it whole again, but a lock cannot make a "
        "freed object safe to touch.",
        examples=(
            Example(
                key="blocked",
                title="A holds the lock; B waits at its lock statement until A unlocks",
                scenario="inc-inc",
                mode="global-lock",
                n=1,
                schedule="A5B5",
                step=2,
                statuses=(("A", "ready"), ("B", "blocked")),
                outcome=(("final_rc", 3), ("correct", True)),
            ),
            Example(
                key="locked-check-reads-freed",
                title="With the lock, B frees the object; A's check then reads freed memory",
                scenario="inc-dec",
                mode="global-lock",
                n=1,
                schedule="B8A3",
                step=10,
                events=("use-after-free", "failed-check"),
                outcome=(("final_rc", 0), ("freed", True), ("double_free", 0), ("correct", False)),
            ),
        ),
    ),
    Lesson(
        slug="per-object-locks",
        title="Per-object locks and what locks cost",
        summary="A lock in every object lets threads on different objects run in parallel, at "
        "a price on every update; atomics are cheaper, and neither guards an object's lifetime.",
        examples=(
            Example(
                key="lock-in-freed-object",
                title="The mutex lives inside the object: after B frees it, A locks freed memory",
                scenario="inc-dec",
                mode="object-lock",
                n=1,
                schedule="B8A3",
                step=9,
                events=("use-after-free",),
                outcome=(("freed", True),),
            ),
            Example(
                key="owner-unlocks-then-frees",
                title="dec_ref unlocks before it frees: the last owner frees the object and "
                "nothing touches freed memory",
                scenario="dec-dec",
                mode="unlock-then-free",
                n=1,
                schedule="A7B8",
                step=15,
                events=("freed",),
                outcome=(("final_rc", 0), ("freed", True), ("use_after_free", 0),
                         ("correct", True)),
            ),
            Example(
                key="no-reference-no-protection",
                title="Unlock before free, and still: A holds the object's lock when B frees it, "
                "and A's check reads freed memory",
                scenario="inc-dec",
                mode="unlock-then-free",
                n=1,
                schedule="B7A1B1A2",
                step=10,
                events=("use-after-free", "failed-check"),
                outcome=(("freed", True), ("use_after_free", 2), ("correct", False)),
            ),
            Example(
                key="atomic-add-on-freed",
                title="Atomic updates: no update is lost, yet A adds to an object B has freed",
                scenario="inc-dec",
                mode="atomic",
                n=1,
                schedule="A1B3A1",
                step=5,
                events=("use-after-free",),
                outcome=(("final_rc", 1), ("freed", True), ("lost_updates", 0)),
            ),
        ),
        frames=(
            LabFrame(
                key="cost",
                title="Native lab: nanoseconds per increment under each kind of lock, alone and "
                "with two threads, measured as the page loads",
                path="/lab/cost",
                params=(),
            ),
        ),
    ),
    Lesson(
        slug="time-slices",
        title="The GIL's time slices",
        summary="One lock for the whole interpreter: a thread runs only while it holds the GIL, "
        "and hands it over every switch interval.",
        examples=(
            Example(
                key="slices",
                title="Under the GIL, A runs two whole calls, then B takes over for two",
                scenario="inc-inc",
                mode="gil",
                n=3,
                interval=4,
                schedule="A6B6A3B3",
                step=9,
                statuses=(("A", "waiting-gil"), ("B", "ready")),
                outcome=(("final_rc", 7), ("lost_updates", 0), ("correct", True)),
            ),
            Example(
                key="gil-frees-once",
                title="Under the GIL with a one-step interval, the count reaches zero exactly "
                "once and the object is freed once",
                scenario="dec-dec",
                mode="gil",
                n=2,
                interval=1,
                schedule="A5B5A5B6",
                step=21,
                events=("freed",),
                outcome=(("final_rc", 0), ("freed", True), ("correct", True)),
            ),
        ),
        frames=(
            LabFrame(
                key="measured-slices",
                title="GIL lab: two CPU-bound threads measured for 300 ms at a 5 ms switch "
                "interval",
                path="/gil/timeline",
                params=(("interval_ms", 5), ("duration_ms", 300), ("threads", 2)),
            ),
        ),
    ),
    Lesson(
        slug="io-releases-the-gil",
        title="I/O releases the GIL",
        summary="A thread that waits for I/O drops the GIL first, so threads overlap their "
        "waiting even though only one runs Python at a time.",
        frames=(
            LabFrame(
                key="io-against-cpu",
                title="GIL lab: three slow requests in turn and in threads, and CPU-bound work "
                "in turn, in threads and in processes",
                path="/gil/io",
                params=(("seconds", 0.2), ("requests", 3)),
            ),
            _CONVOY,
        ),
    ),
    Lesson(
        slug="what-the-gil-does-not-promise",
        title="What the GIL does not promise",
        summary="The GIL keeps the interpreter's own counts whole, not your statements: "
        "n += 1 is several bytecodes, and versions differ in where they switch.",
        frames=(
            LabFrame(
                key="any-bytecode",
                title="Bytecode simulation: counter += 1 in two threads when the interpreter "
                "checks for a switch before almost every bytecode (Python 3.6 to 3.9)",
                path="/gil/pyrace",
                params=(
                    ("statement", "inplace"),
                    ("switching", "any-bytecode"),
                    ("n", 2),
                    ("interval", 3),
                ),
            ),
            LabFrame(
                key="resume-call",
                title="Bytecode simulation: counter = counter + one() when the interpreter "
                "checks for a switch only at back-edges and at the start of every function "
                "(Python 3.11 to 3.13)",
                path="/gil/pyrace",
                params=(
                    ("statement", "call"),
                    ("switching", "resume"),
                    ("n", 2),
                    ("interval", 3),
                ),
            ),
            LabFrame(
                key="versions",
                title="Versions: lost updates of n += 1 and n = n + one() on every CPython "
                "interpreter on this server",
                path="/versions",
                params=(),
            ),
            _CONVOY,
        ),
    ),
    Lesson(
        slug="free-threading",
        title="Free-threaded CPython",
        summary="PEP 703 removes the GIL: biased reference counting, simulated step by step "
        "and proved over every schedule, immortal objects, deferred counting (3.14), critical "
        "sections, and C extensions that must protect their own state.",
        examples=(
            Example(
                key="owner-and-shared",
                title="Biased counting: A, the owner, bumps its local count with a plain store; "
                "B adds atomically to the shared count; no update is lost",
                scenario="inc-inc",
                mode="biased",
                n=2,
                schedule="A1B1A1B1A1B1A1B1A1B1A1B1",
                step=12,
                outcome=(("final_rc", 5), ("lost_updates", 0), ("correct", True)),
            ),
            Example(
                key="queued",
                title="B drops the reference A counted locally: B cannot free, it queues the "
                "object to its owner",
                scenario="inc-dec",
                mode="biased",
                n=1,
                schedule="B4A6",
                step=4,
                events=("queued",),
            ),
            Example(
                key="used-after-merge",
                title="A merges at its next call boundary, finds the true count 0 and frees the "
                "object; its own Py_INCREF then reads the freed memory",
                scenario="inc-dec",
                mode="biased",
                n=1,
                schedule="B4A6",
                step=8,
                events=("use-after-free",),
                outcome=(("freed", True), ("correct", False)),
            ),
            Example(
                key="kept-by-merge",
                title="A increments before its merge: the merge finds a count of 1 and the "
                "object lives",
                scenario="inc-dec",
                mode="biased",
                n=2,
                schedule="A3B4A5B3",
                step=9,
                events=("merged",),
                outcome=(("final_rc", 1), ("freed", False), ("correct", True)),
            ),
            Example(
                key="freed-at-once",
                title="After the merge nobody owns the object: B's drop to zero frees it at "
                "once, under A's increment",
                scenario="inc-dec",
                mode="biased",
                n=2,
                schedule="A3B4A4B4A1",
                step=16,
                events=("use-after-free",),
                outcome=(("freed", True), ("correct", False)),
            ),
            Example(
                key="owner-merges-last",
                title="dec-dec: B drops its two references first; A's local count reaches 0, "
                "the shared count is 0 too, and A frees at once",
                scenario="dec-dec",
                mode="biased",
                n=2,
                schedule="B6A8",
                step=14,
                events=("freed",),
                outcome=(("final_rc", 0), ("freed", True), ("correct", True)),
            ),
            Example(
                key="immortal",
                title="An immortal object: each call reads 4294967295 and writes nothing",
                scenario="dec-dec",
                mode="immortal",
                n=2,
                schedule="A1B1A1B1",
                step=4,
                events=("immortal",),
                outcome=(("freed", False), ("correct", True)),
            ),
        ),
        proofs=(
            Proof(key="inc-inc", scenario="inc-inc", mode="biased", n=4),
            Proof(key="dec-dec", scenario="dec-dec", mode="biased", n=4),
            Proof(key="inc-dec", scenario="inc-dec", mode="biased", n=2),
            Proof(key="immortal", scenario="dec-dec", mode="immortal", n=4),
        ),
        frames=(
            LabFrame(
                key="cost",
                title="Native lab: nanoseconds per increment for each way of counting, alone "
                "and with two threads on one object, measured as the page loads",
                path="/lab/cost",
                params=(),
            ),
        ),
    ),
)

_BY_SLUG = MappingProxyType({lesson.slug: lesson for lesson in LESSONS})


def find(slug: str) -> Lesson | None:
    return _BY_SLUG.get(slug)


def neighbours(lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    """The previous and the next lesson on the path (None at either end)."""
    index = LESSONS.index(lesson)
    previous = LESSONS[index - 1] if index > 0 else None
    following = LESSONS[index + 1] if index + 1 < len(LESSONS) else None
    return previous, following
