"""The audit log: every coordinator action, who, what, when, before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import AuditEntry, NodeKind, Reach
from storage.schema import audit_log


async def record(
    conn: AsyncConnection,
    *,
    actor_id: int,
    action: str,
    subject: str,
    now: datetime,
    community_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """`community_id`: the community the action was about (None: a street or district)."""
    await conn.execute(
        audit_log.insert().values(
            actor_id=actor_id,
            action=action,
            subject=subject,
            before=before,
            after=after,
            at=now,
            community_id=community_id,
        )
    )


async def recent(conn: AsyncConnection, reach: Reach, *, limit: int = 50) -> list[AuditEntry]:
    """The newest entries about the communities below `reach` (a district's coordinators also
    see those about no community: streets added)."""
    if not reach.whole_communities:
        return []  # a building's coordinator: entries are about communities, not buildings
    about: ColumnElement[bool] = audit_log.c.community_id.in_(sorted(reach.community_ids))
    if reach.node.kind is NodeKind.DISTRICT:
        about = or_(about, audit_log.c.community_id.is_(None))
    query = select(audit_log).where(about).order_by(audit_log.c.id.desc()).limit(limit)
    return [AuditEntry(**row) for row in (await conn.execute(query)).mappings()]
