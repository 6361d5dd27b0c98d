"""The figures `/stats` shows: one function per area, each a few aggregate statements over a
place — `community_ids`, and `building_id` for one building — and a period `[start, end)`
of instants. Everything is counted and every median taken in the database: a year of a
district is hundreds of thousands of rows, never read into Python.

A building's figures are its places' and its people's: wishes, suggestions and patrol
findings by the row's own `building_id` (where it is); passbook entries and patrol sign-ups
by the member's building (`users.building_id`: whose work it is); study sessions as the
study attendance report counts them (the sessions for the building's members or the whole
community, and the building's people in their audience)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    HOLDING,
    Attendance,
    CategoryFigures,
    FindingStatus,
    Leader,
    PatrolFigures,
    Role,
    SignupStatus,
    SlotKind,
    SlotStatus,
    StudyAudience,
    StudyFigures,
    SuggestionFigures,
    SuggestionTopic,
    TopicFigures,
    UrgentFigures,
    WishCategory,
    WishEventKind,
    WishFigures,
    WishStatus,
)
from storage.common import in_place
from storage.passbook_checks import seconds_between
from storage.schema import (
    ledger_entries,
    ledger_totals,
    patrol_findings,
    slot_signups,
    slots,
    study_sessions,
    suggestions,
    user_roles,
    users,
    wish_events,
    wishes,
)

LEADERS = 10
_DONE = (WishStatus.DONE.value, WishStatus.CONFIRMED.value)
HOLDING_VALUES = sorted(status.value for status in HOLDING)


def _within(column: Any, start: datetime, end: datetime) -> list[Any]:
    return [column >= start, column < end]


def _postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """How many rows meet the condition (the same SQL on both databases)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _median(conn: AsyncConnection, period: Any, column: Any, *where: Any) -> Any:
    """The median of `column` over the rows of `period` (and `where`), NULLs left out:
    PostgreSQL's percentile_cont (an aggregate over `period`); on SQLite a scalar subquery,
    the middle row (the mean of the middle two) of the values sorted, by LIMIT and OFFSET
    from their count — measured faster than row_number() over a window."""
    if _postgres(conn):
        median = func.percentile_cont(0.5).within_group(column)
        return median.filter(and_(*where)) if where else median
    counted = select(func.count(column)).where(*where).scalar_subquery()
    middle = (
        select(column.label("value"))
        .where(column.is_not(None), *where)
        .order_by(column)
        .limit(2 - counted % 2)
        .offset((counted - 1) // 2)
        .subquery("middle")
    )
    return select(func.avg(middle.c.value)).scalar_subquery()


# --- wishes and urgent help requests -----------------------------------------------------------


def first_claim() -> ColumnElement[Any]:
    """When the wish was first claimed. Its `claimed_at` is the claim it is in now: a wish
    never given back nor handed to someone else (the partial index of those events says
    which, a set small enough to look up once) was claimed then or never; the others' first
    claim is their earliest CLAIMED event (a wish given back has no `claimed_at` at all)."""
    # The kinds written out, not bound: a partial index serves only a query whose condition
    # the planner can see implies the index's, and a parameter's value it cannot see.
    given_back = (WishEventKind.RELEASED.value, WishEventKind.REASSIGNED.value)
    moved = select(wish_events.c.wish_id).where(
        wish_events.c.kind.in_([literal_column(f"'{kind}'") for kind in given_back])
    )
    earliest = (
        select(func.min(wish_events.c.at))
        .where(
            wish_events.c.wish_id == wishes.c.id,
            wish_events.c.kind == WishEventKind.CLAIMED.value,
        )
        .scalar_subquery()
    )
    return case(
        (wishes.c.id.in_(moved), func.coalesce(earliest, wishes.c.claimed_at)),
        else_=wishes.c.claimed_at,
    )


def _minutes_between(conn: AsyncConnection, later: Any, earlier: Any) -> ColumnElement[Any]:
    """`later - earlier` in minutes, to the second. On SQLite by julianday (the fastest of
    its date functions over a year of rows), rounded to whole seconds: a day's float is
    exact to about 40 microseconds, and 90 minutes must read 90.0, not 89.99999."""
    if _postgres(conn):
        return cast(seconds_between(conn, later, earlier), Float) / 60.0
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0) / 60.0


async def wish_figures(
    conn: AsyncConnection,
    community_ids: Collection[int],
    building_id: int | None,
    start: datetime,
    end: datetime,
) -> tuple[WishFigures, UrgentFigures]:
    """The wishes posted in `[start, end)` (urgent ones among them) and what became of them
    by now: claimed at some point (the first claim counts; a release and a new claim do not
    count twice), reported done, confirmed; the medians from posting to the first claim and
    to the report of done. One statement: the period's wishes are read once (a CTE), then
    counted per category and urgency, and the three medians taken."""
    done = wishes.c.status.in_(_DONE)
    period = (
        select(
            wishes.c.category,
            wishes.c.urgent,
            wishes.c.status,
            _minutes_between(conn, first_claim(), wishes.c.created_at).label("to_claim"),
            case((done, _minutes_between(conn, wishes.c.done_at, wishes.c.created_at))).label(
                "to_done"
            ),
        )
        .where(
            *in_place(wishes, community_ids, building_id),
            *_within(wishes.c.created_at, start, end),
        )
        .cte("w")
    )
    if not _postgres(conn):
        period = period.prefix_with("MATERIALIZED")  # read once, counted and sorted from there
    w = period.c
    counted = select(
        w.category,
        w.urgent,
        func.count().label("posted"),
        func.count(w.to_claim).label("claimed"),
        _count_if(w.status.in_(_DONE)).label("done"),
        _count_if(w.status == WishStatus.CONFIRMED.value).label("confirmed"),
        *(cast(null(), Float).label(name) for name in ("claim", "urgent_claim", "done_median")),
    ).group_by(w.category, w.urgent)
    medians = select(
        *(null().label(name) for name in ("category", "urgent")),
        *(cast(null(), Integer).label(n) for n in ("posted", "claimed", "done", "confirmed")),
        _median(conn, period, w.to_claim).label("claim"),
        _median(conn, period, w.to_claim, w.urgent.is_(True)).label("urgent_claim"),
        _median(conn, period, w.to_done).label("done_median"),
    )
    if _postgres(conn):
        medians = medians.select_from(period)
    rows = (await conn.execute(union_all(counted, medians))).mappings().all()
    totals = [0, 0, 0, 0]
    urgent = [0, 0]
    categories: dict[WishCategory, list[int]] = {}
    found: dict[str, float | None] = {}
    for row in rows:
        if row["category"] is None:
            found = {
                k: None if row[k] is None else float(row[k])
                for k in ("claim", "urgent_claim", "done_median")
            }
            continue
        posted, claimed = int(row["posted"]), int(row["claimed"])
        for i, value in enumerate((posted, claimed, int(row["done"]), int(row["confirmed"]))):
            totals[i] += value
        if row["urgent"]:
            urgent[0] += posted
            urgent[1] += claimed
        tally = categories.setdefault(WishCategory(row["category"]), [0, 0])
        tally[0] += posted
        tally[1] += int(row["done"])
    wish = WishFigures(
        posted=totals[0],
        claimed=totals[1],
        done=totals[2],
        confirmed=totals[3],
        median_minutes_to_claim=found.get("claim"),
        median_minutes_to_done=found.get("done_median"),
        by_category=[
            CategoryFigures(category=c, posted=categories[c][0], done=categories[c][1])
            for c in WishCategory
            if c in categories
        ],
    )
    return wish, UrgentFigures(
        posted=urgent[0], claimed=urgent[1], median_minutes_to_claim=found.get("urgent_claim")
    )


# --- the passbook: active members and the leaders ------------------------------------------------


def of_building(member_id: Any, building_id: int | None) -> list[Any]:
    """The member's building: whose work it is."""
    if building_id is None:
        return []
    return [member_id.in_(select(users.c.id).where(users.c.building_id == building_id))]


async def passbook_figures(
    conn: AsyncConnection,
    community_ids: Collection[int],
    building_id: int | None,
    quarters: Collection[str],
    ranges: Collection[tuple[datetime, datetime]],
) -> tuple[int, list[Leader]]:
    """The members with any passbook entry in the period, and the leaders: the most points
    earned in it (corrections and adjustments counted), most first, at most `LEADERS`, only
    those with more than none; ties by member id. The period is given as the whole
    `quarters` in it — read off ledger_totals, a row per member and quarter with an entry,
    kept with each entry — and the instants `ranges` around them, read off the entries: a
    year is four quarters' totals, not a million entries."""
    places = sorted(set(community_ids))
    parts: list[Any] = []
    if quarters:
        parts.append(
            select(ledger_totals.c.member_id, ledger_totals.c.points).where(
                ledger_totals.c.community_id.in_(places),
                ledger_totals.c.period.in_(sorted(quarters)),
                *of_building(ledger_totals.c.member_id, building_id),
            )
        )
    for start, end in ranges:
        parts.append(
            select(ledger_entries.c.member_id, ledger_entries.c.points).where(
                ledger_entries.c.community_id.in_(places),
                *_within(ledger_entries.c.created_at, start, end),
                *of_building(ledger_entries.c.member_id, building_id),
            )
        )
    if not parts:
        return 0, []
    both: Any = union_all(*parts) if len(parts) > 1 else parts[0]
    earned = both.subquery("earned")
    per_member = (
        select(earned.c.member_id, func.sum(earned.c.points).label("points"))
        .group_by(earned.c.member_id)
        .subquery("m")
    )
    top = (
        select(
            per_member.c.member_id,
            per_member.c.points,
            func.count().over().label("active"),
        )
        .order_by(per_member.c.points.desc(), per_member.c.member_id)
        .limit(LEADERS)
        .subquery("t")
    )
    query = (
        select(top.c.member_id, top.c.points, top.c.active, users.c.display_name)
        .join(users, users.c.id == top.c.member_id)
        .order_by(top.c.points.desc(), top.c.member_id)
    )
    rows = (await conn.execute(query)).all()
    active = int(rows[0].active) if rows else 0
    leaders = [
        Leader(member_id=int(row.member_id), display_name=row.display_name, points=int(row.points))
        for row in rows
        if int(row.points) > 0
    ]
    return active, leaders


# --- patrol ----------------------------------------------------------------------------------


def served_minutes(conn: AsyncConnection) -> ColumnElement[Any]:
    """Whole minutes on duty within the shift, per sign-up, as the passbook counts them
    (bot.services.slots.minutes_served): from the later of check-in and start to the earlier
    of check-out and end; none before both were recorded."""
    checked_in, checked_out = slot_signups.c.checked_in_at, slot_signups.c.checked_out_at
    if _postgres(conn):
        begun = func.greatest(checked_in, slots.c.starts_at)
        ended = func.least(checked_out, slots.c.ends_at)
        minutes: ColumnElement[Any] = func.floor(seconds_between(conn, ended, begun) / 60)
        served = func.greatest(minutes, 0)
    else:
        # SQLite's two-argument min() and max() are scalar; the stored texts sort as times.
        begun = func.max(checked_in, slots.c.starts_at)
        ended = func.min(checked_out, slots.c.ends_at)
        served = func.max(seconds_between(conn, ended, begun) // 60, 0)
    return case(
        (and_(checked_in.is_not(None), checked_out.is_not(None)), served),
        else_=0,
    )


async def patrol_figures(
    conn: AsyncConnection,
    community_ids: Collection[int],
    building_id: int | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> PatrolFigures:
    """The patrol shifts started in `[start, end)` and not cancelled, the hours served in
    them, the places held and never checked in to in those that have ended, and the findings
    reported in the period (and of those, handled or made a wish). A building's: the shifts
    its members held a place in or served, their hours and missed places; the findings made
    in the building."""
    shift_where = [
        slots.c.kind == SlotKind.PATROL.value,
        slots.c.status == SlotStatus.OPEN.value,
        slots.c.community_id.in_(sorted(set(community_ids))),
        *_within(slots.c.starts_at, start, end),
    ]
    held = slot_signups.c.status.in_(HOLDING_VALUES)
    missed = _count_if(and_(held, slot_signups.c.checked_in_at.is_(None), slots.c.ends_at <= now))
    minutes = func.coalesce(func.sum(served_minutes(conn)), 0)
    signups = select(minutes, missed).select_from(
        slot_signups.join(slots, slots.c.id == slot_signups.c.slot_id)
    )
    if building_id is None:
        shifts = int(await conn.scalar(select(func.count()).where(*shift_where)) or 0)
        row = (await conn.execute(signups.where(*shift_where))).one()
        served = (row[0], row[1])
    else:
        ours = and_(*shift_where, *of_building(slot_signups.c.user_id, building_id))
        took_part = or_(held, slot_signups.c.checked_in_at.is_not(None))
        mine = (
            await conn.execute(
                signups.add_columns(
                    func.count(distinct(case((took_part, slot_signups.c.slot_id))))
                ).where(ours)
            )
        ).one()
        served, shifts = (mine[0], mine[1]), int(mine[2] or 0)
    handled = patrol_findings.c.status.in_(
        (FindingStatus.HANDLED.value, FindingStatus.WISHED.value)
    )
    findings = (
        await conn.execute(
            select(func.count(), _count_if(handled)).where(
                *in_place(patrol_findings, community_ids, building_id),
                *_within(patrol_findings.c.created_at, start, end),
            )
        )
    ).one()
    return PatrolFigures(
        shifts=shifts,
        hours=int(served[0] or 0) / 60,
        missed=int(served[1] or 0),
        findings=int(findings[0] or 0),
        findings_handled=int(findings[1] or 0),
    )


# --- study ----------------------------------------------------------------------------------


def _is_member(user_id: Any) -> ColumnElement[bool]:
    return exists().where(user_roles.c.user_id == user_id, user_roles.c.role == Role.MEMBER.value)


def in_audience_of(person: Any) -> ColumnElement[bool]:
    """`person` (`users` or an alias) is in the session's audience (a condition correlated
    with `slots` and `study_sessions`): its community's people, its members, or its
    building's members."""
    audience = study_sessions.c.audience
    return and_(
        person.c.community_id == slots.c.community_id,
        or_(
            audience == StudyAudience.EVERYONE.value,
            and_(
                _is_member(person.c.id),
                or_(
                    audience == StudyAudience.MEMBERS.value,
                    and_(
                        audience == StudyAudience.BUILDING.value,
                        person.c.building_id == slots.c.building_id,
                    ),
                ),
            ),
        ),
    )


async def study_figures(
    conn: AsyncConnection,
    community_ids: Collection[int],
    building_id: int | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> StudyFigures:
    """The study sessions held: started in `[start, end)`, ended by `now`, not cancelled;
    and their attendance as the study attendance report counts it (StudyService.attendance):
    each person in a session's audience, and anyone else who answered it, is attended
    (checked in), excused (said so, not checked in) or absent (neither). A building's: the
    sessions for its members and for its whole community, and only its people in their
    audience. The audience is who is in it now, as the report has it."""
    held = [
        slots.c.kind == SlotKind.STUDY.value,
        slots.c.status == SlotStatus.OPEN.value,
        slots.c.community_id.in_(sorted(set(community_ids))),
        *_within(slots.c.starts_at, start, end),
        slots.c.ends_at <= now,
    ]
    if building_id is not None:
        held.append(or_(slots.c.building_id.is_(None), slots.c.building_id == building_id))
    joined = slots.join(study_sessions, study_sessions.c.slot_id == slots.c.id)
    kinds = (
        await conn.execute(
            select(
                slots.c.community_id, study_sessions.c.audience, slots.c.building_id, func.count()
            )
            .select_from(joined)
            .where(*held)
            .group_by(slots.c.community_id, study_sessions.c.audience, slots.c.building_id)
        )
    ).all()
    sessions = sum(int(row[3]) for row in kinds)
    if not sessions:
        return StudyFigures()

    # The audience of each kind of session: the people counted per community, the members
    # per community and building (a few hundred numbers, not one row per person).
    in_communities = sorted({int(row[0]) for row in kinds})
    people_where: list[ColumnElement[bool]] = [users.c.community_id.in_(in_communities)]
    if building_id is not None:
        people_where.append(users.c.building_id == building_id)
    everyone: dict[int, int] = {}
    members: dict[tuple[int, int | None], int] = {}
    audiences = {str(row[1]) for row in kinds}
    if StudyAudience.EVERYONE.value in audiences:
        grouped = (
            select(users.c.community_id, func.count())
            .where(*people_where)
            .group_by(users.c.community_id)
        )
        for community_id, count in await conn.execute(grouped):
            everyone[int(community_id)] = int(count)
    if audiences - {StudyAudience.EVERYONE.value}:
        # From the members' roles (a tenth of the people), not every person's.
        grouped = (
            select(users.c.community_id, users.c.building_id, func.count())
            .select_from(user_roles.join(users, users.c.id == user_roles.c.user_id))
            .where(user_roles.c.role == Role.MEMBER.value, *people_where)
            .group_by(users.c.community_id, users.c.building_id)
        )
        for community_id, in_building, count in await conn.execute(grouped):
            members[(int(community_id), in_building)] = int(count)
    audience = 0
    for community_id, kind, slot_building, count in kinds:
        if kind == StudyAudience.EVERYONE.value:
            size = everyone.get(int(community_id), 0)
        elif kind == StudyAudience.MEMBERS.value or building_id is not None:
            size = sum(n for (c, _), n in members.items() if c == int(community_id))
        else:
            size = members.get((int(community_id), slot_building), 0)
        audience += size * int(count)

    in_audience = in_audience_of(users)
    checked_in = slot_signups.c.checked_in_at.is_not(None)
    excused = and_(
        slot_signups.c.status == SignupStatus.EXCUSED.value, slot_signups.c.checked_in_at.is_(None)
    )
    answers = select(
        _count_if(checked_in), _count_if(excused), _count_if(~in_audience)
    ).select_from(
        joined.join(slot_signups, slot_signups.c.slot_id == slots.c.id).join(
            users, users.c.id == slot_signups.c.user_id
        )
    )
    if building_id is None:
        answers = answers.where(*held)
    else:
        # Only the building's people in the audience: the others are not the building's.
        answers = answers.where(*held, users.c.building_id == building_id, in_audience)
    attended, excused_count, outside = (int(n or 0) for n in (await conn.execute(answers)).one())
    if building_id is not None:
        outside = 0
    return StudyFigures(
        sessions=sessions,
        attendance=Attendance(
            attended=attended,
            excused=excused_count,
            absent=max(0, audience + outside - attended - excused_count),
        ),
    )


# --- suggestions -----------------------------------------------------------------------------


async def suggestion_figures(
    conn: AsyncConnection,
    community_ids: Collection[int],
    building_id: int | None,
    start: datetime,
    end: datetime,
) -> SuggestionFigures:
    """The suggestions left in `[start, end)` and how many have had a reply by now
    (answered_at: the first reply, whatever the status since), per topic."""
    query = (
        select(suggestions.c.topic, func.count(), func.count(suggestions.c.answered_at))
        .where(
            *in_place(suggestions, community_ids, building_id),
            *_within(suggestions.c.created_at, start, end),
        )
        .group_by(suggestions.c.topic)
    )
    found = {SuggestionTopic(topic): (int(n), int(a)) for topic, n, a in await conn.execute(query)}
    return SuggestionFigures(
        received=sum(n for n, _ in found.values()),
        answered=sum(a for _, a in found.values()),
        by_topic=_topics(found.items()),
    )


def _topics(found: Iterable[tuple[SuggestionTopic, tuple[int, int]]]) -> list[TopicFigures]:
    counted = dict(found)
    return [
        TopicFigures(topic=t, received=counted[t][0], answered=counted[t][1])
        for t in SuggestionTopic
        if t in counted
    ]
