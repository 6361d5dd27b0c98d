"""The lease on sending and scheduled work: one holder per PostgreSQL database, freed when its
session ends, checked by the holder and inside every claim; always held on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.lease import Lease, holds
from storage.store import Store


@pytest.mark.only_sqlite
async def test_on_sqlite_the_one_process_simply_holds_it(store: Store) -> None:
    lease = Lease(store.engine)
    assert await lease.try_acquire() and await lease.still_held()


@pytest.mark.only_postgresql
async def test_one_holder_at_a_time_and_the_next_when_its_session_ends(store: Store) -> None:
    first, second = Lease(store.engine, patience=2), Lease(store.engine, patience=2)
    assert await first.try_acquire()
    assert not await second.try_acquire()  # a standby waits
    assert first.pid is not None and await first.still_held()

    async with store.transaction() as conn:  # the holder's session ends (a server restart)
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first.pid})
    old = first.pid

    assert await second.try_acquire()  # the lock was freed with the session
    assert not await first.still_held() and not first.held
    async with store.transaction() as conn:  # the old holder's claims are refused from now on
        assert not await holds(conn, old)
        assert second.pid is not None and await holds(conn, second.pid)
    await second.release()
    assert await first.try_acquire()  # given back: the next one takes it
    await first.release()
