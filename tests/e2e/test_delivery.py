"""Delivery end to end: the bot process killed with SIGKILL mid-broadcast and started again;
SIGTERM lets the row in flight finish; reminders across a restart; limits of the fake."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.clock import ManualClock
from bot.models import N_, OutboxStatus
from bot.runtime.pacing import default_in_flight
from bot.services.reminders import NOTIFY
from tests.e2e.conftest import RunningBot
from tests.support.delivery_rig import (
    BotProcess,
    copies,
    outbox_counts,
    prepare_broadcast,
    unconfirmed_chats,
    wait_for_sends,
    wait_until_delivered,
)
from tests.support.fake_bot_api import FakeBotApi

RECIPIENTS = 300
SEND_RATE = 300


async def test_killed_mid_broadcast_and_restarted_every_recipient_gets_one_copy(
    tmp_path: Path, fake: FakeBotApi
) -> None:
    prepared = await prepare_broadcast(tmp_path, fake, RECIPIENTS)
    bot = BotProcess(fake, prepared.database_url, tmp_path, send_rate=SEND_RATE)
    await bot.start()
    try:
        await wait_for_sends(fake, 100, timeout=30)
        await bot.kill()
        at_kill = await outbox_counts(prepared.database_url, prepared.broadcast_id)
        in_doubt = at_kill[OutboxStatus.SENDING]
        delivered_before = sum(copies(fake, prepared.recipients).values())
        assert 0 < delivered_before < RECIPIENTS, "the kill must land mid-broadcast"
        await bot.start()
        counts = await wait_until_delivered(prepared.database_url, prepared.broadcast_id, 60)
        await fake.wait_idle(quiet=0.3, timeout=30)
    finally:
        if bot.process is not None and bot.process.returncode is None:
            await bot.terminate()
    got = copies(fake, prepared.recipients)
    lost = [uid for uid in prepared.recipients if got[uid] == 0]
    doubled = sum(n - 1 for n in got.values() if n > 1)
    assert lost == [], bot.log()
    assert counts[OutboxStatus.SENT] == RECIPIENTS
    # At-least-once for the rows in flight at the instant of the kill (bot/runtime/outbox.py): only
    # they can arrive twice, and never more of them than may be in flight at once.
    assert doubled <= min(in_doubt, default_in_flight(SEND_RATE)), (doubled, in_doubt)


async def test_sigterm_lets_the_row_in_flight_finish_and_nothing_is_sent_twice(
    tmp_path: Path, fake: FakeBotApi
) -> None:
    prepared = await prepare_broadcast(tmp_path, fake, 120)
    bot = BotProcess(fake, prepared.database_url, tmp_path, send_rate=100)
    await bot.start()
    try:
        await wait_for_sends(fake, 30, timeout=30)
        assert await bot.terminate() == 0
        stopped = await outbox_counts(prepared.database_url, prepared.broadcast_id)
        assert stopped[OutboxStatus.SENDING] == 0  # nothing left in doubt
        assert stopped[OutboxStatus.SENT] == sum(copies(fake, prepared.recipients).values())
        assert stopped[OutboxStatus.PENDING] > 0  # the rest waits for the next start
        await bot.start()
        await wait_until_delivered(prepared.database_url, prepared.broadcast_id, 60)
        await fake.wait_idle(quiet=0.3, timeout=30)
    finally:
        if bot.process is not None and bot.process.returncode is None:
            await bot.terminate()
    assert set(copies(fake, prepared.recipients).values()) == {1}


async def test_an_outage_and_a_5xx_burst_mid_broadcast_fail_nothing_and_double_nothing(
    tmp_path: Path, fake: FakeBotApi
) -> None:
    prepared = await prepare_broadcast(tmp_path, fake, RECIPIENTS)
    bot = BotProcess(fake, prepared.database_url, tmp_path, send_rate=SEND_RATE)
    await bot.start()
    try:
        await wait_for_sends(fake, 80, timeout=30)
        fake.outage(2.0)  # every connection refused (and the open ones cut), then back
        await asyncio.sleep(2.5)
        await wait_for_sends(fake, 160, timeout=30)
        fake.fail_5xx(seconds=1.0, status=502)
        counts = await wait_until_delivered(prepared.database_url, prepared.broadcast_id, 90)
        await fake.wait_idle(quiet=0.3, timeout=30)
    finally:
        if bot.process is not None and bot.process.returncode is None:
            await bot.terminate()
    got = copies(fake, prepared.recipients)
    lost = {uid for uid in prepared.recipients if got[uid] == 0}
    unconfirmed = await unconfirmed_chats(prepared.database_url, prepared.broadcast_id)
    # An announcement is AT_MOST_ONCE (bot/runtime/outbox.py): a request cut off in flight by
    # the outage counts as delivered, unconfirmed — the only way one can be missing.
    assert lost <= unconfirmed, bot.log()
    assert len(unconfirmed) <= default_in_flight(SEND_RATE)
    assert set(got.values()) <= {0, 1}  # never twice
    assert counts[OutboxStatus.SENT] == RECIPIENTS and counts[OutboxStatus.FAILED] == 0
    assert "sending paused until it answers" in bot.log()  # the breaker, not row by row


async def test_a_reminder_missed_while_the_bot_was_down_arrives_once_with_a_late_note(
    fake: FakeBotApi, bot: RunningBot, clock: ManualClock
) -> None:
    assert bot.services is not None
    await bot.services.users.register(5, display_name="Wang", language="en", building_id=None)
    wang = fake.user(5, first_name="Wang", language_code="en")
    text = N_("Your patrol shift at {post} starts soon.")
    async with bot.services.store.transaction() as conn:
        await bot.services.reminders.schedule(
            conn,
            subject="shift:1",
            kind=NOTIFY,
            recipient_id=5,
            due_at=clock.now() + timedelta(minutes=30),
            payload={"text": text, "values": {"post": "East gate"}},
            stale_after=timedelta(hours=3),
        )
    await bot.stop()
    clock.advance(hours=1)  # due while the bot was down
    await bot.start()
    late = await wang.wait_for("East gate", timeout=10)
    assert "late" in late.text
    await bot.restart()
    clock.advance(minutes=5)
    await fake.wait_idle(quiet=0.8)
    assert len([m for m in wang.inbox if "East gate" in (m.text or "")]) == 1
