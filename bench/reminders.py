"""Reminders due in the same minute: 5,000 members on the evening's patrol shifts (100
shifts of 50 at one post), each with the real "your shift starts soon" reminder row their
place made, all falling due at once in a fresh database. The real bot process (`python -m bot
run`, SEND_RATE=R) sweeps them (each runs the patrol action: the shift and the place read
again, the notice queued) and sends them against the fake Bot API, which answers 429 above R
per second. Prints how long the sweep took to queue every one, when the last arrived, the
achieved rate against the cap, the 429s, and per member the reminders lost and duplicated
(target: 0 and 0)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from bot.clock import SystemClock
from bot.models import ReminderStatus, Role
from bot.services import Services
from bot.services.patrol.service import KIND_SOON
from storage import users as users_repo
from storage.schema import reminders
from storage.store import Store
from tests.conftest import COORDINATOR_ID, make_settings
from tests.support.delivery_rig import BotProcess
from tests.support.fake_bot_api import FakeBotApi

MARK = "巡逻提醒岗"  # the post's name: how the fake's messages are counted as the benchmark's
PER_SHIFT = 50
DUE_IN = timedelta(seconds=20)  # after the seeding: the bot is up and idle when they fall due


async def _prepare(
    folder: Path, fake: FakeBotApi, count: int, database_url: str | None
) -> tuple[str, list[int], float]:
    """A database with `count` members on shifts starting in two hours, every one's
    "starts soon" reminder moved to fall due in the same second; the wall-clock moment
    (time.monotonic) they fall due."""
    settings = make_settings(folder, telegram_api_base_url=fake.base_url)
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    store = await Store.open(settings.database_url)
    people = list(range(2_000_000, 2_000_000 + count))
    try:
        services = await Services.build(settings, store, SystemClock())
        now = services.clock.now()
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
                await users_repo.grant_role(conn, uid, Role.MEMBER, None, now)
        lead = await services.users.register(
            COORDINATOR_ID, display_name="Li", language="zh", building_id=None
        )
        post = await services.patrol.create_post(lead, name=MARK, area=None, building_ids=[])
        start = (now + timedelta(hours=2)).astimezone(settings.zone)
        shifts = []
        for _ in range(-(-count // PER_SHIFT)):
            shifts += await services.patrol.define_shifts(
                lead,
                post.id,
                day=start.date(),
                start=start.time().replace(second=0, microsecond=0),
                end=(start + timedelta(hours=1)).time().replace(second=0, microsecond=0),
                capacity=PER_SHIFT,
            )
        for n, uid in enumerate(people):
            member = await services.users.require(uid)
            await services.patrol.take(member, shifts[n // PER_SHIFT].slot.id)
        due = services.clock.now().replace(microsecond=0) + DUE_IN
        async with store.transaction() as conn:
            moved = await conn.execute(
                update(reminders)
                .where(
                    reminders.c.kind == KIND_SOON,
                    reminders.c.status == ReminderStatus.PENDING.value,
                )
                .values(due_at=due)
            )
            assert moved.rowcount == count, moved.rowcount
        due_in = (due - services.clock.now()).total_seconds()
    finally:
        await store.close()
    for uid in people:
        fake.user(uid)
    fake.user(COORDINATOR_ID)
    return settings.database_url, people, time.monotonic() + due_in


async def _pending(database_url: str) -> int:
    store = await Store.open(database_url, migrate=False)
    try:
        async with store.read() as conn:
            query = select(func.count()).where(
                reminders.c.kind == KIND_SOON, reminders.c.status == ReminderStatus.PENDING.value
            )
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
                        pending = await _pending(url)
                        raise AssertionError(
                            f"{got} of {count} delivered, {pending} still pending"
                        )
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
                f"reminders ({where}): {count:,} patrol reminders due at once; all swept into the "
                f"outbox {sweep} after they fell due; last delivered "
                f"{arrivals[-1] - due:.1f} s after (at the cap {count / rate:.1f} s at best); "
                f"achieved {achieved:.1f} msg/s = {achieved / rate:.3f} of the cap {rate}/s; "
                f"429s: {fake.count_429}; lost: {lost}; duplicated: {duplicated}"
            )
