"""Wishes through the real services and SQLite: life cycle, rules, offers, teams, reminders."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import Bot

from bot.clock import ManualClock
from bot.config import Settings
from bot.models import (
    Building,
    Role,
    Skill,
    TeamKind,
    User,
    Wish,
    WishCategory,
    WishEventKind,
    WishParticipant,
    WishStatus,
)
from bot.runtime.http import sender_request
from bot.runtime.outbox import OutboxSender
from bot.runtime.scheduler import tell_stale
from bot.services import Services
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.wishes import (
    PAGE_SIZE,
    MembersOnly,
    NotInTeam,
    NotYourTask,
    NotYourWish,
    OwnWish,
    PosterTakesNoPart,
    TooManyClaims,
    TooManyOpenWishes,
    WishChanged,
    WishClosed,
    WishDraft,
    WishFilter,
    WishTaken,
    categories_for,
    needed_by_choice,
    parse_needed_by,
    quiet_until,
)
from bot.services.wishes.notices import URGENT_ALERT_STALE
from handlers.notices import render
from handlers.wishes.buttons import ClaimWish, ConfirmDone, ReportDone, RepostWish, ShowWish
from storage import org
from storage import outbox as outbox_repo
from storage import users as users_repo
from storage.schema import audit_log, wish_events, wishes
from storage.store import Store
from tests.conftest import COORDINATOR_ID, RegisterUser, make_settings
from tests.support.fake_bot_api import FakeBotApi
from tests.support.rendering import outbox_rows

# 10:00 in Shanghai: outside everyone's default quiet hours (22:00–07:00).
MORNING = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MORNING)


Member = Callable[..., Awaitable[User]]


@pytest.fixture
async def buildings(services: Services) -> list[Building]:
    async with services.store.transaction() as conn:
        return [
            await org.add_building(conn, services.default_community_id, name, MORNING)
            for name in ("1号楼", "2号楼")
        ]


@pytest.fixture
def member(services: Services, register: RegisterUser) -> Member:
    """A registered member with skills: `await member(10, "Zhao", {Skill.REPAIRS}, bld)`."""

    async def _member(
        user_id: int,
        name: str = "Member",
        skills: set[Skill] | None = None,
        building_id: int | None = None,
        *,
        language: str = "zh",
    ) -> User:
        await register(user_id, name, building_id=building_id, language=language)
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, user_id, Role.MEMBER, None, MORNING)
            await users_repo.set_skills(conn, user_id, skills or {Skill.OTHER})
        return await services.users.require(user_id)

    return _member


async def event_kinds(store: Store, wish_id: int) -> list[str]:
    query = select(wish_events.c.kind).where(wish_events.c.wish_id == wish_id)
    async with store.read() as conn:
        return list((await conn.scalars(query.order_by(wish_events.c.id))).all())


def draft(text: str = "请帮我换个灯泡", **kw: Any) -> WishDraft:
    return WishDraft(category=kw.pop("category", WishCategory.REPAIRS), text=text, **kw)


async def resident_of(register: RegisterUser, building: Building, user_id: int = 1) -> User:
    user: User = await register(
        user_id, "王奶奶", building_id=building.id, room="3-201", phone="13800000001"
    )
    return user


# --- posting and offers --------------------------------------------------------------------


async def test_new_wish_is_offered_to_matching_members_same_building_first(
    services: Services, register: RegisterUser, member: Member, buildings: list[Building]
) -> None:
    b1, b2 = buildings
    resident = await resident_of(register, b1)
    await member(10, "Near fixer", {Skill.REPAIRS}, b1.id)
    await member(11, "Far fixer", {Skill.REPAIRS}, b2.id)
    await member(12, "Lawyer", {Skill.LEGAL}, b1.id)

    wish = await services.wishes.post(resident, draft())

    assert wish.status is WishStatus.OPEN and wish.building_id == b1.id
    offered = [r["chat_id"] for r in await outbox_rows(services) if r["chat_id"] != 1]
    assert offered == [10, 11]  # the same building first; the lawyer's skills do not match
    offer = (await outbox_rows(services, 10))[0]
    assert "13800000001" not in offer["text"] and "3-201" not in offer["text"]
    claim, details = ClaimWish(wish_id=wish.id).pack(), ShowWish(wish_id=wish.id).pack()
    assert [b[1] for b in offer["buttons"][0]] == [claim, details]
    assert await event_kinds(services.store, wish.id) == ["posted"]


async def test_offer_in_quiet_hours_waits_until_they_end(
    services: Services,
    clock: ManualClock,
    register: RegisterUser,
    member: Member,
    buildings: list[Building],
) -> None:
    resident = await resident_of(register, buildings[0])
    await member(10, "Fixer", {Skill.REPAIRS}, buildings[0].id)
    clock.current = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai

    await services.wishes.post(resident, draft())

    offer = (await outbox_rows(services, 10))[0]
    assert offer["not_before"] == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # 07:00 local


async def test_urgent_request_alerts_the_building_at_once_even_in_quiet_hours(
    services: Services,
    clock: ManualClock,
    register: RegisterUser,
    member: Member,
    buildings: list[Building],
) -> None:
    b1, b2 = buildings
    resident = await resident_of(register, b1)
    await member(10, "Neighbour", {Skill.LEGAL}, b1.id)  # any skill: it is urgent
    await member(11, "Far away", {Skill.REPAIRS}, b2.id)
    clock.current = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai

    await services.wishes.post(resident, draft("我摔倒了", urgent=True))

    rows = await outbox_rows(services)
    assert [r["chat_id"] for r in rows] == [10]
    assert rows[0]["not_before"] == clock.current


async def test_wall_post_goes_to_the_members_group(
    tmp_path: Any, store: Store, clock: ManualClock
) -> None:
    settings = make_settings(tmp_path, members_group_id=-100555)
    services = await Services.build(settings, store, clock)
    resident = await services.users.register(
        1, display_name="Wang", language="zh", building_id=None, room="9-9", phone="13800000009"
    )
    wish = await services.wishes.post(resident, draft())
    wall = await outbox_rows(services, -100555)
    assert len(wall) == 1 and wall[0]["dedupe_key"] == f"wish:{wish.id}:wall"
    assert "9-9" not in wall[0]["text"] and "13800000009" not in wall[0]["text"]
    member = await services.users.register(
        10, display_name="Zhao", language="zh", building_id=None
    )
    async with store.transaction() as conn:
        await users_repo.grant_role(conn, 10, Role.MEMBER, None, MORNING)
    await services.wishes.claim(await services.users.require(member.id), wish.id)
    # Not sent yet: no edit is queued; the waiting post shows the wish as it is when it leaves.
    (pending,) = await outbox_rows(services, -100555)
    assert "Zhao" in pending["text"] and pending["buttons"] is None


async def test_resident_can_have_only_so_many_wishes_in_progress(
    services: Services, register: RegisterUser, settings: Settings
) -> None:
    resident = await register(1, "Wang")
    for n in range(settings.max_open_wishes):
        await services.wishes.post(resident, draft(f"wish {n}"))
    with pytest.raises(TooManyOpenWishes) as refused:
        await services.wishes.post(resident, draft("one more"))
    assert refused.value.values == {"count": settings.max_open_wishes}
    with pytest.raises(TooManyOpenWishes):
        await services.wishes.check_can_post(resident)
    async with services.store.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(wishes)) == 5


@pytest.mark.parametrize("text", ["", "   ", "字" * 501, "x" * 5000])
async def test_empty_or_overlong_wish_is_refused_and_nothing_is_posted(
    services: Services, register: RegisterUser, text: str
) -> None:
    resident = await register(1, "Wang")
    with pytest.raises(InvalidInput):
        await services.wishes.post(resident, draft(text))
    async with services.store.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(wishes)) == 0
    assert await outbox_rows(services) == []


async def test_photo_or_voice_alone_is_a_wish(services: Services, register: RegisterUser) -> None:
    resident = await register(1, "Wang")
    voice = await services.wishes.post(resident, draft(text="", voice_file_id="VOICE-1"))
    photo = await services.wishes.post(resident, draft(text="", photo_file_id="PHOTO-1"))
    assert voice.voice_file_id == "VOICE-1" and voice.text is None
    assert photo.photo_file_id == "PHOTO-1"


async def test_needed_by_in_the_past_is_refused(
    services: Services, register: RegisterUser, clock: ManualClock
) -> None:
    resident = await register(1, "Wang")
    with pytest.raises(InvalidInput):
        await services.wishes.post(resident, draft(needed_by=clock.now() - timedelta(hours=1)))


# --- claiming ------------------------------------------------------------------------------


async def test_claim_gives_the_contact_to_the_claimer_and_coordinators_only(
    services: Services, register: RegisterUser, member: Member, buildings: list[Building]
) -> None:
    resident = await resident_of(register, buildings[0])
    coordinator = await register(COORDINATOR_ID, "Li")
    helper = await member(10, "Zhao")
    other = await member(11, "Qian")
    wish = await services.wishes.post(resident, draft())

    claimed = await services.wishes.claim(helper, wish.id)

    assert claimed.status is WishStatus.CLAIMED and claimed.claimed_by == 10
    assert claimed.claimer_name == "Zhao"
    contact = await services.wishes.contact(helper, wish.id)
    assert (contact.name, contact.room, contact.phone) == ("王奶奶", "3-201", "13800000001")
    assert (await services.wishes.contact(coordinator, wish.id)).phone == "13800000001"
    for stranger in (other, resident):
        with pytest.raises(NotYourTask):
            await services.wishes.contact(stranger, wish.id)
    told = await outbox_rows(services, 1)
    assert told and "Zhao" in told[-1]["text"]
    assert await event_kinds(services.store, wish.id) == ["posted", "claimed"]


async def test_bad_claims_are_refused_and_change_nothing(
    services: Services, register: RegisterUser, member: Member, settings: Settings
) -> None:
    resident = await register(1, "Wang")
    poster = await member(9, "Poster")
    winner = await member(10, "Zhao")
    late = await member(11, "Qian")
    open_wish = await services.wishes.post(resident, draft("a"))
    own = await services.wishes.post(poster, draft("mine"))
    cancelled = await services.wishes.post(resident, draft("b"))
    await services.wishes.cancel(resident, cancelled.id)
    await services.wishes.claim(winner, open_wish.id)

    with pytest.raises(MembersOnly):
        await services.wishes.claim(resident, own.id)
    with pytest.raises(OwnWish):
        await services.wishes.claim(poster, own.id)
    with pytest.raises(WishTaken) as taken:
        await services.wishes.claim(late, open_wish.id)
    assert taken.value.values == {"name": "Zhao"}
    with pytest.raises(WishClosed):
        await services.wishes.claim(late, cancelled.id)
    with pytest.raises(NotFound):
        await services.wishes.claim(late, 99999)
    assert (await services.wishes.view(winner, open_wish.id)).claimed_by == 10
    assert await event_kinds(services.store, cancelled.id) == ["posted", "cancelled"]


async def test_a_member_holds_at_most_the_configured_active_claims(
    services: Services, register: RegisterUser, member: Member, settings: Settings
) -> None:
    resident = await register(1, "Wang")
    helper = await member(10, "Zhao")
    posted = [await services.wishes.post(resident, draft(f"w{n}")) for n in range(4)]
    for wish in posted[: settings.max_active_claims]:
        await services.wishes.claim(helper, wish.id)
    with pytest.raises(TooManyClaims) as refused:
        await services.wishes.claim(helper, posted[-1].id)
    assert refused.value.values == {"count": settings.max_active_claims}
    assert (await services.wishes.view(helper, posted[-1].id)).status is WishStatus.OPEN
    # Giving one back makes room again: the limit counts claims in hand, not ever made.
    await services.wishes.release(helper, posted[0].id, "有事")
    assert (await services.wishes.claim(helper, posted[-1].id)).claimed_by == helper.id


async def test_the_claimed_wish_returned_is_the_wish_as_stored(
    services: Services, register: RegisterUser, member: Member
) -> None:
    """A claim answers with the wish as its UPDATE left it, without reading it back: it must
    be exactly what a later read finds, alone and for a team."""
    coordinator = await register(COORDINATOR_ID, "Li")
    resident = await register(1, "Wang")
    helper = await member(10, "Zhao")
    leader = await member(20, "Leader")
    team = await services.teams.create(
        coordinator, name="便民服务队", kind=TeamKind.DOMESTIC, leader_id=leader.id
    )
    team = await services.teams.add_member(coordinator, team.id, helper.id)
    alone = await services.wishes.post(resident, draft("alone"))
    for_team = await services.wishes.post(resident, draft("team"))
    assert await services.wishes.claim(helper, alone.id) == await services.wishes.view(
        helper, alone.id
    )
    claimed = await services.wishes.claim(helper, for_team.id, team_id=team.id)
    assert claimed == await services.wishes.view(helper, for_team.id)
    assert claimed.team_name == "便民服务队" and claimed.claimer_name == "Zhao"


async def test_hundred_members_claim_at_once_exactly_one_wins(
    services: Services, register: RegisterUser, member: Member
) -> None:
    resident = await register(1, "Wang")
    members = [await member(1000 + n, f"M{n}") for n in range(100)]
    wish = await services.wishes.post(resident, draft())

    started = time.perf_counter()
    results = await asyncio.gather(
        *(services.wishes.claim(m, wish.id) for m in members), return_exceptions=True
    )
    elapsed = time.perf_counter() - started

    wins = [r for r in results if isinstance(r, Wish)]
    refusals = [r for r in results if isinstance(r, WishTaken)]
    assert len(wins) == 1 and len(refusals) == 99, [
        r for r in results if not isinstance(r, (Wish, WishTaken))
    ]
    winner = wins[0].claimer_name
    assert all(r.values == {"name": winner} for r in refusals)
    assert await event_kinds(services.store, wish.id) == ["posted", "claimed"]
    print(f"100 simultaneous claims: 1 winner, 99 refusals in {elapsed * 1000:.0f} ms")


# --- doing, confirming, thanking -----------------------------------------------------------


async def test_done_confirm_rate_thank_credits_the_helper(
    services: Services, register: RegisterUser, member: Member
) -> None:
    resident = await register(1, "Wang")
    helper = await member(10, "Zhao")
    wish = await services.wishes.post(resident, draft())
    await services.wishes.claim(helper, wish.id)
    seen: list[tuple[int, list[int]]] = []

    async def listener(conn: AsyncConnection, done: Wish, who: list[WishParticipant]) -> None:
        assert done.status is WishStatus.CONFIRMED
        seen.append((done.id, [p.user_id for p in who]))

    services.wishes.on_confirmed(listener)

    done = await services.wishes.report_done(helper, wish.id, note="换好了", photo_file_id="P-9")
    assert done.status is WishStatus.DONE and done.done_note == "换好了"
    ask = (await outbox_rows(services, 1))[-1]
    assert ask["photo_file_id"] == "P-9" and ConfirmDone(wish_id=wish.id).pack() in str(
        ask["buttons"]
    )
    confirmed = await services.wishes.confirm(resident, wish.id)
    assert confirmed.status is WishStatus.CONFIRMED and confirmed.closed_at is not None
    assert seen == [(wish.id, [10])]
    assert [p.user_id for p in await services.wishes.participants(wish.id)] == [10]

    await services.wishes.rate(resident, wish.id, 5)
    with pytest.raises(Conflict):
        await services.wishes.rate(resident, wish.id, 1)
    await services.wishes.thank(resident, wish.id, "谢谢你，小赵！")
    with pytest.raises(Conflict):
        await services.wishes.thank(resident, wish.id, "again")
    texts = [r["text"] for r in await outbox_rows(services, 10)]
    assert any("谢谢你，小赵！" in t for t in texts) and any("★★★★★" in t for t in texts)
    assert await event_kinds(services.store, wish.id) == [
        "posted",
        "claimed",
        "done",
        "confirmed",
        "rated",
        "thanked",
    ]


async def test_not_done_goes_back_to_the_helper_with_the_residents_words(
    services: Services, register: RegisterUser, member: Member
) -> None:
    resident = await register(1, "Wang")
    helper = await member(10, "Zhao")
    wish = await services.wishes.post(resident, draft())
    await services.wishes.claim(helper, wish.id)
    await services.wishes.report_done(helper, wish.id, note=None)

    back = await services.wishes.not_done(resident, wish.id, "灯还是不亮 <b>")

    assert back.status is WishStatus.CLAIMED and back.done_at is None
    last = (await outbox_rows(services, 10))[-1]
    assert "灯还是不亮 &lt;b&gt;" in last["text"]  # the resident's words, escaped
    with pytest.raises(InvalidInput):
        await services.wishes.not_done(resident, wish.id, "")


async def test_voice_notes_for_done_not_done_and_thanks_reach_the_other_side_once(
    services: Services, register: RegisterUser, member: Member
) -> None:
    resident = await register(1, "Wang")
    helper = await member(10, "Zhao")
    wish = await services.wishes.post(resident, draft())
    await services.wishes.claim(helper, wish.id)

    done = await services.wishes.report_done(helper, wish.id, note=None, voice_file_id="V-DONE")
    assert done.done_voice_file_id == "V-DONE"
    assert (await outbox_rows(services, 1))[-1]["voice_file_id"] == "V-DONE"
    with pytest.raises(InvalidInput):  # neither words nor a voice note
        await services.wishes.not_done(resident, wish.id, None)
    back = await services.wishes.not_done(resident, wish.id, None, voice_file_id="V-NOT")
    assert back.done_voice_file_id is None  # the report it answers is gone with it
    told = (await outbox_rows(services, 10))[-1]
    assert told["voice_file_id"] == "V-NOT" and ReportDone(wish_id=wish.id).pack() in str(
        told["buttons"]
    )
    events = await services.wishes.history(resident, wish.id)
    assert [e.voice_file_id for e in events if e.kind is WishEventKind.NOT_DONE] == ["V-NOT"]

    await services.wishes.report_done(helper, wish.id, note="好了")
    await services.wishes.confirm(resident, wish.id)
    thanked = await services.wishes.thank(resident, wish.id, None, voice_file_id="V-THX")
    assert thanked.thanked and thanked.thanks is None
    assert (await outbox_rows(services, 10))[-1]["voice_file_id"] == "V-THX"
    with pytest.raises(Conflict):  # once, whether in words or by voice
        await services.wishes.thank(resident, wish.id, "谢谢")


async def test_release_reopens_and_offers_again_but_not_to_the_releaser(
    services: Services, register: RegisterUser, member: Member, buildings: list[Building]
) -> None:
    resident = await resident_of(register, buildings[0])
    first = await member(10, "Zhao", {Skill.REPAIRS}, buildings[0].id)
    await member(11, "Qian", {Skill.REPAIRS}, buildings[0].id)
    wish = await services.wishes.post(resident, draft())
    await services.wishes.claim(first, wish.id)
    before = len(await outbox_rows(services, 11))

    with pytest.raises(InvalidInput):
        await services.wishes.release(first, wish.id, "  ")
    reopened = await services.wishes.release(first, wish.id, "临时出差")

    assert reopened.status is WishStatus.OPEN and reopened.claimed_by is None
    assert len(await outbox_rows(services, 11)) == before + 1  # offered again
    claim = ClaimWish(wish_id=wish.id).pack()
    assert len([r for r in await outbox_rows(services, 10) if claim in str(r["buttons"])]) == 1
    assert "临时出差" in (await outbox_rows(services, 1))[-1]["text"]
    await services.wishes.claim(first, wish.id)  # may take it again later


async def test_illegal_transitions_are_refused_and_change_nothing(
    services: Services, register: RegisterUser, member: Member
) -> None:
    resident = await register(1, "Wang")
    helper = await member(10, "Zhao")
    other = await member(11, "Qian")
    wish = await services.wishes.post(resident, draft())

    with pytest.raises(WishChanged):
        await services.wishes.confirm(resident, wish.id)  # nobody reported it done
    with pytest.raises(NotYourTask):
        await services.wishes.report_done(other, wish.id, note=None)
    await services.wishes.claim(helper, wish.id)
    with pytest.raises(NotYourTask):
        await services.wishes.release(other, wish.id, "not mine")
    with pytest.raises(NotYourWish):
        await services.wishes.confirm(helper, wish.id)  # a helper cannot confirm their work
    with pytest.raises(Conflict):
        await services.wishes.cancel(resident, wish.id)  # taken: cannot be cancelled now
    with pytest.raises(NotYourWish):
        await services.wishes.view(await register(2, "Neighbour"), wish.id)
    with pytest.raises(InvalidInput):
        await services.wishes.rate(resident, wish.id, 6)
    assert (await services.wishes.view(helper, wish.id)).status is WishStatus.CLAIMED
    assert await event_kinds(services.store, wish.id) == ["posted", "claimed"]


# --- on behalf of someone, service teams ---------------------------------------------------


async def test_proxy_wish_shows_the_beneficiarys_contact_to_the_claimer(
    services: Services, register: RegisterUser, member: Member, buildings: list[Building]
) -> None:
    volunteer = await member(9, "Volunteer")
    helper = await member(10, "Zhao")
    resident = await register(1, "Resident")
    with pytest.raises(MembersOnly):
        await services.wishes.post(resident, draft(for_name="刘爷爷"))
    wish = await services.wishes.post(
        volunteer,
        draft(
            for_name="刘爷爷",
            for_building_id=buildings[1].id,
            for_room="5-502",
            for_phone="13900000005",
        ),
    )
    assert wish.is_proxy and wish.for_name == "刘爷爷" and wish.building_id == buildings[1].id
    await services.wishes.claim(helper, wish.id)
    contact = await services.wishes.contact(helper, wish.id)
    assert (contact.name, contact.room, contact.phone) == ("刘爷爷", "5-502", "13900000005")
    await services.wishes.report_done(helper, wish.id, note=None)
    await services.wishes.confirm(volunteer, wish.id)  # the poster confirms for them


async def test_team_claim_credits_every_participant(
    services: Services, register: RegisterUser, member: Member
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    leader = await member(20, "Leader", {Skill.LEGAL})
    lawyer = await member(21, "Lawyer", {Skill.LEGAL})
    clerk = await member(22, "Clerk", {Skill.LEGAL})
    outsider = await member(23, "Outsider", {Skill.LEGAL})
    team = await services.teams.create(
        coordinator, name="法律援助队", kind=TeamKind.LEGAL, leader_id=leader.id
    )
    for person in (lawyer, clerk):
        team = await services.teams.add_member(coordinator, team.id, person.id)
    resident = await register(1, "Wang")
    wish = await services.wishes.post(resident, draft(category=WishCategory.LEGAL))

    with pytest.raises(NotInTeam):
        await services.wishes.claim(outsider, wish.id, team_id=team.id)
    claimed = await services.wishes.claim(lawyer, wish.id, team_id=team.id)
    assert claimed.team_name == "法律援助队"
    assert any("我的任务" in r["text"] for r in await outbox_rows(services, 20))
    with pytest.raises(NotAllowed):
        await services.wishes.assign(lawyer, wish.id, clerk.id, on=True)  # not the leader
    with pytest.raises(NotInTeam):
        await services.wishes.assign(leader, wish.id, outsider.id, on=True)
    assert await services.wishes.assign(leader, wish.id, clerk.id, on=True) == [22]
    assert await services.wishes.assign(leader, wish.id, leader.id, on=True) == [20, 22]
    assert [w.id for w in await services.wishes.tasks(leader)] == [wish.id]
    assert [w.id for w in await services.wishes.tasks(clerk)] == [wish.id]

    await services.wishes.report_done(clerk, wish.id, note="咨询完成")
    await services.wishes.confirm(resident, wish.id)

    credited = await services.wishes.participants(wish.id)
    assert [(p.user_id, p.team_id) for p in credited] == [
        (20, team.id),
        (21, team.id),
        (22, team.id),
    ]


# --- reminders: escalation, widening, expiry -----------------------------------------------


async def test_unclaimed_urgent_request_widens_then_escalates_to_coordinators(
    services: Services,
    clock: ManualClock,
    register: RegisterUser,
    member: Member,
    buildings: list[Building],
    settings: Settings,
) -> None:
    b1, b2 = buildings
    await register(COORDINATOR_ID, "Li")
    resident = await resident_of(register, b1)
    await member(10, "Neighbour", building_id=b1.id)
    await member(11, "Far away", building_id=b2.id)
    wish = await services.wishes.post(resident, draft("我摔倒了", urgent=True))
    assert await outbox_rows(services, 11) == []

    clock.advance(minutes=settings.urgent_escalate_minutes // 3 + 1)
    await services.reminders.run_due()
    assert len(await outbox_rows(services, 11)) == 1  # the whole community now
    assert len(await outbox_rows(services, 10)) == 1  # not twice
    assert await outbox_rows(services, COORDINATOR_ID) == []

    clock.advance(minutes=settings.urgent_escalate_minutes)
    await services.reminders.run_due()
    alert = await outbox_rows(services, COORDINATOR_ID)
    assert len(alert) == 1 and f"#{wish.id}" in alert[0]["text"]
    told = (await outbox_rows(services, 1))[-1]
    assert told["dedupe_key"].endswith(":owner") and f"#{wish.id}" in told["text"]
    assert "escalated" in await event_kinds(services.store, wish.id)


async def test_claimed_urgent_request_does_not_escalate(
    services: Services,
    clock: ManualClock,
    register: RegisterUser,
    member: Member,
    settings: Settings,
) -> None:
    await register(COORDINATOR_ID, "Li")
    resident = await register(1, "Wang")
    helper = await member(10, "Zhao")
    wish = await services.wishes.post(resident, draft("急", urgent=True))
    await services.wishes.claim(helper, wish.id)
    clock.advance(minutes=settings.urgent_escalate_minutes + 1)
    await services.reminders.run_due()
    assert await outbox_rows(services, COORDINATOR_ID) == []


async def test_wish_expires_after_its_date_and_can_be_posted_again(
    services: Services, clock: ManualClock, register: RegisterUser
) -> None:
    resident = await register(1, "Wang")
    needed = clock.now() + timedelta(days=2)
    wish = await services.wishes.post(resident, draft(needed_by=needed))

    clock.current = needed + timedelta(hours=1)
    await services.reminders.run_due()
    assert (await services.wishes.view(resident, wish.id)).status is WishStatus.OPEN

    clock.current = needed + timedelta(days=1, minutes=1)
    await services.reminders.run_due()
    expired = await services.wishes.view(resident, wish.id)
    assert expired.status is WishStatus.EXPIRED
    asked = (await outbox_rows(services, 1))[-1]
    assert RepostWish(wish_id=wish.id).pack() in str(asked["buttons"])

    again = await services.wishes.repost(resident, wish.id)
    assert again.id != wish.id and again.status is WishStatus.OPEN and again.text == wish.text
    assert again.needed_by == clock.now() + (needed - wish.created_at)
    with pytest.raises(WishChanged):
        await services.wishes.repost(resident, wish.id)  # only once
    assert WishEventKind.REPOSTED.value in await event_kinds(services.store, wish.id)


async def test_cancelled_wish_does_not_expire_later(
    services: Services, clock: ManualClock, register: RegisterUser
) -> None:
    resident = await register(1, "Wang")
    wish = await services.wishes.post(resident, draft())
    await services.wishes.cancel(resident, wish.id)
    clock.advance(days=40)
    await services.reminders.run_due()
    assert (await services.wishes.view(resident, wish.id)).status is WishStatus.CANCELLED
    assert await event_kinds(services.store, wish.id) == ["posted", "cancelled"]


# --- browsing ------------------------------------------------------------------------------


async def test_open_wishes_page_by_keyset_with_filters(
    services: Services, register: RegisterUser, member: Member, buildings: list[Building]
) -> None:
    b1, b2 = buildings
    near = await register(1, "Near", building_id=b1.id)
    far = await register(2, "Far", building_id=b2.id)
    viewer = await member(10, "Zhao", {Skill.TUTORING}, b1.id)
    services.settings.max_open_wishes = 50
    for n in range(12):
        await services.wishes.post(near, draft(f"near {n}"))
    for n in range(5):
        await services.wishes.post(far, draft(f"study {n}", category=WishCategory.CHILDREN_STUDY))

    seen: list[int] = []
    page = await services.wishes.browse(viewer, WishFilter())
    while True:
        seen += [w.id for w in page.wishes]
        if page.next_before is None:
            break
        page = await services.wishes.browse(viewer, WishFilter(), before=page.next_before)
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 17
    first = await services.wishes.browse(viewer, WishFilter())
    assert len(first.wishes) == PAGE_SIZE

    mine = await services.wishes.browse(viewer, WishFilter(kind="building"))
    assert {w.building_id for w in mine.wishes} == {b1.id}
    skills = await services.wishes.browse(viewer, WishFilter(kind="skills"))
    assert {w.category for w in skills.wishes} == {WishCategory.CHILDREN_STUDY}
    legal = await services.wishes.browse(
        viewer, WishFilter(kind="category", category=WishCategory.LEGAL)
    )
    assert legal.wishes == ()
    with pytest.raises(MembersOnly):
        await services.wishes.browse(near, WishFilter())


# --- pure helpers --------------------------------------------------------------------------


def test_categories_follow_skills() -> None:
    assert categories_for({Skill.LEGAL}) == [WishCategory.LEGAL]
    assert WishCategory.HEALTH in categories_for({Skill.MEDICAL})
    assert categories_for(set()) == []


def test_quiet_hours_across_midnight(settings: Settings) -> None:
    zone = settings.zone
    user = User(id=1, display_name="x", language="zh", registered_at=MORNING)
    at = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 23:00 local
    assert quiet_until(user, at, zone) == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    early = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)  # 05:00 local next day
    assert quiet_until(user, early, zone) == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    assert quiet_until(user, MORNING, zone) is None
    daytime = user.model_copy(update={"quiet_start": 12 * 60, "quiet_end": 14 * 60})
    noon = datetime(2026, 3, 10, 4, 30, tzinfo=UTC)  # 12:30 local
    assert quiet_until(daytime, noon, zone) == datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
    never = user.model_copy(update={"quiet_start": 0, "quiet_end": 0})
    assert quiet_until(never, at, zone) is None


@pytest.mark.parametrize(
    ("typed", "local"),
    [
        ("3-12", (2026, 3, 12, 23, 59)),
        ("2026-03-12 15:30", (2026, 3, 12, 15, 30)),
        ("3月12日 9点", (2026, 3, 12, 9, 0)),
        ("18:30", (2026, 3, 10, 18, 30)),
    ],
)
def test_needed_by_is_read_in_the_community_zone(
    settings: Settings, typed: str, local: tuple[int, ...]
) -> None:
    expected = datetime(*local, tzinfo=settings.zone).astimezone(UTC)
    assert parse_needed_by(typed, MORNING, settings.zone) == expected


@pytest.mark.parametrize("typed", ["yesterday", "3-09", "13-40", "2030-01-01", "08:00"])
def test_needed_by_refuses_bad_or_past_dates(settings: Settings, typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_needed_by(typed, MORNING, settings.zone)


def test_needed_by_buttons_mean_the_end_of_that_local_day(settings: Settings) -> None:
    tomorrow = needed_by_choice("tomorrow", MORNING, settings.zone)
    assert tomorrow == datetime(2026, 3, 11, 23, 59, tzinfo=settings.zone).astimezone(UTC)
    with pytest.raises(InvalidInput):
        needed_by_choice("someday", MORNING, settings.zone)


async def test_coordinator_acting_on_someone_elses_wish_is_audited(
    services: Services, register: RegisterUser, member: Member
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    resident = await register(1, "Wang")
    helper = await member(10, "Zhao")
    stuck = await services.wishes.post(resident, draft("a"))
    await services.wishes.claim(helper, stuck.id)
    await services.wishes.release(coordinator, stuck.id, "小赵联系不上")
    unwanted = await services.wishes.post(resident, draft("b"))
    await services.wishes.cancel(coordinator, unwanted.id)
    await services.wishes.cancel(resident, stuck.id)  # her own: a wish event, no audit
    async with services.store.read() as conn:
        entries = (await conn.execute(select(audit_log.c.action, audit_log.c.subject))).all()
    assert sorted(entries) == [
        ("wish.cancelled", f"wish:{unwanted.id}"),
        ("wish.released", f"wish:{stuck.id}"),
    ]


async def test_teams_are_run_by_coordinators_and_audited(
    services: Services, register: RegisterUser, member: Member
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    leader = await member(20, "Leader")
    resident = await register(1, "Wang")
    with pytest.raises(NotAllowed):
        await services.teams.create(leader, name="队", kind=TeamKind.OTHER, leader_id=leader.id)
    with pytest.raises(InvalidInput):  # only members lead teams
        await services.teams.create(
            coordinator, name="医疗队", kind=TeamKind.MEDICAL, leader_id=resident.id
        )
    with pytest.raises(InvalidInput):
        await services.teams.create(
            coordinator, name="x" * 41, kind=TeamKind.MEDICAL, leader_id=leader.id
        )
    team = await services.teams.create(
        coordinator, name="医疗队", kind=TeamKind.MEDICAL, leader_id=leader.id
    )
    with pytest.raises(Conflict):
        await services.teams.create(
            coordinator, name="医疗队", kind=TeamKind.MEDICAL, leader_id=leader.id
        )
    with pytest.raises(NotAllowed):
        await services.teams.remove_member(coordinator, team.id, leader.id)
    nurse = await member(21, "Nurse")
    team = await services.teams.set_leader(coordinator, team.id, nurse.id)
    assert team.leader_id == 21 and team.member_ids == {20, 21}
    await services.teams.set_active(coordinator, team.id, False)
    assert await services.teams.teams_of(nurse) == []
    wish = await services.wishes.post(resident, draft(category=WishCategory.HEALTH))
    with pytest.raises(NotFound):  # an archived team cannot claim
        await services.wishes.claim(nurse, wish.id, team_id=team.id)
    async with services.store.read() as conn:
        actions = (await conn.scalars(select(audit_log.c.action))).all()
    assert sorted(actions) == ["team.archive", "team.create", "team.leader"]


async def test_the_poster_is_never_put_on_or_credited_for_their_own_wish(
    services: Services, register: RegisterUser, member: Member
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    leader = await member(20, "Leader", {Skill.LEGAL})
    lawyer = await member(21, "Lawyer", {Skill.LEGAL})
    poster = await member(22, "Poster", {Skill.LEGAL})  # a member of the team posts a wish
    team = await services.teams.create(
        coordinator, name="法律援助队", kind=TeamKind.LEGAL, leader_id=leader.id
    )
    for person in (lawyer, poster):
        team = await services.teams.add_member(coordinator, team.id, person.id)
    wish = await services.wishes.post(poster, draft(category=WishCategory.LEGAL))
    await services.wishes.claim(lawyer, wish.id, team_id=team.id)

    with pytest.raises(PosterTakesNoPart):
        await services.wishes.assign(leader, wish.id, poster.id, on=True)
    assert poster.id not in await services.wishes.assignees(wish.id)

    await services.wishes.report_done(lawyer, wish.id, note="好了")
    await services.wishes.confirm(poster, wish.id)
    assert [p.user_id for p in await services.wishes.participants(wish.id)] == [lawyer.id]


async def test_an_urgent_alert_that_could_not_leave_in_time_is_told_to_coordinators_once(
    services: Services,
    clock: ManualClock,
    register: RegisterUser,
    member: Member,
    buildings: list[Building],
) -> None:
    b1 = buildings[0]
    resident = await resident_of(register, b1)
    await register(COORDINATOR_ID, "Li")
    await member(10, "Neighbour", {Skill.LEGAL}, b1.id)
    await member(11, "Upstairs", {Skill.REPAIRS}, b1.id)
    wish = await services.wishes.post(resident, draft("我摔倒了", urgent=True))
    clock.current += URGENT_ALERT_STALE + timedelta(minutes=1)  # Telegram was unreachable

    async with FakeBotApi() as fake:
        for uid in (10, 11, COORDINATOR_ID):
            fake.user(uid)
        async with Bot("1:T", base_url=fake.base_url, request=sender_request(4)) as bot:
            sender = OutboxSender(
                services.store,
                bot,
                clock,
                send_rate=100,
                render=partial(render, services),
                stale=partial(tell_stale, services.notifier),
            )
            await sender.start()
            try:
                await sender.drain(15)
            finally:
                await sender.stop()
        alerts = [m.text for uid in (10, 11) for m in fake.sent_to(uid)]
        told = [m.text or "" for m in fake.sent_to(COORDINATOR_ID)]

    assert alerts == [] and sender.stats.stale == 2  # too late to alert the neighbours
    assert len([t for t in told if "没能及时送到" in t and f"#{wish.id}" in t]) == 1
    async with services.store.read() as conn:
        keys = [r.dedupe_key for r in await outbox_repo.rows_for_chat(conn, COORDINATOR_ID)]
    # Once per wish, whichever round of alerts went stale.
    assert keys == [f"stale:wish.urgent_undelivered:wish:{wish.id}:{COORDINATOR_ID}"]
