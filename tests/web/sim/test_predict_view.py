"""Predict mode on /sim: a question before each step, judged on the server, the score in the URL."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from app.sim import Config, Mode, Scenario, simulate
from app.sim.predict import question
from app.web.sim.predict_view import answer_keys

START = "/sim?scenario=inc-inc&mode=none&n=1&schedule=A2B3A1&step=0&predict=1&score=0/0"
HTMX = {"HX-Request": "true"}


def _choices(html: str) -> dict[str, str]:
    """token -> the link that answers it."""
    links = re.findall(r'href="([^"]+)" hx-get="[^"]+" data-token="([^"]+)"', html)
    return {token: url.replace("&amp;", "&") for url, token in links}


def test_the_page_asks_about_the_next_step_without_giving_the_answer_away(
    client: TestClient,
) -> None:
    html = client.get(START).text
    assert "Step 1: A reads rc. What will A&#39;s register hold?" in html
    choices = _choices(html)
    assert set(choices) == {"0", "1", "2"}
    assert all("score=0/0" in url for url in choices.values())  # the link carries no verdict
    assert 'id="transport"' in html and "hidden" in html  # no skipping ahead
    assert "Score: <strong>0</strong> right of 0" in html


def test_a_right_and_a_wrong_answer_move_the_score_in_the_url(client: TestClient) -> None:
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=1), "A2B3A1")
    first = question(run, 0)
    assert first is not None and first.answer == "1"
    right = client.get(_choices(client.get(START).text)["1"], follow_redirects=False)
    assert right.status_code == 303
    location = right.headers["location"]
    assert parse_qs(urlsplit(location).query)["score"] == ["1/1"]
    assert "step=1&" in location and "said=1" in location
    page = client.get(location).text
    assert "Right! Step 1 (A read): 1." in page

    wrong = client.get(_choices(page)["0"], headers=HTMX)  # htmx: the next state, URL pushed
    pushed = wrong.headers["HX-Push-Url"]
    assert "score=1/2" in pushed and "step=2&" in pushed
    assert "Not quite: you said 0, but step 2 (A add) gave 2." in wrong.text
    assert 'id="predict" aria-labelledby="predict-title" data-score="1/2" hx-swap-oob="true"' in (
        wrong.text
    )


def test_reloading_an_answered_state_does_not_count_twice(client: TestClient) -> None:
    url = "/sim?scenario=inc-inc&mode=none&n=1&schedule=A2B3A1&step=1&predict=1&score=1/1&said=1"
    for _ in range(2):
        assert 'data-score="1/1"' in client.get(url).text


def test_the_end_of_the_run_shows_the_final_score(client: TestClient) -> None:
    html = client.get(
        "/sim?scenario=inc-inc&mode=none&n=1&schedule=A2B3A1&step=6&predict=1&score=4/6"
    ).text
    assert "you predicted <strong>4</strong> of 6 steps right" in html


def test_bad_predict_parameters_are_400_pages(client: TestClient) -> None:
    for bad in ("score=5/4", "score=lots", "guess=7", "step=6&guess=1"):
        response = client.get(
            f"/sim?scenario=inc-inc&mode=none&n=1&schedule=A2B3A1&step=0&predict=1&{bad}"
        )
        assert response.status_code == 400, bad
        assert "Traceback" not in response.text


def test_ordinary_swaps_clear_the_panel_and_the_toolbar_offers_predict_mode(
    client: TestClient,
) -> None:
    fragment = client.get("/sim?scenario=inc-inc&n=1&step=1", headers=HTMX).text
    assert '<div id="predict" hx-swap-oob="true"></div>' in fragment
    page = client.get("/sim?scenario=inc-inc&n=1&step=1").text
    start = r'href="/sim\?[^"]*step=1&amp;predict=1&amp;score=0/0" id="predict-start"'
    assert re.search(start, page)


def test_each_answer_s_key_is_the_digit_it_shows() -> None:
    """Issue 17.6: key 1 answered "0". A one-digit answer is its own key; others are numbered."""
    assert answer_keys(("1", "2", "0")) == ("1", "2", "0")
    assert answer_keys(("9", "10", "11")) == ("1", "2", "3")
    assert answer_keys(("It passes", "It fails: the call returns -1")) == ("1", "2")


def test_the_page_binds_each_digit_key_to_the_answer_it_labels(client: TestClient) -> None:
    html = client.get(START).text
    keys = dict(re.findall(r'data-token="([^"]+)" aria-keyshortcuts="([^"]+)"', html))
    assert keys == {"0": "0", "1": "1", "2": "2"}
