"""Invite codes and member applications."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import ApplicationStatus, Invite, MemberApplication, Reach, Skill
from storage.schema import invites, member_applications, users
from storage.users import within


def _application(row: RowMapping) -> MemberApplication:
    return MemberApplication(
        id=row["id"],
        user_id=row["user_id"],
        invite_id=row["invite_id"],
        building_id=row["building_id"],
        skills=frozenset(Skill(s) for s in row["skills"]),
        status=ApplicationStatus(row["status"]),
        reason=row["reason"],
        created_at=row["created_at"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
    )


async def insert_invite(
    conn: AsyncConnection,
    *,
    code: str,
    created_by: int,
    now: datetime,
    expires_at: datetime,
    max_uses: int,
    community_id: int,
) -> Invite:
    row = (
        (
            await conn.execute(
                invites.insert()
                .values(
                    code=code,
                    created_by=created_by,
                    created_at=now,
                    expires_at=expires_at,
                    max_uses=max_uses,
                    uses=0,
                    revoked=False,
                    community_id=community_id,
                )
                .returning(invites)
            )
        )
        .mappings()
        .one()
    )
    return Invite(**row)


async def get_invite_by_code(conn: AsyncConnection, code: str) -> Invite | None:
    row = (await conn.execute(select(invites).where(invites.c.code == code))).mappings().first()
    return Invite(**row) if row else None


async def get_invite(conn: AsyncConnection, invite_id: int) -> Invite | None:
    row = (await conn.execute(select(invites).where(invites.c.id == invite_id))).mappings().first()
    return Invite(**row) if row else None


async def use_invite(conn: AsyncConnection, invite_id: int, now: datetime) -> bool:
    """Count one use, atomically; False when it is expired, revoked or used up."""
    result = await conn.execute(
        update(invites)
        .where(
            invites.c.id == invite_id,
            invites.c.revoked.is_(False),
            invites.c.expires_at > now,
            invites.c.uses < invites.c.max_uses,
        )
        .values(uses=invites.c.uses + 1)
    )
    return result.rowcount == 1


async def revoke_invite(conn: AsyncConnection, invite_id: int) -> bool:
    result = await conn.execute(
        update(invites)
        .where(invites.c.id == invite_id, invites.c.revoked.is_(False))
        .values(revoked=True)
    )
    return result.rowcount == 1


async def active_invites(
    conn: AsyncConnection, now: datetime, community_ids: Iterable[int]
) -> list[Invite]:
    query = (
        select(invites)
        .where(
            invites.c.community_id.in_(sorted(community_ids)),
            invites.c.revoked.is_(False),
            invites.c.expires_at > now,
            invites.c.uses < invites.c.max_uses,
        )
        .order_by(invites.c.id.desc())
    )
    return [Invite(**row) for row in (await conn.execute(query)).mappings()]


async def insert_application(
    conn: AsyncConnection,
    *,
    user_id: int,
    invite_id: int,
    building_id: int | None,
    skills: Iterable[Skill],
    now: datetime,
) -> MemberApplication:
    row = (
        (
            await conn.execute(
                member_applications.insert()
                .values(
                    user_id=user_id,
                    invite_id=invite_id,
                    building_id=building_id,
                    skills=sorted(s.value for s in skills),
                    status=ApplicationStatus.PENDING.value,
                    created_at=now,
                )
                .returning(member_applications)
            )
        )
        .mappings()
        .one()
    )
    return _application(row)


async def get_application(conn: AsyncConnection, application_id: int) -> MemberApplication | None:
    query = select(member_applications).where(member_applications.c.id == application_id)
    row = (await conn.execute(query)).mappings().first()
    return _application(row) if row else None


async def pending_application_of(conn: AsyncConnection, user_id: int) -> MemberApplication | None:
    query = select(member_applications).where(
        member_applications.c.user_id == user_id,
        member_applications.c.status == ApplicationStatus.PENDING.value,
    )
    row = (await conn.execute(query)).mappings().first()
    return _application(row) if row else None


def _pending_below(reach: Reach) -> ColumnElement[bool]:
    by = select(users.c.id).where(within(reach))
    return and_(
        member_applications.c.status == ApplicationStatus.PENDING.value,
        member_applications.c.user_id.in_(by),
    )


async def pending_applications(
    conn: AsyncConnection, reach: Reach, *, limit: int = 10
) -> list[MemberApplication]:
    """The oldest `limit` applications by people below `reach` waiting for a decision (a page,
    not all of them)."""
    query = (
        select(member_applications)
        .where(_pending_below(reach))
        .order_by(member_applications.c.id)
        .limit(limit)
    )
    return [_application(row) for row in (await conn.execute(query)).mappings()]


async def count_pending_applications(conn: AsyncConnection, reach: Reach) -> int:
    """How many applications by people below `reach` wait for a decision, all of them."""
    query = select(func.count()).where(_pending_below(reach))
    return int(await conn.scalar(query) or 0)


async def decide_application(
    conn: AsyncConnection,
    application_id: int,
    *,
    status: ApplicationStatus,
    decided_by: int,
    reason: str | None,
    now: datetime,
) -> bool:
    """Approve or reject a pending application, atomically; False when already decided."""
    result = await conn.execute(
        update(member_applications)
        .where(
            member_applications.c.id == application_id,
            member_applications.c.status == ApplicationStatus.PENDING.value,
        )
        .values(status=status.value, decided_by=decided_by, reason=reason, decided_at=now)
    )
    return result.rowcount == 1
