"""/news over the real bot: the announcements that reached a person, newest first, five a
page with 上一页/下一页; one that did not reach them is not there; a long one opens in full."""

from __future__ import annotations

from bot.models import AudienceKind
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.e2e.test_broadcast import buildings, person
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

WANG, ZHAO, SUN = 101, 201, 301


async def announce(li: FakeUser, text: str, audience: str, building: str | None = None) -> None:
    """A coordinator sends an announcement the way they would, through /broadcast."""
    await li.send("/broadcast")
    await li.wait_for("新的社区通知")
    await li.send(text)
    await li.press(await li.wait_for("这条社区通知发给谁"), audience)
    if building is not None:
        await li.press(await li.wait_for("发给哪个楼院"), building)
    await li.press(await li.wait_for("将发给"), "现在发送")


async def all_sent(li: FakeUser, count: int) -> None:
    """The coordinator has been told `count` announcements finished: every row is settled (a
    person's archive shows what was marked delivered, which follows the message itself)."""

    def finished(_message: FakeMessage) -> bool:
        return sum("通知已发送完毕" in (m.text or "") for m in li.inbox) >= count

    await li.wait_for(finished, since=0, timeout=10)


async def test_news_shows_what_reached_you_newest_first_page_by_page(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    a, b = await buildings(bot, "3号楼", "5号楼")
    li = await person(bot, fake, COORDINATOR_ID, "Li")
    wang = await person(bot, fake, WANG, "王奶奶", a)
    zhao = await person(bot, fake, ZHAO, "赵大爷", b)

    await announce(li, "明天上午停水，请提前储水", "所有人")
    await wang.wait_for("停水")
    await zhao.wait_for("停水")
    await all_sent(li, 1)
    bot.clock.advance(hours=1)
    await announce(li, "3号楼电梯周五检修", "某个楼院", "3号楼")
    await wang.wait_for("电梯")
    await all_sent(li, 2)

    await wang.send("/news")
    page = await wang.wait_for("社区通知")
    assert page.text.index("电梯") < page.text.index("停水")  # newest first
    assert "北气象巷社区通知" in page.text  # the heading it was sent with
    assert "10:00" in page.text and "11:00" in page.text  # local times (Asia/Shanghai)
    assert page.buttons == []  # one page only

    await zhao.send("/news")
    theirs = await zhao.wait_for("社区通知")
    assert "停水" in theirs.text and "电梯" not in theirs.text  # not in that building

    # Four more (one long) to everyone: six in all for Wang, two pages.
    assert bot.services is not None
    coordinator = await bot.services.users.require(li.id)
    long_text = "社区活动安排：" + "请大家积极参加。" * 80 + "完"
    for body in ("一号通知", "二号通知", "三号通知", long_text):
        bot.clock.advance(hours=1)
        draft = await bot.services.broadcasts.create_draft(coordinator, text=body)
        await bot.services.broadcasts.choose_audience(
            coordinator, draft.broadcast.id, AudienceKind.EVERYONE
        )
        await bot.services.broadcasts.send_now(coordinator, draft.broadcast.id)
        await wang.wait_for(body[:6])
    await all_sent(li, 6)

    await wang.send("/news")
    first = await wang.wait_for("第 1 页")
    assert "社区活动安排" in first.text and "完" not in first.text.split("社区活动安排")[1]
    assert "一号通知" in first.text and "停水" not in first.text
    assert [label for label, _ in first.buttons][-1] == "下一页"
    await wang.press(first, "下一页")
    second = await wang.wait_for("第 2 页")
    assert "停水" in second.text and "电梯" not in second.text
    await wang.press(second, "上一页")
    again = await wang.wait_for("第 1 页")
    assert "电梯" in again.text
    (read_full,) = [label for label, _ in again.buttons if "看全文" in label]
    await wang.press(again, read_full)
    full = await wang.wait_for("请大家积极参加。完")
    assert full.text.count("请大家积极参加") == 80

    sun = await person(bot, fake, SUN, "孙阿姨", a)  # registered after all of them
    await sun.send("/news")
    await sun.wait_for("您还没有收到过社区通知")
