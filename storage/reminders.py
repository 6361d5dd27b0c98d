"""Reminder rows: what to do, for whom, when. The scheduler sweeps the due ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import ReminderStatus
from storage.common import insert_ignoring_conflicts
from storage.schema import reminders


async def insert_reminder(
    conn: AsyncConnection,
    *,
    subject: str,
    kind: str,
    recipient_id: int | None,
    payload: dict[str, Any],
    due_at: datetime,
    stale_after: datetime | None,
    dedupe_key: str,
) -> int | None:
    """Add a reminder; None when one with the same dedupe key exists (scheduling is idempotent)."""
    statement = insert_ignoring_conflicts(
        conn,
        reminders,
        subject=subject,
        kind=kind,
        recipient_id=recipient_id,
        payload=payload,
        due_at=due_at,
        stale_after=stale_after,
        dedupe_key=dedupe_key,
        status=ReminderStatus.PENDING.value,
    ).returning(reminders.c.id)
    inserted = await conn.scalar(statement)
    return int(inserted) if inserted is not None else None


async def cancel_pending(conn: AsyncConnection, subject: str, now: datetime) -> int:
    """Cancel every pending reminder about `subject`; the number cancelled."""
    result = await conn.execute(
        update(reminders)
        .where(reminders.c.subject == subject, reminders.c.status == ReminderStatus.PENDING.value)
        .values(status=ReminderStatus.CANCELLED.value, done_at=now)
    )
    return int(result.rowcount)
