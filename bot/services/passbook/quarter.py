"""Closing a quarter (季度结算): a coordinator of a whole community closes one of its quarters
once it is over, and only once. The top members are thanked, the community's coordinators get
the summary with what should be checked, and the closer gets the quarter's figures for the
sheet. The checks only list patterns for a person to look at; nothing is taken away by them."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import N_, LedgerKind, Model, Notice, User, WishCategory
from bot.services.errors import Conflict, InvalidInput
from bot.services.notify import Notifier, coordinators_above
from bot.services.passbook.rules import (
    RANKING_SIZE,
    QuarterClosed,
    previous_quarter,
    quarter_bounds,
    quarter_of,
)
from bot.services.passbook.service import wish_named
from bot.services.scope import working_community
from storage import audit, org
from storage import ledger as ledger_repo
from storage import passbook_checks as checks
from storage import quarter_report as report_repo
from storage import users as users_repo
from storage.store import Store

# --- the checks' thresholds -----------------------------------------------------------------

# Fewer credited wishes than this say nothing about where they came from.
SAME_POSTERS_MIN_WISHES = 4
# Three in four wishes from the same one or two households looks like a private arrangement.
SAME_POSTERS_MIN_PERCENT = 75
# Less time than it takes to walk over and do anything.
QUICK_CONFIRM_SECONDS = 10 * 60
# Once can be a small thing next door; twice in a quarter is a habit worth a look.
QUICK_CONFIRM_MIN = 2
# Someone speaking for residents without a phone this often should be known to the staff.
PROXY_CONFIRMS_MIN = 5
# Five adjustments in a day is more than day-to-day corrections; a batch to look at.
ADJUSTMENT_BURST_MIN = 5
ADJUSTMENT_WINDOW_SECONDS = 24 * 3600

SUMMARY_TOP = 3  # places named in the coordinators' summary
SUMMARY_FLAGS = 10  # checks named in it (the sheet lists them all)
CLOSABLE_SHOWN = 4  # quarters offered for closing, newest first
_QUARTER = re.compile(r"2[0-9]{3}Q[1-4]")  # years 2000–2999: dates the library can hold


class QuarterNotOver(InvalidInput):
    message = N_("{quarter} is not over yet. It can be closed once it has ended.")


class QuarterNotClosed(Conflict):
    message = N_("{quarter} has not been closed yet.")


class NotAQuarter(InvalidInput):
    message = N_("Please name a quarter like 2026Q4.")


class NothingToClose(InvalidInput):
    message = N_(
        "{quarter} has no points to close. Only the last quarter, or one with points, is closed."
    )


class FlagKind(StrEnum):
    SAME_POSTERS = "same_posters"  # (a) credited mostly by the same one or two posters
    QUICK_CONFIRM = "quick_confirm"  # (b) confirmed minutes after being claimed
    PROXY_CONFIRMS = "proxy_confirms"  # (c) a proxy poster's wishes confirmed again and again
    ADJUSTMENT_BURST = "adjustment_burst"  # (d) many adjustments by one coordinator in a day


class Flag(Model):
    """Something for a person to look at; what `count` counts depends on the kind: (a) the
    member's credited wishes, (b) their quick confirmations, (c) the proxy's confirmed wishes,
    (d) the coordinator's adjustments within 24 hours."""

    kind: FlagKind
    person_id: int
    person: str
    count: int
    share: int = 0  # (a) the percent that came from `others`
    others: tuple[str, ...] = ()  # (a) the posters
    wish_ids: tuple[int, ...] = ()  # (b), (c)
    since: datetime | None = None  # (d) the first adjustment of the 24 hours


class Placed(Model):
    """A member's quarter: place (None: no points to rank), points per kind, total."""

    place: int | None
    member_id: int
    name: str
    building: str | None = None
    points: dict[LedgerKind, int] = Field(default_factory=dict)
    total: int = 0


class QuarterRecognition(Notice):
    """To a top member of a closed quarter: thanks, their place and points."""

    KIND = "passbook.recognition"
    community_id: int
    community: str
    quarter: str
    rank: int
    points: int

    def place(self) -> tuple[int | None, int | None]:
        return self.community_id, None


class QuarterSummary(Notice):
    """To the community's coordinators: a quarter was closed, its figures and the checks."""

    KIND = "passbook.quarter_closed"
    community_id: int
    community: str
    quarter: str
    closed_by: str
    members: int
    points: int
    wishes: int
    top: tuple[Placed, ...] = ()
    flags: tuple[Flag, ...] = ()  # the first SUMMARY_FLAGS
    flag_count: int = 0  # all of them

    def place(self) -> tuple[int | None, int | None]:
        return self.community_id, None


@dataclass(frozen=True)
class SheetEntry:
    """One ledger entry of the quarter as the sheet lists it."""

    at: datetime
    member: str
    kind: LedgerKind
    ref: str
    points: int
    reason: str | None = None
    granted_by: str | None = None
    wish_id: int | None = None  # when it was for a wish: which, and what it was
    wish_category: WishCategory | None = None
    wish_text: str | None = None
    corrects_id: int | None = None


@dataclass(frozen=True)
class QuarterReport:
    community_id: int
    community: str
    quarter: str
    members: int  # members with points in the quarter
    points: int  # every entry's points together
    wishes: int  # wishes credited
    ranked: tuple[Placed, ...]
    recognised: int  # members thanked (the top places, ties included)
    entries: tuple[SheetEntry, ...]
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class Closable:
    community_id: int
    community: str
    quarters: tuple[str, ...]  # over and not closed, newest first
    current: str  # still running: closed only once it has ended
    closed: tuple[str, ...] = ()  # the latest closed, newest first (their sheets again)


@dataclass(frozen=True)
class _Figures:
    """What a quarter adds up to."""

    name: str
    ranked: tuple[Placed, ...]
    members: int
    points: int
    wishes: int
    flags: tuple[Flag, ...]

    def top(self) -> list[Placed]:
        """The members thanked: the first places, ties included."""
        return [p for p in self.ranked if p.place is not None and p.place <= RANKING_SIZE]


def check_quarter(quarter: str) -> str:
    if not _QUARTER.fullmatch(quarter):
        raise NotAQuarter()
    return quarter


def rank(
    points: dict[int, dict[LedgerKind, int]], names: dict[int, tuple[str, str | None]]
) -> list[Placed]:
    """Members by total, highest first; equal totals share a place (1, 2, 2, 4); members
    without points above zero are listed last, without a place."""
    totals = {member: sum(kinds.values()) for member, kinds in points.items()}
    order = sorted(totals, key=lambda m: (-totals[m], names[m][0], m))
    placed: list[Placed] = []
    for n, member in enumerate(order):
        total = totals[member]
        place: int | None = None
        if total > 0:
            tied = placed and placed[-1].total == total
            place = placed[-1].place if tied else n + 1
        name, building = names[member]
        placed.append(
            Placed(
                place=place,
                member_id=member,
                name=name,
                building=building,
                points=dict(points[member]),
                total=total,
            )
        )
    return placed


@dataclass
class QuarterService:
    store: Store
    settings: Settings
    clock: Clock
    notifier: Notifier

    async def closable(self, actor: User, community_id: int | None = None) -> Closable:
        """The community's quarters that are over and not closed yet (the last one always,
        earlier ones when they have entries)."""
        community = working_community(actor, community_id)
        current = quarter_of(self.clock.now(), self.settings.zone)
        async with self.store.read() as conn:
            found = await org.get_community(conn, community)
            with_entries = await report_repo.quarters_with_entries(conn, community)
            closed = await ledger_repo.closed_quarters(conn, [community])
        over = {previous_quarter(current)} | {q for q in with_entries if q < current}
        waiting = sorted((q for q in over if (community, q) not in closed), reverse=True)
        done = sorted((q for c, q in closed if c == community), reverse=True)
        return Closable(
            community_id=community,
            community=found.name if found is not None else "",
            quarters=tuple(waiting[:CLOSABLE_SHOWN]),
            current=current,
            closed=tuple(done[:CLOSABLE_SHOWN]),
        )

    async def close(
        self, actor: User, quarter: str, community_id: int | None = None
    ) -> QuarterReport:
        """Close a community's quarter once it is over, once: thank its top members, tell the
        other coordinators, audit; the quarter's figures, entries and checks."""
        community = working_community(actor, community_id)
        check_quarter(quarter)
        now = self.clock.now()
        if now < quarter_bounds(quarter, self.settings.zone)[1]:
            raise QuarterNotOver(quarter=quarter)
        # Added up before the write transaction, off the loop: a quarter that is over no
        # longer changes (an entry belongs to the quarter it is made in), so the figures hold.
        async with self.store.read(off_loop=True) as conn:
            if (community, quarter) in await ledger_repo.closed_quarters(conn, [community]):
                raise QuarterClosed(quarter=quarter)
            last = previous_quarter(quarter_of(now, self.settings.zone))
            if quarter != last and quarter not in await report_repo.quarters_with_entries(
                conn, community
            ):
                raise NothingToClose(quarter=quarter)  # a forged button, a year long gone
            figures = await self._figures(conn, community, quarter)
        top = figures.top()
        async with self.store.transaction() as conn:
            # The one that decides: of two closings at once, one inserts the row.
            closing = await ledger_repo.close_quarter(
                conn, community, quarter, closed_by=actor.id, now=now
            )
            if not closing:
                raise QuarterClosed(quarter=quarter)
            await self._recognise(conn, community, figures.name, quarter, top)
            summary = QuarterSummary(
                community_id=community,
                community=figures.name,
                quarter=quarter,
                closed_by=actor.display_name,
                members=figures.members,
                points=figures.points,
                wishes=figures.wishes,
                top=tuple(p for p in top if p.place is not None and p.place <= SUMMARY_TOP),
                flags=figures.flags[:SUMMARY_FLAGS],
                flag_count=len(figures.flags),
            )
            # The closer gets the figures and the sheet in reply; the others are told here.
            others = [c for c in await coordinators_above(conn, community) if c != actor.id]
            await self.notifier.tell_all(
                conn,
                await users_repo.get_users(conn, others),
                summary,
                dedupe_prefix=f"quarter-summary:{community}:{quarter}",
            )
            await audit.record(
                conn,
                actor_id=actor.id,
                action="points.close_quarter",
                subject=f"quarter:{quarter}",
                now=now,
                community_id=community,
                after={
                    "members": figures.members,
                    "points": figures.points,
                    "wishes": figures.wishes,
                    "recognised": len(top),
                    "flags": len(figures.flags),
                },
            )
        self.notifier.wake()
        return await self._report(community, quarter, figures)

    async def sheet(
        self, actor: User, quarter: str, community_id: int | None = None
    ) -> QuarterReport:
        """A closed quarter's figures, entries and checks again (for its sheet), telling
        nobody anything."""
        community = working_community(actor, community_id)
        check_quarter(quarter)
        async with self.store.read(off_loop=True) as conn:
            if (community, quarter) not in await ledger_repo.closed_quarters(conn, [community]):
                raise QuarterNotClosed(quarter=quarter)
            figures = await self._figures(conn, community, quarter)
        return await self._report(community, quarter, figures)

    async def flags(
        self, actor: User, quarter: str, community_id: int | None = None
    ) -> list[Flag]:
        """The checks of a community's quarter (closed or not), for a coordinator."""
        community = working_community(actor, community_id)
        check_quarter(quarter)
        start, end = quarter_bounds(quarter, self.settings.zone)
        async with self.store.read(off_loop=True) as conn:
            return await self._flags(conn, community, quarter, start, end)

    # --- the parts -------------------------------------------------------------------------

    async def _figures(self, conn: AsyncConnection, community: int, quarter: str) -> _Figures:
        start, end = quarter_bounds(quarter, self.settings.zone)
        found = await org.get_community(conn, community)
        ranked = await self._ranked(conn, community, quarter)
        return _Figures(
            name=found.name if found is not None else "",
            ranked=tuple(ranked),
            members=sum(1 for p in ranked if p.place is not None),
            points=sum(p.total for p in ranked),
            wishes=await report_repo.wishes_credited(conn, community, quarter),
            flags=tuple(await self._flags(conn, community, quarter, start, end)),
        )

    async def _report(self, community: int, quarter: str, figures: _Figures) -> QuarterReport:
        entries = await self._entries(community, quarter)
        return QuarterReport(
            community_id=community,
            community=figures.name,
            quarter=quarter,
            members=figures.members,
            points=figures.points,
            wishes=figures.wishes,
            ranked=figures.ranked,
            recognised=len(figures.top()),
            entries=tuple(entries),
            flags=figures.flags,
        )

    async def _ranked(self, conn: AsyncConnection, community: int, quarter: str) -> list[Placed]:
        points: dict[int, dict[LedgerKind, int]] = defaultdict(dict)
        names: dict[int, tuple[str, str | None]] = {}
        for row in await report_repo.points_by_member_and_kind(conn, community, quarter):
            points[row.member_id][row.kind] = row.points
            names[row.member_id] = (row.display_name, row.building_name)
        return rank(points, names)

    async def _recognise(
        self, conn: AsyncConnection, community: int, name: str, quarter: str, top: list[Placed]
    ) -> None:
        people = {u.id: u for u in await users_repo.get_users(conn, [p.member_id for p in top])}
        for placed in top:
            person = people.get(placed.member_id)
            if person is None or placed.place is None:
                continue
            notice = QuarterRecognition(
                community_id=community,
                community=name,
                quarter=quarter,
                rank=placed.place,
                points=placed.total,
            )
            await self.notifier.tell(
                conn,
                person,
                notice,
                dedupe_key=f"quarter-thanks:{community}:{quarter}:{person.id}",
            )

    async def _flags(
        self, conn: AsyncConnection, community: int, quarter: str, start: datetime, end: datetime
    ) -> list[Flag]:
        same = await checks.same_posters(
            conn,
            community,
            start,
            end,
            min_wishes=SAME_POSTERS_MIN_WISHES,
            min_percent=SAME_POSTERS_MIN_PERCENT,
        )
        quick = await checks.quick_confirms(
            conn,
            community,
            start,
            end,
            within_seconds=QUICK_CONFIRM_SECONDS,
            min_count=QUICK_CONFIRM_MIN,
        )
        proxies = await checks.proxy_confirms(
            conn, community, start, end, min_count=PROXY_CONFIRMS_MIN
        )
        bursts = await checks.adjustment_bursts(
            conn,
            community,
            quarter,
            min_count=ADJUSTMENT_BURST_MIN,
            window_seconds=ADJUSTMENT_WINDOW_SECONDS,
        )
        ids = (
            {r.member_id for r in same}
            | {r.poster_id for r in same}
            | {r.member_id for r in quick}
            | {r.poster_id for r in proxies}
            | {r.granted_by for r in bursts}
        )
        names = {u.id: u.display_name for u in await users_repo.get_users(conn, ids)}

        def name(uid: int) -> str:
            return names.get(uid, str(uid))

        flags: list[Flag] = []
        by_member: dict[int, list[checks.SamePosters]] = defaultdict(list)
        for row in same:
            by_member[row.member_id].append(row)
        for member, rows in by_member.items():
            credited = rows[0].credited
            share = sum(r.from_poster for r in rows) * 100 // credited
            flags.append(
                Flag(
                    kind=FlagKind.SAME_POSTERS,
                    person_id=member,
                    person=name(member),
                    count=credited,
                    share=share,
                    others=tuple(name(r.poster_id) for r in rows),
                )
            )
        quick_by_member: dict[int, list[int]] = defaultdict(list)
        for q in quick:
            quick_by_member[q.member_id].append(q.wish_id)
        for member, wish_ids in quick_by_member.items():
            flags.append(
                Flag(
                    kind=FlagKind.QUICK_CONFIRM,
                    person_id=member,
                    person=name(member),
                    count=len(wish_ids),
                    wish_ids=tuple(wish_ids),
                )
            )
        for proxy in proxies:
            flags.append(
                Flag(
                    kind=FlagKind.PROXY_CONFIRMS,
                    person_id=proxy.poster_id,
                    person=name(proxy.poster_id),
                    count=len(proxy.wish_ids),
                    wish_ids=proxy.wish_ids,
                )
            )
        for burst in bursts:
            flags.append(
                Flag(
                    kind=FlagKind.ADJUSTMENT_BURST,
                    person_id=burst.granted_by,
                    person=name(burst.granted_by),
                    count=burst.adjustments,
                    since=burst.started_at,
                )
            )
        return flags

    async def _entries(self, community: int, quarter: str) -> list[SheetEntry]:
        async with self.store.read(off_loop=True) as conn:
            rows = await report_repo.entries(conn, community, quarter)
            wish_ids = {w for w in (wish_named(r.ref) for r in rows) if w is not None}
            wishes = await report_repo.wish_lines(conn, wish_ids)
        made: list[SheetEntry] = []
        for row in rows:
            wish_id = wish_named(row.ref)
            wish = wishes.get(wish_id) if wish_id is not None else None
            made.append(
                SheetEntry(
                    at=row.created_at,
                    member=row.member_name,
                    kind=row.kind,
                    ref=row.ref,
                    points=row.points,
                    reason=row.reason,
                    granted_by=row.granted_by_name,
                    wish_id=wish_id,
                    wish_category=wish.category if wish is not None else None,
                    wish_text=wish.text if wish is not None else None,
                    corrects_id=row.corrects_id,
                )
            )
        return made
