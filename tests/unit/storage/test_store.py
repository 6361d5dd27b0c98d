"""The store on a real SQLite file: migrations, pragmas, transactions that roll back."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot.config import Settings
from storage import org
from storage import users as users_repo
from storage.store import Store


async def test_migrations_create_the_tables(store: Store) -> None:
    async with store.read() as conn:
        names = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    assert {"users", "buildings", "outbox", "reminders", "audit_log", "bot_state"} <= names
    assert "alembic_version" in names


@pytest.mark.only_sqlite  # SQLite's own settings
async def test_sqlite_runs_in_wal_with_foreign_keys(store: Store) -> None:
    async with store.read() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_migrating_twice_is_harmless(store: Store) -> None:
    await store.migrate()
    async with store.read() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version is not None


async def test_a_failed_transaction_changes_nothing(store: Store) -> None:
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError):
        async with store.transaction() as conn:
            await users_repo.insert_user(
                conn,
                user_id=1,
                display_name="A",
                language="zh",
                building_id=None,
                room=None,
                phone=None,
                now=now,
            )
            raise RuntimeError("crash in the middle")
    async with store.read() as conn:
        assert await users_repo.get_user(conn, 1) is None


async def test_times_come_back_as_aware_utc(store: Store) -> None:
    now = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    async with store.transaction() as conn:
        community = await org.ensure_default_community(conn, "D", "S", "C")
        await org.add_building(conn, community, "1号楼", now)
        await users_repo.insert_user(
            conn,
            user_id=5,
            display_name="B",
            language="en",
            building_id=None,
            room=None,
            phone=None,
            now=now,
        )
    async with store.read() as conn:
        user = await users_repo.get_user(conn, 5)
    assert user is not None and user.registered_at == now
    assert user.registered_at.tzinfo is not None


async def test_default_community_is_created_once(store: Store) -> None:
    async with store.transaction() as conn:
        first = await org.ensure_default_community(conn, "西区", "街道", "社区")
        second = await org.ensure_default_community(conn, "other", "other", "other")
        community = await org.get_community(conn, first)
    assert first == second
    assert community is not None and community.district_name == "西区"


@pytest.mark.only_sqlite  # PostgreSQL is backed up with pg_dump (README)
async def test_backup_is_a_readable_copy(store: Store, tmp_path: Path) -> None:
    async with store.transaction() as conn:
        await org.ensure_default_community(conn, "D", "S", "备份社区")
    target = tmp_path / "copy.db"
    await store.backup(str(target))
    copy = await Store.open(f"sqlite+aiosqlite:///{target}", migrate=False)
    try:
        async with copy.read() as conn:
            community = await org.get_community(conn, 1)
    finally:
        await copy.close()
    assert community is not None and community.name == "备份社区"


async def test_a_database_error_never_shows_the_values_it_was_given(store: Store) -> None:
    """A failed statement is logged with its text only: a phone number must not reach a log."""
    from sqlalchemy.exc import IntegrityError

    from storage.schema import users

    phone = "13912345678"
    row = {
        "id": 1,
        "display_name": "王奶奶",
        "language": "zh",
        "phone": phone,
        "announcements": True,
        "quiet_start": 0,
        "quiet_end": 0,
        "unreachable": False,
        "registered_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    async with store.transaction() as conn:
        await conn.execute(users.insert().values(**row))
    with pytest.raises(IntegrityError) as failed:
        async with store.transaction() as conn:
            await conn.execute(users.insert().values(**row))  # the same id again
    assert phone not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)


@pytest.mark.only_sqlite  # SQLite's writes run on the event loop, one transaction at a time
async def test_write_transactions_take_turns_and_a_nested_one_is_refused(store: Store) -> None:
    now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    order: list[tuple[str, int]] = []

    async def write(n: int) -> None:
        async with store.transaction() as conn:
            order.append(("in", n))
            await asyncio.sleep(0.01)  # others get the loop meanwhile, not the database
            await users_repo.insert_user(
                conn,
                user_id=n,
                display_name=f"U{n}",
                language="zh",
                building_id=None,
                room=None,
                phone=None,
                now=now,
            )
            order.append(("out", n))

    await asyncio.gather(*(write(n) for n in range(1, 6)))
    pairs = list(zip(order[::2], order[1::2], strict=True))
    assert all(a == ("in", b[1]) and b[0] == "out" for a, b in pairs)  # never interleaved
    async with store.read() as conn:
        assert [u.id for u in await users_repo.get_users(conn, range(1, 6))] == [1, 2, 3, 4, 5]

    async with store.transaction():
        with pytest.raises(RuntimeError, match="inside another"):
            async with store.transaction():
                pass


@pytest.mark.only_sqlite  # the loop writer's wait for a lock held elsewhere
async def test_waiting_for_the_write_lock_never_stops_the_event_loop(
    store: Store, settings: Settings
) -> None:
    path = settings.database_url.split("///", 1)[1]
    elsewhere = sqlite3.connect(path, isolation_level=None)  # another process, say
    elsewhere.execute("BEGIN IMMEDIATE")
    gaps: list[float] = []
    stop = asyncio.Event()

    async def tick() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async def write() -> None:
        async with store.transaction() as conn:
            await org.ensure_default_community(conn, "D", "S", "C")

    ticker = asyncio.create_task(tick())
    writer = asyncio.create_task(write())
    await asyncio.sleep(0.02)
    ticks_before = len(gaps)
    await asyncio.sleep(0.3)
    assert not writer.done()  # still waiting for the lock…
    # A loop stopped by the wait would not have ticked at all in these 0.3 s (a 5 ms ticker
    # ticks about 60 times; counted, not timed, so a busy machine cannot fail it).
    ticks_while_waiting = len(gaps) - ticks_before
    elsewhere.execute("COMMIT")  # …until the other one lets go
    await asyncio.wait_for(writer, 5)
    stop.set()
    await ticker
    elsewhere.close()
    assert ticks_while_waiting >= 5
    async with store.read() as conn:
        assert await org.list_communities(conn) != []


async def test_processes_starting_at_once_on_a_fresh_database_make_one_community(
    settings: Settings,
) -> None:
    """Two bot processes started together on a new database (a standby beside its active
    one): the first district, street and community are made once, not once each."""
    stores = [await Store.open(settings.database_url) for _ in range(4)]
    try:

        async def first_start(store: Store) -> int:
            async with store.transaction() as conn:
                return await org.ensure_default_community(conn, "城中区", "南关街", "南关社区")

        ids = await asyncio.gather(*(first_start(store) for store in stores))
        async with stores[0].read() as conn:
            made = await conn.scalar(text("SELECT count(*) FROM communities"))
    finally:
        for store in stores:
            await store.close()
    assert len(set(ids)) == 1 and made == 1
