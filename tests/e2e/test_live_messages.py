"""Live messages: a message that shows a wish (its wall post in the members' group, the card
a resident or member opened) is edited whenever the wish changes — by a person, or by the
scheduler when nobody is pressing anything — and sent anew when it can no longer be edited."""

from __future__ import annotations

from bot.clock import ManualClock
from tests.e2e import test_wishes as wishes_e2e
from tests.e2e.conftest import RunningBot
from tests.e2e.test_wishes import GROUP, HELPER, PHONE, _services, post_wish
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

# The same community as the wish tests: a members' group, a resident, two members, a coordinator.
bot_settings = wishes_e2e.bot_settings
people = wishes_e2e.people


async def open_card(resident: FakeUser) -> FakeMessage:
    await resident.send("/mywishes")
    mine = await resident.wait_for("我的心愿")
    await resident.press(mine, mine.buttons[0][0])
    return await resident.wait_for(lambda m: "取消这个心愿" in str(m.buttons))


async def test_expiry_by_the_scheduler_edits_the_wall_post_and_the_card(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser], clock: ManualClock
) -> None:
    resident = people["resident"]
    group = fake.group(GROUP)
    await post_wish(resident)
    wall = await group.wait_for("新心愿", since=0)
    assert "我来帮忙" in str(wall.buttons)
    card = await open_card(resident)

    clock.advance(days=3)  # "tomorrow" plus the day of grace has passed; the sweep runs
    await resident.wait_for("重新发布")  # the notice that it expired

    await group.wait_for(lambda m: m is wall and "这个心愿已经结束" in (m.text or ""), since=0)
    assert wall.buttons == [] or "我来帮忙" not in str(wall.buttons)
    await resident.wait_for(lambda m: m is card and "已过期" in (m.text or ""), since=0)
    assert "重新发布" in str(card.buttons) and "取消这个心愿" not in str(card.buttons)


async def test_escalation_by_the_scheduler_edits_the_wall_post_and_the_card(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser], clock: ManualClock
) -> None:
    resident, li = people["resident"], people["coordinator"]
    group = fake.group(GROUP)
    await resident.send("/urgent")
    await resident.wait_for("您现在需要什么帮助")
    await resident.send("我在家摔倒了，起不来")
    await resident.press(await resident.wait_for("紧急求助 — 请核对"), "发布")
    wall = await group.wait_for("紧急求助", since=0)
    card = await open_card(resident)
    assert "已请社区工作人员协助" not in (card.text or "")

    clock.advance(minutes=_services(bot).settings.urgent_escalate_minutes + 1)
    await li.wait_for("还没有人认领")

    edited = "已请社区工作人员协助"
    await group.wait_for(lambda m: m is wall and edited in (m.text or ""), since=0)
    assert "我来帮忙" in str(wall.buttons)  # still open: anyone may still take it
    await resident.wait_for(lambda m: m is card and edited in (m.text or ""), since=0)


async def test_a_release_edits_the_wall_post_and_every_open_card(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao = people["resident"], people["helper"]
    group = fake.group(GROUP)
    await post_wish(resident)
    wall = await group.wait_for("新心愿", since=0)
    card = await open_card(resident)
    await zhao.press(await zhao.wait_for("新心愿", since=0), "我来帮忙")
    helper_card = await zhao.wait_for(lambda m: "退回心愿" in str(m.buttons))
    await group.wait_for(lambda m: m is wall and "已由 小赵 认领" in (m.text or ""), since=0)
    await resident.wait_for(lambda m: m is card and "小赵" in (m.text or ""), since=0)
    assert "取消这个心愿" not in str(card.buttons)  # taken: no longer cancellable

    await zhao.press(helper_card, "退回心愿")
    await zhao.wait_for("为什么")
    await zhao.send("临时出差")
    await zhao.wait_for("重新开放")

    await group.wait_for(
        lambda m: m is wall and "我来帮忙" in str(m.buttons) and "认领" not in (m.text or ""),
        since=0,
    )
    await resident.wait_for(lambda m: m is card and "取消这个心愿" in str(m.buttons), since=0)
    # The helper's own card no longer shows the contact or the task buttons.
    await zhao.wait_for(lambda m: m is helper_card and PHONE not in (m.text or ""), since=0)
    assert "退回心愿" not in str(helper_card.buttons)


async def test_a_card_deleted_by_its_reader_is_sent_anew_on_the_next_change(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao = people["resident"], people["helper"]
    services = _services(bot)
    await post_wish(resident)
    card = await open_card(resident)
    card.deleted = True  # the resident cleared the chat: Telegram cannot edit it any more

    await zhao.press(await zhao.wait_for("新心愿", since=0), "我来帮忙")

    again = await resident.wait_for(
        lambda m: m is not card and "状态：正在帮忙中" in (m.text or ""), since=0
    )
    helper = await services.users.require(HELPER)
    (task,) = await services.wishes.tasks(helper)
    await services.wishes.report_done(helper, task.id, note="好了")
    # The new message is the one kept current from now on.
    await resident.wait_for(lambda m: m is again and "是的，办好了" in str(m.buttons), since=0)
