"""The passbook through the real services: a confirmed wish credits everyone who took part
once, the stars above 3 add a bonus, coordinators set rules (new entries only), adjust with a
reason and correct an entry once; balances always equal the entries; reach is checked."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.models import LedgerKind, Node, NodeKind, Role, User, WishCategory
from bot.services import Services
from bot.services.errors import NotAllowed, NotFound
from bot.services.passbook import (
    AlreadyCorrected,
    BadPoints,
    NoSuchMember,
    NotCorrectable,
    ReasonRequired,
    ZeroAdjustment,
    previous_quarter,
    quarter_bounds,
    quarter_of,
)
from bot.services.wishes import WishDraft
from storage import ledger as ledger_repo
from storage import org
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID, RegisterUser

MORNING = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MORNING)


async def _member(services: Services, register: RegisterUser, uid: int, name: str) -> User:
    await register(uid, name)
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, uid, Role.MEMBER, None, MORNING)
    return await services.users.require(uid)


async def _coordinator(services: Services, register: RegisterUser) -> User:
    """The district's coordinator the settings name, registered."""
    await register(COORDINATOR_ID, "李书记")
    return await services.users.require(COORDINATOR_ID)


async def _done_wish(services: Services, resident: User, helper: User, **kw: object) -> int:
    draft = WishDraft(category=WishCategory.REPAIRS, text="换灯泡", **kw)  # type: ignore[arg-type]
    wish = await services.wishes.post(resident, draft)
    await services.wishes.claim(helper, wish.id)
    await services.wishes.report_done(helper, wish.id, note=None)
    return wish.id


async def _checked_balance(services: Services, member_id: int) -> int:
    async with services.store.read() as conn:
        balance = await ledger_repo.balance(conn, member_id, services.passbook.quarter())
        summed = await ledger_repo.summed(conn, member_id)
    assert balance.all_time == summed
    return summed


def test_quarters_in_the_community_time_zone() -> None:
    # 31 March 17:00 UTC is already 1 April in Shanghai: the second quarter.
    assert quarter_of(datetime(2026, 3, 31, 17, 0, tzinfo=UTC), SHANGHAI) == "2026Q2"
    assert quarter_of(datetime(2026, 3, 31, 15, 0, tzinfo=UTC), SHANGHAI) == "2026Q1"
    start, end = quarter_bounds("2026Q4", SHANGHAI)
    assert (start.month, end.year, end.month) == (10, 2027, 1)
    assert previous_quarter("2027Q1") == "2026Q4" and previous_quarter("2026Q3") == "2026Q2"


async def test_a_confirmed_wish_credits_once_and_stars_above_three_add_a_bonus(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _done_wish(services, resident, helper)
    await services.wishes.confirm(resident, wish_id)
    assert await _checked_balance(services, helper.id) == 10
    # The listener again, as a retry would run it: nothing more.
    wish = await services.wishes.view(resident, wish_id)
    credited = await services.wishes.participants(wish_id)
    async with services.store.transaction() as conn:
        await services.passbook.credit_confirmed_wish(conn, wish, credited)
    assert await _checked_balance(services, helper.id) == 10
    await services.wishes.rate(resident, wish_id, 5)
    assert await _checked_balance(services, helper.id) == 12  # two stars above 3
    page = await services.passbook.passbook(helper)
    assert [(e.kind, e.points) for e in page.entries] == [
        (LedgerKind.RATING, 2),
        (LedgerKind.WISH, 10),
    ]
    assert page.balance.this_quarter == 12 and page.balance.all_time == 12


async def test_an_urgent_wish_earns_the_urgent_points_and_rules_apply_to_new_entries_only(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    coordinator = await _coordinator(services, register)
    first = await _done_wish(services, resident, helper, urgent=True)
    await services.wishes.confirm(resident, first)
    assert await _checked_balance(services, helper.id) == 15
    rules = await services.passbook.set_rule(coordinator, LedgerKind.WISH, 20)
    assert rules[LedgerKind.WISH] == 20 and rules[LedgerKind.URGENT] == 15
    second = await _done_wish(services, resident, helper)
    await services.wishes.confirm(resident, second)
    assert await _checked_balance(services, helper.id) == 35  # 15 kept, 20 new
    with pytest.raises(BadPoints):
        await services.passbook.set_rule(coordinator, LedgerKind.WISH, 1000)
    with pytest.raises(NotAllowed):
        await services.passbook.set_rule(helper, LedgerKind.WISH, 1)


async def test_adjustments_need_a_reason_are_made_once_and_corrections_once(
    services: Services, register: RegisterUser
) -> None:
    helper = await _member(services, register, 10, "小赵")
    coordinator = await _coordinator(services, register)
    with pytest.raises(ReasonRequired):
        await services.passbook.adjust(coordinator, helper.id, 5, "  ", token="a")
    with pytest.raises(ZeroAdjustment):
        await services.passbook.adjust(coordinator, helper.id, 0, "无", token="a")
    assert await _checked_balance(services, helper.id) == 0
    entry = await services.passbook.adjust(coordinator, helper.id, 8, "帮忙搬运物资", token="a")
    again = await services.passbook.adjust(coordinator, helper.id, 8, "帮忙搬运物资", token="a")
    assert again.id == entry.id and entry.granted_by == COORDINATOR_ID
    assert await _checked_balance(services, helper.id) == 8
    fixed = await services.passbook.correct(coordinator, entry.id, "记错了人")
    assert fixed.points == -8 and fixed.corrects_id == entry.id
    with pytest.raises(AlreadyCorrected):
        await services.passbook.correct(coordinator, entry.id, "再来一次")
    with pytest.raises(NotCorrectable):  # a correction is not itself corrected
        await services.passbook.correct(coordinator, fixed.id, "改回去")
    assert await _checked_balance(services, helper.id) == 0
    with pytest.raises(NotAllowed):
        await services.passbook.adjust(helper, helper.id, 5, "自己加分", token="b")


async def test_ranking_shares_places_and_reach_is_checked(
    services: Services, register: RegisterUser
) -> None:
    async with services.store.transaction() as conn:
        building = await org.add_building(conn, services.default_community_id, "1号楼", MORNING)
    coordinator = await _coordinator(services, register)
    members = [await _member(services, register, 10 + n, f"M{n}") for n in range(4)]
    entries = [
        await services.passbook.adjust(coordinator, m.id, points, "试点", token=f"t{m.id}")
        for m, points in zip(members, (5, 9, 9, 2), strict=True)
    ]
    ranking = await services.passbook.ranking(members[0])
    assert [(r.place, r.points) for r in ranking.community] == [(1, 9), (1, 9), (3, 5), (4, 2)]
    assert ranking.place == (3, 5)
    # Someone else's passbook: a coordinator in reach only.
    with pytest.raises(NotAllowed):
        await services.passbook.passbook(members[0], members[1].id)
    district = coordinator
    (street,) = await services.admin.streets(district)
    elsewhere = await services.admin.add_community(district, street.id, "河畔社区")
    district = await services.users.require(COORDINATOR_ID)  # its reach now holds both
    await services.users.register(
        30, display_name="外社区", language="zh", building_id=None, community_id=elsewhere.id
    )
    await services.admin.appoint(district, 30, Node(kind=NodeKind.COMMUNITY, id=elsewhere.id))
    outsider = await services.users.require(30)
    with pytest.raises(NoSuchMember):
        await services.passbook.passbook(outsider, members[0].id)
    seen = await services.passbook.passbook(district, members[1].id)
    assert seen.balance.this_quarter == 9
    # A member who moves takes their passbook along, but what they earned in the old
    # community stays that community's to correct.
    async with services.store.transaction() as conn:
        await users_repo.update_user(conn, members[1].id, community_id=elsewhere.id)
    assert (await services.passbook.passbook(outsider, members[1].id)).balance.all_time == 9
    with pytest.raises(NotFound):
        await services.passbook.correct(outsider, entries[1].id, "不是这里的")
    with pytest.raises(NotFound):
        await services.passbook.entry(outsider, entries[1].id)
    # By building: where they live now.
    async with services.store.transaction() as conn:
        await users_repo.update_user(conn, members[3].id, building_id=building.id)
    by_building = await services.passbook.ranking(await services.users.require(members[3].id))
    assert by_building.building_name == "1号楼"
    assert [(r.place, r.points) for r in by_building.building] == [(1, 2)]
    assert by_building.building_place == (1, 2) and by_building.place == (4, 2)
