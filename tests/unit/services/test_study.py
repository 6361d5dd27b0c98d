"""Study sessions through the real services, on both databases: scheduling refused when it
makes no sense or lies outside the coordinator's reach, the audience told (and nobody else),
answers (attend, excused with a reason) until the start, reminders to those attending and
those who have not answered only, check-in with the right code in its window credited once,
wrong / early / late codes and too many tries refused, attendance per session and member, and
the broadcast audience "a study session"."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.models import (
    AudienceKind,
    LedgerKind,
    Node,
    NodeKind,
    Recurrence,
    SignupStatus,
    StudyAudience,
    User,
)
from bot.services import Services
from bot.services.errors import NotAllowed, NotFound
from bot.services.slots import AlreadyCheckedIn, EndBeforeStart, OutsideWindow, SlotInPast
from bot.services.study import (
    MAX_WRONG_TRIES,
    ExcuseReasonRequired,
    NoSessionNow,
    NoSuchSession,
    SessionAnnounced,
    SessionDraft,
    SessionOver,
    SessionReminder,
    Stage,
    TooManyTries,
    WhereRequired,
    WrongCode,
    study_ref,
)
from storage import study as study_repo
from storage.schema import ledger_entries, reminders, study_sessions
from tests.conftest import COORDINATOR_ID, RegisterUser, make_member
from tests.support.rendering import outbox_kinds

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
# Thursday 19:00–21:00 in Shanghai.
START = datetime(2026, 12, 3, 19, 0, tzinfo=SHANGHAI)
END = START + timedelta(hours=2)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@dataclass
class World:
    coordinator: User
    keeper_b: User  # a coordinator of building B only
    m1: User  # members of building A
    m2: User
    m3: User  # a member of building B
    resident: User  # of building A, not a member
    a: int
    b: int


async def _member(
    services: Services, register: RegisterUser, uid: int, name: str, building: int
) -> User:
    return await make_member(services, register, uid, name, building_id=building)


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
    await register(300, "张奶奶", building_id=a.id)
    return World(
        coordinator=coordinator,
        keeper_b=keeper_b,
        m1=await _member(services, register, 201, "王党员", a.id),
        m2=await _member(services, register, 202, "赵党员", a.id),
        m3=await _member(services, register, 203, "钱党员", b.id),
        resident=await services.users.require(300),
        a=a.id,
        b=b.id,
    )


def _draft(**changes: object) -> SessionDraft:
    values: dict[str, object] = {
        "title": "小家庭党校",
        "topic": "学习党的二十届四中全会精神",
        "starts_at": START,
        "ends_at": END,
        "place": "社区党群服务中心二楼",
    }
    values.update(changes)
    return SessionDraft.model_validate(values)


def _set(clock: ManualClock, moment: datetime) -> None:
    clock.current = moment.astimezone(UTC)


async def _code(services: Services, world: World, slot_id: int) -> str:
    _session, code = await services.study.code(world.coordinator, slot_id)
    return code


async def _credits(services: Services, slot_id: int) -> int:
    async with services.store.read() as conn:
        query = select(func.count()).where(ledger_entries.c.ref == study_ref(slot_id))
        return int(await conn.scalar(query) or 0)


async def test_a_session_in_the_past_or_ending_before_it_starts_is_refused(
    services: Services, world: World
) -> None:
    with pytest.raises(SlotInPast):
        await services.study.schedule(
            world.coordinator,
            _draft(starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1)),
        )
    with pytest.raises(EndBeforeStart):
        await services.study.schedule(world.coordinator, _draft(ends_at=START))
    with pytest.raises(WhereRequired):
        await services.study.schedule(world.coordinator, _draft(place=" "))
    async with services.store.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(study_sessions)) == 0


async def test_a_coordinator_outside_the_scope_is_refused(
    services: Services, world: World
) -> None:
    with pytest.raises(NotFound):
        await services.study.schedule(
            world.keeper_b, _draft(audience=StudyAudience.BUILDING, building_id=world.a)
        )
    with pytest.raises(NotAllowed):  # the whole community is above a building's coordinator
        await services.study.schedule(world.keeper_b, _draft())
    with pytest.raises(NotAllowed):
        await services.study.schedule(world.m1, _draft())
    (own,) = await services.study.schedule(
        world.keeper_b, _draft(audience=StudyAudience.BUILDING, building_id=world.b)
    )
    (other,) = await services.study.schedule(
        world.coordinator, _draft(audience=StudyAudience.BUILDING, building_id=world.a)
    )
    with pytest.raises(NoSuchSession):
        await services.study.code(world.keeper_b, other.slot.id)
    with pytest.raises(NoSuchSession):
        await services.study.cancel(world.keeper_b, other.slot.id)
    _session, code = await services.study.code(world.keeper_b, own.slot.id)
    assert len(code) == 4 and code.isdigit()


async def test_the_audience_is_told_and_nobody_outside_it(
    services: Services, world: World
) -> None:
    await services.study.schedule(
        world.coordinator, _draft(audience=StudyAudience.BUILDING, building_id=world.a)
    )
    for person in (world.m1, world.m2):
        assert "study.announced" in await outbox_kinds(services, person.id)
    for person in (world.m3, world.resident, world.coordinator):
        assert "study.announced" not in await outbox_kinds(services, person.id)
    await services.study.schedule(
        world.coordinator, _draft(audience=StudyAudience.EVERYONE, title="主题党日")
    )
    assert "study.announced" in await outbox_kinds(services, world.resident.id)


async def test_answers_attend_or_excused_with_a_reason_until_the_start(
    services: Services, world: World, clock: ManualClock
) -> None:
    (session,) = await services.study.schedule(world.coordinator, _draft())
    slot_id = session.slot.id
    signup = await services.study.answer(world.m1, slot_id, going=True)
    assert signup.status is SignupStatus.GOING
    with pytest.raises(ExcuseReasonRequired):
        await services.study.answer(world.m2, slot_id, going=False, reason="  ")
    excused = await services.study.answer(world.m2, slot_id, going=False, reason="出差")
    assert excused.status is SignupStatus.EXCUSED and excused.reason == "出差"
    changed = await services.study.answer(world.m1, slot_id, going=False, reason="生病")
    assert changed.status is SignupStatus.EXCUSED
    with pytest.raises(NoSuchSession):  # a resident is not in the members' audience
        await services.study.answer(world.resident, slot_id, going=True)
    _set(clock, START.astimezone(UTC) + timedelta(minutes=1))
    with pytest.raises(SessionOver):
        await services.study.answer(world.m1, slot_id, going=True)
    mine = await services.study.mine(world.m2)
    assert [m.session.slot.id for m in mine] == [slot_id]
    assert mine[0].signup is not None and mine[0].signup.status is SignupStatus.EXCUSED


async def test_reminders_go_to_those_attending_and_unanswered_only(
    services: Services, world: World, clock: ManualClock
) -> None:
    (session,) = await services.study.schedule(world.coordinator, _draft())
    slot_id = session.slot.id
    await services.study.answer(world.m1, slot_id, going=True)
    await services.study.answer(world.m2, slot_id, going=False, reason="出差")
    # The day before, 19:00 in Shanghai (outside quiet hours).
    _set(clock, (START - timedelta(days=1)).astimezone(UTC) + timedelta(seconds=5))
    await services.reminders.run_due()
    assert (await outbox_kinds(services, world.m1.id)).count("study.reminder") == 1
    assert (await outbox_kinds(services, world.m3.id)).count("study.reminder") == 1  # unanswered
    assert "study.reminder" not in await outbox_kinds(services, world.m2.id)
    assert "study.reminder" not in await outbox_kinds(services, world.resident.id)
    _set(clock, (START - timedelta(hours=1)).astimezone(UTC) + timedelta(seconds=5))
    await services.reminders.run_due()
    await services.reminders.run_due()
    assert (await outbox_kinds(services, world.m1.id)).count("study.reminder") == 2
    assert "study.reminder" not in await outbox_kinds(services, world.m2.id)


async def test_a_reminder_of_a_cancelled_session_does_nothing(
    services: Services, world: World, clock: ManualClock
) -> None:
    (session,) = await services.study.schedule(world.coordinator, _draft())
    slot_id = session.slot.id
    await services.study.answer(world.m1, slot_id, going=True)
    await services.study.answer(world.m2, slot_id, going=False, reason="出差")
    cancelled = await services.study.cancel(world.coordinator, slot_id)
    assert not cancelled.slot.open
    assert "study.cancelled" in await outbox_kinds(services, world.m1.id)
    assert "study.cancelled" not in await outbox_kinds(services, world.m2.id)
    # Even a reminder row left behind (cancelled after it was claimed) finds nothing to do.
    async with services.store.transaction() as conn:
        await services.reminders.schedule(
            conn,
            subject="slot:x",
            kind="study.remind",
            due_at=NOW + timedelta(minutes=1),
            payload={"slot_id": slot_id, "stage": "hour"},
        )
    _set(clock, (START - timedelta(hours=1)).astimezone(UTC))
    await services.reminders.run_due()
    assert "study.reminder" not in await outbox_kinds(services, world.m1.id)
    with pytest.raises(SessionOver):
        await services.study.cancel(world.coordinator, slot_id)


async def test_check_in_with_the_right_code_credits_once(
    services: Services, world: World, clock: ManualClock
) -> None:
    (session,) = await services.study.schedule(world.coordinator, _draft())
    slot_id = session.slot.id
    code = await _code(services, world, slot_id)
    _set(clock, START.astimezone(UTC) + timedelta(minutes=5))
    signup, points = await services.study.check_in(world.m1, slot_id, code)
    assert signup.checked_in_at is not None and points > 0
    with pytest.raises(AlreadyCheckedIn):
        await services.study.check_in(world.m1, slot_id, code)
    assert await _credits(services, slot_id) == 1
    # /attend with the code finds the session; full-width digits are forgiven.
    wide = "".join(chr(ord(c) + 0xFEE0) for c in code)
    found, _signup, _points = await services.study.check_in_by_code(world.m2, wide)
    assert found.slot.id == slot_id
    assert await _credits(services, slot_id) == 2
    async with services.store.read() as conn:
        query = select(func.count()).where(
            ledger_entries.c.kind == LedgerKind.STUDY.value, ledger_entries.c.member_id == 201
        )
        assert await conn.scalar(query) == 1


async def test_wrong_early_and_late_codes_are_refused(
    services: Services, world: World, clock: ManualClock
) -> None:
    (session,) = await services.study.schedule(world.coordinator, _draft())
    slot_id = session.slot.id
    code = await _code(services, world, slot_id)
    _set(clock, START.astimezone(UTC) - timedelta(minutes=31))
    with pytest.raises(OutsideWindow) as early:
        await services.study.check_in(world.m1, slot_id, code)
    assert early.value.values == {"opens": "12-03 18:30", "closes": "12-03 21:30"}
    _set(clock, START.astimezone(UTC))
    wrong = "0000" if code != "0000" else "1111"
    with pytest.raises(WrongCode) as refused:
        await services.study.check_in(world.m1, slot_id, wrong)
    assert refused.value.values == {"left": MAX_WRONG_TRIES - 1}
    _set(clock, END.astimezone(UTC) + timedelta(minutes=31))
    with pytest.raises(OutsideWindow):
        await services.study.check_in(world.m1, slot_id, code)
    with pytest.raises(OutsideWindow):  # /attend with the code: its window is named
        await services.study.check_in_by_code(world.m1, code)
    with pytest.raises(NoSessionNow):
        await services.study.check_in_by_code(world.m1, wrong)
    assert await _credits(services, slot_id) == 0


async def test_too_many_wrong_codes_close_check_in_to_that_person(
    services: Services, world: World, clock: ManualClock
) -> None:
    (session,) = await services.study.schedule(world.coordinator, _draft())
    slot_id = session.slot.id
    code = await _code(services, world, slot_id)
    wrong = "0000" if code != "0000" else "1111"
    _set(clock, START.astimezone(UTC))
    for _ in range(MAX_WRONG_TRIES - 1):
        with pytest.raises(WrongCode):
            await services.study.check_in(world.m1, slot_id, wrong)
    with pytest.raises(TooManyTries):
        await services.study.check_in(world.m1, slot_id, wrong)
    with pytest.raises(TooManyTries):
        await services.study.check_in(world.m1, slot_id, code)
    await services.study.check_in(world.m2, slot_id, code)  # the others are not held
    assert await _credits(services, slot_id) == 1


async def test_someone_outside_the_audience_cannot_check_in(
    services: Services, world: World, clock: ManualClock
) -> None:
    (session,) = await services.study.schedule(
        world.coordinator, _draft(audience=StudyAudience.BUILDING, building_id=world.a)
    )
    code = await _code(services, world, session.slot.id)
    _set(clock, START.astimezone(UTC))
    for outsider in (world.m3, world.resident):
        with pytest.raises(NoSuchSession):
            await services.study.check_in(outsider, session.slot.id, code)
        with pytest.raises(NoSessionNow):
            await services.study.check_in_by_code(outsider, code)


async def test_a_monthly_theme_day_on_the_31st_clamps_to_the_months_end(
    services: Services, world: World, clock: ManualClock
) -> None:
    start = datetime(2026, 12, 31, 9, 0, tzinfo=SHANGHAI)
    sessions = await services.study.schedule(
        world.coordinator,
        _draft(
            title="主题党日",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            recurrence=Recurrence.MONTHLY,
        ),
    )
    days = [s.slot.starts_at.astimezone(SHANGHAI) for s in sessions]
    assert len(days) == 12
    assert [(d.month, d.day, d.hour) for d in days[:4]] == [
        (12, 31, 9),
        (1, 31, 9),
        (2, 28, 9),
        (3, 31, 9),
    ]
    assert len({s.slot.series_id for s in sessions}) == 1
    # Announced once now (the first), each later one a week before it.
    assert (await outbox_kinds(services, world.m1.id)).count("study.announced") == 1
    async with services.store.read() as conn:
        query = select(func.count()).where(reminders.c.kind == "study.announce")
        assert await conn.scalar(query) == 11


async def test_attendance_per_session_and_per_member(
    services: Services, world: World, clock: ManualClock
) -> None:
    (session,) = await services.study.schedule(world.coordinator, _draft())
    slot_id = session.slot.id
    code = await _code(services, world, slot_id)
    await services.study.answer(world.m2, slot_id, going=False, reason="出差")
    await services.study.answer(world.m3, slot_id, going=True)
    _set(clock, START.astimezone(UTC))
    await services.study.check_in(world.m1, slot_id, code)
    roll = await services.study.roll(world.coordinator, slot_id)
    assert roll.attended == ["王党员"] and roll.excused == [("赵党员", "出差")]
    assert roll.going == ["钱党员"] and roll.absent == 1
    _set(clock, END.astimezone(UTC) + timedelta(hours=1))
    report = await services.study.attendance(
        world.coordinator, NOW, NOW + timedelta(days=7), community_id=world.m1.community_id
    )
    counts = report.sessions[slot_id]
    assert (counts.attended, counts.excused, counts.absent) == (1, 1, 1)
    assert report.members[201].attended == 1
    assert report.members[202].excused == 1
    assert report.members[203].absent == 1
    in_a = await services.study.attendance(
        world.coordinator, NOW, NOW + timedelta(days=7), building_id=world.a
    )
    assert in_a.sessions[slot_id].expected == 2 and 203 not in in_a.members
    with pytest.raises(NotAllowed):
        await services.study.attendance(world.m1, NOW, NOW + timedelta(days=7))


async def test_a_broadcast_to_a_study_session_reaches_its_audience(
    services: Services, world: World
) -> None:
    (session,) = await services.study.schedule(
        world.coordinator, _draft(audience=StudyAudience.BUILDING, building_id=world.a)
    )
    draft = await services.broadcasts.create_draft(world.coordinator, text="请带好笔记本")
    chosen = await services.broadcasts.choose_audience(
        world.coordinator, draft.broadcast.id, AudienceKind.SESSION, session.slot.id
    )
    assert chosen.recipients == 2 and chosen.audience_name == "小家庭党校"
    async with services.store.read() as conn:
        assert await study_repo.audience_ids(conn, session.slot.id) == [201, 202]


async def test_a_forged_session_id_beyond_32_bits_is_no_session(
    services: Services, world: World
) -> None:
    for forged in (2**31, 10**15 - 1):
        with pytest.raises(NoSuchSession):
            await services.study.session(world.m1, forged)
        with pytest.raises(NoSuchSession):
            await services.study.answer(world.m1, forged, going=True)
        with pytest.raises(NoSuchSession):
            await services.study.code(world.coordinator, forged)


async def test_concurrent_wrong_codes_cannot_pass_the_cap(
    services: Services, world: World, clock: ManualClock
) -> None:
    (session,) = await services.study.schedule(world.coordinator, _draft())
    slot_id = session.slot.id
    code = await _code(services, world, slot_id)
    _set(clock, START.astimezone(UTC))
    guesses = [f"{n:04d}" for n in range(40) if f"{n:04d}" != code]
    results = await asyncio.gather(
        *(services.study.check_in(world.m1, slot_id, g) for g in guesses),
        return_exceptions=True,
    )
    wrong = [r for r in results if isinstance(r, WrongCode)]
    assert len(wrong) == MAX_WRONG_TRIES - 1
    assert all(isinstance(r, WrongCode | TooManyTries) for r in results)
    async with services.store.read() as conn:
        assert await study_repo.wrong_tries(conn, slot_id, world.m1.id) == MAX_WRONG_TRIES
    with pytest.raises(TooManyTries):
        await services.study.check_in(world.m1, slot_id, code)


async def test_attend_before_the_window_does_not_tell_whether_the_code_is_right(
    services: Services, world: World, clock: ManualClock
) -> None:
    (session,) = await services.study.schedule(world.coordinator, _draft())
    code = await _code(services, world, session.slot.id)
    wrong = "0000" if code != "0000" else "1111"
    _set(clock, START.astimezone(UTC) - timedelta(hours=3))
    answers = []
    for typed in (code, wrong):
        with pytest.raises((OutsideWindow, NoSessionNow)) as refused:
            await services.study.check_in_by_code(world.m1, typed)
        answers.append((type(refused.value), refused.value.values))
    assert answers[0] == answers[1]  # the same answer: no way to try codes a day early


async def test_an_announcement_held_past_the_start_is_not_sent(
    services: Services, world: World, clock: ManualClock
) -> None:
    from handlers.notices import ViewEnv
    from handlers.study.views import announced, reminded

    (session,) = await services.study.schedule(world.coordinator, _draft())
    place = {"community_id": session.slot.community_id, "slot_id": session.slot.id}
    env = ViewEnv(services=services, language="zh")
    assert await announced(SessionAnnounced(**place), env) is not None
    # Held for quiet hours (or the bot down) until after the start: stale, not sent.
    _set(clock, START.astimezone(UTC) + timedelta(minutes=1))
    assert await announced(SessionAnnounced(**place), env) is None
    assert await reminded(SessionReminder(stage=Stage.HOUR, **place), env) is None


async def test_attend_cannot_try_codes_uncounted_on_a_second_session_open_at_once(
    services: Services, world: World, clock: ManualClock
) -> None:
    (first,) = await services.study.schedule(world.coordinator, _draft())
    (second,) = await services.study.schedule(
        world.coordinator, _draft(title="主题党日", audience=StudyAudience.EVERYONE)
    )
    right = await _code(services, world, second.slot.id)
    codes = {await _code(services, world, first.slot.id), right}
    wrong = [f"{n:04d}" for n in range(20) if f"{n:04d}" not in codes]
    _set(clock, START.astimezone(UTC))
    for guess in wrong[:MAX_WRONG_TRIES]:  # the first session's tries used up
        with pytest.raises((WrongCode, TooManyTries)):
            await services.study.check_in(world.m1, first.slot.id, guess)
    for guess in wrong[MAX_WRONG_TRIES:]:  # /attend: each guess is a try on the second too
        with pytest.raises((WrongCode, TooManyTries)):
            await services.study.check_in_by_code(world.m1, guess)
    with pytest.raises(TooManyTries):
        await services.study.check_in_by_code(world.m1, right)
    assert await _credits(services, second.slot.id) == 0
    # Someone with tries left finds the right session among the two.
    found, _signup, _points = await services.study.check_in_by_code(world.m2, right)
    assert found.slot.id == second.slot.id
