"""Twinning through the real services: a household registered without Telegram, a resident
linked, a member paired, visits logged once per token and credited to the passbook once, bad
input refused with nothing changed, the cadence reminding the member and then the
coordinators (time moved, not slept; no reminder rows piling up), who needs attention, the
totals, and the household's phone kept from anyone not paired or not in reach."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.models import (
    AttentionReason,
    Cadence,
    Circumstance,
    HelpKind,
    LedgerKind,
    Node,
    NodeKind,
    ReminderStatus,
    User,
    VisitCategory,
)
from bot.services import Services
from bot.services.errors import NotAllowed, NotFound
from bot.services.passbook import ReasonRequired
from bot.services.twinning import (
    KIND_BEHIND,
    KIND_OVERDUE,
    AlreadyPaired,
    AmountTooLarge,
    BadAmount,
    ConsentRequired,
    FutureVisit,
    HouseholdDraft,
    NeedsConfirmation,
    NoSuchHousehold,
    NotAMember,
    NotPaired,
    PairEnded,
    VisitBeforePair,
    VisitDraft,
    VisitTooOld,
    parse_yuan,
    subject_of,
)
from bot.services.twinning import service as twinning_service
from storage import audit
from storage import ledger as ledger_repo
from storage.schema import audit_log, visits
from tests.conftest import COORDINATOR_ID, RegisterUser, make_member
from tests.support.rendering import outbox_kinds

# 10:00 in Shanghai, a Tuesday.
MORNING = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 10)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MORNING)


@dataclass
class World:
    coordinator: User  # the district's
    keeper_b: User  # a coordinator of building B only
    member: User
    other_member: User
    resident: User  # a registered resident of building A
    community_id: int
    a: int  # building ids
    b: int


async def _member(services: Services, register: RegisterUser, uid: int, name: str) -> User:
    return await make_member(services, register, uid, name)


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
    await register(300, "张奶奶", building_id=a.id, room="2-101")
    return World(
        coordinator=coordinator,
        keeper_b=keeper_b,
        member=await _member(services, register, 200, "王党员"),
        other_member=await _member(services, register, 201, "赵党员"),
        resident=await services.users.require(300),
        community_id=community,
        a=a.id,
        b=b.id,
    )


def _draft(world: World, **changes: object) -> HouseholdDraft:
    values: dict[str, object] = {
        "name": "张奶奶家",
        "building_id": world.a,
        "room": "2-101",
        "phone": "13800000000",
        "circumstances": frozenset({Circumstance.ELDERLY_ALONE, Circumstance.LOW_INCOME}),
        "notes": "腿脚不便",
        "consent": True,
    }
    values.update(changes)
    return HouseholdDraft.model_validate(values)


async def _paired(services: Services, world: World, **changes: object) -> tuple[int, int]:
    """A household of building A paired weekly with the member: (household id, pair id)."""
    household = await services.twinning.register_household(
        world.coordinator, _draft(world, **changes)
    )
    pair = await services.twinning.pair(
        world.coordinator, world.member.id, household.id, Cadence.WEEKLY
    )
    return household.id, pair.id


def _visit(household_id: int, **changes: object) -> VisitDraft:
    values: dict[str, object] = {
        "household_id": household_id,
        "categories": frozenset({VisitCategory.CHAT, VisitCategory.RICE_AND_OIL}),
        "text": "送了一袋米和一桶油",
        "help_kind": HelpKind.MATERIALS,
        "help_fen": parse_yuan("150.50"),
        "wellbeing": 4,
    }
    values.update(changes)
    return VisitDraft.model_validate(values)


async def _visits_count(services: Services) -> int:
    async with services.store.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(visits)) or 0)


async def test_a_household_without_telegram_is_registered_with_consent_and_audited(
    services: Services, world: World
) -> None:
    household = await services.twinning.register_household(world.coordinator, _draft(world))

    assert household.name == "张奶奶家" and household.building_name == "3号楼"
    assert household.circumstances == {Circumstance.ELDERLY_ALONE, Circumstance.LOW_INCOME}
    assert household.consent_by == COORDINATOR_ID and household.consent_at == MORNING
    assert household.resident_id is None
    assert not hasattr(household, "phone")  # the household itself carries no phone
    async with services.store.read() as conn:
        entries = await audit.recent(conn, world.coordinator.reach)  # type: ignore[arg-type]
        logged = (await conn.execute(select(audit_log.c.before, audit_log.c.after))).all()
    assert entries[0].action == "household.register"
    assert entries[0].subject == f"household:{household.id}"
    assert "13800000000" not in str(logged)

    with pytest.raises(ConsentRequired):
        await services.twinning.register_household(world.coordinator, _draft(world, consent=False))
    with pytest.raises(NotAllowed):  # a member is no coordinator
        await services.twinning.register_household(world.member, _draft(world))
    with pytest.raises(NotFound):  # building A lies outside B's keeper's reach
        await services.twinning.register_household(world.keeper_b, _draft(world))
    assert len(await services.twinning.households(world.coordinator)) == 1


async def test_a_registered_resident_is_linked_and_the_change_audited_without_the_phone(
    services: Services, world: World
) -> None:
    household = await services.twinning.register_household(world.coordinator, _draft(world))
    changed = await services.twinning.update_household(
        world.coordinator,
        household.id,
        _draft(world, resident_id=world.resident.id, phone="13900000000"),
    )
    assert changed.resident_id == world.resident.id
    async with services.store.read() as conn:
        rows = (
            (
                await conn.execute(
                    select(audit_log)
                    .where(audit_log.c.action.like("household.%"))
                    .order_by(audit_log.c.id)
                )
            )
            .mappings()
            .all()
        )
    assert [r["action"] for r in rows] == ["household.register", "household.update"]
    assert rows[1]["after"]["phone_changed"] is True
    assert "139" not in str(rows[1]["after"]) and "138" not in str(rows[1]["before"])
    assert "2-101" not in str([(r["before"], r["after"]) for r in rows])  # nor the room
    contact = await services.twinning.contact(world.coordinator, household.id)
    assert contact.phone == "13900000000" and contact.room == "2-101"


async def test_pairing_tells_both_sides_and_refuses_a_second_active_pair(
    services: Services, world: World
) -> None:
    household_id, pair_id = await _paired(services, world, resident_id=world.resident.id)

    assert "twinning.paired" in await outbox_kinds(services, world.member.id)
    assert "twinning.paired_household" in await outbox_kinds(services, world.resident.id)
    (mine,) = await services.twinning.my_pairs(world.member)
    assert mine.id == pair_id and mine.household_name == "张奶奶家" and mine.cadence_days == 7
    with pytest.raises(AlreadyPaired):
        await services.twinning.pair(
            world.coordinator, world.member.id, household_id, Cadence.MONTHLY
        )
    with pytest.raises(NotAMember):  # a resident is not a member
        await services.twinning.pair(
            world.coordinator, world.resident.id, household_id, Cadence.WEEKLY
        )
    with pytest.raises(NoSuchHousehold):  # out of B's keeper's reach
        await services.twinning.pair(
            world.keeper_b, world.other_member.id, household_id, Cadence.WEEKLY
        )
    # A household may have more than one member.
    second = await services.twinning.pair(
        world.coordinator, world.other_member.id, household_id, Cadence.FORTNIGHTLY
    )
    assert len(await services.twinning.pairs_of(world.coordinator, household_id)) == 2
    assert second.cadence_days == 14
    # Visits earn points: a member is not twinned with their own home.
    own = await services.twinning.register_household(
        world.coordinator,
        _draft(world, name="钱家", room="9-909", resident_id=world.other_member.id),
    )
    with pytest.raises(NotAllowed):
        await services.twinning.pair(
            world.coordinator, world.other_member.id, own.id, Cadence.WEEKLY
        )


async def test_a_visit_is_logged_once_per_token_and_credits_the_passbook_once(
    services: Services, world: World
) -> None:
    household_id, _ = await _paired(services, world)

    visit = await services.twinning.log_visit(world.member, _visit(household_id), token="t1")
    again = await services.twinning.log_visit(world.member, _visit(household_id), token="t1")

    assert again == visit and await _visits_count(services) == 1
    assert visit.visited_on == TODAY and visit.help_fen == 15050 and visit.wellbeing == 4
    assert visit.categories == {VisitCategory.CHAT, VisitCategory.RICE_AND_OIL}
    async with services.store.read() as conn:
        entries = await ledger_repo.entries_of(conn, world.member.id)
    assert [(e.kind, e.ref, e.points) for e in entries] == [
        (LedgerKind.VISIT, f"visit:{visit.pair_id}:{TODAY.isoformat()}", 5)
    ]
    assert await services.twinning.visit_points(world.member, visit) == 5
    # A second visit the same day is logged, but a day's visits earn points once.
    second = await services.twinning.log_visit(
        world.member, _visit(household_id, wellbeing=5), token="t2"
    )
    assert second.id != visit.id and await _visits_count(services) == 2
    assert await services.twinning.visit_points(world.member, second) is None
    async with services.store.read() as conn:
        assert len(await ledger_repo.entries_of(conn, world.member.id)) == 1
    points = await services.twinning.wellbeing(world.member, household_id)
    assert [(p.visited_on, p.mark) for p in points] == [(TODAY, 4), (TODAY, 5)]
    # Nor can a visit be dated before the pair began.
    with pytest.raises(VisitBeforePair):
        await services.twinning.log_visit(
            world.member, _visit(household_id, visited_on=TODAY - timedelta(days=1)), token="t3"
        )
    assert await _visits_count(services) == 2


async def test_a_save_pressed_twice_at_once_makes_one_visit_and_one_credit(
    services: Services, world: World
) -> None:
    household_id, _ = await _paired(services, world)
    made = await asyncio.gather(
        *(
            services.twinning.log_visit(world.member, _visit(household_id), token="same")
            for _ in range(5)
        )
    )
    assert len({v.id for v in made}) == 1 and await _visits_count(services) == 1
    async with services.store.read() as conn:
        assert len(await ledger_repo.entries_of(conn, world.member.id)) == 1


async def test_two_coordinators_pairing_the_same_two_at_once_make_one_pair(
    services: Services, world: World
) -> None:
    household = await services.twinning.register_household(world.coordinator, _draft(world))
    results = await asyncio.gather(
        *(
            services.twinning.pair(
                world.coordinator, world.member.id, household.id, Cadence.WEEKLY
            )
            for _ in range(4)
        ),
        return_exceptions=True,
    )
    made = [r for r in results if not isinstance(r, BaseException)]
    assert len(made) == 1
    assert all(isinstance(r, AlreadyPaired) for r in results if r not in made)


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"help_fen": -1}, BadAmount),
        ({"help_fen": 100_000 * 100 + 1}, NeedsConfirmation),
        ({"help_fen": 10_000_000 * 100 + 1}, AmountTooLarge),
        ({"visited_on": TODAY + timedelta(days=1)}, FutureVisit),
        ({"visited_on": TODAY - timedelta(days=91)}, VisitTooOld),
    ],
)
async def test_bad_visits_are_refused_and_change_nothing(
    services: Services, world: World, changes: dict[str, object], error: type[Exception]
) -> None:
    household_id, _ = await _paired(services, world)
    with pytest.raises(error):
        await services.twinning.log_visit(world.member, _visit(household_id, **changes), token="x")
    assert await _visits_count(services) == 0
    async with services.store.read() as conn:
        assert await ledger_repo.entries_of(conn, world.member.id) == []


async def test_a_large_amount_is_logged_when_confirmed(services: Services, world: World) -> None:
    household_id, _ = await _paired(services, world)
    draft = _visit(household_id, help_kind=HelpKind.FUNDS, help_fen=parse_yuan("150000"))
    with pytest.raises(NeedsConfirmation) as refused:
        await services.twinning.log_visit(world.member, draft, token="big")
    assert refused.value.values == {"amount": "150000"}
    visit = await services.twinning.log_visit(world.member, draft, token="big", confirmed=True)
    assert visit.help_fen == 15_000_000


async def test_visits_to_a_household_not_mine_or_after_the_pair_ended_are_refused(
    services: Services, world: World
) -> None:
    household_id, pair_id = await _paired(services, world)
    with pytest.raises(NotPaired):
        await services.twinning.log_visit(world.other_member, _visit(household_id), token="a")
    with pytest.raises(ReasonRequired):
        await services.twinning.end_pair(world.coordinator, pair_id, " ")
    ended = await services.twinning.end_pair(world.coordinator, pair_id, "搬家了")
    assert not ended.active and ended.end_reason == "搬家了"
    assert "twinning.ended" in await outbox_kinds(services, world.member.id)
    with pytest.raises(PairEnded):
        await services.twinning.end_pair(world.coordinator, pair_id, "再次")
    with pytest.raises(NotPaired):
        await services.twinning.log_visit(world.member, _visit(household_id), token="b")
    assert await _visits_count(services) == 0
    async with services.store.read() as conn:
        actions = list(await conn.scalars(select(audit_log.c.action).order_by(audit_log.c.id)))
    assert actions[-3:] == ["household.register", "pair.make", "pair.end"]
    # Ended, the same two may be paired again.
    again = await services.twinning.pair(
        world.coordinator, world.member.id, household_id, Cadence.WEEKLY
    )
    assert again.active and again.id != pair_id


async def _reminder_rows(services: Services, pair_id: int) -> list[tuple[str, ReminderStatus]]:
    return [(r.kind, r.status) for r in await services.reminders.about(subject_of(pair_id))]


async def test_the_cadence_reminds_the_member_then_the_coordinators_without_piling_up(
    services: Services, world: World, clock: ManualClock
) -> None:
    household_id, pair_id = await _paired(services, world)
    pending = [(KIND_BEHIND, ReminderStatus.PENDING), (KIND_OVERDUE, ReminderStatus.PENDING)]
    assert await _reminder_rows(services, pair_id) == pending
    (pair,) = await services.twinning.my_pairs(world.member)
    assert not services.twinning.is_behind(pair)

    clock.advance(days=6)
    await services.reminders.run_due()
    assert "twinning.visit_due" not in await outbox_kinds(services, world.member.id)

    clock.advance(days=1, minutes=1)  # a week on: the member is behind
    await services.reminders.run_due()
    await services.reminders.run_due()
    assert (await outbox_kinds(services, world.member.id)).count("twinning.visit_due") == 1
    assert "twinning.overdue" not in await outbox_kinds(services, COORDINATOR_ID)
    assert services.twinning.is_behind(pair)

    clock.advance(days=7)  # twice the cadence: the coordinators are told
    await services.reminders.run_due()
    assert (await outbox_kinds(services, COORDINATOR_ID)).count("twinning.overdue") == 1
    assert "twinning.overdue" not in await outbox_kinds(services, world.keeper_b.id)  # not theirs

    # A visit re-arms: the old rows are done, two new ones wait from the visit's day.
    await services.twinning.log_visit(world.member, _visit(household_id), token="v1")
    await services.twinning.log_visit(world.member, _visit(household_id), token="v1")
    await services.twinning.log_visit(
        world.member, _visit(household_id, visited_on=TODAY), token="older"
    )  # an older day moves nothing
    rows = await _reminder_rows(services, pair_id)
    assert rows.count((KIND_BEHIND, ReminderStatus.PENDING)) == 1
    assert rows.count((KIND_OVERDUE, ReminderStatus.PENDING)) == 1
    assert len(rows) == 4

    await services.twinning.end_pair(world.coordinator, pair_id, "结束")
    assert all(s is not ReminderStatus.PENDING for _, s in await _reminder_rows(services, pair_id))


async def test_a_reminder_due_after_a_visit_does_nothing(
    services: Services, world: World, clock: ManualClock
) -> None:
    household_id, pair_id = await _paired(services, world)
    clock.advance(days=3)
    await services.twinning.log_visit(world.member, _visit(household_id), token="v")
    clock.advance(days=5)  # past the first anchor's week, not the visit's
    await services.reminders.run_due()
    assert "twinning.visit_due" not in await outbox_kinds(services, world.member.id)
    clock.advance(days=3)  # a week after the visit
    await services.reminders.run_due()
    assert "twinning.visit_due" in await outbox_kinds(services, world.member.id)
    behind = [
        r for r in await services.reminders.about(subject_of(pair_id)) if r.kind == KIND_BEHIND
    ]
    assert [r.status for r in behind] == [ReminderStatus.CANCELLED, ReminderStatus.SENT]


async def test_needs_attention_shows_a_dropped_mark_and_a_household_unvisited_for_60_days(
    services: Services, world: World, clock: ManualClock
) -> None:
    clock.current = MORNING - timedelta(days=2)  # paired before the first visit
    dropping, _ = await _paired(services, world)
    clock.current = MORNING
    quiet = await services.twinning.register_household(
        world.coordinator, _draft(world, name="李大爷家", building_id=world.b)
    )
    fine, _ = await _paired(services, world, name="刘阿姨家")
    await services.twinning.log_visit(
        world.member,
        _visit(dropping, visited_on=TODAY - timedelta(days=2), wellbeing=4),
        token="d1",
    )
    await services.twinning.log_visit(world.member, _visit(dropping, wellbeing=3), token="d2")
    await services.twinning.log_visit(world.member, _visit(fine, wellbeing=4), token="f1")

    items = await services.twinning.needs_attention(world.coordinator)
    assert [(i.household.id, i.reasons) for i in items] == [(dropping, {AttentionReason.DROPPED})]
    assert (items[0].latest_mark, items[0].previous_mark) == (3, 4)

    clock.advance(days=61)
    await services.twinning.log_visit(world.member, _visit(dropping, wellbeing=3), token="d3")
    items = await services.twinning.needs_attention(world.coordinator)
    reasons = {i.household.id: i.reasons for i in items}
    assert reasons == {quiet.id: {AttentionReason.UNVISITED}, fine: {AttentionReason.UNVISITED}}
    # B's keeper sees only B's household.
    only_b = await services.twinning.needs_attention(world.keeper_b)
    assert [i.household.id for i in only_b] == [quiet.id]
    with pytest.raises(NotAllowed):
        await services.twinning.needs_attention(world.member)


async def test_needs_attention_reads_every_household_however_many(
    services: Services, world: World, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(twinning_service, "ATTENTION_BATCH", 2)  # five households, three reads
    made = [
        await services.twinning.register_household(
            world.coordinator, _draft(world, name=f"第{n}户", room=f"1-{n}0{n}")
        )
        for n in range(1, 6)
    ]
    clock.advance(days=61)
    items = await services.twinning.needs_attention(world.coordinator)
    assert sorted(i.household.id for i in items) == [h.id for h in made]


async def test_totals_per_building_community_and_period(
    services: Services, world: World, clock: ManualClock
) -> None:
    clock.current = MORNING - timedelta(days=20)  # A's pair began in October, B's today
    in_a, _ = await _paired(services, world)
    clock.current = MORNING
    in_b, pair_b = await _paired(services, world, name="李大爷家", building_id=world.b)
    await services.twinning.log_visit(
        world.member,
        _visit(
            in_a, help_kind=HelpKind.FUNDS, help_fen=20000, visited_on=TODAY - timedelta(days=20)
        ),
        token="a-old",
    )
    await services.twinning.log_visit(world.member, _visit(in_a, help_fen=5050), token="a1")
    await services.twinning.log_visit(
        world.member, _visit(in_b, help_kind=HelpKind.FUNDS, help_fen=10000), token="b1"
    )
    await services.twinning.end_pair(world.coordinator, pair_b, "结束")

    november = await services.twinning.totals(
        world.coordinator, date(2026, 11, 1), date(2026, 11, 30), community_id=world.community_id
    )
    assert (november.pairs_formed, november.pairs_active, november.visits) == (1, 1, 2)
    assert (november.funds_fen, november.materials_fen, november.help_fen) == (10000, 5050, 15050)
    assert november.households == 2

    quarter = await services.twinning.quarter_totals(world.coordinator, "2026Q4")
    assert (quarter.visits, quarter.funds_fen, quarter.materials_fen) == (3, 30000, 5050)

    building_a = await services.twinning.totals(
        world.coordinator, date(2026, 10, 1), date(2026, 12, 31), building_id=world.a
    )
    assert (building_a.visits, building_a.pairs_formed, building_a.help_fen) == (2, 1, 25050)
    keeper = await services.twinning.quarter_totals(world.keeper_b, "2026Q4")
    assert (keeper.visits, keeper.funds_fen, keeper.pairs_active) == (1, 10000, 0)
    with pytest.raises(NotFound):
        await services.twinning.totals(world.keeper_b, TODAY, TODAY, building_id=world.a)


async def test_the_phone_goes_only_to_paired_members_and_coordinators_in_reach(
    services: Services, world: World
) -> None:
    household_id, pair_id = await _paired(services, world)

    assert (await services.twinning.contact(world.member, household_id)).phone == "13800000000"
    assert (await services.twinning.contact(world.coordinator, household_id)).phone
    for outsider in (world.other_member, world.keeper_b, world.resident):
        with pytest.raises(NotAllowed):
            await services.twinning.contact(outsider, household_id)
    with pytest.raises(NoSuchHousehold):
        await services.twinning.household(world.other_member, household_id)
    # The household picked for a wish posted on its behalf: the member's paired ones.
    (mine,) = await services.twinning.proxy_households(world.member)
    assert mine.id == household_id and mine.room == "2-101"
    assert await services.twinning.proxy_households(world.other_member) == []

    await services.twinning.end_pair(world.coordinator, pair_id, "结束")
    with pytest.raises(NotAllowed):  # an ended pair no longer opens the door
        await services.twinning.contact(world.member, household_id)


@pytest.mark.parametrize(
    "typed, fen",
    [
        ("50", 5000),
        ("12.5", 1250),
        ("¥1,200.00", 120000),
        ("２００", 20000),
        ("٢٠٠", 20000),
        ("200元", 20000),
        ("￥ 30", 3000),
        ("0.01", 1),
    ],
)
def test_amounts_are_read_as_typed(typed: str, fen: int) -> None:
    assert parse_yuan(typed) == fen


@pytest.mark.parametrize(
    "typed", ["1e5", "1E+7", "-0", "-5", "1,2,3", "1_000", "200.005", "abc", "", ".5", "9" * 5000]
)
def test_amounts_that_are_no_plain_sum_are_refused(typed: str) -> None:
    with pytest.raises(BadAmount):
        parse_yuan(typed)
