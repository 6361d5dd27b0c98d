"""The announcements archive's read: the broadcasts that reached one chat, newest first."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.clock import ManualClock
from bot.models import OutboxStatus, OutgoingMessage
from storage import broadcasts, outbox
from storage.schema import outbox as outbox_table
from storage.store import Store


async def _broadcast(store: Store, clock: ManualClock, body: str, chats: dict[int, str]) -> int:
    """A broadcast queued for `chats`, each row left in the status given."""
    now = clock.now()
    async with store.transaction() as conn:
        draft = await broadcasts.insert_draft(
            conn, created_by=1, text=body, photo_file_id=None, document_file_id=None, now=now
        )
        rows = [(OutgoingMessage(chat_id=c, text=body), f"b:{draft.id}:{c}") for c in chats]
        await outbox.enqueue_many(conn, rows, now=now, broadcast_id=draft.id)
        for chat, status in chats.items():
            await conn.execute(
                update(outbox_table)
                .where(outbox_table.c.chat_id == chat, outbox_table.c.broadcast_id == draft.id)
                .values(status=status, sent_at=now if status == OutboxStatus.SENT else None)
            )
    return draft.id


async def test_a_chat_reads_back_what_reached_it_newest_first(
    store: Store, clock: ManualClock
) -> None:
    sent, blocked, pending = OutboxStatus.SENT, OutboxStatus.BLOCKED, OutboxStatus.PENDING
    first = await _broadcast(store, clock, "停水", {1: sent, 2: sent, 3: pending})
    clock.advance(hours=2)
    second = await _broadcast(store, clock, "停电", {1: sent, 2: blocked})
    async with store.transaction() as conn:  # a notice to chat 1 is not an announcement
        await outbox.enqueue(conn, OutgoingMessage(chat_id=1, text="wish"), now=clock.now())
    async with store.read() as conn:
        to_one = await broadcasts.received_by(conn, 1, limit=10)
        to_two = await broadcasts.received_by(conn, 2, limit=10)
        to_three = await broadcasts.received_by(conn, 3, limit=10)
        older = await broadcasts.received_by(conn, 1, offset=1, limit=10)
        one = await broadcasts.received_by(conn, 2, broadcast_id=first)
        not_theirs = await broadcasts.received_by(conn, 2, broadcast_id=second)
    assert [r.broadcast.id for r in to_one] == [second, first]
    assert [r.broadcast.text for r in to_one] == ["停电", "停水"]
    assert to_one[0].received_at - to_one[1].received_at == timedelta(hours=2)
    assert [r.broadcast.id for r in to_two] == [first]  # blocked: it never reached them
    assert to_three == []  # still waiting: not theirs to read back yet
    assert [r.broadcast.id for r in older] == [first]
    assert [r.broadcast.id for r in one] == [first] and not_theirs == []
