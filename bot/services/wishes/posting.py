"""Posting a wish: checks, the row, its first event, offers or urgent alerts, the wall post
and the reminders, all in one transaction; and posting an expired wish again."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import N_, User, Wish, WishEventKind, WishStatus
from bot.services.errors import InvalidInput, NotRegistered
from bot.services.text import trim_text
from bot.services.users import clean_name, clean_phone, clean_room
from bot.services.wishes.drafts import WishDraft, check_needed_by
from bot.services.wishes.offers import WishOffers
from bot.services.wishes.rules import TEXT_MAX, TooManyOpenWishes, WishChanged
from storage import org
from storage import wishes as repo


class WishPosting(WishOffers):
    async def post(self, actor: User, draft: WishDraft) -> Wish:
        """Post a wish (or urgent request); offers and alerts go out in the same transaction."""
        return await self._post(actor, draft, reposting=None)

    async def repost(self, actor: User, wish_id: int) -> Wish:
        """Post an expired wish again, as a new wish with the same content."""
        now = self.clock.now()
        async with self.store.read() as conn:
            old = await self._get(conn, wish_id, actor)
            contact = await repo.get_contact(conn, wish_id)
            await self._check_repost(conn, actor, old)
        needed_by = now + (old.needed_by - old.created_at) if old.needed_by else None
        assert contact is not None
        draft = WishDraft(
            category=old.category,
            text=old.text,
            photo_file_id=old.photo_file_id,
            voice_file_id=old.voice_file_id,
            needed_by=needed_by,
            urgent=old.urgent,
            for_name=old.for_name,
            for_building_id=old.building_id if old.is_proxy else None,
            for_room=contact.room if old.is_proxy else None,
            for_phone=contact.phone if old.is_proxy else None,
        )
        return await self._post(actor, draft, reposting=wish_id)

    async def _check_repost(self, conn: AsyncConnection, actor: User, old: Wish) -> None:
        """An expired wish is posted again by its poster, at most once."""
        self._move(old, WishEventKind.REPOSTED, self.parties(actor, old))
        if any(e.kind == WishEventKind.REPOSTED for e in await repo.events(conn, old.id)):
            raise WishChanged()

    async def _post(self, actor: User, draft: WishDraft, *, reposting: int | None) -> Wish:
        checked = await self._checked(actor, draft)
        async with self.store.transaction() as conn:
            if reposting is not None:
                old = await self._get(conn, reposting, actor)
                await self._check_repost(conn, actor, old)
                await self._record(
                    conn, old, WishEventKind.REPOSTED, actor=actor, now=self.clock.now()
                )
            wish = await self._insert(conn, actor, draft, checked)
        self.notifier.wake()
        return wish

    async def post_within(self, conn: AsyncConnection, actor: User, draft: WishDraft) -> Wish:
        """Post a wish inside the caller's transaction, with what that transaction changes
        besides (e.g. the patrol finding the wish is made of): both, or neither. The caller
        wakes the notifier once it has committed."""
        return await self._insert(conn, actor, draft, await self._checked(actor, draft))

    async def _checked(self, actor: User, draft: WishDraft) -> dict[str, Any]:
        """The draft's values, checked (before any transaction: the checks only read)."""
        text = trim_text(draft.text, TEXT_MAX, required=False)
        if text is None and not draft.photo_file_id and not draft.voice_file_id:
            raise InvalidInput(N_("Please tell us the wish: some words, a photo or a voice note."))
        now = self.clock.now()
        needed_by = check_needed_by(draft.needed_by, now) if draft.needed_by else None
        values: dict[str, Any] = {"text": text, "needed_by": needed_by}
        community = self.proxy_community(actor) if draft.is_proxy else actor.community_id
        if community is None:
            raise NotRegistered()
        values["community_id"] = community
        if draft.is_proxy:
            self._require_member(actor, allow_coordinator=True)
            values["for_name"] = clean_name(draft.for_name or "")
            values["for_room"] = clean_room(draft.for_room) if draft.for_room else None
            values["for_phone"] = clean_phone(draft.for_phone) if draft.for_phone else None
            values["building_id"] = await self._open_building(draft.for_building_id, community)
        else:
            values["building_id"] = actor.building_id
        return values

    async def _insert(
        self, conn: AsyncConnection, actor: User, draft: WishDraft, checked: dict[str, Any]
    ) -> Wish:
        now = self.clock.now()
        if not draft.is_proxy:
            count = await repo.count_unfinished_own(conn, actor.id)
            if count >= self.settings.max_open_wishes:
                raise TooManyOpenWishes(count=count)
        wish_id = await repo.insert_wish(
            conn,
            posted_by=actor.id,
            category=draft.category,
            photo_file_id=draft.photo_file_id,
            voice_file_id=draft.voice_file_id,
            urgent=draft.urgent,
            now=now,
            **checked,
        )
        round_id = await repo.add_event(
            conn,
            wish_id,
            WishEventKind.POSTED,
            actor_id=actor.id,
            now=now,
            to_status=WishStatus.OPEN,
        )
        wish = await self._get(conn, wish_id)
        await self._announce_open(conn, wish, round_id, exclude={actor.id})
        await self._post_to_wall(conn, wish)
        return wish

    def proxy_community(self, actor: User) -> int | None:
        """Where a wish posted on someone's behalf belongs (and whose buildings are offered):
        the actor's own community; for a coordinator who looks after exactly one other
        community than the one they live in, that one (the people they serve)."""
        reach = actor.reach if actor.is_coordinator else None
        if (
            reach is not None
            and reach.whole_communities
            and reach.only_community is not None
            and reach.only_community != actor.community_id
        ):
            return reach.only_community
        return actor.community_id

    async def _open_building(self, building_id: int | None, community_id: int) -> int | None:
        if building_id is None:
            return None
        async with self.store.read() as conn:
            building = await org.get_building(conn, building_id)
        if building is None or building.archived or building.community_id != community_id:
            raise InvalidInput(N_("Please choose a building from the list."))
        return building.id
