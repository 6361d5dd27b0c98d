"""Twinning (结对帮扶) as a member uses it, over the real bot and the fake Bot API, in zh:
the home button opens /twins with the household's phone; a visit is logged in a few taps
with help in RMB, a wellbeing mark and a voice note, and shows in the passbook; a save
pressed twice logs one visit; the member is reminded when behind and the coordinators after
twice the cadence (the clock moved, not slept), and the reminder's button starts the visit;
bad dates and amounts, a large amount (confirmed or typed again) and forged buttons get a
clear answer and save nothing; an unpaired member sees no one's phone; many households are
shown a page at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.i18n import translator
from bot.models import Cadence, Circumstance, HelpKind, OutboxStatus, Role, User, VisitCategory
from bot.services import Services
from bot.services.twinning import HouseholdDraft
from handlers.home import home_rows
from handlers.twinning.visit_buttons import DueVisit, HouseholdCard, SaveVisit, StartVisit
from handlers.twinning.visit_views import TWINS_PAGE
from storage import org
from storage import users as users_repo
from storage.schema import outbox
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

HELPER, OTHER = 10, 11
PHONE, OTHER_PHONE = "13800000000", "13911112222"
NOT_PAIRED = "您没有和这户人家结对。"
BAD_AMOUNT = "请输入金额（元），例如 50 或 12.50。"
TODAY = date(2026, 11, 25)  # the suite's clock: 10:00 in Shanghai


@dataclass
class Place:
    services: Services
    helper: FakeUser  # 小赵, twinned with 张奶奶家
    other: FakeUser  # 小钱, twinned with nobody
    coordinator: FakeUser
    household_id: int
    pair_id: int
    other_household_id: int  # 李爷爷家, twinned with nobody


@pytest.fixture
async def place(bot: RunningBot, fake: FakeBotApi) -> Place:
    assert bot.services is not None
    services = bot.services
    now = services.clock.now()
    async with services.store.transaction() as conn:
        building = await org.add_building(conn, services.default_community_id, "7号楼", now)
    for uid, name in ((HELPER, "小赵"), (OTHER, "小钱")):
        await services.users.register(
            uid, display_name=name, language="zh", building_id=building.id
        )
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, uid, Role.MEMBER, None, now)
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    coordinator = await services.users.require(COORDINATOR_ID)
    twinning = services.twinning
    grandma = await twinning.register_household(
        coordinator,
        HouseholdDraft(
            name="张奶奶家",
            building_id=building.id,
            room="2-101",
            phone=PHONE,
            circumstances=frozenset({Circumstance.ELDERLY_ALONE}),
            consent=True,
        ),
    )
    grandpa = await twinning.register_household(
        coordinator,
        HouseholdDraft(name="李爷爷家", building_id=building.id, phone=OTHER_PHONE, consent=True),
    )
    pair = await twinning.pair(coordinator, HELPER, grandma.id, Cadence.WEEKLY)
    helper = fake.user(HELPER, "Zhao", language_code="zh")
    await helper.wait_for("您已和张奶奶家")  # the pairing notice, out of the way
    return Place(
        services=services,
        helper=helper,
        other=fake.user(OTHER, "Qian", language_code="zh"),
        coordinator=fake.user(COORDINATOR_ID, "Li", language_code="zh"),
        household_id=grandma.id,
        pair_id=pair.id,
        other_household_id=grandpa.id,
    )


@dataclass
class Counted:
    """The member's taps: presses, the home button, and each thing sent."""

    user: FakeUser
    taps: int = 0

    async def press(self, message: FakeMessage, label: str) -> None:
        self.taps += 1
        await self.user.press(message, label)

    async def send(self, text: str) -> None:
        self.taps += 1
        await self.user.send(text)

    async def send_voice(self, file_id: str) -> None:
        self.taps += 1
        await self.user.send_voice(file_id, duration=12)


def _has(label: str) -> Callable[[FakeMessage], bool]:
    """A message carrying this button (the categories' card is edited in place)."""
    return lambda message: label in [text for text, _ in message.buttons]


async def _me(place: Place, uid: int = HELPER) -> User:
    return await place.services.users.require(uid)


async def _visits(place: Place, household_id: int | None = None) -> list[object]:
    coordinator = await _me(place, COORDINATOR_ID)
    return list(
        await place.services.twinning.visits(coordinator, household_id or place.household_id)
    )


async def _to_help(helper: FakeUser, start: FakeMessage) -> None:
    """From the list (or a card) to the help question: today, chatting, no words."""
    await helper.press(start, "📝 记录走访：张奶奶家")
    await helper.press(await helper.wait_for("哪天走访的"), "今天")
    await helper.press(await helper.wait_for("这次做了什么"), "▫️ 聊天陪伴")
    await helper.press(await helper.wait_for(_has("✅ 聊天陪伴")), "下一步 ➡️")
    await helper.press(await helper.wait_for("还有要补充的吗"), "跳过")


async def _finish(helper: FakeUser) -> FakeMessage:
    """From the photo question to the saved visit: no photo, mark 3, no note, save."""
    await helper.press(await helper.wait_for("要加一张走访的照片吗"), "跳过")
    await helper.press(await helper.wait_for("生活状况怎么样"), "3")
    await helper.press(await helper.wait_for("需要社区工作人员知道"), "跳过")
    await helper.press(await helper.wait_for("请核对这次走访"), "💾 保存")
    return await helper.wait_for("已记录")


async def test_a_member_opens_twins_from_home_and_logs_a_visit_with_money_a_mark_and_a_voice(
    place: Place,
) -> None:
    label = "🤝 结对帮扶"
    rows = home_rows(translator("zh"), frozenset({Role.RESIDENT, Role.MEMBER}))
    assert any(label in row for row in rows)
    helper = Counted(place.helper)

    await helper.send(label)  # the big button of the home keyboard: no typed command
    listing = await place.helper.wait_for("我的结对帮扶对象")
    for shown in ("张奶奶家", "7号楼，房号 2-101", PHONE, "独居老人", "每周一次", "还没有走访过"):
        assert shown in (listing.text or ""), shown
    assert "下次走访：12月2日前" in (listing.text or "")
    assert OTHER_PHONE not in (listing.text or "")

    await helper.press(listing, "📝 记录走访：张奶奶家")
    ask = await place.helper.wait_for("哪天走访的")
    assert "✖ 取消" in [text for text, _ in ask.buttons]
    await helper.press(ask, "今天")
    await helper.press(await place.helper.wait_for("这次做了什么"), "▫️ 聊天陪伴")
    await helper.press(await place.helper.wait_for(_has("✅ 聊天陪伴")), "▫️ 送米送油")
    await helper.press(await place.helper.wait_for(_has("✅ 送米送油")), "下一步 ➡️")
    await place.helper.wait_for("还有要补充的吗")
    await helper.send_voice("VISIT-VOICE")
    await helper.press(await place.helper.wait_for("有没有给予帮扶"), "💰 资金")
    await place.helper.wait_for("资金折合多少元")
    await helper.send("200")
    await helper.press(await place.helper.wait_for("要加一张走访的照片吗"), "跳过")
    mark = await place.helper.wait_for("生活状况怎么样")
    assert "1 = 很不好" in (mark.text or "") and "5 = 很好" in (mark.text or "")
    await helper.press(mark, "4")
    await helper.press(await place.helper.wait_for("需要社区工作人员知道"), "跳过")
    card = await place.helper.wait_for("请核对这次走访")
    for shown in ("11月25日", "聊天陪伴、送米送油", "附语音", "资金 ¥200", "4 分"):
        assert shown in (card.text or ""), shown
    token = SaveVisit.unpack(card.button("💾 保存")["callback_data"]).token  # type: ignore[index]
    await helper.press(card, "💾 保存")
    saved = await place.helper.wait_for("已记录")
    assert "爱心存折 +5 分" in (saved.text or "") and "下次走访请在12月2日前" in (saved.text or "")
    assert helper.taps == 13  # home, household, day, 2 × what, next, voice, kind, amount, ...

    (visit,) = await place.services.twinning.visits(await _me(place), place.household_id)
    assert visit.help_kind is HelpKind.FUNDS and visit.help_fen == 20000
    assert visit.wellbeing == 4 and visit.voice_file_id == "VISIT-VOICE"
    assert visit.categories == {VisitCategory.CHAT, VisitCategory.RICE_AND_OIL}

    # The save pressed again (a double tap, or an old card): still one visit.
    answer = await place.helper.press_data(saved, SaveVisit(token=token).pack())
    assert answer == "这个按钮已失效，请重新开始。"
    assert len(await _visits(place)) == 1

    await place.helper.send("/passbook")
    passbook = await place.helper.wait_for("结对帮扶走访")
    assert "+5" in (passbook.text or "")

    # The household's card: the visit and how they are.
    await place.helper.send("/twins")
    listing = await place.helper.wait_for("上次走访：11月25日")
    await place.helper.press(listing, "📋 走访记录")
    household = await place.helper.wait_for("最近的走访")
    assert "资金 ¥200" in (household.text or "")
    assert "（1 很不好 … 5 很好）：4" in (household.text or "")


async def test_reminded_when_behind_then_the_coordinators_and_the_reminder_starts_a_visit(
    bot: RunningBot, fake: FakeBotApi, place: Place, clock: ManualClock
) -> None:
    services = place.services
    clock.advance(days=6)
    await services.reminders.run_due()
    await fake.wait_idle(quiet=0.3)
    assert not [m for m in place.helper.inbox if "⏰" in (m.text or "")]

    clock.advance(days=1, minutes=1)  # a week on, 10:01 in Shanghai: behind
    await services.reminders.run_due()
    reminder = await place.helper.wait_for("⏰ 您和张奶奶家（7号楼）结对已经 7 天了", timeout=10)
    assert "还没有走访过" in (reminder.text or "")  # not "since your last visit": none yet
    await fake.wait_idle(quiet=0.3)
    assert not [m for m in place.coordinator.inbox if "⚠️" in (m.text or "")]
    await place.helper.send("/twins")
    assert "已到走访时间" in (await place.helper.wait_for("我的结对帮扶对象")).text  # type: ignore[operator]

    clock.advance(days=7)  # twice the cadence: the coordinators are told
    await services.reminders.run_due()
    overdue = await place.coordinator.wait_for("⚠️", timeout=10)
    for shown in ("小赵", "14 天没有走访张奶奶家（7号楼）", "另外安排人上门"):
        assert shown in (overdue.text or ""), shown
    assert PHONE not in (overdue.text or "")
    assert len([m for m in place.helper.inbox if "⏰ 您和" in (m.text or "")]) == 1

    await place.helper.press(reminder, "📝 记录走访")
    await place.helper.wait_for("记录走访：张奶奶家")


async def test_bad_dates_and_amounts_get_a_clear_answer_and_save_nothing(place: Place) -> None:
    helper = place.helper
    await helper.send("/twins")
    listing = await helper.wait_for("我的结对帮扶对象")
    await helper.press(listing, "📝 记录走访：张奶奶家")
    await helper.wait_for("哪天走访的")
    for typed, said in (
        ("12-01", "走访日期不能晚于今天"),
        ("2026-08-01", "已经是 90 天以前了"),
        ("abc", "请按 12-01 或 2026-12-01 的样子输入日期"),
        ("2026-02-30", "日历上没有这一天"),
        ("11月24号", "走访日期不能早于这一天"),  # the day before they were paired
    ):
        await helper.send(typed)
        await helper.wait_for(said)
    await helper.send("11月25号")
    await helper.press(await helper.wait_for("这次做了什么"), "下一步 ➡️")
    refused = await helper.press(await helper.wait_for("还有要补充的吗"), "跳过")
    assert refused == "请按一下这次做了什么，或者写几句话说一说。"  # nothing said of the visit
    await helper.send("陪奶奶聊天，帮忙换了灯泡")
    await helper.press(await helper.wait_for("有没有给予帮扶"), "📦 物资")
    await helper.wait_for("物资折合多少元")
    for typed in ("-5", "abc"):
        await helper.send(typed)
        await helper.wait_for(BAD_AMOUNT)
    await helper.send("150000")
    check = await helper.wait_for("150000 元是一笔大数目")
    await helper.press(check, "✏️ 重新输入")  # it was a typo
    await helper.wait_for("物资折合多少元")
    await helper.send("1500")
    await _finish(helper)
    (visit,) = await place.services.twinning.visits(await _me(place), place.household_id)
    assert visit.visited_on == TODAY and visit.help_fen == 150000
    assert visit.text == "陪奶奶聊天，帮忙换了灯泡" and visit.help_kind is HelpKind.MATERIALS

    # A large amount, confirmed: saved as typed.
    await helper.send("/twins")
    await _to_help(helper, await helper.wait_for("我的结对帮扶对象"))
    await helper.press(await helper.wait_for("有没有给予帮扶"), "💰 资金")
    await helper.wait_for("资金折合多少元")
    await helper.send("150000")
    await helper.press(await helper.wait_for("150000 元是一笔大数目"), "✅ 确认金额 ¥150000")
    await _finish(helper)
    visits = await place.services.twinning.visits(await _me(place), place.household_id)
    assert [v.help_fen for v in visits] == [15_000_000, 150000]

    # Cancelled half way: nothing saved.
    await helper.send("/twins")
    await _to_help(helper, await helper.wait_for("我的结对帮扶对象"))
    await helper.press(await helper.wait_for("有没有给予帮扶"), "✖ 取消")
    await helper.wait_for("已取消，没有记录这次走访")
    assert len(await _visits(place)) == 2


async def test_forged_buttons_for_a_household_not_mine_are_refused_and_save_nothing(
    fake: FakeBotApi, place: Place
) -> None:
    helper = place.helper
    other_pair = await place.services.twinning.pair(
        await _me(place, COORDINATOR_ID), OTHER, place.other_household_id, Cadence.MONTHLY
    )
    for forged in (
        StartVisit(household_id=place.other_household_id),
        HouseholdCard(household_id=place.other_household_id),
        DueVisit(pair_id=other_pair.id),
        StartVisit(household_id=999_999),
    ):
        assert await helper.press_data(None, forged.pack()) == NOT_PAIRED, forged
    assert all(OTHER_PHONE not in (m.text or "") for m in helper.inbox)
    assert await _visits(place, place.other_household_id) == []
    # A resident (not a member) cannot open /twins at all.
    await place.services.users.register(30, display_name="王奶奶", language="zh", building_id=None)
    resident = fake.user(30, "Wang", language_code="zh")
    await resident.send("/twins")
    await resident.wait_for("抱歉，您没有权限进行此操作。")


async def test_an_unpaired_member_is_told_kindly_and_sees_no_ones_phone(place: Place) -> None:
    other = place.other
    await other.send("/twins")
    said = await other.wait_for("您还没有结对帮扶对象")
    assert said.buttons == []
    assert all(
        PHONE not in (m.text or "") and OTHER_PHONE not in (m.text or "") for m in other.inbox
    )


async def test_a_member_with_many_households_turns_the_pages_of_twins(place: Place) -> None:
    services, helper = place.services, place.helper
    coordinator = await _me(place, COORDINATOR_ID)
    grandma = await services.twinning.household(coordinator, place.household_id)
    for n in range(1, TWINS_PAGE + 1):  # one more household than a page holds
        household = await services.twinning.register_household(
            coordinator,
            HouseholdDraft(
                name=f"第{n}户", building_id=grandma.building_id, notes="很" * 500, consent=True
            ),
        )
        await services.twinning.pair(coordinator, HELPER, household.id, Cadence.MONTHLY)
    await helper.send("/twins")
    first = await helper.wait_for("第 1/2 页")
    assert "张奶奶家" in (first.text or "") and f"第{TWINS_PAGE}户" not in (first.text or "")
    assert "很" * 80 + "…" in (first.text or "")
    await helper.press(first, "下一页 ▶")
    second = await helper.wait_for("第 2/2 页")
    assert f"第{TWINS_PAGE}户" in (second.text or "") and "张奶奶家" not in (second.text or "")
    assert [label for label, _ in second.buttons][-1] == "◀ 上一页"


async def _told(services: Services, kind: str) -> list[tuple[int, OutboxStatus, str | None]]:
    """Each outbox row of this twinning notice kind: to whom, what became of it, and why."""
    async with services.store.read() as conn:
        query = (
            select(outbox.c.chat_id, outbox.c.status, outbox.c.last_error)
            .where(outbox.c.kind == kind)
            .order_by(outbox.c.id)
        )
        rows = await conn.execute(query)
        return [(r.chat_id, OutboxStatus(r.status), r.last_error) for r in rows]


async def test_a_reminder_held_by_quiet_hours_is_never_sent_once_the_visit_is_logged(
    fake: FakeBotApi, place: Place, clock: ManualClock
) -> None:
    services, helper = place.services, place.helper
    await services.users.update_profile(HELPER, quiet_hours=(10 * 60, 12 * 60))
    clock.advance(days=7, minutes=1)  # behind at 10:01 in Shanghai: quiet until noon
    await services.reminders.run_due()
    await fake.wait_idle(quiet=0.3)
    assert await _told(services, "twinning.visit_due") == [(HELPER, OutboxStatus.PENDING, None)]

    await helper.send("/twins")  # the member visits in the morning and logs it
    await _to_help(helper, await helper.wait_for("已到走访时间"))
    await helper.press(await helper.wait_for("有没有给予帮扶"), "没有")
    await _finish(helper)

    clock.advance(hours=2)  # noon: the quiet hours are over
    await fake.wait_idle(quiet=1.5)  # longer than the sender's poll
    assert not [m for m in helper.inbox if "⏰ 您和" in (m.text or "")]
    ((chat, status, why),) = await _told(services, "twinning.visit_due")
    assert (chat, status) == (HELPER, OutboxStatus.CANCELLED) and why


async def test_the_coordinators_are_not_told_of_a_pair_ended_while_their_notice_waited(
    fake: FakeBotApi, place: Place, clock: ManualClock
) -> None:
    services = place.services
    coordinator = await _me(place, COORDINATOR_ID)
    await services.users.update_profile(COORDINATOR_ID, quiet_hours=(10 * 60, 12 * 60))
    await services.users.update_profile(HELPER, quiet_hours=(0, 0))
    clock.advance(days=7, minutes=1)
    await services.reminders.run_due()
    await place.helper.wait_for("⏰", timeout=10)  # the member was told, as ever
    clock.advance(days=7)  # twice behind, in the coordinator's quiet hours
    await services.reminders.run_due()
    await fake.wait_idle(quiet=0.3)
    assert [s for _, s, _ in await _told(services, "twinning.overdue")] == [OutboxStatus.PENDING]

    await services.twinning.end_pair(coordinator, place.pair_id, "搬走了")
    clock.advance(hours=2)
    await fake.wait_idle(quiet=1.5)
    assert not [m for m in place.coordinator.inbox if "⚠️" in (m.text or "")]
    assert [s for _, s, _ in await _told(services, "twinning.overdue")] == [OutboxStatus.CANCELLED]
