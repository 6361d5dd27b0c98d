"""The handshake at the door through the real services: every claim gives a fresh code only the
resident reads; the right code makes the wish done and confirmed at once and credits once,
however often it comes; wrong codes are counted and lock the code after five, telling the
coordinators (never the code); a wish posted for a neighbour has none."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.models import LedgerKind, Role, User, Wish, WishCategory, WishEventKind, WishStatus
from bot.services import Services
from bot.services.errors import InvalidInput
from bot.services.wishes import HANDSHAKE_TRIES, HandshakeOutcome, WishDraft
from bot.services.wishes.handshake import HANDSHAKE_NOTE, fresh_code
from bot.services.wishes.rules import AlreadyConfirmed, NoHandshake, NotYourTask
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


async def test_the_right_code_confirms_at_once_and_credits_once(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)

    done = await services.wishes.done_with_code(helper, wish_id, f" {code} ", note="换好了")
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

    # Again (a retry, a restart in between), and the resident's own confirmation after it.
    again = await services.wishes.done_with_code(helper, wish_id, code, note=None)
    assert again.outcome is HandshakeOutcome.ALREADY
    with pytest.raises(AlreadyConfirmed):
        await services.wishes.confirm(resident, wish_id)
    assert await _wish_points(services, helper.id) == [10]
    # Rating after it works as after the resident's confirmation.
    await services.wishes.rate(resident, wish_id, 5)


async def test_the_code_typed_twice_at_once_confirms_once(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)

    both = await asyncio.gather(
        *(services.wishes.done_with_code(helper, wish_id, code, note=None) for _ in range(2))
    )
    outcomes = sorted(result.outcome for result in both)
    assert outcomes == sorted([HandshakeOutcome.CONFIRMED, HandshakeOutcome.ALREADY])
    assert await _wish_points(services, helper.id) == [10]
    assert await _queued(services, "wish.confirmed_by_code") == [resident.id]


async def test_five_wrong_codes_lock_it_and_tell_the_coordinators(
    services: Services, register: RegisterUser
) -> None:
    resident = await register(1, "王奶奶")
    helper = await _member(services, register, 10, "小赵")
    await register(COORDINATOR_ID, "李书记")
    wish_id = await _claimed(services, resident, helper)
    code = await _code(services, wish_id)

    with pytest.raises(InvalidInput):  # not a code at all: not counted
        await services.wishes.done_with_code(helper, wish_id, "12a4", note=None)
    left = []
    for _ in range(HANDSHAKE_TRIES):
        result = await services.wishes.done_with_code(helper, wish_id, _wrong(code), note=None)
        left.append((result.outcome, result.tries_left))
    wrong = HandshakeOutcome.WRONG
    assert left == [(wrong, 4), (wrong, 3), (wrong, 2), (wrong, 1), (HandshakeOutcome.LOCKED, 0)]
    assert await _queued(services, "wish.handshake_locked") == [COORDINATOR_ID]

    # Locked: even the right code no longer works, nobody is told twice, nobody reads it.
    late = await services.wishes.done_with_code(helper, wish_id, code, note=None)
    assert late.outcome is HandshakeOutcome.LOCKED
    assert await _queued(services, "wish.handshake_locked") == [COORDINATOR_ID]
    assert not await services.wishes.takes_code(helper, wish_id)
    assert await services.wishes.handshake_code(resident, wish_id) is None
    assert (await services.wishes.view(helper, wish_id)).status == WishStatus.CLAIMED

    # The resident's own confirmation works as before.
    await services.wishes.report_done(helper, wish_id, note=None)
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
    await services.wishes.done_with_code(helper, wish_id, _wrong(first), note=None)

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
    # The former helper can no longer give any code; the new one can.
    with pytest.raises(NotYourTask):
        await services.wishes.takes_code(helper, wish_id)
    assert await services.wishes.takes_code(other, wish_id)
    result = await services.wishes.done_with_code(other, wish_id, handed.code, note=None)
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
        result = await services.wishes.done_with_code(helper, wish_id, _wrong(code), note=None)
        outcomes.append(result.outcome.value)
        await services.wishes.release(helper, wish_id, "再试一次")
        await services.wishes.claim(helper, wish_id)
    assert outcomes == ["wrong", "wrong", "wrong", "wrong", "locked"]
    assert not await services.wishes.takes_code(helper, wish_id)
    assert await services.wishes.handshake_code(resident, wish_id) is None
    assert await _queued(services, "wish.handshake_locked") == [COORDINATOR_ID]


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
    assert not await services.wishes.takes_code(helper, wish.id)
    assert (await services.wishes.card(poster, wish.id)).handshake_code is None
    with pytest.raises(NoHandshake):
        await services.wishes.done_with_code(helper, wish.id, "1234", note=None)
