"""Patrol findings through the real services, on both databases: a member checked in to a
shift reports what they saw, once per token; the coordinators above the place are told;
reporting off a shift, before check-in or after the window is refused with nothing made; a
coordinator marks it handled or turns it into a wish in one step — once, whoever races — and
one outside the place is refused; forged ids find nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.models import (
    FindingStatus,
    Node,
    NodeKind,
    Skill,
    SlotKind,
    User,
    WishCategory,
    WishStatus,
)
from bot.services import Services
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.patrol.findings import (
    AlreadyHandled,
    AlreadyWished,
    BadLocation,
    EmptyFinding,
    FindingDraft,
    NoShiftNow,
    NoSuchFinding,
    NotCheckedIn,
    NotOnShift,
    ReportingClosed,
    wish_category,
)
from storage import audit
from storage import slots as slots_repo
from storage.schema import (
    outbox,
    patrol_findings,
    patrol_post_buildings,
    patrol_posts,
    patrol_shifts,
)
from storage.schema import wishes as wishes_table
from storage.store import Store
from tests.conftest import COORDINATOR_ID, RegisterUser, make_member

# 19:30 in Shanghai: half an hour into an evening shift (19:00–21:00).
EVENING = datetime(2026, 11, 10, 11, 30, tzinfo=UTC)
STARTS = datetime(2026, 11, 10, 11, 0, tzinfo=UTC)
ENDS = datetime(2026, 11, 10, 13, 0, tzinfo=UTC)


async def a_shift(
    store: Store,
    *,
    community_id: int,
    building_ids: list[int],
    created_by: int,
    starts_at: datetime = STARTS,
    ends_at: datetime = ENDS,
    post_name: str = "东门岗",
    now: datetime,
) -> int:
    """A patrol post over these buildings and one shift at it (rows as the patrol feature
    makes them): the shift's slot id."""
    async with store.transaction() as conn:
        post_id = await conn.scalar(
            patrol_posts.insert()
            .values(
                community_id=community_id,
                name=post_name,
                area=None,
                created_by=created_by,
                created_at=now,
            )
            .returning(patrol_posts.c.id)
        )
        for building_id in building_ids:
            await conn.execute(
                patrol_post_buildings.insert().values(post_id=post_id, building_id=building_id)
            )
        (slot,) = await slots_repo.insert_slots(
            conn,
            kind=SlotKind.PATROL,
            community_id=community_id,
            building_id=building_ids[0] if building_ids else None,
            times=[(starts_at, ends_at)],
            capacity=3,
            created_by=created_by,
            now=now,
        )
        await conn.execute(patrol_shifts.insert().values(slot_id=slot.id, post_id=post_id))
    return slot.id


async def on_shift(
    store: Store, slot_id: int, user_id: int, *, now: datetime, checked_in: bool = True
) -> None:
    """The member takes a place on the shift (and checks in)."""
    async with store.transaction() as conn:
        assert await slots_repo.take_place(conn, slot_id, user_id, now)
        if checked_in:
            assert await slots_repo.check_in(conn, slot_id, user_id, at=now)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(EVENING)


@dataclass
class World:
    coordinator: User  # the district's
    keeper_b: User  # a coordinator of building B only
    member: User
    other_member: User
    handyman: User  # a member skilled at repairs
    community_id: int
    a: int
    b: int
    slot_id: int


async def _member(
    services: Services, register: RegisterUser, uid: int, name: str, *skills: Skill
) -> User:
    return await make_member(services, register, uid, name, skills=frozenset(skills))


@pytest.fixture
async def world(services: Services, register: RegisterUser) -> World:
    await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    community = services.default_community_id
    a = await services.admin.add_building(coordinator, "3号楼", community)
    b = await services.admin.add_building(coordinator, "5号楼", community)
    await register(400, "楼长")
    keeper_b = await services.admin.appoint(
        coordinator, 400, Node(kind=NodeKind.BUILDING, id=b.id)
    )
    member = await _member(services, register, 200, "王党员")
    slot_id = await a_shift(
        services.store,
        community_id=community,
        building_ids=[a.id],
        created_by=COORDINATOR_ID,
        now=EVENING - timedelta(days=1),
    )
    await on_shift(services.store, slot_id, member.id, now=STARTS)
    return World(
        coordinator=coordinator,
        keeper_b=keeper_b,
        member=member,
        other_member=await _member(services, register, 201, "赵党员"),
        handyman=await _member(services, register, 202, "刘师傅", Skill.REPAIRS),
        community_id=community,
        a=a.id,
        b=b.id,
        slot_id=slot_id,
    )


LIGHT = FindingDraft(
    text="3号楼2单元楼道灯坏了", photo_file_id="PHOTO-1", latitude=39.9, longitude=116.4
)


async def _count(services: Services) -> int:
    async with services.store.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(patrol_findings)) or 0)


async def _queued(services: Services, kind: str) -> list[int]:
    async with services.store.read() as conn:
        found = await conn.execute(select(outbox.c.chat_id).where(outbox.c.kind == kind))
        return [int(row.chat_id) for row in found]


async def test_a_checked_in_member_reports_and_the_coordinators_above_are_told(
    services: Services, world: World
) -> None:
    finding = await services.findings.report(world.member, world.slot_id, LIGHT, token="t1")

    assert finding.status is FindingStatus.NEW
    assert finding.building_id == world.a and finding.community_id == world.community_id
    assert finding.photo_file_id == "PHOTO-1" and finding.latitude == 39.9
    assert finding.reporter_name == "王党员"
    told = await _queued(services, "finding.reported")
    assert COORDINATOR_ID in told
    assert world.keeper_b.id not in told  # a coordinator of another building
    assert world.member.id not in told


async def test_a_double_send_makes_one_finding(services: Services, world: World) -> None:
    first = await services.findings.report(world.member, world.slot_id, LIGHT, token="same")
    again = await services.findings.report(world.member, world.slot_id, LIGHT, token="same")
    assert first.id == again.id
    assert await _count(services) == 1
    assert len(await _queued(services, "finding.reported")) == 1


async def test_a_double_send_at_once_makes_one_finding(services: Services, world: World) -> None:
    made = await asyncio.gather(
        *(
            services.findings.report(world.member, world.slot_id, LIGHT, token="race")
            for _ in range(4)
        )
    )
    assert len({f.id for f in made}) == 1
    assert await _count(services) == 1


async def test_reporting_off_a_shift_is_refused(services: Services, world: World) -> None:
    with pytest.raises(NotOnShift):
        await services.findings.report(world.other_member, world.slot_id, LIGHT, token="x")
    with pytest.raises(NoShiftNow):
        await services.findings.current_spot(world.other_member)
    for forged in (999_999, 10**12, -1):  # forged shifts
        with pytest.raises(NotOnShift):
            await services.findings.report(world.member, forged, LIGHT, token="x")
    assert await _count(services) == 0


async def test_reporting_before_check_in_is_refused(
    services: Services, world: World, clock: ManualClock
) -> None:
    await on_shift(
        services.store, world.slot_id, world.other_member.id, now=EVENING, checked_in=False
    )
    with pytest.raises(NotCheckedIn) as refused:
        await services.findings.report(world.other_member, world.slot_id, LIGHT, token="x")
    assert "check in" in refused.value.message
    assert await _count(services) == 0


async def test_reporting_is_open_until_two_hours_after_the_end(
    services: Services, world: World, clock: ManualClock
) -> None:
    clock.current = ENDS + timedelta(hours=1, minutes=59)
    spot = await services.findings.current_spot(world.member)
    assert spot.slot_id == world.slot_id and spot.post_name == "东门岗"
    await services.findings.report(world.member, world.slot_id, LIGHT, token="late")
    clock.current = ENDS + timedelta(hours=2)
    with pytest.raises(ReportingClosed):
        await services.findings.report(world.member, world.slot_id, LIGHT, token="later")
    with pytest.raises(NoShiftNow):
        await services.findings.current_spot(world.member)
    assert await _count(services) == 1


async def test_empty_findings_and_bad_locations_are_refused(
    services: Services, world: World
) -> None:
    with pytest.raises(EmptyFinding):
        await services.findings.report(
            world.member,
            world.slot_id,
            FindingDraft(text="  ", latitude=1, longitude=2),
            token="e",
        )
    with pytest.raises(BadLocation):
        await services.findings.report(
            world.member,
            world.slot_id,
            FindingDraft(text="x", latitude=91, longitude=0),
            token="l",
        )
    assert await _count(services) == 0


async def test_a_coordinator_marks_it_handled_once_and_the_reporter_is_told(
    services: Services, world: World
) -> None:
    finding = await services.findings.report(world.member, world.slot_id, LIGHT, token="t")
    card = await services.findings.mark_handled(world.coordinator, finding.id)
    assert card.finding.status is FindingStatus.HANDLED and card.handler_name == "李书记"
    assert world.member.id in await _queued(services, "finding.handled")
    with pytest.raises(AlreadyHandled) as second:
        await services.findings.mark_handled(world.coordinator, finding.id)
    assert second.value.values == {"name": "李书记"}
    with pytest.raises(AlreadyHandled):
        await services.findings.to_wish(world.coordinator, finding.id)
    async with services.store.read() as conn:
        entries = await audit.recent(conn, world.coordinator.reach)  # type: ignore[arg-type]
    assert [e.action for e in entries if e.subject == f"finding:{finding.id}"] == [
        "finding.handle"
    ]
    assert await services.findings.open_findings(world.coordinator) == []


async def test_one_tap_makes_a_repair_wish_offered_to_the_skilled(
    services: Services, world: World
) -> None:
    finding = await services.findings.report(world.member, world.slot_id, LIGHT, token="t")
    assert [c.finding.id for c in await services.findings.open_findings(world.coordinator)] == [
        finding.id
    ]

    card, wish = await services.findings.to_wish(world.coordinator, finding.id)

    assert card.finding.status is FindingStatus.WISHED and card.finding.wish_id == wish.id
    assert wish.category is WishCategory.REPAIRS
    assert wish.status is WishStatus.OPEN and wish.building_id == world.a
    assert wish.text == LIGHT.text and wish.photo_file_id == "PHOTO-1"
    assert wish.for_name == "东门岗" and wish.posted_by == COORDINATOR_ID
    contact = await services.wishes.contact(world.coordinator, wish.id)
    assert contact.phone is None and contact.room is None  # a finding has no one's contact
    assert world.member.id in await _queued(services, "finding.wished")
    assert world.handyman.id in await _queued(services, "wish.offered")
    with pytest.raises(AlreadyWished) as again:
        await services.findings.mark_handled(world.coordinator, finding.id)
    assert again.value.values == {"name": "李书记"}
    assert await services.findings.open_findings(world.coordinator) == []


async def test_two_coordinators_racing_make_one_wish(
    services: Services, world: World, register: RegisterUser
) -> None:
    await register(500, "陈主任")
    community = Node(kind=NodeKind.COMMUNITY, id=world.community_id)
    second = await services.admin.appoint(world.coordinator, 500, community)
    finding = await services.findings.report(world.member, world.slot_id, LIGHT, token="t")

    results = await asyncio.gather(
        services.findings.to_wish(world.coordinator, finding.id),
        services.findings.to_wish(second, finding.id),
        services.findings.to_wish(world.coordinator, finding.id),
        return_exceptions=True,
    )

    made = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, AlreadyWished)]
    assert len(made) == 1 and len(refused) == 2, results
    async with services.store.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(wishes_table)) == 1
    assert len(await _queued(services, "finding.wished")) == 1


async def test_a_wish_that_cannot_be_posted_leaves_the_finding_open(
    services: Services, world: World
) -> None:
    finding = await services.findings.report(world.member, world.slot_id, LIGHT, token="t")
    await services.admin.set_building_archived(world.coordinator, world.a, True)
    with pytest.raises(InvalidInput):
        await services.findings.to_wish(world.coordinator, finding.id)
    (still,) = await services.findings.open_findings(world.coordinator)
    assert still.finding.status is FindingStatus.NEW and still.finding.handled_by is None
    assert await _queued(services, "finding.wished") == []
    card = await services.findings.mark_handled(world.coordinator, finding.id)  # still possible
    assert card.finding.status is FindingStatus.HANDLED


async def test_a_coordinator_elsewhere_and_members_are_refused(
    services: Services, world: World
) -> None:
    finding = await services.findings.report(world.member, world.slot_id, LIGHT, token="t")
    with pytest.raises(NoSuchFinding):
        await services.findings.mark_handled(world.keeper_b, finding.id)
    with pytest.raises(NoSuchFinding):
        await services.findings.to_wish(world.keeper_b, finding.id)
    with pytest.raises(NoSuchFinding):
        await services.findings.finding(world.keeper_b, finding.id)
    with pytest.raises(NoSuchFinding):
        await services.findings.finding(world.other_member, finding.id)
    with pytest.raises(NotAllowed):
        await services.findings.mark_handled(world.other_member, finding.id)
    assert await services.findings.open_findings(world.keeper_b) == []
    # Its reporter may look at it again; a forged id finds nothing.
    assert (await services.findings.finding(world.member, finding.id)).finding.id == finding.id
    with pytest.raises(NoSuchFinding):
        await services.findings.to_wish(world.coordinator, 10**12)
    async with services.store.read() as conn:
        row = (await conn.execute(select(patrol_findings))).mappings().one()
    assert row["status"] == FindingStatus.NEW.value and row["handled_by"] is None


def test_the_kind_of_help_is_guessed_from_the_words() -> None:
    assert wish_category("楼道灯坏了") is WishCategory.REPAIRS
    assert wish_category(None) is WishCategory.OTHER
    assert wish_category("有人在这里") is WishCategory.OTHER


async def test_handled_and_to_wish_racing_leave_one_outcome(
    services: Services, world: World, register: RegisterUser
) -> None:
    await register(500, "陈主任")
    community = Node(kind=NodeKind.COMMUNITY, id=world.community_id)
    second = await services.admin.appoint(world.coordinator, 500, community)
    finding = await services.findings.report(world.member, world.slot_id, LIGHT, token="t")

    results = await asyncio.gather(
        services.findings.mark_handled(world.coordinator, finding.id),
        services.findings.to_wish(second, finding.id),
        return_exceptions=True,
    )

    done = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AlreadyHandled | AlreadyWished)]
    assert len(done) == 1 and len(refused) == 1, results
    async with services.store.read() as conn:
        wishes_made = await conn.scalar(select(func.count()).select_from(wishes_table))
        row = (
            (await conn.execute(select(patrol_findings).where(patrol_findings.c.id == finding.id)))
            .mappings()
            .one()
        )
    if isinstance(done[0], tuple):  # the wish won
        assert wishes_made == 1 and row["status"] == "wished" and row["wish_id"] is not None
    else:
        assert wishes_made == 0 and row["status"] == "handled" and row["wish_id"] is None
