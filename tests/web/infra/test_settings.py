"""Settings come from the environment (app.web.infra.settings); nonsense stops the start-up."""

from __future__ import annotations

import pytest

from app.web.infra.settings import Settings


def test_defaults_without_environment() -> None:
    assert Settings.from_env({}) == Settings()


def test_every_setting_comes_from_the_environment() -> None:
    settings = Settings.from_env({
        "GILLAB_HOST": "0.0.0.0", "GILLAB_PORT": "9000", "GILLAB_WORKERS": "4",
        "GILLAB_OFFLINE": "1", "GILLAB_MAX_STREAMS": "50", "GILLAB_CACHE_MB": "0",
    })
    assert settings == Settings(
        host="0.0.0.0", port=9000, workers=4, offline=True, max_streams=50, cache_mb=0
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GILLAB_PORT", "http"),
        ("GILLAB_WORKERS", "0"),
        ("GILLAB_MAX_STREAMS", "-1"),
        ("GILLAB_CACHE_MB", "-1"),
    ],
)
def test_nonsense_is_refused_at_start_up_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})
