"""Stuck wishes, for coordinators: open too long, claimed past their time, done and not
confirmed — within the coordinator's reach only — and what they do about one: cancel it with
a reason, hand it to another member of its community, or put it back to open. Every action
checks the coordinator's reach again, whatever button was pressed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import N_, User, Wish, WishEventKind
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.scope import require_coordinator
from bot.services.wishes.completion import WishCompletion
from bot.services.wishes.core import covers
from bot.services.wishes.drafts import WishCard
from bot.services.wishes.handshake import fresh_code
from bot.services.wishes.notices import (
    WishHandedToYou,
    WishReopenedForOwner,
    WishTakenForYou,
    WishTakenFromYou,
)
from bot.services.wishes.reading import WishReading
from bot.services.wishes.rules import (
    PAGE_SIZE,
    STUCK_CLAIMED_UNDATED_DAYS,
    STUCK_DONE,
    STUCK_OPEN_DAYS,
    PosterTakesNoPart,
    WishChanged,
    subject_of,
)
from storage import teams as teams_repo
from storage import users as users_repo
from storage import wishes as repo


class StuckKind(StrEnum):
    OPEN = "open"  # open more than STUCK_OPEN_DAYS
    LATE = "late"  # claimed past its needed-by time (or long, without one)
    UNCONFIRMED = "unconf"  # done and not confirmed for STUCK_DONE


class HandsFull(Conflict):
    message = N_(
        "{name} already has {count} wishes in hand, which is the most allowed. Please choose "
        "someone else."
    )


class NotInCommunity(InvalidInput):
    message = N_("That person is not a member of this wish's community.")


class MemberUnreachable(Conflict):
    message = N_(
        "{name} cannot be reached by the bot right now (they may have blocked it). Please "
        "choose someone else."
    )


@dataclass(frozen=True)
class StuckPage:
    wishes: tuple[Wish, ...]
    next_after: int | None = None  # keyset: pass as `after` for the next page


@dataclass(frozen=True)
class MemberPage:
    members: tuple[User, ...]
    held_by: int  # who has the wish now (the buttons carry it, so a stale press is refused)
    next_after: int | None = None


class WishStuck(WishReading, WishCompletion):
    async def stuck(self, actor: User, kind: StuckKind, *, after: int | None = None) -> StuckPage:
        """A page of the stuck wishes of one kind below the coordinator, oldest first."""
        reach = require_coordinator(actor)
        places = [(c, reach.building_id) for c in sorted(reach.community_ids)]
        now, limit = self.clock.now(), PAGE_SIZE + 1
        async with self.store.read() as conn:
            if kind is StuckKind.OPEN:
                found = await repo.open_since(
                    conn,
                    places,
                    posted_before=now - timedelta(days=STUCK_OPEN_DAYS),
                    after=after,
                    limit=limit,
                )
            elif kind is StuckKind.LATE:
                found = await repo.claimed_overdue(
                    conn,
                    places,
                    now=now,
                    undated_claimed_before=now - timedelta(days=STUCK_CLAIMED_UNDATED_DAYS),
                    after=after,
                    limit=limit,
                )
            else:
                found = await repo.done_unconfirmed(
                    conn, places, done_before=now - STUCK_DONE, after=after, limit=limit
                )
        page = tuple(found[:PAGE_SIZE])
        more = len(found) > PAGE_SIZE and page
        return StuckPage(page, page[-1].id if more else None)

    async def _covered(self, conn: AsyncConnection, actor: User, wish_id: int) -> Wish:
        """The wish, when it lies below the coordinator (else "not found", as elsewhere)."""
        require_coordinator(actor)
        wish = await self._get(conn, wish_id, actor)
        if not covers(actor, wish):
            raise NotFound(N_("There is no wish with that number."))
        return wish

    async def stuck_card(self, actor: User, wish_id: int) -> WishCard:
        """The card of a wish below the coordinator (with the resident's contact)."""
        async with self.store.read() as conn:
            await self._covered(conn, actor, wish_id)
        return await self.card(actor, wish_id)

    async def cancel_stuck(self, actor: User, wish_id: int, reason: str) -> Wish:
        """A coordinator cancels a wish below them with a reason (the resident and any
        helper are told it)."""
        async with self.store.read() as conn:
            await self._covered(conn, actor, wish_id)
        return await self.cancel(actor, wish_id, reason)

    async def check_stuck_move(self, actor: User, wish_id: int, event: WishEventKind) -> Wish:
        """The wish, when the coordinator may make `event` on it now (before asking for a
        reason or showing whom to hand it to)."""
        async with self.store.read() as conn:
            wish = await self._covered(conn, actor, wish_id)
            self._move(wish, event, await self._parties_in(conn, actor, wish))
        return wish

    async def handover_candidates(
        self, actor: User, wish_id: int, *, after: int | None = None
    ) -> MemberPage:
        """Members of the wish's community it could be handed to, a page at a time."""
        async with self.store.read() as conn:
            wish = await self._covered(conn, actor, wish_id)
            self._move(wish, WishEventKind.REASSIGNED, await self._parties_in(conn, actor, wish))
            found = await repo.community_members(
                conn,
                wish.community_id,
                exclude={wish.posted_by, wish.claimed_by or wish.posted_by},
                after=after,
                limit=PAGE_SIZE + 1,
            )
        page = tuple(found[:PAGE_SIZE])
        more = len(found) > PAGE_SIZE and page
        assert wish.claimed_by is not None  # REASSIGNED moves only a claimed wish
        return MemberPage(page, wish.claimed_by, page[-1].id if more else None)

    async def _former_helpers(self, conn: AsyncConnection, wish: Wish) -> list[User]:
        """Who had the wish in hand: its claimer, those put on it, the claiming team's leader."""
        ids = {wish.claimed_by, *await repo.assignees(conn, wish.id)}
        team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
        if team is not None:
            ids.add(team.leader_id)
        return await users_repo.get_users(conn, {i for i in ids if i is not None})

    async def reassign(
        self, actor: User, wish_id: int, user_id: int, *, held_by: int | None = None
    ) -> Wish:
        """A coordinator hands a claimed wish to another member of its community; the former
        helpers, the new one and the resident are told. With `held_by` (the claimer the
        coordinator saw when choosing), a wish someone else has moved since is refused."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._covered(conn, actor, wish_id)
            parties = await self._parties_in(conn, actor, wish)
            move = self._move(wish, WishEventKind.REASSIGNED, parties)
            if held_by is not None and wish.claimed_by != held_by:
                raise WishChanged()
            member = await users_repo.get_user(conn, user_id)
            if member is None or not member.is_member or not member.belongs_to(wish.community_id):
                raise NotInCommunity()
            if member.id == wish.posted_by:
                raise PosterTakesNoPart()
            if member.id == wish.claimed_by or wish.claimed_by is None:
                raise WishChanged()
            if member.unreachable:
                raise MemberUnreachable(name=member.display_name)
            former = await self._former_helpers(conn, wish)
            limit = self.settings.max_active_claims
            if not await repo.reassign(
                conn,
                wish_id,
                from_user=wish.claimed_by,
                to_user=member.id,
                now=now,
                limit=limit,
                code=fresh_code(wish),  # the old helper's code no longer works
            ):
                count = await repo.count_active_claims(conn, member.id)
                if count >= limit:
                    raise HandsFull(name=member.display_name, count=count)
                raise WishChanged()
            await repo.clear_assignments(conn, wish_id)
            await self._record(
                conn,
                wish,
                WishEventKind.REASSIGNED,
                actor=actor,
                now=now,
                move=move,
                note=f"{wish.claimed_by}>{member.id}",
            )
            await self.reminders.cancel(conn, subject_of(wish_id), recurring=False)
            moved = await self._changed(conn, wish_id)
            await self._nudge_overdue(conn, moved, now)
            taken = WishTakenFromYou(
                wish=moved, coordinator=actor.display_name, to=member.display_name
            )
            await self.notifier.tell_all(conn, [p for p in former if p.id != member.id], taken)
            handed = WishHandedToYou(wish=moved, coordinator=actor.display_name)
            await self.notifier.tell(conn, member, handed)
            await self._tell_owner(conn, moved, WishTakenForYou(wish=moved))
        self.notifier.wake()
        return moved

    async def reopen(self, actor: User, wish_id: int, *, held_by: int | None = None) -> Wish:
        """A coordinator puts a claimed wish back to open, as a helper giving it back would:
        it is offered again; the resident and the former helpers are told. With `held_by`,
        as for `reassign`."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._covered(conn, actor, wish_id)
            parties = await self._parties_in(conn, actor, wish)
            move = self._move(wish, WishEventKind.RELEASED, parties)
            if held_by is not None and wish.claimed_by != held_by:
                raise WishChanged()
            former = await self._former_helpers(conn, wish)
            await self._unclaim(conn, wish, move)
            round_id = await self._record(
                conn, wish, WishEventKind.RELEASED, actor=actor, now=now, move=move
            )
            await self.reminders.cancel(conn, subject_of(wish_id), recurring=False)
            reopened = await self._changed(conn, wish_id)
            await self._tell_owner(conn, reopened, WishReopenedForOwner(wish=reopened))
            taken = WishTakenFromYou(wish=reopened, coordinator=actor.display_name)
            await self.notifier.tell_all(conn, former, taken)
            await self._announce_open(
                conn, reopened, round_id, exclude={wish.claimed_by or actor.id}, again=True
            )
        self.notifier.wake()
        return reopened
