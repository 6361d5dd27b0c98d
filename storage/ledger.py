"""The love-savings passbook's ledger: append-only entries, the totals kept beside them, the
point rules per community and the quarters closed.

An entry is only ever inserted. (member, kind, ref) is unique and the insert ignores a
conflict, so crediting the same thing again — a retried update, a restart, two presses racing —
adds nothing; the totals move only with an entry actually inserted, in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Balance, LedgerEntry, LedgerKind, RankedMember
from storage.common import insert_ignoring, insert_ignoring_conflicts
from storage.schema import (
    buildings,
    ledger_entries,
    ledger_totals,
    point_rules,
    quarter_closes,
    users,
)

ALL_TIME = "all"  # the `period` of a member's all-time total


def _entry(row: RowMapping) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        community_id=row["community_id"],
        member_id=row["member_id"],
        kind=LedgerKind(row["kind"]),
        ref=row["ref"],
        points=row["points"],
        quarter=row["quarter"],
        reason=row["reason"],
        corrects_id=row["corrects_id"],
        granted_by=row["granted_by"],
        created_at=row["created_at"],
    )


def _upsert_total(conn: AsyncConnection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(ledger_totals)
    return stmt.on_conflict_do_update(
        index_elements=["member_id", "community_id", "period"],
        set_={"points": ledger_totals.c.points + stmt.excluded.points},
    )


async def add_entry(
    conn: AsyncConnection,
    *,
    community_id: int,
    member_id: int,
    kind: LedgerKind,
    ref: str,
    points: int,
    quarter: str,
    now: datetime,
    reason: str | None = None,
    corrects_id: int | None = None,
    granted_by: int | None = None,
) -> int | None:
    """Append an entry and move the member's totals; None (and nothing changed) when this
    member already has an entry of this kind for `ref`."""
    entry_id = await conn.scalar(
        insert_ignoring(conn, ledger_entries),
        {
            "community_id": community_id,
            "member_id": member_id,
            "kind": kind.value,
            "ref": ref,
            "points": points,
            "quarter": quarter,
            "reason": reason,
            "corrects_id": corrects_id,
            "granted_by": granted_by,
            "created_at": now,
        },
    )
    if entry_id is None:
        return None
    if points:
        await conn.execute(
            _upsert_total(conn),
            [
                {
                    "member_id": member_id,
                    "community_id": community_id,
                    "period": period,
                    "points": points,
                }
                for period in (quarter, ALL_TIME)
            ],
        )
    return int(entry_id)


async def get_entry(conn: AsyncConnection, entry_id: int) -> LedgerEntry | None:
    row = (
        (await conn.execute(select(ledger_entries).where(ledger_entries.c.id == entry_id)))
        .mappings()
        .first()
    )
    return _entry(row) if row else None


async def entry_by_ref(
    conn: AsyncConnection, member_id: int, kind: LedgerKind, ref: str
) -> LedgerEntry | None:
    row = (
        (
            await conn.execute(
                select(ledger_entries).where(
                    ledger_entries.c.member_id == member_id,
                    ledger_entries.c.kind == kind.value,
                    ledger_entries.c.ref == ref,
                )
            )
        )
        .mappings()
        .first()
    )
    return _entry(row) if row else None


async def entries_of(
    conn: AsyncConnection, member_id: int, *, before: int | None = None, limit: int = 10
) -> list[LedgerEntry]:
    """A page of a member's entries, newest first (keyset: `before` an entry id)."""
    query = (
        select(ledger_entries)
        .where(ledger_entries.c.member_id == member_id)
        .order_by(ledger_entries.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(ledger_entries.c.id < before)
    return [_entry(r) for r in (await conn.execute(query)).mappings()]


async def balance(conn: AsyncConnection, member_id: int, quarter: str) -> Balance:
    """The member's points this quarter and all time, over every community (from the totals)."""
    rows = await conn.execute(
        select(ledger_totals.c.period, func.sum(ledger_totals.c.points))
        .where(
            ledger_totals.c.member_id == member_id,
            ledger_totals.c.period.in_((quarter, ALL_TIME)),
        )
        .group_by(ledger_totals.c.period)
    )
    sums = {period: int(points or 0) for period, points in rows}
    return Balance(
        member_id=member_id,
        quarter=quarter,
        this_quarter=sums.get(quarter, 0),
        all_time=sums.get(ALL_TIME, 0),
    )


async def summed(conn: AsyncConnection, member_id: int) -> int:
    """The sum of the member's entries themselves (what the totals must always equal)."""
    total = await conn.scalar(
        select(func.sum(ledger_entries.c.points)).where(ledger_entries.c.member_id == member_id)
    )
    return int(total or 0)


def _ranked(community_id: int, period: str, building_id: int | None) -> Select[Any]:
    query = (
        select(
            ledger_totals.c.member_id,
            ledger_totals.c.points,
            users.c.display_name,
            buildings.c.name.label("building_name"),
        )
        .join(users, users.c.id == ledger_totals.c.member_id)
        .outerjoin(buildings, buildings.c.id == users.c.building_id)
        .where(
            ledger_totals.c.community_id == community_id,
            ledger_totals.c.period == period,
            ledger_totals.c.points > 0,
        )
    )
    if building_id is not None:
        query = query.where(users.c.building_id == building_id)
    return query


async def ranking(
    conn: AsyncConnection,
    community_id: int,
    period: str,
    *,
    building_id: int | None = None,
    limit: int = 10,
) -> list[RankedMember]:
    """The top members of a community's period (of one building: by where they live now);
    equal points share a place (1, 2, 2, 4)."""
    query = (
        _ranked(community_id, period, building_id)
        .order_by(ledger_totals.c.points.desc(), ledger_totals.c.member_id)
        .limit(limit)
    )
    rows = list((await conn.execute(query)).mappings())
    ranked: list[RankedMember] = []
    for n, row in enumerate(rows):
        tied = ranked and ranked[-1].points == row["points"]
        ranked.append(
            RankedMember(
                place=ranked[-1].place if tied else n + 1,
                member_id=row["member_id"],
                display_name=row["display_name"],
                building_name=row["building_name"],
                points=row["points"],
            )
        )
    return ranked


async def place_of(
    conn: AsyncConnection,
    community_id: int,
    period: str,
    member_id: int,
    *,
    building_id: int | None = None,
) -> tuple[int, int] | None:
    """The member's place and points in a community's period (None: no points there)."""
    mine = await conn.scalar(
        select(ledger_totals.c.points).where(
            ledger_totals.c.member_id == member_id,
            ledger_totals.c.community_id == community_id,
            ledger_totals.c.period == period,
        )
    )
    if not mine or mine <= 0:
        return None
    # Counted on the ranking index alone: joining every row ahead to its user and building
    # (for names a count never shows) took 115 ms at 100,000 members on SQLite, this 2 ms.
    # Every total has its user (a foreign key), so the count is the same.
    ahead_query = (
        select(func.count())
        .select_from(ledger_totals)
        .where(
            ledger_totals.c.community_id == community_id,
            ledger_totals.c.period == period,
            ledger_totals.c.points > mine,
        )
    )
    if building_id is not None:
        ahead_query = ahead_query.join(users, users.c.id == ledger_totals.c.member_id).where(
            users.c.building_id == building_id
        )
    ahead = await conn.scalar(ahead_query)
    return int(ahead or 0) + 1, int(mine)


async def rules(conn: AsyncConnection, community_id: int) -> dict[LedgerKind, int]:
    """The points a community set per kind (kinds it never set are not here)."""
    rows = await conn.execute(
        select(point_rules.c.kind, point_rules.c.points).where(
            point_rules.c.community_id == community_id
        )
    )
    return {LedgerKind(kind): int(points) for kind, points in rows}


async def set_rule(
    conn: AsyncConnection,
    community_id: int,
    kind: LedgerKind,
    points: int,
    *,
    changed_by: int,
    now: datetime,
) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(point_rules).values(
        community_id=community_id,
        kind=kind.value,
        points=points,
        changed_by=changed_by,
        changed_at=now,
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["community_id", "kind"],
            set_={"points": points, "changed_by": changed_by, "changed_at": now},
        )
    )


async def close_quarter(
    conn: AsyncConnection, community_id: int, quarter: str, *, closed_by: int, now: datetime
) -> bool:
    """Mark a community's quarter closed; False when it already was (closed once)."""
    result = await conn.execute(
        insert_ignoring_conflicts(
            conn,
            quarter_closes,
            community_id=community_id,
            quarter=quarter,
            closed_by=closed_by,
            closed_at=now,
        )
    )
    return int(result.rowcount) == 1


async def closed_quarters(
    conn: AsyncConnection, community_ids: Iterable[int]
) -> set[tuple[int, str]]:
    rows = await conn.execute(
        select(quarter_closes.c.community_id, quarter_closes.c.quarter).where(
            quarter_closes.c.community_id.in_(sorted(set(community_ids)))
        )
    )
    return {(int(c), str(q)) for c, q in rows}


# --- for the passbook's screens ------------------------------------------------------------


async def corrected_among(conn: AsyncConnection, entry_ids: Iterable[int]) -> set[int]:
    """Which of these entries a correction names already (a screen offers no second one)."""
    wanted = sorted(set(entry_ids))
    if not wanted:
        return set()
    rows = await conn.scalars(
        select(ledger_entries.c.corrects_id).where(ledger_entries.c.corrects_id.in_(wanted))
    )
    return {int(found) for found in rows}
