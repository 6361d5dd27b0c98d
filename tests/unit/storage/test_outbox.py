"""The outbox table: claims, results in one step, FIFO per chat, recovery after a crash."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.models import OutboxStatus, OutgoingMessage
from storage import outbox
from storage.broadcasts import insert_draft
from storage.store import Store


def text(chat_id: int, body: str = "hello") -> OutgoingMessage:
    return OutgoingMessage(chat_id=chat_id, text=body)


async def test_same_dedupe_key_queues_once(store: Store, clock: ManualClock) -> None:
    async with store.transaction() as conn:
        first = await outbox.enqueue(conn, text(1), now=clock.now(), dedupe_key="wish:1:offer:1")
        second = await outbox.enqueue(conn, text(1), now=clock.now(), dedupe_key="wish:1:offer:1")
        many = await outbox.enqueue_many(
            conn, [(text(2), "k2"), (text(3), "k3"), (text(2), "k2")], now=clock.now()
        )
    assert first is not None and second is None
    assert many == 2


async def test_due_heads_are_the_oldest_row_of_each_chat_notifications_first(
    store: Store, clock: ManualClock
) -> None:
    now = clock.now()
    async with store.transaction() as conn:
        bulk = [(text(chat, "bulk"), f"b:{chat}") for chat in (10, 11, 12)]
        await outbox.enqueue_many(conn, bulk, now=now, broadcast_id=None)
        await outbox.enqueue(conn, text(10, "second to 10"), now=now)
        later = await outbox.enqueue(
            conn, text(20, "later"), now=now, not_before=now + timedelta(hours=1)
        )
        personal = await outbox.enqueue(conn, text(30, "personal"), now=now)
    async with store.read() as conn:
        heads = await outbox.due_heads(conn, now, limit=10)
    assert [h.message.chat_id for h in heads] == [10, 11, 12, 30]
    assert heads[0].message.text == "bulk"  # FIFO within chat 10
    assert later not in [h.id for h in heads] and personal in [h.id for h in heads]


async def test_bulk_rows_wait_behind_personal_notifications(
    store: Store, clock: ManualClock
) -> None:
    now = clock.now()
    async with store.transaction() as conn:
        draft = await insert_draft(
            conn, created_by=1, text="x", photo_file_id=None, document_file_id=None, now=now
        )
        await outbox.enqueue_many(
            conn, [(text(5), "b5"), (text(6), "b6")], now=now, broadcast_id=draft.id
        )
        await outbox.enqueue(conn, text(7, "wish offer"), now=now)
    async with store.read() as conn:
        heads = await outbox.due_heads(conn, now, limit=10)
    assert [h.message.chat_id for h in heads] == [7, 5, 6]


async def test_a_claimed_row_cannot_be_claimed_again_and_is_sent_once(
    store: Store, clock: ManualClock
) -> None:
    async with store.transaction() as conn:
        row = await outbox.enqueue(conn, text(1), now=clock.now())
    assert row is not None
    async with store.transaction() as conn:
        claimed = await outbox.claim(conn, row)
        again = await outbox.claim(conn, row)
    assert claimed is not None and claimed.status is OutboxStatus.SENDING and claimed.attempts == 1
    assert again is None
    async with store.transaction() as conn:
        assert await outbox.mark_sent(conn, [outbox.Delivered(row, 77, clock.now())]) == 1
        assert await outbox.mark_sent(conn, [outbox.Delivered(row, 78, clock.now())]) == 0
        item = await outbox.get_item(conn, row)
    assert item is not None and item.status is OutboxStatus.SENT and item.sent_message_id == 77


async def test_rows_left_in_sending_are_found_with_whether_their_request_left(
    store: Store, clock: ManualClock
) -> None:
    async with store.transaction() as conn:
        ids = [await outbox.enqueue(conn, text(chat), now=clock.now()) for chat in (1, 2, 3)]
        claimed = await outbox.claim_many(conn, [i for i in ids[:2] if i is not None])
        assert len(claimed) == 2
        await outbox.mark_written(conn, [claimed[1].id], clock.now())  # its request went out
    async with store.transaction() as conn:
        doubtful = await outbox.in_doubt(conn)
        assert await outbox.assume_sent(conn, [claimed[1].id], why="in doubt", now=clock.now())
        item = await outbox.get_item(conn, claimed[1].id)
    assert [(i.id, i.sent_at is not None) for i in doubtful] == [
        (claimed[0].id, False),
        (claimed[1].id, True),
    ]
    assert item is not None and item.status is OutboxStatus.SENT and item.sent_message_id is None
    assert item.last_error == "in doubt"


async def test_a_released_row_forgets_that_its_request_went_out(
    store: Store, clock: ManualClock
) -> None:
    async with store.transaction() as conn:
        row = await outbox.enqueue(conn, text(1), now=clock.now())
        assert row is not None
        await outbox.claim(conn, row)
        await outbox.mark_written(conn, [row], clock.now())
        await outbox.release(conn, row, error="429", refund_attempt=True)
        await outbox.claim(conn, row)
        doubtful = await outbox.in_doubt(conn)
    assert [(i.id, i.sent_at) for i in doubtful] == [(row, None)]


async def test_flood_wait_release_does_not_count_as_an_attempt(
    store: Store, clock: ManualClock
) -> None:
    async with store.transaction() as conn:
        row = await outbox.enqueue(conn, text(-100500, "to a group"), now=clock.now())
        assert row is not None
        await outbox.claim(conn, row)
        await outbox.release(conn, row, error="429", refund_attempt=True, chat_id=-100600)
        moved = await outbox.enqueue(conn, text(-100500, "next"), now=clock.now())
        assert await outbox.move_chat(conn, -100500, -100600) == 1
        item = await outbox.get_item(conn, row)
        assert moved is not None
        next_item = await outbox.get_item(conn, moved)
    assert item is not None and item.attempts == 0 and item.status is OutboxStatus.PENDING
    assert item.message.chat_id == -100600
    assert next_item is not None and next_item.message.chat_id == -100600
