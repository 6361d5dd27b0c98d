"""The store: where transactions start. Repositories are plain functions over a connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.engine import (
    READ_OPTION,
    WRITE_OPTION,
    create_engine,
    create_sqlite_reader,
    create_sqlite_writer,
)
from storage.migrate import upgrade_to_head

# How long a write transaction may wait for the write lock (SQLite's busy timeout elsewhere).
WRITE_WAIT = 30.0


class _OnTheLoop:
    """AsyncConnection's statements over a synchronous SQLite connection: repositories await
    it as usual, each statement runs on the event loop without a thread hop."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect: Dialect = conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self._conn.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self._conn.scalar(statement, parameters)

    async def scalars(self, statement: Any, parameters: Any = None) -> Any:
        return self._conn.scalars(statement, parameters)

    async def run_sync(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(self._conn, *args, **kwargs)


class Store:
    """Owns the engine; hands out write and read transactions."""

    def __init__(
        self, engine: AsyncEngine, reader: Engine | None = None, writer: Engine | None = None
    ) -> None:
        self.engine = engine
        self.reader = reader
        self.writer = writer
        # One write transaction at a time on the loop (see `create_sqlite_writer`).
        self._writing = asyncio.Lock()
        self._writing_task: asyncio.Task[Any] | None = None

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Open the database at `url`, creating the SQLite folder and applying migrations."""
        prefix = "sqlite+aiosqlite:///"
        if url.startswith(prefix):
            path = url[len(prefix) :].split("?")[0]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        sqlite_file = url.startswith(prefix) and ":memory:" not in url
        store = cls(
            create_engine(url),
            create_sqlite_reader(url) if sqlite_file else None,
            create_sqlite_writer(url) if sqlite_file else None,
        )
        if migrate:
            await store.migrate()
        return store

    async def migrate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade_to_head)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite), committed on exit or rolled back.
        On a SQLite file its statements run on the event loop, one transaction at a time."""
        if self.writer is not None:
            task = asyncio.current_task()
            if task is not None and task is self._writing_task:
                # It would wait for itself: refuse at once instead of hanging.
                raise RuntimeError("a write transaction inside another one")
            async with asyncio.timeout(WRITE_WAIT):  # a writer stuck elsewhere: fail, not hang
                await self._writing.acquire()
            try:
                self._writing_task = task
                with self.writer.connect() as sync_conn:
                    transaction = await self._begin(sync_conn)
                    try:
                        yield cast(AsyncConnection, _OnTheLoop(sync_conn))
                    except BaseException:
                        transaction.rollback()
                        raise
                    transaction.commit()
            finally:
                self._writing_task = None
                self._writing.release()
            return
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    @staticmethod
    async def _begin(sync_conn: Connection) -> RootTransaction:
        """BEGIN IMMEDIATE on the loop writer: when another connection holds the write lock
        (a statement of the sender's, another process), wait with asyncio sleeps — the loop
        runs on — up to WRITE_WAIT, as SQLite's own busy timeout would in a thread."""
        delay, waited = 0.001, 0.0
        while True:
            try:
                return sync_conn.begin()
            except OperationalError as error:
                if "locked" not in str(error) or waited >= WRITE_WAIT:
                    raise
                sync_conn.rollback()  # the half-begun transaction, if any
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.05)

    async def checkpoint(self) -> None:
        """SQLite: move the WAL into the database file (PASSIVE: never waits for anyone), in
        aiosqlite's thread; the loop writer leaves checkpoints to this and to the sender."""
        if self.writer is None:
            return
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    @asynccontextmanager
    async def read(self, *, off_loop: bool = False) -> AsyncIterator[AsyncConnection]:
        """For reads: no write lock. On SQLite the queries run on the event loop (see
        `create_sqlite_reader`), each seeing the latest committed state; keep them short.
        `off_loop`: a long read (a quarter's report) goes through aiosqlite's thread instead,
        so the bot answers everyone else meanwhile."""
        if self.reader is not None and not off_loop:
            with self.reader.connect() as sync_conn:
                yield cast(AsyncConnection, _OnTheLoop(sync_conn))
            return
        async with self.engine.connect() as conn:
            if self.engine.dialect.name == "postgresql":
                # READ COMMITTED gives each statement its own snapshot inside a transaction
                # too, so BEGIN and COMMIT around reads would cost two round trips for nothing.
                yield await conn.execution_options(isolation_level="AUTOCOMMIT")
                return
            conn = await conn.execution_options(**{READ_OPTION: True})
            async with conn.begin():
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
        for sync_engine in (self.reader, self.writer):
            if sync_engine is not None:
                sync_engine.dispose()
        await self.engine.dispose()
