"""Scale: every list, card, count and write of the wish feature timed at a million wishes.

A database is seeded through the project's own schema (its migrations, then bulk inserts in
large transactions): 100,000 users in 50 buildings, 10,000 of them members with skills, and
1,000,000 wishes — most of them closed, as years of a community's work leave them, 2 % open
and 1 % in hand. Then each operation runs through the services (the code the handlers call)
`--scale-runs` times on distinct wishes and people; the median and the 95th percentile are
printed, and once, the query plan of each statement the operation ran (EXPLAIN QUERY PLAN on
SQLite, EXPLAIN on PostgreSQL) so a table scan or a temporary sort shows.

Targets at 1 M wishes on SQLite (issue "writes as fast as reads"): claim <= 5 ms, confirm
<= 5 ms, post (with its offers) <= 10 ms, release <= 10 ms median; reads <= 2 ms.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from bench import claims
from bot.clock import ManualClock
from bot.config import Settings
from bot.models import Role, Skill, User, WishCategory, WishStatus
from bot.services import Services
from bot.services.wishes import WishDraft, WishFilter
from storage import org
from storage.schema import user_roles, user_skills, users, wishes
from storage.store import Store
from tests.conftest import make_settings

USERS, MEMBERS, WISHES, BUILDINGS = 100_000, 10_000, 1_000_000, 50
BATCH = 20_000
# 10:00 in Shanghai: nobody's quiet hours, so offers go out at once as in the day.
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
FIRST_USER = 1_000_000
SKILLS = list(Skill)


def _rows(count: int, make: Callable[[int], dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for n in range(count):
        batch.append(make(n))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def seed(services: Services, *, wishes_count: int = WISHES) -> dict[str, Any]:
    """The people, buildings and wishes; returns what the timed operations pick from."""
    store, community = services.store, services.default_community_id
    rng = random.Random(16)
    async with store.transaction() as conn:
        buildings = [
            (await org.add_building(conn, community, f"{n + 1}号楼", NOW)).id
            for n in range(BUILDINGS)
        ]
    member_ids = [FIRST_USER + n for n in range(MEMBERS)]
    resident_ids = [FIRST_USER + n for n in range(MEMBERS, USERS)]

    def user(n: int) -> dict[str, Any]:
        return {
            "id": FIRST_USER + n,
            "display_name": f"居民{n}",
            "language": "zh",
            "building_id": buildings[n % BUILDINGS],
            "room": f"{n % 30 + 1}-{n % 6 + 1}01",
            "phone": f"139{n:08d}",
            "announcements": True,
            "quiet_start": 22 * 60,
            "quiet_end": 7 * 60,
            "unreachable": False,
            "registered_at": NOW - timedelta(days=400),
            "community_id": community,
        }

    for batch in _rows(USERS, user):
        async with store.transaction() as conn:
            await conn.execute(users.insert(), batch)
    async with store.transaction() as conn:
        await conn.execute(
            user_roles.insert(),
            [{"user_id": uid, "role": Role.MEMBER.value, "granted_at": NOW} for uid in member_ids],
        )
        await conn.execute(
            user_skills.insert(),
            [{"user_id": uid, "skill": SKILLS[uid % len(SKILLS)].value} for uid in member_ids],
        )

    categories = list(WishCategory)

    def wish(n: int) -> dict[str, Any]:
        share = n % 100
        status = (
            WishStatus.OPEN
            if share < 2
            else WishStatus.CLAIMED
            if share < 3
            else WishStatus.DONE
            if share < 4
            else WishStatus.CANCELLED
            if share < 8
            else WishStatus.EXPIRED
            if share < 12
            else WishStatus.CONFIRMED
        )
        poster = resident_ids[rng.randrange(len(resident_ids))]
        held = status not in (WishStatus.OPEN, WishStatus.CANCELLED, WishStatus.EXPIRED)
        created = NOW - timedelta(minutes=(wishes_count - n) * 2)
        return {
            "community_id": community,
            "building_id": buildings[poster % BUILDINGS],
            "posted_by": poster,
            "category": categories[n % len(categories)].value,
            "text": f"第{n}个微心愿",
            "urgent": False,
            "status": status.value,
            "created_at": created,
            "claimed_by": member_ids[rng.randrange(MEMBERS)] if held else None,
            "claimed_at": created + timedelta(hours=1) if held else None,
            "done_at": created + timedelta(days=1)
            if status in (WishStatus.DONE, WishStatus.CONFIRMED)
            else None,
            "closed_at": created + timedelta(days=2) if not held else None,
        }

    for batch in _rows(wishes_count, wish):
        async with store.transaction() as conn:
            await conn.execute(wishes.insert(), batch)
    async with store.read() as conn:
        open_rows = await conn.execute(
            text("SELECT id, posted_by FROM wishes WHERE status = 'open' ORDER BY id DESC")
        )
        posters = {int(wish_id): int(poster) for wish_id, poster in open_rows}
        open_ids = list(posters)
        done = [
            (int(wish_id), int(poster))
            for wish_id, poster in await conn.execute(
                text("SELECT id, posted_by FROM wishes WHERE status = 'done' ORDER BY id DESC")
            )
        ]
    if store.engine.dialect.name == "postgresql":
        async with store.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
    else:
        async with store.transaction() as conn:
            await conn.execute(text("ANALYZE"))
        # Years of a community's work were checkpointed long ago: the seeding's write-ahead
        # log (hundreds of MB) must not be copied into the database while the bot is timed.
        async with store.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "members": member_ids,
        "residents": resident_ids,
        "open": open_ids,
        "posters": posters,
        "done": done,
    }


async def settle(store: Store) -> None:
    """After seeding: fresh planner statistics and, on PostgreSQL, a vacuumed visibility map;
    on SQLite the seeding's write-ahead log checkpointed (years of a community's work were
    written long ago, not while the bot is timed)."""
    if store.engine.dialect.name == "postgresql":
        async with store.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    else:
        async with store.transaction() as conn:
            await conn.execute(text("ANALYZE"))
        async with store.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """The statements run meanwhile, with their parameters (to explain them once)."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Connection, cursor: Any, sql: str, params: Any, *_: Any) -> None:
        seen.append((sql, params))

    # On SQLite, reads and write transactions run on engines of their own (storage/store.py).
    engines = [store.engine.sync_engine] + [e for e in (store.reader, store.writer) if e]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def explain(
    store: Store, seen: list[tuple[str, Any]], *, plan_lines: int | None = 4
) -> list[str]:
    """Each distinct statement's plan, once, with how often it ran ("SCAN", "Seq Scan" or
    "TEMP B-TREE": look); on PostgreSQL its first `plan_lines` lines (None: all)."""
    postgres = store.engine.dialect.name == "postgresql"
    lines: list[str] = []
    counted: dict[str, int] = {}
    for sql, _ in seen:
        counted[sql] = counted.get(sql, 0) + 1
    firsts = {sql: params for sql, params in reversed(seen)}  # each statement once
    seen = [(sql, firsts[sql]) for sql in counted]
    async with store.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        for sql, params in seen:
            head = sql.lstrip().split(None, 1)[0].upper()
            if head not in ("SELECT", "UPDATE", "INSERT", "DELETE", "WITH"):
                continue
            times = f" (x{counted[sql]})" if counted[sql] > 1 else ""
            short = " ".join(sql.split())[:90] + times
            try:
                if postgres:
                    rows = await driver.fetch("EXPLAIN " + sql, *(params or ()))
                    plan = " / ".join(r[0].strip() for r in rows[:plan_lines])
                else:
                    cursor = await driver.execute("EXPLAIN QUERY PLAN " + sql, params or ())
                    plan = " / ".join(str(r[3]) for r in await cursor.fetchall())
            except Exception as exc:  # a statement that cannot be explained alone
                plan = f"(not explained: {type(exc).__name__})"
            lines.append(f"    {short}\n      -> {plan}")
        await conn.rollback()
    return lines


async def timed(
    store: Store,
    name: str,
    runs: int,
    operation: Callable[[int], Awaitable[object]],
    *,
    plan_lines: int | None = 4,
) -> tuple[str, float, float, list[str]]:
    """Run `operation(i)` for i in range(runs); (name, median ms, p95 ms, plans of run 0)."""
    with statements(store) as seen:
        await operation(0)
    plans = await explain(store, seen, plan_lines=plan_lines)
    times: list[float] = []
    for i in range(1, runs + 1):
        start = time.perf_counter()
        await operation(i)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return name, statistics.median(times), p95, plans


def print_results(results: list[tuple[str, float, float, list[str]]], width: int = 28) -> None:
    """The timed operations as a table, median and p95, then each one's query plans."""
    print(f"  {'operation':<{width}} {'median ms':>10} {'p95 ms':>8}")
    for name, median, p95, _ in results:
        print(f"  {name:<{width}} {median:>10.2f} {p95:>8.2f}")
    print("  plans (the first run of each):")
    for name, _, _, plans in results:
        print(f"  {name}:")
        for line in plans:
            print(line)


async def add_members(
    store: Store,
    community_id: int,
    ids: list[int],
    buildings: list[int],
    *,
    name: str,
    now: datetime,
) -> None:
    """Registered members of the community, a building each in turn, bulk-inserted."""
    for start in range(0, len(ids), 50_000):
        chunk = ids[start : start + 50_000]
        async with store.transaction() as conn:
            await conn.execute(
                users.insert(),
                [
                    {
                        "id": uid,
                        "display_name": f"{name}{n + start}",
                        "language": "zh",
                        "building_id": buildings[uid % len(buildings)],
                        "announcements": True,
                        "quiet_start": 22 * 60,
                        "quiet_end": 7 * 60,
                        "unreachable": False,
                        "registered_at": now - timedelta(days=800),
                        "community_id": community_id,
                    }
                    for n, uid in enumerate(chunk)
                ],
            )
            await conn.execute(
                user_roles.insert(),
                [{"user_id": uid, "role": Role.MEMBER.value, "granted_at": now} for uid in chunk],
            )


async def run(database_url: str | None, folder: Path, *, runs: int, wishes_count: int) -> None:
    # The limits count as in production; high enough that seeded people never reach them.
    settings: Settings = make_settings(folder, max_active_claims=1000, max_open_wishes=1000)
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    store = await Store.open(settings.database_url)
    clock = ManualClock(NOW)
    try:
        services = await Services.build(settings, store, clock)
        started = time.perf_counter()
        picks = await seed(services, wishes_count=wishes_count)
        seeded = time.perf_counter() - started
        db = store.engine.dialect.name
        print(
            f"\n[{db}] seeded {USERS:,} users, {MEMBERS:,} members, {wishes_count:,} wishes "
            f"in {seeded:.0f} s"
        )
        results = await _operations(services, picks, runs)
        async with store.transaction() as conn:
            # What the timed operations queued (offers, notices, and reminders that the bot's
            # real clock, hours after the seed's, finds due at once) is not the next part's load.
            for table in ("outbox", "reminders"):
                await conn.execute(
                    text(f"UPDATE {table} SET status = 'cancelled' WHERE status = 'pending'")
                )
    finally:
        await store.close()
    print_results(results)
    # The whole bot on the same database, with members and open wishes the timed operations
    # did not touch.
    print(f"  update handling on this database ({db}):")
    members, unclaimed = picks["members"], picks["open"][runs + 1 :]
    claimers = members[-claims.CLAIMERS :]
    await claims.claim_path(settings.database_url, claimers, unclaimed, picks["posters"])
    mixers = members[-(claims.CLAIMERS + claims.MIX_PEOPLE + 1) : -claims.CLAIMERS]
    await claims.mix(
        settings.database_url,
        mixers,
        unclaimed[claims.CLAIMERS * claims.CLAIMS_EACH :],
        picks["posters"],
    )


async def _operations(
    services: Services, picks: dict[str, Any], runs: int
) -> list[tuple[str, float, float, list[str]]]:
    users_, wishes_ = services.users, services.wishes
    members: list[User] = [await users_.require(uid) for uid in picks["members"][: runs + 1]]
    residents: list[User] = [await users_.require(uid) for uid in picks["residents"][: runs + 1]]
    open_ids: list[int] = picks["open"]
    done: list[tuple[int, int]] = picks["done"][: runs + 1]
    done_posters = [await users_.require(poster) for _, poster in done]
    store = services.store
    results = []

    async def browse(i: int) -> object:
        return await wishes_.browse(members[i], WishFilter())

    async def browse_building(i: int) -> object:
        return await wishes_.browse(members[i], WishFilter(kind="building"))

    async def card(i: int) -> object:
        return await wishes_.view(members[i], open_ids[i])

    async def mine(i: int) -> object:
        return await wishes_.mine(residents[i])

    async def tasks(i: int) -> object:
        return await wishes_.tasks(members[i])

    async def open_count(i: int) -> object:
        return await wishes_.open_count(residents[i])

    for name, operation in (
        ("read: open wishes page", browse),
        ("read: my building's page", browse_building),
        ("read: a wish card", card),
        ("read: my wishes page", mine),
        ("read: my tasks", tasks),
        ("read: count my open wishes", open_count),
    ):
        results.append(await timed(store, name, runs, operation))

    claimed: list[int] = []

    async def claim(i: int) -> object:
        wish = await wishes_.claim(members[i], open_ids[i])
        claimed.append(wish.id)
        return wish

    async def release(i: int) -> object:
        return await wishes_.release(members[i], claimed[i], "临时有事")

    async def confirm(i: int) -> object:
        return await wishes_.confirm(done_posters[i], done[i][0])

    async def post(i: int) -> object:
        return await wishes_.post(
            residents[i], WishDraft(category=WishCategory.REPAIRS, text=f"灯坏了 {i}")
        )

    results.append(await timed(store, "write: claim", runs, claim))
    results.append(await timed(store, "write: release", runs, release))
    results.append(await timed(store, "write: confirm", runs, confirm))
    results.append(await timed(store, "write: post (with offers)", runs, post))
    return results
