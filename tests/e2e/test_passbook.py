"""The love-savings passbook over the real bot and the fake Bot API: a confirmed and rated
wish shows in the helper's /passbook with what it was for; /ranking orders the community and the
building and says the member's own place; a coordinator adjusts points from /admin with a
written reason (the member is told, once), an adjustment without a reason changes nothing, an
entry is corrected; forged buttons from a member and from coordinators elsewhere are refused;
older entries page."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.clock import ManualClock
from bot.models import LedgerKind, Node, NodeKind, Role, Skill
from bot.services import Services
from handlers.passbook.buttons import (
    Adjust,
    ConfirmChange,
    Correct,
    EditRule,
    LookUp,
    PassbookPageButton,
    PointsMenu,
)
from storage import ledger as ledger_repo
from storage import org
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID
from tests.e2e import posting
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

RESIDENT, HELPER, OTHER, THIRD = 1, 10, 11, 12
ELSEWHERE, BUILDING_COORDINATOR = 20, 21
NOT_ALLOWED = "抱歉，您没有权限进行此操作。"
NOT_IN_REACH = "您管理的范围内没有这位党员志愿者。"


@dataclass
class Place:
    services: Services
    resident: FakeUser
    helper: FakeUser
    other: FakeUser
    third: FakeUser
    coordinator: FakeUser


@pytest.fixture
async def place(bot: RunningBot, fake: FakeBotApi) -> Place:
    """A resident of 7号楼; members 小赵 and 小钱 there and 小孙 in 8号楼 (who reads English);
    the district's coordinator (the configured one)."""
    assert bot.services is not None
    services = bot.services
    async with services.store.transaction() as conn:
        seven = await org.add_building(
            conn, services.default_community_id, "7号楼", services.clock.now()
        )
        eight = await org.add_building(
            conn, services.default_community_id, "8号楼", services.clock.now()
        )
    await services.users.register(
        RESIDENT, display_name="王奶奶", language="zh", building_id=seven.id
    )
    for uid, name, building, language in (
        (HELPER, "小赵", seven, "zh"),
        (OTHER, "小钱", seven, "zh"),
        (THIRD, "小孙", eight, "en"),
    ):
        await services.users.register(
            uid, display_name=name, language=language, building_id=building.id
        )
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, uid, Role.MEMBER, None, services.clock.now())
            await users_repo.set_skills(conn, uid, {Skill.REPAIRS})
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    return Place(
        services=services,
        resident=fake.user(RESIDENT, "Wang"),
        helper=fake.user(HELPER, "Zhao"),
        other=fake.user(OTHER, "Qian"),
        third=fake.user(THIRD, "Sun"),
        coordinator=fake.user(COORDINATOR_ID, "Li"),
    )


async def _adjust(services: Services, member: int, points: int, token: str) -> None:
    coordinator = await services.users.require(COORDINATOR_ID)
    await services.passbook.adjust(coordinator, member, points, "表现突出", token=token)


async def _balance(services: Services, member: int) -> tuple[int, int]:
    async with services.store.read() as conn:
        balance = await ledger_repo.balance(conn, member, services.passbook.quarter())
        assert balance.all_time == await ledger_repo.summed(conn, member)
    return balance.this_quarter, balance.all_time


async def _passbook(member: FakeUser) -> FakeMessage:
    await member.send("/passbook")
    return await member.wait_for("爱心储蓄存折")


async def test_a_confirmed_and_rated_wish_shows_in_the_helpers_passbook(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    resident, helper = place.resident, place.helper
    await posting.post(resident, "厨房的灯坏了", kind="家庭维修")
    offer = await helper.wait_for("新微心愿")
    await helper.press(offer, "我来帮忙")
    await helper.wait_for("由您认领了")
    wish_id = (await place.services.wishes.tasks(await place.services.users.require(HELPER)))[0].id
    await place.services.wishes.report_done(
        await place.services.users.require(HELPER), wish_id, note="换好了"
    )
    await resident.press(await resident.wait_for("办好了吗"), "是的，办好了")
    await resident.press(await resident.wait_for("打几颗星"), "★★★★★")
    await resident.wait_for("想写几句感谢的话吗")
    assert await _balance(place.services, HELPER) == (12, 12)

    # The member's home keyboard has the passbook's button, and it is /passbook.
    await helper.send("/start")
    home = await helper.wait_for(lambda m: bool(m.keyboard))
    assert "💝 爱心存折" in home.keyboard and "🧰 我的任务" in home.keyboard
    await helper.send("💝 爱心存折")
    page = await helper.wait_for("我的爱心储蓄存折")
    assert "本季度（2026年第4季度）：12 分" in page.text
    assert "累计：12 分" in page.text
    lines = page.text.splitlines()
    rating = next(line for line in lines if "好评加分" in line)
    confirmed = next(line for line in lines if f"微心愿 #{wish_id}，家庭维修" in line)
    assert "+2" in rating and "+10" in confirmed and "11月25日 10:00" in confirmed
    assert lines.index(rating) < lines.index(confirmed)  # newest first
    assert [label for label, _ in page.buttons] == ["🏅 本季度排行"]  # one page, no paging

    # A resident has no passbook: refused, in her language.
    await resident.send("/passbook")
    await resident.wait_for(NOT_ALLOWED)


async def test_the_ranking_orders_the_community_and_the_building_with_ones_own_place(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    services = place.services
    await _adjust(services, HELPER, 30, "a")
    await _adjust(services, THIRD, 25, "b")
    await _adjust(services, OTHER, 20, "c")
    await place.other.send("/ranking")
    ranking = await place.other.wait_for("本季度排行榜")
    text = ranking.text
    community, building = text.split("全社区")[1].split("7号楼\n")
    assert community.index("小赵") < community.index("小孙") < community.index("小钱")
    assert "🥇 小赵（7号楼）：30 分" in community and "🥉 小钱（7号楼）：20 分" in community
    assert "小孙" not in building  # 8号楼
    assert building.index("🥇 小赵") < building.index("🥈 小钱")
    assert "您在全社区排第 3 名，20 分。" in text and "在7号楼排第 2 名。" in text

    # In English, from the passbook's button.
    await place.third.send("/passbook")
    page = await place.third.wait_for("My love-savings passbook")
    assert "This quarter (Q4 2026): 25 points" in page.text and "Adjusted by 李书记" in page.text
    await place.third.press(page, "🏅 This quarter's ranking")
    mine = await place.third.wait_for("You are number 2 in the community, with 25 points.")
    assert "In 8号楼 you are number 1." in mine.text and "🥇 小赵 (7号楼): 30 points" in mine.text


async def _open_members_passbook(li: FakeUser, name: str, uid: int) -> FakeMessage:
    """/admin → 💝 积分 → 🔎 查找党员志愿者 → the name → the member."""
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "💝 积分")
    menu = await li.wait_for("每项服务记多少分")
    await li.press(menu, "🔎 查找党员志愿者")
    await li.wait_for("请输入党员志愿者的名字")
    await li.send(name)
    found = await li.wait_for("查看谁的存折")
    await li.press(found, f"{name} ({uid})")
    return await li.wait_for(f"{name}的爱心储蓄存折")


async def test_a_coordinator_adjusts_with_a_reason_and_the_member_is_told_once(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    services, li, helper = place.services, place.coordinator, place.helper
    shown = await _open_members_passbook(li, "小赵", HELPER)
    assert "本季度（2026年第4季度）：0 分" in shown.text

    # Without a reason: refused, in the step; nothing changes, even after giving up.
    await li.press(shown, "✏️ 调整积分")
    await li.wait_for("给小赵调整多少分")
    await li.send("十分")
    await li.wait_for("请输入 -1000 到 1000 之间的整数。")
    await li.send_photo("PHOTO")
    await li.wait_for("请输入 -1000 到 1000 之间的整数。")
    await li.send("5")
    await li.wait_for("原因是什么")
    await li.send("   ")
    await li.wait_for("请写明原因")
    await li.send_photo("PHOTO")
    await li.wait_for("请写明原因")
    await li.send("/cancel")
    await li.wait_for("已取消")
    assert await _balance(services, HELPER) == (0, 0)

    # With a reason: the card, then saved once, however often it is pressed.
    await li.press(shown, "✏️ 调整积分")
    await li.wait_for("给小赵调整多少分")
    await li.send("+5")
    await li.wait_for("原因是什么")
    await li.send("帮忙搬运<防汛>物资")
    card = await li.wait_for("请核对")
    assert "小赵：+5 分" in card.text and "原因：帮忙搬运<防汛>物资" in card.text
    confirm = dict(card.buttons)["✅ 确认"]
    assert confirm is not None
    assert await li.press(card, "✅ 确认") == "已保存。"
    await li.wait_for("已把结果和原因告诉小赵")
    await li.wait_for(lambda m: "小赵的爱心储蓄存折" in (m.text or "") and "+5" in (m.text or ""))
    assert await li.press_data(card, confirm) == "这个按钮已失效，请重新开始。"
    told = await helper.wait_for("给您的爱心储蓄存折加了 5 分")
    assert "社区工作人员李书记" in told.text and "原因：帮忙搬运<防汛>物资" in told.text
    assert await _balance(services, HELPER) == (5, 5)
    await helper.press(told, "💝 查看我的爱心存折")
    page = await helper.wait_for("我的爱心储蓄存折")
    assert (
        "李书记调整：帮忙搬运<防汛>物资" in page.text
        and "本季度（2026年第4季度）：5 分" in page.text
    )

    # Correcting that entry: reason, card, confirm; the member hears; the balance is back.
    mine = await li.wait_for(lambda m: "↩️ 更正" in str(m.buttons), since=0)
    (undo,) = [label for label, _ in mine.buttons if label.startswith("↩️ 更正")]
    await li.press(mine, undo)
    await li.wait_for("为什么要撤销")
    await li.send("记错了人")
    card = await li.wait_for("请核对")
    await li.press(card, "✅ 确认")
    told = await helper.wait_for("更正了您爱心储蓄存折")
    assert "（-5 分）" in told.text and "原因：记错了人" in told.text
    assert await _balance(services, HELPER) == (0, 0)
    after = await li.wait_for(lambda m: "（已更正）" in (m.text or ""))
    assert not [label for label, _ in after.buttons if label.startswith("↩️ 更正")]
    assert len([m for m in helper.inbox if "加了 5 分" in (m.text or "")]) == 1

    # Both are in the audit log, in words.
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "操作记录")
    log = await li.wait_for("最新的在前")
    assert log.text.index("李书记 · 更正了存折记录") < log.text.index("李书记 · 调整了积分")


async def test_a_coordinator_changes_a_rule_with_a_typed_number(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    li = place.coordinator
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "💝 积分")
    menu = await li.wait_for("每项服务记多少分")
    assert "办好一个微心愿（居民确认）：10" in menu.text
    await li.press(menu, "✏️ 办好一个微心愿（居民确认）")
    await li.wait_for("现在是 10 分")
    await li.send("500")
    await li.wait_for("请输入 0 到 100 之间的整数。")
    await li.send("12")
    await li.wait_for("已保存：办好一个微心愿（居民确认），今后记 12 分。")
    again = await li.wait_for(lambda m: "：12" in (m.text or "") and "每项服务" in (m.text or ""))
    assert "办好一个微心愿（居民确认）：12" in again.text
    coordinator = await place.services.users.require(COORDINATOR_ID)
    assert (await place.services.passbook.rules(coordinator))[LedgerKind.WISH] == 12


async def test_forged_buttons_from_a_member_and_coordinators_elsewhere_are_refused(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    services = place.services
    await _adjust(services, HELPER, 7, "x")
    async with services.store.read() as conn:
        (entry,) = await ledger_repo.entries_of(conn, HELPER)
    district = await services.users.require(COORDINATOR_ID)
    (street,) = await services.admin.streets(district)
    elsewhere = (await services.admin.add_community(district, street.id, "河畔社区")).id
    district = await services.users.require(COORDINATOR_ID)
    await services.users.register(
        ELSEWHERE, display_name="外社区", language="zh", building_id=None, community_id=elsewhere
    )
    await services.admin.appoint(district, ELSEWHERE, Node(kind=NodeKind.COMMUNITY, id=elsewhere))
    nine = (await services.admin.add_building(district, "9号楼", services.default_community_id)).id
    await services.users.register(
        BUILDING_COORDINATOR, display_name="九号楼", language="zh", building_id=nine
    )
    await services.admin.appoint(
        district, BUILDING_COORDINATOR, Node(kind=NodeKind.BUILDING, id=nine)
    )

    about_helper = [
        PassbookPageButton(member_id=HELPER, before=0),
        LookUp(member_id=HELPER),
        Adjust(member_id=HELPER),
        Correct(entry_id=entry.id),
    ]
    member = place.other
    for button in [*about_helper, PointsMenu(), EditRule(kind=LedgerKind.WISH)]:
        assert await member.press_data(None, button.pack()) == NOT_ALLOWED, button
    for uid, name in ((ELSEWHERE, "Else"), (BUILDING_COORDINATOR, "Nine")):
        person = fake.user(uid, name)
        for button in about_helper:
            assert await person.press_data(None, button.pack()) == NOT_IN_REACH, (uid, button)
    # A confirm card's button without its draft: nothing is made.
    assert await member.press_data(None, ConfirmChange(token="abc").pack()) in (
        NOT_ALLOWED,
        "这个按钮已失效，请重新开始。",
    )
    # The building's coordinator runs no community's rules: no points button in /admin.
    nine_user = fake.user(BUILDING_COORDINATOR, "Nine")
    await nine_user.send("/admin")
    admin = await nine_user.wait_for("管理")
    assert "💝 积分" not in [label for label, _ in admin.buttons]
    assert await _balance(services, HELPER) == (7, 7)
    await fake.wait_idle(quiet=0.3)
    assert not [m for m in place.helper.inbox if "更正" in (m.text or "")]


async def test_older_entries_page_and_come_back(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    services = place.services
    for n in range(12):
        await _adjust(services, HELPER, n + 1, f"t{n}")
        clock.advance(hours=1)
    page = await _passbook(place.helper)
    assert "本季度（2026年第4季度）：78 分" in page.text
    assert page.text.count("李书记调整") == 10 and "+12" in page.text and "+2 " not in page.text
    assert [label for label, _ in page.buttons] == ["下一页", "🏅 本季度排行"]
    await place.helper.press(page, "下一页")
    older = await place.helper.wait_for("更早的记录")
    assert older.text.count("李书记调整") == 2 and "+2" in older.text and "+1" in older.text
    assert "+12" not in older.text
    assert [label for label, _ in older.buttons] == ["‹ 最新", "🏅 本季度排行"]
    await place.helper.press(older, "‹ 最新")
    newest = await place.helper.wait_for("最近的记录")
    assert "+12" in newest.text
