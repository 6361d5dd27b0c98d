"""Copying a community's data from one database to another — from its SQLite file to
PostgreSQL, typically — verified by row counts and checksums.

The source is read in one read transaction, so the copy is a consistent snapshot even while
the bot runs on it (SQLite's WAL lets a reader see one moment while writers go on); what is
written after that moment is not copied, so stop the bot before the copy you switch to. The
target is migrated first and must be empty. Tables are copied parent first, in primary-key
order and batches; PostgreSQL's id sequences are then moved past the copied ids, so new rows
get fresh ones. Each table's checksum is a SHA-256 over its rows in primary-key order, every
value in one canonical text form (times in UTC, JSON with sorted keys), computed on both sides.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import metadata
from storage.store import Store

BATCH = 1000


class TargetNotEmpty(Exception):
    """The target database already holds data: copying would mix two communities' rows."""


class CopyMismatch(Exception):
    """What arrived differs from what was read (a table's count or checksum)."""


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


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def _ordered(table: Table) -> Any:
    return select(table).order_by(*table.primary_key.columns)


async def _read_table(conn: AsyncConnection, table: Table) -> list[dict[str, Any]]:
    return [dict(row) for row in (await conn.execute(_ordered(table))).mappings()]


def checksum(rows: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        line = json.dumps(
            [[key, _canonical(row[key])] for key in sorted(row)],
            ensure_ascii=False,
            default=str,
        )
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


async def table_checksums(store: Store) -> dict[str, tuple[int, str]]:
    """{table: (rows, checksum)} of every table of the schema, in one read transaction."""
    sums: dict[str, tuple[int, str]] = {}
    async with store.read() as conn:
        for table in metadata.sorted_tables:
            rows = await _read_table(conn, table)
            sums[table.name] = (len(rows), checksum(rows))
    return sums


async def _is_empty(store: Store) -> bool:
    async with store.read() as conn:
        for table in metadata.sorted_tables:
            if await conn.scalar(select(func.count()).select_from(table)):
                return False
    return True


async def _move_sequences(conn: AsyncConnection) -> None:
    """PostgreSQL: each serial id's sequence continues after the largest copied id."""
    for table in metadata.sorted_tables:
        column = table.c.get("id")
        if column is None or not column.primary_key or column.type.python_type is not int:
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


async def copy_data(source_url: str, target_url: str) -> CopyReport:
    """Copy every row of `source_url` into the empty database `target_url`, then check that
    both hold the same rows. Raises TargetNotEmpty or CopyMismatch."""
    source = await Store.open(source_url)
    target = await Store.open(target_url)
    try:
        if not await _is_empty(target):
            raise TargetNotEmpty(
                "the target database already holds data; copy into a new, empty database"
            )
        report = CopyReport()
        async with source.read() as reading:
            for table in metadata.sorted_tables:
                rows = await _read_table(reading, table)
                for start in range(0, len(rows), BATCH):
                    batch = rows[start : start + BATCH]
                    async with target.transaction() as writing:
                        await writing.execute(table.insert(), batch)
                report.tables.append(TableCopy(table.name, len(rows), checksum(rows)))
        if target.engine.dialect.name == "postgresql":
            async with target.transaction() as writing:
                await _move_sequences(writing)
        arrived = await table_checksums(target)
        for copied in report.tables:
            if arrived[copied.name] != (copied.rows, copied.checksum):
                raise CopyMismatch(
                    f"{copied.name}: read {copied.rows} rows, the target holds "
                    f"{arrived[copied.name][0]} (or their contents differ)"
                )
        return report
    finally:
        await source.close()
        await target.close()
