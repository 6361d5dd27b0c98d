"""Settings: defaults, parsing, and one clear line (exit 2) for a missing or bad setting."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_need_only_the_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///data/linli.db"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.default_language == "zh"
    assert settings.coordinator_ids == frozenset()
    assert settings.send_rate == 25


def test_coordinator_ids_are_comma_separated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("COORDINATOR_IDS", "11, 22,33")
    assert load_settings().coordinator_ids == frozenset({11, 22, 33})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TIMEZONE", "Mars/Olympus", "Setting TIMEZONE is invalid"),
        ("COORDINATOR_IDS", "11,abc", "Setting COORDINATOR_IDS is invalid"),
        ("DEFAULT_LANGUAGE", "fr", "Setting DEFAULT_LANGUAGE is invalid"),
        ("TELEGRAM_BOT_TOKEN", "nonsense", "Setting TELEGRAM_BOT_TOKEN is invalid"),
        ("WEBHOOK_SECRET", "has space", "Setting WEBHOOK_SECRET is invalid"),
        ("WEBHOOK_SECRET", "x" * 257, "Setting WEBHOOK_SECRET is invalid"),
        ("WEBHOOK_URL", "https://bot.example.org", "Setting WEBHOOK_SECRET is missing"),
        ("SHARED_UPDATES", "true", "SHARED_UPDATES is invalid: Value error, several processes"),
    ],
)
def test_bad_setting_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as stopped:
        load_settings()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "nonsense" not in err  # the token's value is never echoed


@pytest.mark.parametrize("secret", ["a", "Az09_-" * 42 + "abcd"])
def test_a_webhook_secret_telegram_accepts_is_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org")
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    settings = load_settings()
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == secret


def test_a_blank_webhook_secret_counts_as_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org")
    monkeypatch.setenv("WEBHOOK_SECRET", "  ")
    with pytest.raises(SettingsError):
        load_settings()
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("Setting WEBHOOK_SECRET is missing: WEBHOOK_URL is set")


def test_missing_token_exits_2_without_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is missing" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_rejected_token_exits_2_with_one_line_and_never_prints_it(tmp_path: Path) -> None:
    from tests.support.fake_bot_api import FakeBotApi

    token = "123456:SECRET-TOKEN-VALUE"
    async with FakeBotApi() as fake:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": token,
            # Not a Bot API: getMe answers 404, which python-telegram-bot reports as InvalidToken
            # with the token in its message.
            "TELEGRAM_API_BASE_URL": fake.url + "/nowhere/bot",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    output = (out + err).decode()
    assert process.returncode == 2, output
    assert "SECRET-TOKEN-VALUE" not in output
    (said,) = [line for line in output.splitlines() if line.startswith("linli:")]
    assert "TELEGRAM_BOT_TOKEN" in said


def test_shared_updates_need_postgresql(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org")
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("SHARED_UPDATES", "true")
    with pytest.raises(SettingsError):
        load_settings()  # the default database is a SQLite file
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        "Setting SHARED_UPDATES is invalid: Value error, several processes need PostgreSQL; "
        "on SQLite run one process."
    )
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://linli@db/linli")
    assert load_settings().shared_updates
