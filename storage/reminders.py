"""Reminder rows: what to do, for whom, when. The scheduler sweeps the due ones.
Recurring schedules are expanded into reminder rows ahead of time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Frequency, RecurringSchedule, Reminder, ReminderStatus
from storage.common import insert_ignoring_conflicts
from storage.schema import recurring_schedules, reminders


def _reminder(row: RowMapping) -> Reminder:
    return Reminder(
        id=row["id"],
        subject=row["subject"],
        kind=row["kind"],
        recipient_id=row["recipient_id"],
        payload=row["payload"] or {},
        due_at=row["due_at"],
        stale_after=row["stale_after"],
        dedupe_key=row["dedupe_key"],
        status=ReminderStatus(row["status"]),
    )


def _schedule(row: RowMapping) -> RecurringSchedule:
    return RecurringSchedule(
        id=row["id"],
        subject=row["subject"],
        kind=row["kind"],
        recipient_id=row["recipient_id"],
        payload=row["payload"] or {},
        frequency=Frequency(row["frequency"]),
        local_time=row["local_time"],
        weekday=row["weekday"],
        day_of_month=row["day_of_month"],
        stale_minutes=row["stale_minutes"],
        expanded_until=row["expanded_until"],
        active=row["active"],
    )


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


# Built once: SQLAlchemy keeps a statement object's compiled form (every claim cancels).
_CANCEL_PENDING = (
    update(reminders)
    .where(
        reminders.c.subject == bindparam("about"),
        reminders.c.status == ReminderStatus.PENDING.value,
    )
    .values(status=ReminderStatus.CANCELLED.value, done_at=bindparam("cancelled_at"))
)


async def cancel_pending(conn: AsyncConnection, subject: str, now: datetime) -> int:
    """Cancel every pending reminder about `subject`; the number cancelled."""
    result = await conn.execute(_CANCEL_PENDING, {"about": subject, "cancelled_at": now})
    return int(result.rowcount)


async def get_reminder(conn: AsyncConnection, reminder_id: int) -> Reminder | None:
    query = select(reminders).where(reminders.c.id == reminder_id)
    row = (await conn.execute(query)).mappings().first()
    return _reminder(row) if row else None


async def reminders_about(conn: AsyncConnection, subject: str) -> list[Reminder]:
    """Every reminder about `subject`, by due time."""
    query = (
        select(reminders)
        .where(reminders.c.subject == subject)
        .order_by(reminders.c.due_at, reminders.c.id)
    )
    return [_reminder(row) for row in (await conn.execute(query)).mappings()]


async def due_reminders(conn: AsyncConnection, now: datetime, *, limit: int) -> list[Reminder]:
    """Pending reminders due by `now`, earliest first."""
    query = (
        select(reminders)
        .where(reminders.c.status == ReminderStatus.PENDING.value, reminders.c.due_at <= now)
        .order_by(reminders.c.due_at, reminders.c.id)
        .limit(limit)
    )
    return [_reminder(row) for row in (await conn.execute(query)).mappings()]


async def finish(
    conn: AsyncConnection, reminder_id: int, status: ReminderStatus, now: datetime
) -> bool:
    """PENDING → `status`, atomically; False when it was no longer pending (never twice)."""
    result = await conn.execute(
        update(reminders)
        .where(reminders.c.id == reminder_id, reminders.c.status == ReminderStatus.PENDING.value)
        .values(status=status.value, done_at=now)
    )
    return result.rowcount == 1


async def insert_recurring(
    conn: AsyncConnection,
    *,
    subject: str,
    kind: str,
    recipient_id: int | None,
    payload: dict[str, Any],
    frequency: Frequency,
    local_time: str,
    weekday: int | None,
    day_of_month: int | None,
    stale_minutes: int | None,
) -> RecurringSchedule:
    row = (
        (
            await conn.execute(
                recurring_schedules.insert()
                .values(
                    subject=subject,
                    kind=kind,
                    recipient_id=recipient_id,
                    payload=payload,
                    frequency=frequency.value,
                    local_time=local_time,
                    weekday=weekday,
                    day_of_month=day_of_month,
                    stale_minutes=stale_minutes,
                    expanded_until=None,
                    active=True,
                )
                .returning(recurring_schedules)
            )
        )
        .mappings()
        .one()
    )
    return _schedule(row)


async def schedules_to_expand(
    conn: AsyncConnection, horizon: datetime, *, limit: int = 500
) -> list[RecurringSchedule]:
    """Active schedules whose rows do not yet reach `horizon`."""
    query = (
        select(recurring_schedules)
        .where(
            recurring_schedules.c.active.is_(True),
            (recurring_schedules.c.expanded_until.is_(None))
            | (recurring_schedules.c.expanded_until < horizon),
        )
        .order_by(recurring_schedules.c.id)
        .limit(limit)
    )
    return [_schedule(row) for row in (await conn.execute(query)).mappings()]


async def set_expanded_until(conn: AsyncConnection, schedule_id: int, until: datetime) -> None:
    await conn.execute(
        update(recurring_schedules)
        .where(recurring_schedules.c.id == schedule_id)
        .values(expanded_until=until)
    )


async def deactivate_recurring(conn: AsyncConnection, subject: str) -> int:
    """Stop the schedules about `subject`; how many were active."""
    result = await conn.execute(
        update(recurring_schedules)
        .where(recurring_schedules.c.subject == subject, recurring_schedules.c.active.is_(True))
        .values(active=False)
    )
    return int(result.rowcount)


async def recurring_about(conn: AsyncConnection, subject: str) -> list[RecurringSchedule]:
    query = (
        select(recurring_schedules)
        .where(recurring_schedules.c.subject == subject)
        .order_by(recurring_schedules.c.id)
    )
    return [_schedule(row) for row in (await conn.execute(query)).mappings()]
