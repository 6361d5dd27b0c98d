"""What a community's quarter adds up to, read for its closing: points per member and kind,
every entry with who earned and who granted it, the wishes they were for."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import LedgerKind, WishCategory
from storage.ledger import ALL_TIME
from storage.schema import buildings, ledger_entries, ledger_totals, users, wishes


class MemberKindPoints(NamedTuple):
    member_id: int
    display_name: str
    building_name: str | None
    kind: LedgerKind
    points: int


class ReportEntry(NamedTuple):
    id: int
    created_at: datetime
    member_id: int
    member_name: str
    kind: LedgerKind
    ref: str
    points: int
    reason: str | None
    corrects_id: int | None
    granted_by: int | None
    granted_by_name: str | None


class WishLine(NamedTuple):
    id: int
    category: WishCategory
    text: str | None
    urgent: bool


def _of_quarter(community_id: int, quarter: str) -> tuple[ColumnElement[bool], ...]:
    return (ledger_entries.c.community_id == community_id, ledger_entries.c.quarter == quarter)


async def points_by_member_and_kind(
    conn: AsyncConnection, community_id: int, quarter: str
) -> list[MemberKindPoints]:
    """Each member's points of the quarter per kind of work, with their name and building."""
    query = (
        select(
            ledger_entries.c.member_id,
            users.c.display_name,
            buildings.c.name,
            ledger_entries.c.kind,
            func.sum(ledger_entries.c.points),
        )
        .join(users, users.c.id == ledger_entries.c.member_id)
        .outerjoin(buildings, buildings.c.id == users.c.building_id)
        .where(*_of_quarter(community_id, quarter))
        .group_by(
            ledger_entries.c.member_id,
            users.c.display_name,
            buildings.c.name,
            ledger_entries.c.kind,
        )
        .order_by(ledger_entries.c.member_id, ledger_entries.c.kind)
    )
    return [
        MemberKindPoints(int(m), str(name), building, LedgerKind(kind), int(points or 0))
        for m, name, building, kind, points in await conn.execute(query)
    ]


async def wishes_credited(conn: AsyncConnection, community_id: int, quarter: str) -> int:
    """How many wishes earned points in the quarter (a team's wish counts once)."""
    found = await conn.scalar(
        select(func.count(distinct(ledger_entries.c.ref))).where(
            *_of_quarter(community_id, quarter),
            ledger_entries.c.kind.in_((LedgerKind.WISH.value, LedgerKind.URGENT.value)),
        )
    )
    return int(found or 0)


async def entries(conn: AsyncConnection, community_id: int, quarter: str) -> list[ReportEntry]:
    """Every entry of the quarter in order, with the member's and the granter's names."""
    granter = users.alias("granter")
    query = (
        select(
            ledger_entries.c.id,
            ledger_entries.c.created_at,
            ledger_entries.c.member_id,
            users.c.display_name,
            ledger_entries.c.kind,
            ledger_entries.c.ref,
            ledger_entries.c.points,
            ledger_entries.c.reason,
            ledger_entries.c.corrects_id,
            ledger_entries.c.granted_by,
            granter.c.display_name.label("granter_name"),
        )
        .join(users, users.c.id == ledger_entries.c.member_id)
        .outerjoin(granter, granter.c.id == ledger_entries.c.granted_by)
        .where(*_of_quarter(community_id, quarter))
        .order_by(ledger_entries.c.id)
    )
    return [
        ReportEntry(
            id=row.id,
            created_at=row.created_at,
            member_id=row.member_id,
            member_name=row.display_name,
            kind=LedgerKind(row.kind),
            ref=row.ref,
            points=row.points,
            reason=row.reason,
            corrects_id=row.corrects_id,
            granted_by=row.granted_by,
            granted_by_name=row.granter_name,
        )
        for row in await conn.execute(query)
    ]


async def wish_lines(conn: AsyncConnection, wish_ids: Iterable[int]) -> dict[int, WishLine]:
    """The category and words of these wishes (what their points were for)."""
    wanted = sorted(set(wish_ids))
    found: dict[int, WishLine] = {}
    # In slices: PostgreSQL and SQLite both limit the parameters of one statement.
    for at in range(0, len(wanted), 1000):
        query = select(wishes.c.id, wishes.c.category, wishes.c.text, wishes.c.urgent).where(
            wishes.c.id.in_(wanted[at : at + 1000])
        )
        for wish_id, category, text, urgent in await conn.execute(query):
            found[int(wish_id)] = WishLine(
                int(wish_id), WishCategory(category), text, bool(urgent)
            )
    return found


async def quarters_with_entries(conn: AsyncConnection, community_id: int) -> list[str]:
    """The quarters a community has ledger entries in, newest first: read off the totals
    (a row per member and quarter, on `ix_ledger_totals_ranking`), not the entries."""
    rows = await conn.scalars(
        select(ledger_totals.c.period)
        .distinct()
        .where(ledger_totals.c.community_id == community_id, ledger_totals.c.period != ALL_TIME)
        .order_by(ledger_totals.c.period.desc())
    )
    return [str(q) for q in rows]
