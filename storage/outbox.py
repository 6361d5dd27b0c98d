"""The outbox table: messages waiting to leave the bot, and what became of them.

Life of a row: PENDING → SENDING (claimed by the one sender, request about to go out) → SENT
(with Telegram's message id, in the same statement) | BLOCKED | FAILED; or back to PENDING
(flood wait, network error, or found in SENDING after a crash). CANCELLED when a broadcast stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Notice, OutboxItem, OutboxStatus, OutgoingMessage
from storage.common import insert_ignoring
from storage.schema import outbox, users

OPEN = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)


def _buttons(message: OutgoingMessage) -> list[list[list[str]]] | None:
    return [[list(button) for button in row] for row in message.buttons] or None


def _values(
    message: OutgoingMessage,
    *,
    now: datetime,
    dedupe_key: str | None,
    not_before: datetime | None,
    broadcast_id: int | None,
    notice: Notice | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    if message.voice_file_id:
        # The table has no column for it: a voice note leaves as a notice, rendered when sent.
        raise ValueError("a message of its own cannot carry a voice note")
    return {
        "chat_id": message.chat_id,
        "text": message.text,
        "photo_file_id": message.photo_file_id,
        "document_file_id": message.document_file_id,
        "parse_mode": message.parse_mode,
        "buttons": _buttons(message),
        "kind": notice.KIND if notice is not None else None,
        "params": notice.params() if notice is not None else None,
        "language": language,
        "dedupe_key": dedupe_key,
        "not_before": not_before or now,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "broadcast_id": broadcast_id,
        "created_at": now,
    }


def _item(row: RowMapping) -> OutboxItem:
    buttons = tuple(
        tuple((str(label), str(data)) for label, data in button_row)
        for button_row in (row["buttons"] or [])
    )
    return OutboxItem(
        id=row["id"],
        message=OutgoingMessage(
            chat_id=row["chat_id"],
            text=row["text"],
            photo_file_id=row["photo_file_id"],
            document_file_id=row["document_file_id"],
            parse_mode=row["parse_mode"],
            buttons=buttons,
        ),
        kind=row["kind"],
        params=row["params"],
        language=row["language"],
        dedupe_key=row["dedupe_key"],
        not_before=row["not_before"],
        status=OutboxStatus(row["status"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_message_id=row["sent_message_id"],
        broadcast_id=row["broadcast_id"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
    )


async def _insert_one(conn: AsyncConnection, values: dict[str, Any]) -> int | None:
    """One row; its id, or None when its dedupe key was used already (a no-op)."""
    inserted = await conn.scalar(insert_ignoring(conn, outbox), values)
    return int(inserted) if inserted is not None else None


# Rows per INSERT of a bulk enqueue: between them the event loop runs on (SQLite's writes run
# on the loop: a 50,000-recipient broadcast in one statement held it for 1.8 s).
BULK_CHUNK = 2000


async def _insert_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """Rows, skipping used dedupe keys, a chunk per statement; how many were new."""
    if not rows:
        return 0
    # Counted from RETURNING: asyncpg reports no rowcount for a statement run for many rows.
    statement = insert_ignoring(conn, outbox)
    added = 0
    for start in range(0, len(rows), BULK_CHUNK):
        if start:
            await asyncio.sleep(0)  # let updates and the sender in between chunks
        result = await conn.execute(statement, rows[start : start + BULK_CHUNK])
        added += len(result.all())
    return added


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
    values = _values(
        message, now=now, dedupe_key=dedupe_key, not_before=not_before, broadcast_id=broadcast_id
    )
    return await _insert_one(conn, values)


async def enqueue_notice(
    conn: AsyncConnection,
    chat_id: int,
    notice: Notice,
    *,
    language: str,
    now: datetime,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    broadcast_id: int | None = None,
) -> int | None:
    """Add a notice for `chat_id` (rendered in `language` when it is sent); None when a row
    with the same dedupe key exists already (a no-op)."""
    values = _values(
        OutgoingMessage(chat_id=chat_id),
        now=now,
        dedupe_key=dedupe_key,
        not_before=not_before,
        broadcast_id=broadcast_id,
        notice=notice,
        language=language,
    )
    return await _insert_one(conn, values)


async def enqueue_notices(
    conn: AsyncConnection,
    notice: Notice,
    recipients: Iterable[tuple[int, str, str | None]],
    *,
    now: datetime,
    broadcast_id: int | None = None,
    not_before: Mapping[int, datetime | None] | None = None,
) -> int:
    """One notice to many (chat id, language, dedupe key) in one statement, each chat not
    before its time in `not_before` (if any); how many were new (a dedupe key already used
    is skipped)."""
    waits = not_before or {}
    rows = [
        _values(
            OutgoingMessage(chat_id=chat_id),
            now=now,
            dedupe_key=key,
            not_before=waits.get(chat_id),
            broadcast_id=broadcast_id,
            notice=notice,
            language=language,
        )
        for chat_id, language, key in recipients
    ]
    return await _insert_many(conn, rows)


async def enqueue_many(
    conn: AsyncConnection,
    messages: Iterable[tuple[OutgoingMessage, str | None]],
    *,
    now: datetime,
    not_before: datetime | None = None,
    broadcast_id: int | None = None,
) -> int:
    """Add many (message, dedupe key) pairs in one statement; how many were new."""
    rows = [
        _values(m, now=now, dedupe_key=k, not_before=not_before, broadcast_id=broadcast_id)
        for m, k in messages
    ]
    return await _insert_many(conn, rows)


async def hurry(conn: AsyncConnection, dedupe_key: str, now: datetime) -> bool:
    """The row queued under `dedupe_key` to wait leaves now instead, if it still waits."""
    result = await conn.execute(
        update(outbox)
        .where(
            outbox.c.dedupe_key == dedupe_key,
            outbox.c.status == OutboxStatus.PENDING.value,
            outbox.c.not_before > now,
        )
        .values(not_before=now)
    )
    return int(result.rowcount) == 1


async def get_item(conn: AsyncConnection, outbox_id: int) -> OutboxItem | None:
    row = (await conn.execute(select(outbox).where(outbox.c.id == outbox_id))).mappings().first()
    return _item(row) if row else None


async def get_by_dedupe_key(conn: AsyncConnection, dedupe_key: str) -> OutboxItem | None:
    query = select(outbox).where(outbox.c.dedupe_key == dedupe_key)
    row = (await conn.execute(query)).mappings().first()
    return _item(row) if row else None


async def due_heads(conn: AsyncConnection, now: datetime, *, limit: int) -> list[OutboxItem]:
    """The oldest due PENDING row of each chat (messages to one chat leave in order), chats
    with a personal notification before chats that only wait for a broadcast."""
    bulk = func.min(case((outbox.c.broadcast_id.is_(None), 0), else_=1)).label("bulk")
    head = func.min(outbox.c.id).label("head")
    heads = (
        select(head, bulk)
        .where(outbox.c.status == OutboxStatus.PENDING.value, outbox.c.not_before <= now)
        .group_by(outbox.c.chat_id)
        .order_by(bulk, head)
        .limit(limit)
    )
    ids = [row.head for row in await conn.execute(heads)]
    if not ids:
        return []
    rows = (await conn.execute(select(outbox).where(outbox.c.id.in_(ids)))).mappings()
    by_id = {row["id"]: _item(row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


async def next_due_at(conn: AsyncConnection) -> datetime | None:
    """When the earliest PENDING row becomes due (None: nothing waits)."""
    value = await conn.scalar(
        select(func.min(outbox.c.not_before)).where(outbox.c.status == OutboxStatus.PENDING.value)
    )
    return value if isinstance(value, datetime) else None


async def claim_many(conn: AsyncConnection, outbox_ids: Sequence[int]) -> list[OutboxItem]:
    """PENDING → SENDING for these rows, counting an attempt; the rows this call got (a row
    someone else changed first is left out). In id order."""
    if not outbox_ids:
        return []
    rows = (
        await conn.execute(
            update(outbox)
            .where(
                outbox.c.id.in_(list(outbox_ids)),
                outbox.c.status == OutboxStatus.PENDING.value,
            )
            .values(status=OutboxStatus.SENDING.value, attempts=outbox.c.attempts + 1)
            .returning(outbox)
        )
    ).mappings()
    return sorted((_item(row) for row in rows), key=lambda item: item.id)


async def claim(conn: AsyncConnection, outbox_id: int) -> OutboxItem | None:
    """PENDING → SENDING for one row; None when someone else changed it first."""
    claimed = await claim_many(conn, [outbox_id])
    return claimed[0] if claimed else None


async def unreachable_chats(conn: AsyncConnection, chat_ids: Iterable[int]) -> set[int]:
    """Which of these private chats belong to users marked unreachable."""
    wanted = sorted({c for c in chat_ids if c > 0})
    if not wanted:
        return set()
    query = select(users.c.id).where(users.c.id.in_(wanted), users.c.unreachable.is_(True))
    return {int(i) for i in (await conn.scalars(query)).all()}


@dataclass(frozen=True)
class Delivered:
    """A row Telegram accepted: its message id, when, and whether the user (marked
    unreachable before) is reachable again."""

    outbox_id: int
    message_id: int
    at: datetime
    reachable_again: int | None = None


async def mark_sent(conn: AsyncConnection, delivered: Sequence[Delivered]) -> int:
    """SENDING → SENT, each row together with its Telegram message id (one statement for the
    whole group: the sender commits results as they come, several at a time under load)."""
    if not delivered:
        return 0
    statement = (
        update(outbox)
        .where(outbox.c.id == bindparam("row_id"), outbox.c.status == OutboxStatus.SENDING.value)
        .values(
            status=OutboxStatus.SENT.value,
            sent_message_id=bindparam("message_id"),
            sent_at=bindparam("done_at"),
            last_error=None,
        )
    )
    result = await conn.execute(
        statement,
        [{"row_id": d.outbox_id, "message_id": d.message_id, "done_at": d.at} for d in delivered],
    )
    again = sorted({d.reachable_again for d in delivered if d.reachable_again is not None})
    if again:
        await conn.execute(update(users).where(users.c.id.in_(again)).values(unreachable=False))
    return int(result.rowcount)


async def mark_final(
    conn: AsyncConnection, outbox_id: int, status: OutboxStatus, *, error: str, now: datetime
) -> bool:
    """SENDING → BLOCKED or FAILED, keeping the reason."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.status == OutboxStatus.SENDING.value)
        .values(status=status.value, last_error=error[:500], sent_at=now)
    )
    return result.rowcount == 1


async def release(
    conn: AsyncConnection,
    outbox_id: int,
    *,
    error: str,
    refund_attempt: bool = False,
    chat_id: int | None = None,
) -> bool:
    """SENDING → PENDING, to be tried again; a flood wait does not count as an attempt."""
    values: dict[str, Any] = {
        "status": OutboxStatus.PENDING.value,
        "last_error": error[:500],
        "sent_at": None,
    }
    if refund_attempt:
        values["attempts"] = outbox.c.attempts - 1
    if chat_id is not None:
        values["chat_id"] = chat_id
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.status == OutboxStatus.SENDING.value)
        .values(**values)
    )
    return result.rowcount == 1


async def release_many(conn: AsyncConnection, outbox_ids: Sequence[int], *, error: str) -> int:
    """Claimed rows that were never sent (the sender is stopping) go back, attempt refunded."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(list(outbox_ids)), outbox.c.status == OutboxStatus.SENDING.value)
        .values(
            status=OutboxStatus.PENDING.value,
            last_error=error,
            attempts=outbox.c.attempts - 1,
            sent_at=None,
        )
    )
    return int(result.rowcount)


async def move_chat(conn: AsyncConnection, old_chat_id: int, new_chat_id: int) -> int:
    """A group became a supergroup: waiting rows follow it to the new id (and so do the live
    messages shown there, see storage.live.move_chat)."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.chat_id == old_chat_id, outbox.c.status == OutboxStatus.PENDING.value)
        .values(chat_id=new_chat_id)
    )
    return int(result.rowcount)


async def in_doubt(conn: AsyncConnection) -> list[OutboxItem]:
    """Rows a crash left in SENDING (their request may have left), oldest first."""
    query = (
        select(outbox).where(outbox.c.status == OutboxStatus.SENDING.value).order_by(outbox.c.id)
    )
    return [_item(row) for row in (await conn.execute(query)).mappings()]


async def assume_sent(
    conn: AsyncConnection, outbox_ids: Sequence[int], *, why: str, now: datetime
) -> int:
    """SENDING → SENT without a message id: the request left and its fate is unknown, and the
    row's kind would rather risk a loss than a duplicate. `why` is kept as its last error."""
    if not outbox_ids:
        return 0
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(list(outbox_ids)), outbox.c.status == OutboxStatus.SENDING.value)
        .values(status=OutboxStatus.SENT.value, last_error=why[:500], sent_at=now)
    )
    return int(result.rowcount)


async def mark_written(conn: AsyncConnection, outbox_ids: Sequence[int], at: datetime) -> int:
    """The requests of these SENDING rows have gone out (noted in `sent_at`)."""
    if not outbox_ids:
        return 0
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(list(outbox_ids)), outbox.c.status == OutboxStatus.SENDING.value)
        .values(sent_at=at)
    )
    return int(result.rowcount)


async def status_counts(
    conn: AsyncConnection, broadcast_id: int | None = None
) -> dict[OutboxStatus, int]:
    """Rows per status, for one broadcast or for the whole outbox."""
    query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
    if broadcast_id is not None:
        query = query.where(outbox.c.broadcast_id == broadcast_id)
    counts = {status: 0 for status in OutboxStatus}
    for status, count in await conn.execute(query):
        counts[OutboxStatus(status)] = int(count)
    return counts


async def unconfirmed_count(conn: AsyncConnection, broadcast_id: int) -> int:
    """A broadcast's rows counted as delivered without Telegram's confirmation (no message
    id): their request left and the answer was lost."""
    query = select(func.count()).where(
        outbox.c.broadcast_id == broadcast_id,
        outbox.c.status == OutboxStatus.SENT.value,
        outbox.c.sent_message_id.is_(None),
    )
    return int(await conn.scalar(query) or 0)


async def open_broadcasts(conn: AsyncConnection, broadcast_ids: Sequence[int]) -> set[int]:
    """Which of these broadcasts still have rows waiting or in flight."""
    if not broadcast_ids:
        return set()
    query = (
        select(outbox.c.broadcast_id)
        .where(outbox.c.broadcast_id.in_(broadcast_ids), outbox.c.status.in_(OPEN))
        .distinct()
    )
    return {int(i) for i in (await conn.scalars(query)).all()}


async def cancel_broadcast_rows(conn: AsyncConnection, broadcast_id: int, now: datetime) -> int:
    """Stop a broadcast: its waiting rows are cancelled (rows in flight still finish)."""
    result = await conn.execute(
        update(outbox)
        .where(
            outbox.c.broadcast_id == broadcast_id,
            outbox.c.status == OutboxStatus.PENDING.value,
        )
        .values(status=OutboxStatus.CANCELLED.value, sent_at=now)
    )
    return int(result.rowcount)


async def rows_for_chat(conn: AsyncConnection, chat_id: int) -> list[OutboxItem]:
    """Every row addressed to one chat, oldest first (diagnostics and tests)."""
    query = select(outbox).where(outbox.c.chat_id == chat_id).order_by(outbox.c.id)
    return [_item(row) for row in (await conn.execute(query)).mappings()]


async def hold_back(conn: AsyncConnection, outbox_id: int, *, until: datetime, why: str) -> bool:
    """SENDING → PENDING not before `until`, the attempt refunded: the row could not be
    rendered yet (e.g. an edit of a message whose first send has not been recorded)."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.status == OutboxStatus.SENDING.value)
        .values(
            status=OutboxStatus.PENDING.value,
            attempts=outbox.c.attempts - 1,
            not_before=until,
            last_error=why,
            sent_at=None,
        )
    )
    return result.rowcount == 1
