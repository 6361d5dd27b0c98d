"""The slot engine under patrol shifts and study sessions, on both databases: slots made on the
local wall clock, refused when they make no sense, places held up to the capacity whatever
races, no two overlapping places for one person, check-in and check-out once and only in
their windows, a swap offer taken once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.models import Recurrence, SignupStatus, Slot, SlotKind, User
from bot.services import Services
from bot.services.slots import (
    MAX_REPEAT,
    AlreadyCheckedIn,
    AlreadyCheckedOut,
    AlreadySignedUp,
    BadCapacity,
    EndBeforeStart,
    NotCheckedIn,
    NotSignedUp,
    OutsideWindow,
    Overlaps,
    SlotClosed,
    SlotEngine,
    SlotFull,
    SlotInPast,
    SlotTooLong,
    TooManyRepeats,
    minutes_served,
    repeat,
)
from storage import slots as repo
from tests.conftest import RegisterUser, make_member

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
EVENING = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai, tomorrow


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def engine(services: Services) -> SlotEngine:
    return SlotEngine(services.store, services.settings, services.clock)


async def _members(services: Services, register: RegisterUser, count: int) -> list[User]:
    return [await make_member(services, register, 500 + n, f"党员{n}") for n in range(count)]


async def _slot(
    services: Services,
    engine: SlotEngine,
    start: datetime = EVENING,
    hours: int = 2,
    capacity: int | None = 2,
) -> Slot:
    async with services.store.transaction() as conn:
        (slot,) = await engine.create(
            conn,
            kind=SlotKind.PATROL,
            community_id=services.default_community_id,
            building_id=None,
            times=[(start, start + timedelta(hours=hours))],
            capacity=capacity,
            actor_id=1,
        )
    return slot


async def _take(services: Services, engine: SlotEngine, slot: Slot, user: User) -> None:
    async with services.store.transaction() as conn:
        await engine.take(conn, slot, user)


def test_a_repeat_keeps_the_local_hour_every_day_week_and_month() -> None:
    start = datetime(2027, 1, 31, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai, the 31st
    daily = repeat(start, start + timedelta(hours=2), Recurrence.DAILY, 3, SHANGHAI)
    assert [s.astimezone(SHANGHAI).strftime("%m-%d %H:%M") for s, _ in daily] == [
        "01-31 19:00",
        "02-01 19:00",
        "02-02 19:00",
    ]
    assert all(e - s == timedelta(hours=2) for s, e in daily)
    weekly = repeat(start, start + timedelta(hours=1), Recurrence.WEEKLY, 2, SHANGHAI)
    assert weekly[1][0] - weekly[0][0] == timedelta(days=7)
    monthly = repeat(start, start + timedelta(hours=1), Recurrence.MONTHLY, 4, SHANGHAI)
    # The theme day on the 31st falls on each month's last day when the month is shorter.
    assert [s.astimezone(SHANGHAI).strftime("%m-%d") for s, _ in monthly] == [
        "01-31",
        "02-28",
        "03-31",
        "04-30",
    ]
    assert repeat(start, start, Recurrence.ONCE, 9, SHANGHAI) == [(start, start)]


def test_a_repeat_keeps_the_wall_clock_across_a_daylight_saving_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2027, 3, 27, 18, 0, tzinfo=berlin)  # the day before summer time
    times = repeat(start, start + timedelta(hours=2), Recurrence.DAILY, 2, berlin)
    assert [s.astimezone(berlin).hour for s, _ in times] == [18, 18]
    assert times[1][0] - times[0][0] == timedelta(hours=23)


def test_a_repeat_is_bounded() -> None:
    start = EVENING
    with pytest.raises(TooManyRepeats):
        repeat(start, start + timedelta(hours=1), Recurrence.DAILY, MAX_REPEAT + 1, SHANGHAI)
    with pytest.raises(TooManyRepeats):
        repeat(start, start + timedelta(hours=1), Recurrence.DAILY, 0, SHANGHAI)


@pytest.mark.parametrize(
    ("start", "hours", "capacity", "error"),
    [
        (NOW - timedelta(minutes=1), 2, 2, SlotInPast),
        (EVENING, 0, 2, EndBeforeStart),
        (EVENING, -1, 2, EndBeforeStart),
        (EVENING, 13, 2, SlotTooLong),
        (EVENING, 2, 0, BadCapacity),
        (EVENING, 2, 501, BadCapacity),
    ],
)
async def test_slots_that_make_no_sense_are_refused_and_nothing_is_made(
    services: Services,
    engine: SlotEngine,
    start: datetime,
    hours: int,
    capacity: int,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        await _slot(services, engine, start, hours, capacity)
    async with services.store.read() as conn:
        assert (
            await repo.slots_between(
                conn,
                kind=SlotKind.PATROL,
                start=NOW - timedelta(days=1),
                end=NOW + timedelta(days=9),
            )
            == []
        )


async def test_slots_made_in_one_step_share_a_series(
    services: Services, engine: SlotEngine
) -> None:
    times = repeat(EVENING, EVENING + timedelta(hours=2), Recurrence.DAILY, 5, SHANGHAI)
    async with services.store.transaction() as conn:
        made = await engine.create(
            conn,
            kind=SlotKind.PATROL,
            community_id=services.default_community_id,
            building_id=None,
            times=times,
            capacity=3,
            actor_id=1,
        )
        later = await repo.series_slots(conn, made[0].id, after=made[1].starts_at)
    assert {s.series_id for s in made} == {made[0].id}
    assert [s.id for s in later] == [s.id for s in made[2:]]


async def test_places_are_held_up_to_the_capacity_and_once_per_person(
    services: Services, engine: SlotEngine, register: RegisterUser
) -> None:
    a, b, c = await _members(services, register, 3)
    slot = await _slot(services, engine, capacity=2)
    await _take(services, engine, slot, a)
    with pytest.raises(AlreadySignedUp):
        await _take(services, engine, slot, a)
    await _take(services, engine, slot, b)
    with pytest.raises(SlotFull):
        await _take(services, engine, slot, c)
    async with services.store.read() as conn:
        now = await repo.get_slot(conn, slot.id)
        going = await repo.signups_of(conn, slot.id, {SignupStatus.GOING})
        assert await repo.get_signup(conn, slot.id, c.id) is None
    assert now is not None and now.taken == 2 and now.full
    assert [s.user_name for s in going] == ["党员0", "党员1"]


async def test_a_place_given_up_can_be_taken_by_the_next(
    services: Services, engine: SlotEngine, register: RegisterUser
) -> None:
    a, b = await _members(services, register, 2)
    slot = await _slot(services, engine, capacity=1)
    await _take(services, engine, slot, a)
    async with services.store.transaction() as conn:
        await engine.leave(conn, slot, a, reason="生病")
        with pytest.raises(NotSignedUp):
            await engine.leave(conn, slot, a)
    await _take(services, engine, slot, b)
    async with services.store.read() as conn:
        mine = await repo.get_signup(conn, slot.id, a.id)
        now = await repo.get_slot(conn, slot.id)
    assert mine is not None and mine.status is SignupStatus.DROPPED and mine.reason == "生病"
    assert now is not None and now.taken == 1


async def test_twenty_members_racing_for_two_places_make_two_holders(
    services: Services, engine: SlotEngine, register: RegisterUser
) -> None:
    people = await _members(services, register, 20)
    slot = await _slot(services, engine, capacity=2)

    async def attempt(user: User) -> bool:
        try:
            await _take(services, engine, slot, user)
        except SlotFull:
            return False
        return True

    won = await asyncio.gather(*(attempt(p) for p in people))
    async with services.store.read() as conn:
        going = await repo.signups_of(conn, slot.id, {SignupStatus.GOING})
        now = await repo.get_slot(conn, slot.id)
    assert sum(won) == 2 and len(going) == 2
    assert now is not None and now.taken == 2


async def test_a_double_tap_holds_one_place(
    services: Services, engine: SlotEngine, register: RegisterUser
) -> None:
    (a,) = await _members(services, register, 1)
    slot = await _slot(services, engine, capacity=3)

    async def tap() -> bool:
        try:
            await _take(services, engine, slot, a)
        except AlreadySignedUp:
            return False
        return True

    won = await asyncio.gather(*(tap() for _ in range(5)))
    async with services.store.read() as conn:
        now = await repo.get_slot(conn, slot.id)
    assert sum(won) == 1
    assert now is not None and now.taken == 1


async def test_overlapping_places_are_refused_and_adjacent_ones_are_not(
    services: Services, engine: SlotEngine, register: RegisterUser
) -> None:
    (a,) = await _members(services, register, 1)
    first = await _slot(services, engine, EVENING, hours=2)
    overlapping = await _slot(services, engine, EVENING + timedelta(hours=1), hours=2)
    after = await _slot(services, engine, EVENING + timedelta(hours=2), hours=2)
    await _take(services, engine, first, a)
    with pytest.raises(Overlaps) as refused:
        await _take(services, engine, overlapping, a)
    assert refused.value.values == {"start": "12-02 19:00"}  # the community's local time
    await _take(services, engine, after, a)


async def test_a_cancelled_or_begun_slot_takes_nobody(
    services: Services, engine: SlotEngine, register: RegisterUser, clock: ManualClock
) -> None:
    a, b = await _members(services, register, 2)
    cancelled = await _slot(services, engine)
    async with services.store.transaction() as conn:
        assert await repo.cancel_slot(conn, cancelled.id, NOW)
        assert not await repo.cancel_slot(conn, cancelled.id, NOW)
    with pytest.raises(SlotClosed):
        await _take(services, engine, cancelled, a)
    begun = await _slot(services, engine, EVENING + timedelta(hours=5))
    clock.current = EVENING + timedelta(hours=5, minutes=1)
    with pytest.raises(SlotClosed):
        await _take(services, engine, begun, b)


async def test_check_in_and_out_happen_once_and_only_in_their_windows(
    services: Services, engine: SlotEngine, register: RegisterUser, clock: ManualClock
) -> None:
    a, stranger = await _members(services, register, 2)
    slot = await _slot(services, engine)
    await _take(services, engine, slot, a)
    window = {"opens_before": timedelta(minutes=30), "closes_after": timedelta(0)}
    clock.current = EVENING - timedelta(minutes=31)
    async with services.store.transaction() as conn:
        with pytest.raises(OutsideWindow) as early:
            await engine.check_in(conn, slot, a, **window)
        assert early.value.values == {"opens": "12-02 18:30", "closes": "12-02 21:00"}
        with pytest.raises(NotCheckedIn):
            await engine.check_out(conn, slot, a, closes_after=timedelta(hours=2))
    clock.current = EVENING + timedelta(minutes=10)
    async with services.store.transaction() as conn:
        with pytest.raises(NotSignedUp):  # someone else's shift
            await engine.check_in(conn, slot, stranger, **window)
        signup = await engine.check_in(conn, slot, a, latitude=36.6, longitude=101.8, **window)
        with pytest.raises(AlreadyCheckedIn):
            await engine.check_in(conn, slot, a, **window)
    assert signup.checked_in_at == EVENING + timedelta(minutes=10)
    assert (signup.latitude, signup.longitude) == (36.6, 101.8)
    clock.current = EVENING + timedelta(hours=4, minutes=1)  # past the end and two hours
    async with services.store.transaction() as conn:
        with pytest.raises(OutsideWindow):
            await engine.check_out(conn, slot, a, closes_after=timedelta(hours=2))
    clock.current = EVENING + timedelta(hours=2, minutes=30)
    async with services.store.transaction() as conn:
        done = await engine.check_out(conn, slot, a, closes_after=timedelta(hours=2))
        with pytest.raises(AlreadyCheckedOut):
            await engine.check_out(conn, slot, a, closes_after=timedelta(hours=2))
    assert minutes_served(done, slot) == 110  # from 19:10 to the end at 21:00


async def test_an_audience_check_in_makes_the_row_it_needs(
    services: Services, engine: SlotEngine, register: RegisterUser, clock: ManualClock
) -> None:
    (a,) = await _members(services, register, 1)
    slot = await _slot(services, engine, capacity=None)
    async with services.store.transaction() as conn:
        await repo.answer(conn, slot.id, a.id, SignupStatus.EXCUSED, "出差", NOW)
    clock.current = EVENING
    async with services.store.transaction() as conn:
        signup = await engine.check_in(
            conn,
            slot,
            a,
            opens_before=timedelta(minutes=30),
            closes_after=timedelta(minutes=30),
            require_signup=False,
        )
        counts = await repo.attendance(conn, [slot.id])
        now = await repo.get_slot(conn, slot.id)
    assert signup.status is SignupStatus.GOING and signup.checked_in_at == EVENING
    assert counts == {slot.id: (1, 0)}
    assert now is not None and now.taken == 1


async def test_answers_keep_the_count_and_attendance_counts_the_excused(
    services: Services, engine: SlotEngine, register: RegisterUser
) -> None:
    a, b = await _members(services, register, 2)
    slot = await _slot(services, engine, capacity=None)
    async with services.store.transaction() as conn:
        await repo.answer(conn, slot.id, a.id, SignupStatus.GOING, None, NOW)
        await repo.answer(conn, slot.id, a.id, SignupStatus.GOING, None, NOW)
        await repo.answer(conn, slot.id, b.id, SignupStatus.GOING, None, NOW)
        await repo.answer(conn, slot.id, b.id, SignupStatus.EXCUSED, "值班", NOW)
        counts = await repo.attendance(conn, [slot.id])
        now = await repo.get_slot(conn, slot.id)
    assert now is not None and now.taken == 1
    assert counts == {slot.id: (0, 1)}


async def test_a_swap_offer_is_taken_once_and_the_place_moves(
    services: Services, engine: SlotEngine, register: RegisterUser
) -> None:
    offering, *takers = await _members(services, register, 6)
    slot = await _slot(services, engine, capacity=1)
    await _take(services, engine, slot, offering)
    async with services.store.transaction() as conn:
        swap = await repo.insert_swap(conn, slot.id, offering.id, NOW)
        assert await repo.insert_swap(conn, slot.id, offering.id, NOW) is None
    assert swap is not None

    async def accept(user: User) -> bool:
        async with services.store.transaction() as conn:
            if not await repo.take_swap(conn, swap.id, user.id, NOW):
                return False
            return await repo.hand_over(conn, slot.id, offering.id, user.id, NOW)

    won = await asyncio.gather(*(accept(t) for t in takers))
    async with services.store.read() as conn:
        holders = await repo.signups_of(conn, slot.id, {SignupStatus.GOING})
        gone = await repo.get_signup(conn, slot.id, offering.id)
        now = await repo.get_slot(conn, slot.id)
        taken = await repo.get_swap(conn, swap.id)
    assert sum(won) == 1 and len(holders) == 1
    assert taken is not None and taken.taken_by == holders[0].user_id
    assert gone is not None and gone.status is SignupStatus.DROPPED
    assert now is not None and now.taken == 1


async def test_a_members_upcoming_places_are_read_by_start(
    services: Services, engine: SlotEngine, register: RegisterUser
) -> None:
    (a,) = await _members(services, register, 1)
    later = await _slot(services, engine, EVENING + timedelta(days=2))
    sooner = await _slot(services, engine, EVENING)
    for slot in (later, sooner):
        await _take(services, engine, slot, a)
    async with services.store.read() as conn:
        mine = await repo.user_signups(conn, a.id, kind=SlotKind.PATROL, after=NOW)
        none = await repo.user_signups(conn, a.id, kind=SlotKind.STUDY, after=NOW)
    assert [slot.id for _, slot in mine] == [sooner.id, later.id]
    assert none == []
