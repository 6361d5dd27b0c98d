"""Service teams (legal, medical, …): a leader and members who claim wishes together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Team, TeamKind
from storage.common import insert_ignoring_conflicts
from storage.schema import team_members, teams


async def _teams(
    conn: AsyncConnection, query: Select[Any], parameters: dict[str, Any] | None = None
) -> list[Team]:
    rows = list((await conn.execute(query, parameters)).mappings())
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    members: dict[int, set[int]] = {}
    for team_id, user_id in await conn.execute(
        select(team_members.c.team_id, team_members.c.user_id).where(
            team_members.c.team_id.in_(ids)
        )
    ):
        members.setdefault(team_id, set()).add(user_id)
    return [_team(row, members.get(row["id"], set())) for row in rows]


def _team(row: RowMapping, member_ids: set[int]) -> Team:
    return Team(
        id=row["id"],
        community_id=row["community_id"],
        name=row["name"],
        kind=TeamKind(row["kind"]),
        leader_id=row["leader_id"],
        active=row["active"],
        created_at=row["created_at"],
        member_ids=frozenset(member_ids),
    )


async def insert_team(
    conn: AsyncConnection,
    *,
    community_id: int,
    name: str,
    kind: TeamKind,
    leader_id: int,
    created_by: int,
    now: datetime,
) -> int:
    """A new team; the leader is its first member."""
    team_id = await conn.scalar(
        teams.insert()
        .values(
            community_id=community_id,
            name=name,
            kind=kind.value,
            leader_id=leader_id,
            active=True,
            created_by=created_by,
            created_at=now,
        )
        .returning(teams.c.id)
    )
    assert team_id is not None
    await add_member(conn, int(team_id), leader_id, now)
    return int(team_id)


# Built once (SQLAlchemy keeps a statement object's compiled form): read with every card.
_BY_ID = select(teams).where(teams.c.id == bindparam("team_id"))
_OF_USER = (
    select(teams)
    .where(
        teams.c.id.in_(
            select(team_members.c.team_id).where(team_members.c.user_id == bindparam("user_id"))
        ),
        teams.c.active.is_(True),
    )
    .order_by(teams.c.name, teams.c.id)
)


async def get_team(conn: AsyncConnection, team_id: int) -> Team | None:
    found = await _teams(conn, _BY_ID, {"team_id": team_id})
    return found[0] if found else None


async def find_team_by_name(conn: AsyncConnection, community_id: int, name: str) -> Team | None:
    query = select(teams).where(
        teams.c.community_id == community_id, func.lower(teams.c.name) == name.lower()
    )
    found = await _teams(conn, query)
    return found[0] if found else None


async def list_teams(
    conn: AsyncConnection, community_id: int, *, include_inactive: bool = False
) -> list[Team]:
    query = select(teams).where(teams.c.community_id == community_id)
    if not include_inactive:
        query = query.where(teams.c.active.is_(True))
    return await _teams(conn, query.order_by(teams.c.name, teams.c.id))


async def teams_of(conn: AsyncConnection, user_id: int) -> list[Team]:
    """The active teams `user_id` belongs to (as leader or member)."""
    return await _teams(conn, _OF_USER, {"user_id": user_id})


async def update_team(conn: AsyncConnection, team_id: int, **values: Any) -> None:
    """Change name, kind, leader_id or active."""
    unknown = set(values) - {"name", "kind", "leader_id", "active"}
    if unknown:
        raise ValueError(f"not team columns: {sorted(unknown)}")
    if "kind" in values and isinstance(values["kind"], TeamKind):
        values["kind"] = values["kind"].value
    if values:
        await conn.execute(update(teams).where(teams.c.id == team_id).values(**values))


async def add_member(conn: AsyncConnection, team_id: int, user_id: int, now: datetime) -> bool:
    """True when `user_id` was not in the team yet."""
    result = await conn.execute(
        insert_ignoring_conflicts(
            conn, team_members, team_id=team_id, user_id=user_id, added_at=now
        )
    )
    return bool(result.rowcount)


async def remove_member(conn: AsyncConnection, team_id: int, user_id: int) -> bool:
    result = await conn.execute(
        delete(team_members).where(
            team_members.c.team_id == team_id, team_members.c.user_id == user_id
        )
    )
    return bool(result.rowcount)
