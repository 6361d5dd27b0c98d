"""Choosing a building in a community of 58 (北气象巷) or 300 buildings: pages of at most 24,
turned with ◀ / ▶, and a typed number that finds the building — in onboarding, /wish_for,
/profile, /join and a broadcast's audience — each choice re-checked on the server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.models import Role
from bot.services import Services
from handlers.broadcast.buttons import AudienceBuilding
from storage import org
from storage import users as users_repo
from storage.schema import broadcasts, member_applications, wishes
from tests.conftest import COORDINATOR_ID
from tests.e2e import posting
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

NEWCOMER, MEMBER = 501, 502


def _services(bot: RunningBot) -> Services:
    assert bot.services is not None
    return bot.services


async def add_buildings(bot: RunningBot, count: int) -> dict[str, int]:
    """Buildings 1号楼 … {count}号楼 of the default community: their ids by name."""
    services = _services(bot)
    ids: dict[str, int] = {}
    async with services.store.transaction() as conn:
        for number in range(count, 0, -1):  # the database's order is not the picker's
            name = f"{number}号楼"
            building = await org.add_building(
                conn, services.default_community_id, name, services.clock.now()
            )
            ids[name] = building.id
    return ids


def rows(message: FakeMessage) -> list[list[str]]:
    markup = message.reply_markup or {}
    return [[str(b["text"]) for b in row] for row in markup.get("inline_keyboard", [])]


def buildings_on(message: FakeMessage) -> list[str]:
    return [label for label, _ in message.buttons if label.endswith("号楼")]


async def register_newcomer_up_to_the_building(fake: FakeBotApi) -> tuple[FakeUser, FakeMessage]:
    grandma = fake.user(NEWCOMER, first_name="Wang", language_code="fr")
    await grandma.send("/start")
    await grandma.press(await grandma.wait_for("请选择语言"), "中文")
    await grandma.wait_for("我们怎么称呼您")
    await grandma.send("王奶奶")
    return grandma, await grandma.wait_for("您住在哪个楼院")


async def finish_onboarding(grandma: FakeUser) -> None:
    await grandma.wait_for("房号")
    await grandma.send("3-201")
    await grandma.wait_for("手机号")
    await grandma.share_contact("+8613800000000")
    await grandma.wait_for("登记完成")


async def test_a_newcomer_of_58_buildings_pages_to_hers_and_registers_in_it(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    ids = await add_buildings(bot, 58)
    grandma, picker = await register_newcomer_up_to_the_building(fake)

    assert "第 1/3 页" in picker.text and "输入楼号" in picker.text
    assert buildings_on(picker) == [f"{n}号楼" for n in range(1, 25)]  # 2号楼 before 10号楼
    layout = rows(picker)
    assert all(len(row) == 3 for row in layout[:8])  # short names: three to a row
    assert layout[8] == ["下一页 ▶"]  # no "previous" on the first page
    assert layout[9] == ["我的楼院不在列表中"]  # a newcomer may still say it is not there

    await grandma.press(picker, "下一页 ▶")
    second = await grandma.wait_for("第 2/3 页")
    assert buildings_on(second) == [f"{n}号楼" for n in range(25, 49)]
    assert rows(second)[8] == ["◀ 上一页", "下一页 ▶"]
    await grandma.press(second, "下一页 ▶")
    third = await grandma.wait_for("第 3/3 页")
    assert buildings_on(third) == [f"{n}号楼" for n in range(49, 59)]
    assert rows(third)[-2:] == [["◀ 上一页"], ["我的楼院不在列表中"]]

    await grandma.press(third, "57号楼")
    await grandma.wait_for("楼院：57号楼")
    await finish_onboarding(grandma)
    user = await _services(bot).users.require(NEWCOMER)
    assert user.building_id == ids["57号楼"]


async def test_a_newcomer_of_300_buildings_types_231_and_picks_it(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    ids = await add_buildings(bot, 300)
    grandma, picker = await register_newcomer_up_to_the_building(fake)
    assert "第 1/13 页" in picker.text
    assert len(buildings_on(picker)) == 24 and len(picker.buttons) <= 100

    await grandma.send("9999")
    nothing = await grandma.wait_for("没有与“9999”相符的楼院")
    assert [label for label, _ in nothing.buttons] == ["全部楼院", "我的楼院不在列表中"]

    await grandma.send("231")
    found = await grandma.wait_for("与“231”相符的楼院")
    assert buildings_on(found) == ["231号楼"]
    await grandma.send("31号")
    found = await grandma.wait_for("与“31号”相符的楼院")
    assert buildings_on(found) == ["31号楼", "131号楼", "231号楼"]  # the exact number first

    await grandma.press(found, "231号楼")
    await grandma.wait_for("楼院：231号楼")
    await finish_onboarding(grandma)
    assert (await _services(bot).users.require(NEWCOMER)).building_id == ids["231号楼"]


async def member(bot: RunningBot, fake: FakeBotApi, building_id: int) -> FakeUser:
    services = _services(bot)
    await services.users.register(
        MEMBER, display_name="小钱", language="zh", building_id=building_id
    )
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, MEMBER, Role.MEMBER, None, services.clock.now())
    return fake.user(MEMBER, "Qian")


async def post_for_a_neighbour(qian: FakeUser, choose: str, *, search: str | None) -> None:
    """/wish_for up to the building picker, `choose` found by paging (or by typing
    `search`), then the rest of the wish."""
    await qian.send("/wish_for")
    await qian.wait_for("他叫什么名字")
    await qian.send("刘爷爷")
    picker = await qian.wait_for("他住在哪个楼院")
    assert "我的楼院不在列表中" not in str(picker.buttons)  # only a newcomer may say so
    if search is None:
        while picker.button(choose) is None:
            await qian.press(picker, "下一页 ▶")
            picker = await qian.wait_for("页")
    else:
        await qian.send(search)
        picker = await qian.wait_for("相符的楼院")
        assert buildings_on(picker)[0] == choose
    await qian.press(picker, choose)
    await qian.wait_for(f"楼院：{choose}")
    await qian.wait_for("房号")
    await qian.send("5-502")
    await qian.wait_for("能联系到他的电话")
    await qian.send("13700001111")
    await qian.wait_for("您想请人帮什么忙")
    await posting.send_content(qian, "想请人陪我去医院复查")
    card = await qian.wait_for(posting.CARD)
    assert "求助人：刘爷爷（代发）" in card.text
    card = await posting.change(qian, card, kind="照顾老人", when="三天内")
    await qian.press(card, "✅ 发布")
    await qian.wait_for("已发布")


@pytest.mark.parametrize(("count", "number", "search"), [(58, 45, None), (300, 280, "280号")])
async def test_a_member_posts_for_a_resident_of_any_building(
    fake: FakeBotApi, bot: RunningBot, count: int, number: int, search: str | None
) -> None:
    ids = await add_buildings(bot, count)
    qian = await member(bot, fake, ids["1号楼"])
    await post_for_a_neighbour(qian, f"{number}号楼", search=search)
    async with _services(bot).store.read() as conn:
        posted = (await conn.execute(select(wishes.c.building_id, wishes.c.for_name))).one()
    assert tuple(posted) == (ids[f"{number}号楼"], "刘爷爷")


async def test_a_building_of_another_community_is_refused_for_a_neighbour(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    ids = await add_buildings(bot, 30)
    services = _services(bot)
    district = await services.users.register(
        COORDINATOR_ID, display_name="Li", language="zh", building_id=None
    )
    (street,) = await services.admin.streets(district)
    riverside = await services.admin.add_community(district, street.id, "河畔社区")
    district = await services.users.require(COORDINATOR_ID)
    elsewhere = await services.admin.add_building(district, "河畔1号楼", riverside.id)
    qian = await member(bot, fake, ids["1号楼"])
    await qian.send("/wish_for")
    await qian.wait_for("他叫什么名字")
    await qian.send("刘爷爷")
    picker = await qian.wait_for("他住在哪个楼院")
    alert = await qian.press_data(picker, f"wp:bld:{elsewhere.id}")  # forged: not offered
    assert alert == "请从列表中选择楼院。"
    turned = await qian.press_data(picker, "wp:bld:pg:99")  # out of range: the last page
    assert turned is None
    last = await qian.wait_for("第 2/2 页")
    assert buildings_on(last) == [f"{n}号楼" for n in range(25, 31)]
    await qian.press(last, "30号楼")
    await qian.wait_for("房号")


async def test_a_broadcast_goes_to_building_50_of_58_found_by_its_number(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    ids = await add_buildings(bot, 58)
    services = _services(bot)
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    await services.users.register(
        NEWCOMER, display_name="王奶奶", language="zh", building_id=ids["50号楼"]
    )
    li = fake.user(COORDINATOR_ID, "Li")
    await li.send("/broadcast 明天上午停水")
    await li.press(await li.wait_for("这条社区通知发给谁"), "某个楼院")
    picker = await li.wait_for("发给哪个楼院")
    assert "第 1/3 页" in picker.text and picker.button("« 返回") is not None
    await li.press(picker, "下一页 ▶")
    second = await li.wait_for("第 2/3 页")
    assert buildings_on(second)[0] == "25号楼"
    await li.send("50")
    found = await li.wait_for("与“50”相符的楼院")
    assert buildings_on(found) == ["50号楼"]
    broadcast_id = int(AudienceBuilding.unpack(found.buttons[0][1]).broadcast_id)
    await li.press(found, "50号楼")
    await li.wait_for("发送范围：楼院：50号楼")
    await li.wait_for("将发给 1 人")
    async with services.store.read() as conn:
        audience = (
            await conn.execute(
                select(broadcasts.c.audience_ref).where(broadcasts.c.id == broadcast_id)
            )
        ).scalar_one()
    assert audience == ids["50号楼"]


async def test_a_resident_moves_to_building_45_in_her_profile_by_typing_it(
    fake: FakeBotApi, bot: RunningBot, clock: ManualClock
) -> None:
    ids = await add_buildings(bot, 58)
    await _services(bot).users.register(
        NEWCOMER, display_name="王奶奶", language="zh", building_id=ids["3号楼"]
    )
    grandma = fake.user(NEWCOMER, "Wang")
    await grandma.send("/profile")
    await grandma.press(await grandma.wait_for("我的资料"), "楼院")
    picker = await grandma.wait_for("您住在哪个楼院")
    assert "第 1/3 页" in picker.text
    await grandma.send("45号楼")
    found = await grandma.wait_for("与“45号楼”相符的楼院")
    await grandma.press(found, "45号楼")
    await grandma.wait_for("已保存")
    assert (await _services(bot).users.require(NEWCOMER)).building_id == ids["45号楼"]

    clock.advance(hours=25)  # what that picker was about is a day old: a new one is not hurt
    await grandma.send("/profile")
    await grandma.press(await grandma.wait_for("我的资料"), "楼院")
    await grandma.press(await grandma.wait_for("您住在哪个楼院"), "下一页 ▶")
    second = await grandma.wait_for("第 2/3 页")
    await grandma.press(second, "25号楼")
    await grandma.wait_for("已保存")
    assert (await _services(bot).users.require(NEWCOMER)).building_id == ids["25号楼"]


async def test_an_applicant_pages_to_the_building_she_will_serve_in(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    ids = await add_buildings(bot, 58)
    services = _services(bot)
    coordinator = await services.users.register(
        COORDINATOR_ID, display_name="Li", language="zh", building_id=None
    )
    code = (await services.membership.create_invite(coordinator, days=7, max_uses=5)).code
    await services.users.register(NEWCOMER, display_name="张", language="zh", building_id=None)
    zhang = fake.user(NEWCOMER, "Zhang")
    await zhang.send(f"/join {code}")
    await zhang.press(await zhang.wait_for("专长"), "家庭维修")
    await zhang.press(await zhang.wait_for(lambda m: "✓ 家庭维修" in str(m.buttons)), "完成")
    picker = await zhang.wait_for("您将在哪个楼院服务")
    await zhang.press(picker, "下一页 ▶")
    second = await zhang.wait_for("第 2/3 页")
    await zhang.press(second, "40号楼")
    await zhang.wait_for("申请已提交")
    async with services.store.read() as conn:
        applied = (await conn.execute(select(member_applications.c.building_id))).scalar_one()
    assert applied == ids["40号楼"]
