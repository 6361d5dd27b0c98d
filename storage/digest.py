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

from sqlalchemy import Select, Table, and_, func, select
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


def _of_month(
    query: Select[Any],
    table: Table,
    at: Any,
    start: datetime,
    after: datetime,
    limit: int,
    ids: list[int] | None,
) -> Select[Any]:
    """The rows whose moment `at` lies in [start, after) and that have words, newest first
    (only those of `ids`, when given: a story chosen from an earlier screen)."""
    query = (
        query.where(at >= start, at < after, _has_words(table.c.text))
        .order_by(at.desc(), table.c.id.desc())
        .limit(limit)
    )
    return query if ids is None else query.where(table.c.id.in_(ids))


async def answered_suggestions(
    conn: AsyncConnection,
    community_id: int,
    start: datetime,
    after: datetime,
    *,
    limit: int = CANDIDATES_EACH,
    ids: list[int] | None = None,
) -> list[Candidate]:
    """Suggestions with words first answered in [start, after), each with its first reply."""
    first_reply = (
        select(suggestion_replies.c.text)
        .where(suggestion_replies.c.suggestion_id == suggestions.c.id)
        .order_by(suggestion_replies.c.id)
        .limit(1)
        .scalar_subquery()
    )
    answered = [SuggestionStatus.ANSWERED.value, SuggestionStatus.CLOSED.value]
    query = select(
        suggestions.c.id, suggestions.c.text, suggestions.c.answered_at, first_reply.label("r")
    ).where(
        suggestions.c.community_id == community_id,
        suggestions.c.status.in_(answered),
        first_reply.is_not(None),
    )
    at = suggestions.c.answered_at
    return [
        Candidate(StoryKind.SUGGESTION, row.id, row.text, row.answered_at, reply=row.r)
        for row in await conn.execute(_of_month(query, suggestions, at, start, after, limit, ids))
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
    """Wishes with words reported done in [start, after) (confirmed or not), with the name
    of the team that did it, if a team did."""
    done = [WishStatus.DONE.value, WishStatus.CONFIRMED.value]
    query = (
        select(wishes.c.id, wishes.c.text, wishes.c.done_at, teams.c.name.label("team"))
        .select_from(wishes.outerjoin(teams, teams.c.id == wishes.c.team_id))
        .where(wishes.c.community_id == community_id, wishes.c.status.in_(done))
    )
    return [
        Candidate(StoryKind.WISH, row.id, row.text, row.done_at, team_name=row.team)
        for row in await conn.execute(
            _of_month(query, wishes, wishes.c.done_at, start, after, limit, ids)
        )
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
    """Patrol findings with words handled (or made a wish) in [start, after)."""
    handled = [FindingStatus.HANDLED.value, FindingStatus.WISHED.value]
    table = patrol_findings
    query = select(table.c.id, table.c.text, table.c.handled_at, table.c.status).where(
        table.c.community_id == community_id, table.c.status.in_(handled)
    )
    return [
        Candidate(
            StoryKind.FINDING,
            row.id,
            row.text,
            row.handled_at,
            made_wish=row.status == FindingStatus.WISHED.value,
        )
        for row in await conn.execute(
            _of_month(query, table, table.c.handled_at, start, after, limit, ids)
        )
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
