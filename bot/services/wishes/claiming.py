"""Taking a wish on, alone or for a service team; giving it back; a team leader choosing who
takes part. Exactly one of many simultaneous claimers wins: the claim is one guarded UPDATE
inside a BEGIN IMMEDIATE transaction."""

from __future__ import annotations

from bot.models import N_, Team, User, Wish, WishEventKind, WishStatus
from bot.services.errors import InvalidInput, NotFound
from bot.services.text import trim_text
from bot.services.wishes.core import taken_by
from bot.services.wishes.handshake import fresh_code
from bot.services.wishes.notices import (
    HelperAddedForYou,
    PutOnWish,
    TeamWishTaken,
    WishGivenBack,
    WishTakenForYou,
)
from bot.services.wishes.nudges import WishNudges
from bot.services.wishes.rules import (
    REASON_MAX,
    NotInTeam,
    OwnWish,
    PosterTakesNoPart,
    TooManyClaims,
    WishChanged,
    subject_of,
)
from storage import teams as teams_repo
from storage import users as users_repo
from storage import wishes as repo


class WishClaiming(WishNudges):
    async def claim(self, actor: User, wish_id: int, *, team_id: int | None = None) -> Wish:
        """Take on a wish, alone or for a team (which also counts the member's active
        claims); the resident is told, and the team leader when someone else claimed."""
        self._require_member(actor)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            if wish.posted_by == actor.id:
                raise OwnWish()
            move = self._move(wish, WishEventKind.CLAIMED, self.parties(actor, wish))
            team: Team | None = None
            if team_id is not None:
                team = await teams_repo.get_team(conn, team_id)
                if team is None or not team.active or team.community_id != wish.community_id:
                    raise NotFound()
                if actor.id not in team.member_ids:
                    raise NotInTeam()
            limit = self.settings.max_active_claims
            stored = await repo.claim(
                conn,
                wish_id,
                user_id=actor.id,
                team_id=team_id,
                now=now,
                limit=limit,
                code=fresh_code(wish),
            )
            if stored is None:
                # Someone else won the race between our read and our write, or the member
                # holds as many claims as anyone may (counted in the same guarded UPDATE).
                now_is = await self._get(conn, wish_id)
                if now_is.status != WishStatus.OPEN:
                    raise self._wrong_state(now_is, WishEventKind.CLAIMED)
                count = await repo.count_active_claims(conn, actor.id)
                # Below the limit: the wish was taken and given back meanwhile (PostgreSQL).
                raise TooManyClaims(count=count) if count >= limit else WishChanged()
            await self._record(
                conn,
                wish,
                WishEventKind.CLAIMED,
                actor=actor,
                now=now,
                move=move,
                note=f"team:{team_id}" if team_id else None,
            )
            await self.reminders.cancel(conn, subject_of(wish_id), recurring=False)
            await self.notifier.touch(conn, subject_of(wish_id))
            # The wish as the UPDATE returned it, with the names it is shown with.
            wish = Wish(
                **{
                    **wish.model_dump(),
                    **stored,
                    "claimer_name": actor.display_name,
                    "team_name": team.name if team is not None else None,
                }
            )
            leader: User | None = None
            if team is not None:
                # The leader is read only when someone else claimed (they are told, too).
                leader = actor if team.leader_id == actor.id else None
                leader = leader or await users_repo.get_user(conn, team.leader_id)
            leader_name = leader.display_name if leader is not None else None
            await self._nudge_overdue(conn, wish, now)
            await self._tell_owner(conn, wish, WishTakenForYou(wish=wish, leader=leader_name))
            if team is not None and leader is not None and leader.id != actor.id:
                notice = TeamWishTaken(wish=wish, member=actor.display_name, team=team.name)
                await self.notifier.tell(conn, leader, notice)
        self.notifier.wake()
        return wish

    async def release(
        self, actor: User, wish_id: int, reason: str | None, *, voice_file_id: str | None = None
    ) -> Wish:
        """Give a claimed wish back (why: in words or a voice note): it reopens and is offered
        again."""
        reason_text = trim_text(reason, REASON_MAX, required=voice_file_id is None) or ""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
            move = self._move(wish, WishEventKind.RELEASED, self.parties(actor, wish, team))
            await self._unclaim(conn, wish, move)
            round_id = await self._record(
                conn,
                wish,
                WishEventKind.RELEASED,
                actor=actor,
                now=now,
                move=move,
                note=reason_text,
                voice_file_id=voice_file_id,
            )
            await self.reminders.cancel(conn, subject_of(wish_id), recurring=False)
            released = await self._changed(conn, wish_id)
            given_back = WishGivenBack(
                wish=released,
                helper=taken_by(wish),
                reason=reason_text,
                voice_file_id=voice_file_id,
            )
            await self._tell_owner(conn, released, given_back)
            await self._announce_open(
                conn,
                released,
                round_id,
                exclude={actor.id, wish.claimed_by or actor.id},
                again=True,
            )
        self.notifier.wake()
        return released

    async def assign(self, actor: User, wish_id: int, user_id: int, *, on: bool) -> list[int]:
        """The team leader puts a team member on a team-claimed wish (or takes them off)."""
        now = self.clock.now()
        event = WishEventKind.ASSIGNED if on else WishEventKind.UNASSIGNED
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
            if team is None:
                raise InvalidInput(N_("This wish was not taken on by a team."))
            move = self._move(wish, event, self.parties(actor, wish, team))
            if user_id not in team.member_ids:
                raise NotInTeam(N_("That person is not in the team."))
            if on and user_id == wish.posted_by:
                raise PosterTakesNoPart()  # nobody is credited for helping themselves
            member = await users_repo.get_user(conn, user_id)
            assert member is not None
            if on and await repo.assign(conn, wish_id, user_id, by=actor.id, now=now):
                await self._record(
                    conn, wish, event, actor=actor, now=now, move=move, note=str(user_id)
                )
                if user_id != wish.claimed_by:
                    notice = PutOnWish(wish=wish, leader=actor.display_name, team=team.name)
                    await self.notifier.tell(conn, member, notice)
                    # The resident learns who else may come to the door.
                    added = HelperAddedForYou(
                        wish=wish, helper_id=user_id, helper=member.display_name, team=team.name
                    )
                    await self._tell_owner(conn, wish, added)
            elif not on and await repo.unassign(conn, wish_id, user_id):
                await self._record(
                    conn, wish, event, actor=actor, now=now, move=move, note=str(user_id)
                )
            await self.notifier.touch(conn, subject_of(wish_id))
            assigned = await repo.assignees(conn, wish_id)
        self.notifier.wake()
        return assigned
