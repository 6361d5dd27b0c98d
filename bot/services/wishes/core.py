"""What every part of the wish service shares: its dependencies, reading a wish in the
community, how the actor stands to it, the checked move through the life cycle, the event
log (with an audit entry when a coordinator acts for someone), and telling people."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import N_, Notice, Team, User, Wish, WishEventKind, WishParticipant, WishStatus
from bot.services.errors import Conflict, LinliError, NotFound
from bot.services.lifecycle import Party, Transition
from bot.services.notify import Notifier
from bot.services.reminders import ReminderService
from bot.services.wishes.rules import (
    WHO_REFUSALS,
    WISH_LIFECYCLE,
    AlreadyConfirmed,
    MembersOnly,
    WishChanged,
    WishClosed,
    WishTaken,
    subject_of,
)
from storage import audit
from storage import teams as teams_repo
from storage import users as users_repo
from storage import wishes as repo
from storage.store import Store

Move = Transition[WishStatus, WishEventKind]
CLOSED = frozenset({WishStatus.CONFIRMED, WishStatus.CANCELLED, WishStatus.EXPIRED})
# Called inside the confirm (and the rating) transaction with the wish and who was credited
# (the passbook).
ConfirmedListener = Callable[[AsyncConnection, Wish, list[WishParticipant]], Awaitable[None]]


def covers(actor: User, wish: Wish) -> bool:
    """A coordinator above the wish's community (and building)."""
    return actor.covers(wish.community_id, wish.building_id)


def in_reach(actor: User, wish: Wish) -> bool:
    """May the actor know of the wish at all: its poster and its helper, the people of its
    community, and the coordinators above it."""
    return (
        actor.id in (wish.posted_by, wish.claimed_by)
        or actor.belongs_to(wish.community_id)
        or covers(actor, wish)
    )


def taken_by(wish: Wish) -> str:
    """Who has the wish, as one name: "Team (member)" for a team claim."""
    if wish.team_name and wish.claimer_name:
        return f"{wish.team_name} ({wish.claimer_name})"
    return wish.team_name or wish.claimer_name or "?"


@dataclass
class WishCore:
    store: Store
    settings: Settings
    clock: Clock
    # The community the settings name: its wishes go to the members' group (MEMBERS_GROUP_ID).
    wall_community_id: int
    notifier: Notifier
    reminders: ReminderService
    confirmed_listeners: list[ConfirmedListener] = field(default_factory=list)
    rated_listeners: list[ConfirmedListener] = field(default_factory=list)

    async def _get(self, conn: AsyncConnection, wish_id: int, actor: User | None = None) -> Wish:
        """The wish; with an actor, only one within their reach (see `in_reach`): another
        community's wishes are not theirs even to know of."""
        wish = await repo.get_wish(conn, wish_id)
        if wish is None or (actor is not None and not in_reach(actor, wish)):
            raise NotFound(N_("There is no wish with that number."))
        return wish

    def _owns(self, actor: User, wish: Wish) -> bool:
        """The poster; for a wish posted on someone's behalf, the coordinators above it too."""
        return wish.posted_by == actor.id or (wish.is_proxy and covers(actor, wish))

    def _require_member(self, actor: User, *, allow_coordinator: bool = False) -> None:
        if actor.is_member or (allow_coordinator and actor.is_coordinator):
            return
        raise MembersOnly()

    @staticmethod
    def parties(
        actor: User, wish: Wish, team: Team | None = None, *, assigned: bool = False
    ) -> frozenset[Party]:
        """How `actor` stands to `wish` (pass the claiming team and whether the actor was
        assigned to it where the move depends on them)."""
        found: set[Party] = set()
        if wish.posted_by == actor.id:
            found |= {Party.POSTER, Party.OWNER}
        elif actor.is_member and actor.belongs_to(wish.community_id):
            found.add(Party.MEMBER)  # members serve the wishes of their own community
        if wish.is_proxy and covers(actor, wish):
            found.add(Party.OWNER)
        if covers(actor, wish):
            found.add(Party.COORDINATOR)
        leads = team is not None and team.leader_id == actor.id
        if wish.claimed_by == actor.id or leads:
            found.add(Party.HANDLER)
        if leads:
            found.add(Party.LEADER)
        if assigned:
            found.add(Party.ASSIGNEE)
        return frozenset(found)

    async def _parties_in(
        self, conn: AsyncConnection, actor: User, wish: Wish
    ) -> frozenset[Party]:
        """How `actor` stands to `wish`, with its claiming team and assignments read."""
        team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
        assigned = actor.id in await repo.assignees(conn, wish.id)
        return self.parties(actor, wish, team, assigned=assigned)

    def _move(self, wish: Wish, event: WishEventKind, parties: frozenset[Party]) -> Move:
        """The life-cycle move, or the refusal that fits (see bot/services/lifecycle.py)."""
        not_yours: Callable[[], LinliError] = WHO_REFUSALS[event]
        if event is WishEventKind.CANCELLED and Party.POSTER in parties:
            # Only a coordinator may cancel a wish in hand: the poster hears who has it.
            not_yours = lambda: self._wrong_state(wish, event)  # noqa: E731
        return WISH_LIFECYCLE.move(
            wish.status,
            event,
            parties,
            not_yours=not_yours,
            wrong_state=lambda: self._wrong_state(wish, event),
        )

    @staticmethod
    def _wrong_state(wish: Wish, event: WishEventKind) -> LinliError:
        """Why `event` cannot happen to the wish in its present state."""
        in_hand = wish.status in (WishStatus.CLAIMED, WishStatus.DONE)
        if in_hand and event is WishEventKind.CLAIMED:
            return WishTaken(name=taken_by(wish))
        if in_hand and event is WishEventKind.CANCELLED:
            return Conflict(
                N_(
                    "{name} has taken this wish already, so it cannot be cancelled now. "
                    "Please talk to them or to a coordinator."
                ),
                name=taken_by(wish),
            )
        if wish.status == WishStatus.CONFIRMED and event in (
            WishEventKind.CONFIRMED,
            WishEventKind.DONE,
        ):
            # Confirmed twice (the resident after the helper's handshake, a retry): said as
            # the good news it is, not as a refusal.
            return AlreadyConfirmed(id=wish.id)
        if wish.status in CLOSED:
            return WishClosed()
        return WishChanged()

    async def _apply(
        self, conn: AsyncConnection, wish: Wish, move: Move, **values: object
    ) -> None:
        """Make the move with a guarded UPDATE (still in `move.source`, still with the claimer
        read?), with the columns that change with it; someone who changed the wish first makes
        it refuse, changing nothing."""
        if not await repo.change_status(
            conn,
            wish.id,
            from_status=move.source,
            to_status=move.target,
            held_by=wish.claimed_by,
            **values,
        ):
            raise self._wrong_state(wish, move.event)

    async def _unclaim(self, conn: AsyncConnection, wish: Wish, move: Move) -> None:
        """Back to open (given back, or put back by a coordinator): the claim, its team, the
        people put on it and its handshake code all cleared."""
        await self._apply(
            conn,
            wish,
            move,
            claimed_by=None,
            team_id=None,
            claimed_at=None,
            handshake_code=None,
        )
        await repo.clear_assignments(conn, wish.id)

    async def _record(
        self,
        conn: AsyncConnection,
        wish: Wish,
        kind: WishEventKind,
        *,
        actor: User | None,
        now: datetime,
        move: Move | None = None,
        note: str | None = None,
        voice_file_id: str | None = None,
    ) -> int:
        """The wish event; and an audit entry when a coordinator acted on someone else's wish
        (cancelled, released, confirmed, assigned it for them)."""
        source = move.source if move and move.source != move.target else None
        target = move.target if move and move.source != move.target else None
        event_id = await repo.add_event(
            conn,
            wish.id,
            kind,
            actor_id=actor.id if actor else None,
            now=now,
            from_status=source,
            to_status=target,
            note=note,
            voice_file_id=voice_file_id,
        )
        if actor and actor.is_coordinator and actor.id not in (wish.posted_by, wish.claimed_by):
            await audit.record(
                conn,
                actor_id=actor.id,
                action=f"wish.{kind.value}",
                subject=subject_of(wish.id),
                now=now,
                community_id=wish.community_id,
                before={"status": source.value} if source else None,
                after={"status": target.value, "note": note} if target else {"note": note},
            )
        return event_id

    async def _changed(self, conn: AsyncConnection, wish_id: int) -> Wish:
        """The wish after a change in this transaction; every message showing it is edited."""
        await self.notifier.touch(conn, subject_of(wish_id))
        return await self._get(conn, wish_id)

    async def _tell_owner(
        self,
        conn: AsyncConnection,
        wish: Wish,
        notice: Notice,
        *,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
    ) -> None:
        """The resident who posted (or the member/coordinator who posted on their behalf)."""
        owner = await users_repo.get_user(conn, wish.posted_by)
        if owner is not None:
            await self.notifier.tell(
                conn, owner, notice, dedupe_key=dedupe_key, not_before=not_before
            )

    async def _tell_helpers(self, conn: AsyncConnection, wish: Wish, notice: Notice) -> None:
        """The claimer and everyone assigned to the wish."""
        ids = {wish.claimed_by} | set(await repo.assignees(conn, wish.id))
        helpers = await users_repo.get_users(conn, {i for i in ids if i is not None})
        await self.notifier.tell_all(conn, helpers, notice)
