"""/broadcast over the real bot and the fake Bot API: audiences, preview, the delivery report
with blocked users, a scheduled broadcast (time moved, not slept), and bad input."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.models import OutboxStatus, Role, TeamKind
from storage import outbox as outbox_repo
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeUser


async def person(
    bot: RunningBot,
    fake: FakeBotApi,
    user_id: int,
    name: str,
    building: int | None = None,
    language: str = "zh",
) -> FakeUser:
    assert bot.services is not None
    await bot.services.users.register(
        user_id, display_name=name, language=language, building_id=building
    )
    return fake.user(user_id, first_name=name, language_code=language)


async def buildings(bot: RunningBot, *names: str) -> list[int]:
    assert bot.services is not None
    li = await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language="zh", building_id=None
    )
    return [(await bot.services.admin.add_building(li, name)).id for name in names]


async def test_a_building_broadcast_reaches_exactly_that_building(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    a, b = await buildings(bot, "1号楼", "2号楼")
    li = await person(bot, fake, COORDINATOR_ID, "Li")
    in_a = [await person(bot, fake, 101, "Wang", a), await person(bot, fake, 102, "Zhao", a, "en")]
    in_b = await person(bot, fake, 201, "Qian", b)
    await li.send("/broadcast")
    await li.wait_for("新的社区通知")
    await li.send("明天 8:00-12:00 停水 <请储水> & 注意")
    who = await li.wait_for("这条社区通知发给谁")
    await li.press(who, "某个楼院")
    which = await li.wait_for("发给哪个楼院")
    await li.press(which, "1号楼")
    preview = await li.wait_for("停水 <请储水> & 注意")  # escaped, shown exactly as sent
    assert preview.text.startswith("📢 北气象巷社区通知")
    confirm = await li.wait_for("将发给 2 人")
    await li.press(confirm, "现在发送")
    for user in in_a:
        message = await user.wait_for("停水 <请储水> & 注意")
        assert len(user.inbox) == 1
    assert "Announcement from" in in_a[1].inbox[0].text  # in the reader's own language
    await li.wait_for("已送达：2", timeout=10)  # the report, and the progress message edited
    assert message is not None and in_b.inbox == []
    report = fake.sent_to(COORDINATOR_ID)[-1]
    assert "已屏蔽本机器人：0" in report.text


async def test_the_report_counts_users_who_blocked_the_bot(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    li = await person(bot, fake, COORDINATOR_ID, "Li")
    residents = [await person(bot, fake, 300 + i, f"R{i}") for i in range(4)]
    fake.block(residents[1].id)
    fake.block(residents[3].id)
    await li.send("/broadcast 社区卫生大扫除，周六上午九点")
    who = await li.wait_for("这条社区通知发给谁")
    await li.press(who, "居民（非党员志愿者）")
    confirm = await li.wait_for("将发给 4 人")
    await li.press(confirm, "现在发送")
    report = await li.wait_for("已屏蔽本机器人：2", timeout=10)
    assert "已送达：2" in report.text and "发送失败：0" in report.text
    assert "还在等待：0" in report.text
    for index, resident in enumerate(residents):
        assert len(resident.inbox) == (0 if index in (1, 3) else 1)
    assert bot.services is not None
    blocked = await bot.services.users.require(residents[1].id)
    assert blocked.unreachable
    menu_user = li
    await menu_user.send("/broadcast")
    menu = await li.wait_for("新的社区通知")
    await li.press(menu, "送达报告")
    listing = await li.wait_for("已发送的通知")
    await li.press(listing, listing.buttons[0][0])
    on_request = await li.wait_for("送达报告")
    assert "已送达：2" in on_request.text and "已屏蔽本机器人：2" in on_request.text


async def test_a_scheduled_broadcast_goes_out_at_its_time(
    fake: FakeBotApi, bot: RunningBot, clock: ManualClock
) -> None:
    li = await person(bot, fake, COORDINATOR_ID, "Li")
    wang = await person(bot, fake, 101, "Wang")
    assert bot.services is not None
    zone = bot.services.settings.zone
    at = (clock.now() + timedelta(hours=3)).astimezone(zone)
    await li.send("/broadcast 本月主题党日：周五下午三点")
    who = await li.wait_for("这条社区通知发给谁")
    await li.press(who, "所有人")
    confirm = await li.wait_for("将发给 2 人")
    await li.press(confirm, "预约发送…")
    await li.wait_for("什么时候发送")
    await li.send("昨天")
    await li.wait_for("请按这样的格式输入")
    await li.send(at.strftime("%Y-%m-%d %H:%M"))
    await li.wait_for("已预约在")
    await li.send("/broadcast")
    menu = await li.wait_for("新的社区通知")
    await li.press(menu, "预约中和发送中")
    listing = await li.wait_for("预约中和发送中的通知")
    assert "主题党日" in listing.text
    await fake.wait_idle(quiet=0.5)
    assert wang.inbox == []
    clock.advance(hours=3)  # time moves; the sweep notices
    await wang.wait_for("本月主题党日", timeout=10)
    # The coordinator's message shows the broadcast as it stands when it arrives (being sent,
    # or already finished) and is kept current; then the report arrives.
    progress = await li.wait_for(
        lambda m: "您预约的通知现在开始发送" in m.text or "已送达" in m.text
    )
    await li.wait_for(lambda m: m is progress and "已送达：2" in m.text, timeout=10, since=0)


async def test_cancelling_a_scheduled_broadcast_sends_nothing(
    fake: FakeBotApi, bot: RunningBot, clock: ManualClock
) -> None:
    li = await person(bot, fake, COORDINATOR_ID, "Li")
    wang = await person(bot, fake, 101, "Wang")
    await li.send("/broadcast 这条会被取消")
    await li.press(await li.wait_for("这条社区通知发给谁"), "所有人")
    await li.press(await li.wait_for("将发给"), "预约发送…")
    await li.wait_for("什么时候发送")
    await li.send("23:59")
    await li.wait_for("已预约在")
    await li.send("/broadcast")
    await li.press(await li.wait_for("新的社区通知"), "预约中和发送中")
    listing = await li.wait_for("预约中和发送中的通知")
    await li.press(listing, listing.buttons[0][0])
    await li.wait_for("已取消，没有发送")
    clock.advance(days=2)
    await fake.wait_idle(quiet=0.6)
    assert wang.inbox == []


async def test_bad_input_is_answered_and_nothing_is_sent(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    (empty_building,) = await buildings(bot, "3号楼")
    li = await person(bot, fake, COORDINATOR_ID, "Li")
    wang = await person(bot, fake, 101, "Wang")
    # A resident may not broadcast, by command or by a forged button.
    await wang.send("/broadcast 大家好")
    await wang.wait_for("没有权限")
    await li.send("/broadcast")
    await li.wait_for("新的社区通知")
    await li.send_sticker()
    await li.wait_for("请发送文字、图片或文件")
    await li.send_photo(caption="图" * 1000)
    await li.wait_for("说明文字太长了")
    await li.send_photo(caption="<b>社区</b>活动照片")
    who = await li.wait_for("这条社区通知发给谁")
    await li.press(who, "某个楼院")
    await li.press(await li.wait_for("发给哪个楼院"), "3号楼")
    assert any("这个范围里没有人" in a.text for a in fake.answered_callbacks if a.text)
    await li.press(who, "« 返回")  # the list was shown in the same message
    await li.press(await li.wait_for("这条社区通知发给谁"), "所有人")
    confirm = await li.wait_for("将发给 2 人")
    draft_id = int(confirm.buttons[0][1].split(":")[-1])
    await wang.press_data(confirm, f"bc:go:{draft_id}")  # a forged press by a resident
    await fake.wait_idle()
    assert wang.inbox[-1].text is not None and "大家好" not in wang.inbox[-1].text
    assert not any("活动照片" in (m.caption or "") for m in wang.inbox)
    await li.press(confirm, "现在发送")
    photo = await wang.wait_for("活动照片")
    # What the coordinator typed is shown as typed: escaped, never taken as markup.
    assert photo.photo and photo.caption is not None
    assert photo.caption.endswith("<b>社区</b>活动照片")
    await li.press_data(confirm, f"bc:go:{draft_id}")  # the old button pressed again
    await fake.wait_idle()
    assert any("已经发出或已取消" in (a.text or "") for a in fake.answered_callbacks)
    assert len([m for m in wang.inbox if m.photo]) == 1
    assert bot.services is not None
    async with bot.services.store.read() as conn:
        counts = await outbox_repo.status_counts(conn)
    assert counts[OutboxStatus.FAILED] == 0 and empty_building > 0


async def test_an_urgent_broadcast_also_reaches_those_who_turned_announcements_off(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    li = await person(bot, fake, COORDINATOR_ID, "Li")
    wang = await person(bot, fake, 101, "Wang")
    quiet = await person(bot, fake, 102, "Sun")
    assert bot.services is not None
    await bot.services.users.update_profile(quiet.id, announcements=False)
    await li.send("/broadcast 燃气管道抢修，请勿开火")
    await li.press(await li.wait_for("这条社区通知发给谁"), "居民（非党员志愿者）")
    confirm = await li.wait_for("将发给 1 人")
    await li.press(confirm, "标为紧急")
    preview = await li.wait_for("紧急通知")  # the preview again, with the urgent header
    assert preview.text.startswith("❗")
    confirm = await li.wait_for("将发给 2 人")
    await li.press(confirm, "现在发送")
    for resident in (wang, quiet):
        message = await resident.wait_for("燃气管道抢修")
        assert message.text.startswith("❗")


async def test_a_refused_preview_is_explained_in_chinese_not_in_telegrams_english(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    li = await person(bot, fake, COORDINATOR_ID, "Li")
    await person(bot, fake, 101, "Wang")
    await li.send("/broadcast")
    await li.wait_for("新的社区通知")
    await li.send_photo(caption="活动照片")
    who = await li.wait_for("这条社区通知发给谁")
    fake.fail_next("sendPhoto", status=502)  # Telegram answers the preview with "Bad Gateway"

    await li.press(who, "所有人")

    refused = await li.wait_for("Telegram 没有接受这条通知")
    assert refused.text == "Telegram 没有接受这条通知：原因不明。请重新发送。"


async def test_a_team_named_dui_is_not_called_dui_fuwudui(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    li = await person(bot, fake, COORDINATOR_ID, "Li")
    await person(bot, fake, 101, "Wang")
    services = bot.services
    assert services is not None
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, 101, Role.MEMBER, None, services.clock.now())
    coordinator = await services.users.require(COORDINATOR_ID)
    await services.teams.create(coordinator, name="法律援助队", kind=TeamKind.LEGAL, leader_id=101)
    await li.send("/broadcast 周六上午法律咨询")
    await li.press(await li.wait_for("这条社区通知发给谁"), "某个服务队")

    await li.press(await li.wait_for("发给哪个服务队"), "法律援助队")

    chosen = await li.wait_for("发送范围")
    assert chosen.text == "发送范围：法律援助队"
    assert "将发给 1 人（法律援助队）" in (await li.wait_for("将发给")).text
