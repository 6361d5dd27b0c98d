"""Closing a quarter over the real bot and the fake Bot API: the coordinator's /quarter offers
the quarter once it is over, asks, closes; the top members are thanked, the community's own
coordinator gets the summary, the closer the summary and the workbook — read back with
openpyxl, its rows and numbers right, a formula-looking reason kept as text. Closing twice is
refused; a member and coordinators elsewhere are refused forged buttons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook

from bot.clock import ManualClock
from bot.models import Node, NodeKind, Role, WishCategory
from bot.services import Services
from bot.services.wishes import WishDraft
from handlers.quarter import AskClose, CloseQuarter, QuarterList, SheetAgain
from storage import org
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

RESIDENT, NEIGHBOUR = 1, 2
QUICK, STEADY, IDLE = 10, 11, 12
COMMUNITY_STAFF, ELSEWHERE, BUILDING_STAFF = 20, 21, 22
QUARTER = "2026Q4"
NEXT_QUARTER = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 2027Q1
FORMULA = "=HYPERLINK(1) 补记"  # a reason a spreadsheet program would run, if not kept as text


@dataclass
class Place:
    services: Services
    community_id: int
    coordinator: FakeUser
    staff: FakeUser
    quick: FakeUser
    steady: FakeUser
    idle: FakeUser


def _services(bot: RunningBot) -> Services:
    assert bot.services is not None
    return bot.services


async def _wish(
    services: Services, poster: int, helper: int, clock: ManualClock, wait: int
) -> int:
    """A wish posted, taken on, reported done and confirmed `wait` minutes after the claim."""
    resident = await services.users.require(poster)
    member = await services.users.require(helper)
    draft = WishDraft(category=WishCategory.REPAIRS, text="修水龙头")
    wish = await services.wishes.post(resident, draft)
    await services.wishes.claim(member, wish.id)
    clock.advance(minutes=wait)
    await services.wishes.report_done(member, wish.id, note=None)
    await services.wishes.confirm(resident, wish.id)
    clock.advance(minutes=1)
    return wish.id


@pytest.fixture
async def place(bot: RunningBot, fake: FakeBotApi, clock: ManualClock) -> Place:
    """A quarter of work: QUICK's two wishes confirmed at once (a pattern to check), STEADY's
    one confirmed after an hour and an adjustment with a formula-like reason; IDLE did nothing.
    The district's coordinator (the configured one) closes; the community has its own."""
    services = _services(bot)
    community = services.default_community_id
    async with services.store.transaction() as conn:
        building = await org.add_building(conn, community, "7号楼", clock.now())
    for uid, name in ((RESIDENT, "王奶奶"), (NEIGHBOUR, "李大爷")):
        await services.users.register(
            uid, display_name=name, language="zh", building_id=building.id
        )
    for uid, name, language in (
        (QUICK, "小快", "zh"),
        (STEADY, "Steady", "en"),
        (IDLE, "小闲", "zh"),
    ):
        await services.users.register(
            uid, display_name=name, language=language, building_id=building.id
        )
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, uid, Role.MEMBER, None, clock.now())
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    district = await services.users.require(COORDINATOR_ID)
    await services.users.register(
        COMMUNITY_STAFF, display_name="社区王主任", language="zh", building_id=None
    )
    await services.admin.appoint(
        district, COMMUNITY_STAFF, Node(kind=NodeKind.COMMUNITY, id=community)
    )
    await _wish(services, RESIDENT, QUICK, clock, 2)
    await _wish(services, NEIGHBOUR, QUICK, clock, 3)
    await _wish(services, RESIDENT, STEADY, clock, 60)
    await services.passbook.adjust(district, STEADY, 5, FORMULA, token="e2e1")
    await fake.wait_idle(quiet=0.3)
    return Place(
        services=services,
        community_id=community,
        coordinator=fake.user(COORDINATOR_ID, "Li"),
        staff=fake.user(COMMUNITY_STAFF, "Wang"),
        quick=fake.user(QUICK, "Kuai"),
        steady=fake.user(STEADY, "Steady"),
        idle=fake.user(IDLE, "Xian"),
    )


def _rows(data: bytes, sheet: str) -> list[tuple[object, ...]]:
    book = load_workbook(BytesIO(data))
    return [tuple(row) for row in book[sheet].iter_rows(values_only=True)]


async def _close(place: Place) -> FakeMessage:
    """/quarter, 结算 2026Q4, 确定: the document the coordinator gets."""
    coordinator = place.coordinator
    await coordinator.send("/quarter")
    card = await coordinator.wait_for("季度结算")
    assert [label for label, _ in card.buttons] == [f"结算 {QUARTER}"]
    await coordinator.press(card, f"结算 {QUARTER}")
    asked = await coordinator.wait_for("确定结算")
    await coordinator.press(asked, f"确定，结算 {QUARTER}")
    return await coordinator.wait_for(lambda m: m.document is not None)


async def test_closing_thanks_the_top_members_and_sends_the_sheet_with_the_right_numbers(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    coordinator = place.coordinator
    # Not over yet: nothing to close, and a forged press is refused.
    await coordinator.send("/quarter")
    early = await coordinator.wait_for("季度结算")
    # Only the quarter before (the default, even without entries) may be closed yet.
    assert [label for label, _ in early.buttons] == ["结算 2026Q3"]
    assert f"{QUARTER}结束以后才能结算" in (early.text or "")
    pressed = CloseQuarter(community_id=place.community_id, quarter=QUARTER).pack()
    assert (
        await coordinator.press_data(None, pressed) == f"{QUARTER}还没有结束，结束以后才能结算。"
    )

    clock.current = NEXT_QUARTER
    document = await _close(place)

    summary = await coordinator.wait_for("已结算")
    assert "得分的党员志愿者：2 人" in (summary.text or "")
    assert "积分合计：35 分" in (summary.text or "")
    assert "认领后几分钟就确认" in (summary.text or "") and "小快" in (summary.text or "")
    thanks = await place.quick.wait_for("感谢您本季度的爱心奉献")
    assert "排第 1 名，共 20 分" in (thanks.text or "")
    steady = await place.steady.wait_for("Thank you for your loving service")
    assert "number 2" in (steady.text or "") and "15 points" in (steady.text or "")
    told = await place.staff.wait_for("已结算")
    assert "结算人：李书记" in (told.text or "")
    await fake.wait_idle(quiet=0.3)
    assert not [m for m in place.idle.inbox if "感谢" in (m.text or "")]
    assert not [m for m in coordinator.inbox if "结算人" in (m.text or "")]  # not told twice

    assert document.document is not None
    file = fake.file(document.document)
    assert file is not None and file.content is not None
    assert file.file_name == f"爱心储蓄_{_community_name(place)}_{QUARTER}.xlsx"
    data = file.content
    assert load_workbook(BytesIO(data)).sheetnames == ["排名", "明细", "需核查"]

    ranking = _rows(data, "排名")
    header = ranking[0]
    assert header[:3] == ("名次", "姓名", "楼院") and header[-1] == "合计"
    column = {name: n for n, name in enumerate(header)}
    assert [(r[0], r[1], r[2], r[-1]) for r in ranking[1:]] == [
        (1, "小快", "7号楼", 20),
        (2, "Steady", "7号楼", 15),
    ]
    assert ranking[1][column["微心愿"]] == 20 and ranking[2][column["调整"]] == 5

    entries = _rows(data, "明细")
    assert entries[0] == ("日期", "党员志愿者", "类别", "事由", "积分", "原因", "经办人")
    assert [(r[1], r[2], r[4]) for r in entries[1:]] == [
        ("小快", "微心愿", 10),
        ("小快", "微心愿", 10),
        ("Steady", "微心愿", 10),
        ("Steady", "调整", 5),
    ]
    assert str(entries[1][3]).startswith("微心愿 #") and "修水龙头" in str(entries[1][3])
    # The community's local time (10:02 in Shanghai), not UTC.
    first = entries[1][0]
    assert isinstance(first, datetime) and (first.day, first.hour) == (25, 10)
    assert entries[4][5] == FORMULA and entries[4][6] == "李书记"  # text, not a formula
    book = load_workbook(BytesIO(data))
    assert book["明细"].cell(row=5, column=6).data_type == "s"

    checks = _rows(data, "需核查")
    assert checks[0] == ("核查什么", "谁", "发现的情况", "微心愿")
    assert [(r[0], r[1]) for r in checks[1:]] == [("认领后几分钟就确认", "小快")]

    # Closing twice is refused, and /quarter has nothing more to offer.
    before = len(place.quick.inbox)
    assert await coordinator.press_data(None, pressed) == f"{QUARTER}已经结算了。"
    await coordinator.send("/quarter")
    again = await coordinator.wait_for(lambda m: "现在没有需要结算的季度" in (m.text or ""))
    assert [label for label, _ in again.buttons] == [f"📎 {QUARTER}的表格"]
    await fake.wait_idle(quiet=0.3)
    assert len(place.quick.inbox) == before  # nobody thanked twice

    # The community's own coordinator asks for the sheet from the summary: the same rows.
    await place.staff.press(told, f"📎 {QUARTER}的表格")
    theirs = await place.staff.wait_for(lambda m: m.document is not None)
    assert theirs.document is not None
    copy = fake.file(theirs.document)
    assert copy is not None and copy.content is not None
    assert _rows(copy.content, "排名") == ranking and _rows(copy.content, "明细") == entries


def _community_name(place: Place) -> str:
    return place.services.settings.community_name


async def test_a_member_and_coordinators_elsewhere_cannot_close_or_even_ask(
    fake: FakeBotApi, bot: RunningBot, place: Place, clock: ManualClock
) -> None:
    services = place.services
    clock.current = NEXT_QUARTER
    district = await services.users.require(COORDINATOR_ID)
    (street,) = await services.admin.streets(district)
    elsewhere = (await services.admin.add_community(district, street.id, "河畔社区")).id
    district = await services.users.require(COORDINATOR_ID)  # its reach now holds both
    await services.users.register(
        ELSEWHERE, display_name="外社区", language="zh", building_id=None, community_id=elsewhere
    )
    await services.admin.appoint(district, ELSEWHERE, Node(kind=NodeKind.COMMUNITY, id=elsewhere))
    nine = (await services.admin.add_building(district, "9号楼", place.community_id)).id
    await services.users.register(
        BUILDING_STAFF, display_name="九号楼", language="zh", building_id=nine
    )
    await services.admin.appoint(district, BUILDING_STAFF, Node(kind=NodeKind.BUILDING, id=nine))

    forged = [
        QuarterList(community_id=place.community_id),
        AskClose(community_id=place.community_id, quarter=QUARTER),
        CloseQuarter(community_id=place.community_id, quarter=QUARTER),
        SheetAgain(community_id=place.community_id, quarter=QUARTER),
    ]
    refusals = {
        place.quick: "抱歉，您没有权限进行此操作。",  # a member of the community
        fake.user(ELSEWHERE, "Else"): "该内容已不存在。",
        fake.user(BUILDING_STAFF, "Nine"): "该内容已不存在。",
    }
    for person, refusal in refusals.items():
        for button in forged:
            assert await person.press_data(None, button.pack()) == refusal, (person, button)
    await place.quick.send("/quarter")
    assert "没有权限" in (await place.quick.wait_for("没有权限")).text
    await fake.wait_idle(quiet=0.3)
    assert not fake.calls_to("sendDocument")
    assert not [m for m in place.quick.inbox if "感谢您本季度" in (m.text or "")]
    # Still waiting for the coordinator who may close it.
    closable = await services.quarters.closable(await services.users.require(COORDINATOR_ID))
    assert closable.quarters == (QUARTER,)
    # The coordinator who may close it gets no sheet of a quarter not closed yet.
    sheet = SheetAgain(community_id=place.community_id, quarter=QUARTER).pack()
    assert await place.coordinator.press_data(None, sheet) == f"{QUARTER}还没有结算。"
    # The building's coordinator runs no community-wide housekeeping: /quarter is refused.
    building_staff = fake.user(BUILDING_STAFF, "Nine")
    await building_staff.send("/quarter")
    assert await building_staff.wait_for("没有权限")
