"""Statistics: a year's `/stats` figures of a community and of its district, at scale.

The database is seeded by the other benchmarks' own seeders, one after the other in the same
community: bench/scale.py (100,000 users in 50 buildings, 10,000 members, 1,000,000 wishes
over nearly four years), bench/twinning.py (5,000 households, their pairs and 60,000 visits
over the last year) and bench/passbook.py (2,000,000 ledger rows over the last eight
quarters). Then what the figures read besides: each wish's events (posted, claimed — a
fiftieth of them given back and claimed again — done, confirmed), a hundredth of the wishes
urgent, a year of patrol shifts (three posts, two shifts a day, three members each: served,
missed, dropped; findings), two study sessions a week with their check-ins and excuses,
suggestions every day; and a second community in the district with a tenth of the first
one's wishes, so that the district's figures add up two.

Then, in a fresh process (so that its memory is the figures' and not the seeding's), the
district's coordinator asks `StatsService.figures` for the year 2026, for the community and
for the district, `--stats-runs` times each: the median and the slowest time are printed,
the query plan of each statement once, and the memory — Python's own allocations at their
peak during one call (tracemalloc) and the process's peak resident size (VmHWM) before and
after the calls, whose difference is what the calls added to the process (the SQLite page
cache and sorter included; PostgreSQL's server is another process and not counted).

Targets (issue 22): a year's figures < 2 s and < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Interval,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    update,
)

from bench import passbook, scale, twinning
from bot.clock import ManualClock
from bot.config import Settings
from bot.models import Node, NodeKind, SignupStatus, SlotKind, SlotStatus
from bot.services import Services
from bot.services.stats.period import year_of
from storage.schema import (
    buildings,
    patrol_findings,
    patrol_posts,
    patrol_shifts,
    slot_signups,
    slots,
    study_sessions,
    suggestions,
    wish_events,
    wishes,
)
from storage.store import Store
from tests.conftest import COORDINATOR_ID, make_settings
from tests.support.procfs import peak_rss_kib

NOW = scale.NOW  # 3 December 2026, 10:00 in Shanghai: the seeders' shared "now"
YEAR = year_of(date(2026, 1, 1))
SHANGHAI = ZoneInfo("Asia/Shanghai")
LEDGER_MEMBERS = 20_000  # two ledger rows a wish: 2,000,000 with the million
POSTS, SHIFTS_A_DAY, ON_A_SHIFT = 3, 2, 3
STUDY_DAYS = (1, 4)  # Tuesdays and Fridays
SUGGESTIONS_A_DAY = 20


async def _rename_buildings(store: Store, community_id: int) -> None:
    """Each seeder names its buildings "1号楼", "2号楼", …: the ones there already take
    their id into their name so that the next seeder's fit beside them."""
    async with store.transaction() as conn:
        rows = (
            await conn.execute(
                select(buildings.c.id, buildings.c.name).where(
                    buildings.c.community_id == community_id
                )
            )
        ).all()
        for building_id, name in rows:
            await conn.execute(
                update(buildings)
                .where(buildings.c.id == building_id)
                .values(name=f"{name}·{building_id}")
            )


def _days() -> list[date]:
    """The local days of 2026 up to the seeders' now."""
    first, last = YEAR.first_day, NOW.astimezone(SHANGHAI).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def _later(store: Store, moment: Any, minutes: int) -> ColumnElement[Any]:
    """`moment` and some minutes, in SQL (SQLite keeps times as text)."""
    if store.engine.dialect.name == "postgresql":
        return moment + literal_column(f"interval '{minutes} minutes'", Interval)  # type: ignore[no-any-return]
    shifted = func.strftime("%Y-%m-%d %H:%M:%S", moment, f"+{minutes} minutes")
    return shifted.concat(".000000")


async def _wish_events_and_urgent(store: Store) -> int:
    """Each wish's life as events, from its own columns; a fiftieth of the held ones were
    first claimed ten minutes in by someone who gave them back."""
    w = wishes.c
    held = w.claimed_at.is_not(None)
    steps: list[Any] = [
        select(w.id, literal("posted"), w.posted_by, w.created_at),
        select(w.id, literal("claimed"), w.claimed_by, _later(store, w.created_at, 10)).where(
            held, w.id % 50 == 5
        ),
        select(w.id, literal("released"), w.claimed_by, _later(store, w.created_at, 20)).where(
            held, w.id % 50 == 5
        ),
        select(w.id, literal("claimed"), w.claimed_by, w.claimed_at).where(held),
        select(w.id, literal("done"), w.claimed_by, w.done_at).where(w.done_at.is_not(None)),
        select(w.id, literal("confirmed"), w.posted_by, _later(store, w.done_at, 1440)).where(
            w.status == "confirmed"
        ),
    ]
    columns = [wish_events.c.wish_id, wish_events.c.kind, wish_events.c.actor_id, wish_events.c.at]
    for step in steps:
        async with store.transaction() as conn:
            await conn.execute(insert(wish_events).from_select(columns, step))
    async with store.transaction() as conn:
        await conn.execute(update(wishes).where(w.id % 100 == 50).values(urgent=True))
        return int(await conn.scalar(select(text("count(*)")).select_from(wish_events)) or 0)


async def _second_community(services: Services) -> int:
    """Community B on the same street: a tenth of A's wishes, copied."""
    store, district = services.store, await services.users.require(COORDINATOR_ID)
    (street,) = await services.admin.streets(district)
    b = await services.admin.add_community(district, street.id, "河畔社区")
    w = wishes.c
    copied = [
        w.posted_by,
        w.category,
        w.text,
        w.urgent,
        w.status,
        w.created_at,
        w.claimed_by,
        w.claimed_at,
        w.done_at,
        w.closed_at,
    ]
    async with store.transaction() as conn:
        await conn.execute(
            insert(wishes).from_select(
                ["community_id", *(c.name for c in copied)],
                select(literal(b.id), *copied).where(w.id % 10 == 3),
            )
        )
    return b.id


async def _patrol_and_study(services: Services, members: list[int], buildings_: list[int]) -> None:
    """A year of shifts at three posts and two study sessions a week, with their sign-ups,
    check-ins and findings, bulk-inserted."""
    store, community = services.store, services.default_community_id
    rng = random.Random(22)
    async with store.transaction() as conn:
        await conn.execute(
            patrol_posts.insert(),
            [
                {
                    "id": p + 1,
                    "community_id": community,
                    "name": f"岗{p + 1}",
                    "archived": False,
                    "created_by": COORDINATOR_ID,
                    "created_at": _local(YEAR.first_day, 8) - timedelta(days=30),
                }
                for p in range(POSTS)
            ],
        )
    slot_rows: list[dict[str, Any]] = []
    shift_rows: list[dict[str, Any]] = []
    study_rows: list[dict[str, Any]] = []
    signup_rows: list[dict[str, Any]] = []
    finding_rows: list[dict[str, Any]] = []

    def slot(kind: SlotKind, starts: datetime, hours: int, building: int | None) -> int:
        slot_id = len(slot_rows) + 1
        cancelled = rng.random() < 0.05
        slot_rows.append(
            {
                "id": slot_id,
                "kind": kind.value,
                "community_id": community,
                "building_id": building,
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=hours),
                "capacity": None,
                "taken": 0,
                "status": (SlotStatus.CANCELLED if cancelled else SlotStatus.OPEN).value,
                "created_by": COORDINATOR_ID,
                "created_at": starts - timedelta(days=7),
                "cancelled_at": starts - timedelta(days=1) if cancelled else None,
            }
        )
        return slot_id

    def signup(slot_id: int, user: int, starts: datetime, hours: int, fate: float) -> None:
        ends = starts + timedelta(hours=hours)
        came = fate < 0.85
        status = SignupStatus.DROPPED if fate > 0.95 else SignupStatus.GOING
        signup_rows.append(
            {
                "slot_id": slot_id,
                "user_id": user,
                "status": status.value,
                "reason": None,
                "starts_at": starts,
                "ends_at": ends,
                "checked_in_at": starts - timedelta(minutes=rng.randint(-20, 15))
                if came
                else None,
                "checked_out_at": ends + timedelta(minutes=rng.randint(-30, 30)) if came else None,
                "latitude": None,
                "longitude": None,
                "created_at": starts - timedelta(days=2),
                "updated_at": starts,
            }
        )

    for day in _days():
        for post in range(POSTS):
            for hour in (8, 19)[:SHIFTS_A_DAY]:
                starts = _local(day, hour)
                slot_id = slot(SlotKind.PATROL, starts, 2, buildings_[post])
                shift_rows.append({"slot_id": slot_id, "post_id": post + 1})
                for user in rng.sample(members, ON_A_SHIFT):
                    signup(slot_id, user, starts, 2, rng.random())
                if rng.random() < 0.25:
                    handled = rng.random() < 0.6
                    finding_rows.append(
                        {
                            "slot_id": slot_id,
                            "community_id": community,
                            "building_id": buildings_[post],
                            "reported_by": members[0],
                            "text": "井盖松动",
                            "status": "handled" if handled else "new",
                            "handled_by": COORDINATOR_ID if handled else None,
                            "handled_at": starts + timedelta(days=1) if handled else None,
                            "token": f"bench-{slot_id}",
                            "created_at": starts + timedelta(minutes=30),
                        }
                    )
        if day.weekday() in STUDY_DAYS:
            starts = _local(day, 19)
            audience = rng.choice(("members", "members", "members", "everyone", "building"))
            building = buildings_[day.toordinal() % len(buildings_)]
            slot_id = slot(SlotKind.STUDY, starts, 2, building if audience == "building" else None)
            study_rows.append(
                {
                    "slot_id": slot_id,
                    "title": "小家庭党校",
                    "audience": audience,
                    "recurrence": "once",
                    "code": "1234",
                }
            )
            answered = rng.sample(members, 230)
            for user in answered[:200]:
                signup(slot_id, user, starts, 2, rng.random() * 0.9)
            for user in answered[200:]:
                signup_rows.append(
                    {
                        **signup_rows[-1],
                        "user_id": user,
                        "status": SignupStatus.EXCUSED.value,
                        "reason": "出差",
                        "checked_in_at": None,
                        "checked_out_at": None,
                    }
                )
    async with store.transaction() as conn:
        for table, rows in (
            (slots, slot_rows),
            (patrol_shifts, shift_rows),
            (study_sessions, study_rows),
            (slot_signups, signup_rows),
            (patrol_findings, finding_rows),
        ):
            for at in range(0, len(rows), 5_000):
                await conn.execute(table.insert(), rows[at : at + 5_000])


async def _suggestions(services: Services, residents: list[int], buildings_: list[int]) -> None:
    rng = random.Random(23)
    topics = ("environment", "safety", "services", "facilities", "neighbours", "other")
    rows = []
    for day in _days():
        for n in range(SUGGESTIONS_A_DAY):
            created = _local(day, 8) + timedelta(minutes=30 * n)
            answered = rng.random() < 0.7
            anonymous = rng.random() < 0.2  # kept without a building, as the service keeps it
            rows.append(
                {
                    "community_id": services.default_community_id,
                    "building_id": None if anonymous else rng.choice(buildings_),
                    "author_id": rng.choice(residents),
                    "anonymous": anonymous,
                    "topic": topics[n % len(topics)],
                    "text": "建议加装路灯",
                    "status": "answered" if answered else "new",
                    "token": f"bench-{day}-{n}",
                    "created_at": created,
                    "updated_at": created,
                    "answered_at": created + timedelta(days=2) if answered else None,
                }
            )
    async with services.store.transaction() as conn:
        await conn.execute(suggestions.insert(), rows)


async def seed(services: Services, wishes_count: int) -> dict[str, Any]:
    store, community = services.store, services.default_community_id
    started = time.perf_counter()
    picks = await scale.seed(services, wishes_count=wishes_count)
    print(f"  scale's users and {wishes_count:,} wishes: {time.perf_counter() - started:.0f} s")
    async with store.read() as conn:
        scale_buildings = [
            int(b)
            for b in await conn.scalars(
                select(buildings.c.id)
                .where(buildings.c.community_id == community)
                .order_by(buildings.c.id)
            )
        ]
    await _rename_buildings(store, community)
    started = time.perf_counter()
    await twinning.seed(services, households_count=twinning.HOUSEHOLDS)
    print(f"  twinning's households, pairs, visits: {time.perf_counter() - started:.0f} s")
    await _rename_buildings(store, community)
    started = time.perf_counter()
    await passbook.seed(services, rows=2 * wishes_count, members=LEDGER_MEMBERS)
    print(f"  passbook's {2 * wishes_count:,} ledger rows: {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    events = await _wish_events_and_urgent(store)
    b = await _second_community(services)
    await _patrol_and_study(services, picks["members"], scale_buildings)
    await _suggestions(services, picks["residents"], scale_buildings)
    print(
        f"  {events:,} wish events, community B, patrol, study, suggestions: "
        f"{time.perf_counter() - started:.0f} s"
    )
    await scale.settle(store)
    return {"community": community, "b": b}


async def run(database_url: str | None, folder: Path, *, runs: int, wishes_count: int) -> None:
    settings: Settings = make_settings(folder)
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    store = await Store.open(settings.database_url)
    try:
        services = await Services.build(settings, store, ManualClock(NOW))
        db = store.engine.dialect.name
        print(f"\n[{db}] seeding")
        started = time.perf_counter()
        picks = await seed(services, wishes_count)
        print(f"  seeded in {time.perf_counter() - started:.0f} s")
    finally:
        await store.close()
    # A fresh process: its memory is the figures', not the seeding's.
    measured = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.stats",
            "--url",
            settings.database_url,
            "--runs",
            str(runs),
            "--community",
            str(picks["community"]),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    print(measured.stdout, end="")
    if measured.stderr.strip():
        print(measured.stderr, end="")


async def measure(url: str, runs: int, community_id: int) -> None:
    """In this process: the figures for the year, for the community and the district."""
    folder = Path(url.split("///", 1)[-1]).parent if url.startswith("sqlite") else Path(".")
    settings = make_settings(folder).model_copy(update={"database_url": url})
    store = await Store.open(url, migrate=False)
    try:
        services = await Services.build(settings, store, ManualClock(NOW))
        district = await services.users.require(COORDINATOR_ID)
        places = [
            ("community", Node(kind=NodeKind.COMMUNITY, id=community_id)),
            ("district", None),
        ]
        before = peak_rss_kib() / 1024
        results: dict[str, Any] = {}
        for name, node in places:
            with scale.statements(store) as seen:
                figures = await services.stats.figures(district, node, YEAR)
            plans = await scale.explain(store, seen, plan_lines=None)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                await services.stats.figures(district, node, YEAR)
                times.append(time.perf_counter() - started)
            tracemalloc.start()
            await services.stats.figures(district, node, YEAR)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            results[name] = (times, peak, plans, figures)
        after = peak_rss_kib() / 1024
    finally:
        await store.close()
    db = store.engine.dialect.name
    print(f"  [{db}] figures for {YEAR.first_day} to {YEAR.last_day}, {runs} runs each:")
    print(f"  {'place':<10} {'median s':>9} {'slowest s':>10} {'tracemalloc peak MB':>20}")
    for name, (times, peak, _, _) in results.items():
        print(
            f"  {name:<10} {statistics.median(times):>9.3f} {max(times):>10.3f} "
            f"{peak / 2**20:>20.1f}"
        )
    print(
        f"  process peak resident size (VmHWM): {before:.0f} MB before the figures, "
        f"{after:.0f} MB after: the calls added {after - before:.0f} MB"
    )
    for name, (_, _, _, figures) in results.items():
        wish, patrol, study = figures.wishes, figures.patrol, figures.study
        print(
            f"  {name}: {wish.posted:,} wishes posted, {wish.claimed:,} claimed, "
            f"{wish.done:,} done, {figures.urgent.posted:,} urgent; "
            f"{figures.active_members:,} active members; {figures.twinning.visits:,} visits; "
            f"{patrol.shifts:,} shifts, {patrol.hours:,.0f} hours, {patrol.missed:,} missed, "
            f"{patrol.findings:,} findings; {study.sessions} sessions "
            f"({json.dumps(study.attendance.model_dump())}); "
            f"{figures.suggestions.received:,} suggestions"
        )
    for name, (_, _, plans, _) in results.items():
        print(f"  plans ({name}):")
        for line in plans:
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats")
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--community", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(measure(args.url, args.runs, args.community))


if __name__ == "__main__":
    main()
