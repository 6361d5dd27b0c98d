"""Twinning: the coordinators' reads at a district's scale, and logging a visit.

The seeds count 4,092 pairs formed in one district. A database is seeded through the project's
own schema (its migrations) with 5,000 households in 58 buildings (北气象巷's count), each
paired with one of 4,000 members, and 60,000 visits over the last year (a dozen a household)
with wellbeing marks, bulk-inserted through SQLAlchemy Core. Each operation runs
`--twinning-runs` times; the median and the 95th percentile are printed, and once, the query
plan of each statement it ran.

No target was set by the issue; the figures say whether a coordinator's screen waits.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.scale import add_members, print_results, timed
from bot.clock import ManualClock
from bot.config import Settings
from bot.models import VisitCategory
from bot.services import Services
from bot.services.twinning import VisitDraft
from storage import org
from storage.schema import household_circumstances, households, pairs, visits
from storage.store import Store
from tests.conftest import COORDINATOR_ID, make_settings

HOUSEHOLDS, MEMBERS, BUILDINGS, VISITS_EACH = 5_000, 4_000, 58, 12
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
FIRST_USER = 3_000_000
BATCH = 5_000


async def seed(services: Services, *, households_count: int) -> dict[str, Any]:
    """Buildings, members, households, one pair each and their visits; what the timed
    operations pick."""
    store, community = services.store, services.default_community_id
    rng = random.Random(20)
    async with store.transaction() as conn:
        buildings = [
            (await org.add_building(conn, community, f"{n + 1}号楼", NOW)).id
            for n in range(BUILDINGS)
        ]
    member_ids = [FIRST_USER + n for n in range(MEMBERS)]
    await add_members(store, community, member_ids, buildings, name="党员", now=NOW)
    started = NOW - timedelta(days=400)
    for start in range(0, households_count, BATCH):
        ids = range(start + 1, min(start + BATCH, households_count) + 1)
        async with store.transaction() as conn:
            await conn.execute(
                households.insert(),
                [
                    {
                        "id": h,
                        "community_id": community,
                        "building_id": buildings[h % BUILDINGS],
                        "name": f"第{h}户",
                        "room": f"{h % 6 + 1}-{h % 30 + 101}",
                        "phone": f"138{h:08d}",
                        "consent_by": COORDINATOR_ID,
                        "consent_at": started,
                        "created_by": COORDINATOR_ID,
                        "created_at": started,
                    }
                    for h in ids
                ],
            )
            await conn.execute(
                household_circumstances.insert(),
                [{"household_id": h, "circumstance": "elderly_alone"} for h in ids],
            )
            await conn.execute(
                pairs.insert(),
                [
                    {
                        "id": h,
                        "member_id": member_ids[h % MEMBERS],
                        "household_id": h,
                        "community_id": community,
                        "building_id": buildings[h % BUILDINGS],
                        "cadence_days": 30,
                        "started_at": started,
                        "created_by": COORDINATOR_ID,
                    }
                    for h in ids
                ],
            )
            await conn.execute(
                visits.insert(),
                [
                    {
                        "pair_id": h,
                        "household_id": h,
                        "member_id": member_ids[h % MEMBERS],
                        "community_id": community,
                        "building_id": buildings[h % BUILDINGS],
                        # The last ones a month apart; every seventh household not for 70 days.
                        "visited_on": (
                            NOW - timedelta(days=30 * n + (70 if h % 7 == 0 else 3))
                        ).date(),
                        "categories": VisitCategory.CHAT.value,
                        "text": "陪老人聊天",
                        "help_fen": rng.choice((0, 0, 5000, 20000)),
                        "help_kind": "funds",
                        "wellbeing": rng.randint(1, 5),
                        "token": f"bench-{h}-{n}",
                        "created_at": NOW - timedelta(days=30 * n),
                    }
                    for h in ids
                    for n in range(VISITS_EACH)
                ],
            )
    if store.engine.dialect.name == "postgresql":
        async with store.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(
                text("SELECT setval('visits_id_seq', (SELECT max(id) FROM visits))")
            )
            await conn.execute(text("SELECT setval('pairs_id_seq', (SELECT max(id) FROM pairs))"))
            await conn.execute(
                text("SELECT setval('households_id_seq', (SELECT max(id) FROM households))")
            )
            await conn.execute(text("VACUUM ANALYZE"))
    else:
        async with store.transaction() as conn:
            await conn.execute(text("ANALYZE"))
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    paired = sorted({member_ids[h % MEMBERS] for h in range(1, households_count + 1)})
    return {"members": paired, "households": households_count}


async def run(
    database_url: str | None, folder: Path, *, runs: int, households_count: int = HOUSEHOLDS
) -> None:
    settings: Settings = make_settings(folder)
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    store = await Store.open(settings.database_url)
    try:
        services = await Services.build(settings, store, ManualClock(NOW))
        started = time.perf_counter()
        picks = await seed(services, households_count=households_count)
        db = store.engine.dialect.name
        print(
            f"\n[{db}] seeded {households_count:,} households and pairs, "
            f"{households_count * VISITS_EACH:,} visits in {time.perf_counter() - started:.0f} s"
        )
        results = await _operations(services, picks, runs)
    finally:
        await store.close()
    print_results(results, width=44)


async def _operations(
    services: Services, picks: dict[str, Any], runs: int
) -> list[tuple[str, float, float, list[str]]]:
    rng = random.Random(8)
    twinning = services.twinning
    coordinator = await services.users.require(COORDINATOR_ID)
    members = [await services.users.require(rng.choice(picks["members"])) for _ in range(runs + 1)]

    async def attention(i: int) -> object:
        return await twinning.needs_attention(coordinator)

    async def totals(i: int) -> object:
        return await twinning.quarter_totals(coordinator, "2026Q4")

    async def my_pairs(i: int) -> object:
        return await twinning.my_pairs(members[i])

    async def household_visits(i: int) -> object:
        (pair, *_) = await twinning.my_pairs(members[i])
        return await twinning.visits(members[i], pair.household_id)

    async def log(i: int) -> object:
        (pair, *_) = await twinning.my_pairs(members[i])
        draft = VisitDraft(
            household_id=pair.household_id,
            categories=frozenset({VisitCategory.CHAT}),
            wellbeing=4,
        )
        return await twinning.log_visit(members[i], draft, token=f"timed-{i}")

    results = []
    for name, operation, count in (
        ("read: needs attention (whole district)", attention, max(3, runs // 20)),
        ("read: quarter totals (whole district)", totals, max(3, runs // 20)),
        ("read: a member's pairs (/twins)", my_pairs, runs),
        ("read: pairs + a household's visits", household_visits, runs),
        ("write: log a visit (credit, re-arm)", log, runs),
    ):
        results.append(await timed(services.store, name, count, operation, plan_lines=None))
    return results
