"""Nudges on stuck wishes and the coordinators' view of them, over the real bot and the fake
Bot API, with the clock moved (never slept): the helper past the needed-by time (after their
quiet hours), the resident asked to confirm after 48 and 96 hours and the coordinators told
after that — nothing once she confirmed; /stuck's three lists, cancel with a reason, hand over;
forged buttons from a member and from coordinators elsewhere are refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.models import (
    Node,
    NodeKind,
    ReminderStatus,
    Role,
    Skill,
    TeamKind,
    WishCategory,
    WishStatus,
)
from bot.services import Services
from bot.services.wishes import StuckKind, WishDraft
from bot.services.wishes.stuck import HandsFull, MemberUnreachable
from handlers.wishes.buttons import (
    StuckCancel,
    StuckCard,
    StuckHandOver,
    StuckHandTo,
    StuckList,
    StuckReopen,
)
from storage import org
from storage import users as users_repo
from storage.schema import outbox
from tests.conftest import COORDINATOR_ID
from tests.e2e import posting
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

RESIDENT, HELPER, OTHER = 1, 10, 11
PHONE = "13911112222"
ELSEWHERE, BUILDING_COORDINATOR = 20, 21  # coordinators of another community, another building


@dataclass
class Place:
    services: Services
    resident: FakeUser
    helper: FakeUser
    other: FakeUser
    coordinator: FakeUser
    building_id: int


def _services(bot: RunningBot) -> Services:
    assert bot.services is not None
    return bot.services


@pytest.fixture
async def place(bot: RunningBot, fake: FakeBotApi) -> Place:
    """A resident of 7号楼, two members there, the district's coordinator (the configured one)."""
    services = _services(bot)
    async with services.store.transaction() as conn:
        building = await org.add_building(
            conn, services.default_community_id, "7号楼", services.clock.now()
        )
    await services.users.register(
        RESIDENT, display_name="王奶奶", language="zh", building_id=building.id, phone=PHONE
    )
    for uid, name in ((HELPER, "小赵"), (OTHER, "小钱")):
        await services.users.register(
            uid, display_name=name, language="zh", building_id=building.id
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
        coordinator=fake.user(COORDINATOR_ID, "Li"),
        building_id=building.id,
    )


async def _post(place: Place, text: str, needed_by: datetime | None = None) -> int:
    services = place.services
    resident = await services.users.require(RESIDENT)
    draft = WishDraft(category=WishCategory.REPAIRS, text=text, needed_by=needed_by)
    return (await services.wishes.post(resident, draft)).id


async def _claim(place: Place, wish_id: int, member: int = HELPER) -> None:
    services = place.services
    await services.wishes.claim(await services.users.require(member), wish_id)


async def _done(place: Place, wish_id: int, member: int = HELPER) -> None:
    services = place.services
    await services.wishes.report_done(await services.users.require(member), wish_id, note="好了")


async def _sweep(bot: RunningBot, fake: FakeBotApi) -> None:
    await _services(bot).reminders.run_due()
    await fake.wait_idle(quiet=0.3)


async def queued(services: Services, chat_id: int, kind: str) -> list[datetime]:
    """When each message of this notice kind for this chat may leave (queued or sent): what
    was decided, whatever the paced sender has delivered so far."""
    async with services.store.read() as conn:
        rows = await conn.scalars(
            select(outbox.c.not_before)
            .where(outbox.c.chat_id == chat_id, outbox.c.kind == kind)
            .order_by(outbox.c.id)
        )
        return list(rows)


def _texts(user: FakeUser, needle: str) -> list[str]:
    return [m.text or "" for m in user.inbox if needle in (m.text or "")]


async def test_the_helper_is_reminded_past_the_needed_by_time_after_their_quiet_hours(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    helper = place.helper
    await posting.post(place.resident, "厨房的灯坏了", kind="家庭维修", when="明天")
    await helper.press(await helper.wait_for("新微心愿"), "我来帮忙")
    await helper.wait_for("由您认领了")

    # Needed by tomorrow 23:59 in Shanghai; a minute later it is past midnight, quiet hours.
    clock.current = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    await _sweep(bot, fake)
    morning = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)  # 07:00 local, when quiet hours end
    assert await queued(place.services, HELPER, "wish.overdue") == [morning]
    assert _texts(helper, "⏰") == []
    clock.current = datetime(2026, 11, 26, 22, 59, tzinfo=UTC)  # 06:59 local
    await _sweep(bot, fake)
    assert _texts(helper, "⏰") == []
    clock.current = datetime(2026, 11, 26, 23, 1, tzinfo=UTC)  # 07:01 local: morning
    nudge = await helper.wait_for("⏰")
    assert "还没有报告完成" in nudge.text and "11月26日" in nudge.text
    assert [label for label, _ in nudge.buttons] == ["报告完成", "退回微心愿", "详情"]
    clock.advance(days=3)
    await _sweep(bot, fake)
    assert await queued(place.services, HELPER, "wish.overdue") == [morning]  # once
    assert await queued(place.services, RESIDENT, "wish.overdue") == []


async def test_a_team_claim_reminds_its_leader_too_and_a_claim_without_a_date_nobody(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    services = place.services
    coordinator = await services.users.require(COORDINATOR_ID)
    team = await services.teams.create(
        coordinator, name="维修队", kind=TeamKind.OTHER, leader_id=OTHER
    )
    await services.teams.add_member(coordinator, team.id, HELPER)
    dated = await _post(place, "修水管", needed_by=clock.now() + timedelta(hours=5))
    undated = await _post(place, "修门锁")
    helper = await services.users.require(HELPER)
    await services.wishes.claim(helper, dated, team_id=team.id)
    await services.wishes.claim(helper, undated)
    clock.advance(hours=5, minutes=1)  # 15:01 local
    await _sweep(bot, fake)
    assert f"#{dated}" in (await place.helper.wait_for("⏰")).text
    assert f"#{dated}" in (await place.other.wait_for("⏰")).text  # the team's leader
    clock.advance(days=40)
    await _sweep(bot, fake)
    assert len(await queued(services, HELPER, "wish.overdue")) == 1
    assert len(await queued(services, OTHER, "wish.overdue")) == 1


async def test_the_resident_is_asked_at_48_and_96_hours_then_the_coordinators_are_told(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    wish_id = await _post(place, "换灯泡")
    await _claim(place, wish_id)
    await _done(place, wish_id)
    await place.resident.wait_for("办好了吗")
    clock.advance(hours=47)
    await _sweep(bot, fake)
    assert await queued(place.services, RESIDENT, "wish.confirm_nudge") == []
    clock.advance(hours=1, minutes=1)
    first = await place.resident.wait_for("按钮告诉我们")
    assert "小赵 说您的微心愿" in first.text
    assert [label for label, _ in first.buttons] == ["是的，办好了", "还没有办好"]
    clock.advance(hours=48)
    await place.resident.wait_for(lambda m: len(_texts(place.resident, "按钮告诉我们")) == 2)
    assert await queued(place.services, COORDINATOR_ID, "wish.unconfirmed") == []
    clock.advance(hours=48)
    told = await place.coordinator.wait_for("提醒了两次")
    assert f"#{wish_id}" in told.text and "6 天前" in told.text and "王奶奶" in told.text
    assert [label for label, _ in told.buttons] == ["详情"]
    assert len(await queued(place.services, RESIDENT, "wish.confirm_nudge")) == 2


async def test_nothing_more_is_sent_once_the_resident_confirmed(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    wish_id = await _post(place, "换灯泡")
    await _claim(place, wish_id)
    await _done(place, wish_id)
    clock.advance(hours=48, minutes=1)
    nudge = await place.resident.wait_for("按钮告诉我们")
    await place.resident.press(nudge, "是的，办好了")  # the confirm flow of /mywishes
    await place.resident.wait_for("打几颗星")
    clock.advance(days=10)
    await _sweep(bot, fake)
    assert len(await queued(place.services, RESIDENT, "wish.confirm_nudge")) == 1
    assert await queued(place.services, COORDINATOR_ID, "wish.unconfirmed") == []
    reminders = await place.services.reminders.about(f"wish:{wish_id}")
    assert {r.status for r in reminders if r.kind.startswith("wish.confirm")} == {
        ReminderStatus.SENT,
        ReminderStatus.CANCELLED,
    }


async def _stuck_list(coordinator: FakeUser, label: str) -> FakeMessage:
    """/stuck, then one of its lists (the menu message turns into it)."""
    await coordinator.send("/stuck")
    menu = await coordinator.wait_for("待处理心愿")
    await coordinator.press(menu, label)
    return await coordinator.wait_for(lambda m: label in (m.text or ""))


def ids(listing: FakeMessage) -> list[str]:
    return [label.split(" ")[0] for label, _ in listing.buttons if label.startswith("#")]


async def test_a_coordinator_sees_the_three_lists_cancels_with_a_reason_and_hands_over(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    coordinator = place.coordinator
    waiting = await _post(place, "想找人陪我下棋")
    late = await _post(place, "修水管", needed_by=clock.now() + timedelta(days=1))
    unconfirmed = await _post(place, "换灯泡")
    fresh_done = await _post(place, "贴春联")
    await _claim(place, late)
    await _claim(place, unconfirmed, OTHER)
    await _done(place, unconfirmed, OTHER)
    clock.advance(days=4)
    await _claim(place, fresh_done, OTHER)
    await _done(place, fresh_done, OTHER)
    await _sweep(bot, fake)

    assert ids(await _stuck_list(coordinator, "待认领超过 3 天")) == [f"#{waiting}"]
    assert ids(await _stuck_list(coordinator, "办理中，已过期限")) == [f"#{late}"]
    assert ids(await _stuck_list(coordinator, "已办好，待确认")) == [f"#{unconfirmed}"]

    # Cancel the open one, with a reason the resident reads in her language.
    listing = await _stuck_list(coordinator, "待认领超过 3 天")
    await coordinator.press(listing, listing.buttons[0][0])
    card = await coordinator.wait_for(lambda m: "取消微心愿（需写原因）" in str(m.buttons))
    assert PHONE in card.text  # coordinators see the contact
    await coordinator.press(card, "取消微心愿（需写原因）")
    await coordinator.wait_for("为什么要取消")
    await coordinator.send("已经有邻居 <陪她> 下棋了")
    await coordinator.wait_for("已取消")
    # Her chat has a queue (offers, nudges; one message a second): give it time.
    told = await place.resident.wait_for("社区工作人员取消了您的微心愿", timeout=20)
    assert f"#{waiting}" in told.text and "原因：已经有邻居 <陪她> 下棋了" in told.text
    # Hand the late one over from 小赵 to 小钱.
    listing = await _stuck_list(coordinator, "办理中，已过期限")
    await coordinator.press(listing, listing.buttons[0][0])
    card = await coordinator.wait_for(lambda m: "改派给别人" in str(m.buttons))
    await coordinator.press(card, "改派给别人")
    choose = await coordinator.wait_for("改由谁来办")
    assert [label for label, _ in choose.buttons][:1] == ["小钱"]
    assert "小赵" not in str(choose.buttons) and "王奶奶" not in str(choose.buttons)
    await coordinator.press(choose, "小钱")
    await coordinator.wait_for("现在由 小钱 办理")
    await place.other.wait_for(f"把微心愿 #{late}")
    await place.helper.wait_for("交给 小钱 办理")
    await place.resident.wait_for("小钱 认领了您的微心愿", timeout=20)
    await place.other.send("/mytasks")
    tasks = await place.other.wait_for("我的任务")
    assert any(label.startswith(f"#{late} ") for label, _ in tasks.buttons)
    wish = await place.services.wishes.view(await place.services.users.require(OTHER), late)
    assert wish.status is WishStatus.CLAIMED and wish.claimed_by == OTHER
    assert ids(await _stuck_list(coordinator, "待认领超过 3 天")) == []


async def test_put_back_to_open_offers_the_wish_again(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    late = await _post(place, "修水管")
    await _claim(place, late)
    clock.advance(days=8)  # claimed a week ago, no date
    assert ids(await _stuck_list(place.coordinator, "办理中，已过期限")) == [f"#{late}"]
    await place.coordinator.press_data(None, StuckReopen(wish_id=late, held_by=HELPER).pack())
    await place.coordinator.wait_for("已重新开放")
    await place.resident.wait_for("重新开放，我们正在为您另找党员志愿者")
    await place.helper.wait_for("重新设为待认领")
    # Offered again (the first offers went stale in the week the clock jumped), not to the
    # former helper.
    assert len(await queued(place.services, OTHER, "wish.offered")) == 2
    assert len(await queued(place.services, HELPER, "wish.offered")) == 1
    await place.other.wait_for("新微心愿", since=0)


async def test_a_member_and_coordinators_elsewhere_are_refused_forged_buttons(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    services = place.services
    waiting = await _post(place, "想找人陪我下棋")
    late = await _post(place, "修水管")
    await _claim(place, late)
    clock.advance(days=8)
    district = await services.users.require(COORDINATOR_ID)
    (street,) = await services.admin.streets(district)
    elsewhere = (await services.admin.add_community(district, street.id, "河畔社区")).id
    district = await services.users.require(COORDINATOR_ID)  # its reach now holds both
    await services.users.register(
        ELSEWHERE, display_name="外社区", language="zh", building_id=None, community_id=elsewhere
    )
    await services.admin.appoint(district, ELSEWHERE, Node(kind=NodeKind.COMMUNITY, id=elsewhere))
    other_building = (
        await services.admin.add_building(district, "9号楼", services.default_community_id)
    ).id
    await services.users.register(
        BUILDING_COORDINATOR, display_name="九号楼", language="zh", building_id=other_building
    )
    await services.admin.appoint(
        district, BUILDING_COORDINATOR, Node(kind=NodeKind.BUILDING, id=other_building)
    )
    forged = [
        StuckCard(wish_id=waiting),
        StuckCancel(wish_id=waiting),
        StuckHandOver(wish_id=late, after=0),
        StuckHandTo(wish_id=late, user_id=OTHER, held_by=HELPER),
        StuckReopen(wish_id=late, held_by=HELPER),
    ]
    refusals = {
        place.other: "抱歉，您没有权限进行此操作。",  # a member of the community
        fake.user(ELSEWHERE, "Else"): "没有这个编号的微心愿。",
        fake.user(BUILDING_COORDINATOR, "Nine"): "没有这个编号的微心愿。",
    }
    for person, refusal in refusals.items():
        before = len(person.inbox)
        for button in forged:
            assert await person.press_data(None, button.pack()) == refusal, (person, button)
        assert await person.press_data(None, StuckList(kind=StuckKind.LATE, after=0).pack()) in (
            refusal,
            None,
        )
        await fake.wait_idle(quiet=0.3)
        shown = " ".join(m.text or "" for m in person.inbox[before:])
        assert "修水管" not in shown and "下棋" not in shown and PHONE not in shown
    viewer = await services.users.require(COORDINATOR_ID)
    assert (await services.wishes.view(viewer, waiting)).status is WishStatus.OPEN
    moved = await services.wishes.view(viewer, late)
    assert moved.status is WishStatus.CLAIMED and moved.claimed_by == HELPER
    for coordinator in (ELSEWHERE, BUILDING_COORDINATOR):
        theirs = await services.wishes.stuck(
            await services.users.require(coordinator), StuckKind.LATE
        )
        assert theirs.wishes == ()
    assert [w.id for w in (await services.wishes.stuck(viewer, StuckKind.LATE)).wishes] == [late]


async def test_a_wish_put_back_past_its_time_is_offered_for_days_not_expired_at_once(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    services = place.services
    late = await _post(place, "修水管", needed_by=clock.now() + timedelta(hours=2))
    await _claim(place, late)
    clock.advance(days=2)  # past its time and its day of grace: an open wish would expire
    coordinator = await services.users.require(COORDINATOR_ID)
    await services.wishes.reopen(coordinator, late, held_by=HELPER)
    clock.advance(hours=1)
    await _sweep(bot, fake)
    assert (await services.wishes.view(coordinator, late)).status is WishStatus.OPEN
    await place.other.wait_for("新微心愿", since=0)  # asked again, and there is time to answer
    clock.advance(days=3)
    await _sweep(bot, fake)
    assert (await services.wishes.view(coordinator, late)).status is WishStatus.EXPIRED


async def test_text_typed_after_leaving_a_cancellation_cancels_nothing(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    coordinator = place.coordinator
    waiting = await _post(place, "想找人陪我下棋")
    clock.advance(days=4)
    await coordinator.press_data(None, StuckCancel(wish_id=waiting).pack())
    asked = await coordinator.wait_for("为什么要取消")
    await coordinator.send_voice()
    await coordinator.wait_for("请用文字写原因")  # a voice note is not a reason she can read
    await coordinator.press_data(asked, StuckList(kind=StuckKind.OPEN, after=0).pack())
    await coordinator.wait_for(lambda m: f"#{waiting}" in str(m.buttons))
    await coordinator.send("好的")  # a word to someone else, say
    await coordinator.wait_for("没有取消任何微心愿")
    viewer = await place.services.users.require(COORDINATOR_ID)
    assert (await place.services.wishes.view(viewer, waiting)).status is WishStatus.OPEN
    assert _texts(place.resident, "取消了您的微心愿") == []


async def test_a_stale_hand_over_or_reopen_button_changes_nothing(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    """Two coordinators looked at the same late wish; one handed it to 小钱. The other's
    buttons, shown while 小赵 had it, must not move it again."""
    services = place.services
    late = await _post(place, "修水管")
    await _claim(place, late)
    clock.advance(days=8)
    coordinator = await services.users.require(COORDINATOR_ID)
    await services.wishes.reassign(coordinator, late, OTHER, held_by=HELPER)
    stale = [
        StuckReopen(wish_id=late, held_by=HELPER),
        StuckHandTo(wish_id=late, user_id=RESIDENT + 100, held_by=HELPER),
    ]
    for button in stale:
        answered = await place.coordinator.press_data(None, button.pack())
        assert answered == "这个微心愿的状态已经变了，这个按钮不能用了，没有做任何更改。"
    wish = await services.wishes.view(coordinator, late)
    assert wish.status is WishStatus.CLAIMED and wish.claimed_by == OTHER


async def test_a_wish_is_not_handed_to_someone_the_bot_cannot_reach_or_whose_hands_are_full(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    services = place.services
    late = await _post(place, "修水管")
    await _claim(place, late)
    coordinator = await services.users.require(COORDINATOR_ID)
    await services.users.set_reachable(OTHER, False)  # 小钱 blocked the bot
    with pytest.raises(MemberUnreachable):
        await services.wishes.reassign(coordinator, late, OTHER, held_by=HELPER)
    await services.users.set_reachable(OTHER, True)
    limit = services.settings.max_active_claims
    for n in range(limit):
        await _claim(place, await _post(place, f"第{n}件事"), OTHER)
    with pytest.raises(HandsFull):
        await services.wishes.reassign(coordinator, late, OTHER, held_by=HELPER)
    wish = await services.wishes.view(coordinator, late)
    assert wish.claimed_by == HELPER
