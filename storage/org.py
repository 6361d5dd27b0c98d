"""The organisation tree: districts, streets, communities and buildings."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Building, Community, Node, NodeKind, Reach, Role, Street
from storage.schema import (
    broadcasts,
    buildings,
    communities,
    districts,
    invites,
    streets,
    user_roles,
    users,
)

_NODE_TABLES = {
    NodeKind.BUILDING: buildings,
    NodeKind.COMMUNITY: communities,
    NodeKind.STREET: streets,
    NodeKind.DISTRICT: districts,
}


def _building(row: RowMapping) -> Building:
    return Building(
        id=row["id"], community_id=row["community_id"], name=row["name"], archived=row["archived"]
    )


FIRST_START_KEY = 0x4C494E4C4931  # "LINLI1": not the lease's key (storage/lease.py)


async def ensure_default_community(
    conn: AsyncConnection, district: str, street: str, community: str
) -> int:
    """Create the first district > street > community on a fresh install; return its id.
    Processes starting at once on a fresh PostgreSQL database take turns here (a transaction
    advisory lock): under READ COMMITTED each would otherwise see no community and make one,
    and residents would be asked which of two identical communities they live in. On SQLite
    BEGIN IMMEDIATE already serialises them."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FIRST_START_KEY})
    existing = await conn.scalar(select(communities.c.id).order_by(communities.c.id).limit(1))
    if existing is not None:
        return int(existing)
    district_id = await conn.scalar(
        districts.insert().values(name=district).returning(districts.c.id)
    )
    street_id = await conn.scalar(
        streets.insert().values(district_id=district_id, name=street).returning(streets.c.id)
    )
    community_id = await conn.scalar(
        communities.insert()
        .values(street_id=street_id, name=community)
        .returning(communities.c.id)
    )
    assert community_id is not None
    return int(community_id)


def _communities() -> Select[Any]:
    return (
        select(
            communities.c.id,
            communities.c.name,
            communities.c.street_id,
            streets.c.name.label("street_name"),
            streets.c.district_id,
            districts.c.name.label("district_name"),
        )
        .join(streets, streets.c.id == communities.c.street_id)
        .join(districts, districts.c.id == streets.c.district_id)
    )


async def adopt_orphans(conn: AsyncConnection, community_id: int) -> None:
    """Rows from before there were communities (a database migrated before its first start)
    belong to the first one: people, coordinators, invites, broadcasts."""
    await conn.execute(
        update(users).where(users.c.community_id.is_(None)).values(community_id=community_id)
    )
    await conn.execute(
        update(user_roles)
        .where(
            user_roles.c.role == Role.COORDINATOR.value,
            or_(user_roles.c.node_kind.is_(None), user_roles.c.node_id.is_(None)),
        )
        .values(node_kind=NodeKind.COMMUNITY.value, node_id=community_id)
    )
    await conn.execute(
        update(invites).where(invites.c.community_id.is_(None)).values(community_id=community_id)
    )
    await conn.execute(
        update(broadcasts)
        .where(or_(broadcasts.c.node_kind.is_(None), broadcasts.c.node_id.is_(None)))
        .values(node_kind=NodeKind.COMMUNITY.value, node_id=community_id)
    )


async def get_community(conn: AsyncConnection, community_id: int) -> Community | None:
    row = (
        (await conn.execute(_communities().where(communities.c.id == community_id)))
        .mappings()
        .first()
    )
    return Community(**row) if row else None


async def list_communities(
    conn: AsyncConnection, community_ids: Iterable[int] | None = None
) -> list[Community]:
    """These communities (or all), by district, street and name."""
    query = _communities()
    if community_ids is not None:
        query = query.where(communities.c.id.in_(sorted(set(community_ids))))
    query = query.order_by(districts.c.name, streets.c.name, communities.c.name, communities.c.id)
    return [Community(**row) for row in (await conn.execute(query)).mappings()]


def _streets() -> Select[Any]:
    return select(
        streets.c.id,
        streets.c.name,
        streets.c.district_id,
        districts.c.name.label("district_name"),
    ).join(districts, districts.c.id == streets.c.district_id)


async def list_streets(conn: AsyncConnection, district_id: int) -> list[Street]:
    query = (
        _streets()
        .where(streets.c.district_id == district_id)
        .order_by(streets.c.name, streets.c.id)
    )
    return [Street(**row) for row in (await conn.execute(query)).mappings()]


async def get_street(conn: AsyncConnection, street_id: int) -> Street | None:
    row = (await conn.execute(_streets().where(streets.c.id == street_id))).mappings().first()
    return Street(**row) if row else None


async def add_street(conn: AsyncConnection, district_id: int, name: str) -> int:
    street_id = await conn.scalar(
        streets.insert().values(district_id=district_id, name=name).returning(streets.c.id)
    )
    assert street_id is not None
    return int(street_id)


async def add_community(conn: AsyncConnection, street_id: int, name: str) -> int:
    community_id = await conn.scalar(
        communities.insert().values(street_id=street_id, name=name).returning(communities.c.id)
    )
    assert community_id is not None
    return int(community_id)


async def find_community_by_name(conn: AsyncConnection, street_id: int, name: str) -> int | None:
    query = select(communities.c.id).where(
        communities.c.street_id == street_id, func.lower(communities.c.name) == name.lower()
    )
    found = await conn.scalar(query)
    return int(found) if found is not None else None


async def find_street_by_name(conn: AsyncConnection, district_id: int, name: str) -> int | None:
    query = select(streets.c.id).where(
        streets.c.district_id == district_id, func.lower(streets.c.name) == name.lower()
    )
    found = await conn.scalar(query)
    return int(found) if found is not None else None


def at_or_below(
    kind: ColumnElement[Any], node_id: ColumnElement[Any], reach: Reach
) -> ColumnElement[bool]:
    """Rows naming a node (by these two columns) that is the coordinator's own or lies below
    it: broadcasts sent to it, coordinators appointed to it."""

    def at(level: NodeKind, ids: Any) -> ColumnElement[bool]:
        return and_(kind == level.value, node_id.in_(ids))

    if reach.building_id is not None:
        return at(NodeKind.BUILDING, [reach.building_id])
    below = sorted(reach.community_ids)
    found = [
        at(NodeKind.COMMUNITY, below),
        at(NodeKind.BUILDING, select(buildings.c.id).where(buildings.c.community_id.in_(below))),
    ]
    if reach.node.kind is NodeKind.STREET:
        found.append(at(NodeKind.STREET, [reach.node.id]))
    if reach.node.kind is NodeKind.DISTRICT:
        found.append(at(NodeKind.DISTRICT, [reach.node.id]))
        in_district = select(streets.c.id).where(streets.c.district_id == reach.node.id)
        found.append(at(NodeKind.STREET, in_district))
    return or_(*found)


async def reach_of(conn: AsyncConnection, node: Node) -> Reach | None:
    """The communities below `node` (None when the node does not exist)."""
    building_id: int | None = None
    if node.kind is NodeKind.BUILDING:
        community = await conn.scalar(
            select(buildings.c.community_id).where(buildings.c.id == node.id)
        )
        if community is None:
            return None
        return Reach(node=node, community_ids=frozenset({int(community)}), building_id=node.id)
    query = select(communities.c.id).join(streets, streets.c.id == communities.c.street_id)
    if node.kind is NodeKind.COMMUNITY:
        query = query.where(communities.c.id == node.id)
    elif node.kind is NodeKind.STREET:
        query = query.where(communities.c.street_id == node.id)
    else:
        query = query.where(streets.c.district_id == node.id)
    ids = frozenset(int(i) for i in (await conn.scalars(query)).all())
    if not ids and not await _node_exists(conn, node):
        return None
    return Reach(node=node, community_ids=ids, building_id=building_id)


async def _node_exists(conn: AsyncConnection, node: Node) -> bool:
    table = _NODE_TABLES[node.kind]
    return await conn.scalar(select(table.c.id).where(table.c.id == node.id)) is not None


async def nodes_above(conn: AsyncConnection, community_id: int) -> list[Node]:
    """The community, its street and its district, from the bottom up."""
    community = await get_community(conn, community_id)
    if community is None:
        return []
    return [
        Node(kind=NodeKind.COMMUNITY, id=community.id),
        Node(kind=NodeKind.STREET, id=community.street_id),
        Node(kind=NodeKind.DISTRICT, id=community.district_id),
    ]


async def node_name(conn: AsyncConnection, node: Node) -> str:
    """The name of a node, as people say it ("" when it is gone)."""
    table = _NODE_TABLES[node.kind]
    name = await conn.scalar(select(table.c.name).where(table.c.id == node.id))
    return str(name) if name is not None else ""


async def rename_community(
    conn: AsyncConnection,
    community_id: int,
    *,
    name: str | None = None,
    street: str | None = None,
    district: str | None = None,
) -> None:
    """Rename the community and, optionally, its street and district."""
    street_id = await conn.scalar(
        select(communities.c.street_id).where(communities.c.id == community_id)
    )
    if name is not None:
        await conn.execute(
            update(communities).where(communities.c.id == community_id).values(name=name)
        )
    if street is not None:
        await conn.execute(update(streets).where(streets.c.id == street_id).values(name=street))
    if district is not None:
        district_id = await conn.scalar(
            select(streets.c.district_id).where(streets.c.id == street_id)
        )
        await conn.execute(
            update(districts).where(districts.c.id == district_id).values(name=district)
        )


async def list_buildings(
    conn: AsyncConnection, community_id: int, *, include_archived: bool = False
) -> list[Building]:
    query = select(buildings).where(buildings.c.community_id == community_id)
    if not include_archived:
        query = query.where(buildings.c.archived.is_(False))
    rows = (await conn.execute(query.order_by(buildings.c.name, buildings.c.id))).mappings()
    return [_building(row) for row in rows]


async def get_building(conn: AsyncConnection, building_id: int) -> Building | None:
    row = (
        (await conn.execute(select(buildings).where(buildings.c.id == building_id)))
        .mappings()
        .first()
    )
    return _building(row) if row else None


async def building_names(conn: AsyncConnection, building_ids: Collection[int]) -> dict[int, str]:
    """The names of these buildings, by id (those that exist)."""
    if not building_ids:
        return {}
    found = await conn.execute(
        select(buildings.c.id, buildings.c.name).where(buildings.c.id.in_(sorted(building_ids)))
    )
    return {int(row.id): str(row.name) for row in found}


async def find_building_by_name(
    conn: AsyncConnection, community_id: int, name: str
) -> Building | None:
    query = select(buildings).where(
        buildings.c.community_id == community_id, func.lower(buildings.c.name) == name.lower()
    )
    row = (await conn.execute(query)).mappings().first()
    return _building(row) if row else None


async def add_building(
    conn: AsyncConnection, community_id: int, name: str, now: datetime
) -> Building:
    row = (
        (
            await conn.execute(
                buildings.insert()
                .values(community_id=community_id, name=name, archived=False, created_at=now)
                .returning(buildings)
            )
        )
        .mappings()
        .one()
    )
    return _building(row)


async def update_building(
    conn: AsyncConnection,
    building_id: int,
    *,
    name: str | None = None,
    archived: bool | None = None,
) -> None:
    values: dict[str, object] = {}
    if name is not None:
        values["name"] = name
    if archived is not None:
        values["archived"] = archived
    if values:
        await conn.execute(update(buildings).where(buildings.c.id == building_id).values(**values))
