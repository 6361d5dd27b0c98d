"""Copying a community's data from one database to another — from its SQLite file to
PostgreSQL, typically — verified by row counts and checksums.

- The source is only read: it must exist and be at this release's schema (run the bot or
  `linli migrate` on it first); it is read in one read-only transaction, a consistent snapshot
  (SQLite in WAL mode, PostgreSQL at REPEATABLE READ), so the copy may run while the bot does,
  but what is written after that moment is not copied: stop the bot before the copy you switch
  to.
- The target must hold nothing but an empty Linli schema (or nothing at all): a wrong URL
  pointing at another application's database is refused before anything is written. It is
  migrated, then everything is written in one transaction, parents first, each table in
  primary-key order, streamed in batches (memory stays flat whatever the size); PostgreSQL's
  id sequences are moved past the copied ids. Each table's count and checksum — SHA-256 over
  its rows in primary-key order (text keys in byte order on both sides, whatever the target's
  collation), every value in one canonical text form — is computed on the source while
  reading and on the target inside the same transaction; any difference rolls the whole copy
  back, so a failed copy leaves the target as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import String, Table, func, inspect, select, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.engine import WRITE_OPTION
from storage.migrate import alembic_config
from storage.schema import metadata
from storage.store import Store

BATCH = 1000


class CannotCopy(Exception):
    """The copy was refused or failed; nothing was written to the target."""


@dataclass
class TableCopy:
    name: str
    rows: int
    checksum: str


@dataclass
class CopyReport:
    tables: list[TableCopy] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)


class _Sum:
    """A table's running count and checksum."""

    def __init__(self) -> None:
        self.rows = 0
        self._digest = hashlib.sha256()

    def add(self, row: dict[str, Any]) -> None:
        line = json.dumps(
            [[key, _canonical(row[key])] for key in sorted(row)], ensure_ascii=False, default=str
        )
        self._digest.update(line.encode())
        self._digest.update(b"\n")
        self.rows += 1

    @property
    def hex(self) -> str:
        return self._digest.hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


async def _rows(conn: AsyncConnection, table: Table) -> AsyncIterator[list[dict[str, Any]]]:
    """The table's rows in primary-key order (text in byte order), a batch at a time."""
    postgres = conn.dialect.name == "postgresql"
    order = [
        column.collate("C") if postgres and isinstance(column.type, String) else column
        for column in table.primary_key.columns
    ]
    result = await conn.stream(select(table).order_by(*order))
    async for batch in result.mappings().partitions(BATCH):
        yield [dict(row) for row in batch]


async def table_checksums(conn: AsyncConnection) -> dict[str, tuple[int, str]]:
    """{table: (rows, checksum)} of every table of the schema, as `conn` sees them."""
    sums: dict[str, tuple[int, str]] = {}
    for table in metadata.sorted_tables:
        total = _Sum()
        async for batch in _rows(conn, table):
            for row in batch:
                total.add(row)
        sums[table.name] = (total.rows, total.hex)
    return sums


async def checksums_of(store: Store) -> dict[str, tuple[int, str]]:
    """{table: (rows, checksum)} of a whole database, as of one moment."""
    async with store.engine.connect() as raw:
        conn = await _snapshot(raw)
        try:
            return await table_checksums(conn)
        finally:
            await conn.rollback()


async def _move_sequences(conn: AsyncConnection) -> None:
    """PostgreSQL: each serial id's sequence continues after the largest copied id."""
    for table in metadata.sorted_tables:
        column = table.c.get("id")
        if column is None or not column.primary_key:
            continue
        sequence = await conn.scalar(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        )
        if sequence is None:
            continue
        highest = await conn.scalar(select(func.max(column)))
        await conn.execute(
            text("SELECT setval(:sequence, :value, :called)"),
            {"sequence": sequence, "value": highest or 1, "called": highest is not None},
        )


async def _table_names(conn: AsyncConnection) -> set[str]:
    return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _check_source(url: str, store: Store) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).is_file():
            raise CannotCopy(f"the source database file {database!r} does not exist")
    async with store.engine.connect() as conn:
        names = await _table_names(conn)
        revision = None
        if "alembic_version" in names:
            revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    if revision != _head():
        raise CannotCopy(
            f"the source is at schema {revision!r}, not this release's {_head()!r}: run "
            "`linli migrate` on it (or start the bot on it) first"
        )


async def _check_target(store: Store) -> None:
    """Nothing but Linli's tables, all empty (or no tables at all)."""
    ours = {table.name for table in metadata.sorted_tables} | {"alembic_version"}
    async with store.engine.connect() as conn:
        names = await _table_names(conn)
        foreign = sorted(names - ours)
        if foreign:
            raise CannotCopy(
                f"the target database holds other tables ({', '.join(foreign[:5])}); "
                "copy into a new, empty database"
            )
        for table in metadata.sorted_tables:
            if table.name in names and await conn.scalar(select(func.count()).select_from(table)):
                raise CannotCopy(
                    "the target database already holds data; copy into a new, empty database"
                )


async def _snapshot(conn: AsyncConnection) -> AsyncConnection:
    """One read-only transaction on the source: every table as of one moment."""
    if conn.dialect.name == "postgresql":
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        await conn.begin()
        await conn.execute(text("SET TRANSACTION READ ONLY"))
    else:
        await conn.begin()  # a deferred BEGIN: WAL keeps the first read's snapshot
    return conn


async def copy_data(source_url: str, target_url: str) -> CopyReport:
    """Copy every row of `source_url` into the empty database `target_url`, all or nothing,
    and check that both hold the same rows. Raises CannotCopy."""
    source = await Store.open(source_url, migrate=False)
    target = await Store.open(target_url, migrate=False)
    try:
        await _check_source(source_url, source)
        await _check_target(target)
        await target.migrate()
        report = CopyReport()
        try:
            # The target's async engine itself (not the Store's SQLite writer on the loop):
            # the check at the end streams back what arrived, inside the same transaction.
            async with source.engine.connect() as raw, target.engine.connect() as out:
                writing = await out.execution_options(**{WRITE_OPTION: True})
                await writing.begin()  # committed at the end, else rolled back on close
                reading = await _snapshot(raw)
                for table in metadata.sorted_tables:
                    total = _Sum()
                    async for batch in _rows(reading, table):
                        for row in batch:
                            total.add(row)
                        await writing.execute(table.insert(), batch)
                    report.tables.append(TableCopy(table.name, total.rows, total.hex))
                await reading.rollback()
                if writing.dialect.name == "postgresql":
                    await _move_sequences(writing)
                arrived = await table_checksums(writing)
                for copied in report.tables:
                    if arrived[copied.name] != (copied.rows, copied.checksum):
                        raise CannotCopy(
                            f"{copied.name}: {copied.rows} rows read, {arrived[copied.name][0]} "
                            "in the target, or their contents differ; nothing was kept"
                        )
                await writing.commit()
        except CannotCopy:
            raise
        except Exception as error:  # e.g. a value the target refuses: say which table
            raise CannotCopy(
                f"copying failed, nothing was kept: {type(error).__name__}: {error}"
            ) from error
        return report
    finally:
        await source.close()
        await target.close()
