"""Patrol duty through the real services (SQLite, and PostgreSQL on its pass): posts and
shifts only by coordinators in reach, repeating shifts on the local wall clock, a full,
overlapping, past or backwards shift refused with nothing changed, twenty members racing for
two places, a swap taken once whatever races, "can't come" early and late, check-in only to
one's own shift inside its window, the passbook credited once by the hours served, and the
reminders (day before, shortly before, short of members, missed, forgot to check out) as rows
that fire once, at local times, and do nothing once things moved on."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.clock import ManualClock
from bot.models import (
    HOLDING,
    LedgerKind,
    Node,
    NodeKind,
    Recurrence,
    ReminderStatus,
    Shift,
    SignupStatus,
    User,
)
from bot.services import Services
from bot.services.errors import NotAllowed, NotFound
from bot.services.patrol import (
    KIND_DAY_BEFORE,
    KIND_SOON,
    AlreadyAsked,
    EndsBeforeItStarts,
    NoSuchShift,
    NotAPatrolMember,
    NotAsking,
    NotOnShift,
    ShiftCancelled,
    SwapGone,
    SwapOwn,
    hours_served,
    parse_times,
)
from bot.services.slots import (
    AlreadyCheckedIn,
    EndBeforeStart,
    NotSignedUp,
    OutsideWindow,
    Overlaps,
    SlotFull,
    SlotInPast,
    SlotTooLong,
    person_subject,
    slot_subject,
)
from storage import audit
from storage import ledger as ledger_repo
from storage import outbox as outbox_repo
from storage import slots as slots_repo
from tests.conftest import COORDINATOR_ID, RegisterUser, make_member
from tests.support.rendering import outbox_kinds

# 10:00 in Shanghai on Tuesday 24 November 2026 (02:00 UTC).
MORNING = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 24)
TOMORROW = TODAY + timedelta(days=1)
EVENING, LATE = time(19, 0), time(21, 0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MORNING)


@dataclass
class World:
    coordinator: User
    keeper: User  # a coordinator of one building only
    members: list[User]
    resident: User
    post_id: int
    building_id: int


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
    keeper = await services.admin.appoint(coordinator, 400, Node(kind=NodeKind.BUILDING, id=b.id))
    post = await services.patrol.create_post(
        coordinator, name="东门岗", area="东门和停车场", building_ids=[a.id]
    )
    members = [await _member(services, register, 200 + i, f"党员{i}") for i in range(22)]
    await register(300, "张奶奶")
    return World(
        coordinator=coordinator,
        keeper=keeper,
        members=members,
        resident=await services.users.require(300),
        post_id=post.id,
        building_id=a.id,
    )


async def _shift(
    services: Services,
    world: World,
    *,
    day: date = TOMORROW,
    start: time = EVENING,
    end: time = LATE,
    capacity: int = 2,
) -> Shift:
    (shift,) = await services.patrol.define_shifts(
        world.coordinator, world.post_id, day=day, start=start, end=end, capacity=capacity
    )
    return shift


async def _ledger(services: Services, member_id: int) -> list[tuple[LedgerKind, str, int]]:
    async with services.store.read() as conn:
        return [(e.kind, e.ref, e.points) for e in await ledger_repo.entries_of(conn, member_id)]


# --- posts and shifts ------------------------------------------------------------------------


async def test_a_coordinator_defines_a_shift_at_local_times_and_it_is_audited(
    services: Services, world: World
) -> None:
    shift = await _shift(services, world)
    assert shift.post_name == "东门岗"
    # 19:00–21:00 in Shanghai is 11:00–13:00 UTC.
    assert shift.slot.starts_at == datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
    assert shift.slot.ends_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    assert shift.slot.capacity == 2 and shift.slot.building_id == world.building_id
    async with services.store.read() as conn:
        assert world.coordinator.reach is not None
        entries = await audit.recent(conn, world.coordinator.reach, limit=10)
    actions = [e.action for e in entries]
    assert "patrol_post.create" in actions and "patrol_shift.define" in actions


async def test_repeating_shifts_are_made_in_one_step_every_evening(
    services: Services, world: World
) -> None:
    shifts = await services.patrol.define_shifts(
        world.coordinator,
        world.post_id,
        day=TOMORROW,
        start=EVENING,
        end=LATE,
        capacity=3,
        recurrence=Recurrence.DAILY,
        count=30,
    )
    assert len(shifts) == 30
    local = [s.slot.starts_at.astimezone(services.settings.zone) for s in shifts]
    assert {(m.hour, m.minute) for m in local} == {(19, 0)}
    assert [m.date() for m in local] == [TOMORROW + timedelta(days=i) for i in range(30)]
    assert {s.slot.series_id for s in shifts} == {shifts[0].slot.id}


async def test_only_coordinators_in_reach_define_posts_and_shifts(
    services: Services, world: World
) -> None:
    member = world.members[0]
    with pytest.raises(NotAllowed):
        await services.patrol.create_post(member, name="西门", area=None, building_ids=[])
    with pytest.raises(NotAllowed):
        await services.patrol.define_shifts(
            member, world.post_id, day=TOMORROW, start=EVENING, end=LATE, capacity=1
        )
    with pytest.raises((NotAllowed, NotFound)):  # a building's coordinator: not the community
        await services.patrol.define_shifts(
            world.keeper, world.post_id, day=TOMORROW, start=EVENING, end=LATE, capacity=1
        )


@pytest.mark.parametrize(
    ("day", "start", "end", "error"),
    [
        (TODAY, time(8, 0), time(9, 0), SlotInPast),  # 08:00 today is gone at 10:00
        (TOMORROW, LATE, EVENING, EndBeforeStart),
        (TOMORROW, EVENING, EVENING, EndBeforeStart),
    ],
)
async def test_a_shift_in_the_past_or_ending_before_it_starts_is_refused(
    services: Services, world: World, day: date, start: time, end: time, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await _shift(services, world, day=day, start=start, end=end)
    assert await services.patrol.week_shifts(world.coordinator, services.patrol.this_week()) == []


def test_typed_times_and_hours_served() -> None:
    assert parse_times("19:00-21:00") == (time(19), time(21))
    assert parse_times("19点到21点") == (time(19), time(21))
    assert parse_times("７:30 ９:00") == (time(7, 30), time(9))
    assert [hours_served(m) for m in (0, 29, 30, 89, 90, 120, 149, 150)] == [
        0, 0, 1, 1, 2, 2, 2, 3,
    ]  # fmt: skip


# --- taking a shift --------------------------------------------------------------------------


async def test_a_full_shift_refuses_the_next_member_with_nothing_changed(
    services: Services, world: World
) -> None:
    shift = await _shift(services, world, capacity=1)
    await services.patrol.take(world.members[0], shift.slot.id)
    with pytest.raises(SlotFull):
        await services.patrol.take(world.members[1], shift.slot.id)
    assert (await services.patrol.shift(world.coordinator, shift.slot.id)).slot.taken == 1
    assert await services.patrol.my_signup(world.members[1], shift.slot.id) is None


async def test_an_overlapping_shift_is_refused(services: Services, world: World) -> None:
    first = await _shift(services, world)
    second = await _shift(services, world, start=time(20, 0), end=time(22, 0))
    member = world.members[0]
    await services.patrol.take(member, first.slot.id)
    with pytest.raises(Overlaps):
        await services.patrol.take(member, second.slot.id)
    assert (await services.patrol.shift(member, second.slot.id)).slot.taken == 0


async def test_residents_and_other_communities_cannot_take_shifts(
    services: Services, world: World
) -> None:
    shift = await _shift(services, world)
    with pytest.raises((NotAPatrolMember, NoSuchShift)):
        await services.patrol.take(world.resident, shift.slot.id)


async def test_twenty_members_racing_for_two_places_leave_two_on_the_shift(
    services: Services, world: World
) -> None:
    shift = await _shift(services, world, capacity=2)
    results = await asyncio.gather(
        *(services.patrol.take(m, shift.slot.id) for m in world.members[:20]),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 2 and all(isinstance(e, SlotFull) for e in lost), lost
    async with services.store.read() as conn:
        held = await slots_repo.signups_of(conn, shift.slot.id, [SignupStatus.GOING])
        slot = await slots_repo.get_slot(conn, shift.slot.id)
    assert len(held) == 2 and slot is not None and slot.taken == 2


async def test_taking_a_shift_sets_the_day_before_and_the_soon_reminders(
    services: Services, world: World
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    rows = await services.reminders.about(person_subject(shift.slot.id, member.id))
    due = {r.kind: r.due_at for r in rows}
    # The evening before at 19:00 local (11:00 UTC), and an hour before the 19:00 start.
    assert due == {
        KIND_DAY_BEFORE: datetime(2026, 11, 24, 11, 0, tzinfo=UTC),
        KIND_SOON: datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    }


# --- can't come -------------------------------------------------------------------------------


async def test_cant_come_early_releases_the_place_and_cancels_the_reminders(
    services: Services, world: World
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    assert await services.patrol.cant_come(member, shift.slot.id) is SignupStatus.DROPPED
    assert (await services.patrol.shift(member, shift.slot.id)).slot.taken == 0
    rows = await services.reminders.about(person_subject(shift.slot.id, member.id))
    assert {r.status for r in rows} == {ReminderStatus.CANCELLED}
    await services.patrol.take(member, shift.slot.id)  # and may take it again
    rows = await services.reminders.about(person_subject(shift.slot.id, member.id))
    assert sum(r.status is ReminderStatus.PENDING for r in rows) == 2


async def test_cant_come_late_asks_the_coordinators_at_once_who_let_the_member_off(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    clock.advance(hours=24)  # 10:00 the next day: 9 hours before the start (< 12)
    assert await services.patrol.cant_come(member, shift.slot.id) is SignupStatus.LEAVING
    with pytest.raises(AlreadyAsked):
        await services.patrol.cant_come(member, shift.slot.id)
    assert (await services.patrol.shift(member, shift.slot.id)).slot.taken == 1
    assert "patrol.late_drop" in await outbox_kinds(services, COORDINATOR_ID)

    with pytest.raises(NotAllowed):
        await services.patrol.let_off(world.members[1], shift.slot.id, member.id)
    await services.patrol.let_off(world.coordinator, shift.slot.id, member.id)
    assert (await services.patrol.shift(member, shift.slot.id)).slot.taken == 0
    assert "patrol.let_off" in await outbox_kinds(services, member.id)
    with pytest.raises(NotAsking):  # a second coordinator's press
        await services.patrol.let_off(world.coordinator, shift.slot.id, member.id)


# --- swaps -----------------------------------------------------------------------------------


async def test_a_swap_is_offered_to_free_members_and_taken_once_whatever_races(
    services: Services, world: World
) -> None:
    shift = await _shift(services, world)
    offerer, partner = world.members[0], world.members[1]
    await services.patrol.take(offerer, shift.slot.id)
    await services.patrol.take(partner, shift.slot.id)
    swap, told = await services.patrol.offer_swap(offerer, shift.slot.id)
    assert told == len(world.members) - 2  # not the offerer, not the one already on it
    assert "patrol.swap_offered" in await outbox_kinds(services, world.members[5].id)
    assert "patrol.swap_offered" not in await outbox_kinds(services, partner.id)
    with pytest.raises(SwapOwn):
        await services.patrol.accept_swap(offerer, swap.id)

    takers = world.members[2:8]
    results = await asyncio.gather(
        *(services.patrol.accept_swap(m, swap.id) for m in takers), return_exceptions=True
    )
    won = [m for m, r in zip(takers, results, strict=True) if not isinstance(r, BaseException)]
    assert len(won) == 1, results
    assert all(isinstance(r, SwapGone) for r in results if isinstance(r, BaseException))
    taker = won[0]
    assert (await services.patrol.my_signup(taker, shift.slot.id)).status is SignupStatus.GOING  # type: ignore[union-attr]
    assert (await services.patrol.my_signup(offerer, shift.slot.id)).status is SignupStatus.DROPPED  # type: ignore[union-attr]
    assert (await services.patrol.shift(taker, shift.slot.id)).slot.taken == 2
    assert "patrol.swap_taken" in await outbox_kinds(services, offerer.id)
    # The reminders moved over with the place.
    assert not [
        r
        for r in await services.reminders.about(person_subject(shift.slot.id, offerer.id))
        if r.status is ReminderStatus.PENDING
    ]
    assert len(await services.reminders.about(person_subject(shift.slot.id, taker.id))) == 2


async def test_a_swap_offer_ends_when_the_shift_starts(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    await services.patrol.take(world.members[0], shift.slot.id)
    swap, _ = await services.patrol.offer_swap(world.members[0], shift.slot.id)
    clock.current = shift.slot.starts_at + timedelta(minutes=1)
    await services.reminders.run_due()
    assert not await services.patrol.swap_open(swap.id)
    with pytest.raises(SwapGone):
        await services.patrol.accept_swap(world.members[3], swap.id)


# --- check in and out ------------------------------------------------------------------------


async def test_check_in_to_someone_elses_shift_or_outside_its_window_is_refused(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    member, other = world.members[0], world.members[1]
    await services.patrol.take(member, shift.slot.id)
    with pytest.raises(OutsideWindow):  # the day before
        await services.patrol.check_in(member, shift.slot.id)
    clock.current = shift.slot.starts_at - timedelta(minutes=31)
    with pytest.raises(OutsideWindow):
        await services.patrol.check_in(member, shift.slot.id)
    clock.current = shift.slot.starts_at - timedelta(minutes=10)
    with pytest.raises(NotSignedUp):
        await services.patrol.check_in(other, shift.slot.id)
    assert (await services.patrol.my_signup(member, shift.slot.id)).checked_in_at is None  # type: ignore[union-attr]
    clock.current = shift.slot.ends_at + timedelta(minutes=1)
    with pytest.raises(OutsideWindow):  # after the end
        await services.patrol.check_in(member, shift.slot.id)


async def test_a_shift_checked_out_credits_the_hours_served_once(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    clock.current = shift.slot.starts_at - timedelta(minutes=5)
    await services.patrol.check_in(member, shift.slot.id, latitude=39.9, longitude=116.4)
    clock.current = shift.slot.ends_at + timedelta(minutes=20)
    _, signup, hours = await services.patrol.check_out(member, shift.slot.id)
    assert hours == 2 and signup.latitude == pytest.approx(39.9)
    with pytest.raises(Exception):  # noqa: B017 — AlreadyCheckedOut
        await services.patrol.check_out(member, shift.slot.id)
    assert await _ledger(services, member.id) == [
        (LedgerKind.PATROL, f"patrol:{shift.slot.id}", 10)
    ]
    # The check-out window closing later finds nothing to do.
    clock.current = shift.slot.ends_at + timedelta(hours=3)
    await services.reminders.run_due()
    assert len(await _ledger(services, member.id)) == 1


async def test_a_member_who_forgot_to_check_out_is_checked_out_at_the_end_and_credited(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    clock.current = shift.slot.starts_at + timedelta(minutes=30)  # 30 minutes late
    await services.patrol.check_in(member, shift.slot.id)
    clock.current = shift.slot.ends_at + timedelta(hours=2, minutes=1)
    await services.reminders.run_due()
    signup = await services.patrol.my_signup(member, shift.slot.id)
    assert signup is not None and signup.checked_out_at == shift.slot.ends_at
    assert await _ledger(services, member.id) == [
        (LedgerKind.PATROL, f"patrol:{shift.slot.id}", 10)  # 1 h 30 rounds to 2 h
    ]
    assert "patrol.auto_checked_out" in await outbox_kinds(services, member.id)


# --- reminders and alerts --------------------------------------------------------------------


async def test_reminders_fire_once_at_the_day_before_and_before_the_start(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    clock.current = datetime(2026, 11, 24, 10, 59, tzinfo=UTC)  # 18:59 local, the day before
    await services.reminders.run_due()
    assert "patrol.reminder" not in await outbox_kinds(services, member.id)
    clock.current = datetime(2026, 11, 24, 11, 0, 30, tzinfo=UTC)
    await services.reminders.run_due()
    await services.reminders.run_due()
    assert (await outbox_kinds(services, member.id)).count("patrol.reminder") == 1
    clock.current = shift.slot.starts_at - timedelta(minutes=59)
    await services.reminders.run_due()
    assert (await outbox_kinds(services, member.id)).count("patrol.reminder") == 2


async def test_a_shift_short_of_members_alerts_the_coordinators_a_day_before(
    services: Services, world: World, clock: ManualClock
) -> None:
    short = await _shift(services, world, day=TODAY + timedelta(days=2), capacity=2)
    full = await _shift(
        services, world, day=TODAY + timedelta(days=2), start=time(7), end=time(9), capacity=1
    )
    await services.patrol.take(world.members[0], short.slot.id)
    await services.patrol.take(world.members[1], full.slot.id)
    clock.current = short.slot.starts_at - timedelta(hours=24) + timedelta(seconds=30)
    await services.reminders.run_due()
    async with services.store.read() as conn:
        rows = await outbox_repo.rows_for_chat(conn, COORDINATOR_ID)
    shorts = [r for r in rows if r.kind == "patrol.short"]
    assert len(shorts) == 1 and shorts[0].params is not None
    assert shorts[0].params["slot_id"] == short.slot.id and shorts[0].params["taken"] == 1


async def test_a_member_who_never_checked_in_is_reported_missed_at_the_end(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    await services.patrol.take(world.members[0], shift.slot.id)
    await services.patrol.take(world.members[1], shift.slot.id)
    clock.current = shift.slot.starts_at
    await services.patrol.check_in(world.members[1], shift.slot.id)
    clock.current = shift.slot.ends_at + timedelta(seconds=30)
    await services.reminders.run_due()
    async with services.store.read() as conn:
        rows = [r for r in await outbox_repo.rows_for_chat(conn, COORDINATOR_ID)]
    missed = [r for r in rows if r.kind == "patrol.missed"]
    assert len(missed) == 1 and missed[0].params is not None
    assert missed[0].params["member_names"] == ["党员0"]


async def test_a_cancelled_shift_tells_its_members_releases_them_and_its_reminders_end(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    with pytest.raises(NotAllowed):
        await services.patrol.cancel_shift(member, shift.slot.id)
    await services.patrol.cancel_shift(world.coordinator, shift.slot.id)
    assert "patrol.cancelled" in await outbox_kinds(services, member.id)
    assert await services.patrol.my_shifts(member) == []
    for subject in (slot_subject(shift.slot.id), person_subject(shift.slot.id, member.id)):
        assert {r.status for r in await services.reminders.about(subject)} == {
            ReminderStatus.CANCELLED
        }
    clock.current = shift.slot.ends_at + timedelta(hours=3)
    assert await services.reminders.run_due() == 0


async def test_a_reminder_that_fires_after_the_place_was_given_up_does_nothing(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    # The place released behind the reminders' back: their rows are still pending.
    async with services.store.transaction() as conn:
        await slots_repo.release_place(
            conn, shift.slot.id, member.id, to=SignupStatus.DROPPED, reason=None, now=MORNING
        )
    clock.current = shift.slot.starts_at - timedelta(minutes=59)
    assert await services.reminders.run_due() >= 2  # the day before and the soon one ran
    assert "patrol.reminder" not in await outbox_kinds(services, member.id)


# --- found in review -------------------------------------------------------------------------


async def test_a_member_who_checks_in_keeps_the_place_they_had_offered_to_others(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    offerer, taker = world.members[0], world.members[1]
    await services.patrol.take(offerer, shift.slot.id)
    swap, _ = await services.patrol.offer_swap(offerer, shift.slot.id)
    clock.current = shift.slot.starts_at - timedelta(minutes=10)
    await services.patrol.check_in(offerer, shift.slot.id)
    assert not await services.patrol.swap_open(swap.id)
    with pytest.raises(SwapGone):
        await services.patrol.accept_swap(taker, swap.id)
    mine = await services.patrol.my_signup(offerer, shift.slot.id)
    assert mine is not None and mine.holding and mine.checked_in_at is not None
    assert await services.patrol.my_signup(taker, shift.slot.id) is None


async def test_a_night_shift_typed_22_to_02_ends_the_next_day(
    services: Services, world: World
) -> None:
    shift = await _shift(services, world, start=time(22, 0), end=time(2, 0))
    assert shift.slot.starts_at == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    assert shift.slot.ends_at == datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 02:00 on the 26th
    with pytest.raises(EndsBeforeItStarts):  # 21:00-19:00 is a slip, not 22 hours
        await _shift(services, world, start=time(21, 0), end=time(19, 0))
    with pytest.raises(EndBeforeStart):
        await _shift(services, world, start=time(19, 0), end=time(19, 0))


async def test_typed_times_are_checked_at_once_not_at_the_end_of_the_dialogue(
    services: Services, world: World
) -> None:
    patrol = services.patrol
    with pytest.raises(SlotInPast):  # 09:00 today; it is 10:00
        patrol.check_first(TODAY, time(9, 0), time(11, 0))
    with pytest.raises(SlotTooLong):
        patrol.check_first(TOMORROW, time(6, 0), time(20, 0))
    with pytest.raises(EndBeforeStart):
        patrol.check_first(TOMORROW, time(6, 0), time(6, 0))
    assert patrol.check_first(TOMORROW, time(22, 0), time(2, 0))[1] == datetime(
        2026, 11, 25, 18, 0, tzinfo=UTC
    )


async def test_a_member_who_asked_off_late_then_checks_in_is_on_duty_and_not_let_off(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    clock.advance(hours=24)
    assert await services.patrol.cant_come(member, shift.slot.id) is SignupStatus.LEAVING
    clock.current = shift.slot.starts_at - timedelta(minutes=5)
    await services.patrol.check_in(member, shift.slot.id)
    assert not await services.patrol.still_asking(shift.slot.id, member.id)  # alert dropped
    with pytest.raises(NotAsking):  # the alert's button, pressed late
        await services.patrol.let_off(world.coordinator, shift.slot.id, member.id)
    clock.current = shift.slot.ends_at
    _, _, hours = await services.patrol.check_out(member, shift.slot.id)
    assert hours == 2
    assert await _ledger(services, member.id) == [
        (LedgerKind.PATROL, f"patrol:{shift.slot.id}", 10)
    ]


async def test_after_checking_in_cant_come_and_offering_the_shift_are_refused(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    clock.current = shift.slot.starts_at - timedelta(minutes=20)
    await services.patrol.check_in(member, shift.slot.id)
    with pytest.raises(AlreadyCheckedIn):  # an old card's buttons
        await services.patrol.offer_swap(member, shift.slot.id)
    with pytest.raises(AlreadyCheckedIn):
        await services.patrol.cant_come(member, shift.slot.id)
    signup = await services.patrol.my_signup(member, shift.slot.id)
    assert signup is not None and signup.status is SignupStatus.GOING
    assert "patrol.late_drop" not in await outbox_kinds(services, COORDINATOR_ID)
    assert "patrol.swap_offered" not in await outbox_kinds(services, world.members[3].id)


async def test_a_swap_taken_while_the_shift_is_cancelled_leaves_nobody_on_it(
    services: Services, world: World
) -> None:
    for round_ in range(3):
        shift = await _shift(services, world, day=TOMORROW + timedelta(days=round_))
        offerer, taker = world.members[0], world.members[1 + round_]
        await services.patrol.take(offerer, shift.slot.id)
        swap, _ = await services.patrol.offer_swap(offerer, shift.slot.id)
        results = await asyncio.gather(
            services.patrol.cancel_shift(world.coordinator, shift.slot.id),
            services.patrol.accept_swap(taker, swap.id),
            services.patrol.cant_come(offerer, shift.slot.id),
            return_exceptions=True,
        )
        assert not isinstance(results[0], BaseException), results
        for result in results[1:]:
            assert not isinstance(result, BaseException) or isinstance(
                result, SwapGone | ShiftCancelled | NotOnShift | NotSignedUp
            ), results
        async with services.store.read() as conn:
            holders = await slots_repo.signups_of(conn, shift.slot.id, HOLDING)
            slot = await slots_repo.get_slot(conn, shift.slot.id)
        assert holders == [] and slot is not None and slot.taken == 0, results


async def test_a_shift_called_off_while_a_member_is_on_duty_credits_the_time_served(
    services: Services, world: World, clock: ManualClock
) -> None:
    shift = await _shift(services, world)
    member = world.members[0]
    await services.patrol.take(member, shift.slot.id)
    clock.current = shift.slot.starts_at
    await services.patrol.check_in(member, shift.slot.id)
    clock.current = shift.slot.starts_at + timedelta(minutes=70)  # a storm: called off
    await services.patrol.cancel_shift(world.coordinator, shift.slot.id)
    assert await _ledger(services, member.id) == [
        (LedgerKind.PATROL, f"patrol:{shift.slot.id}", 5)  # 1 h 10 rounds to 1 h
    ]
    clock.current = shift.slot.ends_at + timedelta(hours=3)
    await services.reminders.run_due()
    assert len(await _ledger(services, member.id)) == 1


async def test_reminders_missed_while_the_bot_was_down_go_late_with_a_note_or_not_at_all(
    services: Services, world: World, clock: ManualClock
) -> None:
    """The delivery contract for reminders: one that fell due while the bot was away is
    sent once it is back, marked late, while it still matters (before the shift); past the
    shift's start it is skipped, and nothing is sent."""
    early, missed = await _shift(services, world), await _shift(services, world, day=TODAY)
    first, second = world.members[0], world.members[1]
    await services.patrol.take(first, early.slot.id)
    await services.patrol.take(second, missed.slot.id)

    # Away until 20 minutes before tomorrow's shift: today's shift began long ago.
    clock.current = early.slot.starts_at - timedelta(minutes=20)
    await services.reminders.run_due()
    async with services.store.read() as conn:
        told = [r for r in await outbox_repo.rows_for_chat(conn, first.id)]
        skipped = await slots_repo.get_signup(conn, missed.slot.id, second.id)
        about_missed = await services.reminders.about(f"slot:{missed.slot.id}:{second.id}")
        second_rows = await outbox_repo.rows_for_chat(conn, second.id)
    reminders = [r for r in told if r.kind == "patrol.reminder"]
    assert reminders and all((r.params or {}).get("late") is True for r in reminders)
    assert len({(r.params or {}).get("soon") for r in reminders}) == len(reminders)  # each once
    assert skipped is not None and skipped.holding
    assert {r.status for r in about_missed} == {ReminderStatus.SKIPPED}
    assert not [r for r in second_rows if r.kind == "patrol.reminder"]
    # Swept again: nothing more.
    await services.reminders.run_due()
    async with services.store.read() as conn:
        again = [r for r in await outbox_repo.rows_for_chat(conn, first.id)]
    assert len([r for r in again if r.kind == "patrol.reminder"]) == len(reminders)
