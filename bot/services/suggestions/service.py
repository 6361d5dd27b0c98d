"""Suggestions (社区智囊团): residents leave views and suggestions — on a topic, in words, a
photo or a voice note, signed or anonymous; members may write down one heard face to face
for a resident (replies then come to the member, who passes them on). Coordinators over the
place answer, move it along (新提交 → 办理中 → 已答复 → 已办结) and link what answered it (a wish,
a patrol finding, an announcement); the author is told each time.

Who may do what, checked here whatever the buttons showed:
- anyone registered leaves a suggestion in their own community (and building); only members
  record one heard from a resident; the token makes a double send one suggestion;
- the author reads their own suggestions with the replies and links;
- a coordinator reads, answers, moves and links the suggestions in their reach (a building's
  coordinator: that building's), each move looked up in `SUGGESTION_LIFECYCLE` and made by a
  guarded UPDATE, each audited; anything else is "no such suggestion".

Anonymity: what a coordinator reads (`SuggestionCard`, the `SuggestionReceived` notice, the
audit rows) never holds the author's id, and holds their name, their building and whom a member
heard it from only when signed; an anonymous suggestion is stored without a building at all, so
no building's coordinator, list, figure or export places it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import (
    SUGGESTION_STATUS_LABELS,
    Model,
    Suggestion,
    SuggestionLink,
    SuggestionLinkKind,
    SuggestionReply,
    SuggestionStatus,
    SuggestionTopic,
    User,
)
from bot.services.lifecycle import Party
from bot.services.notify import Notifier, coordinators_above, quiet_until
from bot.services.scope import require_coordinator
from bot.services.suggestions.notices import (
    AuthorNotice,
    SuggestionLinked,
    SuggestionMoved,
    SuggestionReceived,
    SuggestionReplied,
)
from bot.services.suggestions.rules import (
    SUGGESTION_LIFECYCLE,
    TOKEN_MAX,
    AlreadyLinked,
    EmptyReply,
    EmptySuggestion,
    NoBroadcastToLink,
    NoCommunity,
    NoFindingToLink,
    NoSuchSuggestion,
    NotStaff,
    NoWishToLink,
    OnlyMembersRecord,
    SuggestionEvent,
    WrongState,
    clean_heard_from,
    clean_words,
    moves_from,
)
from storage import audit, org
from storage import suggestions as repo
from storage import users as users_repo
from storage.store import Store

MINE_PAGE = 5  # an author's suggestions per page (with their replies: one message)
LIST_PAGE = 10  # a coordinator's list, per page
SNIPPET = 60

NOTHING_TO_LINK = {
    SuggestionLinkKind.WISH: NoWishToLink,
    SuggestionLinkKind.FINDING: NoFindingToLink,
    SuggestionLinkKind.BROADCAST: NoBroadcastToLink,
}


class Media(StrEnum):
    PHOTO = "photo"
    VOICE = "voice"


class SuggestionDraft(Model):
    """What the dialogue collected."""

    topic: SuggestionTopic
    text: str | None = None
    photo_file_id: str | None = None
    voice_file_id: str | None = None
    anonymous: bool = False
    heard_from: str | None = None  # a member's record of a resident met face to face


class ReplyShown(Model):
    replier_name: str
    text: str
    created_at: datetime


class SuggestionCard(Model):
    """A suggestion as a coordinator reads it: no author id ever; the author's name and
    building only when signed."""

    id: int
    community_name: str
    anonymous: bool
    author_name: str | None = None
    building_name: str | None = None
    heard_from: str | None = None
    topic: SuggestionTopic
    text: str | None = None
    photo: bool = False
    voice: bool = False
    status: SuggestionStatus
    created_at: datetime
    answered_at: datetime | None = None
    replies: list[ReplyShown] = Field(default_factory=list)
    links: list[SuggestionLink] = Field(default_factory=list)
    moves: list[SuggestionEvent] = Field(default_factory=list)


class CardPage(Model):
    status: SuggestionStatus
    page: int
    cards: list[SuggestionCard]
    more: bool
    counts: dict[SuggestionStatus, int]


class Mine(Model):
    """One of the author's own suggestions with its replies and links."""

    suggestion: Suggestion
    replies: list[SuggestionReply] = Field(default_factory=list)
    links: list[SuggestionLink] = Field(default_factory=list)


class MinePage(Model):
    page: int
    items: list[Mine]
    more: bool


def snippet(text: str | None) -> str | None:
    if not text:
        return None
    return text if len(text) <= SNIPPET else text[:SNIPPET] + "…"


@dataclass
class SuggestionsService:
    store: Store
    settings: Settings
    clock: Clock
    notifier: Notifier

    # --- for authors --------------------------------------------------------------------------

    def check_can_record(self, user: User) -> None:
        """Only members write down a suggestion heard from a resident (OnlyMembersRecord)."""
        if not user.is_member:
            raise OnlyMembersRecord()

    async def submit(self, author: User, draft: SuggestionDraft, *, token: str) -> Suggestion:
        """Leave a suggestion in the author's community and building; the coordinators over
        it are told in the same transaction. `token` names this one suggestion: sent twice,
        it is made once and returned again. Raises EmptySuggestion, TextTooLong,
        OnlyMembersRecord, EmptyHeardFrom, NoCommunity."""
        token = token.strip()
        if not token or len(token) > TOKEN_MAX:
            raise ValueError("a suggestion's token is 1 to 64 characters")
        words = clean_words(draft.text)
        if words is None and not draft.photo_file_id and not draft.voice_file_id:
            raise EmptySuggestion()
        heard_from = None
        if draft.heard_from is not None:
            self.check_can_record(author)
            heard_from = clean_heard_from(draft.heard_from)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            done = await repo.suggestion_by_token(conn, author.id, token)
            if done is not None:
                return done  # the same "send" again
            fresh = await users_repo.get_user(conn, author.id)  # its community as it is now
            if fresh is None or fresh.community_id is None:
                raise NoCommunity()
            community = await org.get_community(conn, fresh.community_id)
            assert community is not None
            signed = not draft.anonymous
            # An anonymous suggestion lies in the community alone: tied to the author's
            # building, that building's coordinator (and a building's list, figures or
            # export) would tell where the author lives.
            building_id = fresh.building_id if signed else None
            suggestion_id = await repo.insert_suggestion(
                conn,
                community_id=fresh.community_id,
                building_id=building_id,
                author_id=author.id,
                anonymous=draft.anonymous,
                heard_from=heard_from,
                topic=draft.topic,
                text=words,
                photo_file_id=draft.photo_file_id,
                voice_file_id=draft.voice_file_id,
                token=token,
                now=now,
            )
            if suggestion_id is None:  # raced with the same token
                raced = await repo.suggestion_by_token(conn, author.id, token)
                assert raced is not None
                return raced
            # None when anonymous: its building is not kept.
            building = await org.get_building(conn, building_id) if building_id else None
            notice = SuggestionReceived(
                suggestion_id=suggestion_id,
                community_id=fresh.community_id,
                community_name=community.name,
                topic=draft.topic,
                words=words,
                photo=draft.photo_file_id is not None,
                voice=draft.voice_file_id is not None,
                # Whom a member heard it from names the resident: not when anonymous.
                heard_from=heard_from if signed else None,
                author_name=fresh.display_name if signed else None,
                building_name=building.name if building else None,
            )
            ids = await coordinators_above(conn, fresh.community_id, building_id)
            coordinators = await users_repo.get_users(conn, [i for i in ids if i != author.id])
            # Nothing here is urgent: it waits out each coordinator's quiet hours.
            await self.notifier.tell_all(
                conn,
                coordinators,
                notice,
                not_before=lambda u: quiet_until(u, now, self.settings.zone),
            )
            made = await repo.get_suggestion(conn, suggestion_id)
            assert made is not None
        self.notifier.wake()
        return made

    async def mine(self, author: User, page: int = 0) -> MinePage:
        """The author's own suggestions, newest first, a page at a time."""
        page = max(0, min(page, 10_000))
        async with self.store.read() as conn:
            found = await repo.by_author(
                conn, author.id, offset=page * MINE_PAGE, limit=MINE_PAGE + 1
            )
            shown = found[:MINE_PAGE]
            ids = [s.id for s in shown]
            replies = await repo.replies_of(conn, ids)
            links = await repo.links_of(conn, ids)
        items = [Mine(suggestion=s, replies=replies[s.id], links=links[s.id]) for s in shown]
        return MinePage(page=page, items=items, more=len(found) > MINE_PAGE)

    # --- for coordinators -----------------------------------------------------------------------

    async def _in_reach(
        self, conn: AsyncConnection, actor: User, suggestion_id: int
    ) -> Suggestion:
        if not actor.is_coordinator:
            raise NotStaff()
        found = await repo.get_suggestion(conn, suggestion_id)
        if found is None or not actor.covers(found.community_id, found.building_id):
            raise NoSuchSuggestion()
        return found

    async def _cards(self, conn: AsyncConnection, found: list[Suggestion]) -> list[SuggestionCard]:
        ids = [s.id for s in found]
        replies = await repo.replies_of(conn, ids)
        links = await repo.links_of(conn, ids)
        communities = await org.list_communities(conn, {s.community_id for s in found})
        names = {community.id: community.name for community in communities}
        # Only a signed suggestion's building is read: an anonymous one's is never shown.
        buildings = await org.building_names(
            conn, {s.building_id for s in found if not s.anonymous and s.building_id}
        )
        cards = []
        for s in found:
            signed = not s.anonymous
            cards.append(
                SuggestionCard(
                    id=s.id,
                    community_name=names.get(s.community_id, ""),
                    anonymous=s.anonymous,
                    author_name=s.author_name if signed else None,
                    building_name=buildings.get(s.building_id)
                    if signed and s.building_id
                    else None,
                    heard_from=s.heard_from if signed else None,
                    topic=s.topic,
                    text=s.text,
                    photo=s.photo_file_id is not None,
                    voice=s.voice_file_id is not None,
                    status=s.status,
                    created_at=s.created_at,
                    answered_at=s.answered_at,
                    replies=[
                        ReplyShown(
                            replier_name=r.replier_name or "", text=r.text, created_at=r.created_at
                        )
                        for r in replies[s.id]
                    ],
                    links=links[s.id],
                    moves=moves_from(s.status),
                )
            )
        return cards

    async def _card(self, conn: AsyncConnection, suggestion_id: int) -> SuggestionCard:
        found = await repo.get_suggestion(conn, suggestion_id)
        assert found is not None
        (card,) = await self._cards(conn, [found])
        return card

    async def counts(self, actor: User) -> dict[SuggestionStatus, int]:
        """How many suggestions in the coordinator's reach are at each status."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            return await repo.counts(conn, reach.community_ids, building_id=reach.building_id)

    async def listing(self, actor: User, status: SuggestionStatus, page: int = 0) -> CardPage:
        """The suggestions at `status` in the coordinator's reach, newest first, a page at a
        time, with the counts at every status."""
        reach = require_coordinator(actor)
        page = max(0, min(page, 10_000))
        async with self.store.read() as conn:
            found = await repo.in_reach(
                conn,
                reach.community_ids,
                building_id=reach.building_id,
                status=status,
                offset=page * LIST_PAGE,
                limit=LIST_PAGE + 1,
            )
            cards = await self._cards(conn, found[:LIST_PAGE])
            counts = await repo.counts(conn, reach.community_ids, building_id=reach.building_id)
        return CardPage(
            status=status, page=page, cards=cards, more=len(found) > LIST_PAGE, counts=counts
        )

    async def card(self, actor: User, suggestion_id: int) -> SuggestionCard:
        """One suggestion for a coordinator in reach (else NoSuchSuggestion)."""
        async with self.store.read() as conn:
            found = await self._in_reach(conn, actor, suggestion_id)
            (card,) = await self._cards(conn, [found])
            return card

    async def check_in_reach(self, actor: User, suggestion_id: int) -> None:
        """Refused (NotStaff, NoSuchSuggestion) unless the suggestion is in the coordinator's
        reach: checked before they are asked to type a reply or a link."""
        async with self.store.read() as conn:
            await self._in_reach(conn, actor, suggestion_id)

    async def media(self, actor: User, suggestion_id: int, what: Media) -> str | None:
        """The photo's or voice note's file id, for a coordinator in reach to see it."""
        async with self.store.read() as conn:
            found = await self._in_reach(conn, actor, suggestion_id)
        return found.photo_file_id if what is Media.PHOTO else found.voice_file_id

    def _move(self, found: Suggestion, event: SuggestionEvent) -> SuggestionStatus:
        transition = SUGGESTION_LIFECYCLE.move(
            found.status,
            event,
            frozenset({Party.COORDINATOR}),
            not_yours=NotStaff,
            wrong_state=lambda: WrongState(status=SUGGESTION_STATUS_LABELS[found.status]),
        )
        return transition.target

    async def _tell_author(
        self, conn: AsyncConnection, found: Suggestion, notice: AuthorNotice
    ) -> None:
        author = await users_repo.get_user(conn, found.author_id)
        if author is not None:  # after their quiet hours: many authors are elderly
            wait = quiet_until(author, self.clock.now(), self.settings.zone)
            await self.notifier.tell(conn, author, notice, not_before=wait)

    def _about(self, found: Suggestion) -> dict[str, Any]:
        return {
            "suggestion_id": found.id,
            "topic": found.topic,
            "words": snippet(found.text),
            "heard_from": found.heard_from,
        }

    async def _step(
        self,
        conn: AsyncConnection,
        found: Suggestion,
        event: SuggestionEvent,
        *,
        answered: bool = False,
    ) -> tuple[SuggestionStatus, SuggestionStatus]:
        """Make the move by a guarded UPDATE: (from, to). When another coordinator moved it
        meanwhile, the move is looked up again from where it is now (two replies at once are
        both made; a close after a close is refused)."""
        for _ in range(3):
            target = self._move(found, event)
            if await repo.move(
                conn,
                found.id,
                source=found.status,
                target=target,
                now=self.clock.now(),
                answered=answered,
            ):
                return found.status, target
            latest = await repo.get_suggestion(conn, found.id)
            assert latest is not None  # suggestions are never deleted
            found = latest
        raise WrongState(status=SUGGESTION_STATUS_LABELS[found.status])

    async def reply(self, actor: User, suggestion_id: int, text: str) -> SuggestionCard:
        """A coordinator in reach answers; the author receives it (whoever they are: the
        coordinator never learns who). The first reply makes it 已答复 and sets answered_at.
        Audited. Raises NoSuchSuggestion, NotStaff, EmptyReply, TextTooLong,
        WrongState."""
        words = clean_words(text)
        if words is None:
            raise EmptyReply()
        async with self.store.transaction() as conn:
            found = await self._in_reach(conn, actor, suggestion_id)
            source, target = await self._step(conn, found, SuggestionEvent.REPLY, answered=True)
            now = self.clock.now()
            await repo.insert_reply(conn, found.id, by=actor.id, text=words, now=now)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="suggestion.reply",
                subject=f"suggestion:{found.id}",
                now=now,
                community_id=found.community_id,
                before={"status": source.value},
                after={"status": target.value},
            )
            notice = SuggestionReplied(
                coordinator_name=actor.display_name, reply=words, **self._about(found)
            )
            await self._tell_author(conn, found, notice)
            card = await self._card(conn, found.id)
        self.notifier.wake()
        return card

    async def change(
        self, actor: User, suggestion_id: int, event: SuggestionEvent
    ) -> SuggestionCard:
        """A coordinator in reach moves it (办理中, 已办结, reopened); the author is told.
        Audited. Raises NoSuchSuggestion, NotStaff, WrongState."""
        if event is SuggestionEvent.REPLY:
            raise ValueError("a reply is made with `reply`")
        async with self.store.transaction() as conn:
            found = await self._in_reach(conn, actor, suggestion_id)
            source, target = await self._step(conn, found, event)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="suggestion.status",
                subject=f"suggestion:{found.id}",
                now=self.clock.now(),
                community_id=found.community_id,
                before={"status": source.value},
                after={"status": target.value, "event": event.value},
            )
            await self._tell_author(
                conn, found, SuggestionMoved(status=target, **self._about(found))
            )
            card = await self._card(conn, found.id)
        self.notifier.wake()
        return card

    async def link(
        self, actor: User, suggestion_id: int, kind: SuggestionLinkKind, ref_id: int
    ) -> SuggestionCard:
        """A coordinator in reach links the wish, patrol finding or announcement that answered
        the suggestion — one that exists in their reach; the author is told. Audited. Raises
        NoSuchSuggestion, NotStaff, NoWishToLink (and the like), AlreadyLinked."""
        async with self.store.transaction() as conn:
            found = await self._in_reach(conn, actor, suggestion_id)
            reach = require_coordinator(actor)
            # In the coordinator's reach, and in (or reaching) the suggestion's community: a
            # coordinator over several may not link another community's.
            if kind is SuggestionLinkKind.BROADCAST:
                exists = await repo.broadcast_within(conn, ref_id, reach, found.community_id)
            else:
                place = await repo.place_of(conn, kind, ref_id)
                exists = (
                    place is not None and place[0] == found.community_id and actor.covers(*place)
                )
            if not exists:
                raise NOTHING_TO_LINK[kind](id=ref_id)
            now = self.clock.now()
            made = await repo.insert_link(
                conn, found.id, kind=kind, ref_id=ref_id, by=actor.id, now=now
            )
            if made is None:
                raise AlreadyLinked()
            await audit.record(
                conn,
                actor_id=actor.id,
                action="suggestion.link",
                subject=f"suggestion:{found.id}",
                now=now,
                community_id=found.community_id,
                after={"kind": kind.value, "ref_id": ref_id},
            )
            notice = SuggestionLinked(kind=kind, ref_id=ref_id, **self._about(found))
            await self._tell_author(conn, found, notice)
            card = await self._card(conn, found.id)
        self.notifier.wake()
        return card
