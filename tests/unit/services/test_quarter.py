"""Closing a quarter and its checks, over a real database: a seeded quarter with each pattern
is flagged for exactly those people, a clean one (and one just under every threshold) for
nobody; the recognition goes to the top ten with ties; a quarter closes once, only when over,
only by a coordinator of the whole community."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.models import LedgerKind, Node, NodeKind, Role, WishCategory, WishStatus
from bot.services import Services
from bot.services.errors import NotAllowed
from bot.services.passbook import QuarterClosed, wish_ref
from bot.services.passbook.quarter import (
    Flag,
    FlagKind,
    NotAQuarter,
    NothingToClose,
    QuarterNotOver,
    QuarterRecognition,
    QuarterSummary,
    rank,
)
from storage import ledger as ledger_repo
from storage import org
from storage import users as users_repo
from storage.schema import outbox, wish_participants, wishes
from tests.conftest import COORDINATOR_ID, RegisterUser

QUARTER = "2026Q4"
NOV = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, early in the quarter
AFTER = datetime(2027, 1, 3, 2, 0, tzinfo=UTC)  # the quarter is over
COMMUNITY_COORDINATOR = 9002

# residents (posters), members (helpers), a proxy poster
R1, R2, R3, R4, R5, R6 = 1, 2, 3, 4, 5, 6
LOYAL, QUICK, PLAIN, PROXY, HELPER2, FEW = 10, 11, 12, 13, 14, 15


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOV)


class Seed:
    """Rows written straight to the tables, with the times each pattern needs."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.community = services.default_community_id
        self.next_ref = 0

    async def people(self, register: RegisterUser) -> None:
        async with self.services.store.transaction() as conn:
            building = await org.add_building(conn, self.community, "3号楼", NOV)
        for uid in (R1, R2, R3, R4, R5, R6):
            await register(uid, f"居民{uid}", building_id=building.id)
        for uid, name in (
            (LOYAL, "老周"),
            (QUICK, "小快"),
            (PLAIN, "小平"),
            (PROXY, "代发人"),
            (FEW, "小少"),
        ):
            await register(uid, name, building_id=building.id)
        await register(HELPER2, "小吴", language="en", building_id=building.id)
        async with self.services.store.transaction() as conn:
            for uid in (LOYAL, QUICK, PLAIN, PROXY, HELPER2, FEW):
                await users_repo.grant_role(conn, uid, Role.MEMBER, None, NOV)
        await register(COORDINATOR_ID, "李书记")

    async def wish(
        self,
        poster: int,
        helper: int,
        claimed: datetime,
        confirmed: datetime,
        *,
        for_name: str | None = None,
        points: int = 10,
    ) -> int:
        """A wish posted, claimed and confirmed at these times, its helper credited."""
        quarter = self.services.passbook.quarter(confirmed)
        async with self.services.store.transaction() as conn:
            wish_id = await conn.scalar(
                wishes.insert()
                .values(
                    community_id=self.community,
                    posted_by=poster,
                    for_name=for_name,
                    category=WishCategory.REPAIRS.value,
                    text="修水管",
                    urgent=False,
                    status=WishStatus.CONFIRMED.value,
                    created_at=claimed - timedelta(hours=1),
                    claimed_by=helper,
                    claimed_at=claimed,
                    done_at=confirmed,
                    closed_at=confirmed,
                )
                .returning(wishes.c.id)
            )
            assert wish_id is not None
            await conn.execute(
                wish_participants.insert().values(
                    wish_id=wish_id, user_id=helper, credited_at=confirmed
                )
            )
            await ledger_repo.add_entry(
                conn,
                community_id=self.community,
                member_id=helper,
                kind=LedgerKind.WISH,
                ref=wish_ref(wish_id),
                points=points,
                quarter=quarter,
                now=confirmed,
            )
        return int(wish_id)

    async def adjust(self, by: int, member: int, at: datetime, points: int = 5) -> None:
        self.next_ref += 1
        async with self.services.store.transaction() as conn:
            await ledger_repo.add_entry(
                conn,
                community_id=self.community,
                member_id=member,
                kind=LedgerKind.ADJUSTMENT,
                ref=f"adjust:t{self.next_ref}",
                points=points,
                quarter=self.services.passbook.quarter(at),
                now=at,
                reason="补记",
                granted_by=by,
            )


def _day(n: int, hour: int = 0) -> datetime:
    return NOV + timedelta(days=n, hours=hour)


async def _clean(seed: Seed) -> dict[str, list[int]]:
    """Ordinary work, each pattern just under its threshold."""
    made: dict[str, list[int]] = {"quick": [], "proxy": []}
    # PLAIN: 6 wishes from 6 posters, done hours after the claim.
    for n, poster in enumerate((R1, R2, R3, R4, R5, R6)):
        await seed.wish(poster, PLAIN, _day(n), _day(n, 3))
    # HELPER2: 5 wishes, 3 of them (60 %) from the top two posters.
    for n, poster in enumerate((R1, R1, R2, R3, R4)):
        await seed.wish(poster, HELPER2, _day(10 + n), _day(10 + n, 2))
    # FEW: 3 wishes, all from R5: too few to say anything.
    for n in range(3):
        await seed.wish(R5, FEW, _day(20 + n), _day(20 + n, 5))
    # QUICK: one confirmation 3 minutes after the claim (once is no pattern), one after 11.
    made["quick"].append(await seed.wish(R6, QUICK, _day(24), _day(24) + timedelta(minutes=3)))
    await seed.wish(R1, QUICK, _day(25), _day(25) + timedelta(minutes=11))
    # PROXY: 4 confirmed wishes posted for a neighbour without a phone.
    for n in range(4):
        made["proxy"].append(
            await seed.wish(PROXY, PLAIN, _day(30 + n), _day(30 + n, 4), for_name="张大爷")
        )
    # 4 adjustments within a day, a fifth 26 hours after the first.
    for hour in (0, 1, 2, 3):
        await seed.adjust(COORDINATOR_ID, PLAIN, _day(40, hour))
    await seed.adjust(COORDINATOR_ID, PLAIN, _day(41, 2))
    return made


async def _suspicious(seed: Seed) -> dict[str, list[int]]:
    """Each pattern once, on top of the clean quarter."""
    made: dict[str, list[int]] = {"quick": [], "proxy": []}
    # (a) LOYAL: 5 wishes, 4 of them from R1 and R2 (80 %).
    for n, poster in enumerate((R1, R2, R1, R2, R3)):
        await seed.wish(poster, LOYAL, _day(n), _day(n, 6))
    # (b) QUICK: two more confirmed 4 and 9 minutes after the claim.
    for n, poster, minutes in ((5, R4, 4), (6, R5, 9)):
        made["quick"].append(
            await seed.wish(poster, QUICK, _day(n), _day(n) + timedelta(minutes=minutes))
        )
    # (c) PROXY: 5 more wishes for someone without a phone, all confirmed.
    for n, helper in enumerate((PLAIN, PLAIN, PLAIN, HELPER2, HELPER2)):
        made["proxy"].append(
            await seed.wish(PROXY, helper, _day(50 + n), _day(50 + n, 8), for_name="张大爷")
        )
    # (d) the district's coordinator: 5 adjustments within 23 hours.
    for hour in (0, 5, 10, 20, 23):
        await seed.adjust(COORDINATOR_ID, PLAIN, _day(55, hour))
    return made


async def test_a_clean_quarter_with_every_pattern_just_under_its_threshold_flags_nobody(
    services: Services, register: RegisterUser
) -> None:
    seed = Seed(services)
    await seed.people(register)
    await _clean(seed)
    coordinator = await services.users.require(COORDINATOR_ID)
    assert await services.quarters.flags(coordinator, QUARTER) == []


async def test_each_pattern_is_flagged_for_the_people_who_show_it_and_nobody_else(
    services: Services, register: RegisterUser
) -> None:
    seed = Seed(services)
    await seed.people(register)
    clean = await _clean(seed)
    made = await _suspicious(seed)
    coordinator = await services.users.require(COORDINATOR_ID)
    flags = await services.quarters.flags(coordinator, QUARTER)
    assert flags == [
        Flag(
            kind=FlagKind.SAME_POSTERS,
            person_id=LOYAL,
            person="老周",
            count=5,
            share=80,
            others=("居民1", "居民2"),
        ),
        Flag(
            kind=FlagKind.QUICK_CONFIRM,
            person_id=QUICK,
            person="小快",
            count=3,
            wish_ids=tuple(sorted(clean["quick"] + made["quick"])),
        ),
        Flag(
            kind=FlagKind.PROXY_CONFIRMS,
            person_id=PROXY,
            person="代发人",
            count=9,
            wish_ids=tuple(clean["proxy"] + made["proxy"]),
        ),
        Flag(
            kind=FlagKind.ADJUSTMENT_BURST,
            person_id=COORDINATOR_ID,
            person="李书记",
            count=5,
            since=_day(55),
        ),
    ]
    # Another quarter's work is not this quarter's pattern.
    assert await services.quarters.flags(coordinator, "2027Q1") == []


async def _queued(services: Services, kind: str) -> dict[int, dict[str, object]]:
    async with services.store.read() as conn:
        rows = await conn.execute(
            select(outbox.c.chat_id, outbox.c.params).where(outbox.c.kind == kind)
        )
        return {int(chat): dict(params) for chat, params in rows}


async def _count(services: Services, kind: str) -> int:
    async with services.store.read() as conn:
        found = await conn.scalar(select(func.count()).where(outbox.c.kind == kind))
        return int(found or 0)


async def test_closing_thanks_the_top_members_tells_the_other_coordinators_and_happens_once(
    services: Services, register: RegisterUser, clock: ManualClock
) -> None:
    seed = Seed(services)
    await seed.people(register)
    await _clean(seed)
    await _suspicious(seed)
    district = await services.users.require(COORDINATOR_ID)
    await register(COMMUNITY_COORDINATOR, "社区王主任")
    await services.admin.appoint(
        district, COMMUNITY_COORDINATOR, Node(kind=NodeKind.COMMUNITY, id=seed.community)
    )
    with pytest.raises(QuarterNotOver):
        await services.quarters.close(district, QUARTER)
    clock.current = AFTER
    member = await services.users.require(PLAIN)
    with pytest.raises(NotAllowed):
        await services.quarters.close(member, QUARTER)
    for forged in ("2026Q5", "0000Q1", "9999Q4"):  # a button's data is anyone's to write
        with pytest.raises(NotAQuarter):
            await services.quarters.close(district, forged)
    with pytest.raises(NothingToClose):  # over long ago, and nobody earned anything in it
        await services.quarters.close(district, "2001Q1")
    assert (await services.quarters.closable(district)).quarters == (QUARTER,)

    report = await services.quarters.close(district, QUARTER)
    # PLAIN: 10 + 3 wishes and 10 adjustments of 5; the others' wishes at 10 each.
    assert [(p.place, p.name, p.total) for p in report.ranked] == [
        (1, "小平", 180),
        (2, "小吴", 70),
        (3, "老周", 50),
        (4, "小快", 40),
        (5, "小少", 30),
    ]
    assert report.ranked[0].points == {LedgerKind.WISH: 130, LedgerKind.ADJUSTMENT: 50}
    assert (report.members, report.points, report.wishes, report.recognised) == (5, 370, 32, 5)
    assert len(report.entries) == 42 and len(report.flags) == 4
    thanked = await _queued(services, QuarterRecognition.KIND)
    assert {uid: (p["rank"], p["points"]) for uid, p in thanked.items()} == {
        PLAIN: (1, 180),
        HELPER2: (2, 70),
        LOYAL: (3, 50),
        QUICK: (4, 40),
        FEW: (5, 30),
    }
    summaries = await _queued(services, QuarterSummary.KIND)
    assert list(summaries) == [COMMUNITY_COORDINATOR]  # the closer has it in the reply
    summary = QuarterSummary.model_validate(summaries[COMMUNITY_COORDINATOR])
    assert [p.name for p in summary.top] == ["小平", "小吴", "老周"]
    assert (len(summary.flags), summary.flag_count, summary.closed_by) == (4, 4, "李书记")

    with pytest.raises(QuarterClosed):
        await services.quarters.close(district, QUARTER)
    assert await _count(services, QuarterRecognition.KIND) == 5  # nobody thanked twice
    assert (await services.quarters.closable(district)).quarters == ()


async def test_a_building_coordinator_cannot_close_the_community_quarter(
    services: Services, register: RegisterUser, clock: ManualClock
) -> None:
    district = await services.users.require((await register(COORDINATOR_ID, "李书记")).id)
    building = await services.admin.add_building(district, "9号楼", services.default_community_id)
    await register(COMMUNITY_COORDINATOR, "九号楼", building_id=building.id)
    await services.admin.appoint(
        district, COMMUNITY_COORDINATOR, Node(kind=NodeKind.BUILDING, id=building.id)
    )
    clock.current = AFTER
    with pytest.raises(NotAllowed):
        await services.quarters.close(await services.users.require(COMMUNITY_COORDINATOR), QUARTER)


def test_the_top_ten_includes_everyone_tied_with_the_tenth() -> None:
    points = {m: {LedgerKind.WISH: 100 - 10 * min(m, 9)} for m in range(12)}  # 9, 10, 11 tie
    points[12] = {LedgerKind.ADJUSTMENT: -5}
    names = {m: (f"m{m}", None) for m in points}
    ranked = rank(points, names)
    assert [p.place for p in ranked] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, None]
    assert ranked[-1].total == -5


async def test_two_closings_at_once_close_once_and_thank_once(
    services: Services, register: RegisterUser, clock: ManualClock
) -> None:
    seed = Seed(services)
    await seed.people(register)
    await _clean(seed)
    clock.current = AFTER
    district = await services.users.require(COORDINATOR_ID)
    results = await asyncio.gather(
        services.quarters.close(district, QUARTER),
        services.quarters.close(district, QUARTER),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["QuarterClosed", "QuarterReport"]
    assert await _count(services, QuarterRecognition.KIND) == 4  # each of the four, once
    assert await _count(services, QuarterSummary.KIND) == 0  # no other coordinator here
