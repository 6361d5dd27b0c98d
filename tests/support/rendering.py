"""What an outbox row shows its reader: tests read rows the way the sender renders them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

import bot.app  # noqa: F401  (imports every feature's views, so every notice kind renders)
from bot.services import Services
from handlers.notices import Drop, Edit, Later, Send, render
from storage.outbox import _item, rows_for_chat
from storage.schema import outbox


async def outbox_rows(services: Services, chat_id: int | None = None) -> list[dict[str, Any]]:
    """Every outbox row (to one chat), oldest first, with the text, buttons, photo and voice
    note its reader gets (rendered now, in the language it was queued for)."""
    query = select(outbox).order_by(outbox.c.id)
    if chat_id is not None:
        query = query.where(outbox.c.chat_id == chat_id)
    async with services.store.read() as conn:
        rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    for row in rows:
        action = await render(services, _item(row), row["chat_id"])
        if isinstance(action, Send | Edit):
            message = action.message
            row["text"] = message.text
            row["buttons"] = [list(map(list, r)) for r in message.buttons] or None
            row["photo_file_id"] = message.photo_file_id
            row["voice_file_id"] = message.voice_file_id
        else:
            assert isinstance(action, Later | Drop)
            row["text"], row["buttons"] = None, None
    return rows


async def outbox_kinds(services: Services, chat_id: int) -> list[str | None]:
    """The kinds of the messages queued for one chat, oldest first."""
    async with services.store.read() as conn:
        return [row.kind for row in await rows_for_chat(conn, chat_id)]
