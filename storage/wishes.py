"""Micro-wishes: rows, their life-cycle events, team assignments and credited participants.

Contact details of the resident (room, phone) never travel in `Wish`; only `get_contact` reads
them (and `contacts_of`, the same for many wishes at once), so a caller has to ask for them on
purpose. The same for the handshake code the resident gives the helper at the door: only
`handshake_of` reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    Handshake,
    Role,
    Skill,
    User,
    Wish,
    WishCategory,
    WishContact,
    WishEvent,
    WishEventKind,
    WishParticipant,
    WishStatus,
)
from storage import users as users_repo
from storage.common import insert_ignoring_conflicts
from storage.schema import (
    buildings,
    teams,
    user_roles,
    user_skills,
    users,
    wish_assignments,
    wish_events,
    wish_participants,
    wishes,
)

_poster = users.alias("poster")
_claimer = users.alias("claimer")
_PRIVATE = {"for_room", "for_phone", "handshake_code", "handshake_tries", "handshake_locked"}
_WISH_COLUMNS = [c for c in wishes.c if c.name not in _PRIVATE]
ACTIVE = (WishStatus.CLAIMED.value, WishStatus.DONE.value)
UNFINISHED = (WishStatus.OPEN.value, *ACTIVE)


# A wish with the names it is shown with. Built once: SQLAlchemy keeps the compiled form of a
# statement object it has seen (its cache key is remembered on the object), so the most read
# statement is neither rebuilt nor re-keyed on every call (most of a card read's time, before).
_WISH_QUERY: Select[Any] = select(
    *_WISH_COLUMNS,
    _poster.c.display_name.label("poster_name"),
    _claimer.c.display_name.label("claimer_name"),
    buildings.c.name.label("building_name"),
    teams.c.name.label("team_name"),
).select_from(
    wishes.outerjoin(_poster, _poster.c.id == wishes.c.posted_by)
    .outerjoin(_claimer, _claimer.c.id == wishes.c.claimed_by)
    .outerjoin(buildings, buildings.c.id == wishes.c.building_id)
    .outerjoin(teams, teams.c.id == wishes.c.team_id)
)
_WISH_BY_ID = _WISH_QUERY.where(wishes.c.id == bindparam("wish_id"))


def _wish(row: RowMapping) -> Wish:
    return Wish(**dict(row))


async def _wishes(conn: AsyncConnection, query: Select[Any]) -> list[Wish]:
    return [_wish(row) for row in (await conn.execute(query)).mappings()]


async def insert_wish(
    conn: AsyncConnection,
    *,
    community_id: int,
    building_id: int | None,
    posted_by: int,
    category: WishCategory,
    text: str | None,
    photo_file_id: str | None,
    voice_file_id: str | None,
    urgent: bool,
    needed_by: datetime | None,
    now: datetime,
    for_name: str | None = None,
    for_room: str | None = None,
    for_phone: str | None = None,
) -> int:
    """A new open wish; its id."""
    wish_id = await conn.scalar(
        wishes.insert()
        .values(
            community_id=community_id,
            building_id=building_id,
            posted_by=posted_by,
            for_name=for_name,
            for_room=for_room,
            for_phone=for_phone,
            category=category.value,
            text=text,
            photo_file_id=photo_file_id,
            voice_file_id=voice_file_id,
            urgent=urgent,
            status=WishStatus.OPEN.value,
            needed_by=needed_by,
            created_at=now,
        )
        .returning(wishes.c.id)
    )
    assert wish_id is not None
    return int(wish_id)


async def get_wish(conn: AsyncConnection, wish_id: int) -> Wish | None:
    row = (await conn.execute(_WISH_BY_ID, {"wish_id": wish_id})).mappings().first()
    return _wish(row) if row is not None else None


_CONTACT_QUERY = (  # built once, like _WISH_BY_ID; read only by get_contact and contacts_of
    select(
        wishes.c.id,
        wishes.c.for_name,
        wishes.c.for_room,
        wishes.c.for_phone,
        _poster.c.display_name,
        _poster.c.room,
        _poster.c.phone,
        buildings.c.name.label("building_name"),
    ).select_from(
        wishes.join(_poster, _poster.c.id == wishes.c.posted_by).outerjoin(
            buildings, buildings.c.id == wishes.c.building_id
        )
    )
)
_CONTACT = _CONTACT_QUERY.where(wishes.c.id == bindparam("wish_id"))


async def get_contact(conn: AsyncConnection, wish_id: int) -> WishContact | None:
    """Name, building, room and phone of the person to help (the beneficiary of a proxy wish)."""
    row = (await conn.execute(_CONTACT, {"wish_id": wish_id})).mappings().first()
    if row is None:
        return None
    if row["for_name"] is not None:
        return WishContact(
            wish_id=wish_id,
            name=row["for_name"],
            building_name=row["building_name"],
            room=row["for_room"],
            phone=row["for_phone"],
        )
    return WishContact(
        wish_id=wish_id,
        name=row["display_name"],
        building_name=row["building_name"],
        room=row["room"],
        phone=row["phone"],
    )


_CONTACTS = _CONTACT_QUERY.where(wishes.c.id.in_(bindparam("wish_ids", expanding=True)))


async def contacts_of(conn: AsyncConnection, wish_ids: Sequence[int]) -> dict[int, WishContact]:
    """`get_contact` for many wishes at once (a coordinator's export, a batch at a time): the
    only other reader of the contact columns, by wish id."""
    if not wish_ids:
        return {}
    found: dict[int, WishContact] = {}
    for row in (await conn.execute(_CONTACTS, {"wish_ids": list(wish_ids)})).mappings():
        proxy = row["for_name"] is not None
        found[int(row["id"])] = WishContact(
            wish_id=int(row["id"]),
            name=row["for_name"] if proxy else row["display_name"],
            building_name=row["building_name"],
            room=row["for_room"] if proxy else row["room"],
            phone=row["for_phone"] if proxy else row["phone"],
        )
    return found


async def count_unfinished_own(conn: AsyncConnection, user_id: int) -> int:
    """Wishes `user_id` posted for themself that are open, claimed or done (not yet closed)."""
    query = select(func.count()).where(
        wishes.c.posted_by == user_id,
        wishes.c.status.in_(UNFINISHED),
        wishes.c.for_name.is_(None),
    )
    return int(await conn.scalar(query) or 0)


_held = wishes.alias("held")


def _active_claims(user_id: int) -> Select[Any]:
    """How many wishes `user_id` holds claimed (the limit counts these); over an alias, so the
    claim's UPDATE of `wishes` can use it as its subquery."""
    return (
        select(func.count())
        .select_from(_held)
        .where(_held.c.claimed_by == user_id, _held.c.status == WishStatus.CLAIMED.value)
    )


async def count_active_claims(conn: AsyncConnection, user_id: int) -> int:
    return int(await conn.scalar(_active_claims(user_id)) or 0)


async def claim(
    conn: AsyncConnection,
    wish_id: int,
    *,
    user_id: int,
    team_id: int | None,
    now: datetime,
    limit: int | None = None,
    code: str | None = None,
) -> RowMapping | None:
    """The claim itself, one statement: the wish's columns as stored after it (no contact
    details, no handshake) for the one caller that found the wish open, and with a `limit`,
    the claimer holding fewer active claims than it; else None. The claim starts a new
    handshake with `code` (None: none, e.g. for a proxy wish). The count is exact on SQLite (BEGIN
    IMMEDIATE); on PostgreSQL two claims of different wishes by one member at the same moment
    can both pass it (READ COMMITTED), one over the limit at most per such race."""
    guards = [wishes.c.id == wish_id, wishes.c.status == WishStatus.OPEN.value]
    if limit is not None:
        guards.append(_active_claims(user_id).scalar_subquery() < limit)
    result = await conn.execute(
        update(wishes)
        .where(*guards)
        .values(
            status=WishStatus.CLAIMED.value,
            claimed_by=user_id,
            team_id=team_id,
            claimed_at=now,
            **_new_handshake(code),
        )
        .returning(*_WISH_COLUMNS)
    )
    return result.mappings().first()


_CHANGEABLE = {
    "claimed_by",
    "team_id",
    "claimed_at",
    "done_at",
    "done_note",
    "done_photo_file_id",
    "done_voice_file_id",
    "closed_at",
    "handshake_code",  # cleared when the wish leaves its helper's hands
}


async def change_status(
    conn: AsyncConnection,
    wish_id: int,
    *,
    from_status: WishStatus,
    to_status: WishStatus,
    held_by: int | None,
    **values: Any,
) -> bool:
    """Move a wish between states only if it is still in `from_status` and still claimed by
    `held_by` (None: by nobody), in one guarded UPDATE. The claimer guard
    matters on PostgreSQL (READ COMMITTED), where a wish read as claimed by one member may
    have been given back and claimed by another before the UPDATE runs."""
    unknown = set(values) - _CHANGEABLE
    if unknown:
        raise ValueError(f"not changeable with the status: {sorted(unknown)}")
    holder = wishes.c.claimed_by
    guards = [
        wishes.c.id == wish_id,
        wishes.c.status == from_status.value,
        holder.is_(None) if held_by is None else holder == held_by,
    ]
    result = await conn.execute(
        update(wishes).where(*guards).values(status=to_status.value, **values)
    )
    return int(result.rowcount) == 1


async def set_rating(conn: AsyncConnection, wish_id: int, rating: int) -> bool:
    """Rate a confirmed wish once."""
    result = await conn.execute(
        update(wishes)
        .where(
            wishes.c.id == wish_id,
            wishes.c.status == WishStatus.CONFIRMED.value,
            wishes.c.rating.is_(None),
        )
        .values(rating=rating)
    )
    return int(result.rowcount) == 1


async def set_thanks(
    conn: AsyncConnection, wish_id: int, thanks: str | None, *, voice_file_id: str | None = None
) -> bool:
    """Thank for a confirmed wish once (in words, with a voice note, or both)."""
    result = await conn.execute(
        update(wishes)
        .where(
            wishes.c.id == wish_id,
            wishes.c.status == WishStatus.CONFIRMED.value,
            wishes.c.thanks.is_(None),
            wishes.c.thanks_voice_file_id.is_(None),
        )
        .values(thanks=thanks, thanks_voice_file_id=voice_file_id)
    )
    return int(result.rowcount) == 1


_ADD_EVENT = wish_events.insert().returning(wish_events.c.id)  # built once, like _WISH_BY_ID


async def add_event(
    conn: AsyncConnection,
    wish_id: int,
    kind: WishEventKind,
    *,
    actor_id: int | None,
    now: datetime,
    from_status: WishStatus | None = None,
    to_status: WishStatus | None = None,
    note: str | None = None,
    voice_file_id: str | None = None,
) -> int:
    values = {
        "wish_id": wish_id,
        "kind": kind.value,
        "actor_id": actor_id,
        "at": now,
        "from_status": from_status.value if from_status else None,
        "to_status": to_status.value if to_status else None,
        "note": note,
        "voice_file_id": voice_file_id,
    }
    event_id = await conn.scalar(_ADD_EVENT, values)
    assert event_id is not None
    return int(event_id)


async def last_event_id(conn: AsyncConnection, wish_id: int, kind: WishEventKind) -> int | None:
    """The id of the wish's latest event of this kind, if any."""
    query = select(func.max(wish_events.c.id)).where(
        wish_events.c.wish_id == wish_id, wish_events.c.kind == kind.value
    )
    found = await conn.scalar(query)
    return int(found) if found is not None else None


async def events(conn: AsyncConnection, wish_id: int) -> list[WishEvent]:
    query = select(wish_events).where(wish_events.c.wish_id == wish_id).order_by(wish_events.c.id)
    return [WishEvent(**row) for row in (await conn.execute(query)).mappings()]


def _in_places(places: Iterable[tuple[int, int | None]]) -> ColumnElement[bool] | None:
    """Wishes in `places` — (community, None): all of that community, (community, building):
    that building of it; None when there are none (nothing to read)."""
    wanted = set(places)
    whole = sorted(c for c, b in wanted if b is None)
    parts: list[ColumnElement[bool]] = [wishes.c.community_id.in_(whole)] if whole else []
    parts += [
        and_(wishes.c.community_id == c, wishes.c.building_id == b)
        for c, b in sorted((c, b) for c, b in wanted if b is not None)
    ]
    return or_(*parts) if parts else None


async def open_wishes(
    conn: AsyncConnection,
    places: Iterable[tuple[int, int | None]],
    *,
    categories: Sequence[WishCategory] | None = None,
    building_id: int | None = None,
    before: int | None = None,
    limit: int = 10,
) -> list[Wish]:
    """A page of open wishes in `places` — (community, None): all of that community,
    (community, building): that building of it — newest first; `before` is the last id of
    the previous page."""
    where = _in_places(places)
    if where is None:
        return []
    query = _WISH_QUERY.where(wishes.c.status == WishStatus.OPEN.value, where)
    if building_id is not None:
        query = query.where(wishes.c.building_id == building_id)
    if categories is not None:
        query = query.where(wishes.c.category.in_([c.value for c in categories]))
    if before is not None:
        query = query.where(wishes.c.id < before)
    return await _wishes(conn, query.order_by(wishes.c.id.desc()).limit(limit))


async def wishes_posted_by(
    conn: AsyncConnection, user_id: int, *, before: int | None = None, limit: int = 10
) -> list[Wish]:
    """A page of the wishes `user_id` posted (also on behalf of others), newest first."""
    query = _WISH_QUERY.where(wishes.c.posted_by == user_id)
    if before is not None:
        query = query.where(wishes.c.id < before)
    return await _wishes(conn, query.order_by(wishes.c.id.desc()).limit(limit))


async def tasks_of(
    conn: AsyncConnection, user_id: int, led_team_ids: Iterable[int], *, limit: int = 30
) -> list[Wish]:
    """Claimed or done wishes `user_id` claimed, was assigned to, or leads the team of.

    The ids come from each source's own index and are then united: as one OR over the
    wishes, PostgreSQL walked the whole table newest first (249 ms at a million wishes)."""
    active = list(ACTIVE)
    sources = [
        select(wishes.c.id).where(wishes.c.claimed_by == user_id, wishes.c.status.in_(active)),
        select(wish_assignments.c.wish_id).where(wish_assignments.c.user_id == user_id),
    ]
    led = list(led_team_ids)
    if led:
        sources.append(
            select(wishes.c.id).where(wishes.c.team_id.in_(led), wishes.c.status.in_(active))
        )
    ids = union(*sources).subquery()
    query = (
        _WISH_QUERY.where(wishes.c.id.in_(select(ids.c[0])), wishes.c.status.in_(active))
        .order_by(wishes.c.id.desc())
        .limit(limit)
    )
    return await _wishes(conn, query)


async def assign(
    conn: AsyncConnection, wish_id: int, user_id: int, *, by: int, now: datetime
) -> bool:
    """Put a team member on a wish; False when already on it."""
    result = await conn.execute(
        insert_ignoring_conflicts(
            conn,
            wish_assignments,
            wish_id=wish_id,
            user_id=user_id,
            assigned_by=by,
            assigned_at=now,
        )
    )
    return bool(result.rowcount)


async def unassign(conn: AsyncConnection, wish_id: int, user_id: int) -> bool:
    result = await conn.execute(
        delete(wish_assignments).where(
            wish_assignments.c.wish_id == wish_id, wish_assignments.c.user_id == user_id
        )
    )
    return bool(result.rowcount)


_ASSIGNEES = select(wish_assignments.c.user_id).where(
    wish_assignments.c.wish_id == bindparam("wish_id")
)  # built once, like _WISH_BY_ID


async def assignees(conn: AsyncConnection, wish_id: int) -> list[int]:
    return sorted((await conn.scalars(_ASSIGNEES, {"wish_id": wish_id})).all())


async def clear_assignments(conn: AsyncConnection, wish_id: int) -> None:
    await conn.execute(delete(wish_assignments).where(wish_assignments.c.wish_id == wish_id))


async def credit(
    conn: AsyncConnection,
    wish_id: int,
    user_ids: Iterable[int],
    *,
    team_id: int | None,
    now: datetime,
) -> None:
    """Record who took part in a confirmed wish (idempotent per person)."""
    for user_id in sorted(set(user_ids)):
        await conn.execute(
            insert_ignoring_conflicts(
                conn,
                wish_participants,
                wish_id=wish_id,
                user_id=user_id,
                team_id=team_id,
                credited_at=now,
            )
        )


async def participants(conn: AsyncConnection, wish_id: int) -> list[WishParticipant]:
    query = (
        select(wish_participants)
        .where(wish_participants.c.wish_id == wish_id)
        .order_by(wish_participants.c.user_id)
    )
    return [WishParticipant(**row) for row in (await conn.execute(query)).mappings()]


async def credited_between(
    conn: AsyncConnection, start: datetime, end: datetime
) -> list[WishParticipant]:
    """Every credit recorded in [start, end): what the passbook and the reports count."""
    query = (
        select(wish_participants)
        .where(wish_participants.c.credited_at >= start, wish_participants.c.credited_at < end)
        .order_by(wish_participants.c.credited_at, wish_participants.c.wish_id)
    )
    return [WishParticipant(**row) for row in (await conn.execute(query)).mappings()]


async def member_candidates(
    conn: AsyncConnection,
    community_id: int,
    *,
    building_id: int | None,
    skills: Iterable[Skill] | None,
    exclude: Iterable[int],
    limit: int,
) -> list[User]:
    """Reachable members to offer a wish to: same building first, then the community.

    `skills=None` means any member; otherwise members holding at least one of the skills.
    """
    excluded = sorted(set(exclude))
    base = (
        select(users.c.id)
        .join(user_roles, user_roles.c.user_id == users.c.id)
        .where(
            user_roles.c.role == Role.MEMBER.value,
            users.c.unreachable.is_(False),
            users.c.id.not_in(excluded),
            users.c.community_id == community_id,  # members serve their own community
        )
    )
    if skills is not None:
        wanted = sorted(s.value for s in skills)
        base = base.where(
            select(user_skills.c.user_id)
            .where(user_skills.c.user_id == users.c.id, user_skills.c.skill.in_(wanted))
            .exists()
        )
    chosen: list[int] = []
    if building_id is not None:
        # Read in the order of an index (the building's people; the members), no sort.
        same = base.where(users.c.building_id == building_id).order_by(users.c.id).limit(limit)
        chosen = list((await conn.scalars(same)).all())
    if len(chosen) < limit:
        others = base
        if building_id is not None:
            others = others.where(
                or_(users.c.building_id.is_(None), users.c.building_id != building_id)
            )
        others = others.order_by(user_roles.c.user_id).limit(limit - len(chosen))
        chosen += list((await conn.scalars(others)).all())
    found = {u.id: u for u in await users_repo.get_users(conn, chosen)}
    return [found[i] for i in chosen if i in found]


async def mark_escalated(conn: AsyncConnection, wish_id: int, now: datetime) -> None:
    """Coordinators were asked to help with this urgent request (shown on its card)."""
    await conn.execute(update(wishes).where(wishes.c.id == wish_id).values(escalated_at=now))


# --- stuck wishes, for coordinators -------------------------------------------------------
# Oldest first (the longest stuck at the top), keyset-paged by id: each list reads the index of
# its places and status (ix_wishes_community_status, ix_wishes_building_status) from its
# oldest row, where the stuck ones are, and stops at the page's LIMIT.


async def _stuck(
    conn: AsyncConnection,
    places: Iterable[tuple[int, int | None]],
    status: WishStatus,
    condition: ColumnElement[bool],
    *,
    after: int | None,
    limit: int,
) -> list[Wish]:
    where = _in_places(places)
    if where is None:
        return []
    query = _WISH_QUERY.where(wishes.c.status == status.value, where, condition)
    if after is not None:
        query = query.where(wishes.c.id > after)
    return await _wishes(conn, query.order_by(wishes.c.id).limit(limit))


async def open_since(
    conn: AsyncConnection,
    places: Iterable[tuple[int, int | None]],
    *,
    posted_before: datetime,
    after: int | None = None,
    limit: int = 10,
) -> list[Wish]:
    """Open wishes in `places` posted before `posted_before`, oldest first."""
    condition = wishes.c.created_at < posted_before
    return await _stuck(conn, places, WishStatus.OPEN, condition, after=after, limit=limit)


async def claimed_overdue(
    conn: AsyncConnection,
    places: Iterable[tuple[int, int | None]],
    *,
    now: datetime,
    undated_claimed_before: datetime,
    after: int | None = None,
    limit: int = 10,
) -> list[Wish]:
    """Claimed wishes in `places` past their needed-by time, or without one and claimed
    before `undated_claimed_before`, oldest first."""
    condition = or_(
        and_(wishes.c.needed_by.is_not(None), wishes.c.needed_by < now),
        and_(wishes.c.needed_by.is_(None), wishes.c.claimed_at < undated_claimed_before),
    )
    return await _stuck(conn, places, WishStatus.CLAIMED, condition, after=after, limit=limit)


async def done_unconfirmed(
    conn: AsyncConnection,
    places: Iterable[tuple[int, int | None]],
    *,
    done_before: datetime,
    after: int | None = None,
    limit: int = 10,
) -> list[Wish]:
    """Wishes in `places` reported done before `done_before` and not confirmed, oldest first."""
    condition = wishes.c.done_at < done_before
    return await _stuck(conn, places, WishStatus.DONE, condition, after=after, limit=limit)


async def community_members(
    conn: AsyncConnection,
    community_id: int,
    *,
    exclude: Iterable[int],
    after: int | None = None,
    limit: int = 10,
) -> list[User]:
    """A page of the community's reachable members by id (someone to hand a wish to)."""
    query = (
        select(users.c.id)
        .join(user_roles, user_roles.c.user_id == users.c.id)
        .where(
            user_roles.c.role == Role.MEMBER.value,
            users.c.community_id == community_id,
            users.c.unreachable.is_(False),
            users.c.id.not_in(sorted(set(exclude))),
        )
        .order_by(users.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(users.c.id > after)
    chosen = list((await conn.scalars(query)).all())
    found = {u.id: u for u in await users_repo.get_users(conn, chosen)}
    return [found[i] for i in chosen if i in found]


async def reassign(
    conn: AsyncConnection,
    wish_id: int,
    *,
    from_user: int,
    to_user: int,
    now: datetime,
    limit: int | None = None,
    code: str | None = None,
) -> bool:
    """Hand a claimed wish from one member to another (alone, not for a team), only if it is
    still claimed by `from_user` and, with a `limit`, the new helper holds fewer claims than
    it (one guarded UPDATE; the count is exact as `claim`'s is); a new handshake with `code`."""
    guards = [
        wishes.c.id == wish_id,
        wishes.c.status == WishStatus.CLAIMED.value,
        wishes.c.claimed_by == from_user,
    ]
    if limit is not None:
        guards.append(_active_claims(to_user).scalar_subquery() < limit)
    result = await conn.execute(
        update(wishes)
        .where(*guards)
        .values(claimed_by=to_user, team_id=None, claimed_at=now, **_new_handshake(code))
    )
    return int(result.rowcount) == 1


# --- the handshake at the door ------------------------------------------------------------


def _new_handshake(code: str | None) -> dict[str, Any]:
    """A new claim's code. The wrong tries are the wish's, not the claim's, and keep counting
    (a lock stays): giving a wish back and taking it again must not buy more guesses at a
    four-digit code. Once locked, the resident confirms as usual, whoever holds it."""
    return {"handshake_code": code}


_HANDSHAKE = select(  # built once, like _WISH_BY_ID; read only by handshake_of
    wishes.c.handshake_code, wishes.c.handshake_tries, wishes.c.handshake_locked
).where(wishes.c.id == bindparam("wish_id"))


async def handshake_of(conn: AsyncConnection, wish_id: int) -> Handshake | None:
    """The wish's handshake code and wrong tries: for the resident's own card and notice, and
    for checking a code typed by the helper; nobody else reads it."""
    row = (await conn.execute(_HANDSHAKE, {"wish_id": wish_id})).first()
    if row is None:
        return None
    return Handshake(code=row[0], tries=int(row[1]), locked=bool(row[2]))


def _handshake_open(wish_id: int, held_by: int) -> list[ColumnElement[bool]]:
    """Reported done and still held by the helper who typed the code, with a code that has not
    locked (the report comes first: the code only confirms it)."""
    return [
        wishes.c.id == wish_id,
        wishes.c.status == WishStatus.DONE.value,
        wishes.c.claimed_by == held_by,
        wishes.c.handshake_code.is_not(None),
        wishes.c.handshake_locked.is_(False),
    ]


async def confirm_by_handshake(
    conn: AsyncConnection, wish_id: int, *, code: str, held_by: int, now: datetime
) -> bool:
    """Done → confirmed, only with the right code of an open handshake (one guarded UPDATE;
    the caller credits and records it in the same transaction). False when the code is wrong
    or the wish moved on (confirmed already, by the resident or the same code typed twice)."""
    result = await conn.execute(
        update(wishes)
        .where(*_handshake_open(wish_id, held_by), wishes.c.handshake_code == code)
        .values(status=WishStatus.CONFIRMED.value, closed_at=now)
    )
    return int(result.rowcount) == 1


async def wrong_handshake(
    conn: AsyncConnection, wish_id: int, *, code: str, held_by: int, limit: int
) -> int | None:
    """Count a wrong code (one guarded UPDATE): the wrong tries so far, the handshake locked
    at `limit` of them; None when the code was right after all, or the handshake is locked or
    the wish moved on meanwhile."""
    tries = wishes.c.handshake_tries + 1
    result = await conn.execute(
        update(wishes)
        .where(*_handshake_open(wish_id, held_by), wishes.c.handshake_code != code)
        .values(handshake_tries=tries, handshake_locked=tries >= limit)
        .returning(wishes.c.handshake_tries)
    )
    counted = result.scalar()
    return int(counted) if counted is not None else None


async def last_confirmed_by(
    conn: AsyncConnection, actor_id: int, *, note: str, since: datetime
) -> int | None:
    """The wish `actor_id` last confirmed with this event note (e.g. by handshake) since
    `since`, if any."""
    query = (
        select(wish_events.c.wish_id)
        .where(
            wish_events.c.kind == WishEventKind.CONFIRMED.value,
            wish_events.c.actor_id == actor_id,
            wish_events.c.note == note,
            wish_events.c.at >= since,
        )
        .order_by(wish_events.c.id.desc())
        .limit(1)
    )
    found = await conn.scalar(query)
    return int(found) if found is not None else None
