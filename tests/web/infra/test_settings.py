"""Settings come from the environment (app.web.infra.settings); nonsense stops the start-up."""

from __future__ import annotations

import pytest

from app.web.infra.settings import Settings


def test_defaults_without_environment() -> None:
    assert Settings.from_env({}) == Settings()


def test_every_setting_comes_from_the_environment() -> None:
    settings = Settings.from_env({
        "GILLAB_HOST": "0.0.0.0", "GILLAB_PORT": "9000", "GILLAB_WORKERS": "4",
        "GILLAB_OFFLINE": "0", "GILLAB_MAX_STREAMS": "50", "GILLAB_CACHE_MB": "0",
        "GILLAB_LAB_WAIT": "0",
    })
    assert settings == Settings(
        host="0.0.0.0", port=9000, workers=4, offline=False, max_streams=50, cache_mb=0,
        lab_wait=0,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GILLAB_PORT", "http"),
        ("GILLAB_WORKERS", "0"),
        ("GILLAB_MAX_STREAMS", "-1"),
        ("GILLAB_CACHE_MB", "-1"),
        ("GILLAB_LAB_WAIT", "-1"),
    ],
)
def test_nonsense_is_refused_at_start_up_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize(
    ("raw", "kept"),
    [("http://192.168.1.20:8000", "http://192.168.1.20:8000"),
     (" HTTPS://Gil.School.Example/ ", "https://gil.school.example"), ("", "")],
)
def test_the_public_url_is_kept_as_scheme_and_host(raw: str, kept: str) -> None:
    assert Settings.from_env({"GILLAB_PUBLIC_URL": raw}).public_url == kept


@pytest.mark.parametrize(
    "raw",
    ["192.168.1.20:8000", "ftp://gil.example", "http://", "http://gil.example/lab",
     "http://gil.example?x=1", "http://user@gil.example", "http://gil.example:99999",
     "http://gil.example:port"],
)
def test_a_public_url_that_is_no_address_stops_the_start_up(raw: str) -> None:
    with pytest.raises(ValueError, match="GILLAB_PUBLIC_URL"):
        Settings.from_env({"GILLAB_PUBLIC_URL": raw})


def test_the_public_urls_host_is_answered_when_hosts_are_restricted() -> None:
    restricted = Settings(allowed_hosts=("gil.example",), public_url="http://192.168.1.20:8000")
    assert restricted.hosts_answered() == ("gil.example", "192.168.1.20")
    assert Settings(public_url="http://192.168.1.20:8000").hosts_answered() == ()  # any
