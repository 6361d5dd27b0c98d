"""Which process of a deployment does the time-driven work: drains the outbox and sweeps due
work (reminders, scheduled broadcasts). On PostgreSQL several bot processes may share one
database — webhook instances behind a proxy, or a standby waiting to take over — and the one
holding a session-level advisory lock works while the others answer updates and wait. So the
send-rate cap holds for the deployment as a whole (one sender) and scheduled work runs once.

The lock lives as long as its connection: when the holder dies, PostgreSQL ends its session
and frees the lock, and a waiting process takes it at its next try. On SQLite one process per
database is the rule (README), so the lease is simply held.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

LEASE_KEY = 0x4C494E4C49  # "LINLI": the advisory lock's key, the same in every process


class Lease:
    """The lease on the time-driven work of one database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.shared = engine.dialect.name == "postgresql"
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
            taken = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LEASE_KEY}
            )
            got = bool(taken)
            await conn.commit()  # a session lock outlives the transaction
        except Exception:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn, self._held = conn, True
        return True

    async def still_held(self) -> bool:
        """Whether the lease's connection (and so the lock) is still alive."""
        if not self._held or self._conn is None:
            return self._held
        try:
            await self._conn.scalar(text("SELECT 1"))
            await self._conn.commit()
        except Exception:
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.scalar(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": LEASE_KEY}
                )
                await self._conn.commit()
            except Exception:
                pass  # the session ends below, which frees the lock anyway
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            try:
                await conn.close()
            except Exception:
                await conn.invalidate()
