"""The wish life cycle is one table (bot/services/wishes/rules.py). This walks all of it
through the real service and SQLite: every allowed move works for someone allowed to make it
and lands where the table says; every other move — from a state the table does not allow, or
by someone it does not name — is refused with a message and changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.models import Role, Skill, TeamKind, User, Wish, WishCategory, WishEventKind, WishStatus
from bot.services import Services
from bot.services.errors import LinliError
from bot.services.lifecycle import Lifecycle, Party, Transition
from bot.services.wishes import WISH_LIFECYCLE, WishDraft
from storage import users as users_repo
from storage.schema import audit_log, outbox, wish_events, wishes
from tests.conftest import COORDINATOR_ID, DAYTIME, RegisterUser

S, E = WishStatus, WishEventKind
SYSTEM_EVENTS = {E.EXPIRED, E.ESCALATED}  # made by the scheduler, tested in test_wishes.py
PERSON_EVENTS = [e for e in E if e not in SYSTEM_EVENTS and e is not E.POSTED]


@dataclass
class Cast:
    """Everyone a wish can meet: who each party is."""

    resident: User  # posts the wish: OWNER and POSTER
    claimer: User  # claims it for the team: HANDLER
    leader: User  # leads that team: HANDLER and LEADER
    assignee: User  # put on the wish by the leader: ASSIGNEE
    member: User  # another member: MEMBER
    coordinator: User
    stranger: User  # a resident with nothing to do with the wish
    team_id: int

    def playing(self, party: Party) -> User:
        return {
            Party.OWNER: self.resident,
            Party.POSTER: self.resident,
            Party.MEMBER: self.member,
            Party.HANDLER: self.claimer,
            Party.LEADER: self.leader,
            Party.ASSIGNEE: self.assignee,
            Party.COORDINATOR: self.coordinator,
        }[party]


@pytest.fixture
async def cast(services: Services, register: RegisterUser) -> Cast:
    async def member(user_id: int, name: str) -> User:
        await register(user_id, name)
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, user_id, Role.MEMBER, None, DAYTIME)
            await users_repo.set_skills(conn, user_id, {Skill.REPAIRS})
        return await services.users.require(user_id)

    coordinator = await register(COORDINATOR_ID, "Li")
    coordinator = await services.users.require(COORDINATOR_ID)
    claimer, leader, assignee = (
        await member(10, "Zhao"),
        await member(11, "Qian"),
        await member(12, "Sun"),
    )
    team = await services.teams.create(
        coordinator, name="维修队", kind=TeamKind.OTHER, leader_id=leader.id
    )
    for person in (claimer, assignee):
        team = await services.teams.add_member(coordinator, team.id, person.id)
    return Cast(
        resident=await register(1, "王奶奶"),
        claimer=claimer,
        leader=leader,
        assignee=assignee,
        member=await member(13, "Li Member"),
        coordinator=coordinator,
        stranger=await register(2, "Stranger"),
        team_id=team.id,
    )


async def wish_in(services: Services, clock: ManualClock, cast: Cast, status: WishStatus) -> Wish:
    """A fresh wish brought to `status` the way people bring it there."""
    wishes_ = services.wishes
    wish = await wishes_.post(
        cast.resident, WishDraft(category=WishCategory.REPAIRS, text="灯坏了")
    )
    if status is S.CANCELLED:
        await wishes_.cancel(cast.resident, wish.id)
    elif status is S.EXPIRED:
        clock.advance(days=31)
        await services.reminders.run_due()
    elif status is not S.OPEN:
        await wishes_.claim(cast.claimer, wish.id, team_id=cast.team_id)
        await wishes_.assign(cast.leader, wish.id, cast.assignee.id, on=True)
        if status in (S.DONE, S.CONFIRMED):
            await wishes_.report_done(cast.claimer, wish.id, note="好了")
        if status is S.CONFIRMED:
            await wishes_.confirm(cast.resident, wish.id)
    found = await wishes_.view(cast.coordinator, wish.id)
    assert found.status is status
    return found


Act = Callable[[User, int], Awaitable[Any]]


def act(services: Services, cast: Cast, event: WishEventKind) -> Act:
    """How a person makes `event` happen (the same service calls the handlers make)."""
    w = services.wishes
    acts: dict[WishEventKind, Act] = {
        E.CLAIMED: lambda u, i: w.claim(u, i),
        E.CANCELLED: lambda u, i: w.cancel(u, i),
        E.RELEASED: lambda u, i: w.release(u, i, "临时有事"),
        E.DONE: lambda u, i: w.report_done(u, i, note="修好了"),
        E.ASSIGNED: lambda u, i: w.assign(u, i, cast.assignee.id, on=True),
        E.UNASSIGNED: lambda u, i: w.assign(u, i, cast.assignee.id, on=False),
        E.CONFIRMED: lambda u, i: w.confirm(u, i),
        E.NOT_DONE: lambda u, i: w.not_done(u, i, "灯还是不亮"),
        E.RATED: lambda u, i: w.rate(u, i, 5),
        E.THANKED: lambda u, i: w.thank(u, i, "谢谢"),
        E.REPOSTED: lambda u, i: w.repost(u, i),
        E.REASSIGNED: lambda u, i: w.reassign(u, i, cast.member.id),
    }
    return acts[event]


async def snapshot(services: Services) -> tuple[Any, ...]:
    async with services.store.read() as conn:
        return (
            [tuple(r) for r in await conn.execute(select(wishes).order_by(wishes.c.id))],
            await conn.scalar(select(func.count()).select_from(wish_events)),
            await conn.scalar(select(func.count()).select_from(outbox)),
            await conn.scalar(select(func.count()).select_from(audit_log)),
        )


ALLOWED = [(t.source, t.event, p) for t in WISH_LIFECYCLE.transitions for p in sorted(t.who)]
ALLOWED_BY_PEOPLE = [(s, e, p) for s, e, p in ALLOWED if p is not Party.SYSTEM]
MISSING = [(s, e) for s in S for e in PERSON_EVENTS if WISH_LIFECYCLE.find(s, e) is None]


@pytest.mark.parametrize(("source", "event", "party"), ALLOWED_BY_PEOPLE)
async def test_every_allowed_move_works_and_lands_where_the_table_says(
    services: Services,
    clock: ManualClock,
    cast: Cast,
    source: WishStatus,
    event: WishEventKind,
    party: Party,
) -> None:
    wish = await wish_in(services, clock, cast, source)
    move = WISH_LIFECYCLE.find(source, event)
    assert move is not None
    await act(services, cast, event)(cast.playing(party), wish.id)
    after = await services.wishes.view(cast.coordinator, wish.id)
    assert after.status is move.target


@pytest.mark.parametrize(("source", "event"), MISSING)
async def test_every_move_the_table_does_not_allow_is_refused_and_changes_nothing(
    services: Services, clock: ManualClock, cast: Cast, source: WishStatus, event: WishEventKind
) -> None:
    wish = await wish_in(services, clock, cast, source)
    someone = cast.playing(sorted(WISH_LIFECYCLE.who_may(event) - {Party.SYSTEM})[0])
    before = await snapshot(services)
    with pytest.raises(LinliError) as refused:
        await act(services, cast, event)(someone, wish.id)
    assert refused.value.message  # a sentence for the user, translated by the handler
    assert await snapshot(services) == before


@pytest.mark.parametrize(("source", "event"), sorted({(s, e) for s, e, _ in ALLOWED_BY_PEOPLE}))
async def test_nobody_outside_the_table_may_make_an_allowed_move(
    services: Services, clock: ManualClock, cast: Cast, source: WishStatus, event: WishEventKind
) -> None:
    wish = await wish_in(services, clock, cast, source)
    move = WISH_LIFECYCLE.find(source, event)
    assert move is not None
    before = await snapshot(services)
    for party in Party:
        if party in move.who or party is Party.SYSTEM:
            continue
        person = cast.playing(party)
        if await parts_of(services, person, wish) & move.who:
            continue  # this person also holds an allowed part (e.g. the claimer is a member)
        with pytest.raises(LinliError):
            await act(services, cast, event)(person, wish.id)
    with pytest.raises(LinliError):
        await act(services, cast, event)(cast.stranger, wish.id)
    assert await snapshot(services) == before


async def parts_of(services: Services, person: User, wish: Wish) -> frozenset[Party]:
    """The parts `person` holds in `wish`, as the service counts them."""
    team = await services.wishes.team_of(wish)
    assigned = person.id in await services.wishes.assignees(wish.id)
    return services.wishes.parties(person, wish, team, assigned=assigned)


def test_the_table_has_one_move_per_state_and_event_and_reaches_every_state() -> None:
    reached = {t.target for t in WISH_LIFECYCLE.transitions} | {S.OPEN}
    assert reached == set(S)
    with pytest.raises(ValueError, match="twice"):
        Lifecycle("dup", [*WISH_LIFECYCLE.transitions, WISH_LIFECYCLE.transitions[0]])
    assert isinstance(WISH_LIFECYCLE.transitions[0], Transition)


async def test_the_scheduler_alone_expires_a_wish(
    services: Services, clock: ManualClock, cast: Cast
) -> None:
    expires = WISH_LIFECYCLE.find(S.OPEN, E.EXPIRED)
    assert expires is not None and expires.who == {Party.SYSTEM}
    wish = await wish_in(services, clock, cast, S.OPEN)
    clock.advance(days=31)
    await services.reminders.run_due()
    assert (await services.wishes.view(cast.coordinator, wish.id)).status is S.EXPIRED
