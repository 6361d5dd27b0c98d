"""Update handling where Linli writes: the claim path and a read/write mix, on the scale database.

The bots run as their own processes (`python -m bot run`, and a bare python-telegram-bot bot,
bench/echo_bot.py), long polling the fake Bot API that runs in this process: the fake's work
(Telegram's, in production) is not on the bot's CPU, and each bot's CPU time is read from
/proc. Linli runs on the database `bench/scale.py` seeded (a million wishes), after its timed
operations, with everything it runs in production (the outbox sender, reminders, the sweep).

1. The claim path: 50 members each send `/claim N` 20 times, for distinct open wishes, all
   waiting before the bot starts; the rate at which the answers (one card each) arrive, first
   to last, and the bot's CPU per update, against the bare bot answering the same 1,000
   updates from the same people with one message as long as the card. Target: at least 0.5 of
   the bare bot's rate (a claim writes, keeps the card current and tells the resident through
   the outbox, where the bare bot only sends).
2. A mix at a steady 100 updates per second for 10 seconds from 200 members: 70 % reads
   (a wish card pressed from a list, the open wishes page, their tasks), 30 % claims. The
   time from the update being available to its answer arriving: median, p95, p99. Target:
   p99 < 100 ms.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from handlers.wishes.buttons import ShowWish
from tests.support.delivery_rig import BotProcess, cpu_seconds
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

CLAIMERS, CLAIMS_EACH = 50, 20
# 201 people (prime to 10): each sends every kind of update in turn.
MIX_PEOPLE, MIX_RATE, MIX_SECONDS, MIX_WRITES = 201, 100, 10, 0.3
YOURS = "由您认领了"  # the claimer's card says the wish is theirs
# Seeded members claim far more than a real one would hold at once; the outbox is paced at
# its highest rate so that telling the residents costs the CPU it costs, not the wait of a
# flood limit; the sweep runs as often as in production.
LINLI: dict[str, object] = {
    "max_active_claims": 100_000,
    "send_rate": 1000,
    "sweep_interval_seconds": 5,
}


def _people(fake: FakeBotApi, ids: Iterable[int], name: str) -> list[FakeUser]:
    return [fake.user(uid, first_name=f"{name}{uid}", language_code="zh-hans") for uid in ids]


def _answers(fake: FakeBotApi, chats: set[int]) -> list[FakeMessage]:
    return [m for m in fake.messages if m.chat_id in chats]


async def _until(done: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.05)


async def _rate(
    bot: BotProcess, updates: Sequence[tuple[FakeUser, str]], told: set[int]
) -> tuple[float, float, FakeMessage]:
    """Queue `updates`, start `bot`, wait for one answer each and for one message per update
    to the chats `told` (the residents a claim tells): (updates per second from the first
    answer to the last message, the bot's CPU ms per update meanwhile, the first answer)."""
    fake, chats = bot.fake, {person.id for person, _ in updates}
    for person, text in updates:
        await person.send(text)
    await bot.start()
    assert bot.process is not None
    try:
        await _until(lambda: bool(_answers(fake, chats)), "the first answer", 120)
        cpu_before = cpu_seconds(bot.process.pid)

        def all_done() -> bool:
            answered = len(_answers(fake, chats)) >= len(updates)
            return answered and len(_answers(fake, told)) >= (len(updates) if told else 0)

        await _until(all_done, f"{len(updates)} answers", 600)
        cpu = cpu_seconds(bot.process.pid) - cpu_before
    finally:
        await bot.terminate()
    answers = _answers(fake, chats)
    if len(answers) != len(updates):
        print(f"    note: {len(answers)} answers to {len(updates)} updates")
    last = max(m.sent_at for m in answers + _answers(fake, told))
    span = last - answers[0].sent_at
    return (len(updates) - 1) / span, cpu * 1000 / (len(updates) - 1), answers[0]


async def claim_path(
    database_url: str, members: Sequence[int], open_ids: Sequence[int], posters: dict[int, int]
) -> None:
    claims = [(members[n % CLAIMERS], open_ids[n]) for n in range(CLAIMERS * CLAIMS_EACH)]
    residents = {posters[wish_id] for _, wish_id in claims}
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "linli").mkdir()
        (Path(folder) / "echo").mkdir()
        async with FakeBotApi() as fake:
            people = {p.id: p for p in _people(fake, members[:CLAIMERS], "党员")}
            _people(fake, posters.values(), "居民")
            bot = BotProcess(fake, database_url, Path(folder) / "linli", **LINLI)  # type: ignore[arg-type]
            updates = [(people[uid], f"/claim {wish_id}") for uid, wish_id in claims]
            linli, linli_cpu, card = await _rate(bot, updates, residents)
            cards = _answers(fake, set(people))
            not_cards = sum(1 for m in cards if YOURS not in (m.text or ""))
        async with FakeBotApi() as fake:
            people = {p.id: p for p in _people(fake, members[:CLAIMERS], "党员")}
            echo_bot = BotProcess(
                fake,
                database_url,
                Path(folder) / "echo",
                command=("-m", "bench.echo_bot"),
                echo_reply=card.raw_text or "",
                echo_markup=json.dumps(card.reply_markup or {}),
            )
            updates = [(people[uid], f"/claim {wish_id}") for uid, wish_id in claims]
            echo, echo_cpu, _ = await _rate(echo_bot, updates, set())
    print(
        f"  claim path ({len(claims):,} x /claim N from {CLAIMERS} members, each answered "
        f"with the card and its resident told): Linli {linli:.1f}/s ({linli_cpu:.1f} ms CPU "
        f"each), bare PTB bot answering with the same card {echo:.1f}/s ({echo_cpu:.1f} ms): "
        f"ratio {linli / echo:.2f} (target >= 0.5)"
        + (f"; {not_cards} answers were not the claimer's card" if not_cards else "")
    )


async def mix(
    database_url: str, members: Sequence[int], open_ids: Sequence[int], posters: dict[int, int]
) -> None:
    """The steady mix; `open_ids` are wishes nobody claimed yet (claims and cards use them)."""
    total = MIX_RATE * MIX_SECONDS
    writes = int(total * MIX_WRITES)
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotApi() as fake:
            people = _people(fake, members[:MIX_PEOPLE], "党员")
            warm = fake.user(members[MIX_PEOPLE], first_name="预热", language_code="zh-hans")
            _people(fake, posters.values(), "居民")
            bot = BotProcess(fake, database_url, Path(folder), **LINLI)  # type: ignore[arg-type]
            await bot.start()
            try:
                await warm.send("/help")  # started and answering
                await _until(lambda: bool(_answers(fake, {warm.id})), "started", 120)
                latencies = await _paced(fake, people, open_ids, writes, total)
            finally:
                await bot.terminate()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))]

    print(
        f"  mix ({MIX_RATE} updates/s for {MIX_SECONDS} s, 70 % reads / 30 % claims): "
        f"median {statistics.median(latencies):.0f} ms, p95 {pct(0.95):.0f} ms, "
        f"p99 {pct(0.99):.0f} ms, max {latencies[-1]:.0f} ms (target p99 < 100 ms)"
    )


async def _paced(
    fake: FakeBotApi, people: list[FakeUser], open_ids: Sequence[int], writes: int, total: int
) -> list[float]:
    """Send `total` updates at MIX_RATE a second; each one's time to its answer (ms, sorted).
    Every update gets exactly one new message in its sender's chat, so the k-th answer in a
    chat is the answer to the k-th update sent there."""
    asked: dict[int, list[float]] = {p.id: [] for p in people}
    to_claim = iter(open_ids)
    to_view = iter(open_ids[writes:])
    started = time.monotonic()
    for n in range(total):
        await asyncio.sleep(max(0.0, started + n / MIX_RATE - time.monotonic()))
        person = people[n % len(people)]
        asked[person.id].append(time.monotonic())
        kind = n % 10
        if kind < 3:  # 30 % claims
            await person.send(f"/claim {next(to_claim)}")
        elif kind < 6:
            data = ShowWish(wish_id=next(to_view)).pack()
            await person.press_data(None, data, expect_answer=False)
        elif kind < 9:
            await person.send("/wishes")
        else:
            await person.send("/mytasks")

    def answered() -> bool:
        return all(len(_answers(fake, {uid})) >= len(times) for uid, times in asked.items())

    await _until(answered, f"answers to {total} updates", 120)
    latencies: list[float] = []
    for uid, times in asked.items():
        answers = [m.sent_at for m in _answers(fake, {uid})]
        latencies += [(a - q) * 1000 for q, a in zip(times, answers, strict=True)]
    return sorted(latencies)
