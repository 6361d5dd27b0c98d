"""Passbook: the love-savings passbook's reads and its credit at two million ledger rows.

A database is seeded through the project's own schema (its migrations), then the ledger is
bulk-loaded straight through the driver (executemany on SQLite, COPY on PostgreSQL): 100,000
members of one community in 50 buildings and 2,000,000 entries over the last eight quarters,
a few members with many entries and most with a few, as years of work leave them. The
totals are then built from the entries in one INSERT … SELECT … GROUP BY, as `add_entry`
would have kept them. Each operation runs `--passbook-runs` times for distinct members; the
median and the 95th percentile are printed, and once, the query plan of each statement it ran.

Targets (issue 19): a passbook page <= 10 ms median, the quarter's ranking <= 200 ms.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bench.scale import add_members, print_results, settle, timed
from bot.clock import ManualClock
from bot.config import Settings
from bot.models import LedgerKind, User
from bot.services import Services
from bot.services.passbook import DEFAULT_POINTS, PAGE_SIZE, quarter_of
from storage import ledger as repo
from storage import org
from storage.store import Store
from tests.conftest import make_settings

ROWS, MEMBERS, BUILDINGS, QUARTERS = 2_000_000, 100_000, 50, 8
BATCH = 50_000
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 2026Q4 in Shanghai
FIRST_USER = 2_000_000
KINDS = list(DEFAULT_POINTS)
COLUMNS = (
    "community_id",
    "member_id",
    "kind",
    "ref",
    "points",
    "quarter",
    "reason",
    "corrects_id",
    "granted_by",
    "created_at",
)


def _quarters(zone: Any) -> list[tuple[str, datetime]]:
    """The last QUARTERS quarters, oldest first, each with a moment inside it."""
    moments = [NOW - timedelta(days=91 * back) for back in range(QUARTERS - 1, -1, -1)]
    return [(quarter_of(m, zone), m) for m in moments]


def _entries(
    community_id: int, rows: int, members: int, zone: Any, *, sqlite: bool
) -> Iterator[list[tuple[Any, ...]]]:
    """The ledger's rows in id order (older quarters first), in batches."""
    rng = random.Random(19)
    quarters = _quarters(zone)
    batch: list[tuple[Any, ...]] = []
    for n in range(rows):
        # Skewed: the square of a uniform draw puts many entries on the first members (the
        # keen few) and a handful on most.
        member = FIRST_USER + int(members * rng.random() ** 2)
        kind = KINDS[n % len(KINDS)] if n % 50 else LedgerKind.ADJUSTMENT  # 2 % by hand
        points = DEFAULT_POINTS.get(kind, 0) or rng.choice((-20, -5, 5, 10, 30))
        quarter, moment = quarters[n * QUARTERS // rows]
        created = moment.replace(tzinfo=None) + timedelta(seconds=n % 86_400)
        batch.append(
            (
                community_id,
                member,
                kind.value,
                f"bench:{n}",
                points,
                quarter,
                "补记" if kind is LedgerKind.ADJUSTMENT else None,
                None,
                9001 if kind is LedgerKind.ADJUSTMENT else None,
                created.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else created,
            )
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _load_sqlite(sync: Connection, rows: list[tuple[Any, ...]]) -> None:
    sync.exec_driver_sql(
        f"INSERT INTO ledger_entries ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(COLUMNS))})",
        rows,
    )


async def seed(services: Services, *, rows: int, members: int) -> dict[str, Any]:
    """The members, buildings, ledger and totals; returns what the timed operations pick."""
    store, community = services.store, services.default_community_id
    postgres = store.engine.dialect.name == "postgresql"
    async with store.transaction() as conn:
        buildings = [
            (await org.add_building(conn, community, f"{n + 1}号楼", NOW)).id
            for n in range(BUILDINGS)
        ]
    member_ids = [FIRST_USER + n for n in range(members)]
    await add_members(store, community, member_ids, buildings, name="志愿者", now=NOW)
    zone = services.settings.zone
    for batch in _entries(community, rows, members, zone, sqlite=not postgres):
        async with store.transaction() as conn:
            if postgres:
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                await driver.copy_records_to_table(
                    "ledger_entries", records=batch, columns=COLUMNS
                )
            else:
                await conn.run_sync(_load_sqlite, batch)
    async with store.transaction() as conn:
        # The totals as add_entry keeps them: per quarter and all time, per member.
        await conn.execute(
            text(
                "INSERT INTO ledger_totals (member_id, community_id, period, points) "
                "SELECT member_id, community_id, quarter, SUM(points) FROM ledger_entries "
                "GROUP BY member_id, community_id, quarter "
                "UNION ALL "
                f"SELECT member_id, community_id, '{repo.ALL_TIME}', SUM(points) "
                "FROM ledger_entries GROUP BY member_id, community_id"
            )
        )
    await settle(store)
    async with store.read() as conn:
        totals = await conn.scalar(text("SELECT count(*) FROM ledger_totals"))
        quarter = quarter_of(NOW, zone)
        ranked = await conn.scalar(
            text("SELECT count(*) FROM ledger_totals WHERE period = :q AND points > 0"),
            {"q": quarter},
        )
    return {"members": member_ids, "buildings": buildings, "totals": totals, "ranked": ranked}


async def run(
    database_url: str | None, folder: Path, *, runs: int, rows: int = ROWS, members: int = MEMBERS
) -> None:
    settings: Settings = make_settings(folder)
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    store = await Store.open(settings.database_url)
    try:
        services = await Services.build(settings, store, ManualClock(NOW))
        started = time.perf_counter()
        picks = await seed(services, rows=rows, members=members)
        db = store.engine.dialect.name
        print(
            f"\n[{db}] seeded {members:,} members, {rows:,} ledger rows, "
            f"{picks['totals']:,} totals rows ({picks['ranked']:,} ranked this quarter) "
            f"in {time.perf_counter() - started:.0f} s"
        )
        results = await _operations(services, picks, runs)
    finally:
        await store.close()
    print_results(results, width=40)


async def _operations(
    services: Services, picks: dict[str, Any], runs: int
) -> list[tuple[str, float, float, list[str]]]:
    rng = random.Random(7)
    store, passbook = services.store, services.passbook
    community, quarter = services.default_community_id, passbook.quarter()
    # Random members: most have a few entries, the first ones many.
    viewers: list[User] = [
        await services.users.require(rng.choice(picks["members"])) for _ in range(runs + 1)
    ]
    results = []

    async def page(i: int) -> object:
        return await passbook.passbook(viewers[i])

    async def page_storage(i: int) -> object:
        async with store.read() as conn:
            await repo.balance(conn, viewers[i].id, quarter)
            return await repo.entries_of(conn, viewers[i].id, limit=PAGE_SIZE + 1)

    async def ranking(i: int) -> object:
        return await passbook.ranking(viewers[i])

    async def top(i: int) -> object:
        async with store.read() as conn:
            await repo.ranking(conn, community, quarter)
            return await repo.place_of(conn, community, quarter, viewers[i].id)

    async def building_top(i: int) -> object:
        building = viewers[i].building_id
        async with store.read() as conn:
            await repo.ranking(conn, community, quarter, building_id=building)
            return await repo.place_of(
                conn, community, quarter, viewers[i].id, building_id=building
            )

    async def credit(i: int) -> object:
        async with store.transaction() as conn:
            return await passbook.credit(
                conn,
                community_id=community,
                member_ids={viewers[i].id},
                kind=LedgerKind.WISH,
                ref=f"wish:bench{i}",
            )

    for name, operation in (
        ("read: passbook page (service)", page),
        ("read: page (balance + entries_of)", page_storage),
        ("read: ranking (service, both)", ranking),
        ("read: community top 10 + place_of", top),
        ("read: building top 10 + place_of", building_top),
        ("write: credit (rules + add_entry)", credit),
    ):
        results.append(await timed(store, name, runs, operation, plan_lines=None))
    return results
