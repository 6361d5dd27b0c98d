"""The store: where transactions start. Repositories are plain functions over a connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.engine import WRITE_OPTION, create_engine
from storage.migrate import upgrade_to_head


class Store:
    """Owns the engine; hands out write and read transactions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Open the database at `url`, creating the SQLite folder and applying migrations."""
        prefix = "sqlite+aiosqlite:///"
        if url.startswith(prefix):
            path = url[len(prefix) :].split("?")[0]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        store = cls(create_engine(url))
        if migrate:
            await store.migrate()
        return store

    async def migrate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade_to_head)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite), committed on exit or rolled back."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction: a consistent snapshot, no write lock."""
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    async def backup(self, target: str) -> None:
        """A consistent copy of a SQLite database while the bot runs (VACUUM INTO)."""
        if self.engine.dialect.name != "sqlite":
            raise RuntimeError("use pg_dump to back up PostgreSQL")
        if Path(target).exists():
            raise FileExistsError(target)
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM INTO ?", (target,))

    async def close(self) -> None:
        await self.engine.dispose()
