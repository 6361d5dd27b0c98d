"""Broadcasts (coordinator announcements) and who their audience is."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, true, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    Node,
    NodeKind,
    OutboxStatus,
    Reach,
    ReceivedBroadcast,
    Role,
)
from storage import org, study
from storage.schema import (
    broadcasts,
    outbox,
    team_members,
    teams,
    user_roles,
    users,
)
from storage.users import within


def _broadcast(row: RowMapping) -> Broadcast:
    return Broadcast(
        id=row["id"],
        created_by=row["created_by"],
        audience=AudienceKind(row["audience"]),
        audience_ref=row["audience_ref"],
        text=row["text"],
        photo_file_id=row["photo_file_id"],
        document_file_id=row["document_file_id"],
        urgent=row["urgent"],
        status=BroadcastStatus(row["status"]),
        scheduled_at=row["scheduled_at"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        node=Node(kind=NodeKind(row["node_kind"]), id=row["node_id"])
        if row["node_kind"]
        else None,
        content_kind=row["content_kind"],
        content=row["content"],
    )


async def insert_draft(
    conn: AsyncConnection,
    *,
    created_by: int,
    text: str | None,
    photo_file_id: str | None,
    document_file_id: str | None,
    now: datetime,
    node: Node | None = None,
    content_kind: str | None = None,
    content: dict[str, Any] | None = None,
) -> Broadcast:
    row = (
        (
            await conn.execute(
                broadcasts.insert()
                .values(
                    created_by=created_by,
                    audience=AudienceKind.EVERYONE.value,
                    audience_ref=None,
                    text=text,
                    photo_file_id=photo_file_id,
                    document_file_id=document_file_id,
                    urgent=False,
                    status=BroadcastStatus.DRAFT.value,
                    created_at=now,
                    node_kind=node.kind.value if node else None,
                    node_id=node.id if node else None,
                    content_kind=content_kind,
                    content=content,
                )
                .returning(broadcasts)
            )
        )
        .mappings()
        .one()
    )
    return _broadcast(row)


async def received_by(
    conn: AsyncConnection,
    chat_id: int,
    *,
    offset: int = 0,
    limit: int = 1,
    broadcast_id: int | None = None,
) -> list[ReceivedBroadcast]:
    """The broadcasts delivered to one chat (or that one, if it was), newest first
    (`ix_outbox_chat_broadcast`): what reached the chat, not what it was in the audience of
    (opted out, blocked, or not registered yet)."""
    wanted = (
        outbox.c.broadcast_id.is_not(None)
        if broadcast_id is None
        else outbox.c.broadcast_id == broadcast_id
    )
    query = (
        select(broadcasts, func.coalesce(outbox.c.sent_at, outbox.c.created_at).label("at"))
        .join(outbox, outbox.c.broadcast_id == broadcasts.c.id)
        .where(outbox.c.chat_id == chat_id, wanted, outbox.c.status == OutboxStatus.SENT.value)
        .order_by(outbox.c.broadcast_id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [
        ReceivedBroadcast(broadcast=_broadcast(row), received_at=row["at"])
        for row in (await conn.execute(query)).mappings()
    ]


async def get_broadcast(conn: AsyncConnection, broadcast_id: int) -> Broadcast | None:
    query = select(broadcasts).where(broadcasts.c.id == broadcast_id)
    row = (await conn.execute(query)).mappings().first()
    return _broadcast(row) if row else None


async def update_draft(conn: AsyncConnection, broadcast_id: int, **values: Any) -> bool:
    """Change the audience or the urgent flag while it is still a draft."""
    allowed = {"audience", "audience_ref", "urgent"}
    if set(values) - allowed:
        raise ValueError(f"not draft columns: {sorted(set(values) - allowed)}")
    result = await conn.execute(
        update(broadcasts)
        .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == BroadcastStatus.DRAFT.value)
        .values(**values)
    )
    return result.rowcount == 1


async def transition(
    conn: AsyncConnection,
    broadcast_id: int,
    *,
    from_statuses: Iterable[BroadcastStatus],
    to_status: BroadcastStatus,
    **values: Any,
) -> bool:
    """Move to `to_status` only from one of `from_statuses`, atomically."""
    result = await conn.execute(
        update(broadcasts)
        .where(
            broadcasts.c.id == broadcast_id,
            broadcasts.c.status.in_([s.value for s in from_statuses]),
        )
        .values(status=to_status.value, **values)
    )
    return result.rowcount == 1


def sent_below(reach: Reach) -> ColumnElement[bool]:
    """Broadcasts to the coordinator's node or to a node below it."""
    return org.at_or_below(broadcasts.c.node_kind, broadcasts.c.node_id, reach)


async def is_sent_below(conn: AsyncConnection, broadcast_id: int, reach: Reach) -> bool:
    query = select(broadcasts.c.id).where(broadcasts.c.id == broadcast_id, sent_below(reach))
    return await conn.scalar(query) is not None


async def with_status(
    conn: AsyncConnection,
    statuses: Iterable[BroadcastStatus],
    *,
    reach: Reach | None = None,
    limit: int = 50,
) -> list[Broadcast]:
    """Broadcasts in these states (to nodes below `reach`, or all), newest first."""
    query = (
        select(broadcasts)
        .where(
            broadcasts.c.status.in_([s.value for s in statuses]),
            sent_below(reach) if reach is not None else true(),
        )
        .order_by(broadcasts.c.id.desc())
        .limit(limit)
    )
    return [_broadcast(row) for row in (await conn.execute(query)).mappings()]


async def due_scheduled(
    conn: AsyncConnection, now: datetime, *, limit: int = 20
) -> list[Broadcast]:
    """Scheduled broadcasts whose time has come, earliest first."""
    query = (
        select(broadcasts)
        .where(
            broadcasts.c.status == BroadcastStatus.SCHEDULED.value,
            broadcasts.c.scheduled_at <= now,
        )
        .order_by(broadcasts.c.scheduled_at, broadcasts.c.id)
        .limit(limit)
    )
    return [_broadcast(row) for row in (await conn.execute(query)).mappings()]


def _has_role(role: Role) -> ColumnElement[bool]:
    return users.c.id.in_(select(user_roles.c.user_id).where(user_roles.c.role == role.value))


def _audience_filter(
    kind: AudienceKind, ref: int | None, reach: Reach, include_opted_out: bool
) -> ColumnElement[bool]:
    if kind is AudienceKind.EVERYONE:
        who: ColumnElement[bool] = true()
    elif kind is AudienceKind.RESIDENTS:
        who = not_(or_(_has_role(Role.MEMBER), _has_role(Role.COORDINATOR)))
    elif kind is AudienceKind.MEMBERS:
        who = _has_role(Role.MEMBER)
    elif kind is AudienceKind.COORDINATORS:
        who = _has_role(Role.COORDINATOR)
    elif kind is AudienceKind.BUILDING:
        who = users.c.building_id == ref
    elif kind is AudienceKind.TEAM:
        who = users.c.id.in_(
            select(team_members.c.user_id)
            .join(teams, teams.c.id == team_members.c.team_id)
            .where(
                team_members.c.team_id == ref,
                teams.c.community_id.in_(sorted(reach.community_ids)),
            )
        )
    elif kind is AudienceKind.SESSION and ref is not None:
        # The people in the study session's audience (its community's, members or a
        # building's members), within the sender's reach as every audience is.
        who = study.audience_filter(ref)
    else:
        raise ValueError(f"audience {kind} has no recipients query")
    opted_in = true() if include_opted_out else users.c.announcements.is_(True)
    return and_(within(reach), who, opted_in)


async def audience_recipients(
    conn: AsyncConnection,
    kind: AudienceKind,
    ref: int | None,
    *,
    reach: Reach,
    include_opted_out: bool,
) -> list[tuple[int, str]]:
    """(user id, language) of everyone in the audience, by id."""
    query = (
        select(users.c.id, users.c.language)
        .where(_audience_filter(kind, ref, reach, include_opted_out))
        .order_by(users.c.id)
    )
    return [(int(uid), str(language)) for uid, language in await conn.execute(query)]


async def count_audience(
    conn: AsyncConnection,
    kind: AudienceKind,
    ref: int | None,
    *,
    reach: Reach,
    include_opted_out: bool,
) -> int:
    query = (
        select(func.count())
        .select_from(users)
        .where(_audience_filter(kind, ref, reach, include_opted_out))
    )
    return int(await conn.scalar(query) or 0)
