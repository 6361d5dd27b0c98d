"""Study sessions (学习) over the real bot and the fake Bot API, in zh, the community in
Asia/Shanghai and the machine in UTC: a coordinator schedules a session for one building's
members from /admin (with a document as material); its audience is told and nobody else;
answers (attend; excused with a reason); reminders the day before and an hour before, at the
right local times, to those attending and those who have not answered only; check-in with
the code the coordinator shows — wrong, early and expired codes refused, the right one
credited once; a restart between scheduling and the reminder still reminds once; a broadcast
to the session's audience reaches it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.models import Role, StudyAudience
from bot.services import Services
from bot.services.study import SessionDraft, study_ref
from bot.services.study.rules import PLACE_MAX, REASON_MAX, TITLE_MAX, TOPIC_MAX
from handlers.study.buttons import AdminCard, Material
from storage import org
from storage import users as users_repo
from storage.schema import ledger_entries
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The suite's clock is 2026-11-25 10:00 in Shanghai; the session is on Friday evening.
START = datetime(2026, 11, 27, 19, 0, tzinfo=SHANGHAI)
ZHAO, QIAN, SUN, LI, RESIDENT = 10, 11, 12, 13, 14


@dataclass
class Place:
    services: Services
    coordinator: FakeUser
    zhao: FakeUser  # members of 7号楼
    qian: FakeUser
    sun: FakeUser
    li: FakeUser  # a member of 9号楼
    resident: FakeUser  # of 7号楼, not a member
    building_id: int


@pytest.fixture
async def place(bot: RunningBot, fake: FakeBotApi) -> Place:
    assert bot.services is not None
    services = bot.services
    now = services.clock.now()
    async with services.store.transaction() as conn:
        seven = await org.add_building(conn, services.default_community_id, "7号楼", now)
        nine = await org.add_building(conn, services.default_community_id, "9号楼", now)
    people = (
        (ZHAO, "小赵", seven),
        (QIAN, "小钱", seven),
        (SUN, "小孙", seven),
        (LI, "小李", nine),
    )
    for uid, name, building in people:
        await services.users.register(
            uid, display_name=name, language="zh", building_id=building.id
        )
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, uid, Role.MEMBER, None, now)
    await services.users.register(
        RESIDENT, display_name="张奶奶", language="zh", building_id=seven.id
    )
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    return Place(
        services=services,
        coordinator=fake.user(COORDINATOR_ID, "Li", language_code="zh"),
        zhao=fake.user(ZHAO, "Zhao", language_code="zh"),
        qian=fake.user(QIAN, "Qian", language_code="zh"),
        sun=fake.user(SUN, "Sun", language_code="zh"),
        li=fake.user(LI, "Li2", language_code="zh"),
        resident=fake.user(RESIDENT, "Zhang", language_code="zh"),
        building_id=seven.id,
    )


def _set(clock: ManualClock, moment: datetime) -> None:
    clock.current = moment.astimezone(UTC)


def _texts(user: FakeUser, part: str) -> list[str]:
    return [m.text or "" for m in user.inbox if part in (m.text or "")]


async def _credits(services: Services, slot_id: int) -> int:
    async with services.store.read() as conn:
        query = select(func.count()).where(ledger_entries.c.ref == study_ref(slot_id))
        return int(await conn.scalar(query) or 0)


async def _schedule_from_admin(place: Place) -> FakeMessage:
    """The coordinator's taps through /admin → 📚 学习 → ➕ 安排学习."""
    coordinator = place.coordinator
    await coordinator.send("/admin")
    await coordinator.press(await coordinator.wait_for("管理"), "📚 学习")
    await coordinator.press(await coordinator.wait_for("还没有安排学习"), "➕ 安排学习")
    await coordinator.wait_for("学习的标题是什么")
    await coordinator.send("小家庭党校")
    await coordinator.wait_for("学习主题是什么")
    await coordinator.send("学习党的二十届四中全会精神")
    await coordinator.wait_for("什么时候开始")
    await coordinator.send("11-27 19:00")
    await coordinator.press(await coordinator.wait_for("学习多长时间"), "2 小时")
    await coordinator.wait_for("在哪里学习")
    await coordinator.send("社区党群服务中心二楼")
    await coordinator.wait_for("有学习材料吗")
    await coordinator.send_document("MATERIAL-DOC", file_name="学习材料.pdf")
    await coordinator.press(await coordinator.wait_for("这场学习面向谁"), "某个楼院的党员志愿者")
    await coordinator.press(await coordinator.wait_for("哪个楼院"), "7号楼")
    await coordinator.press(await coordinator.wait_for("只一次，还是重复"), "只一次")
    card = await coordinator.wait_for("请核对这场学习")
    for shown in ("小家庭党校", "11月27日 19:00–21:00", "社区党群服务中心二楼", "学习材料.pdf"):
        assert shown in (card.text or ""), shown
    await coordinator.press(card, "💾 保存并通知")
    await coordinator.wait_for("已安排 1 场学习")
    return await coordinator.wait_for("已签到 0 · 请假 0 · 缺席 3")


async def test_a_session_scheduled_answered_reminded_and_checked_in_at_local_times(
    bot: RunningBot, fake: FakeBotApi, place: Place, clock: ManualClock
) -> None:
    services = place.services
    admin_card = await _schedule_from_admin(place)

    # The building's members are told, nobody else.
    told = {}
    for member in (place.zhao, place.qian, place.sun):
        told[member.id] = await member.wait_for("有一场学习请您参加", timeout=10)
        assert "11月27日 19:00–21:00" in (told[member.id].text or "")
    await fake.wait_idle(quiet=0.3)
    assert not _texts(place.li, "学习") and not _texts(place.resident, "学习")

    # Answers: 小赵 attends, 小钱 is excused with a reason, 小孙 does not answer.
    await place.zhao.press(told[ZHAO], "✅ 参加")
    await place.zhao.wait_for("我的回复：参加")
    await place.qian.press(told[QIAN], "🙏 请假")
    await place.qian.wait_for("不能参加是什么原因")
    await place.qian.send("出差")
    await place.qian.wait_for("已记下您请假了")
    await place.qian.send("/study")
    assert "请假（出差）" in ((await place.qian.wait_for("📚 学习")).text or "")
    # The material on a button.
    await place.sun.press(told[SUN], "📎 学习材料")
    document = await place.sun.wait_for(lambda m: m.document is not None)
    assert document.document == "MATERIAL-DOC"

    # The day before at 19:00 in Shanghai (11:00 UTC): to the attending and the unanswered.
    _set(clock, START - timedelta(days=1, seconds=-5))
    await services.reminders.run_due()
    for member in (place.zhao, place.sun):
        day = await member.wait_for("明天有一场学习", timeout=10)
        assert "11月27日 19:00–21:00" in (day.text or "")
    _set(clock, START - timedelta(hours=1, seconds=-5))  # 18:00 in Shanghai
    await services.reminders.run_due()
    hour = await place.zhao.wait_for("一小时后有一场学习", timeout=10)
    await place.sun.wait_for("一小时后有一场学习", timeout=10)
    await fake.wait_idle(quiet=0.3)
    assert not _texts(place.qian, "⏰") and not _texts(place.li, "⏰")
    assert len(_texts(place.zhao, "⏰")) == 2

    # Too early: the window is named in local time.
    await place.zhao.press(hour, "📍 签到")
    await place.zhao.wait_for("请输入学习现场出示的签到码")
    await place.zhao.send("0000")
    early = await place.zhao.wait_for("只能在")
    assert "11-27 18:30 到 11-27 21:30" in (early.text or "")

    # The coordinator shows the code at the session.
    _set(clock, START + timedelta(minutes=5))
    await place.coordinator.press(admin_card, "🔢 出示签到码")
    shown = await place.coordinator.wait_for("签到码：")
    assert "11月27日 18:30 到 11月27日 21:30" in (shown.text or "")
    match = re.search(r"签到码：(\d{4})", shown.text or "")
    assert match is not None
    code = match.group(1)
    wrong = "0000" if code != "0000" else "1111"

    await place.zhao.send(wrong)
    assert "还可以试 4 次" in ((await place.zhao.wait_for("签到码不对")).text or "")
    await place.zhao.send(code)
    done = await place.zhao.wait_for("签到成功")
    assert "爱心储蓄 +3 分" in (done.text or "")
    await place.sun.send(f"/attend {code}")
    await place.sun.wait_for("签到成功")
    await place.zhao.send(f"/attend {code}")
    await place.zhao.wait_for("您已经签到过了")
    slot_id = (await services.study.mine(await services.users.require(ZHAO)))[0].session.slot.id
    assert await _credits(services, slot_id) == 2

    # Someone outside the audience cannot, with the right code.
    await place.li.send(f"/attend {code}")
    await place.li.wait_for("现在没有您可以签到的学习")

    # Expired: half an hour after the end.
    _set(clock, START + timedelta(hours=2, minutes=31))
    await place.qian.send(f"/attend {code}")
    expired = await place.qian.wait_for("只能在")
    assert "11-27 18:30 到 11-27 21:30" in (expired.text or "")
    assert await _credits(services, slot_id) == 2

    # The coordinator's card: attended, excused, absent.
    await place.coordinator.send("/admin")
    await place.coordinator.press(await place.coordinator.wait_for("管理"), "📚 学习")
    roll = await place.services.study.roll(await services.users.require(COORDINATOR_ID), slot_id)
    assert roll.counts.attended == 2 and roll.counts.excused == 1 and roll.counts.absent == 0


async def test_restarted_between_scheduling_and_the_reminder_still_reminds_once(
    bot: RunningBot, fake: FakeBotApi, place: Place, clock: ManualClock
) -> None:
    coordinator = await place.services.users.require(COORDINATOR_ID)
    await place.services.study.schedule(
        coordinator,
        SessionDraft(
            title="主题党日",
            starts_at=START,
            ends_at=START + timedelta(hours=2),
            place="党群服务中心",
            audience=StudyAudience.BUILDING,
            building_id=place.building_id,
        ),
    )
    await place.zhao.wait_for("有一场学习请您参加", timeout=10)
    await bot.restart()
    assert bot.services is not None
    _set(clock, START - timedelta(days=1, seconds=-5))
    await bot.services.reminders.run_due()
    await bot.services.reminders.run_due()
    reminder = await place.zhao.wait_for("明天有一场学习", timeout=10)
    assert "11月27日 19:00–21:00" in (reminder.text or "")
    await fake.wait_idle(quiet=0.5)
    assert len(_texts(place.zhao, "明天有一场学习")) == 1


async def test_a_broadcast_to_a_study_sessions_audience_reaches_it(
    fake: FakeBotApi, place: Place
) -> None:
    coordinator = await place.services.users.require(COORDINATOR_ID)
    await place.services.study.schedule(
        coordinator,
        SessionDraft(
            title="主题党日",
            starts_at=START,
            ends_at=START + timedelta(hours=2),
            place="党群服务中心",
            audience=StudyAudience.BUILDING,
            building_id=place.building_id,
        ),
    )
    await place.coordinator.send("/broadcast")
    await place.coordinator.wait_for("")
    await place.coordinator.send("请带好笔记本和笔")
    ask = await place.coordinator.wait_for("这条社区通知发给谁")
    await place.coordinator.press(ask, "某次学习活动")
    sessions = await place.coordinator.wait_for("发给哪场学习的参加对象")
    await place.coordinator.press(sessions, "11月27日 19:00 主题党日")
    preview = await place.coordinator.wait_for("将发给 3 人（学习“主题党日”的参加对象）")
    buttons = [label for label, _ in preview.buttons]
    send = next(label for label in buttons if "发送" in label)
    await place.coordinator.press(preview, send)
    for member in (place.zhao, place.qian, place.sun):
        await member.wait_for("请带好笔记本和笔", timeout=10)
    await fake.wait_idle(quiet=0.3)
    assert not _texts(place.li, "笔记本") and not _texts(place.resident, "笔记本")


async def test_a_material_link_with_html_characters_is_sent_escaped(
    fake: FakeBotApi, place: Place
) -> None:
    coordinator = await place.services.users.require(COORDINATOR_ID)
    link = "https://example.org/read?a=1&b=<2>"
    (session,) = await place.services.study.schedule(
        coordinator,
        SessionDraft(
            title="主题党日",
            starts_at=START,
            ends_at=START + timedelta(hours=2),
            place="党群服务中心",
            material_link=link,
            audience=StudyAudience.BUILDING,
            building_id=place.building_id,
        ),
    )
    await place.zhao.wait_for("有一场学习请您参加", timeout=10)
    await place.zhao.press_data(None, Material(slot_id=session.slot.id).pack())
    sent = await place.zhao.wait_for(lambda m: link in (m.text or ""))
    assert sent.text == link


async def test_study_lists_and_the_roll_fit_one_message_at_the_limits(
    fake: FakeBotApi, place: Place
) -> None:
    services = place.services
    coordinator = await services.users.require(COORDINATOR_ID)
    zhao = await services.users.require(ZHAO)
    first = None
    for day in range(20):  # the /study list shows 20 sessions
        starts = START + timedelta(days=day)
        (session,) = await services.study.schedule(
            coordinator,
            SessionDraft(
                title=f"{day:02d}" + "长" * (TITLE_MAX - 2),
                topic="题" * TOPIC_MAX,
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                place="地" * PLACE_MAX,
                audience=StudyAudience.BUILDING,
                building_id=place.building_id,
            ),
        )
        first = first or session
        await services.study.answer(zhao, session.slot.id, going=False, reason="因" * REASON_MAX)
    assert first is not None
    await place.zhao.send("/study")
    listed = await place.zhao.wait_for("📚 学习", timeout=10)
    assert len(listed.text or "") <= 4096 and "00长" in (listed.text or "")
    # Many excused with long names and reasons on the coordinator's card.
    for uid in range(100, 160):
        await services.users.register(
            uid, display_name=f"{uid}" + "名" * 29, language="zh", building_id=place.building_id
        )
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, uid, Role.MEMBER, None, services.clock.now())
        person = await services.users.require(uid)
        await services.study.answer(person, first.slot.id, going=uid % 2 == 0, reason="因" * 200)
    await place.coordinator.send("/admin")
    await place.coordinator.press(await place.coordinator.wait_for("管理"), "📚 学习")
    data = AdminCard(slot_id=first.slot.id).pack()
    menu = await place.coordinator.wait_for(lambda m: any(d == data for _, d in m.buttons))
    await place.coordinator.press_data(menu, data)
    card = await place.coordinator.wait_for("请假", timeout=10)
    assert len(card.text or "") <= 4096 and "00长" in (card.text or "")
    assert any("取消" in label for label, _ in card.buttons)


async def test_the_schedule_dialogue_answers_bad_dates_clearly(
    fake: FakeBotApi, place: Place
) -> None:
    coordinator = place.coordinator
    await coordinator.send("/admin")
    await coordinator.press(await coordinator.wait_for("管理"), "📚 学习")
    await coordinator.press(await coordinator.wait_for("还没有安排学习"), "➕ 安排学习")
    await coordinator.wait_for("学习的标题是什么")
    await coordinator.send("小家庭党校")
    await coordinator.wait_for("学习主题是什么")
    await coordinator.send("主题")
    await coordinator.wait_for("什么时候开始")
    # The suite's clock is 11-25 10:00: 11-20 has passed this year, it is not next year's.
    await coordinator.send("11-20 19:00")
    await coordinator.wait_for("请连年份一起输入")
    await coordinator.send("2025-11-27 19:00")
    await coordinator.wait_for("这个时间已经过去了")
    await coordinator.send("１１－２７　１９：００")  # full-width digits and signs
    await coordinator.wait_for("学习多长时间")
    await coordinator.send("１８：００")
    await coordinator.wait_for("结束时间要晚于开始时间")
    await coordinator.send("２１：００")
    await coordinator.wait_for("在哪里学习")
