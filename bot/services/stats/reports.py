"""The rows of an export (`/export`): checked once (a coordinator, a node in their reach),
then streamed a batch at a time from one snapshot of the database.

`plan` checks who asks and for what and returns a `ReportPlan` (plain data); `reading(plan)`
opens the snapshot and yields a `ReportReader` whose `rows(area)` streams each sheet. The
plan is all a writer needs, so the workbook can be written in a process of its own
(`ReportsService.open` there, on its own connection to the same database): see
handlers/stats/export.py for why.

Contact details (the resident's name, room and phone; a proxy wish's own) are read through
`storage.wishes.contacts_of` for the wishes of the batch only, all of them in the
coordinator's reach by the query that found them. An anonymous suggestion's author is never
read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import Node, Period, ReportArea, ReportPlan, User, WishRow
from bot.services.scope import require_coordinator
from bot.services.stats.period import bounds, reach_within
from storage import audit, org
from storage import reports as repo
from storage import wishes as wishes_repo
from storage.store import Store


class ReportReader:
    """The rows of one plan, sheet by sheet, from one snapshot."""

    def __init__(self, conn: AsyncConnection, plan: ReportPlan) -> None:
        self._conn = conn
        self.plan = plan

    def rows(self, area: ReportArea) -> AsyncIterator[Sequence[Any]]:
        """The area's rows in batches (lists of the area's row tuples, bot.models)."""
        plan, conn = self.plan, self._conn
        place: dict[str, Any] = {
            "community_ids": plan.reach.community_ids,
            "building_id": plan.reach.building_id,
        }
        span: dict[str, Any] = {"start": plan.start, "after": plan.after}
        if area is ReportArea.WISHES:
            return self._wishes(repo.wish_rows(conn, **place, **span))
        if area is ReportArea.VISITS:
            return repo.visit_rows(
                conn, **place, first_day=plan.period.first_day, last_day=plan.period.last_day
            )
        if area is ReportArea.PATROL:
            return repo.shift_rows(conn, **place, **span, now=plan.now)
        if area is ReportArea.FINDINGS:
            return repo.finding_rows(conn, **place, **span)
        if area is ReportArea.STUDY:
            return repo.session_rows(conn, **place, **span, now=plan.now)
        if area is ReportArea.SUGGESTIONS:
            return repo.suggestion_rows(conn, **place, **span)
        return repo.passbook_rows(conn, **place, **span)

    async def _wishes(self, batches: AsyncIterator[list[WishRow]]) -> AsyncIterator[Sequence[Any]]:
        async for batch in batches:
            if not self.plan.contacts:
                yield batch
                continue
            contacts = await wishes_repo.contacts_of(self._conn, [w.id for w in batch])
            rows = []
            for wish in batch:
                contact = contacts.get(wish.id)
                if contact is not None:
                    wish = wish._replace(
                        resident=contact.name, room=contact.room, phone=contact.phone
                    )
                rows.append(wish)
            yield rows


class ReportsService:
    """`/export`'s data: the plan (checked) and the rows (streamed)."""

    def __init__(self, store: Store, settings: Settings | None, clock: Clock | None) -> None:
        self.store = store
        self._settings = settings  # None: a reader only (`open`), which plans nothing
        self._clock = clock

    async def plan(
        self, actor: User, node: Node | None, period: Period, *, fmt: str | None = None
    ) -> ReportPlan:
        """What `actor` may export of `node` (None: their own) over `period`, in the audit
        log (the file holds the residents' phones: who asked for which place and period, in
        which format `fmt`). Refused (NotAllowed) for anyone but a coordinator, and as NotFound
        for a node outside their reach or one that does not exist."""
        require_coordinator(actor)
        assert self._settings is not None and self._clock is not None, "a reader plans nothing"
        now = self._clock.now()
        async with self.store.transaction() as conn:
            reach = await reach_within(conn, actor, node)
            name = await org.node_name(conn, reach.node)
            start, after = bounds(period, self._settings.zone)
            plan = ReportPlan(
                node=reach.node,
                node_name=name,
                reach=reach,
                period=period,
                start=start,
                after=after,
                now=now,
                zone=self._settings.timezone,
            )
            await audit.record(
                conn,
                actor_id=actor.id,
                action="report.export",
                subject=f"{reach.node.kind.value}:{reach.node.id}",
                now=now,
                community_id=reach.only_community,
                after={
                    "first_day": period.first_day.isoformat(),
                    "last_day": period.last_day.isoformat(),
                    "format": fmt,
                    "contacts": plan.contacts,
                },
            )
        return plan

    @asynccontextmanager
    async def reading(self, plan: ReportPlan) -> AsyncIterator[ReportReader]:
        """The rows of a checked plan, from one snapshot of the database. A long read: on
        SQLite through aiosqlite's thread, never on the event loop's own connection."""
        async with repo.snapshot(self.store.engine) as conn:
            yield ReportReader(conn, plan)

    @classmethod
    async def open(cls, database_url: str) -> ReportsService:
        """A reader of checked plans on connections of its own to the database (for a
        writer in another thread or process); `close` it after."""
        return cls(await Store.open(database_url, migrate=False), None, None)

    async def close(self) -> None:
        await self.store.close()
