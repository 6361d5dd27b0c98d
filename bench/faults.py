"""The fault table: a broadcast to N recipients (default 10,000) sent by the real bot process
while the fake Bot API misbehaves the way a network and a server do, and while the bot is
killed with SIGKILL at random points. For each: lost and duplicated copies per recipient
(counted at the fake), the rows the sender counted as delivered while in doubt, and the rate
over the whole run as a fraction of the cap, and over the run less the fault's window (what
the recovery costs: the rows in flight when the fault began wait for their chat's back-off, and
the breaker's probes back off to one every 5 s).

An announcement is AT_MOST_ONCE (bot/runtime/outbox.py): a row in doubt is counted as delivered,
never sent twice. The fake processes every request it has read in full (as a server does), so
in this table a row in doubt was in fact delivered; a loss would show a request dropped after
it left, which the contract accepts and this table would count.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support.delivery_rig import (
    ANNOUNCEMENT,
    BotProcess,
    broadcast_sends,
    prepare_broadcast,
    tally,
    unconfirmed_chats,
    wait_for_sends,
    wait_until_delivered,
)
from tests.support.fake_bot_api import FakeBotApi

FAULT_AT = 0.2  # the fault begins once this share of the recipients has its copy
# A long announcement (about 3,900 characters, 37 KB form-encoded) for the slow-reads run.
LONG_TEXT = ANNOUNCEMENT + "：" + "请各位居民带好工具，在楼下集合。" * 240


@dataclass(frozen=True)
class Fault:
    name: str
    seconds: float  # how long the fault lasts (0: none)
    inject: Callable[[FakeBotApi], object] | None = None
    text: str = ANNOUNCEMENT
    kills: int = 0


def faults() -> list[Fault]:
    return [
        Fault("none", 0),
        Fault("outage, connections refused", 20, lambda f: f.outage(20)),
        Fault("hang: requests held, then done", 15, lambda f: f.hang(15)),
        Fault("reset after the request was read", 10, lambda f: f.reset_after_read(seconds=10)),
        Fault("answer after the read timeout", 10, lambda f: f.delay_answer(10, delay=7)),
        Fault("5xx burst (502)", 10, lambda f: f.fail_5xx(seconds=10, status=502)),
        Fault("slow reads, 3,900-char text", 20, lambda f: f.slow_reads(20, 64_000), LONG_TEXT),
        Fault("SIGKILL x3 at random points", 0, kills=3),
    ]


@dataclass
class Row:
    fault: Fault
    lost: int
    duplicated: int
    in_doubt: int
    seconds: float
    rate: float  # over the whole run
    rate_outside: float  # over the run less the fault's window


async def run_one(fault: Fault, recipients: int, rate: int, seed: int) -> Row:
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotApi() as fake:
            fake.enforce_limits(global_per_second=rate)
            prepared = await prepare_broadcast(Path(folder), fake, recipients, text=fault.text)
            bot = BotProcess(fake, prepared.database_url, Path(folder), send_rate=rate)
            await bot.start()
            try:
                await wait_for_sends(fake, int(recipients * FAULT_AT), timeout=600)
                if fault.inject is not None:
                    fault.inject(fake)
                chance = random.Random(seed)
                for share in sorted(chance.uniform(FAULT_AT, 0.9) for _ in range(fault.kills)):
                    await wait_for_sends(fake, int(recipients * share), timeout=600)
                    await asyncio.sleep(chance.uniform(0, 0.05))  # anywhere in a cycle
                    await bot.kill()
                    await bot.start()
                await wait_until_delivered(prepared.database_url, prepared.broadcast_id, 900)
                await fake.wait_idle(quiet=1.0, timeout=120)
            finally:
                if bot.process is not None and bot.process.returncode is None:
                    await bot.terminate()
            sends = broadcast_sends(fake, prepared)
            lost, duplicated = tally(fake, prepared)
            unconfirmed = await unconfirmed_chats(prepared.database_url, prepared.broadcast_id)
            doubt = len(unconfirmed)
            seconds = sends[-1] - sends[0] if len(sends) > 1 else 0.0
            achieved = (len(sends) - 1) / seconds if seconds else 0.0
            outside = (len(sends) - 1) / (seconds - fault.seconds) if seconds else 0.0
            return Row(fault, lost, duplicated, doubt, seconds, achieved / rate, outside / rate)


async def fault_table(recipients: int, rate: int) -> None:
    print(
        f"faults: a broadcast to {recipients:,} (AT_MOST_ONCE), SEND_RATE={rate}; each fault "
        f"begins once {FAULT_AT:.0%} have their copy. Target: 0 lost, 0 duplicated."
    )
    print(
        f"  {'fault':<36} {'lasts':>6} {'lost':>5} {'dup':>5} {'in doubt':>9} "
        f"{'took':>7} {'rate/cap':>9} {'outside the window':>19}"
    )
    for number, fault in enumerate(faults()):
        started = time.monotonic()
        row = await run_one(fault, recipients, rate, seed=number)
        lasts = f"{fault.seconds:.0f} s" if fault.seconds else "-"
        print(
            f"  {fault.name:<36} {lasts:>6} {row.lost:>5} {row.duplicated:>5} "
            f"{row.in_doubt:>9} {row.seconds:>6.1f}s {row.rate:>9.3f} {row.rate_outside:>19.3f}"
            f"   (bench {time.monotonic() - started:.0f} s)",
            flush=True,
        )
