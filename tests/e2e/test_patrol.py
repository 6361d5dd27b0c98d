"""Patrol duty (巡逻值守) as members and coordinators use it, over the real bot and the fake
Bot API, in zh, the community in Asia/Shanghai and the machine in UTC: a shift taken from the
home button, reminded the evening before and an hour before at the right local times,
checked in (with a location) and out, and credited in the passbook; a swap taken by the first
to accept; a shift short of members and a late drop-out alerting the coordinators, who let
the member off; the bot restarted between taking a shift and its reminder still reminding
once; and bad input (a full shift, an overlapping one, someone else's shift, outside the
window, by forged buttons) answered clearly with nothing changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.clock import ManualClock
from bot.i18n import translator
from bot.models import Role, Shift
from bot.services import Services
from handlers.home import home_rows
from handlers.patrol.buttons import CheckIn, CheckOut, TakeShift
from storage import org
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeUser

ZHAO, QIAN, SUN = 10, 11, 12
TOMORROW = date(2026, 11, 26)  # the suite's clock: 10:00 in Shanghai on Wednesday 25 November


@dataclass
class Place:
    services: Services
    zhao: FakeUser
    qian: FakeUser
    sun: FakeUser
    coordinator: FakeUser
    post_id: int


async def _place(bot: RunningBot, fake: FakeBotApi) -> Place:
    assert bot.services is not None
    services = bot.services
    now = services.clock.now()
    async with services.store.transaction() as conn:
        building = await org.add_building(conn, services.default_community_id, "7号楼", now)
    for uid, name in ((ZHAO, "小赵"), (QIAN, "小钱"), (SUN, "小孙")):
        await services.users.register(
            uid, display_name=name, language="zh", building_id=building.id
        )
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, uid, Role.MEMBER, None, now)
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    coordinator = await services.users.require(COORDINATOR_ID)
    post = await services.patrol.create_post(
        coordinator, name="东门岗", area="东门和停车场", building_ids=[building.id]
    )
    return Place(
        services=services,
        zhao=fake.user(ZHAO, "Zhao", language_code="zh"),
        qian=fake.user(QIAN, "Qian", language_code="zh"),
        sun=fake.user(SUN, "Sun", language_code="zh"),
        coordinator=fake.user(COORDINATOR_ID, "Li", language_code="zh"),
        post_id=post.id,
    )


@pytest.fixture
async def place(bot: RunningBot, fake: FakeBotApi) -> Place:
    return await _place(bot, fake)


async def _shift(
    services: Services,
    post_id: int,
    *,
    day: date = TOMORROW,
    start: time = time(19),
    end: time = time(21),
    capacity: int = 2,
) -> Shift:
    coordinator = await services.users.require(COORDINATOR_ID)
    (shift,) = await services.patrol.define_shifts(
        coordinator, post_id, day=day, start=start, end=end, capacity=capacity
    )
    return shift


async def _taken(services: Services, slot_id: int) -> int:
    coordinator = await services.users.require(COORDINATOR_ID)
    return (await services.patrol.shift(coordinator, slot_id)).slot.taken


async def test_a_shift_is_taken_reminded_at_local_times_checked_in_and_out_and_credited(
    place: Place, clock: ManualClock
) -> None:
    services, zhao = place.services, place.zhao
    shift = await _shift(services, place.post_id)
    label = "🚓 巡逻值守"
    assert any(label in row for row in home_rows(translator("zh"), frozenset({Role.MEMBER})))

    await zhao.send(label)  # the home keyboard's button
    screen = await zhao.wait_for("我的班次")
    assert "您近期没有班次" in (screen.text or "")
    await zhao.press(screen, "11月26日周四 ▶")
    tomorrow = await zhao.wait_for("11月26日周四的班次")
    assert "19:00–21:00 东门岗 (0/2 人)" in (tomorrow.text or "")
    await zhao.press(tomorrow, "✋ 报名 19:00–21:00 东门岗")
    card = await zhao.wait_for("报名成功")
    assert "11月26日周四 19:00–21:00" in (card.text or "")
    assert await _taken(services, shift.slot.id) == 1

    # The evening before, at 19:00 in Shanghai (11:00 UTC): not a minute earlier.
    clock.current = datetime(2026, 11, 25, 10, 59, tzinfo=UTC)
    await services.reminders.run_due()
    clock.current = datetime(2026, 11, 25, 11, 0, 30, tzinfo=UTC)
    await services.reminders.run_due()
    evening = await zhao.wait_for("明天有巡逻值守", timeout=10)
    assert "11月26日周四 19:00–21:00" in (evening.text or "") and "东门岗" in (evening.text or "")

    # An hour before the start: 18:00 local, 10:00 UTC.
    clock.current = datetime(2026, 11, 26, 10, 0, 30, tzinfo=UTC)
    await services.reminders.run_due()
    soon = await zhao.wait_for("19:00 开始", timeout=10)
    assert "东门岗" in (soon.text or "")

    # Checked in at 18:50 local, with the location after.
    clock.current = datetime(2026, 11, 26, 10, 50, tzinfo=UTC)
    await zhao.press(soon, "📋 查看班次")
    opened = await zhao.wait_for(lambda m: "✅ 签到" in [b for b, _ in m.buttons])
    await zhao.press(opened, "✅ 签到")
    checked = await zhao.wait_for("18:50 已签到")
    assert "🏁 签退" in [b for b, _ in checked.buttons]
    await zhao.wait_for("发送您的位置")
    await zhao.send_location(39.9, 116.4)
    await zhao.wait_for("位置已记下")
    signup = await services.patrol.my_signup(await services.users.require(ZHAO), shift.slot.id)
    assert signup is not None and signup.latitude == pytest.approx(39.9)

    # Checked out at 21:05 local: two hours served.
    clock.current = datetime(2026, 11, 26, 13, 5, tzinfo=UTC)
    await zhao.press(checked, "🏁 签退")
    out = await zhao.wait_for("已签退")
    assert "巡逻值守 2 小时已记入您的爱心存折" in (out.text or "")
    await zhao.send("/passbook")
    passbook = await zhao.wait_for("巡逻值守")
    assert "+10" in (passbook.text or "")


async def test_a_swap_goes_to_the_first_member_who_accepts(place: Place) -> None:
    services = place.services
    shift = await _shift(services, place.post_id)
    zhao = await services.users.require(ZHAO)
    await services.patrol.take(zhao, shift.slot.id)

    await place.zhao.send("/patrol")
    screen = await place.zhao.wait_for("我的班次")
    await place.zhao.press(screen, "📋 11月26日周四 19:00–21:00 东门岗")
    card = await place.zhao.wait_for(lambda m: "🔁 找人换班" in [b for b, _ in m.buttons])
    await place.zhao.press(card, "🔁 找人换班")
    await place.zhao.wait_for("已转给 2 位党员志愿者")

    offer_qian = await place.qian.wait_for("小赵去不了东门岗的巡逻班次", timeout=10)
    offer_sun = await place.sun.wait_for("小赵去不了东门岗的巡逻班次", timeout=10)
    assert "11月26日周四 19:00–21:00" in (offer_qian.text or "")
    await place.qian.press(offer_qian, "✋ 我来接班")
    await place.qian.wait_for("由您接班")
    assert await place.sun.press(offer_sun, "✋ 我来接班") == "抱歉，这个班次已经有人接了。"
    await place.zhao.wait_for("小钱接了您在东门岗的巡逻班次", timeout=10)

    qian = await services.users.require(QIAN)
    assert [s.slot.id for s, _ in await services.patrol.my_shifts(qian)] == [shift.slot.id]
    assert await services.patrol.my_shifts(zhao) == []
    assert await _taken(services, shift.slot.id) == 1


async def test_a_short_shift_and_a_late_drop_out_alert_the_coordinators(
    place: Place, clock: ManualClock
) -> None:
    services = place.services
    shift = await _shift(services, place.post_id, day=TOMORROW + timedelta(days=1))
    await services.patrol.take(await services.users.require(ZHAO), shift.slot.id)

    clock.current = shift.slot.starts_at - timedelta(hours=24) + timedelta(seconds=30)
    await services.reminders.run_due()
    short = await place.coordinator.wait_for("目前只有 1 人报名", timeout=10)
    assert "11月27日周五 19:00–21:00" in (short.text or "")

    clock.current = shift.slot.starts_at - timedelta(hours=6)  # past the 12 hours
    await place.zhao.send("/patrol")
    screen = await place.zhao.wait_for("我的班次")
    await place.zhao.press(screen, "📋 11月27日周五 19:00–21:00 东门岗")
    card = await place.zhao.wait_for(lambda m: "🙅 去不了" in [b for b, _ in m.buttons])
    await place.zhao.press(card, "🙅 去不了")
    await place.zhao.wait_for("离开始已不到 12 小时")
    alert = await place.coordinator.wait_for("小赵临时去不了东门岗的巡逻班次", timeout=10)
    assert await _taken(services, shift.slot.id) == 1  # still on it until let off
    await place.coordinator.press(alert, "✅ 准假")
    await place.coordinator.wait_for("已准假，这个名额空出来了")
    await place.zhao.wait_for("社区工作人员已准假", timeout=10)
    assert await _taken(services, shift.slot.id) == 0


async def test_a_restart_between_taking_a_shift_and_its_reminder_still_reminds_once(
    bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    shift = await _shift(place.services, place.post_id)
    await place.services.patrol.take(await place.services.users.require(ZHAO), shift.slot.id)
    await bot.restart()
    assert bot.services is not None
    clock.current = datetime(2026, 11, 25, 11, 0, 30, tzinfo=UTC)
    await bot.services.reminders.run_due()
    await bot.services.reminders.run_due()
    await place.zhao.wait_for("明天有巡逻值守", timeout=10)
    await bot.restart()
    assert bot.services is not None
    await bot.services.reminders.run_due()
    reminders = [m for m in place.zhao.inbox if "明天有巡逻值守" in (m.text or "")]
    assert len(reminders) == 1


async def test_bad_input_is_answered_clearly_and_changes_nothing(
    place: Place, clock: ManualClock
) -> None:
    services = place.services
    full = await _shift(services, place.post_id, capacity=1)
    overlapping = await _shift(services, place.post_id, start=time(20), end=time(22))
    await services.patrol.take(await services.users.require(QIAN), full.slot.id)
    await services.patrol.take(await services.users.require(ZHAO), overlapping.slot.id)

    answer = await place.sun.press_data(None, TakeShift(slot_id=full.slot.id).pack())
    assert answer == "抱歉，人已经满了。"
    third = await _shift(services, place.post_id, start=time(19, 30), end=time(20, 30))
    answer = await place.zhao.press_data(None, TakeShift(slot_id=third.slot.id).pack())
    assert answer is not None and "您在这个时间已经有安排了（11-26 20:00 开始）" in answer
    assert await _taken(services, third.slot.id) == 0

    # Someone else's shift, in its window, and one's own outside it.
    clock.current = full.slot.starts_at - timedelta(minutes=10)
    answer = await place.zhao.press_data(None, CheckIn(slot_id=full.slot.id).pack())
    assert answer == "您没有报名这一项。"
    answer = await place.zhao.press_data(None, CheckIn(slot_id=overlapping.slot.id).pack())
    assert answer == "只能在 11-26 19:30 到 11-26 22:00 之间办理。"
    answer = await place.zhao.press_data(None, CheckOut(slot_id=full.slot.id).pack())
    assert answer == "您没有报名这一项。"
    answer = await place.zhao.press_data(None, TakeShift(slot_id=999_999).pack())
    assert answer == "没有这个巡逻班次。"
    qian = await services.users.require(QIAN)
    signup = await services.patrol.my_signup(qian, full.slot.id)
    assert signup is not None and signup.checked_in_at is None
    assert await _taken(services, full.slot.id) == 1
