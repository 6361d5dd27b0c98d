"""The rows of an export (`/export`), streamed: each function yields batches from a
server-side cursor (`conn.stream` with `yield_per`), so a year of a district's million wishes
never sits in memory, on SQLite and PostgreSQL alike.

Every query takes the place as `community_ids` (and `building_id` for a building's
coordinator: only that building's rows) and the period as instants [start, after). Nothing
here reads a contact column: a wish's resident, room and phone come from
`storage.wishes.contacts_of`, and an anonymous suggestion's author from nowhere at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models import (
    FindingRow,
    HelpKind,
    PassbookRow,
    SessionRow,
    ShiftRow,
    SignupStatus,
    SlotKind,
    SlotStatus,
    SuggestionRow,
    VisitRow,
    WishRow,
    WishStatus,
)
from storage.common import in_place
from storage.engine import READ_OPTION
from storage.schema import (
    buildings,
    households,
    ledger_entries,
    patrol_findings,
    patrol_posts,
    patrol_shifts,
    slot_signups,
    slots,
    study_sessions,
    suggestion_replies,
    suggestions,
    teams,
    users,
    visits,
    wishes,
)

# The figures' own pieces (whose rows, first claims, minutes served, a session's audience):
# the sheets add up to `/stats` by construction.
from storage.stats import (
    HOLDING_VALUES,
    first_claim,
    in_audience_of,
    of_building,
    served_minutes,
)

BATCH = 2_000  # rows per batch: a contact look-up's IN list stays well under both limits

_claimer = users.alias("claimer")


@asynccontextmanager
async def snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One read transaction for a whole export: every sheet sees the same moment of the
    database (SQLite: a deferred read transaction in WAL mode; PostgreSQL: REPEATABLE READ,
    read only — and a transaction at all, which asyncpg's server-side cursors need)."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield conn
            return
        conn = await conn.execution_options(**{READ_OPTION: True})
        async with conn.begin():
            yield conn


async def _batches(
    conn: AsyncConnection, query: Select[Any], batch: int = BATCH
) -> AsyncIterator[Sequence[Any]]:
    result = await conn.stream(query.execution_options(yield_per=batch))
    async for rows in result.partitions(batch):
        yield rows


# --- wishes ---------------------------------------------------------------------------------


async def wish_rows(
    conn: AsyncConnection,
    *,
    community_ids: Collection[int],
    building_id: int | None,
    start: datetime,
    after: datetime,
) -> AsyncIterator[list[WishRow]]:
    """The wishes posted in [start, after), urgent ones included, in id order; without their
    contact details (the caller adds them from `contacts_of`)."""
    query = (
        select(
            wishes.c.id,
            wishes.c.created_at,
            buildings.c.name,
            wishes.c.category,
            wishes.c.urgent,
            wishes.c.status,
            first_claim(),
            wishes.c.done_at,
            case(
                (wishes.c.status == WishStatus.CONFIRMED.value, wishes.c.closed_at),
                else_=None,
            ),
            func.coalesce(teams.c.name, _claimer.c.display_name),
        )
        .select_from(
            wishes.outerjoin(buildings, buildings.c.id == wishes.c.building_id)
            .outerjoin(_claimer, _claimer.c.id == wishes.c.claimed_by)
            .outerjoin(teams, teams.c.id == wishes.c.team_id)
        )
        .where(
            *in_place(wishes, community_ids, building_id),
            wishes.c.created_at >= start,
            wishes.c.created_at < after,
        )
        .order_by(wishes.c.id)
    )
    async for rows in _batches(conn, query):
        yield [
            WishRow(
                id=r[0],
                posted_at=r[1],
                building=r[2],
                category=r[3],
                urgent=bool(r[4]),
                status=r[5],
                claimed_at=r[6],
                done_at=r[7],
                confirmed_at=r[8],
                helper=r[9],
                resident=None,
                room=None,
                phone=None,
            )
            for r in rows
        ]


# --- twinning visits ------------------------------------------------------------------------


async def visit_rows(
    conn: AsyncConnection,
    *,
    community_ids: Collection[int],
    building_id: int | None,
    first_day: Any,
    last_day: Any,
) -> AsyncIterator[list[VisitRow]]:
    """The visits made on the period's local days, with the help given (fen)."""
    helped = case(
        (
            visits.c.help_kind.in_([HelpKind.FUNDS.value, HelpKind.MATERIALS.value]),
            visits.c.help_fen,
        ),
        else_=0,
    )
    query = (
        select(
            visits.c.visited_on,
            users.c.display_name,
            households.c.name,
            buildings.c.name,
            helped,
        )
        .select_from(
            visits.join(users, users.c.id == visits.c.member_id)
            .join(households, households.c.id == visits.c.household_id)
            .outerjoin(buildings, buildings.c.id == visits.c.building_id)
        )
        .where(
            *in_place(visits, community_ids, building_id),
            visits.c.visited_on >= first_day,
            visits.c.visited_on <= last_day,
        )
        .order_by(visits.c.visited_on, visits.c.id)
    )
    async for rows in _batches(conn, query):
        yield [VisitRow(r[0], r[1], r[2], r[3], int(r[4] or 0)) for r in rows]


# --- patrol ---------------------------------------------------------------------------------


async def shift_rows(
    conn: AsyncConnection,
    *,
    community_ids: Collection[int],
    building_id: int | None,
    start: datetime,
    after: datetime,
    now: datetime,
) -> AsyncIterator[list[ShiftRow]]:
    """The patrol shifts started in [start, after) and not cancelled, as `/stats` counts
    them: places held (or served), minutes served (within the shift, as the passbook counts
    them), places held and never checked in to once the shift has ended. A building's
    coordinator: the shifts its members took part in, and their places only."""
    holding = slot_signups.c.status.in_(HOLDING_VALUES)
    took_part = or_(holding, slot_signups.c.checked_in_at.is_not(None))
    missed = and_(holding, slot_signups.c.checked_in_at.is_(None), slots.c.ends_at <= now)
    signers = of_building(slot_signups.c.user_id, building_id)  # a building's: its members'
    per_slot = (
        select(
            slot_signups.c.slot_id,
            func.sum(case((took_part, 1), else_=0)).label("members"),
            func.sum(served_minutes(conn)).label("minutes"),
            func.sum(case((missed, 1), else_=0)).label("missed"),
        )
        .select_from(slot_signups.join(slots, slots.c.id == slot_signups.c.slot_id))
        .where(*signers)
        .group_by(slot_signups.c.slot_id)
        .subquery("per_slot")
    )
    joined = (
        slots.join(patrol_shifts, patrol_shifts.c.slot_id == slots.c.id)
        .join(patrol_posts, patrol_posts.c.id == patrol_shifts.c.post_id)
        .outerjoin(per_slot, per_slot.c.slot_id == slots.c.id)
    )
    query = (
        select(
            patrol_posts.c.name,
            slots.c.starts_at,
            slots.c.ends_at,
            func.coalesce(per_slot.c.members, 0),
            func.coalesce(per_slot.c.minutes, 0),
            func.coalesce(per_slot.c.missed, 0),
        )
        .select_from(joined)
        .where(
            slots.c.community_id.in_(sorted(community_ids)),
            slots.c.kind == SlotKind.PATROL.value,
            slots.c.status == SlotStatus.OPEN.value,
            slots.c.starts_at >= start,
            slots.c.starts_at < after,
            *([per_slot.c.members > 0] if building_id is not None else []),
        )
        .order_by(slots.c.starts_at, slots.c.id)
    )
    async for rows in _batches(conn, query):
        yield [ShiftRow(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5])) for r in rows]


async def finding_rows(
    conn: AsyncConnection,
    *,
    community_ids: Collection[int],
    building_id: int | None,
    start: datetime,
    after: datetime,
) -> AsyncIterator[list[FindingRow]]:
    """The patrol findings reported in [start, after)."""
    query = (
        select(
            patrol_findings.c.id,
            patrol_findings.c.created_at,
            patrol_posts.c.name,
            buildings.c.name,
            users.c.display_name,
            patrol_findings.c.status,
            patrol_findings.c.handled_at,
            patrol_findings.c.wish_id,
        )
        .select_from(
            patrol_findings.outerjoin(
                patrol_shifts, patrol_shifts.c.slot_id == patrol_findings.c.slot_id
            )
            .outerjoin(patrol_posts, patrol_posts.c.id == patrol_shifts.c.post_id)
            .outerjoin(buildings, buildings.c.id == patrol_findings.c.building_id)
            .outerjoin(users, users.c.id == patrol_findings.c.reported_by)
        )
        .where(
            *in_place(patrol_findings, community_ids, building_id),
            patrol_findings.c.created_at >= start,
            patrol_findings.c.created_at < after,
        )
        .order_by(patrol_findings.c.id)
    )
    async for rows in _batches(conn, query):
        yield [FindingRow(*r) for r in rows]


# --- study ----------------------------------------------------------------------------------


async def session_rows(
    conn: AsyncConnection,
    *,
    community_ids: Collection[int],
    building_id: int | None,
    start: datetime,
    after: datetime,
    now: datetime,
) -> AsyncIterator[list[SessionRow]]:
    """The study sessions held (started in [start, after), ended by `now`, not cancelled)
    and their attendance as `/stats` counts it: each person in the audience, and anyone else
    who answered, attended (checked in), was excused (and did not check in) or is absent. A
    building's coordinator: the sessions for its members and for the whole community, and
    the building's people in their audience only."""
    signer, person = users.alias("signer"), users.alias("person")
    answers: list[ColumnElement[bool]] = [slot_signups.c.slot_id == slots.c.id]
    people: list[ColumnElement[bool]] = [in_audience_of(person)]
    if building_id is not None:
        answers += [signer.c.building_id == building_id, in_audience_of(signer)]
        people.append(person.c.building_id == building_id)

    def tally(*condition: ColumnElement[bool]) -> Any:
        return (
            select(func.count())
            .select_from(slot_signups.join(signer, signer.c.id == slot_signups.c.user_id))
            .where(*answers, *condition)
            .scalar_subquery()
        )

    attended = tally(slot_signups.c.checked_in_at.is_not(None))
    excused = tally(
        slot_signups.c.status == SignupStatus.EXCUSED.value,
        slot_signups.c.checked_in_at.is_(None),
    )
    audience = select(func.count()).select_from(person).where(*people).scalar_subquery()
    # Those who answered from outside the audience (moved away since): counted as well.
    outside = tally(~in_audience_of(signer)) if building_id is None else literal(0)
    place: list[ColumnElement[bool]] = [slots.c.community_id.in_(sorted(community_ids))]
    if building_id is not None:
        place.append(or_(slots.c.building_id.is_(None), slots.c.building_id == building_id))
    query = (
        select(study_sessions.c.title, slots.c.starts_at, attended, excused, audience, outside)
        .select_from(slots.join(study_sessions, study_sessions.c.slot_id == slots.c.id))
        .where(
            *place,
            slots.c.kind == SlotKind.STUDY.value,
            slots.c.status == SlotStatus.OPEN.value,
            slots.c.starts_at >= start,
            slots.c.starts_at < after,
            slots.c.ends_at <= now,
        )
        .order_by(slots.c.starts_at, slots.c.id)
    )
    async for rows in _batches(conn, query, 500):
        yield [
            SessionRow(
                r[0], r[1], int(r[2]), int(r[3]), max(0, int(r[4]) + int(r[5]) - r[2] - r[3])
            )
            for r in rows
        ]


# --- suggestions ----------------------------------------------------------------------------


async def suggestion_rows(
    conn: AsyncConnection,
    *,
    community_ids: Collection[int],
    building_id: int | None,
    start: datetime,
    after: datetime,
) -> AsyncIterator[list[SuggestionRow]]:
    """The suggestions left in [start, after), with their replies counted. The author's name
    is read for signed suggestions only: for an anonymous one the query selects a NULL, so no
    name leaves the database."""
    replies = (
        select(func.count())
        .where(suggestion_replies.c.suggestion_id == suggestions.c.id)
        .scalar_subquery()
    )
    author = case(
        (suggestions.c.anonymous, literal(None)),
        else_=func.coalesce(suggestions.c.heard_from, users.c.display_name),
    )
    query = (
        select(
            suggestions.c.id,
            suggestions.c.topic,
            suggestions.c.created_at,
            suggestions.c.status,
            suggestions.c.answered_at,
            replies,
            author,
        )
        .select_from(suggestions.outerjoin(users, users.c.id == suggestions.c.author_id))
        .where(
            *in_place(suggestions, community_ids, building_id),
            suggestions.c.created_at >= start,
            suggestions.c.created_at < after,
        )
        .order_by(suggestions.c.id)
    )
    async for rows in _batches(conn, query):
        yield [SuggestionRow(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6]) for r in rows]


# --- passbook -------------------------------------------------------------------------------


async def passbook_rows(
    conn: AsyncConnection,
    *,
    community_ids: Collection[int],
    building_id: int | None,
    start: datetime,
    after: datetime,
) -> AsyncIterator[list[PassbookRow]]:
    """Each member's passbook points earned in [start, after) (corrections included), most
    first; a building's coordinator: the members who live in it."""
    points = func.sum(ledger_entries.c.points)
    where: list[ColumnElement[bool]] = [
        ledger_entries.c.community_id.in_(sorted(community_ids)),
        ledger_entries.c.created_at >= start,
        ledger_entries.c.created_at < after,
    ]
    if building_id is not None:
        where.append(users.c.building_id == building_id)
    query = (
        select(users.c.display_name, points, users.c.id)
        .select_from(ledger_entries.join(users, users.c.id == ledger_entries.c.member_id))
        .where(*where)
        .group_by(users.c.id, users.c.display_name)
        .order_by(points.desc(), users.c.id)
    )
    async for rows in _batches(conn, query):
        yield [PassbookRow(r[0], int(r[1] or 0)) for r in rows]
