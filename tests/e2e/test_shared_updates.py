"""Two bot processes behind one webhook address (a load balancer), on one PostgreSQL database,
with SHARED_UPDATES: a newcomer's onboarding goes on whichever process each of her updates
reaches, and neither process sees a dialogue the other has moved on from."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from storage import bot_state
from storage.store import Store
from tests.support.delivery_rig import BotProcess
from tests.support.fake_bot_api import FakeBotApi
from tests.support.webhook_poster import WebhookPoster, free_port

pytestmark = pytest.mark.only_postgresql

SECRET = "shared-s3cret"
NEWCOMER = 501


async def _listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {port} after {timeout}s") from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def _saved_step(database_url: str, step: str | None, timeout: float = 10.0) -> None:
    """Until the newcomer's onboarding step in the database is `step` (None: ended): the
    answer is sent a moment before the step is saved."""
    key = f"onboarding|{json.dumps([NEWCOMER, NEWCOMER])}"
    store = await Store.open(database_url, migrate=False)
    try:
        deadline = time.monotonic() + timeout
        while True:
            async with store.read() as conn:
                found = (await bot_state.load_keys(conn, [("conversation", key)])).get(
                    ("conversation", key)
                )
            if found == step:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"onboarding step {found!r}, not {step!r}")
            await asyncio.sleep(0.02)
    finally:
        await store.close()


async def test_a_dialogue_goes_on_whichever_process_its_next_update_reaches(
    tmp_path: Path, fake: FakeBotApi, database: str | None
) -> None:
    assert database is not None
    ports = [free_port(), free_port()]
    bots = []
    for n, port in enumerate(ports):
        (tmp_path / f"p{n}").mkdir()
        bots.append(
            BotProcess(
                fake,
                database,
                tmp_path / f"p{n}",
                webhook_url="https://linli.example.org",
                webhook_listen="127.0.0.1",
                webhook_port=port,
                webhook_secret=SECRET,
                shared_updates="true",
            )
        )
    proxy = WebhookPoster(fake, "", SECRET)

    async def to(n: int) -> None:
        """The load balancer sends what is queued to process n."""
        proxy.url = f"http://127.0.0.1:{ports[n]}/telegram"
        assert await proxy.deliver() == [200]

    for bot in bots:
        await bot.start()
    try:
        for port in ports:
            await _listening(port)
        her = fake.user(NEWCOMER, first_name="Mei", language_code="fr")
        await her.send("/start")
        await to(0)
        choose = await her.wait_for("Please choose your language")
        await _saved_step(database, "language")
        await her.press(choose, "English", expect_answer=False)
        await to(1)
        await her.wait_for("What should we call you?")
        await _saved_step(database, "name")
        await her.send("Mei")
        await to(0)
        room = await her.wait_for("room number")
        await _saved_step(database, "room")
        await her.send("5-301")
        await to(1)
        await her.wait_for("phone number")
        await _saved_step(database, "phone")
        await her.send("Skip")
        await to(0)
        await her.wait_for("You are registered")
        await _saved_step(database, None)
        await her.send("/profile")
        await to(1)
        profile = await her.wait_for("Mei")
    finally:
        for bot in bots:
            if bot.process is not None and bot.process.returncode is None:
                await bot.terminate()
    assert room is not None and "5-301" in profile.text
    store = await Store.open(database, migrate=False)
    try:
        async with store.read() as conn:
            rows = await bot_state.load_keys(conn, [("user", str(NEWCOMER))])
    finally:
        await store.close()
    assert "onboarding" not in rows.get(("user", str(NEWCOMER)), {})  # the draft was cleared
    for bot in bots:
        assert "Traceback" not in bot.log(), bot.log()
