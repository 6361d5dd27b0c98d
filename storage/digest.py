"""你说我做 ("you said, we did"): the month's candidate stories of one community, read from
the suggestions, wishes and patrol findings; and the digests sent, one per community and
month.

The candidates carry only what a story may show: the words, a suggestion's answer, a team's
name. No author, no "heard from", no resident's name, room or phone, no member's name is
selected at all, so none can leak into a story by mistake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import FindingStatus, StoryKind, SuggestionStatus, WishStatus
from storage.common import insert_ignoring_conflicts
from storage.schema import digests, patrol_findings, suggestion_replies, suggestions, teams, wishes

CANDIDATES_EACH = 6  # newest of each kind offered: a screenful of buttons


@dataclass(frozen=True, slots=True)
class Candidate:
    """A row a story can be made from (the service shortens the words)."""

    kind: StoryKind
    ref_id: int
    words: str
    at: datetime
    reply: str | None = None
    team_name: str | None = None
    made_wish: bool = False


def _has_words(column: Any) -> Any:
    return and_(column.is_not(None), func.length(func.trim(column)) > 0)


async def answered_suggestions(
    conn: AsyncConnection,
    community_id: int,
    start: datetime,
    after: datetime,
    *,
    limit: int = CANDIDATES_EACH,
    ids: list[int] | None = None,
) -> list[Candidate]:
    """Suggestions with words first answered in [start, after), newest first, each with its
    first reply (or those of `ids`, if they qualify)."""
    first_reply = (
        select(suggestion_replies.c.text)
        .where(suggestion_replies.c.suggestion_id == suggestions.c.id)
        .order_by(suggestion_replies.c.id)
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(
            suggestions.c.id,
            suggestions.c.text,
            suggestions.c.answered_at,
            first_reply.label("reply"),
        )
        .where(
            suggestions.c.community_id == community_id,
            suggestions.c.status.in_(
                [SuggestionStatus.ANSWERED.value, SuggestionStatus.CLOSED.value]
            ),
            suggestions.c.answered_at >= start,
            suggestions.c.answered_at < after,
            _has_words(suggestions.c.text),
        )
        .order_by(suggestions.c.answered_at.desc(), suggestions.c.id.desc())
        .limit(limit)
    )
    if ids is not None:
        query = query.where(suggestions.c.id.in_(ids))
    return [
        Candidate(StoryKind.SUGGESTION, row.id, row.text, row.answered_at, reply=row.reply)
        for row in await conn.execute(query)
        if row.reply
    ]


async def wishes_done(
    conn: AsyncConnection,
    community_id: int,
    start: datetime,
    after: datetime,
    *,
    limit: int = CANDIDATES_EACH,
    ids: list[int] | None = None,
) -> list[Candidate]:
    """Wishes with words reported done in [start, after) (confirmed or not), newest first,
    with the name of the team that did it, if a team did."""
    query = (
        select(wishes.c.id, wishes.c.text, wishes.c.done_at, teams.c.name.label("team"))
        .select_from(wishes.outerjoin(teams, teams.c.id == wishes.c.team_id))
        .where(
            wishes.c.community_id == community_id,
            wishes.c.status.in_([WishStatus.DONE.value, WishStatus.CONFIRMED.value]),
            wishes.c.done_at >= start,
            wishes.c.done_at < after,
            _has_words(wishes.c.text),
        )
        .order_by(wishes.c.done_at.desc(), wishes.c.id.desc())
        .limit(limit)
    )
    if ids is not None:
        query = query.where(wishes.c.id.in_(ids))
    return [
        Candidate(StoryKind.WISH, row.id, row.text, row.done_at, team_name=row.team)
        for row in await conn.execute(query)
    ]


async def findings_handled(
    conn: AsyncConnection,
    community_id: int,
    start: datetime,
    after: datetime,
    *,
    limit: int = CANDIDATES_EACH,
    ids: list[int] | None = None,
) -> list[Candidate]:
    """Patrol findings with words handled (or made a wish) in [start, after), newest first."""
    query = (
        select(
            patrol_findings.c.id,
            patrol_findings.c.text,
            patrol_findings.c.handled_at,
            patrol_findings.c.status,
        )
        .where(
            patrol_findings.c.community_id == community_id,
            patrol_findings.c.status.in_(
                [FindingStatus.HANDLED.value, FindingStatus.WISHED.value]
            ),
            patrol_findings.c.handled_at >= start,
            patrol_findings.c.handled_at < after,
            _has_words(patrol_findings.c.text),
        )
        .order_by(patrol_findings.c.handled_at.desc(), patrol_findings.c.id.desc())
        .limit(limit)
    )
    if ids is not None:
        query = query.where(patrol_findings.c.id.in_(ids))
    return [
        Candidate(
            StoryKind.FINDING,
            row.id,
            row.text,
            row.handled_at,
            made_wish=row.status == FindingStatus.WISHED.value,
        )
        for row in await conn.execute(query)
    ]


async def sent_digest(conn: AsyncConnection, community_id: int, month: date) -> int | None:
    """The announcement of the community's digest for the month, if one was sent."""
    query = select(digests.c.broadcast_id).where(
        digests.c.community_id == community_id, digests.c.month == month
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def insert_digest(
    conn: AsyncConnection,
    *,
    community_id: int,
    month: date,
    broadcast_id: int,
    sent_by: int,
    now: datetime,
) -> bool:
    """Record the month's digest as sent; False when one was already (nothing written)."""
    inserted = await conn.execute(
        insert_ignoring_conflicts(
            conn,
            digests,
            community_id=community_id,
            month=month,
            broadcast_id=broadcast_id,
            sent_by=sent_by,
            sent_at=now,
        ).returning(digests.c.id)
    )
    return inserted.first() is not None
