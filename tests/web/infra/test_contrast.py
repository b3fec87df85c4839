"""Text set on the threads' and outcomes' colours stays readable (WCAG AA, 4.5:1) in both the
light and the dark scheme of static/css/site.css."""

from __future__ import annotations

import re

import pytest

from app.web.infra.assets import STATIC_DIR

SITE_CSS = (STATIC_DIR / "css" / "site.css").read_text()
# Backgrounds that carry text in var(--on-strong): lane badges, timeline cells, thread tags,
# event labels (see sim.css, challenges.css, gil.css).
STRONG = ("thread-a", "thread-b", "accent", "muted", "lost", "uaf", "double-free", "leak", "ok")


def _colours(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block))


LIGHT = _colours(SITE_CSS.split("@media (prefers-color-scheme: dark)")[0])
DARK = {**LIGHT, **_colours(SITE_CSS.split("@media (prefers-color-scheme: dark)")[1])}


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_formula_matches_known_ratios() -> None:
    assert contrast("#ffffff", "#000000") == pytest.approx(21)
    assert contrast("#ffffff", "#767676") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("background", STRONG)
def test_text_on_strong_colours_is_readable(scheme: str, background: str) -> None:
    colours = LIGHT if scheme == "light" else DARK
    ratio = contrast(colours["on-strong"], colours[background])
    assert ratio >= 4.5, f"{scheme}: on-strong on --{background} is {ratio:.2f}:1"


def test_no_stylesheet_hard_codes_white_text() -> None:
    white_text = re.compile(r"(?<![-\w])color:\s*(#fff\b|#ffffff\b|white\b)")
    for sheet in (STATIC_DIR / "css").glob("*.css"):
        assert not white_text.search(sheet.read_text()), sheet
