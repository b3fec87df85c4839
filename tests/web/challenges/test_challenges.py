"""The challenge API and pages: shapes, exact counts from the core, verdicts, errors."""

from __future__ import annotations

import html as html_module
import re

import pytest
from fastapi.testclient import TestClient

from app.sim import Permalink
from app.sim.challenges import CHALLENGES, LESSONS, check, find, odds, witness
from app.web.challenges.view import parse_solved
from app.web.infra import urls

HTMX = {"HX-Request": "true"}


def test_list_has_every_challenge_with_exact_counts(client: TestClient) -> None:
    response = client.get("/api/challenges")
    assert response.status_code == 200
    listed = response.json()["challenges"]
    assert [item["slug"] for item in listed] == [c.slug for c in CHALLENGES]
    for item, challenge in zip(listed, CHALLENGES, strict=True):
        counted = odds(challenge)
        assert (item["winning"], item["total"]) == (counted.winning, counted.total)
        assert item["goal"] == challenge.goal.items()  # only the fields the goal names
        assert item["interval"] == challenge.config.interval
        assert set(item) >= {"slug", "title", "lesson", "scenario", "mode", "n", "interval",
                             "goal", "winning", "total"}  # fmt: skip
    gil = next(item for item in listed if item["mode"] == "gil")
    assert gil["interval"] is not None


def test_goal_keys_are_documented_in_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "/api/challenges" in paths and "/api/challenges/{slug}/check" in paths
    goal = schema["components"]["schemas"]["GoalModel"]["properties"]
    assert set(goal) == {"final_rc", "freed", "use_after_free", "double_free"}


@pytest.mark.parametrize(
    "challenge", [c for c in CHALLENGES if odds(c).possible], ids=lambda c: c.slug
)
def test_check_accepts_a_witness(client: TestClient, challenge: object) -> None:
    slug = challenge.slug  # type: ignore[attr-defined]
    schedule = witness(challenge)  # type: ignore[arg-type]
    response = client.get(f"/api/challenges/{slug}/check", params={"schedule": schedule})
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "slug": slug,
        "solved": True,
        "schedule": schedule,
        "outcome": body["outcome"],
    }
    assert set(body["outcome"]) == {"final_rc", "freed", "use_after_free", "double_free",
                                    "lost_updates", "correct"}  # fmt: skip


def test_check_rejects_a_losing_schedule_and_completes_short_ones(client: TestClient) -> None:
    body = client.get("/api/challenges/keep-count/check", params={"schedule": "AB"}).json()
    assert body["schedule"] == "A1B1A1B1A1B1"  # the rest alternates, as DESIGN.md says
    assert body["solved"] is False
    assert body["outcome"]["final_rc"] == 2
    solved = client.get("/api/challenges/keep-count/check", params={"schedule": "A3"}).json()
    assert solved["solved"] is True and solved["schedule"] == "A3B3"


def test_check_on_an_impossible_challenge_never_solves(client: TestClient) -> None:
    for schedule in ("", "A5B5A5", "A5B10A5"):
        body = client.get("/api/challenges/lock-lose/check", params={"schedule": schedule}).json()
        assert body["solved"] is False and body["outcome"]["final_rc"] == 5


def test_check_errors(client: TestClient) -> None:
    missing = client.get("/api/challenges/no-such/check")
    assert missing.status_code == 404
    assert "lose-one" in missing.json()["detail"]
    blocked = client.get("/api/challenges/lock-lose/check", params={"schedule": "AB"})
    assert blocked.status_code == 422
    [error] = blocked.json()["detail"]
    assert error["loc"] == ["query", "schedule"]
    assert error["msg"].startswith("step 2: thread B is blocked")
    garbage = client.get("/api/challenges/lose-one/check", params={"schedule": "A1X"})
    assert garbage.status_code == 422
    too_long = client.get("/api/challenges/lose-one/check", params={"schedule": "A" * 4001})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["loc"] == ["query", "schedule"]


def test_index_groups_by_lesson_and_restores_checked_solutions(client: TestClient) -> None:
    page = client.get("/challenges", params={"solved": "lose-one:A2B3A1,leak,zzz,keep-count:AB"})
    assert page.status_code == 200
    html = page.text
    assert html.count('class="lesson-group"') == len(LESSONS)
    assert 'data-challenge="lose-one" data-verified-schedule="A2B3A1"' in html
    assert 'data-challenge="leak" data-claimed="1"' in html
    assert "did not check out: zzz, keep-count:AB" in html  # AB loses keep-count
    assert 'href="/lessons/lost-updates"' in html
    assert '/static/js/challenges.js"' in html


def test_play_page_links_every_next_state(client: TestClient) -> None:
    html = client.get("/challenges/lose-one", params={"schedule": "A2"}).text
    assert 'id="step-A" href="/challenges/lose-one?schedule=A3"' in html
    assert 'id="step-B" href="/challenges/lose-one?schedule=A2B1"' in html
    assert 'id="undo" href="/challenges/lose-one?schedule=A1"' in html
    assert 'aria-live="polite"' in html
    assert "Step 2: A adds 1 in its register: 2." in html
    assert 'id="win"' not in html


def test_a_winning_permalink_replays_the_win(client: TestClient) -> None:
    html = client.get("/challenges/lose-one", params={"schedule": "A2B3A1"}).text
    assert "Solved!" in html
    assert 'data-solved-slug="lose-one" data-solved-schedule="A2B3A1"' in html
    assert "/challenges/lose-one?schedule=A2B3A1" in html
    lost = client.get("/challenges/lose-one", params={"schedule": "A3B3"}).text
    assert 'id="lost"' in lost and "Solved!" not in lost


def test_htmx_gets_only_the_play_block(client: TestClient) -> None:
    response = client.get("/challenges/lose-one", params={"schedule": "A1"}, headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="play')
    assert "<html" not in response.text
    restore = client.get(
        "/challenges/lose-one",
        params={"schedule": "A1"},
        headers={**HTMX, "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.text


def test_hint_shows_the_next_step_of_a_winning_schedule(client: TestClient) -> None:
    html = client.get("/challenges/keep-count", params={"schedule": "A1", "hint": "1"}).text
    assert "Step A next" in html
    assert re.search(r'class="button step step-A hinted" id="step-A"', html)
    dead = client.get("/challenges/keep-count", params={"schedule": "AB", "hint": "1"}).text
    assert "Go back to step 1" in dead
    assert 'href="/challenges/keep-count?schedule=A1" hx-get' in dead


def test_give_up_shows_a_witness_or_the_proof(client: TestClient) -> None:
    html = client.get("/challenges/zombie", params={"giveup": "1"}).text
    challenge = find("zombie")
    assert f"/challenges/zombie?schedule={witness(challenge)}&amp;giveup=1" in html
    replay = client.get("/challenges/zombie", params={"schedule": witness(challenge),
                                                      "giveup": "1"}).text  # fmt: skip
    assert "A winning schedule" in replay
    assert "data-solved-slug" not in replay  # giving up does not count as solving
    proof = client.get("/challenges/gil-lose", params={"giveup": "1"}).text
    assert "Impossible, and here is the proof" in proof
    assert f"every one of the {odds(find('gil-lose')).total} complete schedules" in proof


def test_impossible_challenge_does_not_spoil_itself_before_giving_up(client: TestClient) -> None:
    html = client.get("/challenges/atomic-lose", params={"schedule": "A1"}).text
    assert "No way to finish from here" not in html
    dead = client.get("/challenges/keep-count", params={"schedule": "AB"}).text
    assert "No way to finish from here reaches the goal" in dead


def test_gil_challenge_plays_whole_calls(client: TestClient) -> None:
    html = client.get("/challenges/gil-lose", params={"schedule": "A1"}).text
    assert 'id="step-B" aria-disabled="true"' in html  # mid-call: A keeps the GIL
    assert "waiting for the GIL" in html
    html = client.get("/challenges/gil-lose", params={"schedule": "A3"}).text
    assert 'id="step-B" href="/challenges/gil-lose?schedule=A3B1"' in html


def test_page_errors_are_readable(client: TestClient) -> None:
    missing = client.get("/challenges/no-such")
    assert missing.status_code == 404 and "<html" in missing.text
    bad = client.get("/challenges/lock-lose", params={"schedule": "AAB"})
    assert bad.status_code == 400
    assert "step 3: thread B is blocked" in bad.text
    assert "/challenges/lock-lose?schedule=A2" in bad.text  # the nearest valid state
    assert client.get("/challenges/lose-one", params={"hint": "maybe"}).status_code == 400


def test_every_challenge_page_renders_at_start_and_solved(client: TestClient) -> None:
    for challenge in CHALLENGES:
        assert client.get(f"/challenges/{challenge.slug}").status_code == 200
        found = witness(challenge)
        if found:
            assert check(challenge, found).solved
            html = client.get(f"/challenges/{challenge.slug}", params={"schedule": found}).text
            assert "Solved!" in html


def _impossible_and_possible() -> tuple[str, str]:
    impossible = next(c.slug for c in CHALLENGES if not odds(c).possible)
    possible = next(c.slug for c in CHALLENGES if odds(c).possible)
    return impossible, possible


def test_claiming_an_impossible_challenge_solves_it_and_shows_the_proof(
    client: TestClient,
) -> None:
    """Issue 17.5: six impossible challenges could never count, so progress stopped at 11/17."""
    impossible, possible = _impossible_and_possible()
    before = client.get(f"/challenges/{impossible}").text
    assert 'id="claim"' in before and "giveup-panel" not in before
    page = client.get(f"/challenges/{impossible}", params={"claim": "1"}).text
    assert f'data-solved-slug="{impossible}" data-solved-schedule="impossible"' in page
    assert "Solved: it cannot be done" in page and 'id="giveup-panel"' in page  # the proof
    # Offered on a possible challenge too (it must not give the answer away), but wrong there.
    offered = client.get(f"/challenges/{possible}").text
    assert 'id="claim"' in offered
    wrong = client.get(f"/challenges/{possible}", params={"claim": "1"}).text
    assert "Not so" in wrong and "data-solved-slug" not in wrong and "giveup-panel" not in wrong
    # Claimed after giving up (the proof already seen): shown, but it does not count.
    late = client.get(f"/challenges/{impossible}", params={"giveup": "1", "claim": "1"}).text
    assert "data-solved-slug" not in late


def test_a_solutions_link_carries_claims_checked_by_the_count(client: TestClient) -> None:
    impossible, possible = _impossible_and_possible()
    solved, rejected = parse_solved(f"{impossible}:impossible,{possible}:impossible")
    assert solved == {impossible: "impossible"} and len(rejected) == 1
    every = ",".join(
        f"{c.slug}:{witness(c)}" if odds(c).possible else f"{c.slug}:impossible"
        for c in CHALLENGES
    )
    page = client.get("/challenges", params={"solved": every}).text
    assert f"Restored {len(CHALLENGES)} solutions" in page


def _next_line(html: str, thread: str) -> str:
    """The code line a lane marks as the one its thread runs next."""
    lane = html.split(f'id="lane-{thread}"', 1)[1].split("</article>", 1)[0]
    found = re.search(r'<li class="[^"]*\bnext"><code>(.*?)</code>', lane)
    assert found, lane
    return found.group(1)


def test_the_board_marks_the_line_the_simulator_runs_next(client: TestClient) -> None:
    # B has queued the object to its owner, A: A's next step is the merge (its eval-breaker
    # check), not the load its pc points at. The challenge board and /sim mark the same line.
    challenge = find("freed-at-the-merge")
    html = client.get("/challenges/freed-at-the-merge?schedule=B4").text
    assert "local: read, then cleared" in _next_line(html, "A")
    permalink, _ = Permalink.resolve(challenge.config, schedule="B4", step=4)
    sim = client.get(urls.sim(permalink)).text
    assert _next_line(sim, "A") == _next_line(html, "A")


def _links(html: str) -> list[str]:
    """Every place the page can take its frame: hrefs and htmx requests (not its assets, not
    the skip link)."""
    found = re.findall(r'(?:href|hx-get)="([^"]+)"', html)
    return [url for url in found if not url.startswith(("/static/", "#"))]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"schedule": "A2", "hint": "1"},  # a hint that points back
        {"schedule": "A2B3A1"},  # solved: the share box, no "more challenges"
        {"giveup": "1"},  # the proof table's replays and the witness
        {"schedule": "AB", "hint": "1"},  # a dead end: "go back there"
    ],
    ids=["start", "hint", "solved", "giveup", "dead-end"],
)
def test_a_challenge_in_its_embed_layout_keeps_play_and_leaves_no_way_out(
    client: TestClient, params: dict[str, str]
) -> None:
    """A live class frames a challenge on every phone: it showed the whole site header there."""
    slug = "keep-count" if "AB" in params.values() else "lose-one"
    response = client.get(f"/challenges/{slug}", params={**params, "embed": "1"})
    assert response.status_code == 200
    html = response.text
    assert 'class="site-header"' not in html and 'class="site-footer"' not in html
    assert 'class="crumbs"' not in html and "More challenges" not in html
    assert "Step through it in the simulator" not in html and 'id="share-link"' not in html
    # What a student needs to solve it is all there.
    for needed in ('id="goal"', 'id="board"', 'id="live"', 'id="step-A"', 'id="step-B"',
                   'id="undo"', 'id="history-title"'):  # fmt: skip
        assert needed in html
    links = _links(html)
    assert links, html
    for url in links:  # every link is another state of this challenge, in the same layout
        assert url.startswith(f"/challenges/{slug}") and url.endswith("embed=1"), url
    # Any site may frame it (the header follows the layout the route rendered).
    assert "frame-ancestors * file:" in response.headers["content-security-policy"]
    assert "x-frame-options" not in response.headers
    if "schedule" in params and "hint" not in params:  # solved: the link shared is the full page
        assert f'value="/challenges/{slug}?schedule=A2B3A1"' in html


def test_a_challenge_without_embed_keeps_the_site_and_refuses_other_framers(
    client: TestClient,
) -> None:
    response = client.get("/challenges/lose-one", params={"schedule": "A2B3A1"})
    html = response.text
    assert 'class="site-header"' in html and 'class="crumbs"' in html
    assert 'id="share-link"' in html and "Step through it in the simulator" in html
    # No link of the page leads into the embed layout, but the one that shows it for slides.
    box = re.search(r'<details class="embed-code".*?</details>', html, re.S)
    assert box, "no embed code"
    assert not any("embed=1" in url for url in _links(html.replace(box.group(0), "")))
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


@pytest.mark.parametrize("slug", ["lose-one", "lock-lose"], ids=["winnable", "impossible"])
def test_a_challenge_offers_embed_code_sized_for_its_tallest_view(
    client: TestClient, slug: str
) -> None:
    """Teachers could copy embed code from /sim only; a challenge had its embed layout and no
    way to get it into slides but typing embed=1."""
    html = client.get(f"/challenges/{slug}", params={"schedule": "A1"}).text
    box = re.search(r'<details class="embed-code" id="embed-code" data-measure="([^"]+)">(.*?)'
                    r"</details>", html, re.S)
    assert box, "no embed code"
    code = html_module.unescape(re.sub(r"<[^>]+>", "", box.group(2)))
    frame = re.search(r'<iframe src="([^"]+)" width="960" height="(\d+)" title="([^"]+)">', code)
    assert frame, code
    assert frame.group(1) == f"/challenges/{slug}?schedule=A1&embed=1"
    assert int(frame.group(2)) >= 1200 and frame.group(3).startswith("GIL Lab challenge: ")
    # Measured (static/js/embed.js) at a complete schedule given up: the win, or the proof.
    measure = html_module.unescape(box.group(1))
    winning = witness(find(slug))
    if winning:
        assert measure == f"/challenges/{slug}?schedule={winning}&giveup=1"
    tallest = client.get(measure)
    assert tallest.status_code == 200 and 'id="giveup-panel"' in tallest.text
    assert 'id="win"' in tallest.text or 'id="lost"' in tallest.text  # the run is over
    # Not inside a frame: a frame is not where one copies code for slides.
    assert 'id="embed-code"' not in client.get(f"/challenges/{slug}?embed=1").text


def test_a_bad_challenge_link_in_a_frame_stays_in_the_embed_layout(client: TestClient) -> None:
    bad = client.get("/challenges/lock-lose", params={"schedule": "AAB", "embed": "1"})
    assert bad.status_code == 400 and 'class="site-header"' not in bad.text
    assert "/challenges/lock-lose?schedule=A2&amp;embed=1" in bad.text  # the nearest valid state
    missing = client.get("/challenges/no-such", params={"embed": "1"})
    assert missing.status_code == 404 and 'class="site-header"' not in missing.text
