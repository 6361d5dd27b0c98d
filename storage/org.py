"""The organisation tree: districts, streets, communities and buildings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Building, Community
from storage.schema import buildings, communities, districts, streets


def _building(row: RowMapping) -> Building:
    return Building(
        id=row["id"], community_id=row["community_id"], name=row["name"], archived=row["archived"]
    )


async def ensure_default_community(
    conn: AsyncConnection, district: str, street: str, community: str
) -> int:
    """Create the first district > street > community on a fresh install; return its id."""
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


async def get_community(conn: AsyncConnection, community_id: int) -> Community | None:
    query = (
        select(
            communities.c.id,
            communities.c.name,
            streets.c.name.label("street_name"),
            districts.c.name.label("district_name"),
        )
        .join(streets, streets.c.id == communities.c.street_id)
        .join(districts, districts.c.id == streets.c.district_id)
        .where(communities.c.id == community_id)
    )
    row = (await conn.execute(query)).mappings().first()
    return Community(**row) if row else None


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
