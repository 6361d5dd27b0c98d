"""Patrol duty (巡逻值守) as a coordinator runs it, over the real bot and the fake Bot API, in
zh: a post made from /admin (name, area, its building through the picker), a week of evening
shifts defined in one step, the week's roster posted in the members' group and opened by the
coordinator, both edited when a member takes a shift, a shift cancelled with its member told,
and the section refused to a member."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.models import Role
from bot.services import Services
from storage import org
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot, settings_with
from tests.support.fake_bot_api import FakeBotApi, FakeMessage

GROUP = -100777
ZHAO = 10


@pytest.fixture
def bot_settings(tmp_path: Path, fake: FakeBotApi) -> Settings:
    fake.group(GROUP, "党员志愿者群")
    return settings_with(tmp_path, fake, members_group_id=GROUP)


def _has(label: str) -> object:
    return lambda message: label in [text for text, _ in message.buttons]


async def _setup(bot: RunningBot) -> Services:
    assert bot.services is not None
    services = bot.services
    now = services.clock.now()
    async with services.store.transaction() as conn:
        building = await org.add_building(conn, services.default_community_id, "7号楼", now)
    await services.users.register(
        ZHAO, display_name="小赵", language="zh", building_id=building.id
    )
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, ZHAO, Role.MEMBER, None, now)
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    return services


async def test_a_coordinator_makes_a_post_defines_a_week_of_shifts_and_the_roster_stays_current(
    bot: RunningBot, fake: FakeBotApi
) -> None:
    services = await _setup(bot)
    li = fake.user(COORDINATOR_ID, "Li", language_code="zh")
    group = fake.group(GROUP)
    told = fake.user(ZHAO, "Zhao", language_code="zh")

    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "🚓 巡逻值守")
    await li.press(await li.wait_for("巡逻岗点、班次和本周排班表"), "➕ 新建岗点")
    await li.wait_for("岗点叫什么名字")
    await li.send("东门岗")
    await li.wait_for("负责哪一片")
    await li.send("东门和停车场")
    picker = await li.wait_for("负责哪些楼院")
    await li.press(picker, "7号楼")
    chosen = await li.wait_for(_has("7号楼 ✅"))  # type: ignore[arg-type]
    await li.press(chosen, "✅ 选好了")
    card = await li.wait_for("岗点已保存")
    assert "负责区域：东门和停车场" in (card.text or "") and "楼院：7号楼" in (card.text or "")

    await li.press(card, "🗓 安排班次")
    await li.press(await li.wait_for("班次是哪一天"), "11月26日周四")
    await li.wait_for("几点到几点")
    await li.send("19:00-21:00")
    await li.press(await li.wait_for("需要几位党员志愿者"), "2")
    await li.press(await li.wait_for("重复安排"), "每天")
    await li.press(await li.wait_for("一共安排多少个班次"), "7")
    confirm = await li.wait_for("请核对班次")
    for shown in ("岗点：东门岗", "第一个班次：11月26日周四 19:00–21:00", "每天，共 7 个班次"):
        assert shown in (confirm.text or ""), shown
    await li.press(confirm, "💾 保存")
    await li.wait_for("已安排 7 个班次")

    # The members' group got the rosters of the two weeks the shifts fall in.
    this_week = await group.wait_for("11月23日周一 – 11月29日周日", timeout=10)
    await group.wait_for("11月30日周一 – 12月6日周日", timeout=10)
    assert "19:00–21:00 东门岗 (0/2 人)" in (this_week.text or "")

    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "🚓 巡逻值守")
    await li.press(await li.wait_for("巡逻岗点、班次和本周排班表"), "📋 本周排班表")
    roster = await li.wait_for("巡逻排班表")
    assert "11月26日周四" in (roster.text or "")

    zhao = await services.users.require(ZHAO)
    coordinator = await services.users.require(COORDINATOR_ID)
    (first, *_) = await services.patrol.week_shifts(coordinator, services.patrol.this_week())
    await services.patrol.take(zhao, first.slot.id)

    def shows_zhao(message: FakeMessage) -> bool:
        return "东门岗 (1/2 人): 小赵" in (message.text or "")

    await li.wait_for(shows_zhao, timeout=10)
    await group.wait_for(shows_zhao, timeout=10)

    # Cancelled from the week's shifts: the member is told, the roster edited.
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "🚓 巡逻值守")
    await li.press(await li.wait_for("巡逻岗点、班次和本周排班表"), "🗓 本周班次")
    week = await li.wait_for("起这一周的班次")
    await li.press(week, "11月26日周四 19:00–21:00 东门岗 (1/2 人)")
    shift_card = await li.wait_for("• 小赵")
    await li.press(shift_card, "✖ 取消这个班次")
    await li.press(await li.wait_for("确定取消这个班次吗"), "确定取消班次")
    await li.wait_for("班次已取消")
    await told.wait_for("已被社区工作人员取消", timeout=10, since=0)
    assert await services.patrol.my_shifts(zhao) == []


async def test_the_patrol_section_is_refused_to_a_member(
    bot: RunningBot, fake: FakeBotApi
) -> None:
    await _setup(bot)
    zhao = fake.user(ZHAO, "Zhao", language_code="zh")
    from handlers.patrol.admin_buttons import NewPost, PatrolMenu

    for forged in (PatrolMenu(), NewPost()):
        assert await zhao.press_data(None, forged.pack()) == "抱歉，您没有权限进行此操作。"


async def test_typed_times_are_answered_at_once_and_a_night_shift_ends_the_next_day(
    bot: RunningBot, fake: FakeBotApi
) -> None:
    services = await _setup(bot)
    coordinator = await services.users.require(COORDINATOR_ID)
    post = await services.patrol.create_post(
        coordinator, name="东门岗", area=None, building_ids=[]
    )
    li = fake.user(COORDINATOR_ID, "Li", language_code="zh")
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "🚓 巡逻值守")
    await li.press(await li.wait_for("巡逻岗点、班次和本周排班表"), "📍 巡逻岗点")
    await li.press(await li.wait_for(_has("📍 东门岗")), "📍 东门岗")  # type: ignore[arg-type]
    await li.press(await li.wait_for("楼院："), "🗓 安排班次")
    await li.wait_for("班次是哪一天")
    await li.send("2026-11-01")
    await li.wait_for("这个时间已经过去了")
    await li.send("2026-02-30")
    await li.wait_for("日历上没有这一天")  # said as precisely as a visit's day
    await li.send("１１月２５日")  # today, 10:00
    await li.wait_for("几点到几点")
    await li.send("08:00-09:00")
    await li.wait_for("这个时间已经过去了")
    await li.send("25:00-26:00")
    await li.wait_for("请按 19:00-21:00 这样的格式")
    await li.send("21:00-19:00")
    await li.wait_for("结束时间早于开始时间")
    await li.send("２２：００－０２：００")  # full-width, as a phone's Chinese keyboard types it
    await li.press(await li.wait_for("需要几位党员志愿者"), "2")
    await li.press(await li.wait_for("重复安排"), "只安排一次")
    confirm = await li.wait_for("请核对班次")
    assert "11月25日周三 22:00–02:00（第二天结束）" in (confirm.text or "")
    await li.press(confirm, "💾 保存")
    await li.wait_for("已安排 1 个班次")
    (shift,) = await services.patrol.week_shifts(coordinator, services.patrol.this_week())
    assert shift.post_id == post.id
    assert shift.slot.ends_at - shift.slot.starts_at == timedelta(hours=4)
