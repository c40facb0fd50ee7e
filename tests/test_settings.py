import pytest

from services.settings import Settings
from services.settings import SettingsError
from services.settings import normalise_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_is_normalised(given, expected):
    assert normalise_database_url(given) == expected


def test_defaults_are_laptop_safe(tmp_path):
    settings = Settings.from_env({"INSTANCE_DIR": str(tmp_path)})

    assert settings.database_url == f"sqlite:///{tmp_path / 'hh.sqlite3'}"
    assert settings.hh_api_url == "https://api.hh.ru"
    assert (settings.hh_workers, settings.hh_rate) == (4, 5.0)
    assert (settings.hh_timeout, settings.hh_retries) == (10.0, 5)
    assert settings.refresh_stagers == 0  # one per core
    assert settings.public_dashboard is False
    assert settings.registration_open is True
    assert (settings.salary_min_rub, settings.salary_max_rub) == (5000, 3_000_000)


def test_secret_key_is_generated_once_and_shared(tmp_path):
    settings = Settings.from_env({"INSTANCE_DIR": str(tmp_path)})

    first = settings.with_secret_key().secret_key
    second = Settings.from_env({"INSTANCE_DIR": str(tmp_path)}).with_secret_key()

    assert len(first) == 64
    assert second.secret_key == first


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PUBLIC_DASHBOARD", "maybe"),
        ("HH_RATE", "fast"),
        ("HH_WORKERS", "-1"),
        ("REFRESH_STAGERS", "many"),
        ("REFRESH_STAGERS", "17"),
        ("REFRESH_STAGERS", "1.5"),
    ],  # fmt: skip
)
def test_bad_setting_is_refused_with_its_name(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
