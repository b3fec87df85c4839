"""Every page a student or a teacher can open, for the checks that must hold on each of them
(axe-core at two widths in test_accessibility, Lighthouse's best practices in
test_best_practices): the app's own route table, one page per lesson and per challenge, the
states of /sim that add to its board, and the error page."""

from __future__ import annotations

from app.main import create_app
from app.sim.challenges import CHALLENGES
from app.web.infra.settings import Settings
from app.web.infra.sitemap import page_paths
from app.web.lessons.content import LESSONS

ERROR_PAGE = "/no-such-page"

PAGES = [
    *(path for path in page_paths(create_app(Settings())) if path != "/healthz"),
    *(f"/lessons/{lesson.slug}" for lesson in LESSONS),
    *(f"/challenges/{challenge.slug}" for challenge in CHALLENGES),
    "/sim?scenario=inc-dec&mode=gil&n=3&step=9",  # the GIL's band and events on the board
    "/sim?scenario=inc-inc&mode=none&n=1&schedule=A2B3A1&step=6",  # finished lanes, a lost update
    "/sim?scenario=inc-inc&mode=none&n=2&step=0&predict=1&score=0/0",  # predict mode
    # a hardware replay's note (issue 17.10)
    "/sim?scenario=inc-inc&mode=none&n=1&schedule=A2B3A1&step=0&from=lab&run=2&runs=3"
    "&iterations=1&final_rc=2&lost_updates=1&window_rc=2",
    ERROR_PAGE,
    # Challenges in their embed layout, as a live class's phones show them: solved, and the proof.
    "/challenges/lose-one?schedule=A2B3A1&embed=1",
    "/challenges/gil-lose?giveup=1&embed=1",
]
