"""Update handling where Linli writes: the claim path and a read/write mix, on the scale database.

Both run the whole bot (the real Application, long polling, the outbox sender) in this
process against the fake Bot API on loopback, on the database `bench/scale.py` seeded (a
million wishes), after its timed operations.

1. The claim path: 50 members each send `/claim N` 20 times, for distinct open wishes, all
   queued before the bot starts; the rate at which the bot answers them (one card each)
   against a bare python-telegram-bot bot answering the same 1,000 updates from the same
   people with one message of the same length. Target: at least 0.5 of the bare bot's rate (a
   claim writes, and tells the resident through the outbox, where the bare bot only sends).
2. A mix at a steady 100 updates per second for 10 seconds from 200 members: 70 % reads
   (the open wishes page, a wish card pressed from it, their tasks), 30 % claims. The time
   from the update being available to its answer arriving at the fake: median, p95, p99.
   Target: p99 < 100 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.app import build_application, open_services, running
from bot.config import Settings
from handlers.wishes.buttons import ShowWish
from tests.support.fake_bot_api import FakeBotApi, FakeUser

TOKEN = "123456:BENCH"
T = TypeVar("T")
CLAIMERS, CLAIMS_EACH = 50, 20
MIX_PEOPLE, MIX_RATE, MIX_SECONDS, MIX_WRITES = 200, 100, 10, 0.3


def _settings(database_url: str, fake: FakeBotApi) -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake.base_url,
        telegram_api_file_url=fake.base_file_url,
        database_url=database_url,
        default_language="zh",
        # Seeded members claim far more than a real one would hold at once.
        max_active_claims=100_000,
    )


def _people(fake: FakeBotApi, ids: Sequence[int]) -> list[FakeUser]:
    return [
        fake.user(uid, first_name=f"党员{n}", language_code="zh-hans") for n, uid in enumerate(ids)
    ]


def _residents(fake: FakeBotApi, ids: Iterable[int]) -> None:
    """The posters of the wishes claimed: told of each claim (through the outbox)."""
    for uid in ids:
        fake.user(uid, first_name=f"居民{uid}", language_code="zh-hans")


async def _answered(fake: FakeBotApi, chats: set[int], expected: int, timeout: float) -> None:
    """Until the bot sent `expected` messages to `chats` (a cheap check: it must not slow the
    bot it watches)."""
    deadline = time.monotonic() + timeout
    while sum(1 for m in fake.messages if m.chat_id in chats) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only part of {expected} answers came within {timeout} s")
        await asyncio.sleep(0.05)


async def _linli(database_url: str, drive: Callable[[FakeBotApi], Awaitable[T]]) -> T:
    async with FakeBotApi() as fake:
        services = await open_services(_settings(database_url, fake))
        try:
            async with running(build_application(services), poll_timeout=1):
                return await drive(fake)
        finally:
            await services.store.close()


async def claim_path(
    database_url: str, members: Sequence[int], open_ids: Sequence[int], posters: dict[int, int]
) -> None:
    claims = [
        (members[n % CLAIMERS], f"/claim {open_ids[n]}") for n in range(CLAIMERS * CLAIMS_EACH)
    ]
    chats = set(members[:CLAIMERS])
    cards: list[str] = []

    async def drive(fake: FakeBotApi) -> float:
        people = {p.id: p for p in _people(fake, members[:CLAIMERS])}
        _residents(fake, posters.values())
        started = time.perf_counter()
        for uid, text in claims:
            await people[uid].send(text)
        await _answered(fake, chats, len(claims), timeout=600)
        elapsed = time.perf_counter() - started
        answers = [m for m in fake.messages if m.chat_id in chats]
        cards.extend(m.raw_text or "" for m in answers[:1])
        extra = len(answers) - len(claims)
        if extra:
            print(f"  note: {extra} more answers than claims")
        return len(claims) / elapsed

    linli = await _linli(database_url, drive)
    echo = await _echo_rate(members[:CLAIMERS], claims, cards[0])
    print(
        f"  claim path ({len(claims):,} x /claim N from {CLAIMERS} members, one card each): "
        f"Linli {linli:.1f}/s, bare PTB bot {echo:.1f}/s: ratio {linli / echo:.2f} "
        f"(target >= 0.5)"
    )


async def _echo_rate(
    people: Sequence[int], updates: Sequence[tuple[int, str]], reply: str
) -> float:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await update.effective_chat.send_message(reply, parse_mode=ParseMode.HTML)

    async with FakeBotApi() as fake:
        app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
        app.add_handler(MessageHandler(filters.ALL, echo))
        senders = {p.id: p for p in _people(fake, people)}
        async with app:
            await app.start()
            assert app.updater is not None
            started = time.perf_counter()
            for uid, text in updates:
                await senders[uid].send(text)
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await _answered(fake, set(people), len(updates), timeout=600)
            elapsed = time.perf_counter() - started
            await app.updater.stop()
            await app.stop()
    return len(updates) / elapsed


async def mix(
    database_url: str, members: Sequence[int], open_ids: Sequence[int], posters: dict[int, int]
) -> None:
    """The steady mix; `open_ids` are wishes nobody claimed yet (claims and cards use them)."""
    total = MIX_RATE * MIX_SECONDS
    writes = int(total * MIX_WRITES)

    async def drive(fake: FakeBotApi) -> list[float]:
        people = _people(fake, members[:MIX_PEOPLE])
        # Every open wish's poster: the claim path's notices may still be leaving.
        _residents(fake, posters.values())
        asked: dict[int, list[float]] = {p.id: [] for p in people}
        to_claim = iter(open_ids)
        to_view = iter(open_ids[writes:])
        started = time.monotonic()
        for n in range(total):
            due = started + n / MIX_RATE
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            person = people[n % len(people)]
            asked[person.id].append(time.monotonic())
            kind = n % 10
            if kind < 3:  # 30 % claims
                await person.send(f"/claim {next(to_claim)}")
            elif kind < 6:
                await person.press_data(
                    None, ShowWish(wish_id=next(to_view)).pack(), expect_answer=False
                )
            elif kind < 9:
                await person.send("/wishes")
            else:
                await person.send("/mytasks")
        await _answered(fake, set(asked), total, timeout=120)
        latencies: list[float] = []
        for uid, times in asked.items():
            answers = [m.sent_at for m in fake.messages if m.chat_id == uid]
            latencies += [(a - q) * 1000 for q, a in zip(times, answers, strict=False)]
        return sorted(latencies)

    latencies = await _linli(database_url, drive)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))]

    print(
        f"  mix ({MIX_RATE} updates/s for {MIX_SECONDS} s, 70 % reads / 30 % claims): "
        f"median {statistics.median(latencies):.0f} ms, p95 {pct(0.95):.0f} ms, "
        f"p99 {pct(0.99):.0f} ms, max {latencies[-1]:.0f} ms (target p99 < 100 ms)"
    )
