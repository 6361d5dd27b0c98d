"""Live messages: which Telegram messages show which thing, so a change to the thing can edit
every one of them (through the outbox, rendered from the thing's state when the edit leaves).

A message sent through the outbox knows its Telegram id only once its row is SENT: until then
`message_id` is NULL and the id is read from the outbox row (`outbox_id`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import LiveMessage, OutboxStatus
from storage.schema import live_messages, outbox

# The newest viewer's cards of one thing that are kept current (a popular wish opened by
# hundreds of members must not cost hundreds of edits a change); an older one is retired: edited
# once more to a stub without its details. Messages for no one in particular (a wall post) and
# the first send's own message are never dropped.
PER_THING = 20


def _live(row: RowMapping) -> LiveMessage:
    values = {k: row[k] for k in LiveMessage.model_fields}
    if values["message_id"] is None and row.get("sent_message_id") is not None:
        values["message_id"] = row["sent_message_id"]
    return LiveMessage(**values)


# The statements below are built once: SQLAlchemy keeps a statement object's compiled form and
# cache key, and building them per call was most of a card registration's time.
_QUERY = select(live_messages, outbox.c.sent_message_id).select_from(
    live_messages.outerjoin(outbox, outbox.c.id == live_messages.c.outbox_id)
)
_BY_KEY = _QUERY.where(live_messages.c.key == bindparam("key"))
_BY_ID = _QUERY.where(live_messages.c.id == bindparam("live_id"))
_VIEWERS = (live_messages.c.thing == bindparam("thing"), live_messages.c.viewer_id.is_not(None))
_BEYOND_NEWEST = _QUERY.where(
    *_VIEWERS,
    live_messages.c.id.not_in(
        select(live_messages.c.id)
        .where(*_VIEWERS)
        .order_by(live_messages.c.id.desc())
        .limit(PER_THING)
        .scalar_subquery()
    ),
)
_waiting_row = outbox.alias("waiting_row")
# Without a refresh still waiting in the outbox, and whose first send is not waiting either.
_TO_REFRESH = _QUERY.where(
    live_messages.c.thing == bindparam("thing"),
    select(func.count())
    .select_from(_waiting_row)
    .where(
        _waiting_row.c.status == OutboxStatus.PENDING.value,
        (_waiting_row.c.id == live_messages.c.pending_outbox_id)
        | (_waiting_row.c.id == live_messages.c.outbox_id),
    )
    .correlate(live_messages)
    .scalar_subquery()
    == 0,
)
_INSERT = live_messages.insert().returning(live_messages.c.id)


async def register(
    conn: AsyncConnection,
    *,
    key: str,
    thing: str,
    view: str,
    chat_id: int,
    language: str,
    now: datetime,
    message_id: int | None = None,
    outbox_id: int | None = None,
    viewer_id: int | None = None,
    new_key: bool = False,
) -> tuple[int, list[LiveMessage]]:
    """Keep the message under `key` current (a newer message under the same key replaces the
    older one: e.g. the card a member opened last); its id, and the messages no longer kept
    current (the one replaced, the viewers' cards beyond PER_THING), to be retired. `new_key`:
    the caller knows no message was kept under `key` yet (spares two statements)."""
    values = {
        "key": key,
        "thing": thing,
        "view": view,
        "chat_id": chat_id,
        "message_id": message_id,
        "outbox_id": outbox_id,
        "viewer_id": viewer_id,
        "language": language,
        "pending_outbox_id": None,
        "created_at": now,
    }
    replaced = None if new_key else await by_key(conn, key)
    if replaced is not None:
        await conn.execute(delete(live_messages).where(live_messages.c.key == key))
    live_id = await conn.scalar(_INSERT, values)
    assert live_id is not None
    dropped = [replaced] if replaced is not None and replaced.message_id != message_id else []
    if viewer_id is not None:  # only viewers' messages are capped
        dropped += await _forget_oldest(conn, thing)
    return int(live_id), dropped


async def _forget_oldest(conn: AsyncConnection, thing: str) -> list[LiveMessage]:
    """Drop the viewers' messages of `thing` beyond the newest PER_THING; the ones dropped."""
    found = await conn.execute(_BEYOND_NEWEST, {"thing": thing})
    dropped = [_live(row) for row in found.mappings()]
    if dropped:
        ids = [m.id for m in dropped]
        await conn.execute(delete(live_messages).where(live_messages.c.id.in_(ids)))
    return dropped


async def get(conn: AsyncConnection, live_id: int) -> LiveMessage | None:
    row = (await conn.execute(_BY_ID, {"live_id": live_id})).mappings().first()
    return _live(row) if row else None


async def by_key(conn: AsyncConnection, key: str) -> LiveMessage | None:
    row = (await conn.execute(_BY_KEY, {"key": key})).mappings().first()
    return _live(row) if row else None


async def to_refresh(conn: AsyncConnection, thing: str) -> list[LiveMessage]:
    """The messages of `thing` that need an edit queued: those without a refresh still waiting
    in the outbox, and whose first send is not itself still waiting (it will show the thing
    as it is when it leaves)."""
    found = await conn.execute(_TO_REFRESH, {"thing": thing})
    return [_live(row) for row in found.mappings()]


async def set_pending(conn: AsyncConnection, live_id: int, outbox_id: int) -> None:
    await conn.execute(
        update(live_messages)
        .where(live_messages.c.id == live_id)
        .values(pending_outbox_id=outbox_id)
    )


async def set_message_id(
    conn: AsyncConnection, live: LiveMessage, message_id: int, chat_id: int
) -> bool:
    """The message was sent again (Telegram no longer allowed the edit): follow the new one,
    if the row still shows the message the edit was for (rowids are reused: a row that
    replaced it under the same key may carry the same id); False when it does not."""
    shown = (
        live_messages.c.message_id == live.message_id
        if live.outbox_id is None
        else (live_messages.c.message_id == live.message_id)
        | (live_messages.c.message_id.is_(None) & (live_messages.c.outbox_id == live.outbox_id))
    )
    result = await conn.execute(
        update(live_messages)
        .where(live_messages.c.id == live.id, live_messages.c.key == live.key, shown)
        .values(message_id=message_id, chat_id=chat_id, outbox_id=None)
    )
    return bool(result.rowcount)


async def forget(conn: AsyncConnection, chat_id: int, message_id: int) -> int:
    """The message now shows something else (a step edited it in place): stop keeping it."""
    result = await conn.execute(
        delete(live_messages).where(
            live_messages.c.chat_id == chat_id, live_messages.c.message_id == message_id
        )
    )
    return int(result.rowcount)


async def move_chat(conn: AsyncConnection, old_chat_id: int, new_chat_id: int) -> int:
    """A group became a supergroup: its live messages are edited (or sent anew) there."""
    result = await conn.execute(
        update(live_messages)
        .where(live_messages.c.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
    )
    return int(result.rowcount)


async def first_send_state(conn: AsyncConnection, live_id: int) -> OutboxStatus | None:
    """The state of the outbox row that sends the message first (None: not sent that way)."""
    value = await conn.scalar(
        select(outbox.c.status)
        .select_from(live_messages.join(outbox, outbox.c.id == live_messages.c.outbox_id))
        .where(live_messages.c.id == live_id)
    )
    return OutboxStatus(value) if value is not None else None


async def for_thing(conn: AsyncConnection, thing: str) -> list[LiveMessage]:
    """Every message of `thing` (tests and diagnostics)."""
    query = _QUERY.where(live_messages.c.thing == thing).order_by(live_messages.c.id)
    return [_live(row) for row in (await conn.execute(query)).mappings()]


async def for_viewer(conn: AsyncConnection, viewer_id: int) -> list[LiveMessage]:
    """Every message kept current for this reader (their opened cards)."""
    query = _QUERY.where(live_messages.c.viewer_id == viewer_id).order_by(live_messages.c.id)
    return [_live(row) for row in (await conn.execute(query)).mappings()]
