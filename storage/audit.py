"""The audit log: every coordinator action, who, what, when, before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import AuditEntry
from storage.schema import audit_log


async def record(
    conn: AsyncConnection,
    *,
    actor_id: int,
    action: str,
    subject: str,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        audit_log.insert().values(
            actor_id=actor_id, action=action, subject=subject, before=before, after=after, at=now
        )
    )


async def recent(conn: AsyncConnection, *, limit: int = 50) -> list[AuditEntry]:
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    return [AuditEntry(**row) for row in (await conn.execute(query)).mappings()]
