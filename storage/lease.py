"""Which process of a deployment does the time-driven work: drains the outbox and sweeps due
work (reminders, scheduled broadcasts). On PostgreSQL a standby process may wait beside the
active one on the same database; the one holding a session-level advisory lock works, the
other waits. So the send-rate cap holds for both together (one sender) and scheduled work runs
once.

The lock lives as long as its session. When the holder's process dies, its connection closes
and PostgreSQL frees the lock at once. When its host or network dies instead, the server only
learns it from TCP: the lease's session sets keepalives and a user timeout of about `patience`
seconds, so the lock is freed within about twice that. The holder checks its lease every
`patience` seconds — that the server still lists its own backend as holding the lock, which
also catches a connection pooler that moved the session elsewhere (poolers in transaction mode
are not supported: use a direct connection) — and stops sending the moment it cannot tell.
Claims of outbox rows are guarded the same way (`holds`), so a holder that lost the lease
claims nothing more even before it notices.

On SQLite one process per database is the rule (README), so the lease is simply held.
"""

from __future__ import annotations

import asyncio
import math

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

LEASE_KEY = 0x4C494E4C49  # "LINLI": the advisory lock's key, the same in every process
HELD_BY = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = :pid AND classid = :high AND objid = :low"
)


def _key_parts() -> dict[str, int]:
    """pg_locks shows a bigint advisory key as two 32-bit halves."""
    return {"high": LEASE_KEY >> 32, "low": LEASE_KEY & 0xFFFFFFFF}


async def holds(conn: AsyncConnection, pid: int) -> bool:
    """Whether backend `pid` holds the lease now (checked inside a claim's transaction)."""
    return bool(await conn.scalar(HELD_BY, {"pid": pid, **_key_parts()}))


class Lease:
    """The lease on the time-driven work of one database."""

    def __init__(self, engine: AsyncEngine, *, patience: float = 10.0) -> None:
        self.engine = engine
        self.patience = patience
        self.shared = engine.dialect.name == "postgresql"
        self.pid: int | None = None  # the backend holding the lock for us (PostgreSQL)
        self._conn: AsyncConnection | None = None
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process holds it now."""
        if self._held:
            return True
        if not self.shared:
            self._held = True
            return True
        conn = await self.engine.connect()
        try:
            got = await asyncio.wait_for(self._lock(conn), self.patience)
        except BaseException:
            await conn.invalidate()  # whether it holds the lock is unknown: never reuse it
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn, self._held = conn, True
        return True

    async def _lock(self, conn: AsyncConnection) -> bool:
        seconds = max(1, math.ceil(self.patience / 3))
        for setting, value in (
            ("tcp_keepalives_idle", seconds),
            ("tcp_keepalives_interval", seconds),
            ("tcp_keepalives_count", 3),
            ("tcp_user_timeout", seconds * 3000),
        ):
            await conn.execute(text(f"SET {setting} = {int(value)}"))
        asked = text("SELECT pg_try_advisory_lock(:key)")
        got = bool(await conn.scalar(asked, {"key": LEASE_KEY}))
        self.pid = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        await conn.commit()  # a session lock outlives the transaction
        return got

    async def still_held(self) -> bool:
        """Whether the server still lists our backend as holding the lock (False also when
        it cannot be asked within `patience` seconds)."""
        if not self._held or self._conn is None or self.pid is None:
            return self._held
        try:
            held = await asyncio.wait_for(holds(self._conn, self.pid), self.patience)
            await self._conn.commit()
        except Exception:
            held = False
        if not held:
            await self._drop(invalidate=True)
        return held

    async def release(self) -> None:
        if self._conn is not None:
            try:
                unlock = text("SELECT pg_advisory_unlock(:key)")
                await asyncio.wait_for(self._conn.scalar(unlock, {"key": LEASE_KEY}), 5)
                await self._conn.commit()
            except Exception:
                await self._drop(invalidate=True)  # closing the session frees the lock
                return
        await self._drop(invalidate=False)

    async def _drop(self, *, invalidate: bool) -> None:
        conn, self._conn, self._held, self.pid = self._conn, None, False, None
        if conn is None:
            return
        try:
            if invalidate:
                await conn.invalidate()
            await conn.close()
        except Exception:
            pass  # the connection is gone either way
