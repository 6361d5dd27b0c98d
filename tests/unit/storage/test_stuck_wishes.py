"""The coordinators' stuck-wish queries on a real database (SQLite, and PostgreSQL on its
pass): what each list holds and leaves out, places (a community, one building of it), keyset
pages oldest first; the members a wish can be handed to; the guarded hand-over; and on SQLite
that the lists read an index in its order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Role, WishCategory, WishStatus
from storage import org
from storage import users as users_repo
from storage import wishes as repo
from storage.schema import users, wishes
from storage.store import Store

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


async def _person(
    conn: AsyncConnection,
    user_id: int,
    community_id: int,
    *,
    member: bool = False,
    building_id: int | None = None,
) -> None:
    await users_repo.insert_user(
        conn,
        user_id=user_id,
        display_name=f"U{user_id}",
        language="zh",
        building_id=building_id,
        room=None,
        phone=None,
        now=NOW,
        community_id=community_id,
    )
    if member:
        await users_repo.grant_role(conn, user_id, Role.MEMBER, None, NOW)


async def _wish(
    conn: AsyncConnection,
    community_id: int,
    *,
    status: WishStatus,
    posted: datetime,
    building_id: int | None = None,
    needed_by: datetime | None = None,
    claimed: datetime | None = None,
    done: datetime | None = None,
) -> int:
    wish_id = await repo.insert_wish(
        conn,
        community_id=community_id,
        building_id=building_id,
        posted_by=1,
        category=WishCategory.REPAIRS,
        text="灯坏了",
        photo_file_id=None,
        voice_file_id=None,
        urgent=False,
        needed_by=needed_by,
        now=posted,
    )
    values: dict[str, Any] = {"status": status.value, "claimed_at": claimed, "done_at": done}
    if claimed is not None:
        values["claimed_by"] = 10
    await conn.execute(update(wishes).where(wishes.c.id == wish_id).values(**values))
    return wish_id


async def test_each_list_holds_only_its_stuck_wishes_oldest_first_in_its_places(
    store: Store,
) -> None:
    open_, claimed, done = WishStatus.OPEN, WishStatus.CLAIMED, WishStatus.DONE
    async with store.transaction() as conn:
        here = await org.ensure_default_community(conn, "D", "S", "C")
        street = await org.add_street(conn, 1, "S2")
        there = await org.add_community(conn, street, "C2")
        block = (await org.add_building(conn, here, "7号楼", NOW)).id
        await _person(conn, 1, here)
        await _person(conn, 10, here, member=True)
        old = NOW - 4 * DAY
        stuck_open = [
            await _wish(conn, here, status=open_, posted=old),
            await _wish(conn, here, status=open_, posted=old, building_id=block),
        ]
        await _wish(conn, here, status=open_, posted=NOW - DAY)  # not long enough
        await _wish(conn, there, status=open_, posted=old)  # another community
        late = [
            await _wish(conn, here, status=claimed, posted=old, needed_by=NOW - DAY, claimed=old),
            await _wish(conn, here, status=claimed, posted=old, claimed=NOW - 8 * DAY),
        ]
        await _wish(conn, here, status=claimed, posted=old, needed_by=NOW + DAY, claimed=old)
        await _wish(conn, here, status=claimed, posted=old, claimed=NOW - 6 * DAY)  # undated
        unconfirmed = await _wish(
            conn, here, status=done, posted=old, claimed=old, done=NOW - 3 * DAY
        )
        await _wish(conn, here, status=done, posted=old, claimed=old, done=NOW - DAY)
        await _wish(conn, here, status=WishStatus.CONFIRMED, posted=old, claimed=old, done=old)

    community, building = [(here, None)], [(here, block)]
    async with store.read() as conn:
        found = await repo.open_since(conn, community, posted_before=NOW - 3 * DAY)
        assert [w.id for w in found] == stuck_open
        in_block = await repo.open_since(conn, building, posted_before=NOW - 3 * DAY)
        assert [w.id for w in in_block] == stuck_open[1:]
        first = await repo.open_since(conn, community, posted_before=NOW - 3 * DAY, limit=1)
        rest = await repo.open_since(
            conn, community, posted_before=NOW - 3 * DAY, after=first[0].id, limit=1
        )
        assert [w.id for w in first + rest] == stuck_open
        assert await repo.open_since(conn, [], posted_before=NOW) == []

        overdue = await repo.claimed_overdue(
            conn, community, now=NOW, undated_claimed_before=NOW - 7 * DAY
        )
        assert [w.id for w in overdue] == late
        assert overdue[0].claimer_name == "U10"  # shown with its names, no contact
        assert (
            await repo.claimed_overdue(
                conn, building, now=NOW, undated_claimed_before=NOW - 7 * DAY
            )
            == []
        )

        waiting = await repo.done_unconfirmed(conn, community, done_before=NOW - 2 * DAY)
        assert [w.id for w in waiting] == [unconfirmed]


async def test_members_to_hand_a_wish_to_are_paged_and_the_hand_over_is_guarded(
    store: Store,
) -> None:
    async with store.transaction() as conn:
        here = await org.ensure_default_community(conn, "D", "S", "C")
        there = await org.add_community(conn, await org.add_street(conn, 1, "S2"), "C2")
        await _person(conn, 1, here)
        for uid in (10, 11, 12, 13):
            await _person(conn, uid, here, member=True)
        await _person(conn, 14, here)  # a resident, not a member
        await _person(conn, 15, there, member=True)  # another community's member
        # 13 blocked the bot (as the sender records it).
        await conn.execute(update(users).where(users.c.id == 13).values(unreachable=True))
        wish_id = await _wish(
            conn, here, status=WishStatus.CLAIMED, posted=NOW - DAY, claimed=NOW - DAY
        )

    async with store.read() as conn:
        first = await repo.community_members(conn, here, exclude={1, 10}, limit=1)
        rest = await repo.community_members(conn, here, exclude={1, 10}, after=first[0].id)
    assert [u.id for u in first + rest] == [11, 12]

    async with store.transaction() as conn:
        assert not await repo.reassign(conn, wish_id, from_user=11, to_user=12, now=NOW)
        assert await repo.reassign(conn, wish_id, from_user=10, to_user=12, now=NOW)
        moved = await repo.get_wish(conn, wish_id)
    assert moved is not None and (moved.claimed_by, moved.claimed_at) == (12, NOW)


async def _plan(conn: AsyncConnection, statement: Any) -> str:
    compiled = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    rows = await conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.only_sqlite  # SQLite's query plans (PostgreSQL's planner scans tiny tables)
async def test_the_stuck_lists_read_an_index_in_its_order(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: list[Any] = []

    async def capture(conn: AsyncConnection, query: Any) -> list[Any]:
        captured.append(query)  # the statement each list would run
        return []

    monkeypatch.setattr(repo, "_wishes", capture)
    async with store.read() as conn:
        for places in ([(1, None)], [(1, 3)]):
            await repo.open_since(conn, places, posted_before=NOW, after=5)
            await repo.claimed_overdue(conn, places, now=NOW, undated_claimed_before=NOW)
            await repo.done_unconfirmed(conn, places, done_before=NOW)
        assert len(captured) == 6
        for query in captured:
            plan = await _plan(conn, query)
            assert "SEARCH wishes USING INDEX ix_wishes_" in plan, plan
            assert "USE TEMP B-TREE" not in plan, plan
