"""Predict mode in a real browser: one right answer, one wrong, the score in the address bar."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_answer_one_right_and_one_wrong(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    page.goto(f"{live_server}/sim?scenario=inc-inc&mode=none&n=1&schedule=A2B3A1&step=0")
    page.locator("#predict-start").click()
    expect(page.locator("#predict-question")).to_contain_text("What will A's register hold?")

    page.get_by_role("link", name="1", exact=True).click()  # A reads rc = 1: right
    expect(page.locator("#predict-feedback")).to_contain_text("Right!")
    expect(page).to_have_url(re.compile(r"step=1&predict=1&score=1/1&said=1$"))

    # Key 1 answers the choice labelled 1 (issue 17.6): A's register after add is 2, so wrong.
    expect(page.locator(".predict-choice[aria-keyshortcuts='1']")).to_have_text("1")
    page.keyboard.press("1")
    expect(page.locator("#predict-feedback")).to_contain_text("Not quite: you said 1")
    expect(page.locator("#predict-score")).to_contain_text("1 right of 2")
    expect(page).to_have_url(re.compile(r"step=2&predict=1&score=1/2&said=1$"))

    page.reload()
    expect(page.locator("#predict-score")).to_contain_text("1 right of 2")
    assert page_errors == []
