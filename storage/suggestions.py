"""Suggestions (社区智囊团): views and suggestions residents leave (or members write down for a
resident met face to face), the coordinators' replies, and what answered them (a wish, a
patrol finding, an announcement). A suggestion is written once per author and token, so a
double "send" is one suggestion; its status moves by guarded UPDATEs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    BroadcastStatus,
    NodeKind,
    Reach,
    Suggestion,
    SuggestionLink,
    SuggestionLinkKind,
    SuggestionReply,
    SuggestionStatus,
    SuggestionTopic,
)
from storage.common import in_place, insert_ignoring_conflicts, is_row_id
from storage.org import at_or_below, nodes_above
from storage.schema import (
    broadcasts,
    buildings,
    patrol_findings,
    suggestion_links,
    suggestion_replies,
    suggestions,
    users,
    wishes,
)

ANSWERING = [
    BroadcastStatus.SCHEDULED.value,
    BroadcastStatus.SENDING.value,
    BroadcastStatus.DONE.value,
]


def _query() -> Select[Any]:
    return select(suggestions, users.c.display_name.label("author_name")).join(
        users, users.c.id == suggestions.c.author_id
    )


def _suggestion(row: RowMapping) -> Suggestion:
    return Suggestion(
        id=row["id"],
        community_id=row["community_id"],
        building_id=row["building_id"],
        author_id=row["author_id"],
        author_name=row["author_name"],
        anonymous=bool(row["anonymous"]),
        heard_from=row["heard_from"],
        topic=SuggestionTopic(row["topic"]),
        text=row["text"],
        photo_file_id=row["photo_file_id"],
        voice_file_id=row["voice_file_id"],
        status=SuggestionStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        answered_at=row["answered_at"],
    )


async def insert_suggestion(
    conn: AsyncConnection,
    *,
    community_id: int,
    building_id: int | None,
    author_id: int,
    anonymous: bool,
    heard_from: str | None,
    topic: SuggestionTopic,
    text: str | None,
    photo_file_id: str | None,
    voice_file_id: str | None,
    token: str,
    now: datetime,
) -> int | None:
    """The new suggestion's id; None when this author's token was used already."""
    statement = insert_ignoring_conflicts(
        conn,
        suggestions,
        community_id=community_id,
        building_id=building_id,
        author_id=author_id,
        anonymous=anonymous,
        heard_from=heard_from,
        topic=topic.value,
        text=text,
        photo_file_id=photo_file_id,
        voice_file_id=voice_file_id,
        status=SuggestionStatus.NEW.value,
        token=token,
        created_at=now,
        updated_at=now,
    ).returning(suggestions.c.id)
    found = await conn.scalar(statement)
    return int(found) if found is not None else None


async def get_suggestion(conn: AsyncConnection, suggestion_id: int) -> Suggestion | None:
    if not is_row_id(suggestion_id):
        return None
    query = _query().where(suggestions.c.id == suggestion_id)
    row = (await conn.execute(query)).mappings().first()
    return _suggestion(row) if row else None


async def suggestion_by_token(
    conn: AsyncConnection, author_id: int, token: str
) -> Suggestion | None:
    query = _query().where(suggestions.c.author_id == author_id, suggestions.c.token == token)
    row = (await conn.execute(query)).mappings().first()
    return _suggestion(row) if row else None


async def move(
    conn: AsyncConnection,
    suggestion_id: int,
    *,
    source: SuggestionStatus,
    target: SuggestionStatus,
    now: datetime,
    answered: bool = False,
) -> bool:
    """source → target, only if it still is at source; `answered`: the first reply's time is
    kept in answered_at (a later reply leaves it)."""
    values: dict[str, Any] = {"status": target.value, "updated_at": now}
    if answered:
        values["answered_at"] = func.coalesce(suggestions.c.answered_at, now)
    result = await conn.execute(
        update(suggestions)
        .where(suggestions.c.id == suggestion_id, suggestions.c.status == source.value)
        .values(**values)
    )
    return bool(result.rowcount)


async def insert_reply(
    conn: AsyncConnection, suggestion_id: int, *, by: int, text: str, now: datetime
) -> int:
    found = await conn.scalar(
        suggestion_replies.insert()
        .values(suggestion_id=suggestion_id, replied_by=by, text=text, created_at=now)
        .returning(suggestion_replies.c.id)
    )
    assert found is not None
    return int(found)


async def replies_of(
    conn: AsyncConnection, suggestion_ids: Collection[int]
) -> dict[int, list[SuggestionReply]]:
    """Each suggestion's replies, oldest first."""
    found: dict[int, list[SuggestionReply]] = {i: [] for i in suggestion_ids}
    if not suggestion_ids:
        return found
    query = (
        select(suggestion_replies, users.c.display_name.label("replier_name"))
        .join(users, users.c.id == suggestion_replies.c.replied_by)
        .where(suggestion_replies.c.suggestion_id.in_(sorted(suggestion_ids)))
        .order_by(suggestion_replies.c.suggestion_id, suggestion_replies.c.id)
    )
    for row in (await conn.execute(query)).mappings():
        found[row["suggestion_id"]].append(
            SuggestionReply(
                id=row["id"],
                suggestion_id=row["suggestion_id"],
                replied_by=row["replied_by"],
                replier_name=row["replier_name"],
                text=row["text"],
                created_at=row["created_at"],
            )
        )
    return found


async def insert_link(
    conn: AsyncConnection,
    suggestion_id: int,
    *,
    kind: SuggestionLinkKind,
    ref_id: int,
    by: int,
    now: datetime,
) -> int | None:
    """The new link's id; None when the suggestion was linked to that thing already."""
    statement = insert_ignoring_conflicts(
        conn,
        suggestion_links,
        suggestion_id=suggestion_id,
        kind=kind.value,
        ref_id=ref_id,
        linked_by=by,
        linked_at=now,
    ).returning(suggestion_links.c.id)
    found = await conn.scalar(statement)
    return int(found) if found is not None else None


async def links_of(
    conn: AsyncConnection, suggestion_ids: Collection[int]
) -> dict[int, list[SuggestionLink]]:
    found: dict[int, list[SuggestionLink]] = {i: [] for i in suggestion_ids}
    if not suggestion_ids:
        return found
    query = (
        select(suggestion_links)
        .where(suggestion_links.c.suggestion_id.in_(sorted(suggestion_ids)))
        .order_by(suggestion_links.c.suggestion_id, suggestion_links.c.id)
    )
    for row in (await conn.execute(query)).mappings():
        found[row["suggestion_id"]].append(
            SuggestionLink(
                id=row["id"],
                suggestion_id=row["suggestion_id"],
                kind=SuggestionLinkKind(row["kind"]),
                ref_id=row["ref_id"],
                linked_at=row["linked_at"],
            )
        )
    return found


async def by_author(
    conn: AsyncConnection, author_id: int, *, offset: int, limit: int
) -> list[Suggestion]:
    """The author's suggestions, newest first."""
    query = (
        _query()
        .where(suggestions.c.author_id == author_id)
        .order_by(suggestions.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_suggestion(row) for row in (await conn.execute(query)).mappings()]


async def in_reach(
    conn: AsyncConnection,
    community_ids: Collection[int],
    *,
    building_id: int | None,
    status: SuggestionStatus,
    offset: int,
    limit: int,
) -> list[Suggestion]:
    """Suggestions of these communities (of one building only, for a building's
    coordinator) at this status, newest first."""
    query = (
        _query()
        .where(
            *in_place(suggestions, community_ids, building_id),
            suggestions.c.status == status.value,
        )
        .order_by(suggestions.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_suggestion(row) for row in (await conn.execute(query)).mappings()]


async def counts(
    conn: AsyncConnection, community_ids: Collection[int], *, building_id: int | None
) -> dict[SuggestionStatus, int]:
    """How many suggestions there are at each status in this reach."""
    query = (
        select(suggestions.c.status, func.count())
        .where(*in_place(suggestions, community_ids, building_id))
        .group_by(suggestions.c.status)
    )
    found = {status: 0 for status in SuggestionStatus}
    for status, count in (await conn.execute(query)).all():
        found[SuggestionStatus(status)] = int(count)
    return found


async def place_of(
    conn: AsyncConnection, kind: SuggestionLinkKind, ref_id: int
) -> tuple[int, int | None] | None:
    """The community and building of a wish or a patrol finding (None: there is no such)."""
    if not is_row_id(ref_id):
        return None
    table = wishes if kind is SuggestionLinkKind.WISH else patrol_findings
    row = (
        await conn.execute(
            select(table.c.community_id, table.c.building_id).where(table.c.id == ref_id)
        )
    ).first()
    return (int(row.community_id), row.building_id) if row is not None else None


async def broadcast_within(
    conn: AsyncConnection, broadcast_id: int, reach: Reach, community_id: int
) -> bool:
    """An announcement sent (or being sent, or scheduled) to the coordinator's node or one
    below it, that reached the community (sent to it, to one of its buildings, or to the
    street or district it lies in); a draft or a cancelled one answered nothing."""
    if not is_row_id(broadcast_id):
        return False
    kind, node_id = broadcasts.c.node_kind, broadcasts.c.node_id
    reached = [
        and_(kind == node.kind.value, node_id == node.id)
        for node in await nodes_above(conn, community_id)
    ]
    reached.append(
        and_(
            kind == NodeKind.BUILDING.value,
            node_id.in_(select(buildings.c.id).where(buildings.c.community_id == community_id)),
        )
    )
    found = await conn.scalar(
        select(broadcasts.c.id).where(
            and_(
                broadcasts.c.id == broadcast_id,
                broadcasts.c.status.in_(ANSWERING),
                at_or_below(kind, node_id, reach),
                or_(*reached),
            )
        )
    )
    return found is not None
