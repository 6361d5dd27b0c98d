"""Webhook mode end to end: the whole bot behind its webhook server, Telegram played by POSTs.

The bot registers its webhook with the fake Bot API (``fake.webhook``) and listens on a free
loopback port; :class:`~tests.support.webhook_poster.WebhookPoster` delivers what the fake's users
do. Only requests carrying the secret reach the bot; without WEBHOOK_SECRET it does not start;
a failure to start stops everything started before it and says so in one line.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import sqlite3
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import WANTED_UPDATES, StartupFailed
from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime.scheduler import sender_of
from tests.e2e.conftest import RunningBot, settings_with
from tests.support.fake_bot_api import FakeBotApi
from tests.support.webhook_poster import WebhookPoster, free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-Webhook_token"
PUBLIC_URL = "https://bot.example.org/linli"
TOKEN = "123456:SECRET-TOKEN-VALUE"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def webhook_settings(tmp_path: Path, fake: FakeBotApi, port: int) -> Settings:
    return settings_with(
        tmp_path,
        fake,
        webhook_url=PUBLIC_URL,
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret=SECRET,
    )


@pytest.fixture
async def webhook_bot(webhook_settings: Settings, clock: ManualClock) -> AsyncIterator[RunningBot]:
    running_bot = RunningBot(webhook_settings, clock)
    await running_bot.start()
    try:
        yield running_bot
    finally:
        await running_bot.stop()


@pytest.fixture
def telegram(fake: FakeBotApi, port: int) -> WebhookPoster:
    return WebhookPoster(fake, f"http://127.0.0.1:{port}/telegram", SECRET)


@pytest.fixture
def port_taken(port: int) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        yield squatter


async def test_the_bot_registers_its_webhook_with_the_secret(
    fake: FakeBotApi, webhook_bot: RunningBot
) -> None:
    assert fake.webhook is not None
    assert fake.webhook["url"] == PUBLIC_URL + "/telegram"
    assert fake.webhook["secret_token"] == SECRET
    assert fake.webhook["allowed_updates"] == WANTED_UPDATES
    assert not fake.calls_to("getUpdates")


async def test_a_user_starts_over_the_webhook(
    fake: FakeBotApi, webhook_bot: RunningBot, telegram: WebhookPoster
) -> None:
    tom = fake.user(301, first_name="Tom", language_code="fr")
    await tom.send("/start")
    assert await telegram.deliver() == [200]
    choose = await tom.wait_for("Please choose your language")
    await tom.press(choose, "English", expect_answer=False)
    assert await telegram.deliver() == [200]
    await tom.wait_for("What should we call you?")
    assert fake.answered_callbacks  # the press was answered too


@pytest.mark.parametrize("secret", ["not-the-secret", None], ids=["wrong secret", "no secret"])
async def test_an_update_without_the_secret_gets_403_and_changes_nothing(
    fake: FakeBotApi, webhook_bot: RunningBot, telegram: WebhookPoster, secret: str | None
) -> None:
    coordinator = fake.user(9001, first_name="Li", language_code="fr")  # a coordinator's id
    await coordinator.send("/start")
    await coordinator.send("/admin")
    assert await telegram.deliver(secret=secret) == [403, 403]
    await asyncio.sleep(0.5)
    assert fake.sent_to(coordinator.id) == []
    assert webhook_bot.services is not None
    assert await webhook_bot.services.users.get(coordinator.id) is None
    # The same updates with the secret do reach the bot.
    for update in fake.pending_updates:
        assert await telegram.post(update) == 200
    await coordinator.wait_for("Please choose your language")


async def test_a_port_in_use_stops_what_was_started(
    fake: FakeBotApi, webhook_settings: Settings, clock: ManualClock, port_taken: socket.socket
) -> None:
    running_bot = RunningBot(webhook_settings, clock)
    try:
        with warnings.catch_warnings():
            # tornado's bind_sockets leaves the socket it could not bind unclosed (6.6.1): it
            # goes with the error's traceback, here rather than at a random later test.
            warnings.simplefilter("ignore", ResourceWarning)
            with pytest.raises(StartupFailed) as failed:
                await running_bot.start()
            step, error = failed.value.step, failed.value.error
            del failed
            assert isinstance(error, OSError), error
            del error
            gc.collect()
        assert "webhook server" in step
        assert_nothing_runs(running_bot)
    finally:
        await running_bot.stop()


async def test_webhooks_unavailable_is_the_error_reported(
    fake: FakeBotApi,
    webhook_settings: Settings,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("telegram.ext._updater.WEBHOOKS_AVAILABLE", False)
    running_bot = RunningBot(webhook_settings, clock)
    with pytest.raises(StartupFailed) as failed:
        await running_bot.start()
    try:
        assert "python-telegram-bot[webhooks]" in str(failed.value)
        assert "still running" not in str(failed.value)
        assert_nothing_runs(running_bot)
    finally:
        await running_bot.stop()


def assert_nothing_runs(running_bot: RunningBot) -> None:
    app = running_bot.app
    assert app is not None
    sender = sender_of(app)
    assert sender is not None and not sender.running  # it had started: it was stopped
    assert not app.running
    assert app.updater is not None and not app.updater.running
    assert app.job_queue is not None and not app.job_queue.scheduler.running


async def run_bot(tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    """`python -m bot run` with only ``env`` (no .env: the cwd is empty)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("the bot did not stop by itself") from None
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


async def test_a_webhook_without_a_secret_refuses_to_start(tmp_path: Path) -> None:
    code, output = await run_bot(
        tmp_path,
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "WEBHOOK_URL": PUBLIC_URL,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}",
        },
    )
    assert code == 2, output
    (line,) = output.splitlines()
    assert line.startswith("Setting WEBHOOK_SECRET is missing: WEBHOOK_URL is set")
    assert "SECRET-TOKEN-VALUE" not in output
    assert not (tmp_path / "linli.db").exists()  # nothing was started


async def test_a_start_up_failure_exits_2_with_one_line_and_leaves_nothing_running(
    tmp_path: Path, fake: FakeBotApi, port: int, port_taken: socket.socket
) -> None:
    database = tmp_path / "linli.db"
    code, output = await run_bot(
        tmp_path,
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_API_FILE_URL": fake.base_file_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "WEBHOOK_URL": PUBLIC_URL,
            "WEBHOOK_PORT": str(port),
            "WEBHOOK_SECRET": SECRET,
        },
    )
    assert code == 2, output
    (said,) = [line for line in output.splitlines() if line.startswith("linli:")]
    assert f"127.0.0.1:{port}" in said, said
    assert "Traceback" not in output
    assert "still running" not in output
    assert "SECRET-TOKEN-VALUE" not in output
    # The process is gone and so are its locks: the database takes a write at once.
    connection = sqlite3.connect(database, timeout=0)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("CREATE TABLE probe (x INTEGER)")
        connection.rollback()
    finally:
        connection.close()
