"""Export: `/export`'s workbook of a year of a community on the scale database (bench/scale.py
seeds it: 1,000,000 wishes, 100,000 users), while the bot answers other people.

The real bot (its Application, handlers, services and outbox, long polling) runs in this
process against the fake Bot API, as in bench/throughput.py; the export is started the way
the /export handler starts it (`handlers.stats.export.export_file`) on the bot's own loop
and services. Meanwhile seeded residents send plain requests (/help) at a steady rate; each
one's time from being available to its answer arriving is its latency. Printed for each
place the writing may run:

  - baseline: the same requests with no export running;
  - thread: the writer in a thread of the bot's process (its own event loop and connection);
  - process: the writer in a process of its own (what the bot does).

For each: the export's wall time, rows, file size, the peak memory — for "process" the
writer process's peak resident set (VmHWM, sampled from /proc while it runs), for "thread"
how far the bot process's own peak (VmHWM, reset before the export) rose — and the requests'
latency median, p95, p99 and max. Target: p99 < 100 ms. Then the whole seeded history (all
1,000,000 wishes, near Excel's 1,048,576 rows a sheet) once, in the process.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from bench import scale
from bot.app import build_application, open_services, running
from bot.clock import ManualClock
from bot.models import NodeKind, Period, PeriodKind, User
from bot.services import Services
from bot.services.stats.period import year_of
from handlers.stats.export import ExportFile, ExportFormat, Runner, export_file
from storage.store import Store
from tests.conftest import COORDINATOR_ID, make_settings
from tests.support.fake_bot_api import FakeBotApi, FakeUser
from tests.support.procfs import child_pids, peak_rss_kib

# Plain requests per second from other people while the export runs: a busy evening of a
# large community is a few a second; 20 leaves room on a shared 2-core machine.
RATE = 20
PEOPLE = 100
MIN_SECONDS = 5.0  # the baseline's length, and the least any run measures


def _reset_hwm() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from now


class _Inbox:
    """The fake's messages per chat, read on from where it stopped (a scan is not free)."""

    def __init__(self, fake: FakeBotApi) -> None:
        self._fake, self._read = fake, 0
        self._times: dict[int, list[float]] = {}

    def times(self, chat_id: int) -> list[float]:
        messages = self._fake.messages
        for message in messages[self._read :]:
            self._times.setdefault(message.chat_id, []).append(message.sent_at)
        self._read = len(messages)
        return self._times.get(chat_id, [])


async def _requests(
    fake: FakeBotApi, people: list[FakeUser], busy: Callable[[], bool]
) -> list[float]:
    """/help at RATE a second from `people` while `busy()` (and MIN_SECONDS at least); each
    one's time to its answer (ms, sorted). Each gets one message in its chat, so the k-th
    answer in a chat answers the k-th request."""
    inbox = _Inbox(fake)
    asked: dict[int, list[float]] = {p.id: [] for p in people}
    before = {p.id: len(inbox.times(p.id)) for p in people}
    started = time.monotonic()
    n = 0
    while busy() or time.monotonic() - started < MIN_SECONDS:
        await asyncio.sleep(max(0.0, started + n / RATE - time.monotonic()))
        person = people[n % len(people)]
        asked[person.id].append(time.monotonic())
        await person.send("/help")
        n += 1
    deadline = time.monotonic() + 120
    while any(len(inbox.times(u)) - before[u] < len(t) for u, t in asked.items()):
        if time.monotonic() > deadline:
            raise TimeoutError("answers to the requests")
        await asyncio.sleep(0.05)
    latencies: list[float] = []
    for uid, times in asked.items():
        answers = inbox.times(uid)[before[uid] :]
        latencies += [(a - q) * 1000 for q, a in zip(times, answers, strict=True)]
    return sorted(latencies)


def _summary(latencies: list[float]) -> str:
    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))]

    return (
        f"{len(latencies)} requests: median {statistics.median(latencies):.0f} ms, "
        f"p95 {pct(0.95):.0f} ms, p99 {pct(0.99):.0f} ms, max {latencies[-1]:.0f} ms"
    )


async def _while_exporting(
    fake: FakeBotApi,
    people: list[FakeUser],
    make: Callable[[], Awaitable[ExportFile]],
    runner: Runner,
) -> tuple[ExportFile, float, int, list[float]]:
    """Run the export while requests come in: (file, seconds, peak KiB, latencies)."""
    _reset_hwm()
    base = peak_rss_kib()
    peak = 0
    task = asyncio.ensure_future(make())

    async def watch() -> None:
        nonlocal peak
        while not task.done():
            if runner == "process":
                peak = max([peak, *(peak_rss_kib(pid) for pid in child_pids())])
            await asyncio.sleep(0.2)

    started = time.perf_counter()
    watcher = asyncio.ensure_future(watch())
    latencies = await _requests(fake, people, lambda: not task.done())
    made = await task
    seconds = time.perf_counter() - started
    await watcher
    if runner == "thread":
        peak = peak_rss_kib() - base
    return made, seconds, peak, latencies


async def run(database_url: str | None, folder: Path, *, wishes_count: int) -> None:
    # The sweep as in production (the tests' 0.2 s would be most of the loop's work).
    settings = make_settings(
        folder, max_active_claims=1000, max_open_wishes=1000, sweep_interval_seconds=5
    )
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    store = await Store.open(settings.database_url)
    try:
        services = await Services.build(settings, store, ManualClock(scale.NOW))
        started = time.perf_counter()
        picks = await scale.seed(services, wishes_count=wishes_count)
        await services.users.register(
            COORDINATOR_ID, display_name="社区书记", language="zh", building_id=None
        )
        db = store.engine.dialect.name
        print(
            f"\n[{db}] seeded {scale.USERS:,} users and {wishes_count:,} wishes in "
            f"{time.perf_counter() - started:.0f} s"
        )
    finally:
        await store.close()

    async with FakeBotApi() as fake:
        live = settings.model_copy(
            update={
                "telegram_api_base_url": fake.base_url,
                "telegram_api_file_url": fake.base_file_url,
            }
        )
        services = await open_services(live)
        try:
            people = [
                fake.user(uid, first_name=f"居民{uid}", language_code="zh-hans")
                for uid in picks["residents"][:PEOPLE]
            ]
            coordinator = await services.users.require(COORDINATOR_ID)
            app = build_application(services)
            async with running(app, poll_timeout=1):
                await people[0].send("/help")  # started and answering
                while not any(m.chat_id == people[0].id for m in fake.messages):
                    await asyncio.sleep(0.05)
                await _measure(services, fake, people, coordinator)
        finally:
            await services.store.close()


async def _measure(
    services: Services, fake: FakeBotApi, people: list[FakeUser], coordinator: User
) -> None:
    assert coordinator.reach is not None
    community = services.default_community_id
    node = coordinator.reach.node.model_copy(update={"kind": NodeKind.COMMUNITY, "id": community})
    year = year_of(scale.NOW.date())
    print(f"  baseline, no export: {_summary(await _requests(fake, people, lambda: False))}")
    print(f"  a year ({year.first_day.year}) of the community, .xlsx, while {RATE} requests/s:")
    for runner in ("thread", "process"):

        def make(runner: Runner = runner, period: Period = year) -> Awaitable[ExportFile]:
            return export_file(
                services, coordinator, node, period, ExportFormat.XLSX, runner=runner
            )

        made, seconds, peak, latencies = await _while_exporting(fake, people, make, runner)
        _report(runner, made, seconds, peak)
        print(f"      requests meanwhile: {_summary(latencies)} (target p99 < 100 ms)")
    whole = Period(kind=PeriodKind.CUSTOM, first_day=date(2020, 1, 1), last_day=year.last_day)

    def make_all() -> Awaitable[ExportFile]:
        return export_file(services, coordinator, node, whole, ExportFormat.XLSX, runner="process")

    made, seconds, peak, latencies = await _while_exporting(fake, people, make_all, "process")
    print("  the whole seeded history, .xlsx, in the process:")
    _report("process", made, seconds, peak)
    print(f"      requests meanwhile: {_summary(latencies)}")


def _report(runner: str, made: ExportFile, seconds: float, peak_kib: int) -> None:
    size = made.path.stat().st_size
    measure = (
        "the writer process's peak RSS (VmHWM)"
        if runner == "process"
        else "rise of the bot process's peak RSS (VmHWM)"
    )
    print(
        f"    {runner:<8}: {made.rows:,} rows in {seconds:.1f} s "
        f"({made.rows / seconds:,.0f} rows/s), file {size / 1e6:.1f} MB, "
        f"{measure} {peak_kib / 1024:.0f} MB"
    )
    made.path.unlink(missing_ok=True)
