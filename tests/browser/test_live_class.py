"""A live class in Chromium: a teacher and three students, each in a browser context of their
own (no shared storage), on a real server: follow the teacher's steps, answer, see the reveal,
wander off in the run and come back to the class."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.main import create_app
from app.web.infra.settings import Settings
from tests.live_server import serve

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def class_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = Path(tmp_path_factory.mktemp("live")) / "live.sqlite3"
    with serve(create_app(Settings(live_db=str(database)))) as url:
        yield url


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    opened: list[BrowserContext] = []

    def open_context(**options: object) -> BrowserContext:
        context = browser.new_context(**options)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


def frame_url(page: Page) -> str:
    """Where the stage frame is (Playwright follows its loads and its history pushes)."""
    frames = page.main_frame.child_frames
    return frames[0].url if frames else ""


def wait_for_frame(page: Page, fragment: str, timeout: float = 10) -> None:
    """Until the page's stage frame shows a URL containing `fragment`."""
    deadline = time.monotonic() + timeout
    while fragment not in (url := frame_url(page)):
        assert time.monotonic() < deadline, f"the frame shows {url}, not {fragment}"
        page.wait_for_timeout(50)


def test_a_teacher_and_three_students(
    class_server: str, contexts: Callable[..., BrowserContext]
) -> None:
    errors: list[str] = []
    teacher = contexts(viewport={"width": 1400, "height": 1000}).new_page()
    teacher.on("pageerror", lambda error: errors.append(f"teacher: {error}"))
    teacher.goto(f"{class_server}/class/new")
    teacher.get_by_role("button", name="Open a class").click()
    expect(teacher.locator("#join-code")).to_have_text(teacher.locator("#live").get_attribute("data-code") or "?")  # noqa: E501
    code = teacher.locator("#live").get_attribute("data-code")
    assert code and "token" not in teacher.url  # the key left the projected address bar
    teacher.get_by_role("button", name="Two increments race (no lock)").click()
    expect(teacher.locator("#stage-step")).to_have_text("step 0 of 12")

    students: list[Page] = []
    for name in ("Ada", "Bo", "Cy <b>"):
        student = contexts(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        student.on("pageerror", lambda error, n=name: errors.append(f"{n}: {error}"))
        student.goto(f"{class_server}/class/{code}")
        student.get_by_label("Your name").fill(name)
        student.get_by_role("button", name="Join").click()
        expect(student.locator("#my-name")).to_have_text(name)  # shown as text, not markup
        students.append(student)
    ada, bo, cy = students
    expect(teacher.locator("#members-count")).to_have_text("3")

    # Follow: one step by the teacher reaches every phone.
    teacher.get_by_role("button", name="Step ▶").click()
    for student in students:
        expect(student.locator("#stage-step")).to_have_text("· step 1 of 12")
        wait_for_frame(student, "step=1")

    # Predict together: B reads rc (1) next.
    teacher.get_by_role("button", name="Ask: what will the next step do?").click()
    for student in students:
        expect(student.locator("#question-prompt")).to_contain_text("B reads rc")
    ada.get_by_role("button", name="2", exact=True).click()
    ada.get_by_role("button", name="1", exact=True).click()  # a change of mind
    bo.get_by_role("button", name="2", exact=True).click()
    expect(ada.get_by_role("button", name="1", exact=True)).to_have_attribute("aria-pressed", "true")  # noqa: E501
    expect(teacher.locator("#question-answered")).to_have_text("2")
    expect(teacher.locator("#question-members")).to_have_text("3")
    teacher.get_by_role("button", name="Reveal the truth").click()
    expect(ada.locator("#question-note")).to_contain_text("You were right!")
    expect(bo.locator("#question-note")).to_contain_text("Not this time.")
    expect(cy.locator("#question-note")).to_contain_text("You did not answer.")
    expect(ada.locator("#my-score")).to_have_text("1/1")
    expect(bo.locator("#my-score")).to_have_text("0/1")
    expect(cy.locator("#my-score")).to_have_text("0/0")
    expect(teacher.locator("#histogram li.correct")).to_contain_text("1 ✓ right")
    expect(bo.locator("#histogram li.correct .bar-count")).to_have_text("1")

    # Wander: Cy steps ahead alone, the class moves on without her, and she comes back.
    cy.frame_locator("#stage-frame").locator("#go-next").click()
    wait_for_frame(cy, "step=2")
    expect(cy.locator("#wander")).to_be_visible()  # one step of her own is enough
    cy.frame_locator("#stage-frame").locator("#go-next").click()
    wait_for_frame(cy, "step=3")
    expect(cy.locator("#wander")).to_be_visible()
    teacher.get_by_role("button", name="Step ▶").click()
    for student in (ada, bo):
        wait_for_frame(student, "step=2")
    expect(cy.locator("#class-step")).to_contain_text("step 2")
    assert "step=3" in frame_url(cy)  # her own view is left alone
    cy.get_by_role("button", name="Back to the class").click()
    wait_for_frame(cy, "step=2")
    expect(cy.locator("#wander")).to_be_hidden()
    teacher.get_by_role("button", name="Step ▶").click()
    wait_for_frame(cy, "step=3")  # following again

    # A question open when a phone reloads, or when a latecomer joins, is on their screen.
    teacher.get_by_role("button", name="Ask: what will the next step do?").click()
    expect(ada.locator("#question-prompt")).to_contain_text("Step 4")
    ada.locator(".choice").first.click()
    expect(ada.locator(".choice").first).to_have_attribute("aria-pressed", "true")
    ada.reload()
    expect(ada.locator("#question-prompt")).to_contain_text("Step 4")
    expect(ada.locator(".choice").first).to_have_attribute("aria-pressed", "true")
    late = contexts(viewport=PHONE, is_mobile=True).new_page()
    late.goto(f"{class_server}/class/{code}")
    late.get_by_label("Your name").fill("Dee")
    late.get_by_role("button", name="Join").click()
    expect(late.locator("#question-prompt")).to_contain_text("Step 4")
    wait_for_frame(late, "step=3")

    # The teacher takes a name out: that phone is asked to join again when it next answers.
    teacher.get_by_role("button", name="Remove Dee").click()
    expect(teacher.get_by_role("button", name="Remove Dee")).to_have_count(0)
    late.locator(".choice").first.click()
    expect(late.locator("#join-error")).to_contain_text("no longer in the class")
    expect(late.locator("#join-panel")).to_be_visible()
    assert errors == []


def test_an_assigned_challenge_shows_on_phones_in_its_embed_layout(
    class_server: str, contexts: Callable[..., BrowserContext]
) -> None:
    """The phone's frame showed the whole site (header, breadcrumbs, links away) around the
    challenge; now the embed layout: everything to play it, nothing that leaves the frame."""
    errors: list[str] = []
    teacher = contexts(viewport={"width": 1400, "height": 1000}).new_page()
    teacher.on("pageerror", lambda error: errors.append(f"teacher: {error}"))
    teacher.goto(f"{class_server}/class/new")
    teacher.get_by_role("button", name="Open a class").click()
    code = teacher.locator("#live").get_attribute("data-code")
    student = contexts(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    student.on("pageerror", lambda error: errors.append(f"student: {error}"))
    student.goto(f"{class_server}/class/{code}")
    student.get_by_label("Your name").fill("Ada")
    student.get_by_role("button", name="Join").click()
    expect(student.locator("#my-name")).to_have_text("Ada")

    teacher.locator("#assign-slug").select_option("lose-one")
    teacher.get_by_role("button", name="Assign").click()
    for page in (teacher, student):
        wait_for_frame(page, "/challenges/lose-one?embed=1")
        frame = page.frame_locator("#stage-frame")
        expect(frame.locator("h1")).to_have_count(1)
        expect(frame.locator(".site-header, .site-footer, .crumbs")).to_have_count(0)
        expect(frame.locator("#goal")).to_be_visible()
    frame = student.frame_locator("#stage-frame")
    for number, thread in enumerate("AABBBA", 1):  # lose-one's win: A2B3A1
        frame.locator(f"#step-{thread}").click()
        frame.locator(f"#play[data-step='{number}']").wait_for()
    expect(frame.locator("#win h2")).to_have_text("Solved!")
    # Playing the assigned challenge is not wandering off: no "back to the class" that would
    # throw the run away.
    expect(student.locator("#wander")).to_be_hidden()
    # The same state again (as a phone's stream sends it when it reconnects): the run stays.
    teacher.get_by_role("button", name="Assign").click()
    expect(teacher.locator("#live-status")).to_be_empty()
    student.wait_for_timeout(500)
    expect(frame.locator("#win h2")).to_have_text("Solved!")
    assert "embed=1" in frame_url(student)  # every step stayed in the embed layout
    # Nothing in the frame leads out of it: every link is a state of this challenge.
    links = frame.locator("a[href]:not([href^='#'])").evaluate_all(
        "(as) => as.map((a) => a.getAttribute('href'))")
    assert links and all(
        link.startswith("/challenges/lose-one") and "embed=1" in link for link in links
    ), links
    student.get_by_role("button", name="Hand in this run").click()
    expect(student.locator("#hand-in-result")).to_contain_text("Solved! Handed in A2B3A1")
    expect(teacher.locator("#challenge-solved")).to_have_text("1", timeout=5_000)
    assert errors == []


def test_a_link_out_of_the_stage_opens_a_tab_and_the_phone_stays_in_class(
    class_server: str, contexts: Callable[..., BrowserContext]
) -> None:
    """The simulator's embed links a freed state to the native lab with target="_top", which
    took the student's whole page, stream and question with it."""
    teacher = contexts(viewport={"width": 1400, "height": 1000}).new_page()
    teacher.goto(f"{class_server}/class/new")
    teacher.get_by_role("button", name="Open a class").click()
    code = teacher.locator("#live").get_attribute("data-code")
    phone = contexts(viewport=PHONE, is_mobile=True)
    student = phone.new_page()
    student.goto(f"{class_server}/class/{code}")
    student.get_by_label("Your name").fill("Ada")
    student.get_by_role("button", name="Join").click()
    expect(student.locator("#my-name")).to_have_text("Ada")
    teacher.get_by_label("Or paste a simulator or challenge link").fill(
        "/sim?scenario=inc-dec&mode=none&n=1&schedule=B6A1&step=6")
    teacher.get_by_role("button", name="Show", exact=True).click()
    wait_for_frame(student, "step=6")
    link = student.frame_locator("#stage-frame").locator("#native-real-free")
    with phone.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.wait_for_url("**/lab?**", wait_until="commit")
    tab.close()  # it would run the race in C: not this test's business
    assert student.url == f"{class_server}/class/{code}"  # still in the class
    expect(student.locator("#class-view")).to_be_visible()


def test_the_phone_frame_fits_its_stage_so_the_page_scrolls_not_the_frame(
    class_server: str, contexts: Callable[..., BrowserContext]
) -> None:
    """The stage frame was 75% of the screen tall: a phone scrolled inside it, under a page
    that scrolled too. It now takes the height the embed page posts (static/js/embed.js)."""
    teacher = contexts(viewport={"width": 1400, "height": 1000}).new_page()
    teacher.goto(f"{class_server}/class/new")
    teacher.get_by_role("button", name="Open a class").click()
    code = teacher.locator("#live").get_attribute("data-code")
    student = contexts(viewport={"width": 360, "height": 740}, is_mobile=True,
                       has_touch=True).new_page()
    student.goto(f"{class_server}/class/{code}")
    student.get_by_label("Your name").fill("Ada")
    student.get_by_role("button", name="Join").click()
    expect(student.locator("#my-name")).to_have_text("Ada")

    def fits(where: str) -> None:
        def measure() -> list[int]:
            return list(student.frame_locator("#stage-frame").locator("html").evaluate(
                "(html) => [html.scrollHeight, html.clientHeight, html.scrollWidth,"
                " html.clientWidth]"))
        deadline = time.monotonic() + 10
        while (size := measure())[0] > size[1]:  # until the posted height arrives
            assert time.monotonic() < deadline, (where, size)
            student.wait_for_timeout(50)
        assert size[1] > 740 * 0.75, (where, size)  # taller than the old frame
        assert size[2] <= size[3], (where, size)  # nor sideways at 360 px

    teacher.get_by_label("Or paste a simulator or challenge link").fill(
        "/sim?scenario=inc-dec&mode=global-lock&n=1&schedule=B8A3&step=10")
    teacher.get_by_role("button", name="Show", exact=True).click()
    wait_for_frame(student, "step=10")
    fits("a simulator state")
    teacher.locator("#assign-slug").select_option("lose-one")
    teacher.get_by_role("button", name="Assign").click()
    wait_for_frame(student, "/challenges/lose-one?embed=1")
    frame = student.frame_locator("#stage-frame")
    frame.locator("#play[data-step='0']").wait_for()
    fits("a challenge")
    frame.locator("#giveup").click()  # the proof opens: the frame grows with it
    frame.locator("#giveup-panel").wait_for()
    fits("a challenge given up")
