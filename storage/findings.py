"""Patrol findings (巡查发现): what a member on a shift saw, reported to the coordinators, who
mark it handled or make a wish of it. A finding is written once (one per reporter and token,
so a double "send" is one finding); its handling moves it from NEW once, by a guarded UPDATE."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Finding, FindingStatus
from storage.common import insert_ignoring_conflicts, is_row_id
from storage.schema import (
    patrol_findings,
    patrol_post_buildings,
    patrol_posts,
    patrol_shifts,
    users,
)


def _query() -> Select[Any]:
    return select(patrol_findings, users.c.display_name.label("reporter_name")).join(
        users, users.c.id == patrol_findings.c.reported_by
    )


def _finding(row: RowMapping) -> Finding:
    return Finding(
        id=row["id"],
        slot_id=row["slot_id"],
        community_id=row["community_id"],
        building_id=row["building_id"],
        reported_by=row["reported_by"],
        reporter_name=row["reporter_name"],
        text=row["text"],
        voice_file_id=row["voice_file_id"],
        photo_file_id=row["photo_file_id"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        status=FindingStatus(row["status"]),
        handled_by=row["handled_by"],
        handled_at=row["handled_at"],
        wish_id=row["wish_id"],
        created_at=row["created_at"],
    )


async def insert_finding(
    conn: AsyncConnection,
    *,
    slot_id: int,
    community_id: int,
    building_id: int | None,
    reported_by: int,
    text: str | None,
    voice_file_id: str | None,
    photo_file_id: str | None,
    latitude: float | None,
    longitude: float | None,
    token: str,
    now: datetime,
) -> int | None:
    """The new finding's id; None when this reporter's token was used already (sent twice)."""
    statement = insert_ignoring_conflicts(
        conn,
        patrol_findings,
        slot_id=slot_id,
        community_id=community_id,
        building_id=building_id,
        reported_by=reported_by,
        text=text,
        voice_file_id=voice_file_id,
        photo_file_id=photo_file_id,
        latitude=latitude,
        longitude=longitude,
        status=FindingStatus.NEW.value,
        token=token,
        created_at=now,
    ).returning(patrol_findings.c.id)
    found = await conn.scalar(statement)
    return int(found) if found is not None else None


async def get_finding(conn: AsyncConnection, finding_id: int) -> Finding | None:
    if not is_row_id(finding_id):
        return None
    row = (
        (await conn.execute(_query().where(patrol_findings.c.id == finding_id))).mappings().first()
    )
    return _finding(row) if row else None


async def finding_by_token(conn: AsyncConnection, reported_by: int, token: str) -> Finding | None:
    query = _query().where(
        patrol_findings.c.reported_by == reported_by, patrol_findings.c.token == token
    )
    row = (await conn.execute(query)).mappings().first()
    return _finding(row) if row else None


async def handle(
    conn: AsyncConnection, finding_id: int, *, to: FindingStatus, by: int, now: datetime
) -> bool:
    """NEW → HANDLED or WISHED by this coordinator, once: False when it had moved already."""
    result = await conn.execute(
        update(patrol_findings)
        .where(
            patrol_findings.c.id == finding_id,
            patrol_findings.c.status == FindingStatus.NEW.value,
        )
        .values(status=to.value, handled_by=by, handled_at=now)
    )
    return bool(result.rowcount)


async def set_wish(conn: AsyncConnection, finding_id: int, wish_id: int) -> bool:
    """The wish made of a finding turned into one (once)."""
    result = await conn.execute(
        update(patrol_findings)
        .where(
            patrol_findings.c.id == finding_id,
            patrol_findings.c.status == FindingStatus.WISHED.value,
            patrol_findings.c.wish_id.is_(None),
        )
        .values(wish_id=wish_id)
    )
    return bool(result.rowcount)


async def open_findings(
    conn: AsyncConnection,
    community_ids: Collection[int],
    *,
    building_id: int | None = None,
    limit: int = 30,
) -> list[Finding]:
    """NEW findings of these communities (of one building only, for a building's
    coordinator), newest first."""
    where: list[ColumnElement[bool]] = [
        patrol_findings.c.community_id.in_(sorted(community_ids)),
        patrol_findings.c.status == FindingStatus.NEW.value,
    ]
    if building_id is not None:
        where.append(patrol_findings.c.building_id == building_id)
    query = _query().where(*where).order_by(patrol_findings.c.id.desc()).limit(limit)
    return [_finding(row) for row in (await conn.execute(query)).mappings()]


async def post_of_shift(conn: AsyncConnection, slot_id: int) -> tuple[str, list[int]] | None:
    """The name of a shift's post and its buildings (in the order they were given); None
    when the slot is no patrol shift."""
    row = (
        await conn.execute(
            select(patrol_posts.c.id, patrol_posts.c.name)
            .join(patrol_shifts, patrol_shifts.c.post_id == patrol_posts.c.id)
            .where(patrol_shifts.c.slot_id == slot_id)
        )
    ).first()
    if row is None:
        return None
    found = await conn.scalars(
        select(patrol_post_buildings.c.building_id)
        .where(patrol_post_buildings.c.post_id == row.id)
        .order_by(patrol_post_buildings.c.building_id)
    )
    return str(row.name), [int(b) for b in found]


async def names_of(conn: AsyncConnection, user_ids: Collection[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    found = await conn.execute(
        select(users.c.id, users.c.display_name).where(users.c.id.in_(sorted(user_ids)))
    )
    return {int(row.id): str(row.display_name) for row in found}
