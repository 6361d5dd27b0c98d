"""Patrol findings (巡查发现) over the real bot and the fake Bot API, in zh: a member checked in
to a shift reports a broken stair light with a photo and the location; the coordinator above
the place gets it, sees the photo (sent to them alone) and the location, and turns it into a
wish in one tap; a member skilled at repairs is offered the wish and takes it on; the reporter
is told. A second coordinator pressing after the first is told who handled it; a member not
on a shift, or not checked in, is told why they cannot report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Table, func, select

from bot.i18n import translator
from bot.models import FindingStatus, Node, NodeKind, Role, Skill, WishStatus
from bot.services import Services
from handlers.patrol.finding_buttons import FindingStart
from handlers.patrol.findings_views import report_row
from storage import org
from storage import users as users_repo
from storage.schema import patrol_findings, wishes
from tests.conftest import COORDINATOR_ID, DAYTIME
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeUser
from tests.unit.services.test_findings import a_shift, on_shift

REPORTER, HANDYMAN, IDLE, LATE = 20, 21, 22, 23
KEEPER, DEPUTY = 600, 601
LIGHT = "2单元楼道灯坏了，晚上很黑"


@dataclass
class Patrol:
    services: Services
    reporter: FakeUser  # 王党员, checked in to the shift
    handyman: FakeUser  # 刘师傅, a member skilled at repairs
    idle: FakeUser  # 赵党员, on no shift
    late: FakeUser  # 钱党员, on the shift, not checked in
    coordinator: FakeUser
    slot_id: int


async def _patrol(bot: RunningBot, fake: FakeBotApi) -> Patrol:
    assert bot.services is not None
    services = bot.services
    now = services.clock.now()
    async with services.store.transaction() as conn:
        building = await org.add_building(conn, services.default_community_id, "3号楼", now)
    people = ((REPORTER, "王党员"), (HANDYMAN, "刘师傅"), (IDLE, "赵党员"), (LATE, "钱党员"))
    for uid, name in people:
        await services.users.register(
            uid, display_name=name, language="zh", building_id=building.id
        )
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, uid, Role.MEMBER, None, now)
            if uid == HANDYMAN:
                await users_repo.set_skills(conn, uid, {Skill.REPAIRS})
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    # 09:30–11:30 in Shanghai; the suite's clock says 10:00.
    slot_id = await a_shift(
        services.store,
        community_id=services.default_community_id,
        building_ids=[building.id],
        created_by=COORDINATOR_ID,
        starts_at=DAYTIME - timedelta(minutes=30),
        ends_at=DAYTIME + timedelta(minutes=90),
        now=DAYTIME - timedelta(days=1),
    )
    await on_shift(services.store, slot_id, REPORTER, now=DAYTIME - timedelta(minutes=25))
    await on_shift(services.store, slot_id, LATE, now=DAYTIME, checked_in=False)
    return Patrol(
        services=services,
        reporter=fake.user(REPORTER, "Wang", language_code="zh"),
        handyman=fake.user(HANDYMAN, "Liu", language_code="zh"),
        idle=fake.user(IDLE, "Zhao", language_code="zh"),
        late=fake.user(LATE, "Qian", language_code="zh"),
        coordinator=fake.user(COORDINATOR_ID, "Li", language_code="zh"),
        slot_id=slot_id,
    )


@pytest.fixture
async def patrol(bot: RunningBot, fake: FakeBotApi) -> Patrol:
    return await _patrol(bot, fake)


async def _report(reporter: FakeUser) -> None:
    await reporter.send("/finding")
    await reporter.wait_for("上报巡查发现")
    await reporter.send_photo("PHOTO-LIGHT", caption=LIGHT)
    await reporter.wait_for("请核对您的巡查发现")
    await reporter.send_location(39.91, 116.40)
    card = await reporter.wait_for(lambda m: "📍 位置" in (m.text or ""))
    assert LIGHT in (card.text or "") and "📷 照片" in (card.text or "")
    send = card.button("✅ 发送")
    assert send is not None
    await reporter.press(card, "✅ 发送")
    await reporter.wait_for("已报给社区工作人员")
    # A second press of the same send (a double tap) reports nothing more.
    await reporter.press_data(card, str(send["callback_data"]))


async def _count(services: Services, table: Table) -> int:
    async with services.store.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_finding_with_a_photo_becomes_a_wish_a_member_takes_on(
    fake: FakeBotApi, patrol: Patrol
) -> None:
    reporter, coordinator, handyman = patrol.reporter, patrol.coordinator, patrol.handyman
    await _report(reporter)
    assert await _count(patrol.services, patrol_findings) == 1

    told = await coordinator.wait_for("巡查发现")
    assert LIGHT in (told.text or "") and "王党员" in (told.text or "")
    assert "东门岗" in (told.text or "") and "3号楼" in (told.text or "")
    await coordinator.press(told, "📷 看照片")
    photo = await coordinator.wait_for(lambda m: m.photo is not None)
    assert photo.photo == "PHOTO-LIGHT"
    await coordinator.press(told, "📍 位置")
    pin = await coordinator.wait_for(lambda m: m.location is not None)
    assert pin.location is not None and pin.location["latitude"] == pytest.approx(39.91)
    assert all(m.photo is None for m in fake.sent_to(HANDYMAN))  # the photo went to one chat

    await coordinator.send("/findings")
    listed = await coordinator.wait_for("待处理的巡查发现")
    assert LIGHT[:10] in (listed.text or "")
    await coordinator.press(listed, listed.buttons[0][0])
    opened = await coordinator.wait_for(lambda m: "🙋 转为微心愿" in str(m.buttons))
    assert opened is not told and LIGHT in (opened.text or "")

    answered = await coordinator.press(told, "🙋 转为微心愿")
    assert answered is not None and "已发布" in answered
    await coordinator.wait_for(lambda m: m is told and "已由 李书记 转为微心愿" in (m.text or ""))
    assert "转为微心愿" not in str(told.buttons)  # no second wish from this card

    offer = await handyman.wait_for("新微心愿")
    assert "家庭维修" in (offer.text or "")
    await handyman.press(offer, "我来帮忙")
    await handyman.wait_for("东门岗")  # the wish's card: on behalf of the post's public area
    await reporter.wait_for("转为微心愿")

    services = patrol.services
    async with services.store.read() as conn:
        finding = (await conn.execute(select(patrol_findings))).mappings().one()
        wish = (await conn.execute(select(wishes))).mappings().one()
    assert finding["status"] == FindingStatus.WISHED.value and finding["wish_id"] == wish["id"]
    assert wish["status"] == WishStatus.CLAIMED.value and wish["claimed_by"] == HANDYMAN
    assert wish["photo_file_id"] == "PHOTO-LIGHT" and wish["for_phone"] is None


async def test_the_second_coordinator_is_told_who_handled_it(
    bot: RunningBot, fake: FakeBotApi, patrol: Patrol
) -> None:
    services = patrol.services
    district = await services.users.require(COORDINATOR_ID)
    community = Node(kind=NodeKind.COMMUNITY, id=services.default_community_id)
    for uid, name in ((KEEPER, "陈主任"), (DEPUTY, "周委员")):
        await services.users.register(uid, display_name=name, language="zh", building_id=None)
        await services.admin.appoint(district, uid, community)
    keeper = fake.user(KEEPER, "Chen", language_code="zh")
    deputy = fake.user(DEPUTY, "Zhou", language_code="zh")
    await _report(patrol.reporter)

    first = await keeper.wait_for("巡查发现")
    second = await deputy.wait_for("巡查发现")
    await keeper.press(first, "✅ 已处理")
    await keeper.wait_for(lambda m: m is first and "已由 陈主任 处理" in (m.text or ""))
    refused = await deputy.press(second, "🙋 转为微心愿")
    assert refused == "陈主任 已经把这条巡查发现标为已处理。"
    await patrol.reporter.wait_for("已由 陈主任 处理")
    assert await _count(services, wishes) == 0

    await keeper.send("/findings")
    await keeper.wait_for("没有待处理的巡查发现")


async def test_off_shift_and_not_checked_in_members_are_told_why(patrol: Patrol) -> None:
    await patrol.idle.send("/finding")
    await patrol.idle.wait_for("您现在没有已签到的巡逻班次")
    await patrol.late.send("/finding")
    await patrol.late.wait_for("您现在没有已签到的巡逻班次")
    refused = await patrol.late.press_data(None, FindingStart(slot_id=patrol.slot_id).pack())
    assert refused == "请先在班次上签到，然后就可以上报看到的情况。"
    refused = await patrol.idle.press_data(None, FindingStart(slot_id=patrol.slot_id).pack())
    assert refused == "您不在这个班次上。"
    # The row the checked-in shift's card carries starts the report for that shift.
    ((label, data),) = report_row(translator("zh"), patrol.slot_id)
    assert label == "🔎 上报巡查发现"
    await patrol.reporter.press_data(None, data)
    await patrol.reporter.wait_for("上报巡查发现 · 东门岗")
    assert await _count(patrol.services, patrol_findings) == 0
