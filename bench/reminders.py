"""Reminders due in the same minute: N reminder rows (default 5,000, as the evening's patrol
shifts and a theme day's session could make) fall due at once in a fresh database; the real
bot process (`python -m bot run`, SEND_RATE=R) sweeps them into the outbox and sends them
against the fake Bot API, which answers 429 above R per second. Prints how long the sweep
took to turn every row into a message, when the last one arrived, the achieved rate against
the cap, the 429s, and per recipient the reminders lost and duplicated (target: 0 and 0)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import SystemClock
from bot.models import ReminderStatus
from bot.services import Services
from storage import users as users_repo
from storage.schema import reminders
from storage.store import Store
from tests.conftest import make_settings
from tests.support.delivery_rig import BotProcess
from tests.support.fake_bot_api import FakeBotApi

MARK = "巡逻提醒"  # how the fake's messages are counted as the benchmark's
DUE_IN = timedelta(seconds=20)  # the bot is up and idle when they fall due


async def _prepare(
    folder: Path, fake: FakeBotApi, count: int, database_url: str | None
) -> tuple[str, list[int], float]:
    """A database with `count` people, each with one reminder due in the same minute; the
    wall-clock moment (time.monotonic) they fall due."""
    settings = make_settings(folder, telegram_api_base_url=fake.base_url)
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    store = await Store.open(settings.database_url)
    people = list(range(2_000_000, 2_000_000 + count))
    try:
        services = await Services.build(settings, store, SystemClock())
        now = services.clock.now()
        due = now.replace(microsecond=0) + DUE_IN
        async with store.transaction() as conn:
            for uid in people:
                await users_repo.insert_user(
                    conn,
                    user_id=uid,
                    display_name=f"M{uid}",
                    language="zh",
                    building_id=None,
                    room=None,
                    phone=None,
                    now=now,
                    community_id=services.default_community_id,
                )
                await services.reminders.schedule(
                    conn,
                    subject=f"bench:{uid}",
                    kind="notify",
                    due_at=due,
                    recipient_id=uid,
                    # The built-in kind: a message id (none in the catalogue: sent as is).
                    payload={"text": MARK + " {n}", "values": {"n": str(uid)}},
                )
        due_in = (due - services.clock.now()).total_seconds()
    finally:
        await store.close()
    for uid in people:
        fake.user(uid)
    return settings.database_url, people, time.monotonic() + due_in


async def _pending(database_url: str) -> int:
    store = await Store.open(database_url, migrate=False)
    try:
        async with store.read() as conn:
            query = select(func.count()).where(reminders.c.status == ReminderStatus.PENDING.value)
            return int(await conn.scalar(query) or 0)
    finally:
        await store.close()


async def run(count: int, rate: int, database_url: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotApi() as fake:
            fake.enforce_limits(global_per_second=rate)
            url, people, due = await _prepare(Path(folder), fake, count, database_url)
            bot = BotProcess(fake, url, Path(folder), send_rate=rate)
            await bot.start()
            swept_at: float | None = None
            try:
                deadline = due + 60 + 3 * count / rate
                while True:
                    got = sum(1 for m in fake.messages if m.from_bot and m.text and MARK in m.text)
                    late = swept_at is None and time.monotonic() > due
                    if late and await _pending(url) == 0:
                        swept_at = time.monotonic()
                    if got >= count and swept_at is not None:
                        break
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{got} of {count} reminders delivered in time")
                    await asyncio.sleep(0.25)
                await fake.wait_idle(quiet=1.0, timeout=60)
            finally:
                await bot.terminate()
            arrivals = sorted(
                call.at
                for call in fake.calls_to("sendMessage")
                if call.ok and MARK in str(call.params.get("text", ""))
            )
            per_person: Counter[int] = Counter()
            for uid in people:
                per_person[uid] = sum(1 for m in fake.sent_to(uid) if m.text and MARK in m.text)
            lost = sum(1 for uid in people if per_person[uid] == 0)
            duplicated = sum(n - 1 for n in per_person.values() if n > 1)
            span = arrivals[-1] - arrivals[0]
            achieved = (len(arrivals) - 1) / span if span > 0 else float("nan")
            where = "SQLite" if database_url is None else "PostgreSQL"
            sweep = f"{swept_at - due:.1f} s" if swept_at is not None else "n/a"
            print(
                f"reminders ({where}): {count:,} due in the same minute; all swept into the "
                f"outbox {sweep} after they fell due; last delivered "
                f"{arrivals[-1] - due:.1f} s after (at the cap {count / rate:.1f} s at best); "
                f"achieved {achieved:.1f} msg/s = {achieved / rate:.3f} of the cap {rate}/s; "
                f"429s: {fake.count_429}; lost: {lost}; duplicated: {duplicated}"
            )
