"""The outbox sender against the fake Bot API: limits, outcomes, order, crash recovery and a
graceful stop. A plain PTB Bot talks to the fake over HTTP; our code is not mocked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from telegram import Bot, Message
from telegram.request import HTTPXRequest

from bot.clock import ManualClock
from bot.models import Delivery, Notice, OutboxItem, OutboxStatus, OutgoingMessage
from bot.runtime.http import sender_request
from bot.runtime.outbox import OutboxSender, send_as_stored
from bot.runtime.pacing import Breaker
from bot.services.broadcast.rules import Announcement
from bot.services.notify import RetireLive
from handlers.notices import Action, Send
from storage import outbox as outbox_repo
from storage import users as users_repo
from storage.schema import outbox as outbox_table
from storage.store import Store
from tests.support.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    """A Bot on the sender's production transport."""
    async with Bot(
        TOKEN,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        request=sender_request(pool_size=8),
    ) as client:
        yield client


@pytest.fixture(params=["sender", "plain"])
async def either_bot(fake: FakeBotApi, request: pytest.FixtureRequest) -> AsyncIterator[Bot]:
    """The sender's transport, and PTB's default one (the sender needs nothing else)."""
    transport = sender_request(8) if request.param == "sender" else HTTPXRequest()
    async with Bot(
        TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url, request=transport
    ) as client:
        yield client


async def queue(store: Store, clock: ManualClock, *messages: OutgoingMessage) -> list[int]:
    ids = []
    async with store.transaction() as conn:
        for message in messages:
            row = await outbox_repo.enqueue(conn, message, now=clock.now())
            assert row is not None
            ids.append(row)
    return ids


async def run(sender: OutboxSender, timeout: float = 15.0) -> None:
    await sender.start()
    try:
        await sender.drain(timeout)
    finally:
        await sender.stop()


async def statuses(store: Store, ids: list[int]) -> list[OutboxStatus]:
    async with store.read() as conn:
        items = [await outbox_repo.get_item(conn, i) for i in ids]
    return [item.status for item in items if item is not None]


async def test_each_row_is_sent_once_with_its_message_id(
    store: Store, clock: ManualClock, fake: FakeBotApi, either_bot: Bot
) -> None:
    bot = either_bot
    for uid in (1, 2, 3):
        fake.user(uid)
    fake.register_file("photo-1", "photo")
    fake.register_file("doc-1", "document", file_name="notice.pdf")
    ids = await queue(
        store,
        clock,
        OutgoingMessage(chat_id=1, text="<b>Hello</b>", buttons=((("Claim", "wish:claim:1"),),)),
        OutgoingMessage(chat_id=2, text="A photo", photo_file_id="photo-1"),
        OutgoingMessage(chat_id=3, text=None, document_file_id="doc-1"),
    )
    await run(OutboxSender(store, bot, clock, send_rate=100))
    for uid in (1, 2, 3):
        assert len(fake.sent_to(uid)) == 1
    assert fake.sent_to(1)[0].buttons == [("Claim", "wish:claim:1")]
    assert fake.sent_to(2)[0].photo and fake.sent_to(3)[0].document
    async with store.read() as conn:
        items = [await outbox_repo.get_item(conn, i) for i in ids]
    for item, uid in zip(items, (1, 2, 3), strict=True):
        assert item is not None and item.status is OutboxStatus.SENT
        assert item.sent_message_id == fake.sent_to(uid)[0].message_id


async def test_blocked_user_is_marked_unreachable_and_not_retried(
    store: Store, clock: ManualClock, fake: FakeBotApi, bot: Bot
) -> None:
    async with store.transaction() as conn:
        await users_repo.insert_user(
            conn,
            user_id=2,
            display_name="Wang",
            language="zh",
            building_id=None,
            room=None,
            phone=None,
            now=clock.now(),
        )
    fake.user(2)
    fake.block(2)
    ids = await queue(store, clock, OutgoingMessage(chat_id=2, text="hi"))
    sender = OutboxSender(store, bot, clock, send_rate=100)
    await run(sender)
    assert await statuses(store, ids) == [OutboxStatus.BLOCKED]
    assert len(fake.calls_to("sendMessage")) == 1 and sender.stats.blocked == 1
    async with store.read() as conn:
        user = await users_repo.get_user(conn, 2)
    assert user is not None and user.unreachable
    # Once a message gets through again, the user is reachable again.
    fake.unblock(2)
    await queue(store, clock, OutgoingMessage(chat_id=2, text="hi again"))
    await run(OutboxSender(store, bot, clock, send_rate=100))
    async with store.read() as conn:
        user = await users_repo.get_user(conn, 2)
    assert user is not None and not user.unreachable


async def test_server_errors_never_fail_a_row_they_pause_sending_until_a_probe_answers(
    store: Store, clock: ManualClock, fake: FakeBotApi, bot: Bot
) -> None:
    group = -5001  # a group: no one-second gap between attempts to slow the test
    fake.group(group)
    fake.fail_next("sendMessage", 502, count=4)
    fake.fail_next("getMe", 503, count=2)  # the first probes find it still failing
    ids = await queue(store, clock, OutgoingMessage(chat_id=group, text="eventually"))
    sender = OutboxSender(
        store, bot, clock, send_rate=100, backoff_base=0.02, breaker=Breaker(first=0.02)
    )
    await run(sender)
    assert await statuses(store, ids) == [OutboxStatus.SENT]
    assert len(fake.sent_to(group)) == 1
    assert sender.stats.retries == 4 and sender.stats.failed == 0
    assert sender.breaker.trips == 4 and sender.stats.probes >= 6
    assert not sender.breaker.is_open


async def test_flood_wait_is_honoured_and_nothing_is_lost_or_doubled(
    store: Store, clock: ManualClock, fake: FakeBotApi, bot: Bot
) -> None:
    fake.enforce_limits(global_per_second=4)
    for uid in range(1, 11):
        fake.user(uid)
    ids = await queue(store, clock, *(OutgoingMessage(chat_id=u, text="x") for u in range(1, 11)))
    sender = OutboxSender(store, bot, clock, send_rate=50)  # faster than the server allows
    await run(sender, timeout=30)
    assert fake.count_429 > 0 and sender.stats.flood_waits == fake.count_429
    assert await statuses(store, ids) == [OutboxStatus.SENT] * 10
    assert [len(fake.sent_to(u)) for u in range(1, 11)] == [1] * 10
    assert sender.pacer.factor < 1.0  # it slowed down


async def test_a_flood_wait_for_one_group_delays_that_group_only(
    store: Store, clock: ManualClock, fake: FakeBotApi, bot: Bot
) -> None:
    fake.enforce_limits(per_group_per_minute=1)  # the group's second message gets a 429
    group = -5002
    fake.group(group)
    for uid in range(1, 6):
        fake.user(uid)
    to_group = await queue(
        store, clock, *(OutgoingMessage(chat_id=group, text=f"g{n}") for n in (1, 2))
    )
    sender = OutboxSender(store, bot, clock, send_rate=100)
    await sender.start()
    try:
        await fake.wait_for_call("sendMessage", lambda call: call.status == 429)
        private = await queue(
            store, clock, *(OutgoingMessage(chat_id=u, text="urgent") for u in range(1, 6))
        )
        sender.wake()
        for uid in range(1, 6):
            await fake.user(uid).next_message(timeout=3.0)  # not held by the group's wait
        assert sender.pacer.paused_until == 0.0 and sender.pacer.factor == 1.0
        for _ in range(100):  # their results are recorded a moment after the answers
            if await statuses(store, private) == [OutboxStatus.SENT] * 5:
                break
            await asyncio.sleep(0.03)
        assert await statuses(store, private) == [OutboxStatus.SENT] * 5
        assert await statuses(store, to_group) == [OutboxStatus.SENT, OutboxStatus.PENDING]
    finally:
        await sender.stop()


async def test_pacing_stays_under_the_cap_without_flood_waits(
    store: Store, clock: ManualClock, fake: FakeBotApi, bot: Bot
) -> None:
    """The configured rate sits under Telegram's cap, as the default 25/s does under its ~30/s:
    the margin absorbs the jitter between our clock and the server's. (An unpaced sender would
    put 150 messages through 16 requests in flight and draw 429s at once.) The pace itself is
    checked exactly on a simulated clock in test_pacing.py."""
    fake.enforce_limits(global_per_second=100)
    users = range(1, 151)
    for uid in users:
        fake.user(uid)
    ids = await queue(store, clock, *(OutgoingMessage(chat_id=u, text="x") for u in users))
    sender = OutboxSender(store, bot, clock, send_rate=85)
    await run(sender)
    assert fake.count_429 == 0 and sender.stats.flood_waits == 0
    assert await statuses(store, ids) == [OutboxStatus.SENT] * 150
    assert [len(fake.sent_to(u)) for u in users] == [1] * 150


async def test_one_chat_gets_its_messages_in_order_at_most_one_per_second(
    store: Store, clock: ManualClock, fake: FakeBotApi, bot: Bot
) -> None:
    fake.user(1)
    fake.user(2)
    await queue(
        store,
        clock,
        OutgoingMessage(chat_id=1, text="first"),
        OutgoingMessage(chat_id=1, text="second"),
        OutgoingMessage(chat_id=2, text="other chat"),
    )
    await run(OutboxSender(store, bot, clock, send_rate=100))
    to_one = [c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == 1]
    assert [m.text for m in fake.sent_to(1)] == ["first", "second"]
    assert to_one[1].at - to_one[0].at >= 1.0
    other = next(c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == 2)
    assert other.at < to_one[1].at  # another chat does not wait behind chat 1


async def test_a_group_that_became_a_supergroup_is_followed(
    store: Store, clock: ManualClock, fake: FakeBotApi, bot: Bot
) -> None:
    fake.group(-4001, "Members")
    fake.migrate_group(-4001, -1004001)
    ids = await queue(
        store,
        clock,
        OutgoingMessage(chat_id=-4001, text="wish 1"),
        OutgoingMessage(chat_id=-4001, text="wish 2"),
    )
    await run(OutboxSender(store, bot, clock, send_rate=100))
    assert [m.text for m in fake.sent_to(-1004001)] == ["wish 1", "wish 2"]
    assert await statuses(store, ids) == [OutboxStatus.SENT] * 2
    async with store.read() as conn:
        assert [i.message.chat_id for i in await outbox_repo.rows_for_chat(conn, -1004001)] == [
            -1004001,
            -1004001,
        ]


async def render_once_only(item: OutboxItem, chat: int) -> Action:
    """Stored rows as stored; announcements (AT_MOST_ONCE: not worth a second copy) as a line
    naming their broadcast."""
    if item.kind is None:
        return await send_as_stored(item, chat)
    return Send(
        OutgoingMessage(chat_id=chat, text=f"announcement {(item.params or {})['broadcast_id']}")
    )


async def queue_once_only(store: Store, clock: ManualClock, chat: int, broadcast: int) -> int:
    async with store.transaction() as conn:
        row = await outbox_repo.enqueue_notice(
            conn, chat, Announcement(broadcast_id=broadcast), language="zh", now=clock.now()
        )
    assert row is not None
    return row


async def test_rows_left_in_flight_by_a_crash_are_settled_by_their_kind_at_the_next_start(
    store: Store, clock: ManualClock, fake: FakeBotApi, bot: Bot
) -> None:
    for uid in (1, 2, 3, 4):
        fake.user(uid)
    notices = await queue(
        store,
        clock,
        OutgoingMessage(chat_id=1, text="claimed, never sent"),
        OutgoingMessage(chat_id=2, text="its request went out: worth a rare duplicate"),
    )
    left = await queue_once_only(store, clock, 3, 1)  # its request went out: not twice
    not_left = await queue_once_only(store, clock, 4, 1)  # claimed, never sent
    ids = [*notices, left, not_left]
    async with store.transaction() as conn:  # the process died after this
        await outbox_repo.claim_many(conn, ids)
        await outbox_repo.mark_written(conn, [notices[1], left], clock.now())
    sender = OutboxSender(store, bot, clock, send_rate=100, render=render_once_only)
    await run(sender)
    assert (sender.recovered, sender.assumed) == ([notices[0], notices[1], not_left], [left])
    assert await statuses(store, ids) == [OutboxStatus.SENT] * 4
    assert [len(fake.sent_to(u)) for u in (1, 2, 3, 4)] == [1, 1, 0, 1]


class HangingBot(Bot):
    """Its sendMessage reaches the server, then never returns: the process is about to die."""

    async def send_message(self, *args: Any, **kwargs: Any) -> Message:
        await super().send_message(*args, **kwargs)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_an_announcement_whose_request_went_out_before_a_crash_is_not_sent_again(
    store: Store, clock: ManualClock, fake: FakeBotApi
) -> None:
    fake.user(1)
    ids = [await queue_once_only(store, clock, 1, 1)]
    async with HangingBot(TOKEN, base_url=fake.base_url, request=sender_request(8)) as hanging:
        doomed = OutboxSender(store, hanging, clock, send_rate=100, render=render_once_only)
        await doomed.start()
        await fake.wait_for_call("sendMessage")
        await asyncio.sleep(0.2)  # the "request went out" note commits meanwhile
        crash = [doomed._runner, doomed._outs._task, doomed._results._task, *doomed._tasks]
        for task in crash:  # a crash: no clean-up of any kind
            if task is not None:
                task.cancel()
        await asyncio.wait([t for t in crash if t is not None])
        for writer in (doomed.direct, doomed._direct_outs):  # SQLite's held connections
            if writer is not None:
                await writer.close()
    async with Bot(TOKEN, base_url=fake.base_url, request=sender_request(8)) as fresh:
        await run(OutboxSender(store, fresh, clock, send_rate=100, render=render_once_only))
    assert len(fake.sent_to(1)) == 1
    assert await statuses(store, ids) == [OutboxStatus.SENT]


class HeldBot(Bot):
    """A Bot whose sendMessage waits for the test: a request kept in flight."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._started = asyncio.Event()
        self._release = asyncio.Event()

    async def send_message(self, *args: Any, **kwargs: Any) -> Message:
        self._started.set()
        await self._release.wait()
        return await super().send_message(*args, **kwargs)


async def test_graceful_stop_lets_the_row_in_flight_finish(
    store: Store, clock: ManualClock, fake: FakeBotApi
) -> None:
    for uid in (1, 2, 3):
        fake.user(uid)
    ids = await queue(store, clock, *(OutgoingMessage(chat_id=u, text="x") for u in (1, 2, 3)))
    async with HeldBot(TOKEN, base_url=fake.base_url) as held:
        sender = OutboxSender(store, held, clock, send_rate=100, max_in_flight=1)
        await sender.start()
        await asyncio.wait_for(held._started.wait(), 5)
        stopping = asyncio.create_task(sender.stop())
        await asyncio.sleep(0.1)
        assert not stopping.done()  # it waits for the row in flight
        held._release.set()
        await asyncio.wait_for(stopping, 5)
    assert await statuses(store, ids) == [
        OutboxStatus.SENT,
        OutboxStatus.PENDING,
        OutboxStatus.PENDING,
    ]
    assert len(fake.calls_to("sendMessage")) == 1


async def sender_on(
    fake: FakeBotApi, store: Store, clock: ManualClock
) -> tuple[Bot, OutboxSender]:
    """A sender with a short read timeout and quick probes, on the production transport."""
    bot = Bot(TOKEN, base_url=fake.base_url, request=sender_request(8, read_timeout=0.5))
    sender = OutboxSender(
        store,
        bot,
        clock,
        send_rate=100,
        backoff_base=0.02,
        breaker=Breaker(first=0.05, most=0.2),
        render=render_once_only,
    )
    return bot, sender


async def test_an_outage_fails_no_row_and_sending_resumes_once_a_probe_gets_through(
    store: Store, clock: ManualClock, fake: FakeBotApi
) -> None:
    for uid in range(1, 21):
        fake.user(uid)
    ids = await queue(store, clock, *(OutgoingMessage(chat_id=u, text="x") for u in range(1, 21)))
    bot, sender = await sender_on(fake, store, clock)
    async with bot:
        fake.outage(1.5)  # a router restart: every connection refused
        await run(sender)
    assert await statuses(store, ids) == [OutboxStatus.SENT] * 20
    assert [len(fake.sent_to(u)) for u in range(1, 21)] == [1] * 20
    assert sender.stats.failed == 0 and sender.breaker.trips >= 1 and sender.stats.probes >= 2
    assert sender.stats.resent == 0  # refused: nothing had left, nothing was in doubt


@pytest.mark.parametrize("processed", [True, False])
async def test_notices_reset_after_the_server_read_them_are_sent_again_never_lost(
    store: Store, clock: ManualClock, fake: FakeBotApi, processed: bool
) -> None:
    for uid in range(1, 11):
        fake.user(uid)
    ids = await queue(store, clock, *(OutgoingMessage(chat_id=u, text="x") for u in range(1, 11)))
    fake.reset_after_read(count=3, processed=processed, methods={"sendMessage"})
    bot, sender = await sender_on(fake, store, clock)
    async with bot:
        await run(sender)
    got = [len(fake.sent_to(u)) for u in range(1, 11)]
    assert await statuses(store, ids) == [OutboxStatus.SENT] * 10
    assert min(got) == 1 and sender.stats.resent == 3  # AT_LEAST_ONCE: none lost
    assert sum(got) - 10 == (3 if processed else 0)  # the duplicates the contract allows


async def test_announcements_in_doubt_count_as_delivered_and_are_never_sent_twice(
    store: Store, clock: ManualClock, fake: FakeBotApi
) -> None:
    for uid in range(1, 11):
        fake.user(uid)
    ids = [await queue_once_only(store, clock, uid, 7) for uid in range(1, 11)]
    fake.reset_after_read(count=2, methods={"sendMessage"})  # read, done, then reset
    fake.delay_answer(None, delay=1.0, methods={"sendMessage"})  # done, answered too late
    bot, sender = await sender_on(fake, store, clock)
    async with bot:
        await sender.start()
        try:
            await fake.wait_for_call("sendMessage", lambda c: c.params.get("chat_id") == 10)
            fake.heal()
            await sender.drain(15)
        finally:
            await sender.stop()
    assert [len(fake.sent_to(u)) for u in range(1, 11)] == [1] * 10  # none lost, none twice
    assert await statuses(store, ids) == [OutboxStatus.SENT] * 10
    assert sender.stats.assumed >= 2 and sender.stats.resent == 0
    async with store.read() as conn:
        doubtful = [await outbox_repo.get_item(conn, i) for i in ids]
    assert sum(1 for i in doubtful if i and i.sent_message_id is None) == sender.stats.assumed


async def test_a_row_our_own_code_cannot_send_fails_at_once_and_pauses_nobody(
    store: Store, clock: ManualClock, fake: FakeBotApi, bot: Bot
) -> None:
    fake.user(1)
    fake.user(2)
    ids = await queue(
        store,
        clock,
        OutgoingMessage(chat_id=1, text=None),  # nothing to send: a bug, not Telegram's fault
        OutgoingMessage(chat_id=2, text="fine"),
    )
    sender = OutboxSender(store, bot, clock, send_rate=100)
    await run(sender)
    assert await statuses(store, ids) == [OutboxStatus.FAILED, OutboxStatus.SENT]
    assert sender.breaker.trips == 0 and sender.stats.probes == 0


async def test_a_stale_row_whose_parameters_no_longer_load_still_ends(
    store: Store, clock: ManualClock, fake: FakeBotApi, bot: Bot
) -> None:
    fake.user(1)
    told: list[str] = []

    async def tell(conn: object, notice: Notice, key: str) -> None:
        told.append(key)

    async with store.transaction() as conn:  # an urgent offer queued by an older release
        row = await outbox_repo.enqueue_notice(
            conn, 1, Announcement(broadcast_id=1), language="zh", now=clock.now()
        )
        await conn.execute(
            update(outbox_table)
            .where(outbox_table.c.id == row)
            .values(kind="wish.offered", params={"wish": {"urgent": True}})
        )
    clock.current += timedelta(days=2)
    sender = OutboxSender(store, bot, clock, send_rate=100, stale=tell)
    await run(sender)
    assert row is not None and await statuses(store, [row]) == [OutboxStatus.FAILED]
    assert told == [] and sender.stats.stale == 1 and fake.sent_to(1) == []


def test_a_breaker_that_trips_again_soon_after_closing_keeps_backing_off() -> None:
    breaker = Breaker(first=0.5, most=5.0)
    now = time.monotonic()
    assert breaker.trip(now) and breaker.next_probe == now + 0.5
    breaker.close()  # the probe got through ...
    now = time.monotonic()
    breaker.trip(now)  # ... but sending fails again at once (getMe works, sends do not)
    assert breaker.next_probe == now + 1.0
    breaker.close()
    breaker.closed_at -= 60  # a minute of calm later, a new fault starts from the beginning
    now = time.monotonic()
    breaker.trip(now)
    assert breaker.next_probe == now + 0.5


def test_taking_a_contact_off_a_screen_never_goes_stale() -> None:
    assert Notice.policy_of(RetireLive.KIND, {}).stale_after == timedelta.max
    assert Notice.policy_of(Announcement.KIND, {}).delivery is Delivery.AT_MOST_ONCE
    assert Notice.policy_of(None, None).delivery is Delivery.AT_LEAST_ONCE
