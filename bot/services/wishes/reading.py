"""Reading wishes: a card, the contact details (only for the claimer and coordinators), what
someone may do with a wish, the lists (open wishes, mine, my tasks) and the history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    N_,
    AtDoor,
    Team,
    User,
    Wish,
    WishCategory,
    WishContact,
    WishEvent,
    WishEventKind,
    WishPage,
    WishParticipant,
    WishStatus,
)
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.lifecycle import Party
from bot.services.wishes.core import covers
from bot.services.wishes.drafts import WishAccess, WishCard, WishFilter
from bot.services.wishes.handshake import owner_code
from bot.services.wishes.offers import WishOffers
from bot.services.wishes.rules import (
    PAGE_SIZE,
    NotYourTask,
    NotYourWish,
    Thanked,
    TooManyOpenWishes,
    categories_for,
)
from storage import teams as teams_repo
from storage import users as users_repo
from storage import wishes as repo


def may_see_contact(actor: User, wish: Wish) -> bool:
    """Room and phone: the member who claimed the wish while it is in hand, and the
    coordinators above it."""
    if covers(actor, wish):
        return True
    active = wish.status in (WishStatus.CLAIMED, WishStatus.DONE)
    return active and wish.claimed_by == actor.id


def may_view(actor: User, wish: Wish, parties: frozenset[Party]) -> bool:
    """Whether `actor` may read the wish's card (see `WishReading.view`); `parties` may be
    left empty when the cheaper checks decide."""
    if covers(actor, wish) or actor.id in (wish.posted_by, wish.claimed_by):
        return True
    serves = actor.is_member and actor.belongs_to(wish.community_id)
    if serves and wish.status == WishStatus.OPEN:
        return True
    return bool(parties & {Party.ASSIGNEE, Party.LEADER})


def _access(actor: User, wish: Wish, parties: frozenset[Party]) -> WishAccess:
    return WishAccess(
        owns=Party.OWNER in parties,
        handles=bool(parties & {Party.HANDLER, Party.ASSIGNEE}),
        leads=Party.LEADER in parties,
        releases=bool(parties & {Party.HANDLER, Party.COORDINATOR}),
        sees_contact=may_see_contact(actor, wish),
        coordinates=Party.COORDINATOR in parties,
    )


class WishReading(WishOffers):
    async def view(self, actor: User, wish_id: int) -> Wish:
        """A wish card: coordinators see any wish below them; members an open one of their
        community (to take it on) and any they have a part in; residents their own. A closed
        wish of someone else's — its kind may be health or counselling, its thank-you private
        — is nobody else's to read."""
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id, actor)
            if may_view(actor, wish, frozenset()):
                return wish
            parties = await self._parties_in(conn, actor, wish)
        if may_view(actor, wish, parties):
            return wish
        raise NotYourWish()

    async def card(self, actor: User, wish_id: int) -> WishCard:
        """All a card shows, read on one connection: the wish (seen under the rules of
        `view`), what the actor may do with it, the contact when theirs to see, the teams they
        could take it on for. Each statement sees the latest commit (not one snapshot): a card
        shown is re-read once it is kept current (see the handlers' `show_card`)."""
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id, actor)
            parties = await self._parties_in(conn, actor, wish)
            if not may_view(actor, wish, parties):
                raise NotYourWish()
            seen = may_see_contact(actor, wish)
            contact = await repo.get_contact(conn, wish.id) if seen else None
            teams = await teams_repo.teams_of(conn, actor.id) if actor.is_member else []
            door = await self._at_door(conn, wish) if Party.OWNER in parties else None
            code = await owner_code(conn, actor, wish)  # the resident's own card alone
        access = _access(actor, wish, parties)
        return WishCard(wish, access, contact, tuple(teams), door, handshake_code=code)

    async def at_door(self, actor: User, wish_id: int) -> AtDoor | None:
        """Who is coming for the actor's wish while it is in hand (None otherwise): only for
        the one who posted it (or the coordinators of a wish posted on someone's behalf)."""
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id, actor)
            if not self._owns(actor, wish):
                return None
            return await self._at_door(conn, wish)

    async def _at_door(self, conn: AsyncConnection, wish: Wish) -> AtDoor | None:
        if wish.status != WishStatus.CLAIMED or wish.claimed_by is None:
            return None
        team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
        coming = [wish.claimed_by]
        coming += [i for i in await repo.assignees(conn, wish.id) if i not in coming]
        # The leader is named to the resident; their phone only if they are coming too.
        leader_id = team.leader_id if team is not None else None
        found = await users_repo.visitors(conn, [*coming, *filter(None, [leader_id])])
        leader = found.get(leader_id) if leader_id is not None else None
        return AtDoor(
            wish_id=wish.id,
            visitors=tuple(found[i] for i in coming if i in found),
            team_name=team.name if team is not None else None,
            leader_name=leader.name if leader is not None else None,
        )

    async def get(self, wish_id: int) -> Wish | None:
        """A wish of the community whose members' group shows the wall, for the wall post: no
        actor, so never its contact details."""
        async with self.store.read() as conn:
            wish = await repo.get_wish(conn, wish_id)
        return wish if wish is not None and wish.community_id == self.wall_community_id else None

    async def contact(self, actor: User, wish_id: int) -> WishContact:
        """Room and phone: only for the member who claimed the wish, and coordinators."""
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id, actor)
            if not may_see_contact(actor, wish):
                raise NotYourTask()
            contact = await repo.get_contact(conn, wish_id)
        assert contact is not None
        return contact

    async def access(self, actor: User, wish: Wish) -> WishAccess:
        async with self.store.read() as conn:
            parties = await self._parties_in(conn, actor, wish)
        return _access(actor, wish, parties)

    async def check_move(self, actor: User, wish_id: int, event: WishEventKind) -> Wish:
        """The wish, when `actor` may make the move `event` on it now (checked before asking
        them to type a note, a reason or a thank-you); else the refusal that fits."""
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id, actor)
            parties = await self._parties_in(conn, actor, wish)
        self._move(wish, event, parties)
        if event is WishEventKind.THANKED and wish.thanked:
            raise Thanked()
        return wish

    async def browse(
        self, actor: User, wish_filter: WishFilter, *, before: int | None = None
    ) -> WishPage:
        """A page of open wishes for members (newest first, keyset-paginated)."""
        self._require_member(actor, allow_coordinator=True)
        categories: list[WishCategory] | None = None
        building_id: int | None = None
        if wish_filter.kind == "building":
            if actor.building_id is None:
                raise InvalidInput(
                    N_("Your profile has no building. Set it in /profile to use this filter.")
                )
            building_id = actor.building_id
        elif wish_filter.kind == "skills":
            categories = categories_for(actor.skills)
            if not categories:
                return WishPage(wishes=())
        elif wish_filter.kind == "category":
            if wish_filter.category is None:
                raise InvalidInput()
            categories = [wish_filter.category]
        places: list[tuple[int, int | None]] = []
        if actor.is_member and actor.community_id is not None:
            places.append((actor.community_id, None))  # members serve their own community
        if actor.reach is not None and actor.is_coordinator:
            places += [(c, actor.reach.building_id) for c in actor.reach.community_ids]
        async with self.store.read() as conn:
            found = await repo.open_wishes(
                conn,
                places,
                categories=categories,
                building_id=building_id,
                before=before,
                limit=PAGE_SIZE + 1,
            )
        return _page(found)

    async def mine(self, actor: User, *, before: int | None = None) -> WishPage:
        """A page of the wishes the actor posted (also on behalf of others), newest first."""
        async with self.store.read() as conn:
            found = await repo.wishes_posted_by(conn, actor.id, before=before, limit=PAGE_SIZE + 1)
        return _page(found)

    async def tasks(self, actor: User) -> list[Wish]:
        """Wishes in hand: claimed by me, assigned to me, or claimed by a team I lead."""
        async with self.store.read() as conn:
            led = [
                t.id for t in await teams_repo.teams_of(conn, actor.id) if t.leader_id == actor.id
            ]
            return await repo.tasks_of(conn, actor.id, led)

    async def history(self, actor: User, wish_id: int) -> list[WishEvent]:
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id, actor)
            if not (covers(actor, wish) or actor.id in (wish.posted_by, wish.claimed_by)):
                raise NotAllowed()
            return await repo.events(conn, wish_id)

    async def assignees(self, wish_id: int) -> list[int]:
        async with self.store.read() as conn:
            return await repo.assignees(conn, wish_id)

    async def participants(self, wish_id: int) -> list[WishParticipant]:
        """Who was credited for a confirmed wish (empty until it is confirmed)."""
        async with self.store.read() as conn:
            return await repo.participants(conn, wish_id)

    async def credited_between(self, start: datetime, end: datetime) -> list[WishParticipant]:
        async with self.store.read() as conn:
            return await repo.credited_between(conn, start, end)

    async def claim_teams(self, actor: User) -> list[Team]:
        """The teams the actor may claim for."""
        async with self.store.read() as conn:
            return await teams_repo.teams_of(conn, actor.id)

    async def team_of(self, wish: Wish) -> Team | None:
        if wish.team_id is None:
            return None
        async with self.store.read() as conn:
            return await teams_repo.get_team(conn, wish.team_id)

    async def open_count(self, actor: User) -> int:
        async with self.store.read() as conn:
            return await repo.count_unfinished_own(conn, actor.id)

    async def check_can_post(self, actor: User, *, proxy: bool = False) -> None:
        """Refuse early (before a dialogue) when the actor may not post now."""
        if proxy:
            self._require_member(actor, allow_coordinator=True)
            return
        count = await self.open_count(actor)
        if count >= self.settings.max_open_wishes:
            raise TooManyOpenWishes(count=count)


def _page(found: list[Wish]) -> WishPage:
    page = found[:PAGE_SIZE]
    more = len(found) > PAGE_SIZE
    return WishPage(wishes=tuple(page), next_before=page[-1].id if more and page else None)
