"""The outbox table: messages waiting to leave the bot."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import OutboxStatus, OutgoingMessage
from storage.common import insert_ignoring_conflicts
from storage.schema import outbox


async def enqueue(
    conn: AsyncConnection,
    message: OutgoingMessage,
    *,
    now: datetime,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    broadcast_id: int | None = None,
) -> int | None:
    """Add a message; None when a row with the same dedupe key exists already (a no-op)."""
    statement = insert_ignoring_conflicts(
        conn,
        outbox,
        chat_id=message.chat_id,
        text=message.text,
        photo_file_id=message.photo_file_id,
        document_file_id=message.document_file_id,
        parse_mode=message.parse_mode,
        buttons=[[list(button) for button in row] for row in message.buttons] or None,
        dedupe_key=dedupe_key,
        not_before=not_before or now,
        status=OutboxStatus.PENDING.value,
        attempts=0,
        broadcast_id=broadcast_id,
        created_at=now,
    ).returning(outbox.c.id)
    inserted = await conn.scalar(statement)
    return int(inserted) if inserted is not None else None
