"""The figures of `/stats` through the real services (SQLite, and PostgreSQL on its pass): a
month of two communities' work — wishes posted, claimed, given back, done and confirmed at
set times, urgent requests, a twinned pair with visits and help, patrol shifts served,
missed and cancelled with findings, study sessions attended, excused and missed, suggestions
and passbook credits — made through the services at set clock times, and every figure checked
against the one counted by hand. A street adds up its communities; the period's edges are
local midnights (Asia/Shanghai, the machine in UTC); and who may ask about what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.models import (
    Attendance,
    Building,
    Cadence,
    CategoryFigures,
    Community,
    Figures,
    HelpKind,
    Leader,
    Node,
    NodeKind,
    PatrolFigures,
    Period,
    PeriodKind,
    Role,
    StudyAudience,
    StudyFigures,
    SuggestionFigures,
    SuggestionTopic,
    TopicFigures,
    UrgentFigures,
    User,
    WishCategory,
    WishFigures,
)
from bot.services import Services
from bot.services.errors import NotAllowed, NotFound
from bot.services.patrol.findings import FindingDraft
from bot.services.stats.period import month_of, quarter_of, year_of
from bot.services.study import SessionDraft
from bot.services.twinning import HouseholdDraft, VisitDraft
from bot.services.wishes import WishDraft
from storage import users as users_repo
from storage.schema import suggestions
from tests.conftest import COORDINATOR_ID

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOVEMBER = month_of(date(2026, 11, 1))


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment on the community's wall clock, 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(local(10, 30, 9).astimezone(UTC))


def _at(clock: ManualClock, moment: datetime) -> None:
    clock.current = moment.astimezone(UTC)


@dataclass
class World:
    district: User
    coordinator_a: User
    keeper_a1: User  # a coordinator of building A1 only
    a: Community
    b: Community
    a1: Building
    a2: Building
    b1: Building
    ra1: User  # residents
    ra2: User
    rb: User
    ma1: User  # members: A1, A2, A1, B1
    ma2: User
    ma3: User
    mb: User
    coordinator_b: User
    mid_november: Figures | None = None  # read on 30 November at 20:00


async def _person(
    services: Services, uid: int, name: str, community: Community, building: Building | None
) -> User:
    return await services.users.register(
        uid,
        display_name=name,
        language="zh",
        building_id=building.id if building else None,
        community_id=community.id,
    )


async def _member(services: Services, user: User) -> User:
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, user.id, Role.MEMBER, None, services.clock.now())
    return await services.users.require(user.id)


async def _suggestion(
    services: Services,
    community: Community,
    building: Building | None,
    topic: SuggestionTopic,
    author: User,
    created: datetime,
    answered: datetime | None,
) -> None:
    """Written into the table, signed, at the exact times the hand counts need (left, and
    first answered); how the service makes them is its own tests' business."""
    async with services.store.transaction() as conn:
        await conn.execute(
            suggestions.insert().values(
                community_id=community.id,
                building_id=building.id if building else None,
                author_id=author.id,
                anonymous=False,
                topic=topic.value,
                text="路灯坏了",
                status="answered" if answered else "new",
                token=f"t{created.timestamp()}",
                created_at=created,
                updated_at=created,
                answered_at=answered,
            )
        )


@pytest.fixture
async def world(services: Services, clock: ManualClock) -> World:
    """The month of November 2026 in communities A and B (one street), as in the docstring
    of each test's expected figures."""
    users, admin = services.users, services.admin
    a = await users.community(services.default_community_id)
    assert a is not None
    district = await _person(services, COORDINATOR_ID, "区书记", a, None)
    (street,) = await admin.streets(district)
    b = await admin.add_community(district, street.id, "B社区")
    district = await users.require(COORDINATOR_ID)
    a1 = await admin.add_building(district, "A1号楼", a.id)
    a2 = await admin.add_building(district, "A2号楼", a.id)
    b1 = await admin.add_building(district, "B1号楼", b.id)
    await _person(services, 101, "A书记", a, None)
    coordinator_a = await admin.appoint(district, 101, Node(kind=NodeKind.COMMUNITY, id=a.id))
    await _person(services, 102, "B书记", b, None)
    coordinator_b = await admin.appoint(district, 102, Node(kind=NodeKind.COMMUNITY, id=b.id))
    await _person(services, 104, "楼长", a, a1)
    keeper = await admin.appoint(district, 104, Node(kind=NodeKind.BUILDING, id=a1.id))
    w = World(
        district=district,
        coordinator_a=coordinator_a,
        keeper_a1=keeper,
        a=a,
        b=b,
        a1=a1,
        a2=a2,
        b1=b1,
        ra1=await _person(services, 201, "A1奶奶", a, a1),
        ra2=await _person(services, 202, "A2爷爷", a, a2),
        rb=await _person(services, 203, "B奶奶", b, b1),
        ma1=await _member(services, await _person(services, 301, "小王", a, a1)),
        ma2=await _member(services, await _person(services, 302, "小赵", a, a2)),
        ma3=await _member(services, await _person(services, 303, "小钱", a, a1)),
        mb=await _member(services, await _person(services, 304, "小孙", b, b1)),
        coordinator_b=coordinator_b,
    )
    wishes, patrol, findings, study = (
        services.wishes,
        services.patrol,
        services.findings,
        services.study,
    )
    twinning, passbook = services.twinning, services.passbook

    # Before the month: a pair in B (active, not formed in November); a wish and points at
    # 23:50 on 31 October (local), outside it.
    household_b = await twinning.register_household(
        district,
        HouseholdDraft(name="孙家", building_id=b1.id, consent=True),
    )
    await twinning.pair(district, w.mb.id, household_b.id, Cadence.WEEKLY)
    post_a = await patrol.create_post(
        coordinator_a, name="东门岗", area=None, building_ids=[a1.id]
    )
    post_b = await patrol.create_post(coordinator_b, name="B门岗", area=None, building_ids=[b1.id])
    _at(clock, local(10, 31, 23, 50))
    await wishes.post(w.ra1, WishDraft(category=WishCategory.REPAIRS, text="十月的"))
    await passbook.adjust(coordinator_a, w.ma2.id, 100, "十月的奖励", token="oct")
    await _suggestion(services, a, a1, SuggestionTopic.SAFETY, w.ra1, local(10, 31, 23), None)

    # A: W1 (A1, repairs) claimed after 90 min, done after 3 h, confirmed.
    _at(clock, local(11, 1, 9))
    household_a = await twinning.register_household(
        coordinator_a, HouseholdDraft(name="王家", building_id=a1.id, consent=True)
    )
    await twinning.pair(coordinator_a, w.ma1.id, household_a.id, Cadence.WEEKLY)
    _at(clock, local(11, 2, 10))
    w1 = await wishes.post(w.ra1, WishDraft(category=WishCategory.REPAIRS, text="修灯"))
    _at(clock, local(11, 2, 11, 30))
    await wishes.claim(w.ma1, w1.id)
    _at(clock, local(11, 2, 13))
    await wishes.report_done(w.ma1, w1.id, note="修好了")
    _at(clock, local(11, 2, 14))
    await wishes.confirm(w.ra1, w1.id)  # ma1 +10
    # B: WB1 claimed after 20 min, done after 2 h, confirmed.
    _at(clock, local(11, 2, 11))
    wb1 = await wishes.post(w.rb, WishDraft(category=WishCategory.REPAIRS, text="修门"))
    _at(clock, local(11, 2, 11, 20))
    await wishes.claim(w.mb, wb1.id)
    _at(clock, local(11, 2, 13))
    await wishes.report_done(w.mb, wb1.id, note="好了")
    _at(clock, local(11, 2, 15))
    await wishes.confirm(w.rb, wb1.id)  # mb +10
    # A: W2 (A2, daily life) claimed after 60 min, given back, taken by another at 120 min,
    # done after 5 h, not confirmed.
    _at(clock, local(11, 3, 10))
    w2 = await wishes.post(w.ra2, WishDraft(category=WishCategory.DAILY_LIFE, text="买菜"))
    _at(clock, local(11, 3, 11))
    await wishes.claim(w.ma2, w2.id)
    _at(clock, local(11, 3, 11, 30))
    await wishes.release(w.ma2, w2.id, "临时有事")
    _at(clock, local(11, 3, 12))
    await wishes.claim(w.ma1, w2.id)
    _at(clock, local(11, 3, 15))
    await wishes.report_done(w.ma1, w2.id, note="买好了")
    await _suggestion(
        services, a, a1, SuggestionTopic.SAFETY, w.ra1, local(11, 3, 9), local(11, 4, 9)
    )
    # A: W3 (A1) never claimed; W4 (A1, urgent) claimed after 10 min; W5 (A2, urgent)
    # claimed after 15 min and given back, open since.
    _at(clock, local(11, 4, 10))
    await wishes.post(w.ra1, WishDraft(category=WishCategory.REPAIRS, text="水管"))
    _at(clock, local(11, 5, 10))
    w4 = await wishes.post(
        w.ra1, WishDraft(category=WishCategory.HEALTH, text="头晕", urgent=True)
    )
    _at(clock, local(11, 5, 10, 10))
    await wishes.claim(w.ma1, w4.id)
    # Visits: A's worth RMB 150.50 in materials, B's RMB 200 in funds.
    _at(clock, local(11, 5, 16))
    await twinning.log_visit(
        w.ma1,
        VisitDraft(
            household_id=household_a.id, text="送米", help_kind=HelpKind.MATERIALS, help_fen=15050
        ),
        token="va",
    )  # ma1 +5
    _at(clock, local(11, 6, 10))
    w5 = await wishes.post(
        w.ra2, WishDraft(category=WishCategory.ELDERLY_CARE, text="陪诊", urgent=True)
    )
    _at(clock, local(11, 6, 10, 15))
    await wishes.claim(w.ma2, w5.id)
    _at(clock, local(11, 6, 10, 30))
    await wishes.release(w.ma2, w5.id, "去不了")
    await twinning.log_visit(
        w.mb,
        VisitDraft(
            household_id=household_b.id, text="送钱", help_kind=HelpKind.FUNDS, help_fen=20000
        ),
        token="vb",
    )  # mb +5
    # B: WB2 (urgent) claimed after 40 min.
    _at(clock, local(11, 7, 10))
    wb2 = await wishes.post(
        w.rb, WishDraft(category=WishCategory.HEALTH, text="摔倒", urgent=True)
    )
    _at(clock, local(11, 7, 10, 40))
    await wishes.claim(w.mb, wb2.id)
    await _suggestion(services, a, a2, SuggestionTopic.ENVIRONMENT, w.ra2, local(11, 8, 9), None)
    await _suggestion(
        services, b, b1, SuggestionTopic.FACILITIES, w.rb, local(11, 9, 9), local(11, 10, 9)
    )

    # Patrol, A: S1 on 10 November 19:00–21:00: ma1 from 18:50 to 21:30 (120 min within the
    # shift), ma2 from 19:30 to 20:15 (45 min); two findings, one handled. S2 on the 12th:
    # ma1 never comes (missed). S3 on the 14th: cancelled, with ma3 on it. S4 on the 30th:
    # ma2 never comes. B: SB on the 11th 19:00–20:00, mb the whole hour; one finding.
    _at(clock, local(11, 9, 12))
    (s1,) = await patrol.define_shifts(
        coordinator_a, post_a.id, day=date(2026, 11, 10), start=time(19), end=time(21), capacity=3
    )
    (s2,) = await patrol.define_shifts(
        coordinator_a, post_a.id, day=date(2026, 11, 12), start=time(19), end=time(21), capacity=3
    )
    (s3,) = await patrol.define_shifts(
        coordinator_a, post_a.id, day=date(2026, 11, 14), start=time(19), end=time(21), capacity=3
    )
    (s4,) = await patrol.define_shifts(
        coordinator_a, post_a.id, day=date(2026, 11, 30), start=time(19), end=time(21), capacity=3
    )
    (sb,) = await patrol.define_shifts(
        coordinator_b, post_b.id, day=date(2026, 11, 11), start=time(19), end=time(20), capacity=3
    )
    for member, shift in ((w.ma1, s1), (w.ma2, s1), (w.ma1, s2), (w.ma3, s3), (w.ma2, s4)):
        await patrol.take(member, shift.slot.id)
    await patrol.take(w.mb, sb.slot.id)
    await patrol.cancel_shift(coordinator_a, s3.slot.id)
    _at(clock, local(11, 10, 18, 50))
    await patrol.check_in(w.ma1, s1.slot.id)
    _at(clock, local(11, 10, 19, 30))
    await patrol.check_in(w.ma2, s1.slot.id)
    handled = await findings.report(w.ma1, s1.slot.id, FindingDraft(text="井盖松了"), token="f1")
    await findings.report(w.ma2, s1.slot.id, FindingDraft(text="路灯不亮"), token="f2")
    _at(clock, local(11, 10, 20, 15))
    await patrol.check_out(w.ma2, s1.slot.id)  # 45 min: ma2 +5 (one hour)
    await findings.mark_handled(coordinator_a, handled.id)
    _at(clock, local(11, 10, 21, 30))
    await patrol.check_out(w.ma1, s1.slot.id)  # 120 min: ma1 +10
    _at(clock, local(11, 11, 19))
    await patrol.check_in(w.mb, sb.slot.id)
    await findings.report(w.mb, sb.slot.id, FindingDraft(text="栏杆坏了"), token="fb")
    _at(clock, local(11, 11, 20))
    await patrol.check_out(w.mb, sb.slot.id)  # 60 min: mb +5
    _at(clock, local(11, 15, 9))
    await passbook.adjust(coordinator_a, w.ma3.id, 7, "帮忙搬运", token="nov")  # ma3 +7

    # Study, A: T1 on the 20th for A's members: ma1 attends, ma2 excused, ma3 absent. T2 on
    # the 25th for A2's members: ma2 attends. T3 cancelled. T4 on the 30th 19:00–21:00 for
    # A2's members: ma2 excused. B: TB on the 21st for everyone in B: mb attends; rb and B's
    # coordinator absent.
    _at(clock, local(11, 16, 9))

    async def session(
        day: int, audience: StudyAudience, community: Community, building: Building | None
    ) -> int:
        (made,) = await study.schedule(
            district,
            SessionDraft(
                title="小家庭党校",
                starts_at=local(11, day, 19),
                ends_at=local(11, day, 21),
                place="党群服务中心",
                audience=audience,
                building_id=building.id if building else None,
                community_id=community.id,
            ),
        )
        return made.slot.id

    t1 = await session(20, StudyAudience.MEMBERS, a, None)
    t2 = await session(25, StudyAudience.BUILDING, a, a2)
    t3 = await session(27, StudyAudience.MEMBERS, a, None)
    t4 = await session(30, StudyAudience.BUILDING, a, a2)
    tb = await session(21, StudyAudience.EVERYONE, b, None)
    await study.answer(w.ma1, t1, going=True)
    await study.answer(w.ma2, t1, going=False, reason="出差")
    await study.answer(w.ma2, t4, going=False, reason="值班")
    await study.answer(w.ma3, t3, going=True)
    await study.cancel(district, t3)
    for person, slot_id, day in ((w.ma1, t1, 20), (w.mb, tb, 21), (w.ma2, t2, 25)):
        _at(clock, local(11, day, 19, 5))
        _session, code = await study.code(district, slot_id)
        await study.check_in(person, slot_id, code)  # +3 each

    # The last day: a wish at 23:30 counts; one at 00:10 the next day does not. A
    # suggestion at 23:30, answered at once.
    _at(clock, local(11, 30, 20))
    w.mid_november = await services.stats.figures(district, None, NOVEMBER)
    _at(clock, local(11, 30, 23, 30))
    await wishes.post(w.ra1, WishDraft(category=WishCategory.OTHER, text="最后一天"))
    await _suggestion(
        services, a, None, SuggestionTopic.ENVIRONMENT, w.ra2, clock.now(), clock.now()
    )
    _at(clock, local(12, 1, 0, 10))
    await wishes.post(w.ra2, WishDraft(category=WishCategory.OTHER, text="十二月的"))
    _at(clock, local(12, 2, 10))
    return w


def _node(kind: NodeKind, node_id: int) -> Node:
    return Node(kind=kind, id=node_id)


# --- every figure, counted by hand ------------------------------------------------------------


async def test_every_figure_of_community_a(services: Services, world: World) -> None:
    w = world
    figures = await services.stats.figures(w.coordinator_a, None, NOVEMBER)
    assert figures.node == _node(NodeKind.COMMUNITY, w.a.id)
    assert figures.node_name == w.a.name
    assert figures.period == NOVEMBER and figures.zone == "Asia/Shanghai"
    # W1..W6: claimed W1 (90 min), W2 (60 min: its first claim), W4 (10 min), W5 (15 min,
    # given back since); done W1 (180 min), W2 (300 min); confirmed W1.
    assert figures.wishes == WishFigures(
        posted=6,
        claimed=4,
        done=2,
        confirmed=1,
        median_minutes_to_claim=37.5,
        median_minutes_to_done=240.0,
        by_category=[
            CategoryFigures(category=WishCategory.DAILY_LIFE, posted=1, done=1),
            CategoryFigures(category=WishCategory.ELDERLY_CARE, posted=1, done=0),
            CategoryFigures(category=WishCategory.HEALTH, posted=1, done=0),
            CategoryFigures(category=WishCategory.REPAIRS, posted=2, done=1),
            CategoryFigures(category=WishCategory.OTHER, posted=1, done=0),
        ],
    )
    assert figures.urgent == UrgentFigures(posted=2, claimed=2, median_minutes_to_claim=12.5)
    # ma1: 10 (W1) + 5 (visit) + 10 (two hours on patrol) + 3 (study) = 28; ma2: 5 + 3 (the
    # 100 of 31 October is outside); ma3: 7.
    assert figures.active_members == 3
    assert figures.leaders == [
        Leader(member_id=w.ma1.id, display_name="小王", points=28),
        Leader(member_id=w.ma2.id, display_name="小赵", points=8),
        Leader(member_id=w.ma3.id, display_name="小钱", points=7),
    ]
    t = figures.twinning
    assert (t.start, t.end, t.community_id, t.building_id) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
        w.a.id,
        None,
    )
    assert (t.households, t.pairs_active, t.pairs_formed, t.visits) == (1, 1, 1, 1)
    assert (t.funds_fen, t.materials_fen) == (0, 15050)
    # S1, S2, S4 (S3 cancelled); 120 + 45 minutes; ma1 on S2 and ma2 on S4 never came.
    assert figures.patrol == PatrolFigures(
        shifts=3, hours=2.75, missed=2, findings=2, findings_handled=1
    )
    # T1 (members: ma1, ma2, ma3), T2 and T4 (A2's members: ma2).
    assert figures.study == StudyFigures(
        sessions=3, attendance=Attendance(attended=2, excused=2, absent=1)
    )
    assert figures.study.attendance.expected == 5  # the rate /stats shows: 2 of 5
    assert figures.suggestions == SuggestionFigures(
        received=3,
        answered=2,
        by_topic=[
            TopicFigures(topic=SuggestionTopic.ENVIRONMENT, received=2, answered=1),
            TopicFigures(topic=SuggestionTopic.SAFETY, received=1, answered=1),
        ],
    )


async def test_every_figure_of_community_b(services: Services, world: World) -> None:
    w = world
    figures = await services.stats.figures(w.coordinator_b, None, NOVEMBER)
    assert figures.node == _node(NodeKind.COMMUNITY, w.b.id) and figures.node_name == "B社区"
    assert figures.wishes == WishFigures(
        posted=2,
        claimed=2,
        done=1,
        confirmed=1,
        median_minutes_to_claim=30.0,  # 20 and 40
        median_minutes_to_done=120.0,
        by_category=[
            CategoryFigures(category=WishCategory.HEALTH, posted=1, done=0),
            CategoryFigures(category=WishCategory.REPAIRS, posted=1, done=1),
        ],
    )
    assert figures.urgent == UrgentFigures(posted=1, claimed=1, median_minutes_to_claim=40.0)
    assert figures.active_members == 1
    assert figures.leaders == [Leader(member_id=w.mb.id, display_name="小孙", points=23)]
    t = figures.twinning
    assert (t.households, t.pairs_active, t.pairs_formed, t.visits) == (1, 1, 0, 1)
    assert (t.funds_fen, t.materials_fen, t.community_id) == (20000, 0, w.b.id)
    assert figures.patrol == PatrolFigures(
        shifts=1, hours=1.0, missed=0, findings=1, findings_handled=0
    )
    # TB for everyone in B: mb attended; rb and B's coordinator did not come.
    assert figures.study == StudyFigures(
        sessions=1, attendance=Attendance(attended=1, excused=0, absent=2)
    )
    assert figures.suggestions == SuggestionFigures(
        received=1,
        answered=1,
        by_topic=[TopicFigures(topic=SuggestionTopic.FACILITIES, received=1, answered=1)],
    )


async def test_every_figure_of_building_a1_for_its_coordinator(
    services: Services, world: World
) -> None:
    w = world
    figures = await services.stats.figures(w.keeper_a1, None, NOVEMBER)
    same = await services.stats.figures(w.district, _node(NodeKind.BUILDING, w.a1.id), NOVEMBER)
    assert figures == same
    assert figures.node == _node(NodeKind.BUILDING, w.a1.id) and figures.node_name == "A1号楼"
    # The wishes of A1: W1, W3, W4, W6.
    assert figures.wishes == WishFigures(
        posted=4,
        claimed=2,
        done=1,
        confirmed=1,
        median_minutes_to_claim=50.0,  # 90 and 10
        median_minutes_to_done=180.0,
        by_category=[
            CategoryFigures(category=WishCategory.HEALTH, posted=1, done=0),
            CategoryFigures(category=WishCategory.REPAIRS, posted=2, done=1),
            CategoryFigures(category=WishCategory.OTHER, posted=1, done=0),
        ],
    )
    assert figures.urgent == UrgentFigures(posted=1, claimed=1, median_minutes_to_claim=10.0)
    # A1's members: ma1 and ma3.
    assert figures.active_members == 2
    assert [(x.member_id, x.points) for x in figures.leaders] == [(w.ma1.id, 28), (w.ma3.id, 7)]
    t = figures.twinning
    assert (t.community_id, t.building_id, t.households, t.pairs_formed, t.visits) == (
        w.a.id,
        w.a1.id,
        1,
        1,
        1,
    )
    assert t.materials_fen == 15050
    # ma1's S1 (120 min) and S2 (missed); the findings made at the post of A1.
    assert figures.patrol == PatrolFigures(
        shifts=2, hours=2.0, missed=1, findings=2, findings_handled=1
    )
    # T1 only (T2 and T4 are A2's): ma1 attended, ma3 absent.
    assert figures.study == StudyFigures(
        sessions=1, attendance=Attendance(attended=1, excused=0, absent=1)
    )
    assert figures.suggestions == SuggestionFigures(
        received=1,
        answered=1,
        by_topic=[TopicFigures(topic=SuggestionTopic.SAFETY, received=1, answered=1)],
    )


def _counts(figures: Figures) -> dict[str, float]:
    """Every figure that adds up over communities."""
    w, u, p, s, t = (
        figures.wishes,
        figures.urgent,
        figures.patrol,
        figures.study,
        figures.twinning,
    )
    counted: dict[str, float] = {
        "posted": w.posted,
        "claimed": w.claimed,
        "done": w.done,
        "confirmed": w.confirmed,
        "urgent_posted": u.posted,
        "urgent_claimed": u.claimed,
        "active": figures.active_members,
        "households": t.households,
        "pairs_active": t.pairs_active,
        "pairs_formed": t.pairs_formed,
        "visits": t.visits,
        "funds": t.funds_fen,
        "materials": t.materials_fen,
        "shifts": p.shifts,
        "hours": p.hours,
        "missed": p.missed,
        "findings": p.findings,
        "findings_handled": p.findings_handled,
        "sessions": s.sessions,
        "attended": s.attendance.attended,
        "excused": s.attendance.excused,
        "absent": s.attendance.absent,
        "received": figures.suggestions.received,
        "answered": figures.suggestions.answered,
    }
    for c in w.by_category:
        counted[f"posted:{c.category}"] = c.posted
        counted[f"done:{c.category}"] = c.done
    for topic in figures.suggestions.by_topic:
        counted[f"received:{topic.topic}"] = topic.received
        counted[f"answered:{topic.topic}"] = topic.answered
    return counted


async def test_the_street_and_the_district_add_up_their_communities(
    services: Services, world: World
) -> None:
    w = world
    a = await services.stats.figures(w.district, _node(NodeKind.COMMUNITY, w.a.id), NOVEMBER)
    b = await services.stats.figures(w.district, _node(NodeKind.COMMUNITY, w.b.id), NOVEMBER)
    street = await services.stats.figures(
        w.district, _node(NodeKind.STREET, w.a.street_id), NOVEMBER
    )
    district = await services.stats.figures(w.district, None, NOVEMBER)
    assert district.node == _node(NodeKind.DISTRICT, w.a.district_id)
    expected = {
        key: _counts(a).get(key, 0) + _counts(b).get(key, 0)
        for key in _counts(a).keys() | _counts(b).keys()
    }
    assert _counts(street) == expected
    assert _counts(district) == expected
    assert street.twinning.community_id is None
    # Medians and leaders are taken afresh over both: claims 10, 15, 20, 40, 60, 90 minutes;
    # done 120, 180, 300; urgent claims 10, 15 and 40.
    assert district.wishes.median_minutes_to_claim == 30.0
    assert district.wishes.median_minutes_to_done == 180.0
    assert district.urgent.median_minutes_to_claim == 15.0
    assert [(x.member_id, x.points) for x in district.leaders] == [
        (w.ma1.id, 28),
        (w.mb.id, 23),
        (w.ma2.id, 8),
        (w.ma3.id, 7),
    ]


async def test_a_shift_or_session_still_under_way_is_not_yet_missed_or_held(
    world: World,
) -> None:
    """Read at 20:00 on 30 November, with S4 and T4 under way: S4 counts as a shift, but
    ma2's place on it is not missed yet; T4 is not held yet; the wish of 23:30 is to come."""
    mid = world.mid_november
    assert mid is not None
    assert (mid.patrol.shifts, mid.patrol.missed) == (4, 1)  # A's S1, S2, S4 and B's SB
    assert mid.study.sessions == 3  # T1, T2, TB
    assert mid.study.attendance == Attendance(attended=3, excused=1, absent=3)
    assert mid.wishes.posted == 7


# --- the period's edges are the community's midnights ---------------------------------------


async def test_the_period_ends_at_local_midnight(services: Services, world: World) -> None:
    w = world
    december = month_of(date(2026, 12, 1))
    after = await services.stats.figures(w.coordinator_a, None, december)
    assert after.wishes.posted == 1  # 00:10 on 1 December (16:10 UTC on 30 November)
    assert after.wishes.by_category == [
        CategoryFigures(category=WishCategory.OTHER, posted=1, done=0)
    ]
    last_day = Period(
        kind=PeriodKind.CUSTOM, first_day=date(2026, 11, 30), last_day=date(2026, 11, 30)
    )
    edge = await services.stats.figures(w.coordinator_a, None, last_day)
    assert edge.wishes.posted == 1  # 23:30 on 30 November (15:30 UTC)
    assert edge.suggestions.received == 1
    assert edge.patrol.shifts == 1 and edge.study.sessions == 1  # S4 and T4
    october = await services.stats.figures(w.coordinator_a, None, month_of(date(2026, 10, 1)))
    assert october.wishes.posted == 1  # 23:50 on 31 October (15:50 UTC)
    assert october.leaders == [Leader(member_id=w.ma2.id, display_name="小赵", points=100)]
    assert october.suggestions.received == 1 and october.suggestions.answered == 0


# --- who may ask about what -----------------------------------------------------------------


async def test_members_and_residents_are_refused(services: Services, world: World) -> None:
    for person in (world.ma1, world.ra1):
        with pytest.raises(NotAllowed):
            await services.stats.figures(person, None, NOVEMBER)
        with pytest.raises(NotAllowed):
            await services.stats.nodes(person)


async def test_a_place_outside_the_reach_is_not_found(services: Services, world: World) -> None:
    w = world
    refused = [
        (w.keeper_a1, _node(NodeKind.BUILDING, w.a2.id)),  # another building
        (w.keeper_a1, _node(NodeKind.COMMUNITY, w.a.id)),  # the community above the building
        (w.coordinator_a, _node(NodeKind.BUILDING, w.b1.id)),  # another community's building
        (w.coordinator_a, _node(NodeKind.COMMUNITY, w.b.id)),
        (w.coordinator_a, _node(NodeKind.STREET, w.a.street_id)),  # above them
        (w.coordinator_a, _node(NodeKind.BUILDING, 999_999)),  # no such building
    ]
    for actor, node in refused:
        with pytest.raises(NotFound):
            await services.stats.figures(actor, node, NOVEMBER)
    mine = await services.stats.figures(
        w.coordinator_a, _node(NodeKind.BUILDING, w.a2.id), NOVEMBER
    )
    assert mine.wishes.posted == 2  # W2 and W5


async def test_a_place_above_the_coordinators_own_is_not_found_even_when_it_holds_only_theirs(
    services: Services, world: World
) -> None:
    """A street of one community is not that community's coordinator's to ask about, nor
    the district its street's: "at or below their own node", whatever it holds today."""
    admin, district = services.admin, world.district
    street = await admin.add_street(district, "独街")
    district = await services.users.require(district.id)
    lone = await admin.add_community(district, street.id, "独社区")
    district = await services.users.require(district.id)
    await _person(services, 105, "独书记", lone, None)
    own = await admin.appoint(district, 105, Node(kind=NodeKind.COMMUNITY, id=lone.id))
    for node in (_node(NodeKind.STREET, street.id), _node(NodeKind.DISTRICT, lone.district_id)):
        with pytest.raises(NotFound):
            await services.stats.figures(own, node, NOVEMBER)
        with pytest.raises(NotFound):
            await services.reports.plan(own, node, NOVEMBER)
    await _person(services, 106, "街书记", lone, None)
    street_coordinator = await admin.appoint(district, 106, _node(NodeKind.STREET, street.id))
    with pytest.raises(NotFound):
        await services.stats.figures(
            street_coordinator, _node(NodeKind.DISTRICT, lone.district_id), NOVEMBER
        )
    assert (await services.stats.figures(own, None, NOVEMBER)).node_name == "独社区"
    below = await services.stats.figures(
        street_coordinator, _node(NodeKind.COMMUNITY, lone.id), NOVEMBER
    )
    assert below.node_name == "独社区"


async def test_the_places_each_coordinator_may_pick(services: Services, world: World) -> None:
    w = world
    assert await services.stats.nodes(w.keeper_a1) == [
        (_node(NodeKind.BUILDING, w.a1.id), "A1号楼")
    ]
    assert await services.stats.nodes(w.coordinator_a) == [
        (_node(NodeKind.COMMUNITY, w.a.id), w.a.name),
        (_node(NodeKind.BUILDING, w.a1.id), "A1号楼"),
        (_node(NodeKind.BUILDING, w.a2.id), "A2号楼"),
    ]
    # Two communities below: their buildings are not listed.
    picked = await services.stats.nodes(w.district)
    assert picked[0] == (_node(NodeKind.DISTRICT, w.a.district_id), w.a.district_name)
    assert set(picked[1:]) == {
        (_node(NodeKind.STREET, w.a.street_id), w.a.street_name),
        (_node(NodeKind.COMMUNITY, w.a.id), w.a.name),
        (_node(NodeKind.COMMUNITY, w.b.id), "B社区"),
    }
    assert len(picked) == 4
    for node, _name in picked:  # each of them may be asked about
        assert (await services.stats.figures(w.district, node, NOVEMBER)).node == node


async def test_a_street_with_no_community_yet_is_not_offered(
    services: Services, world: World
) -> None:
    """Its figures are refused (nothing below it): a button for it would only say so."""
    await services.admin.add_street(world.district, "新街")
    district = await services.users.require(world.district.id)
    picked = await services.stats.nodes(district)
    assert "新街" not in [name for _, name in picked]
    for node, _name in picked:
        assert (await services.stats.figures(district, node, NOVEMBER)).node == node


async def test_whole_quarters_read_the_passbook_totals_and_agree_with_the_entries(
    services: Services, world: World
) -> None:
    """A year is four quarters' totals (2026Q4 holds the 100 of 31 October); a range from
    July to November is Q3's totals and October–November's entries; a month is entries only.
    Each gives the points its entries add up to."""
    w = world
    expected = [(w.ma2.id, 108), (w.ma1.id, 28), (w.mb.id, 23), (w.ma3.id, 7)]
    year = await services.stats.figures(w.district, None, year_of(date(2026, 1, 1)))
    quarter = await services.stats.figures(w.district, None, quarter_of(date(2026, 11, 1)))
    mixed = Period(kind=PeriodKind.CUSTOM, first_day=date(2026, 7, 1), last_day=date(2026, 11, 30))
    ranged = await services.stats.figures(w.district, None, mixed)
    for figures in (year, quarter, ranged):
        assert [(x.member_id, x.points) for x in figures.leaders] == expected
        assert figures.active_members == 4
    a1 = await services.stats.figures(w.keeper_a1, None, year_of(date(2026, 1, 1)))
    assert [(x.member_id, x.points) for x in a1.leaders] == [(w.ma1.id, 28), (w.ma3.id, 7)]
    november = await services.stats.figures(w.district, None, NOVEMBER)
    assert [(x.member_id, x.points) for x in november.leaders] == [
        (w.ma1.id, 28),
        (w.mb.id, 23),
        (w.ma2.id, 8),
        (w.ma3.id, 7),
    ]


async def test_a_period_with_nothing_in_it_has_nothing_to_show(
    services: Services, world: World
) -> None:
    january = await services.stats.figures(world.coordinator_a, None, month_of(date(2026, 1, 1)))
    assert january.wishes == WishFigures() and january.urgent == UrgentFigures()
    assert january.wishes.median_minutes_to_claim is None
    assert january.patrol == PatrolFigures() and january.study == StudyFigures()
    assert january.suggestions == SuggestionFigures()
    assert (january.active_members, january.leaders) == (0, [])
    assert (january.twinning.households, january.twinning.pairs_active) == (0, 0)
