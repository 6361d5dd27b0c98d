"""Users, their roles and skills."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Role, Skill, User
from storage.common import insert_ignoring_conflicts
from storage.schema import user_roles, user_skills, users


def _user(row: RowMapping, roles: Iterable[str], skills: Iterable[str]) -> User:
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
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        unreachable=row["unreachable"],
        registered_at=row["registered_at"],
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
    return select(users, roles.label("roles"), skills.label("skills")).where(
        users.c.id == bindparam("user_id")
    )


# Built once: this query runs for nearly every update the bot handles.
USER_QUERY = _user_query()


async def get_user(conn: AsyncConnection, user_id: int) -> User | None:
    """One user with roles and skills, in one query."""
    row = (await conn.execute(USER_QUERY, {"user_id": user_id})).mappings().first()
    if row is None:
        return None
    return _user(row, _listed(row["roles"]), _listed(row["skills"]))


async def get_users(conn: AsyncConnection, user_ids: Iterable[int]) -> list[User]:
    """Several users at once, in id order (three queries, whatever the count)."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    rows = (await conn.execute(select(users).where(users.c.id.in_(ids)))).mappings().all()
    roles: dict[int, list[str]] = {}
    for uid, role in await conn.execute(
        select(user_roles.c.user_id, user_roles.c.role).where(user_roles.c.user_id.in_(ids))
    ):
        roles.setdefault(uid, []).append(role)
    skills: dict[int, list[str]] = {}
    for uid, skill in await conn.execute(
        select(user_skills.c.user_id, user_skills.c.skill).where(user_skills.c.user_id.in_(ids))
    ):
        skills.setdefault(uid, []).append(skill)
    return sorted(
        (_user(r, roles.get(r["id"], []), skills.get(r["id"], [])) for r in rows),
        key=lambda u: u.id,
    )


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
) -> None:
    await conn.execute(
        users.insert().values(
            id=user_id,
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
        "quiet_start",
        "quiet_end",
        "unreachable",
    }
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not profile columns: {sorted(unknown)}")
    if values:
        await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def grant_role(
    conn: AsyncConnection, user_id: int, role: Role, granted_by: int | None, now: datetime
) -> bool:
    """Give a role; True when the user did not have it yet."""
    result = await conn.execute(
        insert_ignoring_conflicts(
            conn,
            user_roles,
            user_id=user_id,
            role=role.value,
            granted_by=granted_by,
            granted_at=now,
        )
    )
    return bool(result.rowcount)


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


async def list_users_with_role(
    conn: AsyncConnection, role: Role, *, after_id: int = 0, limit: int = 20
) -> list[User]:
    """A page of users holding `role`, by id (keyset pagination)."""
    query = (
        select(user_roles.c.user_id)
        .where(user_roles.c.role == role.value, user_roles.c.user_id > after_id)
        .order_by(user_roles.c.user_id)
        .limit(limit)
    )
    return await get_users(conn, (await conn.scalars(query)).all())


async def search_users(conn: AsyncConnection, text: str, *, limit: int = 10) -> list[User]:
    """Users whose name contains `text`, or whose id is `text`."""
    query = select(users.c.id)
    if text.isdigit():
        query = query.where(users.c.id == int(text))
    else:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(users.c.display_name).like(pattern.lower(), escape="\\"))
    ids = (await conn.scalars(query.order_by(users.c.id).limit(limit))).all()
    return await get_users(conn, ids)


async def count_users(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(users)) or 0)
