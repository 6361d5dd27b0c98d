"""Live messages: a message that shows a wish (its wall post in the members' group, the card
a resident or member opened) is edited whenever the wish changes — by a person, or by the
scheduler when nobody is pressing anything — and sent anew when it can no longer be edited."""

from __future__ import annotations

from bot.clock import ManualClock
from bot.services.wishes import WishFilter, subject_of
from bot.services.wishes.notices import CARD_VIEW
from handlers.wishes.buttons import ChooseListKind, ShowWish
from storage import live as live_repo
from storage import users as users_repo
from storage.live import PER_THING
from tests.e2e import test_wishes as wishes_e2e
from tests.e2e.conftest import RunningBot
from tests.e2e.test_wishes import (
    COORDINATOR,
    GROUP,
    HELPER,
    OTHER,
    PHONE,
    _services,
    post_wish,
    wish_id_of,
)
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

# The same community as the wish tests: a members' group, a resident, two members, a coordinator.
bot_settings = wishes_e2e.bot_settings
people = wishes_e2e.people


async def open_card(resident: FakeUser) -> FakeMessage:
    await resident.send("/mywishes")
    mine = await resident.wait_for("我的心愿")
    await resident.press(mine, mine.buttons[0][0])
    return await resident.wait_for(lambda m: "取消这个微心愿" in str(m.buttons))


async def test_expiry_by_the_scheduler_edits_the_wall_post_and_the_card(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser], clock: ManualClock
) -> None:
    resident = people["resident"]
    group = fake.group(GROUP)
    await post_wish(resident)
    wall = await group.wait_for("新微心愿", since=0)
    assert "我来帮忙" in str(wall.buttons)
    card = await open_card(resident)

    clock.advance(days=3)  # "tomorrow" plus the day of grace has passed; the sweep runs
    await resident.wait_for("重新发布")  # the notice that it expired

    await group.wait_for(lambda m: m is wall and "这个微心愿已经结束" in (m.text or ""), since=0)
    assert wall.buttons == [] or "我来帮忙" not in str(wall.buttons)
    await resident.wait_for(lambda m: m is card and "已过期" in (m.text or ""), since=0)
    assert "重新发布" in str(card.buttons) and "取消这个微心愿" not in str(card.buttons)


async def test_escalation_by_the_scheduler_edits_the_wall_post_and_the_card(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser], clock: ManualClock
) -> None:
    resident, li = people["resident"], people["coordinator"]
    group = fake.group(GROUP)
    await resident.send("/urgent")
    await resident.wait_for("您现在需要什么帮助")
    await resident.send("我在家摔倒了，起不来")
    await resident.press(await resident.wait_for("紧急求助 — 请核对"), "✅ 发布")
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
    wall = await group.wait_for("新微心愿", since=0)
    card = await open_card(resident)
    await zhao.press(await zhao.wait_for("新微心愿", since=0), "我来帮忙")
    helper_card = await zhao.wait_for(lambda m: "退回微心愿" in str(m.buttons))
    await group.wait_for(lambda m: m is wall and "已由 小赵 认领" in (m.text or ""), since=0)
    await resident.wait_for(lambda m: m is card and "小赵" in (m.text or ""), since=0)
    assert "取消这个微心愿" not in str(card.buttons)  # taken: no longer cancellable

    await zhao.press(helper_card, "退回微心愿")
    await zhao.wait_for("为什么")
    await zhao.send("临时出差")
    await zhao.wait_for("重新开放")

    await group.wait_for(
        lambda m: m is wall and "我来帮忙" in str(m.buttons) and "认领" not in (m.text or ""),
        since=0,
    )
    await resident.wait_for(lambda m: m is card and "取消这个微心愿" in str(m.buttons), since=0)
    # The helper's own card no longer shows the contact or the task buttons.
    await zhao.wait_for(lambda m: m is helper_card and PHONE not in (m.text or ""), since=0)
    assert "退回微心愿" not in str(helper_card.buttons)


async def test_a_card_deleted_by_its_reader_is_sent_anew_on_the_next_change(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao = people["resident"], people["helper"]
    services = _services(bot)
    await post_wish(resident)
    card = await open_card(resident)
    card.deleted = True  # the resident cleared the chat: Telegram cannot edit it any more

    await zhao.press(await zhao.wait_for("新微心愿", since=0), "我来帮忙")

    again = await resident.wait_for(
        lambda m: m is not card and "状态：办理中" in (m.text or ""), since=0
    )
    helper = await services.users.require(HELPER)
    (task,) = await services.wishes.tasks(helper)
    await services.wishes.report_done(helper, task.id, note="好了")
    # The new message is the one kept current from now on.
    await resident.wait_for(lambda m: m is again and "是的，办好了" in str(m.buttons), since=0)


async def test_the_wall_post_stays_current_however_many_cards_are_opened(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    services = _services(bot)
    group = fake.group(GROUP)
    await post_wish(people["resident"])
    wall = await group.wait_for("新微心愿", since=0)
    helper = await services.users.require(HELPER)
    (wish,) = (await services.wishes.browse(helper, WishFilter())).wishes
    thing = subject_of(wish.id)
    for viewer in range(1000, 1000 + PER_THING + 5):  # more members than cards kept current
        fake.user(viewer)
        await services.live.keep_current(
            key=f"{thing}:card:{viewer}",
            thing=thing,
            view=CARD_VIEW,
            chat_id=viewer,
            message_id=1,
            language="zh",
            viewer_id=viewer,
        )
    await services.wishes.claim(helper, wish.id)
    await group.wait_for(lambda m: m is wall and "已由 小赵 认领" in (m.text or ""), since=0)
    async with services.store.read() as conn:
        kept = await live_repo.for_thing(conn, thing)
    assert sum(1 for m in kept if m.viewer_id is not None) == PER_THING
    assert any(m.key == f"{thing}:wall" for m in kept)


async def test_after_the_group_became_a_supergroup_the_wall_follows_it(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    services = _services(bot)
    group = fake.group(GROUP)
    await post_wish(people["resident"])
    await group.wait_for("新微心愿", since=0)
    supergroup = fake.migrate_group(GROUP, -1009999)
    helper = await services.users.require(HELPER)
    (task,) = (await services.wishes.browse(helper, WishFilter())).wishes
    await services.wishes.claim(helper, task.id)

    # The old message cannot be edited in the new chat: the post is sent there anew.
    await supergroup.wait_for("已由 小赵 认领", since=0, timeout=10)
    await post_wish(people["resident"], "第二个心愿：帮忙搬一下柜子")
    await supergroup.wait_for("第二个心愿", since=0, timeout=10)
    await fake.wait_idle()
    to_groups = [
        c for c in fake.calls_to("editMessageText") if c.params["chat_id"] in (GROUP, -1009999)
    ]
    assert len(to_groups) <= 2  # no edit loop against the old id
    async with services.store.read() as conn:
        (wall,) = [
            m for m in await live_repo.for_thing(conn, subject_of(task.id)) if not m.viewer_id
        ]
    assert wall.chat_id == -1009999


async def test_a_card_opened_again_leaves_no_contact_on_the_older_one(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao = people["resident"], people["helper"]
    await post_wish(resident)
    offer = await zhao.wait_for("新微心愿", since=0)
    await zhao.press(offer, "我来帮忙")
    first = await zhao.wait_for(lambda m: "退回微心愿" in str(m.buttons))
    assert PHONE in (first.text or "")
    await zhao.press(offer, "详情")  # the card again, from the offer
    second = await zhao.wait_for(lambda m: m is not first and "退回微心愿" in str(m.buttons))
    assert PHONE in (second.text or "")

    # The older card is no longer kept current, so it is cleared of what it showed.
    await zhao.wait_for(lambda m: m is first and "不再更新" in (m.text or ""), since=0)
    assert PHONE not in (first.text or "") and "退回微心愿" not in str(first.buttons)

    await zhao.press(second, "退回微心愿")
    await zhao.wait_for("为什么")
    await zhao.send("临时出差")
    await zhao.wait_for(lambda m: m is second and PHONE not in (m.text or ""), since=0)
    await fake.wait_idle()
    assert all(PHONE not in (m.text or "") for m in (first, second))


async def test_a_demoted_coordinator_keeps_no_contact_on_the_cards_they_opened(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, li = people["resident"], people["coordinator"]
    services = _services(bot)
    await post_wish(resident)
    offer = await people["helper"].wait_for("新微心愿", since=0)
    await li.press_data(None, ShowWish(wish_id=wish_id_of(offer)).pack())
    card = await li.wait_for(PHONE)  # a coordinator sees the resident's phone
    await services.users.register(99, display_name="周主任", language="zh", building_id=None)
    appointed = (await services.users.require(COORDINATOR)).reach
    assert appointed is not None
    async with services.store.transaction() as conn:  # a peer of Li's
        await users_repo.appoint(conn, 99, appointed.node, None, services.clock.now())
    zhou = await services.users.require(99)
    await services.admin.set_coordinator(zhou, COORDINATOR, False)  # Li leaves the committee
    await li.wait_for(lambda m: m is card and PHONE not in (m.text or ""), since=0)


async def test_a_card_turned_into_the_list_stays_the_list(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao = people["resident"], people["helper"]
    services = _services(bot)
    await post_wish(resident)
    offer = await zhao.wait_for("新微心愿", since=0)
    await zhao.press(offer, "详情")
    card = await zhao.wait_for(lambda m: "我来帮忙" in str(m.buttons))
    await zhao.press(card, "« 待认领的微心愿")  # the card becomes the list, in place
    await zhao.wait_for(lambda m: m is card and "我来帮忙" not in str(m.buttons), since=0)
    listing = card.text
    await services.wishes.claim(await services.users.require(OTHER), wish_id_of(offer))
    await group_sees_claim(fake)
    await fake.wait_idle()
    assert card.text == listing  # the change to the wish did not turn it back into the card


async def group_sees_claim(fake: FakeBotApi) -> None:
    await fake.group(GROUP).wait_for("已由 小钱 认领", since=0)


async def test_a_forged_button_in_the_members_group_never_rewrites_the_wall(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    group = fake.group(GROUP)
    await post_wish(people["resident"])
    wall = await group.wait_for("新微心愿", since=0)
    before = wall.text
    zhao = people["helper"]
    # A client sends the list buttons' data on the wall post (no such button is on it).
    await zhao.press_data(wall, ChooseListKind().pack())
    await zhao.wait_for("哪一类微心愿", since=0)  # the answer goes to their private chat
    await fake.wait_idle()
    assert wall.text == before and "我来帮忙" in str(wall.buttons)
    assert not [m for m in group.inbox if "哪一类微心愿" in (m.text or "")]
