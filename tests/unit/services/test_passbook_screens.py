"""What the passbook's screens ask of the service: a page names the wishes, the coordinators
and the corrected entries it shows; members are found within reach only; an entry is looked up
within reach only; a resident's points are not adjusted; the member is told of an adjustment
once and of a correction; a coordinator who lives outside every community sees its leaders."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.models import Node, NodeKind, Role, User, WishCategory
from bot.services import Services
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.passbook import EntryCorrected, NoSuchMember, PointsAdjusted
from bot.services.wishes import WishDraft
from storage import users as users_repo
from storage.schema import outbox
from tests.conftest import COORDINATOR_ID, RegisterUser


async def _member(services: Services, register: RegisterUser, uid: int, name: str) -> User:
    await register(uid, name)
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, uid, Role.MEMBER, None, services.clock.now())
    return await services.users.require(uid)


async def _told(services: Services, chat_id: int, kind: str) -> int:
    async with services.store.read() as conn:
        found = await conn.scalar(
            select(func.count()).where(outbox.c.chat_id == chat_id, outbox.c.kind == kind)
        )
    return int(found or 0)


async def _outsider(services: Services) -> User:
    """A coordinator of another community (the district's coordinator made it)."""
    district = await services.users.require(COORDINATOR_ID)
    (street,) = await services.admin.streets(district)
    elsewhere = await services.admin.add_community(district, street.id, "河畔社区")
    district = await services.users.require(COORDINATOR_ID)
    await services.users.register(
        30, display_name="外社区", language="zh", building_id=None, community_id=elsewhere.id
    )
    await services.admin.appoint(district, 30, Node(kind=NodeKind.COMMUNITY, id=elsewhere.id))
    return await services.users.require(30)


async def test_a_page_names_its_wishes_writers_and_corrected_entries(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    coordinator = await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    wish = await services.wishes.post(
        resident, WishDraft(category=WishCategory.LEGAL, text="问问遗嘱怎么写")
    )
    await services.wishes.claim(helper, wish.id)
    await services.wishes.report_done(helper, wish.id, note=None)
    await services.wishes.confirm(resident, wish.id)
    adjusted = await services.passbook.adjust(coordinator, helper.id, 5, "搬物资", token="a")
    fixed = await services.passbook.correct(coordinator, adjusted.id, "记错了")

    page = await services.passbook.passbook(helper)
    assert [e.id for e in page.entries][:2] == [fixed.id, adjusted.id]
    assert dict(page.wish_categories) == {wish.id: WishCategory.LEGAL}
    assert dict(page.names) == {COORDINATOR_ID: "李书记"}
    assert page.corrected == {adjusted.id}
    assert await _told(services, helper.id, PointsAdjusted.KIND) == 1
    assert await _told(services, helper.id, EntryCorrected.KIND) == 1
    # The same adjustment again (a second press): made once, told once.
    await services.passbook.adjust(coordinator, helper.id, 5, "搬物资", token="a")
    assert await _told(services, helper.id, PointsAdjusted.KIND) == 1


async def test_members_and_entries_are_found_within_reach_only(
    services: Services, register: RegisterUser
) -> None:
    await register(1, "小王")  # a resident: not offered
    helper = await _member(services, register, 10, "小赵")
    await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    assert [u.id for u in await services.passbook.find_members(coordinator, "小")] == [10]
    assert [u.id for u in await services.passbook.find_members(coordinator, "10")] == [10]
    assert [u.id for u in await services.passbook.find_members(coordinator, "١٠")] == [10]
    for odd in ("²", "9" * 40):  # a digit that is no number; a number no id can be
        assert await services.passbook.find_members(coordinator, odd) == []
    with pytest.raises(InvalidInput):
        await services.passbook.find_members(coordinator, "  ")
    with pytest.raises(NotAllowed):
        await services.passbook.find_members(helper, "小")
    entry = await services.passbook.adjust(coordinator, helper.id, 3, "试点", token="t")
    with pytest.raises(NoSuchMember):  # points are for members, not residents
        await services.passbook.adjust(coordinator, 1, 3, "试点", token="r")
    assert (await services.passbook.entry(coordinator, entry.id)).id == entry.id
    with pytest.raises(NotAllowed):
        await services.passbook.entry(helper, entry.id)

    outsider = await _outsider(services)
    assert await services.passbook.find_members(outsider, "小") == []
    with pytest.raises(NoSuchMember):
        await services.passbook.entry(outsider, entry.id)


async def test_a_coordinator_living_outside_every_community_sees_its_leaders(
    services: Services, register: RegisterUser
) -> None:
    helper = await _member(services, register, 10, "小赵")
    await register(COORDINATOR_ID, "李书记")
    async with services.store.transaction() as conn:
        await users_repo.update_user(conn, COORDINATOR_ID, community_id=None)
    coordinator = await services.users.require(COORDINATOR_ID)
    assert coordinator.community_id is None
    await services.passbook.adjust(coordinator, helper.id, 4, "试点", token="t")
    ranking = await services.passbook.ranking(coordinator)
    assert [(r.member_id, r.points) for r in ranking.community] == [(10, 4)]
    assert ranking.place is None
