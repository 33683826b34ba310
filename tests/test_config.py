"""Settings: environment over file over default, invalid values
named with their key, and `feedserver serve` refusing to start on a bad config or database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from feedserver.config import SETTINGS, ConfigError, load_settings
from tests.conftest import REPO, article, write_records


def toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_environment_over_file_over_default(tmp_path: Path) -> None:
    config = toml(
        tmp_path / "feedserver.toml",
        '[site]\ntitle = "Dari Berkas"\nbase_url = "https://berkas.example"\npublication_name = "Berkas"\n'
        "[feeds]\nitems = 20\n",
    )
    defaults = {s.key: s.default for s in SETTINGS}

    from_file = load_settings(config, environ={})
    assert from_file["site.title"] == "Dari Berkas"
    assert from_file.base_url == "https://berkas.example"
    assert from_file["feeds.items"] == 20
    assert from_file["site.language"] == defaults["site.language"]
    assert from_file["feeds.ttl_minutes"] == defaults["feeds.ttl_minutes"]

    env = {
        "FEEDSERVER_SITE_TITLE": "Dari Lingkungan",
        "FEEDSERVER_FEEDS_ITEMS": "7",
        "FEEDSERVER_FEEDS_TTL_MINUTES": "30",
        "FEEDSERVER_FEEDS_FULL_CONTENT": "false",
    }
    from_env = load_settings(config, environ=env)
    assert from_env["site.title"] == "Dari Lingkungan"
    assert from_env["feeds.items"] == 7
    assert from_env["feeds.ttl_minutes"] == 30
    assert from_env["feeds.full_content"] is False
    assert from_env.base_url == "https://berkas.example"  # not in the environment: the file's


def test_every_key_has_an_environment_variable_named_after_it(tmp_path: Path) -> None:
    for setting in SETTINGS:
        assert setting.env_name == "FEEDSERVER_" + setting.key.upper().replace(".", "_")
    settings = load_settings(
        None,
        environ={
            "FEEDSERVER_CONFIG": str(toml(tmp_path / "other.toml", '[site]\ntimezone = "Asia/Makassar"\n')),
            "FEEDSERVER_DATABASE_PATH": "/srv/cms/site.sqlite",
            "FEEDSERVER_SITE_BASE_URL": "https://koran.example/",
            "FEEDSERVER_SITE_TITLE": "Koran",
            "FEEDSERVER_SITE_PUBLICATION_NAME": "Koran",
        },
    )
    assert settings["site.timezone"] == "Asia/Makassar"  # FEEDSERVER_CONFIG names the file
    assert settings.database_path == Path("/srv/cms/site.sqlite")
    assert settings.base_url == "https://koran.example"


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("FEEDSERVER_FEEDS_ITEMS", "abc", "feeds.items"),
        ("FEEDSERVER_FEEDS_ITEMS", "0", "feeds.items"),
        ("FEEDSERVER_SITE_BASE_URL", "example.id", "site.base_url"),
        ("FEEDSERVER_SITE_BASE_URL", "ftp://example.id", "site.base_url"),
        ("FEEDSERVER_SITE_BASE_URL", "https://example.id/?a=1", "site.base_url"),
        ("FEEDSERVER_SITE_TIMEZONE", "Asia/Bandung", "site.timezone"),
        ("FEEDSERVER_SITE_TIMEZONE", "WIB", "site.timezone"),
        ("FEEDSERVER_SITE_LANGUAGE", "zh_CN", "site.language"),
        ("FEEDSERVER_SITE_ID_DATE", "2025-6-1", "site.id_date"),
        ("FEEDSERVER_SITE_LOGO", "/logo.png", "site.logo"),
        ("FEEDSERVER_FEEDS_FULL_CONTENT", "mungkin", "feeds.full_content"),
        ("FEEDSERVER_CACHE_REFRESH_SECONDS", "cepat", "cache.refresh_seconds"),
        ("FEEDSERVER_SERVER_PORT", "70000", "server.port"),
    ],
)
def test_an_invalid_environment_value_names_the_key_and_value(variable: str, value: str, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(None, environ={"FEEDSERVER_CONFIG": os.devnull, variable: value})
    message = str(raised.value)
    assert key in message
    assert repr(value) in message or value in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("[site]\nbase_url = 5\n", "site.base_url", "5"),
        ('[site]\ntimezone = "Mars/Olympus"\n', "site.timezone", "Mars/Olympus"),
        ("[feeds]\nitems = 501\n", "feeds.items", "501"),
        ('[feeds]\nitems = "banyak"\n', "feeds.items", "banyak"),
        ('[site]\ntitel = "Salah ketik"\n', "site.titel", None),
        ('[situs]\ntitle = "Salah bagian"\n', "situs.title", None),
    ],
)
def test_an_invalid_file_value_or_unknown_key_names_the_key(
    tmp_path: Path, text: str, key: str, value: str | None
) -> None:
    config = toml(tmp_path / "feedserver.toml", text)
    with pytest.raises(ConfigError) as raised:
        load_settings(config, environ={})
    message = str(raised.value)
    assert key in message
    if value is not None:
        assert value in message
    assert str(config) in message


def test_a_file_that_is_not_toml_or_missing_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_settings(tmp_path / "missing.toml", environ={})
    broken = toml(tmp_path / "broken.toml", "[site\ntitle = \n")
    with pytest.raises(ConfigError, match=r"broken\.toml"):
        load_settings(broken, environ={})


def test_the_bundled_config_file_is_valid_and_takes_effect() -> None:
    bundled = REPO / "config" / "feedserver.toml"
    settings = load_settings(bundled, environ={})
    data = tomllib.loads(bundled.read_text(encoding="utf-8"))
    for table, values in data.items():
        for name, value in values.items():
            expected = tuple(value) if isinstance(value, list) else value
            assert settings[f"{table}.{name}"] == expected, f"{table}.{name}"
    assert settings.base_url.startswith("https://")


# --- the site's identity and URLs ---------------------------------------------------------

IDENTITY_KEYS = ("site.title", "site.base_url", "site.publication_name")


def test_the_site_identity_has_no_default_in_code(tmp_path: Path) -> None:
    """A publisher who sets only the database must not publish as the demo site."""
    config = toml(tmp_path / "feedserver.toml", '[database]\npath = "situs.sqlite"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(config, environ={})
    message = str(raised.value)
    assert "\n" not in message
    for key in IDENTITY_KEYS:
        assert key in message
    assert "FEEDSERVER_SITE_PUBLICATION_NAME" in message
    # One missing key is named alone.
    with pytest.raises(ConfigError) as raised:
        load_settings(
            config, environ={"FEEDSERVER_SITE_TITLE": "Koran", "FEEDSERVER_SITE_BASE_URL": "https://k.example"}
        )
    assert "site.publication_name" in str(raised.value)
    assert "site.title" not in str(raised.value)
    # The environment alone is enough, and nothing of the demo's identity leaks in.
    settings = load_settings(config, environ={k: v for k, v in IDENTITY.items()})
    assert (settings["site.title"], settings.base_url, settings["site.publication_name"]) == (
        "Koran Contoh",
        "https://koran.example",
        "Koran Contoh",
    )
    # A command that needs no identity (import) can still read database.path.
    assert load_settings(config, environ={}, required=False).database_path == Path("situs.sqlite")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("https://example.id/berita", "no path"),
        ("https://example.id/berita/", "no path"),
        ("https://example.id//", "no path"),
        ("https://redaksi:rahasia@example.id", "user name"),
        ("https://example.id:0", "port"),
        ("https://example.id:99999", "port"),
        ("https://example.id#top", "fragment"),
    ],
)
def test_base_url_must_be_an_origin(value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(Path(os.devnull), environ={**IDENTITY, "FEEDSERVER_SITE_BASE_URL": value})
    assert "site.base_url" in str(raised.value)
    assert reason in str(raised.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.id", "https://example.id"),
        ("https://example.id/", "https://example.id"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
    ],
)
def test_an_origin_with_or_without_the_slash_is_accepted(value: str, expected: str) -> None:
    settings = load_settings(Path(os.devnull), environ={**IDENTITY, "FEEDSERVER_SITE_BASE_URL": value})
    assert settings.base_url == expected


def test_id_authority_defaults_to_the_host_and_keeps_its_own_value() -> None:
    settings = load_settings(Path(os.devnull), environ={**IDENTITY, "FEEDSERVER_SITE_BASE_URL": "https://Baru.example"})
    assert settings.id_authority == "baru.example"
    moved = load_settings(
        Path(os.devnull),
        environ={
            **IDENTITY,
            "FEEDSERVER_SITE_BASE_URL": "https://baru.example",
            "FEEDSERVER_SITE_ID_AUTHORITY": "lama.example",
        },
    )
    assert moved.id_authority == "lama.example"
    with pytest.raises(ConfigError, match=r"site\.id_authority"):
        load_settings(Path(os.devnull), environ={**IDENTITY, "FEEDSERVER_SITE_ID_AUTHORITY": "https://lama.example/"})


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("FEEDSERVER_SITE_SECTION_URL", "{base_url}/kanal", "{slug}"),
        ("FEEDSERVER_SITE_SECTION_URL", "{base_url}/{path}", "{path}"),
        ("FEEDSERVER_SITE_SECTION_URL", "https://lain.example/{slug}", "{base_url}"),
        ("FEEDSERVER_SITE_HOME_URL", "{base_url}.lain.example/", "must give a URL on site.base_url"),
    ],
)
def test_a_page_url_template_is_checked(key: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(Path(os.devnull), environ={**IDENTITY, key: value})
    assert key.removeprefix("FEEDSERVER_").lower().replace("_", ".", 1) in str(raised.value)
    assert reason in str(raised.value)


def test_serve_without_the_site_identity_exits_with_one_line(tmp_path: Path, database: Path) -> None:
    result = serve(
        tmp_path,
        FEEDSERVER_DATABASE_PATH=str(database),
        FEEDSERVER_SITE_BASE_URL="",
        FEEDSERVER_SITE_TITLE="",
        FEEDSERVER_SITE_PUBLICATION_NAME="",
    )
    line = one_line(result)
    assert result.returncode == 2
    for key in IDENTITY_KEYS:
        assert key in line
    # With a path in base_url: refused with the reason.
    result = serve(
        tmp_path, FEEDSERVER_DATABASE_PATH=str(database), FEEDSERVER_SITE_BASE_URL="https://koran.example/feeds"
    )
    assert result.returncode == 2
    assert "no path" in one_line(result)


# --- `feedserver serve` refuses a bad start ------------------------------------------------


IDENTITY = {
    "FEEDSERVER_SITE_BASE_URL": "https://koran.example",
    "FEEDSERVER_SITE_TITLE": "Koran Contoh",
    "FEEDSERVER_SITE_PUBLICATION_NAME": "Koran Contoh",
}


def serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`feedserver serve` in a clean directory and environment (the site's identity
    given, unless a test takes it away with ""); it must exit, not serve."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSERVER_")}
    environment.update(IDENTITY)
    environment.update(env)
    environment = {k: v for k, v in environment.items() if v != ""}
    command = [sys.executable, "-m", "feedserver.cli", "serve", "--port", "1", *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=tmp_path, env=environment)
    except subprocess.TimeoutExpired:
        pytest.fail("feedserver serve started instead of refusing the bad start")


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    from datetime import UTC, datetime

    path = tmp_path / "site.sqlite"
    write_records(path, [article("a-1", datetime.now(UTC))])
    return path


def test_serve_with_an_invalid_environment_value_exits_with_one_line(tmp_path: Path, database: Path) -> None:
    line = one_line(serve(tmp_path, FEEDSERVER_DATABASE_PATH=str(database), FEEDSERVER_FEEDS_ITEMS="abc"))
    assert "feeds.items" in line
    assert "abc" in line


def test_serve_with_an_invalid_config_file_exits_with_one_line(tmp_path: Path, database: Path) -> None:
    config = toml(tmp_path / "bad.toml", f'[site]\nbase_url = "example.id"\n[database]\npath = "{database}"\n')
    line = one_line(serve(tmp_path, "--config", str(config), FEEDSERVER_SITE_BASE_URL=""))
    assert "site.base_url" in line
    assert "example.id" in line


def test_serve_with_an_unknown_key_exits_with_one_line(tmp_path: Path, database: Path) -> None:
    config = toml(tmp_path / "bad.toml", "[feeds]\nitem = 5\n")
    line = one_line(serve(tmp_path, "--config", str(config), FEEDSERVER_DATABASE_PATH=str(database)))
    assert "feeds.item" in line


def test_serve_with_a_missing_config_file_exits_with_one_line(tmp_path: Path) -> None:
    line = one_line(serve(tmp_path, FEEDSERVER_CONFIG=str(tmp_path / "nowhere.toml")))
    assert "nowhere.toml" in line


def test_serve_refuses_statistics_in_the_cms_database(tmp_path: Path, database: Path) -> None:
    line = one_line(serve(tmp_path, FEEDSERVER_DATABASE_PATH=str(database), FEEDSERVER_STATS_PATH=str(database)))
    assert "stats.path" in line and "CMS database" in line


def test_serve_with_a_missing_database_exits_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "belum-ada.sqlite"
    line = one_line(serve(tmp_path, FEEDSERVER_DATABASE_PATH=str(missing)))
    assert "belum-ada.sqlite" in line
    assert not missing.exists()


def test_serve_with_a_database_without_the_schema_exits_with_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "kosong.sqlite"
    sqlite3.connect(empty).close()
    line = one_line(serve(tmp_path, FEEDSERVER_DATABASE_PATH=str(empty)))
    assert "kosong.sqlite" in line
    assert "version" in line
