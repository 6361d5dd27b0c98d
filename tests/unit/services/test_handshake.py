"""The handshake at the door through the real services: every claim gives a fresh code only the
resident reads; the work is reported done first, with the resident's "please confirm?" waiting
a grace for the code; the right code confirms the wish at once and credits once, however often
it comes (also typed as the done note); wrong codes are counted and lock the code after five,
telling the coordinators (never the code) and asking the resident now; a wish posted for a
neighbour has none."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.models import LedgerKind, Role, User, Wish, WishCategory, WishEventKind, WishStatus
from bot.services import Services
from bot.services.errors import InvalidInput
from bot.services.wishes import HANDSHAKE_TRIES, HandshakeOutcome, HandshakeResult, WishDraft
from bot.services.wishes.handshake import HANDSHAKE_NOTE, fresh_code
from bot.services.wishes.rules import (
    HANDSHAKE_GRACE,
    AlreadyConfirmed,
    NoHandshake,
    NotYourTask,
    WishChanged,
)
from storage import ledger as ledger_repo
from storage import users as users_repo
from storage import wishes as repo
from storage.schema import outbox
from tests.conftest import COORDINATOR_ID, RegisterUser


async def _member(services: Services, register: RegisterUser, uid: int, name: str) -> User:
    await register(uid, name)
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, uid, Role.MEMBER, None, services.clock.now())
    return await services.users.require(uid)


async def _claimed(services: Services, resident: User, helper: User) -> int:
    draft = WishDraft(category=WishCategory.REPAIRS, text="换灯泡")
    wish = await services.wishes.post(resident, draft)
    await services.wishes.claim(helper, wish.id)
    return wish.id


async def _code(services: Services, wish_id: int) -> str:
    async with services.store.read() as conn:
        found = await repo.handshake_of(conn, wish_id)
    assert found is not None and found.code is not None
    return found.code


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10000:04d}"


async def _wish_points(services: Services, member_id: int) -> list[int]:
    async with services.store.read() as conn:
        entries = await ledger_repo.entries_of(conn, member_id, before=None, limit=50)
    return [e.points for e in entries if e.kind is LedgerKind.WISH]


async def _queued(services: Services, kind: str) -> list[int]:
    async with services.store.read() as conn:
        return list(await conn.scalars(select(outbox.c.chat_id).where(outbox.c.kind == kind)))


async def _asked(services: Services) -> list[tuple[int, timedelta]]:
    """Each "done, please confirm?" queued: to whom, and how long after now it may leave."""
    query = select(outbox.c.chat_id, outbox.c.not_before).where(
        outbox.c.kind == "wish.reported_done"
    )
    async with services.store.read() as conn:
        rows = (await conn.execute(query.order_by(outbox.c.id))).all()
    return [(chat, when - services.clock.now()) for chat, when in rows]


async def _reported(services: Services, helper: User, wish_id: int, note: str | None) -> Wish:
    """Reported done by the helper; the code may follow."""
    result = await services.wishes.report_done_first(helper, wish_id, note=note)
    assert result.outcome is HandshakeOutcome.CODE_NEXT
    return result.wish


def test_codes_are_four_random_digits_and_none_for_a_neighbours_wish() -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    wish = Wish(
        id=7,
        community_id=1,
        building_id=None,
        posted_by=1,
        category=WishCategory.REPAIRS,
        status=WishStatus.OPEN,
        created_at=now,
    )
    codes = {fresh_code(wish) for _ in range(200)}
    assert all(c is not None and len(c) == 4 and c.isdigit() for c in codes)
    assert len(codes) > 100  # random, not derived from the wish
    assert fresh_code(wish.model_copy(update={"for_name": "张大爷"})) is None
    assert "handshake_code" not in Wish.model_fields  # never travels with the wish


async def test_only_the_resident_reads_the_code(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)

    assert (await services.wishes.card(resident, wish_id)).handshake_code == code
    assert await services.wishes.handshake_code(resident, wish_id) == code
    for other in (helper, coordinator):
        assert (await services.wishes.card(other, wish_id)).handshake_code is None
        assert await services.wishes.handshake_code(other, wish_id) is None
    wish = await services.wishes.view(helper, wish_id)
    assert code not in wish.model_dump_json()
    assert code not in repr(await services.wishes.card(resident, wish_id))


async def test_reported_done_first_and_the_resident_asked_after_the_grace(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _claimed(services, resident, helper)

    done = await _reported(services, helper, wish_id, "换好了")
    # Walking away now loses nothing: done with the note, the resident asked after the grace.
    assert done.status == WishStatus.DONE and done.done_note == "换好了"
    assert await _asked(services) == [(resident.id, HANDSHAKE_GRACE)]
    assert await services.wishes.awaits_confirmation(done)
    assert await _wish_points(services, helper.id) == []
    # The code still works at the door, and the resident still reads it.
    assert await services.wishes.handshake_code(resident, wish_id) is not None
    # The resident's own confirmation (during the grace or after it) works as before.
    await services.wishes.confirm(resident, wish_id)
    assert not await services.wishes.awaits_confirmation(done)
    assert await _wish_points(services, helper.id) == [10]
    late = await services.wishes.done_with_code(helper, wish_id, await _code(services, wish_id))
    assert late.outcome is HandshakeOutcome.ALREADY
    assert await _wish_points(services, helper.id) == [10]
    assert await _queued(services, "wish.confirmed_by_code") == []


async def test_the_right_code_confirms_at_once_and_credits_once(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)
    reported = await _reported(services, helper, wish_id, "换好了")

    done = await services.wishes.done_with_code(helper, wish_id, f" {code} ")
    assert done.outcome is HandshakeOutcome.CONFIRMED
    assert done.wish.status == WishStatus.CONFIRMED and done.wish.done_note == "换好了"
    events = await services.wishes.history(helper, wish_id)
    assert [(e.kind, e.actor_id, e.note) for e in events[-2:]] == [
        (WishEventKind.DONE, helper.id, "换好了"),
        (WishEventKind.CONFIRMED, helper.id, HANDSHAKE_NOTE),
    ]
    assert all(code not in (e.note or "") for e in events)
    assert await _wish_points(services, helper.id) == [10]
    assert await _queued(services, "wish.confirmed_by_code") == [resident.id]
    # The waiting "please confirm?" is dropped as it leaves: nothing waits for it any more.
    assert not await services.wishes.awaits_confirmation(reported)
    assert await services.wishes.handshake_code(resident, wish_id) is None

    # Again (a retry, a restart in between), and the resident's own confirmation after it.
    again = await services.wishes.done_with_code(helper, wish_id, code)
    assert again.outcome is HandshakeOutcome.ALREADY
    with pytest.raises(AlreadyConfirmed):
        await services.wishes.confirm(resident, wish_id)
    assert (await services.wishes.ask_resident_now(helper, wish_id)).status == (
        WishStatus.CONFIRMED
    )
    assert await _wish_points(services, helper.id) == [10]
    # Rating after it works as after the resident's confirmation.
    await services.wishes.rate(resident, wish_id, 5)


async def test_the_code_typed_as_the_note_confirms_and_is_never_kept(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)

    result = await services.wishes.report_done_first(helper, wish_id, note=f"{code} ")
    assert result.outcome is HandshakeOutcome.CONFIRMED
    assert result.wish.status == WishStatus.CONFIRMED and result.wish.done_note is None
    events = await services.wishes.history(helper, wish_id)
    assert [(e.kind, e.note) for e in events[-2:]] == [
        (WishEventKind.DONE, None),
        (WishEventKind.CONFIRMED, HANDSHAKE_NOTE),
    ]
    assert await _wish_points(services, helper.id) == [10]
    assert await _queued(services, "wish.confirmed_by_code") == [resident.id]


async def test_a_wrong_code_typed_as_the_note_is_counted_and_never_kept(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)

    result = await services.wishes.report_done_first(helper, wish_id, note=_wrong(code))
    assert (result.outcome, result.tries_left) == (HandshakeOutcome.WRONG, HANDSHAKE_TRIES - 1)
    assert result.wish.status == WishStatus.DONE and result.wish.done_note is None
    assert await _asked(services) == [(resident.id, HANDSHAKE_GRACE)]
    right = await services.wishes.done_with_code(helper, wish_id, code)
    assert right.outcome is HandshakeOutcome.CONFIRMED
    assert await _wish_points(services, helper.id) == [10]


async def test_no_code_asks_the_resident_now_once(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _claimed(services, resident, helper)
    await _reported(services, helper, wish_id, "换好了")

    asked = await services.wishes.ask_resident_now(helper, wish_id)
    assert asked.status == WishStatus.DONE
    assert await _asked(services) == [(resident.id, timedelta(0))]
    services.clock.advance(minutes=1)
    await services.wishes.ask_resident_now(helper, wish_id)  # pressed again: still one
    assert await _asked(services) == [(resident.id, timedelta(minutes=-1))]
    await services.wishes.confirm(resident, wish_id)
    assert await _wish_points(services, helper.id) == [10]


async def test_a_wish_sent_back_in_the_grace_takes_no_code(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)
    reported = await _reported(services, helper, wish_id, "换好了")

    await services.wishes.not_done(resident, wish_id, "灯还是不亮")
    assert not await services.wishes.awaits_confirmation(reported)
    with pytest.raises(WishChanged):
        await services.wishes.done_with_code(helper, wish_id, code)
    with pytest.raises(WishChanged):
        await services.wishes.ask_resident_now(helper, wish_id)
    # Reported again, the code confirms this report.
    await _reported(services, helper, wish_id, "换了新灯泡")
    result = await services.wishes.done_with_code(helper, wish_id, code)
    assert result.outcome is HandshakeOutcome.CONFIRMED
    assert await _wish_points(services, helper.id) == [10]


async def test_the_code_typed_twice_at_once_confirms_once(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)
    await _reported(services, helper, wish_id, None)

    both = await asyncio.gather(
        *(services.wishes.done_with_code(helper, wish_id, code) for _ in range(2))
    )
    outcomes = sorted(result.outcome for result in both)
    assert outcomes == sorted([HandshakeOutcome.CONFIRMED, HandshakeOutcome.ALREADY])
    assert await _wish_points(services, helper.id) == [10]
    assert await _queued(services, "wish.confirmed_by_code") == [resident.id]


async def test_the_code_and_the_residents_confirmation_at_once_credit_once(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)
    await _reported(services, helper, wish_id, None)

    both = await asyncio.gather(
        services.wishes.done_with_code(helper, wish_id, code),
        services.wishes.confirm(resident, wish_id),
        return_exceptions=True,
    )
    by_code, by_resident = both
    # Exactly one of them confirmed it; the other was told it is confirmed already.
    assert isinstance(by_code, HandshakeResult), both
    assert isinstance(by_resident, Wish | AlreadyConfirmed), both
    if isinstance(by_resident, Wish):
        assert by_code.outcome is HandshakeOutcome.ALREADY
    else:
        assert by_code.outcome is HandshakeOutcome.CONFIRMED
    assert await _wish_points(services, helper.id) == [10]


async def test_five_wrong_codes_lock_it_and_tell_the_coordinators(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    await register(COORDINATOR_ID, "李书记")
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)
    await _reported(services, helper, wish_id, None)

    with pytest.raises(InvalidInput):  # not a code at all: not counted
        await services.wishes.done_with_code(helper, wish_id, "12a4")
    left = []
    for _ in range(HANDSHAKE_TRIES):
        result = await services.wishes.done_with_code(helper, wish_id, _wrong(code))
        left.append((result.outcome, result.tries_left))
    wrong = HandshakeOutcome.WRONG
    assert left == [(wrong, 4), (wrong, 3), (wrong, 2), (wrong, 1), (HandshakeOutcome.LOCKED, 0)]
    assert await _queued(services, "wish.handshake_locked") == [COORDINATOR_ID]
    # No grace left to wait for: the resident is asked now.
    assert await _asked(services) == [(resident.id, timedelta(0))]

    # Locked: even the right code no longer works, nobody is told twice, nobody reads it.
    late = await services.wishes.done_with_code(helper, wish_id, code)
    assert late.outcome is HandshakeOutcome.LOCKED
    assert await _queued(services, "wish.handshake_locked") == [COORDINATOR_ID]
    assert await services.wishes.handshake_code(resident, wish_id) is None
    assert (await services.wishes.view(helper, wish_id)).status == WishStatus.DONE
    assert await _wish_points(services, helper.id) == []

    # The resident's own confirmation works as before.
    await services.wishes.confirm(resident, wish_id)
    assert await _wish_points(services, helper.id) == [10]


async def test_each_claim_starts_a_new_handshake(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    other = await _member(services, register, 11, "小钱")
    await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    wish_id = await _claimed(services, resident, helper)
    first = await _code(services, wish_id)
    await _reported(services, helper, wish_id, None)
    await services.wishes.done_with_code(helper, wish_id, _wrong(first))
    await services.wishes.not_done(resident, wish_id, "还没好")

    await services.wishes.release(helper, wish_id, "有事")
    async with services.store.read() as conn:
        released = await repo.handshake_of(conn, wish_id)
    assert released is not None and released.code is None  # no code while nobody has it

    # A new code, but the wrong tries are the wish's: giving it back buys no more guesses.
    await services.wishes.claim(helper, wish_id)
    async with services.store.read() as conn:
        again = await repo.handshake_of(conn, wish_id)
    assert again is not None and again.code is not None and again.tries == 1

    await services.wishes.reassign(coordinator, wish_id, other.id)
    async with services.store.read() as conn:
        handed = await repo.handshake_of(conn, wish_id)
    assert handed is not None and handed.code is not None and handed.tries == 1
    # The former helper can no longer report it done nor give any code; the new one can.
    with pytest.raises(NotYourTask):
        await services.wishes.report_done_first(helper, wish_id, note=None)
    await _reported(services, other, wish_id, None)
    with pytest.raises(NotYourTask):
        await services.wishes.done_with_code(helper, wish_id, handed.code)
    result = await services.wishes.done_with_code(other, wish_id, handed.code)
    assert result.outcome is HandshakeOutcome.CONFIRMED
    assert await _wish_points(services, other.id) == [10]
    assert await _wish_points(services, helper.id) == []


async def test_giving_a_wish_back_buys_no_more_guesses(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    await register(COORDINATOR_ID, "李书记")
    wish_id = await _claimed(services, resident, helper)
    outcomes = []
    for _ in range(HANDSHAKE_TRIES):  # a wrong code, then give it back and take it again
        code = await _code(services, wish_id)
        result = await services.wishes.report_done_first(helper, wish_id, note=_wrong(code))
        outcomes.append(result.outcome.value)
        await services.wishes.not_done(resident, wish_id, "还没好")
        await services.wishes.release(helper, wish_id, "再试一次")
        await services.wishes.claim(helper, wish_id)
    assert outcomes == ["wrong", "wrong", "wrong", "wrong", "locked"]
    assert await services.wishes.handshake_code(resident, wish_id) is None
    assert await _queued(services, "wish.handshake_locked") == [COORDINATOR_ID]
    # Locked for good: the next report asks the resident at once, with the note kept.
    code = await _code(services, wish_id)
    result = await services.wishes.report_done_first(helper, wish_id, note=code)
    assert result.outcome is HandshakeOutcome.REPORTED and result.wish.done_note == code


async def test_a_wish_for_a_neighbour_has_no_code(
    services: Services, register: RegisterUser
) -> None:
    poster = await _member(services, register, 11, "小钱")
    helper = await _member(services, register, 10, "小赵")
    draft = WishDraft(category=WishCategory.REPAIRS, text="换灯泡", for_name="张大爷")
    wish = await services.wishes.post(poster, draft)
    await services.wishes.claim(helper, wish.id)
    async with services.store.read() as conn:
        found = await repo.handshake_of(conn, wish.id)
    assert found is not None and found.code is None
    assert (await services.wishes.card(poster, wish.id)).handshake_code is None
    # Four digits are just a note here, and whoever posted it is asked at once.
    result = await services.wishes.report_done_first(helper, wish.id, note="1234")
    assert result.outcome is HandshakeOutcome.REPORTED and result.wish.done_note == "1234"
    assert await _asked(services) == [(poster.id, timedelta(0))]
    with pytest.raises(NoHandshake):
        await services.wishes.done_with_code(helper, wish.id, "1234")
