"""Patrol duty (巡逻值守): posts (a name, an area, the buildings they cover) and their shifts.

A shift is a slot (storage.slots: times, places, sign-ups, check-in; made by the slot engine)
plus a patrol_shifts row naming its post; this module only joins the post on."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import HOLDING, PatrolPost, Role, Shift, Slot, SlotKind, SlotStatus
from storage.schema import (
    patrol_post_buildings,
    patrol_posts,
    patrol_shifts,
    slot_signups,
    slots,
    user_roles,
    users,
)

# --- posts ----------------------------------------------------------------------------------


async def insert_post(
    conn: AsyncConnection,
    *,
    community_id: int,
    name: str,
    area: str | None,
    building_ids: Sequence[int],
    created_by: int,
    now: datetime,
) -> int:
    result = await conn.execute(
        patrol_posts.insert()
        .values(
            community_id=community_id,
            name=name,
            area=area,
            archived=False,
            created_by=created_by,
            created_at=now,
        )
        .returning(patrol_posts.c.id)
    )
    post_id = int(result.scalar_one())
    if building_ids:
        await conn.execute(
            patrol_post_buildings.insert(),
            [{"post_id": post_id, "building_id": b} for b in dict.fromkeys(building_ids)],
        )
    return post_id


async def _buildings_of(conn: AsyncConnection, post_ids: Collection[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {i: [] for i in post_ids}
    if not post_ids:
        return found
    query = (
        select(patrol_post_buildings.c.post_id, patrol_post_buildings.c.building_id)
        .where(patrol_post_buildings.c.post_id.in_(list(post_ids)))
        .order_by(patrol_post_buildings.c.post_id, patrol_post_buildings.c.building_id)
    )
    for post_id, building_id in (await conn.execute(query)).all():
        found[post_id].append(building_id)
    return found


def _post(row: RowMapping, building_ids: Sequence[int]) -> PatrolPost:
    return PatrolPost(
        id=row["id"],
        community_id=row["community_id"],
        name=row["name"],
        area=row["area"],
        building_ids=tuple(building_ids),
        archived=bool(row["archived"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


async def get_post(conn: AsyncConnection, post_id: int) -> PatrolPost | None:
    """The post with its buildings' ids."""
    row = (
        (await conn.execute(select(patrol_posts).where(patrol_posts.c.id == post_id)))
        .mappings()
        .first()
    )
    if row is None:
        return None
    return _post(row, (await _buildings_of(conn, [post_id]))[post_id])


async def posts_of(
    conn: AsyncConnection, community_id: int, *, include_archived: bool = False, limit: int = 100
) -> list[PatrolPost]:
    """A community's posts, oldest first."""
    query = select(patrol_posts).where(patrol_posts.c.community_id == community_id)
    if not include_archived:
        query = query.where(patrol_posts.c.archived.is_(False))
    rows = list(
        (await conn.execute(query.order_by(patrol_posts.c.id).limit(limit))).mappings().all()
    )
    buildings = await _buildings_of(conn, [r["id"] for r in rows])
    return [_post(r, buildings[r["id"]]) for r in rows]


async def archive_post(conn: AsyncConnection, post_id: int) -> bool:
    """Archive an active post (its shifts stay as they are); False when archived already."""
    result = await conn.execute(
        update(patrol_posts)
        .where(patrol_posts.c.id == post_id, patrol_posts.c.archived.is_(False))
        .values(archived=True)
    )
    return bool(result.rowcount)


# --- shifts ---------------------------------------------------------------------------------


async def add_shift_rows(conn: AsyncConnection, post_id: int, slot_ids: Sequence[int]) -> None:
    """Name the post of slots made by the engine."""
    if slot_ids:
        await conn.execute(
            patrol_shifts.insert(), [{"slot_id": i, "post_id": post_id} for i in slot_ids]
        )


def _shifts_query() -> Select[Any]:
    return select(
        slots, patrol_shifts.c.post_id, patrol_posts.c.name.label("post_name")
    ).select_from(
        slots.join(patrol_shifts, patrol_shifts.c.slot_id == slots.c.id).join(
            patrol_posts, patrol_posts.c.id == patrol_shifts.c.post_id
        )
    )


def _shift(row: RowMapping) -> Shift:
    slot = Slot.model_validate({c.name: row[c.name] for c in slots.c})
    return Shift(slot=slot, post_id=row["post_id"], post_name=row["post_name"])


async def get_shift(conn: AsyncConnection, slot_id: int) -> Shift | None:
    row = (await conn.execute(_shifts_query().where(slots.c.id == slot_id))).mappings().first()
    return _shift(row) if row is not None else None


async def shifts_by_ids(conn: AsyncConnection, slot_ids: Collection[int]) -> list[Shift]:
    if not slot_ids:
        return []
    query = _shifts_query().where(slots.c.id.in_(list(slot_ids)))
    rows = (await conn.execute(query.order_by(slots.c.starts_at, slots.c.id))).mappings()
    return [_shift(r) for r in rows]


async def shifts_between(
    conn: AsyncConnection,
    community_id: int,
    start: datetime,
    end: datetime,
    *,
    include_cancelled: bool = False,
    post_id: int | None = None,
    limit: int = 500,
) -> list[Shift]:
    """A community's shifts starting in [start, end), by start, with their posts' names."""
    query = _shifts_query().where(
        slots.c.community_id == community_id,
        slots.c.kind == SlotKind.PATROL.value,
        slots.c.starts_at >= start,
        slots.c.starts_at < end,
    )
    if not include_cancelled:
        query = query.where(slots.c.status == SlotStatus.OPEN.value)
    if post_id is not None:
        query = query.where(patrol_shifts.c.post_id == post_id)
    rows = (
        await conn.execute(query.order_by(slots.c.starts_at, slots.c.id).limit(limit))
    ).mappings()
    return [_shift(r) for r in rows]


async def swap_candidates(
    conn: AsyncConnection,
    community_id: int,
    starts_at: datetime,
    ends_at: datetime,
    *,
    exclude: Collection[int],
    limit: int = 500,
) -> list[int]:
    """The community's reachable members holding no place in a slot overlapping these times
    (whom a shift can be offered to), by id."""
    busy = (
        select(slot_signups.c.user_id)
        .where(
            slot_signups.c.status.in_([s.value for s in HOLDING]),
            slot_signups.c.starts_at < ends_at,
            slot_signups.c.ends_at > starts_at,
        )
        .scalar_subquery()
    )
    query = (
        select(users.c.id)
        .join(user_roles, user_roles.c.user_id == users.c.id)
        .where(
            user_roles.c.role == Role.MEMBER.value,
            users.c.community_id == community_id,
            users.c.unreachable.is_(False),
            users.c.id.not_in(sorted(set(exclude)) or [0]),
            users.c.id.not_in(busy),
        )
        .order_by(users.c.id)
        .limit(limit)
    )
    return [int(i) for i in (await conn.scalars(query)).all()]
