"""Users, their roles and skills."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Node, NodeKind, Reach, Role, Skill, User, Visitor
from storage import org
from storage.common import insert_ignoring_conflicts
from storage.schema import user_roles, user_skills, users


def _user(
    row: RowMapping, roles: Iterable[str], skills: Iterable[str], reach: Reach | None = None
) -> User:
    return User(
        id=row["id"],
        display_name=row["display_name"],
        language=row["language"],
        building_id=row["building_id"],
        room=row["room"],
        phone=row["phone"],
        roles=frozenset(Role(r) for r in roles) | {Role.RESIDENT},
        skills=frozenset(Skill(s) for s in skills),
        announcements=row["announcements"],
        share_phone=row["share_phone"],
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        unreachable=row["unreachable"],
        registered_at=row["registered_at"],
        community_id=row["community_id"],
        reach=reach,
    )


def _listed(text: str | None) -> list[str]:
    return text.split(",") if text else []


def _user_query() -> Select[Any]:
    roles = (
        select(func.aggregate_strings(user_roles.c.role, ","))
        .where(user_roles.c.user_id == users.c.id)
        .scalar_subquery()
    )
    skills = (
        select(func.aggregate_strings(user_skills.c.skill, ","))
        .where(user_skills.c.user_id == users.c.id)
        .scalar_subquery()
    )
    appointed = user_roles.alias("appointed")

    def appointment(column: str) -> Any:
        return (
            select(appointed.c[column])
            .where(appointed.c.user_id == users.c.id, appointed.c.role == Role.COORDINATOR.value)
            .scalar_subquery()
        )

    return select(
        users,
        roles.label("roles"),
        skills.label("skills"),
        appointment("node_kind").label("node_kind"),
        appointment("node_id").label("node_id"),
    ).where(users.c.id == bindparam("user_id"))


# Built once: this query runs for nearly every update the bot handles.
USER_QUERY = _user_query()
BIGINT_MAX = 2**63  # no user id reaches it (a Telegram id is a signed 64-bit number)


def _node(kind: str | None, node_id: int | None) -> Node | None:
    return Node(kind=NodeKind(kind), id=node_id) if kind and node_id is not None else None


async def get_user(conn: AsyncConnection, user_id: int) -> User | None:
    """One user with roles and skills, in one query (a second for a coordinator's reach)."""
    row = (await conn.execute(USER_QUERY, {"user_id": user_id})).mappings().first()
    if row is None:
        return None
    node = _node(row["node_kind"], row["node_id"])
    reach = await org.reach_of(conn, node) if node else None
    return _user(row, _listed(row["roles"]), _listed(row["skills"]), reach)


async def get_users(conn: AsyncConnection, user_ids: Iterable[int]) -> list[User]:
    """Several users at once, in id order (three queries, whatever the count)."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    rows = (await conn.execute(select(users).where(users.c.id.in_(ids)))).mappings().all()
    roles: dict[int, list[str]] = {}
    nodes: dict[int, Node] = {}
    for uid, role, kind, node_id in await conn.execute(
        select(
            user_roles.c.user_id, user_roles.c.role, user_roles.c.node_kind, user_roles.c.node_id
        ).where(user_roles.c.user_id.in_(ids))
    ):
        roles.setdefault(uid, []).append(role)
        if role == Role.COORDINATOR.value and (node := _node(kind, node_id)) is not None:
            nodes[uid] = node
    reaches = {node: await org.reach_of(conn, node) for node in set(nodes.values())}
    skills: dict[int, list[str]] = {}
    for uid, skill in await conn.execute(
        select(user_skills.c.user_id, user_skills.c.skill).where(user_skills.c.user_id.in_(ids))
    ):
        skills.setdefault(uid, []).append(skill)
    return sorted(
        (
            _user(
                r,
                roles.get(r["id"], []),
                skills.get(r["id"], []),
                reaches[nodes[r["id"]]] if r["id"] in nodes else None,
            )
            for r in rows
        ),
        key=lambda u: u.id,
    )


async def visitors(conn: AsyncConnection, user_ids: Iterable[int]) -> dict[int, Visitor]:
    """Helpers as the resident of their wish is told of them: the name, and the phone only
    where the helper agreed to show it (decided here, in SQL, so no caller sees more). The one
    read of a helper's phone for someone else; never to be logged or sent to a group."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    shown = case((users.c.share_phone.is_(True), users.c.phone), else_=None)
    query = select(users.c.id, users.c.display_name, shown.label("phone")).where(
        users.c.id.in_(ids)
    )
    return {
        row.id: Visitor(user_id=row.id, name=row.display_name, phone=row.phone)
        for row in await conn.execute(query)
    }


async def insert_user(
    conn: AsyncConnection,
    *,
    user_id: int,
    display_name: str,
    language: str,
    building_id: int | None,
    room: str | None,
    phone: str | None,
    now: datetime,
    community_id: int | None = None,
) -> None:
    await conn.execute(
        users.insert().values(
            id=user_id,
            community_id=community_id,
            display_name=display_name,
            language=language,
            building_id=building_id,
            room=room,
            phone=phone,
            announcements=True,
            quiet_start=22 * 60,
            quiet_end=7 * 60,
            unreachable=False,
            registered_at=now,
        )
    )


async def update_user(conn: AsyncConnection, user_id: int, **values: Any) -> None:
    """Change profile columns (display_name, language, building_id, room, phone, …)."""
    allowed = {
        "display_name",
        "language",
        "building_id",
        "room",
        "phone",
        "announcements",
        "share_phone",
        "quiet_start",
        "quiet_end",
        "unreachable",
        "community_id",
    }
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not profile columns: {sorted(unknown)}")
    if values:
        await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def grant_role(
    conn: AsyncConnection,
    user_id: int,
    role: Role,
    granted_by: int | None,
    now: datetime,
    *,
    node: Node | None = None,
) -> bool:
    """Give a role (a coordinator's with the node they are appointed to); True when the user
    did not have it yet."""
    result = await conn.execute(
        insert_ignoring_conflicts(
            conn,
            user_roles,
            user_id=user_id,
            role=role.value,
            granted_by=granted_by,
            granted_at=now,
            node_kind=node.kind.value if node else None,
            node_id=node.id if node else None,
        )
    )
    return bool(result.rowcount)


async def appoint(
    conn: AsyncConnection, user_id: int, node: Node, granted_by: int | None, now: datetime
) -> bool:
    """Make the user a coordinator of `node` (moving an existing coordinator there); True
    when anything changed."""
    if await grant_role(conn, user_id, Role.COORDINATOR, granted_by, now, node=node):
        return True
    result = await conn.execute(
        update(user_roles)
        .where(
            user_roles.c.user_id == user_id,
            user_roles.c.role == Role.COORDINATOR.value,
            or_(
                user_roles.c.node_kind.is_distinct_from(node.kind.value),
                user_roles.c.node_id.is_distinct_from(node.id),
            ),
        )
        .values(node_kind=node.kind.value, node_id=node.id, granted_by=granted_by, granted_at=now)
    )
    return bool(result.rowcount)


async def coordinators_at(conn: AsyncConnection, nodes: Iterable[Node]) -> dict[Node, list[int]]:
    """The coordinators appointed to each of these nodes, by id."""
    wanted = list(nodes)
    if not wanted:
        return {}
    query = (
        select(user_roles.c.user_id, user_roles.c.node_kind, user_roles.c.node_id)
        .where(
            user_roles.c.role == Role.COORDINATOR.value,
            or_(
                *(
                    and_(user_roles.c.node_kind == n.kind.value, user_roles.c.node_id == n.id)
                    for n in wanted
                )
            ),
        )
        .order_by(user_roles.c.user_id)
    )
    found: dict[Node, list[int]] = {n: [] for n in wanted}
    for uid, kind, node_id in await conn.execute(query):
        found[Node(kind=NodeKind(kind), id=node_id)].append(int(uid))
    return found


async def revoke_role(conn: AsyncConnection, user_id: int, role: Role) -> bool:
    result = await conn.execute(
        delete(user_roles).where(user_roles.c.user_id == user_id, user_roles.c.role == role.value)
    )
    return bool(result.rowcount)


async def set_skills(conn: AsyncConnection, user_id: int, skills: Iterable[Skill]) -> None:
    await conn.execute(delete(user_skills).where(user_skills.c.user_id == user_id))
    rows = [{"user_id": user_id, "skill": s.value} for s in set(skills)]
    if rows:
        await conn.execute(user_skills.insert(), rows)


async def user_ids_with_role(conn: AsyncConnection, role: Role) -> list[int]:
    query = select(user_roles.c.user_id).where(user_roles.c.role == role.value)
    return sorted((await conn.scalars(query)).all())


def within(reach: Reach) -> ColumnElement[bool]:
    """The people below a coordinator's node: of its communities (and of its building)."""
    place: ColumnElement[bool] = users.c.community_id.in_(sorted(reach.community_ids))
    if reach.building_id is not None:
        place = and_(place, users.c.building_id == reach.building_id)
    return place


async def user_ids_with_node_kind(conn: AsyncConnection, kind: NodeKind) -> list[int]:
    """Coordinators appointed at this level of the tree."""
    query = select(user_roles.c.user_id).where(
        user_roles.c.role == Role.COORDINATOR.value, user_roles.c.node_kind == kind.value
    )
    return sorted((await conn.scalars(query)).all())


async def coordinators_below(
    conn: AsyncConnection, reach: Reach, *, limit: int = 30
) -> list[User]:
    """The coordinators appointed at or below `reach`'s node, by id."""
    query = (
        select(user_roles.c.user_id)
        .where(
            user_roles.c.role == Role.COORDINATOR.value,
            org.at_or_below(user_roles.c.node_kind, user_roles.c.node_id, reach),
        )
        .order_by(user_roles.c.user_id)
        .limit(limit)
    )
    return await get_users(conn, (await conn.scalars(query)).all())


async def search_users(
    conn: AsyncConnection, text: str, *, reach: Reach, limit: int = 10
) -> list[User]:
    """Users below `reach` whose name contains `text`, or whose id is `text`."""
    query = select(users.c.id).where(within(reach))
    # Decimal digits of any script read as an id (int() takes them all; "²" is a digit but not
    # a decimal one); a number no BIGINT holds is nobody's id.
    number = int(text) if text.isdecimal() else None
    if number is not None and number >= BIGINT_MAX:
        return []
    if number is not None:
        query = query.where(users.c.id == number)
    else:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(users.c.display_name).like(pattern.lower(), escape="\\"))
    ids = (await conn.scalars(query.order_by(users.c.id).limit(limit))).all()
    return await get_users(conn, ids)


async def count_users(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(users)) or 0)
