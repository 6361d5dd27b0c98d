"""Study sessions (学习): a slot of kind STUDY with its details in `study_sessions` — what,
where, the material, for whom (its audience) and its check-in code. Who is in a session's
audience is one SQL condition (`audience_filter`), used for the notices, the reminders, the
attendance report and the broadcast audience "a study session" alike."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    Recurrence,
    Role,
    SlotKind,
    SlotStatus,
    StudyAudience,
    StudySession,
    User,
)
from storage import bot_state
from storage.common import is_row_id
from storage.schema import slot_signups, slots, study_sessions, user_roles, users
from storage.slots import slot_from_row

TRIES_KIND = "study_tries"  # bot_state rows: wrong check-in codes per session and person


def _session(row: Mapping[Any, Any]) -> StudySession:
    return StudySession(
        slot=slot_from_row(row),
        title=row["title"],
        topic=row["topic"],
        place=row["place"],
        link=row["link"],
        material_file_id=row["material_file_id"],
        material_name=row["material_name"],
        material_link=row["material_link"],
        audience=StudyAudience(row["audience"]),
        recurrence=Recurrence(row["recurrence"]),
    )


def _query() -> Any:
    return select(slots, *(c for c in study_sessions.c if c.name != "slot_id")).join(
        study_sessions, study_sessions.c.slot_id == slots.c.id
    )


async def insert_sessions(
    conn: AsyncConnection,
    slot_codes: Sequence[tuple[int, str]],
    *,
    title: str,
    topic: str | None,
    place: str | None,
    link: str | None,
    material_file_id: str | None,
    material_name: str | None,
    material_link: str | None,
    audience: StudyAudience,
    recurrence: Recurrence,
) -> None:
    """The details of each (slot id, code), the same for every slot of a series."""
    await conn.execute(
        study_sessions.insert(),
        [
            {
                "slot_id": slot_id,
                "title": title,
                "topic": topic,
                "place": place,
                "link": link,
                "material_file_id": material_file_id,
                "material_name": material_name,
                "material_link": material_link,
                "audience": audience.value,
                "recurrence": recurrence.value,
                "code": code,
            }
            for slot_id, code in slot_codes
        ],
    )


async def get_session(conn: AsyncConnection, slot_id: int) -> StudySession | None:
    if not is_row_id(slot_id):
        return None
    row = (await conn.execute(_query().where(slots.c.id == slot_id))).mappings().first()
    return _session(row) if row else None


async def session_code(conn: AsyncConnection, slot_id: int) -> str | None:
    return await conn.scalar(
        select(study_sessions.c.code).where(study_sessions.c.slot_id == slot_id)
    )


async def sessions_between(
    conn: AsyncConnection,
    *,
    community_ids: Collection[int],
    start: datetime,
    end: datetime,
    building_id: int | None = None,
    include_cancelled: bool = False,
    limit: int = 200,
) -> list[StudySession]:
    """Sessions of these communities ending after `start` and starting before `end`, by
    start (one building's: those for its members and those for the whole community)."""
    where: list[ColumnElement[bool]] = [
        slots.c.kind == SlotKind.STUDY.value,
        slots.c.community_id.in_(sorted(community_ids)),
        slots.c.ends_at > start,
        slots.c.starts_at < end,
    ]
    if building_id is not None:
        where.append(or_(slots.c.building_id.is_(None), slots.c.building_id == building_id))
    if not include_cancelled:
        where.append(slots.c.status == SlotStatus.OPEN.value)
    query = _query().where(*where).order_by(slots.c.starts_at, slots.c.id).limit(limit)
    return [_session(row) for row in (await conn.execute(query)).mappings()]


def _is_member() -> ColumnElement[bool]:
    return users.c.id.in_(select(user_roles.c.user_id).where(user_roles.c.role == Role.MEMBER))


def audience_filter(slot_id: int) -> ColumnElement[bool]:
    """The users in this session's audience (a condition on `users`): its community's people
    (everyone), its members, or its building's members."""

    def value(column: Any) -> Any:
        return (
            select(column)
            .select_from(slots.join(study_sessions, study_sessions.c.slot_id == slots.c.id))
            .where(slots.c.id == slot_id)
            .scalar_subquery()
        )

    audience = value(study_sessions.c.audience)
    return and_(
        users.c.community_id == value(slots.c.community_id),
        or_(
            audience == StudyAudience.EVERYONE.value,
            and_(audience == StudyAudience.MEMBERS.value, _is_member()),
            and_(
                audience == StudyAudience.BUILDING.value,
                users.c.building_id == value(slots.c.building_id),
                _is_member(),
            ),
        ),
    )


async def audience_ids(conn: AsyncConnection, slot_id: int) -> list[int]:
    """The ids of everyone in the session's audience, in id order."""
    query = select(users.c.id).where(audience_filter(slot_id)).order_by(users.c.id)
    return [int(uid) for uid in await conn.scalars(query)]


async def in_audience(conn: AsyncConnection, slot_id: int, user_id: int) -> bool:
    query = select(users.c.id).where(users.c.id == user_id, audience_filter(slot_id))
    return (await conn.scalar(query)) is not None


def open_to(user: User) -> ColumnElement[bool]:
    """The sessions (a condition on `slots` joined with `study_sessions`) whose audience the
    user is in: `audience_filter` read the other way round."""
    if user.community_id is None:
        return slots.c.id.is_(None)
    for_everyone = study_sessions.c.audience == StudyAudience.EVERYONE.value
    if not user.is_member:
        which: ColumnElement[bool] = for_everyone
    else:
        which = or_(
            for_everyone,
            study_sessions.c.audience == StudyAudience.MEMBERS.value,
            and_(
                study_sessions.c.audience == StudyAudience.BUILDING.value,
                slots.c.building_id == user.building_id
                if user.building_id is not None
                else slots.c.id.is_(None),
            ),
        )
    return and_(slots.c.community_id == user.community_id, which)


async def sessions_open_to(
    conn: AsyncConnection, user: User, *, after: datetime, limit: int = 20
) -> list[StudySession]:
    """The open sessions in the user's audience not yet ended, by start."""
    query = (
        _query()
        .where(
            slots.c.kind == SlotKind.STUDY.value,
            slots.c.status == SlotStatus.OPEN.value,
            slots.c.ends_at > after,
            open_to(user),
        )
        .order_by(slots.c.starts_at, slots.c.id)
        .limit(limit)
    )
    return [_session(row) for row in (await conn.execute(query)).mappings()]


async def unanswered_ids(conn: AsyncConnection, slot_id: int) -> list[int]:
    """The audience who have given no answer (no sign-up row), in id order."""
    answered = exists().where(
        slot_signups.c.slot_id == slot_id, slot_signups.c.user_id == users.c.id
    )
    query = select(users.c.id).where(audience_filter(slot_id), ~answered).order_by(users.c.id)
    return [int(uid) for uid in await conn.scalars(query)]


# --- wrong check-in codes ------------------------------------------------------------------


def _tries_key(slot_id: int, user_id: int) -> str:
    return f"{slot_id}:{user_id}"


async def wrong_tries(conn: AsyncConnection, slot_id: int, user_id: int) -> int:
    found = await bot_state.load_keys(conn, [(TRIES_KIND, _tries_key(slot_id, user_id))])
    value = next(iter(found.values()), 0)
    return int(value) if isinstance(value, int) else 0


async def add_wrong_try(conn: AsyncConnection, slot_id: int, user_id: int) -> int:
    """Count one more wrong code; the count now."""
    count = await wrong_tries(conn, slot_id, user_id) + 1
    await bot_state.save(conn, TRIES_KIND, _tries_key(slot_id, user_id), count)
    return count
