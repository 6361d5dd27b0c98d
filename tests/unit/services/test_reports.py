"""`/export`'s files through the real services (SQLite, and PostgreSQL on its pass): a known
month of two communities made through the services — wishes claimed, done, confirmed, a
proxy wish, an urgent one; a patrol shift served and one missed, a finding; a study session
attended, excused and missed; a twinning visit with help in RMB; suggestions signed and
anonymous — read back with openpyxl (and the CSVs with the csv module). Every sheet's header
in both languages; row counts and sums equal the `/stats` figures; times in local time; a
name that looks like a formula stays text; an anonymous author appears nowhere; a building's
coordinator gets their building's rows only and nobody another community's; contacts only
in a coordinator's export; residents and members refused, an unknown node not found."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import tempfile
import time as time_module
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.clock import ManualClock
from bot.i18n import translator
from bot.models import (
    Cadence,
    Community,
    Figures,
    HelpKind,
    Node,
    NodeKind,
    ReportArea,
    Role,
    StudyAudience,
    SuggestionTopic,
    User,
    VisitCategory,
    WishCategory,
)
from bot.services import Services
from bot.services.errors import NotAllowed, NotFound
from bot.services.patrol.findings import FindingDraft
from bot.services.stats.period import month_of
from bot.services.study.service import SessionDraft
from bot.services.suggestions.service import SuggestionDraft
from bot.services.twinning.service import HouseholdDraft, VisitDraft
from bot.services.wishes import WishDraft
from handlers.stats import export as export_module
from handlers.stats import workbook
from handlers.stats.export import ExportFile, ExportFormat, ExportUnderWay, export_file
from handlers.stats.workbook import (
    AREA_TITLES,
    SUMMARY_TITLE,
    Column,
    CsvWriter,
    columns,
    csv_text,
)
from storage import users as users_repo
from storage.schema import audit_log
from tests.conftest import COORDINATOR_ID
from tests.support.procfs import child_pids

ZONE_HOURS = 8  # Asia/Shanghai
# Monday 2 November 2026, 10:00 in Shanghai.
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
NOVEMBER = month_of(date(2026, 11, 1))
ANON_NAME = "匿名王奶奶"  # must appear in no cell of any export
ANON_ID = 777


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@dataclass
class World:
    district: User
    coordinator_a: User
    keeper_a1: User  # a building's coordinator
    resident: User
    member: User
    a: Community
    a1: int
    a2: int


async def _person(
    services: Services,
    user_id: int,
    name: str,
    community: Community,
    building_id: int | None,
    *,
    language: str = "zh",
    member: bool = False,
    phone: str | None = None,
) -> User:
    await services.users.register(
        user_id,
        display_name=name,
        language=language,
        building_id=building_id,
        community_id=community.id,
        room="3-201" if phone else None,
        phone=phone,
    )
    if member:
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, user_id, Role.MEMBER, None, services.clock.now())
    return await services.users.require(user_id)


async def _suggestion(
    services: Services,
    clock: ManualClock,
    author: User,
    *,
    anonymous: bool,
    topic: SuggestionTopic,
    replies: int = 0,
    replier: User | None = None,
    token: str,
) -> None:
    """A suggestion left through the service at the clock's time, answered two hours later
    and again an hour after each reply; the clock is put back."""
    at = clock.current
    draft = SuggestionDraft(topic=topic, text="楼道灯太暗", anonymous=anonymous)
    suggestion = await services.suggestions.submit(author, draft, token=token)
    for n in range(replies):
        assert replier is not None
        clock.current = at + timedelta(hours=2 + n)
        await services.suggestions.reply(replier, suggestion.id, f"答复{n}")
    clock.current = at


@pytest.fixture
async def world(services: Services, clock: ManualClock) -> World:
    users, admin = services.users, services.admin
    a = await users.community(services.default_community_id)
    assert a is not None
    district = await _person(services, COORDINATOR_ID, "区书记", a, None)
    (street,) = await admin.streets(district)
    b = await admin.add_community(district, street.id, "B社区")
    district = await users.require(COORDINATOR_ID)
    a1 = (await admin.add_building(district, "A1号楼", a.id)).id
    a2 = (await admin.add_building(district, "A2号楼", a.id)).id
    b1 = (await admin.add_building(district, "B1号楼", b.id)).id
    await _person(services, 101, "A书记", a, None)
    coordinator_a = await admin.appoint(district, 101, Node(kind=NodeKind.COMMUNITY, id=a.id))
    await _person(services, 104, "楼长", a, a1, language="en")
    keeper = await admin.appoint(district, 104, Node(kind=NodeKind.BUILDING, id=a1))

    resident = await _person(services, 201, "=1+1", a, a1, phone="13900000001")
    neighbour = await _person(services, 202, "李奶奶", a, a2, phone="13900000002")
    anonymous = await _person(services, ANON_ID, ANON_NAME, a, a1, phone="13900000777")
    stranger = await _person(services, 203, "B居民", b, b1, phone="13900000003")
    member = await _person(services, 301, "王党员", a, a1, member=True)
    member_2 = await _person(services, 302, "赵党员", a, a2, member=True)
    member_b = await _person(services, 303, "B党员", b, b1, member=True)

    wishes = services.wishes
    # October: outside the period.
    clock.current = START - timedelta(days=10)
    await wishes.post(resident, WishDraft(category=WishCategory.REPAIRS, text="十月的灯"))
    clock.current = START
    # A1: claimed, done and confirmed (credits the passbook).
    w1 = await wishes.post(resident, WishDraft(category=WishCategory.REPAIRS, text="灯坏了"))
    clock.current += timedelta(minutes=30)
    await wishes.claim(member, w1.id)
    clock.current += timedelta(hours=2)
    await wishes.report_done(member, w1.id, note="修好了")
    clock.current += timedelta(hours=1)
    await wishes.confirm(await users.require(resident.id), w1.id)
    # A2: urgent, claimed 15 minutes after it was posted.
    w2 = await wishes.post(
        neighbour, WishDraft(category=WishCategory.HEALTH, text="头晕", urgent=True)
    )
    clock.current += timedelta(minutes=15)
    await wishes.claim(member_2, w2.id)
    # A1: open; A2: posted on behalf of a resident without a phone.
    await wishes.post(resident, WishDraft(category=WishCategory.DAILY_LIFE, text="买米"))
    await wishes.post(
        member,
        WishDraft(
            category=WishCategory.ELDERLY_CARE,
            text="陪老人看病",
            for_name="孙爷爷",
            for_building_id=a2,
            for_room="5-102",
            for_phone="13700000009",
        ),
    )
    # Community B: never in A's exports.
    wb = await wishes.post(stranger, WishDraft(category=WishCategory.LEGAL, text="B的心愿"))
    await wishes.claim(member_b, wb.id)

    # Patrol: a post covering A1, a shift the member serves 90 minutes of, member 2 misses.
    post = await services.patrol.create_post(
        district, name="东门岗", area="东门", building_ids=[a1], community_id=a.id
    )
    day = (START + timedelta(days=1)).date()
    (shift,) = await services.patrol.define_shifts(
        district, post.id, day=day, start=time(19, 0), end=time(21, 0), capacity=3
    )
    await services.patrol.take(member, shift.slot.id)
    await services.patrol.take(member_2, shift.slot.id)
    clock.current = shift.slot.starts_at
    await services.patrol.check_in(member, shift.slot.id)
    await services.findings.report(
        member, shift.slot.id, FindingDraft(text='=HYPERLINK("x")\x07 楼道堆物'), token="f1"
    )
    clock.current = shift.slot.starts_at + timedelta(minutes=90)
    await services.patrol.check_out(member, shift.slot.id)

    # Study: the community's members; the member attends, member 2 is excused.
    study_start = datetime.combine(day + timedelta(days=1), time(11, 0), tzinfo=UTC)
    (session,) = await services.study.schedule(
        district,
        SessionDraft(
            title="主题党日",
            starts_at=study_start,
            ends_at=study_start + timedelta(hours=1),
            place="社区活动室",
            audience=StudyAudience.MEMBERS,
            community_id=a.id,
        ),
    )
    await services.study.answer(member_2, session.slot.id, going=False, reason="出差")
    _, code = await services.study.code(district, session.slot.id)
    clock.current = study_start + timedelta(minutes=5)
    await services.study.check_in(member, session.slot.id, code)

    # Twinning: a household in A1, a visit with RMB 150.50 of goods.
    clock.current = study_start + timedelta(days=1)
    household = await services.twinning.register_household(
        district, HouseholdDraft(name="张奶奶家", building_id=a1, consent=True)
    )
    await services.twinning.pair(district, member.id, household.id, Cadence.WEEKLY)
    await services.twinning.log_visit(
        member,
        VisitDraft(
            household_id=household.id,
            categories=frozenset({VisitCategory.CHAT}),
            text="送米",
            help_kind=HelpKind.MATERIALS,
            help_fen=15050,
        ),
        token="v1",
    )

    # Suggestions: anonymous from A1 (kept in the community alone), signed and answered
    # twice in A2, one in B.
    await _suggestion(
        services, clock, anonymous, anonymous=True, topic=SuggestionTopic.SAFETY, token="s1"
    )
    await _suggestion(
        services,
        clock,
        neighbour,
        anonymous=False,
        topic=SuggestionTopic.ENVIRONMENT,
        replies=2,
        replier=coordinator_a,
        token="s2",
    )
    await _suggestion(
        services, clock, stranger, anonymous=False, topic=SuggestionTopic.OTHER, token="s3"
    )
    clock.current = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # the month is over
    return World(
        district=await users.require(COORDINATOR_ID),
        coordinator_a=coordinator_a,
        keeper_a1=keeper,
        resident=resident,
        member=member,
        a=a,
        a1=a1,
        a2=a2,
    )


@pytest.fixture
def files() -> Iterator[list[ExportFile]]:
    made: list[ExportFile] = []
    yield made
    for made_file in made:
        made_file.path.unlink(missing_ok=True)


Sheets = dict[str, list[list[Any]]]


def _read(path: Path) -> Sheets:
    book = load_workbook(path)
    sheets = {
        sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()] for sheet in book
    }
    for sheet in book:  # every text cell is text: no formula anywhere
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    return sheets


async def _export(
    services: Services,
    user: User,
    node: Node | None,
    files: list[ExportFile],
    fmt: ExportFormat = ExportFormat.XLSX,
    **options: Any,
) -> ExportFile:
    made = await export_file(services, user, node, NOVEMBER, fmt, runner="loop", **options)
    files.append(made)
    return made


def _area(sheets: Sheets, area: ReportArea, language: str = "zh") -> list[dict[str, Any]]:
    """The area's rows as dicts keyed by the English header."""
    t = translator(language)
    rows = sheets[t(AREA_TITLES[area])]
    headers = [c.title for c in columns(area, contacts=True)]
    assert rows[0] == [t(h) for h in headers[: len(rows[0])]]
    return [dict(zip(headers, row, strict=False)) for row in rows[1:]]


def _node(world: World) -> Node:
    return Node(kind=NodeKind.COMMUNITY, id=world.a.id)


def _all_cells(sheets: Sheets) -> list[str]:
    return [str(v) for rows in sheets.values() for row in rows for v in row if v is not None]


async def test_every_sheet_has_its_headers_in_the_coordinators_language(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    made = await _export(services, world.district, _node(world), files)
    sheets = _read(made.path)
    zh = translator("zh")
    assert list(sheets) == [zh(SUMMARY_TITLE), *(zh(AREA_TITLES[a]) for a in ReportArea)]
    assert made.filename == f"统计_{world.a.name}_2026-11.xlsx"
    for area in ReportArea:
        header = sheets[zh(AREA_TITLES[area])][0]
        assert header == [zh(c.title) for c in columns(area, contacts=True)]
        assert all(h and not h.isascii() for h in header)  # Chinese, every one
    assert sheets[zh(AREA_TITLES[ReportArea.WISHES])][0][:2] == ["微心愿编号", "发布时间"]

    made_en = await _export(services, world.keeper_a1, None, files)  # the keeper reads English
    en_sheets = _read(made_en.path)
    assert list(en_sheets) == ["Summary", *(AREA_TITLES[a] for a in ReportArea)]
    assert made_en.filename == "Statistics_A1号楼_2026-11.xlsx"
    assert en_sheets["Wishes"][0][:3] == ["Wish", "Posted at", "Building"]
    assert en_sheets["Wishes"][1][4] in ("Yes", "No")


async def test_rows_and_sums_equal_the_figures_of_stats(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    for user, node in ((world.district, _node(world)), (world.keeper_a1, None)):
        figures: Figures = await services.stats.figures(user, node, NOVEMBER)
        made = await _export(services, user, node, files)
        sheets = _read(made.path)
        lang = user.language
        t = translator(lang)
        wishes = _area(sheets, ReportArea.WISHES, lang)
        assert len(wishes) == figures.wishes.posted
        assert sum(1 for w in wishes if w["Claimed at"] is not None) == figures.wishes.claimed
        done = {t("Done, waiting for confirmation"), t("Confirmed")}
        assert sum(1 for w in wishes if w["Status"] in done) == figures.wishes.done
        assert sum(1 for w in wishes if w["Status"] == t("Confirmed")) == figures.wishes.confirmed
        urgent = [w for w in wishes if w["Urgent"] == t("Yes")]
        assert len(urgent) == figures.urgent.posted
        shifts = _area(sheets, ReportArea.PATROL, lang)
        assert len(shifts) == figures.patrol.shifts
        assert sum(s["Hours served"] for s in shifts) == pytest.approx(figures.patrol.hours)
        assert sum(s["Missed"] for s in shifts) == figures.patrol.missed
        assert len(_area(sheets, ReportArea.FINDINGS, lang)) == figures.patrol.findings
        study = _area(sheets, ReportArea.STUDY, lang)
        assert len(study) == figures.study.sessions
        assert sum(s["Attended"] for s in study) == figures.study.attendance.attended
        assert sum(s["Excused"] for s in study) == figures.study.attendance.excused
        assert sum(s["Absent"] for s in study) == figures.study.attendance.absent
        visits = _area(sheets, ReportArea.VISITS, lang)
        assert len(visits) == figures.twinning.visits
        assert sum(v["Help (RMB)"] for v in visits) == pytest.approx(
            figures.twinning.help_fen / 100
        )
        suggestions_ = _area(sheets, ReportArea.SUGGESTIONS, lang)
        assert len(suggestions_) == figures.suggestions.received
        answered = sum(1 for s in suggestions_ if s["Answered at"] is not None)
        assert answered == figures.suggestions.answered
        passbook = _area(sheets, ReportArea.PASSBOOK, lang)
        assert len(passbook) == figures.active_members
        assert made.rows == sum(len(_area(sheets, a, lang)) for a in ReportArea)
        summary = dict((row[0], row[1]) for row in sheets[t(SUMMARY_TITLE)][1:] if len(row) > 1)
        assert summary[t("Wishes posted")] == figures.wishes.posted
        assert summary[t("Visits")] == figures.twinning.visits

    # The known month, to be sure the figures are not all zero.
    figures = await services.stats.figures(world.district, _node(world), NOVEMBER)
    assert (figures.wishes.posted, figures.wishes.claimed, figures.wishes.confirmed) == (4, 2, 1)
    assert figures.urgent.posted == 1 and figures.patrol.shifts == 1
    assert figures.patrol.hours == pytest.approx(1.5) and figures.patrol.missed == 1
    assert (figures.study.attendance.attended, figures.study.attendance.excused) == (1, 1)
    assert figures.twinning.visits == 1 and figures.twinning.help_fen == 15050
    assert (figures.suggestions.received, figures.suggestions.answered) == (2, 1)


async def test_times_are_local_and_each_wish_reads_as_it_happened(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    sheets = _read((await _export(services, world.district, _node(world), files)).path)
    wishes = _area(sheets, ReportArea.WISHES)
    first = wishes[0]
    local_start = (START + timedelta(hours=ZONE_HOURS)).replace(tzinfo=None)
    assert first["Posted at"] == local_start  # 10:00 in Shanghai, not 02:00
    assert first["Claimed at"] == local_start + timedelta(minutes=30)
    assert first["Minutes to claim"] == 30
    assert first["Status"] == "已完成" and first["Helper or team"] == "王党员"
    assert first["Kind of help"] == translator("zh")("Repairs at home")
    assert first["Building"] == "A1号楼"
    assert first["Resident"] == "=1+1"  # a formula-looking name stays text (and no "f" cell)
    urgent = wishes[1]
    assert urgent["Urgent"] == "是" and urgent["Minutes to claim"] == 15
    proxy = wishes[3]
    assert (proxy["Resident"], proxy["Room"], proxy["Phone"]) == ("孙爷爷", "5-102", "13700000009")
    visits = _area(sheets, ReportArea.VISITS)
    assert visits[0]["Help (RMB)"] == pytest.approx(150.5)
    assert isinstance(visits[0]["Date"], datetime)  # a date cell
    (finding,) = _area(sheets, ReportArea.FINDINGS)
    assert finding["Reported by"] == "王党员" and finding["Post"] == "东门岗"
    (shift,) = _area(sheets, ReportArea.PATROL)
    assert shift["Start"].hour == 19 and shift["Hours served"] == pytest.approx(1.5)


async def test_an_anonymous_suggestions_author_appears_in_no_cell(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    for fmt in ExportFormat:
        made = await _export(services, world.district, _node(world), files, fmt)
        if fmt is ExportFormat.XLSX:
            cells = _all_cells(_read(made.path))
        else:
            cells = [v for rows in _read_csv(made.path).values() for row in rows for v in row]
        # The anonymous author's name, id and phone: nowhere. Their own wishes: none posted.
        assert not any(ANON_NAME in c for c in cells)
        assert not any(c == str(ANON_ID) for c in cells)
        assert not any("13900000777" in c for c in cells)
        assert "匿名" in cells  # the anonymous one is there, as anonymous
        assert "李奶奶" in cells  # a signed one names its author


async def test_a_buildings_coordinator_gets_their_buildings_rows_only(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    sheets = _read((await _export(services, world.keeper_a1, None, files)).path)
    wishes = _area(sheets, ReportArea.WISHES, "en")
    assert [w["Building"] for w in wishes] == ["A1号楼", "A1号楼"]
    assert {w["Resident"] for w in wishes} == {"=1+1"}
    # The anonymous one from A1 lies in the community alone: a building's sheet would say
    # where its author lives.
    assert _area(sheets, ReportArea.SUGGESTIONS, "en") == []
    passbook = _area(sheets, ReportArea.PASSBOOK, "en")
    assert [p["Member"] for p in passbook] == ["王党员"]  # 赵党员 lives in A2
    cells = _all_cells(sheets)
    for elsewhere in ("李奶奶", "孙爷爷", "13900000002", "13700000009", "赵党员", "A2号楼"):
        assert elsewhere not in cells
    # Nor another community's, whoever asks.
    for user, node in ((world.district, _node(world)), (world.coordinator_a, None)):
        cells = _all_cells(_read((await _export(services, user, node, files)).path))
        for other in ("B居民", "B党员", "B1号楼", "13900000003"):
            assert other not in cells
    # Asked for another building, or for the community above: not theirs even to know of.
    with pytest.raises(NotFound):
        await services.reports.plan(
            world.keeper_a1, Node(kind=NodeKind.BUILDING, id=world.a2), NOVEMBER
        )
    with pytest.raises(NotFound):
        await services.reports.plan(world.keeper_a1, _node(world), NOVEMBER)


async def test_contacts_only_for_a_coordinators_rows_in_scope(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    sheets = _read((await _export(services, world.district, _node(world), files)).path)
    wishes = _area(sheets, ReportArea.WISHES)
    assert all(w["Phone"] for w in wishes if w["Resident"] != "孙爷爷") and len(wishes) == 4
    plan = await services.reports.plan(world.district, _node(world), NOVEMBER)
    assert plan.contacts and plan.reach.community_ids == {world.a.id}
    # Without contacts (a plan that says so), the columns are not there at all.
    assert len(columns(ReportArea.WISHES, contacts=False)) == len(wishes[0]) - 3


async def test_residents_members_and_unknown_nodes_are_refused(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    for who in (world.resident, world.member):
        with pytest.raises(NotAllowed):
            await services.reports.plan(who, None, NOVEMBER)
        with pytest.raises(NotAllowed):
            await export_file(services, who, None, NOVEMBER, ExportFormat.XLSX, runner="loop")
    for node in (
        Node(kind=NodeKind.COMMUNITY, id=999_999),
        Node(kind=NodeKind.BUILDING, id=999_999),
        Node(kind=NodeKind.STREET, id=999_999),
    ):
        with pytest.raises(NotFound):
            await services.reports.plan(world.district, node, NOVEMBER)
    with pytest.raises(NotFound):  # a community coordinator asking about the street above
        street = (await services.admin.streets(world.district))[0]
        await services.reports.plan(
            world.coordinator_a, Node(kind=NodeKind.STREET, id=street.id), NOVEMBER
        )


def _read_csv(path: Path) -> dict[str, list[list[str]]]:
    found: dict[str, list[list[str]]] = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            raw = archive.read(name)
            assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with its mark: Excel reads Chinese
            text = raw.decode("utf-8-sig")
            found[name] = list(csv.reader(io.StringIO(text, newline="")))
    return found


async def test_the_csv_files_hold_what_the_sheets_hold(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    book = await _export(services, world.district, _node(world), files)
    zipped = await _export(services, world.district, _node(world), files, ExportFormat.CSV)
    assert zipped.filename.endswith(".zip") and zipped.rows == book.rows
    sheets = _read(book.path)
    tables = _read_csv(zipped.path)
    assert len(tables) == len(sheets)
    for n, (title, rows) in enumerate(sheets.items(), start=1):
        table = [[_number(v) for v in row] for row in tables[f"{n}_{title}.csv"]]
        expected = [[_number(_as_csv(v)) for v in row] for row in rows]
        # The made-at moment differs between the two files by the time between them.
        assert [r for r in table if r[:1] != ["导出时间"]] == [
            r for r in expected if r[:1] != ["导出时间"]
        ]
    wishes = tables[f"2_{translator('zh')(AREA_TITLES[ReportArea.WISHES])}.csv"]
    assert wishes[1][11] == "'=1+1"  # a spreadsheet would take it for a formula: marked text


def _as_csv(value: Any) -> str:
    """A cell read back from the workbook, as the CSV writes it."""
    if isinstance(value, datetime) and value.time() == time(0) and value.year > 1900:
        # openpyxl reads a date cell back as midnight; the CSV wrote the day.
        return value.date().isoformat()
    return csv_text(value)


def _number(text: str) -> str:
    """A number as one spelling (the workbook reads 150.0 back as 150)."""
    try:
        return repr(float(text))
    except ValueError:
        return text


async def test_the_file_made_in_a_process_of_its_own_is_the_same(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    here = await _export(services, world.district, _node(world), files)
    apart = await export_file(
        services, world.district, _node(world), NOVEMBER, ExportFormat.XLSX, runner="process"
    )
    files.append(apart)
    assert apart.rows == here.rows and apart.filename == here.filename
    mine, theirs = _read(here.path), _read(apart.path)
    for title in mine:
        if title != "概况":
            assert mine[title] == theirs[title]


def test_a_sheet_longer_than_excel_allows_goes_on_in_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workbook, "MAX_ROWS", 3)  # the header and two rows a sheet
    path = tmp_path / "long.xlsx"
    writer = workbook.XlsxWriter(path)
    sheet = writer.sheet("Wishes", columns(ReportArea.PASSBOOK, contacts=False), translator("en"))
    for n in range(5):
        sheet.append([f"=member {n}", n])
    writer.close()
    sheets = _read(path)
    assert list(sheets) == ["Wishes", "Wishes (2)", "Wishes (3)"]
    assert all(rows[0] == ["Member", "Points"] for rows in sheets.values())
    assert [r for rows in sheets.values() for r in rows[1:]] == [
        [f"=member {n}", n] for n in range(5)
    ]


async def test_a_cancelled_export_leaves_no_process_and_no_file(
    services: Services, world: World
) -> None:
    folder = Path(tempfile.gettempdir())
    before = set(folder.glob("linli-export-*"))
    task = asyncio.ensure_future(
        export_file(
            services, world.district, _node(world), NOVEMBER, ExportFormat.XLSX, runner="process"
        )
    )
    while not _writers():  # the writer process has started
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _writers()
    assert not set(folder.glob("linli-export-*")) - before  # nothing of it left


def _writers() -> list[int]:
    """This process's children that are the export's writer."""
    found = []
    for pid in child_pids():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"handlers.stats.export" in command and b"(zombie)" not in command:
            found.append(pid)
    return found


def test_a_csv_text_a_spreadsheet_could_read_as_a_formula_is_marked_and_kept_in_its_cell(
    tmp_path: Path,
) -> None:
    """Behind spaces or a line break, or in full-width letters, "=" still starts a formula for
    some spreadsheet programs; a ";" is the field separator where the list separator is one."""
    for text in (' =HYPERLINK("x")', "\n=1+1", "＝1+1", "　+1", "－1", "＠SUM(A1)"):
        assert csv_text(text).startswith("'"), text
    assert csv_text("王 = 王") == "王 = 王" and csv_text("A-1") == "A-1"
    zipped = tmp_path / "t.zip"
    writer = CsvWriter(zipped)
    writer.sheet("表", [Column("名字", 10), Column("分", 5)], lambda s: s).append(["a;=1+1", 3])
    writer.close()
    with zipfile.ZipFile(zipped) as archive:
        (name,) = archive.namelist()
        body = archive.read(name).decode("utf-8-sig")
    assert body.splitlines()[1] == '"a;=1+1","3"'


@pytest.mark.parametrize("odd", ["\uffff", "\ufffe", "\ud800", "\x00", "\x1b"])
def test_a_name_with_a_character_xml_cannot_hold_is_written_without_it(
    tmp_path: Path, odd: str
) -> None:
    """One such name (a household's, a member's) would otherwise fail every export of the
    community: lxml refuses U+FFFE and U+FFFF, UTF-8 a lone surrogate."""
    name = f"王{odd}阿姨"
    book = workbook.XlsxWriter(tmp_path / "t.xlsx")
    book.sheet("表", [Column("名字", 10)], lambda s: s).append([name, f"={odd}1"])
    book.close()
    (sheet,) = load_workbook(tmp_path / "t.xlsx")
    assert [c.value for c in sheet[2]] == ["王阿姨", "=1"]
    zipped = CsvWriter(tmp_path / "t.zip")
    zipped.sheet("表", [Column("名字", 10)], lambda s: s).append([name])
    zipped.close()
    with zipfile.ZipFile(tmp_path / "t.zip") as archive:
        (entry,) = archive.namelist()
        assert archive.read(entry).decode("utf-8-sig").splitlines()[1] == '"王阿姨"'


async def test_a_writer_killed_midway_leaves_none_of_its_sheets_behind(
    services: Services, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """openpyxl keeps each sheet in a temporary file (the residents' phones in it) and removes
    them at the writer's exit, which a killed writer never reaches."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the writer would put them
    folder = Path(tempfile.gettempdir())
    before = set(folder.glob("linli-export-*"))

    def sheets() -> list[Path]:
        found = list(tmp_path.rglob("openpyxl.*"))
        for work in set(folder.glob("linli-export-*")) - before:
            if work.is_dir():
                found += work.rglob("openpyxl.*")
        return found

    task = asyncio.ensure_future(
        export_file(
            services, world.district, _node(world), NOVEMBER, ExportFormat.XLSX, runner="process"
        )
    )
    while not sheets() and not task.done():
        await asyncio.sleep(0.002)
    assert not task.done(), "the writer finished before it could be caught midway"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _writers()
    assert sheets() == []
    assert not set(folder.glob("linli-export-*")) - before  # nothing of it left


async def test_a_second_export_while_the_first_is_written_is_refused_not_queued(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    """Ten presses of 📥 would otherwise queue ten files of a district's year, one after the
    other, ahead of every other coordinator's (one export at a time per bot)."""
    first = asyncio.ensure_future(
        export_file(
            services, world.district, _node(world), NOVEMBER, ExportFormat.XLSX, runner="process"
        )
    )
    while not _writers():
        await asyncio.sleep(0.01)
    with pytest.raises(ExportUnderWay):
        await export_file(
            services, world.district, _node(world), NOVEMBER, ExportFormat.CSV, runner="loop"
        )
    files.append(await first)
    assert first.result().rows > 0
    again = await _export(services, world.district, _node(world), files, ExportFormat.CSV)
    assert again.rows == first.result().rows


async def test_a_writer_that_takes_too_long_is_killed_and_the_next_export_runs(
    services: Services, world: World, files: list[ExportFile], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer stuck on its connection held the one-at-a-time lock, and every later export
    behind it, for good."""
    folder = Path(tempfile.gettempdir())
    before = set(folder.glob("linli-export-*"))
    monkeypatch.setattr(export_module, "WRITE_TIMEOUT", 0.05, raising=False)
    with pytest.raises(export_module.ExportFailed):
        await export_file(
            services, world.district, _node(world), NOVEMBER, ExportFormat.XLSX, runner="process"
        )
    assert not _writers()
    assert not set(folder.glob("linli-export-*")) - before  # nothing of it left
    made = await asyncio.wait_for(
        _export(services, world.district, _node(world), files, ExportFormat.CSV), 60
    )
    assert made.rows > 0


async def test_what_a_killed_bot_left_of_its_exports_goes_with_the_next_export(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    """A bot killed mid-export (a hard stop) leaves its file and its writer's folder, the
    residents' phones in them; the next export removes what is older than any export."""
    old = time_module.time() - export_module.WRITE_TIMEOUT - 60
    left_file = Path(tempfile.mkstemp(prefix="linli-export-", suffix=".xlsx")[1])
    left_folder = Path(tempfile.mkdtemp(prefix="linli-export-"))
    (left_folder / "openpyxl.abc").write_text("13900000001")
    fresh = Path(tempfile.mkstemp(prefix="linli-export-", suffix=".zip")[1])  # another's, now
    for path in (left_file, left_folder / "openpyxl.abc", left_folder):
        os.utime(path, (old, old))
    try:
        await _export(services, world.district, _node(world), files)
        assert not left_file.exists() and not left_folder.exists()
        assert fresh.exists()
    finally:
        fresh.unlink(missing_ok=True)
        left_file.unlink(missing_ok=True)
        shutil.rmtree(left_folder, ignore_errors=True)


async def test_an_export_with_the_residents_phones_is_in_the_audit_log(
    services: Services, world: World, files: list[ExportFile]
) -> None:
    """Every coordinator action lands in the audit log: a file of a district's residents'
    phones most of all (who, which place, which period, which format)."""
    await _export(services, world.district, _node(world), files, ExportFormat.CSV)
    async with services.store.read() as conn:
        rows = (
            await conn.execute(select(audit_log).where(audit_log.c.action == "report.export"))
        ).all()
    assert len(rows) == 1
    (row,) = rows
    assert row.actor_id == world.district.id
    assert row.subject == f"{_node(world).kind.value}:{_node(world).id}"
    assert row.after == {
        "first_day": NOVEMBER.first_day.isoformat(),
        "last_day": NOVEMBER.last_day.isoformat(),
        "format": "csv",
        "contacts": True,
    }
    log = await services.admin.audit_log(world.district)
    assert any(entry.action == "report.export" for entry in log)
