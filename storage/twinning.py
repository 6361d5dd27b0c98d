"""Twinning (结对帮扶): households, the pairs of a member and a household, the visits logged.

A household's phone is read here by `contact_of` only; every other read leaves it out, so a
screen cannot show it by accident. Visits are only ever inserted; (member, token) is unique
and the insert ignores a conflict, so a "save" sent twice makes one visit. At most one pair
of a member and a household is active (a partial unique index), whatever races."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    Circumstance,
    HelpKind,
    Household,
    HouseholdContact,
    Pair,
    Reach,
    Visit,
    VisitCategory,
    WellbeingPoint,
)
from storage.common import insert_ignoring_conflicts
from storage.schema import (
    buildings,
    household_circumstances,
    households,
    pairs,
    users,
    visits,
)

# Every column but the phone: what a household is, for anyone allowed to see it.
_HOUSEHOLD_COLUMNS = [c for c in households.c if c.name != "phone"]


def _household(row: RowMapping, circumstances: Iterable[str]) -> Household:
    return Household(
        id=row["id"],
        community_id=row["community_id"],
        building_id=row["building_id"],
        building_name=row["building_name"],
        name=row["name"],
        room=row["room"],
        circumstances=frozenset(Circumstance(c) for c in circumstances),
        notes=row["notes"],
        resident_id=row["resident_id"],
        consent_by=row["consent_by"],
        consent_at=row["consent_at"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


def _households_query() -> Select[Any]:
    return select(*_HOUSEHOLD_COLUMNS, buildings.c.name.label("building_name")).join(
        buildings, buildings.c.id == households.c.building_id
    )


def in_reach(reach: Reach) -> ColumnElement[bool]:
    """Households below a coordinator's node (a building's coordinator: that building's)."""
    where: ColumnElement[bool] = households.c.community_id.in_(sorted(reach.community_ids))
    if reach.building_id is not None:
        where = and_(where, households.c.building_id == reach.building_id)
    return where


async def _with_circumstances(conn: AsyncConnection, rows: list[RowMapping]) -> list[Household]:
    ids = [row["id"] for row in rows]
    found: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        query = select(household_circumstances).where(
            household_circumstances.c.household_id.in_(ids)
        )
        for row in (await conn.execute(query)).mappings():
            found[row["household_id"]].append(row["circumstance"])
    return [_household(row, found[row["id"]]) for row in rows]


async def insert_household(
    conn: AsyncConnection,
    *,
    community_id: int,
    building_id: int,
    name: str,
    room: str | None,
    phone: str | None,
    notes: str | None,
    resident_id: int | None,
    circumstances: Iterable[Circumstance],
    consent_by: int,
    now: datetime,
) -> int:
    household_id = await conn.scalar(
        households.insert()
        .values(
            community_id=community_id,
            building_id=building_id,
            name=name,
            room=room,
            phone=phone,
            notes=notes,
            resident_id=resident_id,
            consent_by=consent_by,
            consent_at=now,
            created_by=consent_by,
            created_at=now,
        )
        .returning(households.c.id)
    )
    assert household_id is not None
    await set_circumstances(conn, int(household_id), circumstances)
    return int(household_id)


async def same_household(
    conn: AsyncConnection, building_id: int, name: str, room: str | None
) -> Household | None:
    """A household of this building with this name and room, if one is registered; the
    building's row is locked first (PostgreSQL), so two registrations of one household made at
    once find each other (SQLite's write transactions run one at a time anyway)."""
    await conn.execute(
        select(buildings.c.id).where(buildings.c.id == building_id).with_for_update()
    )
    same_room = households.c.room.is_(None) if room is None else households.c.room == room
    query = _households_query().where(
        households.c.building_id == building_id, households.c.name == name, same_room
    )
    rows = list((await conn.execute(query.order_by(households.c.id).limit(1))).mappings())
    found = await _with_circumstances(conn, rows)
    return found[0] if found else None


async def update_household(conn: AsyncConnection, household_id: int, **values: Any) -> None:
    allowed = {"building_id", "name", "room", "phone", "notes", "resident_id"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not household columns: {sorted(unknown)}")
    if values:
        await conn.execute(
            update(households).where(households.c.id == household_id).values(**values)
        )


async def set_circumstances(
    conn: AsyncConnection, household_id: int, circumstances: Iterable[Circumstance]
) -> None:
    await conn.execute(
        household_circumstances.delete().where(
            household_circumstances.c.household_id == household_id
        )
    )
    rows = [{"household_id": household_id, "circumstance": c.value} for c in set(circumstances)]
    if rows:
        await conn.execute(household_circumstances.insert(), rows)


async def get_household(conn: AsyncConnection, household_id: int) -> Household | None:
    rows = list(
        (await conn.execute(_households_query().where(households.c.id == household_id)))
        .mappings()
        .all()
    )
    found = await _with_circumstances(conn, rows)
    return found[0] if found else None


async def households_in(
    conn: AsyncConnection,
    reach: Reach,
    *,
    building_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Household]:
    """Households below `reach` (in one building when named), in id order (keyset)."""
    query = _households_query().where(in_reach(reach))
    if building_id is not None:
        query = query.where(households.c.building_id == building_id)
    if after_id is not None:
        query = query.where(households.c.id > after_id)
    rows = list((await conn.execute(query.order_by(households.c.id).limit(limit))).mappings())
    return await _with_circumstances(conn, rows)


async def registered_in(
    conn: AsyncConnection, reach: Reach, *, after_id: int | None = None, limit: int
) -> list[tuple[int, datetime]]:
    """(id, registered at) of the households below `reach`, in id order (keyset): what the
    needs-attention list reads of every household before it loads the ones it shows."""
    query = select(households.c.id, households.c.created_at).where(in_reach(reach))
    if after_id is not None:
        query = query.where(households.c.id > after_id)
    rows = await conn.execute(query.order_by(households.c.id).limit(limit))
    return [(int(i), at) for i, at in rows]


async def households_by_id(conn: AsyncConnection, ids: Iterable[int]) -> list[Household]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    query = _households_query().where(households.c.id.in_(wanted)).order_by(households.c.id)
    return await _with_circumstances(conn, list((await conn.execute(query)).mappings()))


async def contact_of(conn: AsyncConnection, household_id: int) -> HouseholdContact | None:
    """The one read of a household's phone (the service decides who may have it)."""
    query = select(
        households.c.id,
        households.c.name,
        households.c.building_id,
        households.c.room,
        households.c.phone,
        buildings.c.name.label("building_name"),
    ).join(buildings, buildings.c.id == households.c.building_id)
    row = (await conn.execute(query.where(households.c.id == household_id))).mappings().first()
    if row is None:
        return None
    return HouseholdContact(
        household_id=row["id"],
        name=row["name"],
        building_id=row["building_id"],
        building_name=row["building_name"],
        room=row["room"],
        phone=row["phone"],
    )


# --- pairs ------------------------------------------------------------------------------------


def _last_visit() -> Any:
    return (
        select(func.max(visits.c.visited_on))
        .where(visits.c.pair_id == pairs.c.id)
        .scalar_subquery()
        .label("last_visited_on")
    )


def _pairs_query() -> Select[Any]:
    return (
        select(
            pairs,
            _last_visit(),
            users.c.display_name.label("member_name"),
            households.c.name.label("household_name"),
            buildings.c.name.label("building_name"),
        )
        .join(users, users.c.id == pairs.c.member_id)
        .join(households, households.c.id == pairs.c.household_id)
        .join(buildings, buildings.c.id == pairs.c.building_id)
    )


def _pair(row: RowMapping) -> Pair:
    last = row["last_visited_on"]
    if isinstance(last, str):  # SQLite gives a max() of dates back as text
        last = date.fromisoformat(last)
    return Pair(
        id=row["id"],
        member_id=row["member_id"],
        household_id=row["household_id"],
        community_id=row["community_id"],
        building_id=row["building_id"],
        cadence_days=row["cadence_days"],
        started_at=row["started_at"],
        created_by=row["created_by"],
        ended_at=row["ended_at"],
        end_reason=row["end_reason"],
        ended_by=row["ended_by"],
        last_visited_on=last,
        member_name=row["member_name"],
        household_name=row["household_name"],
        building_name=row["building_name"],
    )


async def insert_pair(
    conn: AsyncConnection,
    *,
    member_id: int,
    household: Household,
    cadence_days: int,
    created_by: int,
    now: datetime,
) -> int | None:
    """Start a pair; None (nothing changed) when these two are actively paired already."""
    statement = insert_ignoring_conflicts(
        conn,
        pairs,
        member_id=member_id,
        household_id=household.id,
        community_id=household.community_id,
        building_id=household.building_id,
        cadence_days=cadence_days,
        started_at=now,
        created_by=created_by,
    ).returning(pairs.c.id)
    found = await conn.scalar(statement)
    return int(found) if found is not None else None


async def end_pair(
    conn: AsyncConnection, pair_id: int, *, reason: str, ended_by: int, now: datetime
) -> bool:
    """Active → ended, atomically; False when it had ended already."""
    result = await conn.execute(
        update(pairs)
        .where(pairs.c.id == pair_id, pairs.c.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason, ended_by=ended_by)
    )
    return result.rowcount == 1


async def get_pair(conn: AsyncConnection, pair_id: int) -> Pair | None:
    row = (await conn.execute(_pairs_query().where(pairs.c.id == pair_id))).mappings().first()
    return _pair(row) if row else None


async def active_pair(conn: AsyncConnection, member_id: int, household_id: int) -> Pair | None:
    query = _pairs_query().where(
        pairs.c.member_id == member_id,
        pairs.c.household_id == household_id,
        pairs.c.ended_at.is_(None),
    )
    row = (await conn.execute(query)).mappings().first()
    return _pair(row) if row else None


async def pairs_of_member(
    conn: AsyncConnection, member_id: int, *, active_only: bool = True
) -> list[Pair]:
    query = _pairs_query().where(pairs.c.member_id == member_id)
    if active_only:
        query = query.where(pairs.c.ended_at.is_(None))
    return [_pair(r) for r in (await conn.execute(query.order_by(pairs.c.id))).mappings()]


async def pairs_of_household(
    conn: AsyncConnection, household_id: int, *, active_only: bool = False
) -> list[Pair]:
    query = _pairs_query().where(pairs.c.household_id == household_id)
    if active_only:
        query = query.where(pairs.c.ended_at.is_(None))
    return [_pair(r) for r in (await conn.execute(query.order_by(pairs.c.id))).mappings()]


# --- visits -----------------------------------------------------------------------------------


def _visit(row: RowMapping) -> Visit:
    visited_on = row["visited_on"]
    return Visit(
        id=row["id"],
        pair_id=row["pair_id"],
        household_id=row["household_id"],
        member_id=row["member_id"],
        community_id=row["community_id"],
        building_id=row["building_id"],
        visited_on=visited_on,
        categories=frozenset(VisitCategory(c) for c in row["categories"].split(",") if c),
        text=row["text"],
        voice_file_id=row["voice_file_id"],
        photo_file_id=row["photo_file_id"],
        help_kind=HelpKind(row["help_kind"]) if row["help_kind"] else None,
        help_fen=row["help_fen"],
        wellbeing=row["wellbeing"],
        wellbeing_note=row["wellbeing_note"],
        created_at=row["created_at"],
    )


async def insert_visit(
    conn: AsyncConnection,
    *,
    pair: Pair,
    visited_on: date,
    categories: Iterable[VisitCategory],
    text: str | None,
    voice_file_id: str | None,
    photo_file_id: str | None,
    help_kind: HelpKind | None,
    help_fen: int,
    wellbeing: int | None,
    wellbeing_note: str | None,
    token: str,
    now: datetime,
) -> int | None:
    """Append a visit; None (nothing changed) when this member's `token` was used already."""
    statement = insert_ignoring_conflicts(
        conn,
        visits,
        pair_id=pair.id,
        household_id=pair.household_id,
        member_id=pair.member_id,
        community_id=pair.community_id,
        building_id=pair.building_id,
        visited_on=visited_on,
        categories=",".join(sorted(c.value for c in categories)),
        text=text,
        voice_file_id=voice_file_id,
        photo_file_id=photo_file_id,
        help_kind=help_kind.value if help_kind else None,
        help_fen=help_fen,
        wellbeing=wellbeing,
        wellbeing_note=wellbeing_note,
        token=token,
        created_at=now,
    ).returning(visits.c.id)
    found = await conn.scalar(statement)
    return int(found) if found is not None else None


async def get_visit(conn: AsyncConnection, visit_id: int) -> Visit | None:
    row = (await conn.execute(select(visits).where(visits.c.id == visit_id))).mappings().first()
    return _visit(row) if row else None


async def visit_by_token(conn: AsyncConnection, member_id: int, token: str) -> Visit | None:
    query = select(visits).where(visits.c.member_id == member_id, visits.c.token == token)
    row = (await conn.execute(query)).mappings().first()
    return _visit(row) if row else None


async def first_visit_of_day(conn: AsyncConnection, pair_id: int, visited_on: date) -> int | None:
    """The id of a pair's first visit logged for that day (the one its points went to)."""
    found = await conn.scalar(
        select(func.min(visits.c.id)).where(
            visits.c.pair_id == pair_id, visits.c.visited_on == visited_on
        )
    )
    return int(found) if found is not None else None


async def last_visited_on(conn: AsyncConnection, pair_id: int) -> date | None:
    found = await conn.scalar(
        select(func.max(visits.c.visited_on)).where(visits.c.pair_id == pair_id)
    )
    return date.fromisoformat(found) if isinstance(found, str) else found


async def visits_of_household(
    conn: AsyncConnection, household_id: int, *, before_id: int | None = None, limit: int = 10
) -> list[Visit]:
    """A page of a household's visits, newest first (keyset: `before_id`)."""
    query = select(visits).where(visits.c.household_id == household_id)
    if before_id is not None:
        query = query.where(visits.c.id < before_id)
    query = query.order_by(visits.c.visited_on.desc(), visits.c.id.desc()).limit(limit)
    return [_visit(r) for r in (await conn.execute(query)).mappings()]


async def wellbeing_of(conn: AsyncConnection, household_id: int) -> list[WellbeingPoint]:
    """The marks of a household's visits, oldest first."""
    query = (
        select(visits.c.id, visits.c.visited_on, visits.c.wellbeing)
        .where(visits.c.household_id == household_id, visits.c.wellbeing.is_not(None))
        .order_by(visits.c.visited_on, visits.c.id)
    )
    return [
        WellbeingPoint(visit_id=r["id"], visited_on=r["visited_on"], mark=r["wellbeing"])
        for r in (await conn.execute(query)).mappings()
    ]


async def latest_marks(
    conn: AsyncConnection, household_ids: Iterable[int]
) -> dict[int, tuple[int, int | None]]:
    """Each household's latest wellbeing mark and the one before it (None: only one)."""
    wanted = sorted(set(household_ids))
    if not wanted:
        return {}
    ranked = (
        select(
            visits.c.household_id,
            visits.c.wellbeing,
            func.row_number()
            .over(
                partition_by=visits.c.household_id,
                order_by=(visits.c.visited_on.desc(), visits.c.id.desc()),
            )
            .label("place"),
        )
        .where(visits.c.household_id.in_(wanted), visits.c.wellbeing.is_not(None))
        .subquery()
    )
    query = select(ranked).where(ranked.c.place <= 2).order_by(ranked.c.household_id, "place")
    marks: dict[int, list[int]] = {}
    for row in (await conn.execute(query)).mappings():
        marks.setdefault(row["household_id"], []).append(row["wellbeing"])
    return {h: (m[0], m[1] if len(m) > 1 else None) for h, m in marks.items()}


async def last_visits(conn: AsyncConnection, household_ids: Iterable[int]) -> dict[int, date]:
    wanted = sorted(set(household_ids))
    if not wanted:
        return {}
    query = (
        select(visits.c.household_id, func.max(visits.c.visited_on))
        .where(visits.c.household_id.in_(wanted))
        .group_by(visits.c.household_id)
    )
    return {
        h: date.fromisoformat(d) if isinstance(d, str) else d
        for h, d in (await conn.execute(query)).all()
    }


# --- totals -----------------------------------------------------------------------------------


async def totals(
    conn: AsyncConnection,
    *,
    community_ids: Iterable[int],
    building_id: int | None,
    start: date,
    end: date,
    from_moment: datetime,
    until_moment: datetime,
) -> dict[str, int]:
    """What the seeds count for a place and period: `start`..`end` are local days (visits),
    `from_moment`..`until_moment` the same period as instants (pairs, households)."""
    places = sorted(set(community_ids))

    def place(table: Any) -> ColumnElement[bool]:
        where: ColumnElement[bool] = table.c.community_id.in_(places)
        if building_id is not None:
            where = and_(where, table.c.building_id == building_id)
        return where

    counted = (
        await conn.execute(
            select(
                func.count(),
                func.coalesce(
                    func.sum(visits.c.help_fen).filter(visits.c.help_kind == HelpKind.FUNDS.value),
                    0,
                ),
                func.coalesce(
                    func.sum(visits.c.help_fen).filter(
                        visits.c.help_kind == HelpKind.MATERIALS.value
                    ),
                    0,
                ),
            ).where(place(visits), visits.c.visited_on >= start, visits.c.visited_on <= end)
        )
    ).one()
    formed = await conn.scalar(
        select(func.count()).where(
            place(pairs), pairs.c.started_at >= from_moment, pairs.c.started_at < until_moment
        )
    )
    active = await conn.scalar(
        select(func.count()).where(
            place(pairs),
            pairs.c.started_at < until_moment,
            or_(pairs.c.ended_at.is_(None), pairs.c.ended_at >= until_moment),
        )
    )
    registered = await conn.scalar(
        select(func.count()).where(place(households), households.c.created_at < until_moment)
    )
    return {
        "visits": int(counted[0]),
        "funds_fen": int(counted[1]),
        "materials_fen": int(counted[2]),
        "pairs_formed": int(formed or 0),
        "pairs_active": int(active or 0),
        "households": int(registered or 0),
    }
