"""/stats and /export over the real bot and the fake Bot API, in zh, the community in
Asia/Shanghai: a coordinator gets this month's figures (counted from wishes made through the
services) and the charts as PNG pictures, moves to last month with a button, and exports a
workbook; residents and members are refused; a period ending before it starts, one of ten
years and a forged button for a building of another community are each answered with a clear
refusal and nothing else; while the charts of a slow /stats are drawn, the bot answers others."""

from __future__ import annotations

import asyncio
import io
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.clock import ManualClock
from bot.i18n import translator
from bot.models import Figures, Node, NodeKind, Role, WishCategory
from bot.services import Services
from bot.services.wishes import WishDraft
from handlers.stats import screens
from handlers.stats.buttons import ExportCsv, ExportExcel, ShowStats
from handlers.stats.export import BegunExport, ExportFile
from storage import org
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

RESIDENT, NEIGHBOUR, MEMBER, STAFF, STRANGER = 1, 2, 10, 20, 30
OCTOBER_DAY = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NOT_ALLOWED = "抱歉，您没有权限进行此操作。"


@dataclass
class Place:
    services: Services
    community_id: int
    coordinator: FakeUser  # the district's (the configured one)
    staff: FakeUser  # the community's own coordinator
    member: FakeUser
    resident: FakeUser


async def _wish(services: Services, poster: int, text: str) -> int:
    resident = await services.users.require(poster)
    wish = await services.wishes.post(
        resident, WishDraft(category=WishCategory.REPAIRS, text=text)
    )
    return wish.id


@pytest.fixture
async def place(bot: RunningBot, fake: FakeBotApi, clock: ManualClock) -> Place:
    """October: one wish posted, nobody took it. November (today is the 25th): two posted,
    both taken on by the member, one done and confirmed by the resident."""
    assert bot.services is not None
    services = bot.services
    community = services.default_community_id
    now = clock.now()
    async with services.store.transaction() as conn:
        building = await org.add_building(conn, community, "7号楼", now)
    for uid, name in ((RESIDENT, "王奶奶"), (NEIGHBOUR, "李大爷"), (MEMBER, "小赵")):
        await services.users.register(
            uid, display_name=name, language="zh", building_id=building.id
        )
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, MEMBER, Role.MEMBER, None, now)
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    district = await services.users.require(COORDINATOR_ID)
    await services.users.register(STAFF, display_name="王主任", language="zh", building_id=None)
    await services.admin.appoint(district, STAFF, Node(kind=NodeKind.COMMUNITY, id=community))

    today = clock.current
    clock.current = OCTOBER_DAY
    await _wish(services, NEIGHBOUR, "换灯泡")
    clock.current = today
    member = await services.users.require(MEMBER)
    resident = await services.users.require(RESIDENT)
    done = await _wish(services, RESIDENT, "修水龙头")
    await _wish(services, NEIGHBOUR, "买菜")
    await services.wishes.claim(member, done)
    clock.advance(minutes=30)
    await services.wishes.claim(member, done + 1)
    await services.wishes.report_done(member, done, note=None)
    await services.wishes.confirm(resident, done)
    await fake.wait_idle(quiet=0.3)
    return Place(
        services=services,
        community_id=community,
        coordinator=fake.user(COORDINATOR_ID, "Li", language_code="zh"),
        staff=fake.user(STAFF, "Wang", language_code="zh"),
        member=fake.user(MEMBER, "Zhao", language_code="zh"),
        resident=fake.user(RESIDENT, "Wang", language_code="zh"),
    )


def _png_size(fake: FakeBotApi, message: FakeMessage) -> tuple[int, int]:
    assert message.photo is not None
    file = fake.file(message.photo)
    assert file is not None and file.content is not None
    assert file.content.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(file.content))
    assert image.format == "PNG"
    return image.size


async def test_a_coordinator_sees_the_figures_and_charts_and_moves_to_last_month(
    fake: FakeBotApi, place: Place
) -> None:
    coordinator = place.coordinator
    await coordinator.send("/stats")
    shown = await coordinator.wait_for("发布 2 · 认领 2 · 完成 1 · 居民确认 1")
    text = shown.text or ""
    assert "2026年11月" in text and "完成率（50%）" in text and "1. 小赵：10 分" in text
    assert "认领用时中位数：" in text
    await fake.wait_idle(quiet=0.3)
    photos = [m for m in coordinator.inbox if m.photo is not None]
    assert len(photos) == 3  # from posted to confirmed; the kinds of wishes; the leaders
    for photo in photos:
        width, height = _png_size(fake, photo)
        assert width >= 800 and height >= 600
    assert not [m for m in coordinator.inbox if "正在统计" in (m.text or "")]  # it became this

    await coordinator.press(shown, "上月")
    october = await coordinator.wait_for("2026年10月")
    assert "发布 1 · 认领 0 · 完成 0 · 居民确认 0" in (october.text or "")
    assert october.message_id == shown.message_id  # the same message, now showing October
    await fake.wait_idle(quiet=0.3)
    assert (
        len([m for m in coordinator.inbox if m.photo is not None]) == 5
    )  # October's funnel and kinds of wishes

    # The community's coordinator picks their community from the places (the same figures).
    await place.staff.send("/stats 2026-11")
    mine = await place.staff.wait_for("发布 2 · 认领 2")
    await place.staff.press(mine, "🏘 换个地方")
    places = await place.staff.wait_for("看哪里的统计？")
    assert any("7号楼" in label for label, _ in places.buttons)


async def test_residents_and_members_are_refused(fake: FakeBotApi, place: Place) -> None:
    own = ShowStats(
        node_kind=NodeKind.COMMUNITY, node_id=place.community_id, period="m2026110120261130"
    )
    for person in (place.member, place.resident):
        for command in ("/stats", "/export", "/stats 2026-11"):
            await person.send(command)
            refused = await person.wait_for(NOT_ALLOWED)
            assert refused.text == NOT_ALLOWED
        assert await person.press_data(None, own.pack()) == NOT_ALLOWED
    await fake.wait_idle(quiet=0.3)
    assert not fake.calls_to("sendPhoto") and not fake.calls_to("sendDocument")


async def test_bad_periods_and_a_forged_button_get_a_clear_answer_and_nothing_else(
    fake: FakeBotApi, place: Place
) -> None:
    services = place.services
    coordinator, staff = place.coordinator, place.staff
    cases = {
        "/stats 2026-12-31 2026-01-01": "结束日期早于开始日期了，请先写较早的那一天。",
        "/stats 2016-01-01 2025-12-31": "时间段太长了：最多 731 天。",
        "/stats 2026-12": "这个时间段还没有开始，请选到今天为止的日子。",
        "/stats 下个月": "请这样写时间段：",
        "/stats 9999-12": "这个时间段还没有开始，请选到今天为止的日子。",
        "/export 9999Q4": "这个时间段还没有开始，请选到今天为止的日子。",
        "/stats 0001": "这个时间段太早了，请选 2000 年及以后的日子。",
        "/export 0001-01-01 0001-12-31": "这个时间段太早了，请选 2000 年及以后的日子。",
    }
    for typed, refusal in cases.items():
        before = len(coordinator.inbox)
        await coordinator.send(typed)
        said = await coordinator.wait_for(refusal)
        await fake.wait_idle(quiet=0.2)
        assert len(coordinator.inbox) == before + 1 and said is coordinator.inbox[-1]

    district = await services.users.require(COORDINATOR_ID)
    (street,) = await services.admin.streets(district)
    elsewhere = (await services.admin.add_community(district, street.id, "河畔社区")).id
    district = await services.users.require(COORDINATOR_ID)  # its reach now holds both
    there = (await services.admin.add_building(district, "1号楼", elsewhere)).id
    shows = ("send", "edit", "delete", "answer", "copy", "forward")
    for kind in (ShowStats, ExportExcel, ExportCsv):
        forged = kind(node_kind=NodeKind.BUILDING, node_id=there, period="m2026110120261130")
        calls = len(fake.calls)
        assert await staff.press_data(None, forged.pack()) == "该内容已不存在。"
        await fake.wait_idle(quiet=0.3)
        made = [c.method for c in fake.calls[calls:] if c.method.startswith(shows)]
        assert made == ["answerCallbackQuery"], (kind, made)
    # A forged period (not a real month) is refused as a stale button.
    odd = ShowStats(
        node_kind=NodeKind.COMMUNITY, node_id=place.community_id, period="m2026111520261130"
    )
    assert await staff.press_data(None, odd.pack()) == "这个按钮已失效，请重新开始。"


async def test_the_bot_answers_others_while_the_charts_are_drawn(
    fake: FakeBotApi, place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawing, release = threading.Event(), threading.Event()
    real = screens.render_charts

    def slow(figures: Figures, language: str) -> list[bytes]:
        drawing.set()
        release.wait(timeout=20)
        return real(figures, language)

    monkeypatch.setattr(screens, "render_charts", slow)
    coordinator, stranger = place.coordinator, fake.user(STRANGER, "Stranger", language_code="zh")
    try:
        await coordinator.send("/stats")
        await coordinator.wait_for("正在统计")
        assert await asyncio.to_thread(drawing.wait, 10)
        await stranger.send("/start")
        answered = await stranger.next_message()  # answered while the charts are being drawn
        assert answered.text
        assert not [m for m in coordinator.inbox if "发布 2" in (m.text or "")]
    finally:
        release.set()
    await coordinator.wait_for("发布 2 · 认领 2")


async def _no_file_left(folder: Path) -> None:
    """The file is deleted right after it is sent, in the background task that sent it."""
    for _ in range(100):
        if not list(folder.glob("linli-export-*")):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"left in {folder}: {list(folder.glob('linli-export-*'))}")


def _document(fake: FakeBotApi, message: FakeMessage) -> tuple[str, bytes]:
    assert message.document is not None
    file = fake.file(message.document)
    assert file is not None and file.content is not None and file.file_name is not None
    return file.file_name, file.content


async def test_export_gives_the_workbook_and_the_buttons_the_files(
    fake: FakeBotApi, place: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the file is written
    coordinator = place.coordinator
    t = translator("zh")
    await coordinator.send("/export")
    sent = await coordinator.wait_for(lambda m: m.document is not None, timeout=60)
    name, data = _document(fake, sent)
    assert name.endswith(".xlsx") and "2026" in name
    assert "2026年11月的统计表" in (sent.caption or "")
    book = load_workbook(io.BytesIO(data))
    summary = {row[0]: row[1] for row in book.worksheets[0].iter_rows(values_only=True)}
    assert summary[t("Wishes posted")] == 2 and summary[t("Wishes confirmed")] == 1
    await _no_file_left(tmp_path)

    await coordinator.send("/stats 2026-10")
    october = await coordinator.wait_for("发布 1 · 认领 0")
    await coordinator.press(october, "📥 导出纯文本表格")
    zipped = await coordinator.wait_for(lambda m: m.document is not None, timeout=60)
    name, data = _document(fake, zipped)
    assert name.endswith(".zip") and data.startswith(b"PK")
    assert "2026年10月" in (zipped.caption or "")
    await _no_file_left(tmp_path)


async def test_a_typed_period_from_the_button(fake: FakeBotApi, place: Place) -> None:
    coordinator = place.coordinator
    await coordinator.send("/stats")
    shown = await coordinator.wait_for("发布 2 · 认领 2")
    await coordinator.press(shown, "自定义…")
    await coordinator.wait_for("统计哪段时间？")
    await coordinator.send("2026-11-30 2026-10-01")
    await coordinator.wait_for("结束日期早于开始日期了")  # asked again
    await coordinator.send("2026-10-01 至 2026-11-25")
    both = await coordinator.wait_for("发布 3 · 认领 2 · 完成 1 · 居民确认 1")
    assert "2026年10月1日至2026年11月25日" in (both.text or "")


async def test_the_coordinator_is_answered_while_their_file_is_being_made(
    fake: FakeBotApi, place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A year of a district takes minutes to write: the export is made in the background, so
    the coordinator's own later updates (which go one by one) are not held behind it."""
    making, release = asyncio.Event(), asyncio.Event()
    real = screens.finish_export

    async def slow(services: Services, begun: BegunExport) -> ExportFile:
        making.set()
        await release.wait()
        return await real(services, begun)

    monkeypatch.setattr(screens, "finish_export", slow)
    coordinator = place.coordinator
    try:
        await coordinator.send("/export")
        await coordinator.wait_for("正在生成文件")
        await asyncio.wait_for(making.wait(), 10)
        await coordinator.send("/help")
        await coordinator.wait_for("请点一个按钮")  # answered while the file is being made
        await coordinator.send("/export 2026-10")  # a second while the first is made: refused
        await coordinator.wait_for("上一个文件还在生成中")
        assert not [m for m in coordinator.inbox if m.document is not None]
    finally:
        release.set()
    sent = await coordinator.wait_for(lambda m: m.document is not None, timeout=60)
    assert "2026年11月" in (sent.caption or "")


async def test_a_stop_gives_up_a_file_being_made_and_says_so(
    bot: RunningBot, fake: FakeBotApi, place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Application waits for what it started before it stops: a file being made would
    hold a restart for minutes. It is given up instead, and the coordinator told."""
    making = asyncio.Event()
    never = asyncio.Event()

    async def stuck(services: Services, begun: BegunExport) -> ExportFile:
        making.set()
        await never.wait()
        raise AssertionError("never released")

    monkeypatch.setattr(screens, "finish_export", stuck)
    coordinator = place.coordinator
    await coordinator.send("/export")
    await asyncio.wait_for(making.wait(), 10)
    await asyncio.wait_for(bot.stop(), 20)
    told = [m.text for m in coordinator.inbox if "没有做完" in (m.text or "")]
    assert told == ["系统正在重新启动，您的文件没有做完，请稍后再导出一次。"]
