"""Small SQL helpers shared by repositories."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

# Row ids are 32-bit integers on PostgreSQL: an id from a forged button or typed by a person (up
# to 15 digits) that no row can have is "no such row", not a database error.
ROW_ID_MAX = 2**31 - 1


def is_row_id(value: int) -> bool:
    return 0 < value <= ROW_ID_MAX


def in_place(table: Any, community_ids: Collection[int], building_id: int | None) -> list[Any]:
    """Rows of these communities (and of the building, by the row's own building)."""
    where: list[Any] = [table.c.community_id.in_(sorted(set(community_ids)))]
    if building_id is not None:
        where.append(table.c.building_id == building_id)
    return where


def insert_ignoring_conflicts(conn: AsyncConnection, table: Table, **values: Any) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING RETURNING id` for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).values(**values).on_conflict_do_nothing()
    return sqlite.insert(table).values(**values).on_conflict_do_nothing()


@cache
def _ignoring(dialect_name: str, table: Table) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing().returning(table.c.id)


def insert_ignoring(conn: AsyncConnection, table: Table) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING RETURNING id`, built once per dialect and table (the
    values go as parameters): SQLAlchemy keeps a statement object's compiled form, and one
    built per row showed in the claim's profile."""
    return _ignoring(conn.dialect.name, table)
