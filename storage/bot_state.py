"""Key-value rows behind python-telegram-bot's persistence (dialogues, user and chat data)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import bot_state


async def load_kind(conn: AsyncConnection, kind: str) -> dict[str, Any]:
    """Every row of one kind, as {key: data}."""
    query = select(bot_state.c.key, bot_state.c.data).where(bot_state.c.kind == kind)
    return {key: data for key, data in await conn.execute(query)}


async def load_keys(
    conn: AsyncConnection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    """These (kind, key) rows, in one query; a key without a row is left out."""
    if not keys:
        return {}
    query = select(bot_state.c.kind, bot_state.c.key, bot_state.c.data).where(
        or_(*(and_(bot_state.c.kind == kind, bot_state.c.key == key) for kind, key in keys))
    )
    return {(kind, key): data for kind, key, data in await conn.execute(query)}


async def save(conn: AsyncConnection, kind: str, key: str, data: Any) -> None:
    """Insert or replace one row."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(bot_state).values(kind=kind, key=key, data=data)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[bot_state.c.kind, bot_state.c.key], set_={"data": data}
        )
    )


async def remove(conn: AsyncConnection, kind: str, key: str) -> None:
    await conn.execute(delete(bot_state).where(bot_state.c.kind == kind, bot_state.c.key == key))
