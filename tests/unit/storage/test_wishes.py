"""The wish tables on a real SQLite file: the guarded claim, privacy by construction, keyset
pages, candidates for offers, teams, and query plans that stay indexed at scale."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Role, Skill, TeamKind, WishCategory, WishEventKind, WishStatus
from storage import org
from storage import teams as teams_repo
from storage import users as users_repo
from storage import wishes as repo
from storage.schema import communities, wishes
from storage.store import Store

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


async def _user(
    conn: AsyncConnection,
    user_id: int,
    *,
    building_id: int | None = None,
    member: bool = False,
    skills: set[Skill] | None = None,
    community_id: int | None = None,
) -> None:
    await users_repo.insert_user(
        conn,
        user_id=user_id,
        display_name=f"U{user_id}",
        language="zh",
        building_id=building_id,
        room="3-201",
        phone="13800000001",
        now=NOW,
        community_id=community_id or await _community(conn),
    )
    if member:
        await users_repo.grant_role(conn, user_id, Role.MEMBER, None, NOW)
    if skills:
        await users_repo.set_skills(conn, user_id, skills)


async def _community(conn: AsyncConnection) -> int:
    return await org.ensure_default_community(conn, "D", "S", "C")


async def _wish(conn: AsyncConnection, community_id: int, posted_by: int, **kw: Any) -> int:
    values: dict[str, Any] = {
        "community_id": community_id,
        "building_id": None,
        "posted_by": posted_by,
        "category": WishCategory.REPAIRS,
        "text": "灯坏了",
        "photo_file_id": None,
        "voice_file_id": None,
        "urgent": False,
        "needed_by": None,
        "now": NOW,
    }
    values.update(kw)
    return await repo.insert_wish(conn, **values)


async def test_claim_is_one_guarded_statement(store: Store) -> None:
    async with store.transaction() as conn:
        community = await _community(conn)
        for uid in (1, 10, 11):
            await _user(conn, uid)
        wish_id = await _wish(conn, community, 1)
        assert await repo.claim(conn, wish_id, user_id=10, team_id=None, now=NOW)
        assert not await repo.claim(conn, wish_id, user_id=11, team_id=None, now=NOW)
        wish = await repo.get_wish(conn, wish_id)
    assert wish is not None and wish.status is WishStatus.CLAIMED and wish.claimed_by == 10


async def test_change_status_only_from_the_expected_state(store: Store) -> None:
    async with store.transaction() as conn:
        community = await _community(conn)
        await _user(conn, 1)
        wish_id = await _wish(conn, community, 1)
        assert not await repo.change_status(
            conn,
            wish_id,
            from_status=WishStatus.DONE,
            to_status=WishStatus.CONFIRMED,
            held_by=None,
        )
        # Read as claimed by member 1, but nobody holds it: refused, nothing changes.
        assert not await repo.change_status(
            conn, wish_id, from_status=WishStatus.OPEN, to_status=WishStatus.CANCELLED, held_by=1
        )
        assert await repo.change_status(
            conn,
            wish_id,
            from_status=WishStatus.OPEN,
            to_status=WishStatus.CANCELLED,
            held_by=None,
            closed_at=NOW,
        )
        with pytest.raises(ValueError):
            await repo.change_status(
                conn,
                wish_id,
                from_status=WishStatus.OPEN,
                to_status=WishStatus.OPEN,
                held_by=None,
                rating=5,
            )
        event = await repo.add_event(
            conn,
            wish_id,
            WishEventKind.CANCELLED,
            actor_id=1,
            now=NOW,
            from_status=WishStatus.OPEN,
            to_status=WishStatus.CANCELLED,
        )
        (recorded,) = await repo.events(conn, wish_id)
    assert recorded.id == event and recorded.to_status is WishStatus.CANCELLED


async def test_wish_model_never_carries_room_or_phone(store: Store) -> None:
    async with store.transaction() as conn:
        community = await _community(conn)
        await _user(conn, 1)
        own = await _wish(conn, community, 1)
        proxy = await _wish(
            conn, community, 1, for_name="刘爷爷", for_room="5-502", for_phone="13900000005"
        )
        wish = await repo.get_wish(conn, proxy)
        own_contact = await repo.get_contact(conn, own)
        proxy_contact = await repo.get_contact(conn, proxy)
    assert wish is not None
    dumped = wish.model_dump_json()
    assert "5-502" not in dumped and "13900000005" not in dumped
    assert own_contact is not None and (own_contact.room, own_contact.phone) == (
        "3-201",
        "13800000001",
    )
    assert proxy_contact is not None and proxy_contact.name == "刘爷爷"
    assert (proxy_contact.room, proxy_contact.phone) == ("5-502", "13900000005")


async def test_open_wishes_keyset_pages(store: Store) -> None:
    async with store.transaction() as conn:
        community = await _community(conn)
        await _user(conn, 1)
        ids = [await _wish(conn, community, 1) for _ in range(7)]
        await repo.claim(conn, ids[3], user_id=1, team_id=None, now=NOW)
        first = await repo.open_wishes(conn, [(community, None)], limit=3)
        second = await repo.open_wishes(conn, [(community, None)], before=first[-1].id, limit=3)
    assert [w.id for w in first] == [ids[6], ids[5], ids[4]]
    assert [w.id for w in second] == [ids[2], ids[1], ids[0]]  # the claimed one is skipped


async def test_candidates_same_building_first_reachable_members_with_the_skill(
    store: Store,
) -> None:
    async with store.transaction() as conn:
        community = await _community(conn)
        near = (await org.add_building(conn, community, "1", NOW)).id
        far = (await org.add_building(conn, community, "2", NOW)).id
        await _user(conn, 5, building_id=far, member=True, skills={Skill.REPAIRS})
        await _user(conn, 6, building_id=near, member=True, skills={Skill.REPAIRS})
        await _user(conn, 7, building_id=near, member=True, skills={Skill.LEGAL})
        await _user(conn, 8, building_id=near, skills={Skill.REPAIRS})  # not a member
        await _user(conn, 9, building_id=near, member=True, skills={Skill.REPAIRS})
        await users_repo.update_user(conn, 9, unreachable=True)  # blocked the bot
        await _user(conn, 4, member=True, skills={Skill.REPAIRS})  # no building
        street = await conn.scalar(select(communities.c.street_id))
        elsewhere = await org.add_community(conn, street, "another community")
        await _user(conn, 3, member=True, skills={Skill.REPAIRS}, community_id=elsewhere)
        found = await repo.member_candidates(
            conn, community, building_id=near, skills={Skill.REPAIRS}, exclude=set(), limit=10
        )
        capped = await repo.member_candidates(
            conn, community, building_id=near, skills=None, exclude={6}, limit=1
        )
    assert [u.id for u in found] == [6, 4, 5]
    assert [u.id for u in capped] == [7]


async def test_teams_start_with_their_leader(store: Store) -> None:
    async with store.transaction() as conn:
        community = await _community(conn)
        await _user(conn, 20, member=True)
        await _user(conn, 21, member=True)
        team_id = await teams_repo.insert_team(
            conn,
            community_id=community,
            name="法律援助队",
            kind=TeamKind.LEGAL,
            leader_id=20,
            created_by=9001,
            now=NOW,
        )
        assert await teams_repo.add_member(conn, team_id, 21, NOW)
        assert not await teams_repo.add_member(conn, team_id, 21, NOW)
        team = await teams_repo.get_team(conn, team_id)
        mine = await teams_repo.teams_of(conn, 21)
        same = await teams_repo.find_team_by_name(conn, community, "法律援助队")
    assert team is not None and team.member_ids == {20, 21} and team.kind is TeamKind.LEGAL
    assert [t.id for t in mine] == [team_id] and same is not None


# --- query plans: list and claim stay indexed with 1,000,000 wishes ------------------------


async def _plan(conn: AsyncConnection, statement: Any) -> str:
    compiled = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    rows = await conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.only_sqlite  # SQLite's query plans (PostgreSQL's planner scans tiny tables)
async def test_list_and_claim_queries_use_indexes(store: Store) -> None:
    open_ = WishStatus.OPEN.value
    statements = {
        "all": select(wishes.c.id)
        .where(wishes.c.community_id == 1, wishes.c.status == open_, wishes.c.id < 500)
        .order_by(wishes.c.id.desc())
        .limit(9),
        "category": select(wishes.c.id)
        .where(wishes.c.community_id == 1, wishes.c.status == open_, wishes.c.category == "legal")
        .order_by(wishes.c.id.desc())
        .limit(9),
        "building": select(wishes.c.id)
        .where(wishes.c.building_id == 3, wishes.c.status == open_)
        .order_by(wishes.c.id.desc())
        .limit(9),
        "mine": select(wishes.c.id)
        .where(wishes.c.posted_by == 7)
        .order_by(wishes.c.id.desc())
        .limit(9),
        "claims": select(func.count()).where(
            wishes.c.claimed_by == 7, wishes.c.status == "claimed"
        ),
        "claim": update(wishes)
        .where(wishes.c.id == 5, wishes.c.status == open_)
        .values(status="claimed"),
    }
    async with store.read() as conn:
        for name, statement in statements.items():
            plan = await _plan(conn, statement)
            assert "SEARCH wishes USING" in plan and "SCAN" not in plan, (name, plan)
            assert "USE TEMP B-TREE" not in plan, (name, plan)
