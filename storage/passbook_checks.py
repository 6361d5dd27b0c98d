"""Patterns in a community's quarter that a person should look at before the recognition is
trusted: helpers credited mostly by the same posters, wishes confirmed minutes after they were
taken, proxy posters whose wishes are confirmed again and again, bursts of adjustments. Each
query only lists what it found; nothing here changes a row.

"In the quarter" means credited (wish_participants.credited_at, the moment of the resident's
confirmation) or entered (ledger_entries.quarter) within it, as the passbook counts it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import LedgerKind, WishStatus
from storage.schema import ledger_entries, wish_participants, wishes


class SamePosters(NamedTuple):
    member_id: int
    credited: int  # wishes credited in the quarter
    poster_id: int  # one of the (at most two) posters most of them came from
    from_poster: int


class QuickConfirm(NamedTuple):
    member_id: int
    wish_id: int
    claimed_at: datetime
    confirmed_at: datetime


class ProxyConfirms(NamedTuple):
    poster_id: int
    wish_ids: tuple[int, ...]


class AdjustmentBurst(NamedTuple):
    granted_by: int
    started_at: datetime  # the first adjustment of the busiest 24 hours
    adjustments: int  # adjustments in those 24 hours


def seconds_between(conn: AsyncConnection, later: Any, earlier: Any) -> ColumnElement[Any]:
    """`later - earlier` in seconds, in SQL: SQLite keeps times as text, PostgreSQL as
    timestamps, and neither understands the other's arithmetic."""
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    # Whole seconds (strftime), not julianday's floating days: 600 s must compare as 600.
    return cast(func.strftime("%s", later), Integer) - cast(func.strftime("%s", earlier), Integer)


def _credited(community_id: int, start: datetime, end: datetime) -> Any:
    """(member, wish, poster) for every credit of a community's wish in [start, end)."""
    return (
        select(
            wish_participants.c.user_id.label("member_id"),
            wishes.c.id.label("wish_id"),
            wishes.c.posted_by.label("poster_id"),
        )
        .join(wishes, wishes.c.id == wish_participants.c.wish_id)
        .where(
            wishes.c.community_id == community_id,
            wish_participants.c.credited_at >= start,
            wish_participants.c.credited_at < end,
        )
    )


async def same_posters(
    conn: AsyncConnection,
    community_id: int,
    start: datetime,
    end: datetime,
    *,
    min_wishes: int,
    min_percent: int,
) -> list[SamePosters]:
    """Members credited for at least `min_wishes` wishes of which at least `min_percent` %
    came from their two most frequent posters; a row per such member and poster."""
    credited = _credited(community_id, start, end).cte("credited")
    pairs = (
        select(credited.c.member_id, credited.c.poster_id, func.count().label("n"))
        .group_by(credited.c.member_id, credited.c.poster_id)
        .cte("pairs")
    )
    ranked = select(
        pairs.c.member_id,
        pairs.c.poster_id,
        pairs.c.n,
        func.sum(pairs.c.n).over(partition_by=pairs.c.member_id).label("total"),
        func.row_number()
        .over(partition_by=pairs.c.member_id, order_by=(pairs.c.n.desc(), pairs.c.poster_id))
        .label("nth"),
    ).cte("ranked")
    top = select(ranked).where(ranked.c.nth <= 2).cte("top")
    flagged = (
        select(top.c.member_id)
        .group_by(top.c.member_id, top.c.total)
        .having(
            and_(
                top.c.total >= min_wishes,
                func.sum(top.c.n) * 100 >= top.c.total * min_percent,
            )
        )
    )
    query = (
        select(top.c.member_id, top.c.total, top.c.poster_id, top.c.n)
        .where(top.c.member_id.in_(flagged))
        .order_by(top.c.member_id, top.c.nth)
    )
    return [
        SamePosters(int(m), int(total), int(p), int(n))
        for m, total, p, n in await conn.execute(query)
    ]


async def quick_confirms(
    conn: AsyncConnection,
    community_id: int,
    start: datetime,
    end: datetime,
    *,
    within_seconds: int,
    min_count: int,
) -> list[QuickConfirm]:
    """Wishes confirmed within `within_seconds` of their (last) claim, for each member
    credited for at least `min_count` of them in [start, end)."""
    quick = (
        select(
            wish_participants.c.user_id.label("member_id"),
            wishes.c.id.label("wish_id"),
            wishes.c.claimed_at,
            wishes.c.closed_at,
        )
        .join(wishes, wishes.c.id == wish_participants.c.wish_id)
        .where(
            wishes.c.community_id == community_id,
            wishes.c.status == WishStatus.CONFIRMED.value,
            wish_participants.c.credited_at >= start,
            wish_participants.c.credited_at < end,
            wishes.c.claimed_at.is_not(None),
            seconds_between(conn, wishes.c.closed_at, wishes.c.claimed_at) < within_seconds,
        )
        .cte("quick")
    )
    repeated = (
        select(quick.c.member_id).group_by(quick.c.member_id).having(func.count() >= min_count)
    )
    query = (
        select(quick)
        .where(quick.c.member_id.in_(repeated))
        .order_by(quick.c.member_id, quick.c.wish_id)
    )
    return [QuickConfirm(*row) for row in await conn.execute(query)]


async def proxy_confirms(
    conn: AsyncConnection,
    community_id: int,
    start: datetime,
    end: datetime,
    *,
    min_count: int,
) -> list[ProxyConfirms]:
    """Posters of wishes on someone's behalf (`for_name` set) with at least `min_count` of
    them confirmed (and credited) in [start, end), with those wishes."""
    # From the quarter's credits (indexed by time), not from every wish of the community.
    proxied = (
        _credited(community_id, start, end)
        .where(wishes.c.for_name.is_not(None))
        .with_only_columns(wishes.c.posted_by.label("poster_id"), wishes.c.id.label("wish_id"))
        .distinct()
        .cte("proxied")
    )
    busy = (
        select(proxied.c.poster_id).group_by(proxied.c.poster_id).having(func.count() >= min_count)
    )
    query = (
        select(proxied.c.poster_id, proxied.c.wish_id)
        .where(proxied.c.poster_id.in_(busy))
        .order_by(proxied.c.poster_id, proxied.c.wish_id)
    )
    found: dict[int, list[int]] = {}
    for poster, wish_id in await conn.execute(query):
        found.setdefault(int(poster), []).append(int(wish_id))
    return [ProxyConfirms(poster, tuple(ids)) for poster, ids in found.items()]


async def adjustment_bursts(
    conn: AsyncConnection,
    community_id: int,
    quarter: str,
    *,
    min_count: int,
    window_seconds: int,
) -> list[AdjustmentBurst]:
    """Coordinators who made at least `min_count` adjustments in the community's quarter
    within `window_seconds` of one another; the busiest such window of each."""
    adjustments = (
        select(ledger_entries.c.id, ledger_entries.c.granted_by, ledger_entries.c.created_at)
        .where(
            ledger_entries.c.community_id == community_id,
            ledger_entries.c.quarter == quarter,
            ledger_entries.c.kind == LedgerKind.ADJUSTMENT.value,
            ledger_entries.c.granted_by.is_not(None),
        )
        .cte("adjustments")
    )
    first, then = adjustments.alias("first"), adjustments.alias("then")
    # Each adjustment opens a window; count the ones that fall inside it.
    windows = (
        select(
            first.c.granted_by,
            first.c.created_at,
            func.count().label("n"),
        )
        .join(
            then,
            and_(
                then.c.granted_by == first.c.granted_by,
                then.c.created_at >= first.c.created_at,
                seconds_between(conn, then.c.created_at, first.c.created_at) < window_seconds,
            ),
        )
        .group_by(first.c.id, first.c.granted_by, first.c.created_at)
        .having(func.count() >= min_count)
    )
    busiest: dict[int, AdjustmentBurst] = {}
    for granted_by, at, n in await conn.execute(windows.order_by(first.c.created_at)):
        known = busiest.get(int(granted_by))
        if known is None or n > known.adjustments:
            busiest[int(granted_by)] = AdjustmentBurst(int(granted_by), at, int(n))
    return sorted(busiest.values(), key=lambda b: b.started_at)
