"""The async engine: SQLite (WAL, foreign keys, BEGIN IMMEDIATE for writes) or PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

WRITE_OPTION = "linli_write"
READ_OPTION = "linli_read"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the engine for `url`; SQLite gets the pragmas and transaction control Linli needs."""
    # hide_parameters: a database error names its statement, never the values bound to it
    # (a resident's phone or room must not reach a log line).
    if not url.startswith("sqlite"):
        # Every use ends in an explicit COMMIT or ROLLBACK, or reads in autocommit (Store),
        # so the pool's extra ROLLBACK on check-in would only cost a round trip.
        return create_async_engine(
            url,
            echo=echo,
            pool_pre_ping=True,  # a round trip per use (0.62 → 0.52 of a bare bot, measured),
            # kept: after a database restart or failover no update may fail on a dead link
            pool_reset_on_return=None,
            hide_parameters=True,
        )
    # Every use of a connection ends in an explicit COMMIT or ROLLBACK (Store), so the pool's
    # extra rollback on check-in would only cost a thread hop per transaction.
    engine = create_async_engine(
        url,
        echo=echo,
        connect_args={"timeout": 30},
        pool_reset_on_return=None,
        hide_parameters=True,
    )
    _tune_sqlite(engine)
    return engine


def create_sqlite_reader(url: str) -> Engine:
    """A synchronous engine on the same SQLite file, for short reads on the event loop itself.

    aiosqlite hands every step of a query to its own thread and back (cursor, execute, fetch,
    close): several hops for a lookup that takes microseconds in sqlite3. In WAL mode a reader
    never waits for a writer, so a read can't block the loop on a lock.
    """
    engine = create_sync_engine(url.replace("sqlite+aiosqlite", "sqlite", 1), hide_parameters=True)
    _on_connect_tune(engine)

    @event.listens_for(engine, "begin")
    def _no_begin(conn: Connection) -> None:
        return None  # autocommit reads: each statement sees the latest committed state

    return engine


def create_sqlite_writer(url: str) -> Engine:
    """A synchronous engine on the same SQLite file, for write transactions on the event loop.

    Measured at a million wishes: a claim spent about 1 ms per statement through aiosqlite's
    thread and 0.15-0.35 ms of it in SQLite (3.6-5.7 ms per claim on the loop against
    12.5-16.5 ms). The Store runs one write transaction at a time in this process (a lock).
    Nothing on the loop may sleep: SQLite's busy handler is off on these connections
    (`Store.transaction` retries BEGIN IMMEDIATE with asyncio sleeps instead), and so are WAL
    autocheckpoints (a checkpoint's fsync would land on the loop; `Store.checkpoint` runs them
    in aiosqlite's thread). The pool keeps its rollback on return: a failed COMMIT must not
    leave the write lock held.
    """
    engine = create_sync_engine(
        url.replace("sqlite+aiosqlite", "sqlite", 1), hide_parameters=True, pool_size=1
    )
    _on_connect_tune(engine)

    @event.listens_for(engine, "connect")
    def _never_wait_on_the_loop(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _on_connect_tune(sync_engine: Engine) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below); the driver must not start transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable against a process crash
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def _tune_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine
    _on_connect_tune(sync_engine)

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the lock up front: a deferred BEGIN that reads and then
        # writes fails with SQLITE_BUSY when another writer got in first (measured: 1,533 of
        # 2,000 concurrent read-then-write transactions failed; with BEGIN IMMEDIATE, none).
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT" or options.get(READ_OPTION):
            return  # reads, VACUUM and friends run outside an explicit transaction
        if options.get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
