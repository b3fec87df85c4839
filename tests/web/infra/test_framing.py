"""Another site's frame (a teacher's slides) asking for a page (app.web.infra.framing): the page
in its embed layout when it has one and embed=1 asks for it; otherwise /framed, which gives the
embed code only of a page that has an embed layout."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.web.infra.framing import has_embed_layout
from app.web.infra.sitemap import get_paths

SLIDE = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"}


@pytest.mark.parametrize(
    ("path", "layout"),
    [("/sim", True), ("/challenges/lose-one", True), ("/gil/convoy", True), ("/framed", True),
     ("/challenges", False), ("/lab", False), ("/explore", False), ("/lessons/x", False),
     ("/no-such-page", False)],
)
def test_which_pages_have_an_embed_layout(app: FastAPI, path: str, layout: bool) -> None:
    assert has_embed_layout(app, path) is layout


def test_a_slide_gets_a_page_with_an_embed_layout_when_it_asks(client: TestClient) -> None:
    shown = client.get("/challenges/lose-one?schedule=A2&embed=1", headers=SLIDE,
                       follow_redirects=False)  # fmt: skip
    assert shown.status_code == 200 and 'id="play"' in shown.text


def test_a_slide_without_embed_gets_the_embed_code(client: TestClient) -> None:
    sent = client.get("/challenges/lose-one?schedule=A2", headers=SLIDE, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/framed?")
    framed = client.get(sent.headers["location"]).text
    assert "/challenges/lose-one?schedule=A2&amp;embed=1" in framed
    assert 'id="framed-snippet"' in framed


@pytest.mark.parametrize("path", ["/challenges?embed=1", "/lab?embed=1", "/challenges"])
def test_a_page_without_an_embed_layout_gets_no_embed_code_that_would_be_refused(
    client: TestClient, path: str
) -> None:
    """It was given one: the slide's frame then showed the browser's refusal."""
    sent = client.get(path, headers=SLIDE, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/framed?")
    framed = client.get(sent.headers["location"])
    assert framed.status_code == 200
    assert "cannot be shown in a frame" in framed.text and "framed-snippet" not in framed.text
    assert "Open the page in a new tab" in framed.text


def test_every_page_route_can_be_asked(app: FastAPI) -> None:
    """The middleware asks for any page a slide frames: no route may make the question fail."""
    embeddable = {
        path for path in get_paths(app)
        if has_embed_layout(app, path.replace("{slug}", "x").replace("{code}", "ABCDEF"))
    }  # fmt: skip
    assert {"/sim", "/challenges/{slug}", "/gil", "/versions"} <= embeddable
    assert not embeddable & {"/", "/lab", "/explore", "/challenges", "/class/{code}"}
