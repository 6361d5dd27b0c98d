"""Coordinator broadcasts: compose, choose an audience, preview, send now or at a local time,
follow the delivery. Every message goes through the outbox; every decision is audited. The
limits, refusals, delivery report and notices are in `rules`."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import (
    N_,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    Building,
    Node,
    NodeKind,
    Reach,
    Team,
    User,
)

# Telegram allows 4096 characters of text and 1024 of caption; the header needs the rest.
from bot.services.broadcast.rules import (
    AUDIENCE_LABELS,
    AUDIENCES_WITH_REF,
    CAPTION_MAX,
    DELIVERING_KEPT,
    EARLIEST_SCHEDULE,
    LATEST_SCHEDULE,
    NEWS_PAGE_SIZE,
    PROGRESS_VIEW,
    TEXT_MAX,
    AlreadyDecided,
    Announcement,
    BroadcastFinished,
    DeliveryReport,
    Draft,
    EmptyBroadcast,
    NewsItem,
    NewsPage,
    NoRecipients,
    progress_key,
    thing_of,
    visible_length,
)
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.notify import Notifier
from bot.services.scope import require_coordinator
from storage import audit, org
from storage import broadcasts as broadcasts_repo
from storage import outbox as outbox_repo
from storage import study as study_repo
from storage import teams as teams_repo
from storage import users as users_repo
from storage.store import Store


@dataclass
class BroadcastService:
    store: Store
    clock: Clock
    notifier: Notifier
    settings: Settings
    _delivering: OrderedDict[int, tuple[Broadcast, str]] = field(default_factory=OrderedDict)

    # --- composing ---------------------------------------------------------------------------

    async def create_draft(
        self,
        actor: User,
        *,
        text: str | None,
        photo_file_id: str | None = None,
        document_file_id: str | None = None,
    ) -> Draft:
        """A new draft from the coordinator's message, to the people below their node; `text`
        is HTML (user text escaped)."""
        reach = require_coordinator(actor)
        body = text.strip() if text and text.strip() else None
        media = photo_file_id or document_file_id
        if body is None and not media:
            raise EmptyBroadcast()
        if photo_file_id and document_file_id:
            raise InvalidInput()
        if body is not None:
            limit = CAPTION_MAX if media else TEXT_MAX
            if visible_length(body) > limit:
                message = (
                    N_("The caption is too long: at most {limit} characters, yours has {count}.")
                    if media
                    else N_("The text is too long: at most {limit} characters, yours has {count}.")
                )
                raise InvalidInput(message, limit=limit, count=visible_length(body))
        async with self.store.transaction() as conn:
            broadcast = await broadcasts_repo.insert_draft(
                conn,
                created_by=actor.id,
                text=body,
                photo_file_id=photo_file_id,
                document_file_id=document_file_id,
                node=reach.node,
                now=self.clock.now(),
            )
        return await self._draft(broadcast)

    async def buildings(self, actor: User) -> list[Building]:
        """The buildings below the coordinator, to send to one of them."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            found = [
                b
                for community in sorted(reach.community_ids)
                for b in await org.list_buildings(conn, community)
            ]
        return [b for b in found if reach.covers(b.community_id, b.id)]

    async def teams(self, actor: User) -> list[Team]:
        """The teams below the coordinator (none for a building's)."""
        reach = require_coordinator(actor)
        if not reach.whole_communities:
            return []
        async with self.store.read() as conn:
            return [
                team
                for community in sorted(reach.community_ids)
                for team in await teams_repo.list_teams(conn, community)
            ]

    async def choose_audience(
        self, actor: User, broadcast_id: int, kind: AudienceKind, ref: int | None = None
    ) -> Draft:
        """Set who receives the draft; refused when nobody would."""
        broadcast = await self._own_draft(actor, broadcast_id)
        if kind in AUDIENCES_WITH_REF:
            await self._check_ref(actor, kind, ref)
        else:
            ref = None
        count = await self._count(broadcast, kind, ref)
        if count == 0:
            raise NoRecipients()
        async with self.store.transaction() as conn:
            if not await broadcasts_repo.update_draft(
                conn, broadcast_id, audience=kind.value, audience_ref=ref
            ):
                raise AlreadyDecided()
        return await self.draft(actor, broadcast_id)

    async def set_urgent(self, actor: User, broadcast_id: int, urgent: bool) -> Draft:
        """Urgent announcements also reach people who turned announcements off."""
        await self._own_draft(actor, broadcast_id)
        async with self.store.transaction() as conn:
            if not await broadcasts_repo.update_draft(conn, broadcast_id, urgent=urgent):
                raise AlreadyDecided()
        return await self.draft(actor, broadcast_id)

    async def draft(self, actor: User, broadcast_id: int) -> Draft:
        """A broadcast to the coordinator's node or below it, with its current recipient
        count."""
        return await self._draft(await self._seen(actor, broadcast_id))

    async def preview(self, actor: User, broadcast_id: int) -> tuple[Broadcast, str]:
        """The draft and the name of the place it comes from, for showing the coordinator
        what recipients will get."""
        draft = await self.draft(actor, broadcast_id)
        return draft.broadcast, await self._sender(draft.broadcast)

    async def for_delivery(self, broadcast_id: int) -> tuple[Broadcast, str]:
        """A broadcast being sent and the community's name, for rendering its messages (the
        outbox asks, once per recipient; the recipients were chosen when it was queued). A
        broadcast no longer changes once it is sending, so a few are kept in memory: one
        database read per broadcast, not one per recipient."""
        cached = self._delivering.get(broadcast_id)
        if cached is not None:
            return cached
        broadcast = await self._get(broadcast_id)
        found = broadcast, await self._sender(broadcast)
        if found[0].status in (BroadcastStatus.SENDING, BroadcastStatus.DONE):
            self._delivering[broadcast_id] = found
            while len(self._delivering) > DELIVERING_KEPT:
                self._delivering.popitem(last=False)
        return found

    # --- reading back ------------------------------------------------------------------------

    async def received(self, reader: User, page: int = 0) -> NewsPage:
        """A page of the announcements that reached the reader's chat, newest first, each
        with the place it came from. Only what reached them: one they had turned off, or
        sent before they registered, was never theirs (and its audience may not have been)."""
        page = max(page, 0)
        async with self.store.read() as conn:
            found = await broadcasts_repo.received_by(
                conn, reader.id, offset=page * NEWS_PAGE_SIZE, limit=NEWS_PAGE_SIZE + 1
            )
        senders: dict[Node | None, str] = {}
        items = []
        for received in found[:NEWS_PAGE_SIZE]:
            node = received.broadcast.node
            if node not in senders:
                senders[node] = await self._sender(received.broadcast)
            items.append(NewsItem(received=received, sender=senders[node]))
        return NewsPage(items=tuple(items), page=page, more=len(found) > NEWS_PAGE_SIZE)

    async def received_one(self, reader: User, broadcast_id: int) -> NewsItem:
        """One announcement of the reader's archive, in full; only one that reached them."""
        async with self.store.read() as conn:
            found = await broadcasts_repo.received_by(conn, reader.id, broadcast_id=broadcast_id)
        if not found:
            raise NotFound()
        return NewsItem(received=found[0], sender=await self._sender(found[0].broadcast))

    # --- deciding ----------------------------------------------------------------------------

    async def send_now(self, actor: User, broadcast_id: int) -> int:
        """Queue the draft for its whole audience; the number of recipients."""
        broadcast = await self._own_draft(actor, broadcast_id)
        community = await self._community_of(broadcast)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            queued = await self._start_sending(conn, actor, broadcast, now, community)
        self.notifier.wake()
        return queued

    async def _start_sending(
        self,
        conn: AsyncConnection,
        actor: User,
        broadcast: Broadcast,
        now: datetime,
        community_id: int | None,
        **audited: object,
    ) -> int:
        """A draft becomes SENDING, queued for its audience and audited, inside the caller's
        transaction; AlreadyDecided or NoRecipients (rolling it all back) instead."""
        if not await broadcasts_repo.transition(
            conn,
            broadcast.id,
            from_statuses=[BroadcastStatus.DRAFT],
            to_status=BroadcastStatus.SENDING,
            started_at=now,
        ):
            raise AlreadyDecided()
        queued = await self._enqueue(conn, broadcast, now)
        if queued == 0:
            raise NoRecipients()
        await audit.record(
            conn,
            actor_id=actor.id,
            action="broadcast.send",
            subject=f"broadcast:{broadcast.id}",
            now=now,
            community_id=community_id,
            after=self._audit_values(broadcast, recipients=queued, **audited),
        )
        return queued

    async def send_content(
        self,
        conn: AsyncConnection,
        actor: User,
        *,
        node: Node,
        kind: str,
        content: dict[str, object],
        now: datetime,
    ) -> tuple[int, int]:
        """Queue now, inside the caller's transaction, an announcement to everyone below
        `node` whose body is data (`kind`, `content`: a monthly digest) rendered in each
        reader's language by the view registered for the kind; sent, paced, reported and
        audited as any announcement. The caller has checked the role and the node. Returns
        (the broadcast's id, how many it goes to); NoRecipients when nobody would get it."""
        broadcast = await broadcasts_repo.insert_draft(
            conn,
            created_by=actor.id,
            text=None,
            photo_file_id=None,
            document_file_id=None,
            node=node,
            now=now,
            content_kind=kind,
            content=content,
        )
        community = (await self._reach(conn, broadcast)).only_community
        queued = await self._start_sending(conn, actor, broadcast, now, community, content=kind)
        return broadcast.id, queued

    async def schedule(self, actor: User, broadcast_id: int, at: datetime) -> Draft:
        """Send the draft at `at` (aware); refused in the past or more than a year ahead."""
        broadcast = await self._own_draft(actor, broadcast_id)
        now = self.clock.now()
        if at < now + EARLIEST_SCHEDULE:
            raise InvalidInput(N_("That time has already passed. Please choose a later time."))
        if at > now + LATEST_SCHEDULE:
            raise InvalidInput(N_("Please choose a time within the next year."))
        if await self._count(broadcast) == 0:
            raise NoRecipients()
        community = await self._community_of(broadcast)
        async with self.store.transaction() as conn:
            if not await broadcasts_repo.transition(
                conn,
                broadcast_id,
                from_statuses=[BroadcastStatus.DRAFT],
                to_status=BroadcastStatus.SCHEDULED,
                scheduled_at=at,
            ):
                raise AlreadyDecided()
            await audit.record(
                conn,
                actor_id=actor.id,
                action="broadcast.schedule",
                subject=f"broadcast:{broadcast_id}",
                now=now,
                community_id=community,
                after={**self._audit_values(broadcast), "scheduled_at": at.isoformat()},
            )
        return await self.draft(actor, broadcast_id)

    async def cancel(self, actor: User, broadcast_id: int) -> Broadcast:
        """Drop a draft, cancel a scheduled broadcast, or stop one that is sending (messages
        already out stay out). Any coordinator above it may cancel; it is audited."""
        broadcast = await self._seen(actor, broadcast_id)
        community = await self._community_of(broadcast)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if broadcast.status is BroadcastStatus.DRAFT and broadcast.created_by != actor.id:
                raise NotAllowed()
            if broadcast.status is BroadcastStatus.SENDING:
                stopped = await outbox_repo.cancel_broadcast_rows(conn, broadcast_id, now)
                action, after = "broadcast.stop", {"stopped": stopped}
            elif await broadcasts_repo.transition(
                conn,
                broadcast_id,
                from_statuses=[BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED],
                to_status=BroadcastStatus.CANCELLED,
                finished_at=now,
            ):
                action, after = "broadcast.cancel", {}
            else:
                raise AlreadyDecided()
            await audit.record(
                conn,
                actor_id=actor.id,
                action=action,
                subject=f"broadcast:{broadcast_id}",
                now=now,
                community_id=community,
                before={"status": broadcast.status.value},
                after=after,
            )
        return await self._get(broadcast_id)

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        """Where the coordinator watches the progress: a live message, edited as it goes."""
        broadcast = await self._get(broadcast_id)
        async with self.store.transaction() as conn:
            creator = await users_repo.get_user(conn, broadcast.created_by)
            retired = await self.notifier.keep(
                conn,
                key=progress_key(broadcast_id),
                thing=thing_of(broadcast_id),
                view=PROGRESS_VIEW,
                chat_id=chat_id,
                message_id=message_id,
                language=creator.language if creator else self.settings.default_language,
                viewer_id=broadcast.created_by,
            )
        if retired:
            self.notifier.wake()

    # --- following ---------------------------------------------------------------------------

    async def scheduled(self, actor: User, *, limit: int = 15) -> list[Draft]:
        """Scheduled and running broadcasts, newest first (a screenful: one message holds at
        most 4096 characters)."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            found = await broadcasts_repo.with_status(
                conn,
                [BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING],
                reach=reach,
                limit=limit,
            )
        return [await self._draft(b) for b in found]

    async def recent(self, actor: User, *, limit: int = 10) -> list[Broadcast]:
        """Broadcasts that were sent or are sending, newest first."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            return await broadcasts_repo.with_status(
                conn, [BroadcastStatus.SENDING, BroadcastStatus.DONE], reach=reach, limit=limit
            )

    async def report(self, actor: User, broadcast_id: int) -> tuple[Broadcast, DeliveryReport]:
        broadcast = await self._seen(actor, broadcast_id)
        async with self.store.read() as conn:
            counts = await outbox_repo.status_counts(conn, broadcast_id)
            unconfirmed = await outbox_repo.unconfirmed_count(conn, broadcast_id)
        return broadcast, DeliveryReport.from_counts(counts, unconfirmed=unconfirmed)

    # --- the sweep ---------------------------------------------------------------------------

    async def start_due(self) -> list[int]:
        """Start the scheduled broadcasts whose time has come; their ids."""
        now = self.clock.now()
        async with self.store.read() as conn:
            due = await broadcasts_repo.due_scheduled(conn, now)
        if not due:
            return []
        started = []
        for broadcast in due:
            async with self.store.transaction() as conn:
                if not await broadcasts_repo.transition(
                    conn,
                    broadcast.id,
                    from_statuses=[BroadcastStatus.SCHEDULED],
                    to_status=BroadcastStatus.SENDING,
                    started_at=now,
                ):
                    continue
                await self._enqueue(conn, broadcast, now)
                creator = await users_repo.get_user(conn, broadcast.created_by)
                if creator is not None:
                    # Sent first (not bulk); it then shows the progress as it goes.
                    await self.notifier.show_live(
                        conn,
                        key=progress_key(broadcast.id),
                        thing=thing_of(broadcast.id),
                        view=PROGRESS_VIEW,
                        chat_id=creator.id,
                        language=creator.language,
                        viewer_id=creator.id,
                    )
            started.append(broadcast.id)
        self.notifier.wake()
        return started

    async def progress(self) -> int:
        """The sweep's step: the progress messages of running broadcasts are edited (through
        the outbox, at most one edit waiting each); a broadcast whose messages were all handled
        is marked DONE and its report queued to the coordinator who sent it. How many moved."""
        now = self.clock.now()
        async with self.store.read() as conn:
            running = await broadcasts_repo.with_status(conn, [BroadcastStatus.SENDING])
            still_open = await outbox_repo.open_broadcasts(conn, [b.id for b in running])
        moved = 0
        for broadcast in running:
            async with self.store.transaction() as conn:
                if broadcast.id not in still_open:
                    moved += await self._finish(conn, broadcast, now)
                else:
                    moved += await self.notifier.touch(conn, thing_of(broadcast.id))
        if moved:
            self.notifier.wake()
        return moved

    async def _finish(self, conn: AsyncConnection, broadcast: Broadcast, now: datetime) -> int:
        if not await broadcasts_repo.transition(
            conn,
            broadcast.id,
            from_statuses=[BroadcastStatus.SENDING],
            to_status=BroadcastStatus.DONE,
            finished_at=now,
        ):
            return 0
        report = DeliveryReport.from_counts(
            await outbox_repo.status_counts(conn, broadcast.id),
            unconfirmed=await outbox_repo.unconfirmed_count(conn, broadcast.id),
        )
        creator = await users_repo.get_user(conn, broadcast.created_by)
        if creator is not None:
            await self.notifier.tell(
                conn,
                creator,
                BroadcastFinished(broadcast_id=broadcast.id, report=report),
                dedupe_key=f"broadcast:{broadcast.id}:report",
            )
        return 1 + await self.notifier.touch(conn, thing_of(broadcast.id))

    # --- inside ------------------------------------------------------------------------------

    async def _sender(self, broadcast: Broadcast) -> str:
        """Whom the announcement comes from: the name of its node (a street, a district…);
        where that holds one community, the community's, the name residents know."""
        if broadcast.node is None:
            return ""
        async with self.store.read() as conn:
            reach = await self._reach(conn, broadcast)
            if reach.only_community is not None and reach.building_id is None:
                return await org.node_name(
                    conn, Node(kind=NodeKind.COMMUNITY, id=reach.only_community)
                )
            return await org.node_name(conn, broadcast.node)

    async def _reach(self, conn: AsyncConnection, broadcast: Broadcast) -> Reach:
        """The people it may go to: those below its node (nobody, if the node is gone)."""
        reach = await org.reach_of(conn, broadcast.node) if broadcast.node else None
        return reach or Reach(node=Node(kind=NodeKind.COMMUNITY, id=0), community_ids=frozenset())

    async def _community_of(self, broadcast: Broadcast) -> int | None:
        """The community an audit entry about it names (None above a community)."""
        async with self.store.read() as conn:
            reach = await self._reach(conn, broadcast)
        return reach.only_community

    async def _seen(self, actor: User, broadcast_id: int) -> Broadcast:
        """A broadcast to the coordinator's node or below it (else: not found)."""
        reach = require_coordinator(actor)
        broadcast = await self._get(broadcast_id)
        async with self.store.read() as conn:
            below = await broadcasts_repo.is_sent_below(conn, broadcast_id, reach)
        if not below:
            raise NotFound()
        return broadcast

    async def _enqueue(self, conn: AsyncConnection, broadcast: Broadcast, now: datetime) -> int:
        recipients = await broadcasts_repo.audience_recipients(
            conn,
            broadcast.audience,
            broadcast.audience_ref,
            reach=await self._reach(conn, broadcast),
            include_opted_out=broadcast.urgent,
        )
        rows = [(u, lang, f"broadcast:{broadcast.id}:{u}") for u, lang in recipients]
        return await outbox_repo.enqueue_notices(
            conn, Announcement(broadcast_id=broadcast.id), rows, now=now, broadcast_id=broadcast.id
        )

    async def _get(self, broadcast_id: int) -> Broadcast:
        async with self.store.read() as conn:
            broadcast = await broadcasts_repo.get_broadcast(conn, broadcast_id)
        if broadcast is None:
            raise NotFound()
        return broadcast

    async def _own_draft(self, actor: User, broadcast_id: int) -> Broadcast:
        broadcast = await self._seen(actor, broadcast_id)
        if broadcast.created_by != actor.id:
            raise NotAllowed()
        if broadcast.status is not BroadcastStatus.DRAFT:
            raise AlreadyDecided()
        return broadcast

    async def _check_ref(self, actor: User, kind: AudienceKind, ref: int | None) -> None:
        if ref is None:
            raise InvalidInput()
        async with self.store.read() as conn:
            if kind is AudienceKind.BUILDING:
                building = await org.get_building(conn, ref)
                if (
                    building is None
                    or building.archived
                    or not actor.covers(building.community_id, building.id)
                ):
                    raise InvalidInput(N_("Please choose a building from the list."))
            elif kind is AudienceKind.SESSION:
                session = await study_repo.get_session(conn, ref)
                if session is None or not actor.covers(
                    session.slot.community_id, session.slot.building_id
                ):
                    raise InvalidInput(N_("Please choose a study session from the list."))
            else:
                team = await teams_repo.get_team(conn, ref)
                if team is None or not team.active or not actor.covers(team.community_id):
                    raise InvalidInput(N_("Please choose a team from the list."))

    async def _count(
        self, broadcast: Broadcast, kind: AudienceKind | None = None, ref: int | None = None
    ) -> int:
        """How many it reaches (with another audience: how many that would reach)."""
        if kind is None:
            kind, ref = broadcast.audience, broadcast.audience_ref
        async with self.store.read() as conn:
            return await broadcasts_repo.count_audience(
                conn,
                kind,
                ref,
                reach=await self._reach(conn, broadcast),
                include_opted_out=broadcast.urgent,
            )

    async def _draft(self, broadcast: Broadcast) -> Draft:
        name: str | None = None
        async with self.store.read() as conn:
            if broadcast.audience is AudienceKind.BUILDING and broadcast.audience_ref:
                building = await org.get_building(conn, broadcast.audience_ref)
                name = building.name if building else None
            elif broadcast.audience is AudienceKind.TEAM and broadcast.audience_ref:
                team = await teams_repo.get_team(conn, broadcast.audience_ref)
                name = team.name if team else None
            elif broadcast.audience is AudienceKind.SESSION and broadcast.audience_ref:
                session = await study_repo.get_session(conn, broadcast.audience_ref)
                name = session.title if session else None
        count = await self._count(broadcast)
        return Draft(broadcast, count, name)

    @staticmethod
    def _audit_values(broadcast: Broadcast, **extra: object) -> dict[str, object]:
        return {
            "audience": broadcast.audience.value,
            "audience_ref": broadcast.audience_ref,
            "urgent": broadcast.urgent,
            "text": (broadcast.text or "")[:200],
            "photo": bool(broadcast.photo_file_id),
            "document": bool(broadcast.document_file_id),
            **extra,
        }


__all__ = [
    "AUDIENCES_WITH_REF",
    "AUDIENCE_LABELS",
    "CAPTION_MAX",
    "DELIVERING_KEPT",
    "EARLIEST_SCHEDULE",
    "LATEST_SCHEDULE",
    "PROGRESS_VIEW",
    "TEXT_MAX",
    "AlreadyDecided",
    "Announcement",
    "BroadcastFinished",
    "BroadcastService",
    "DeliveryReport",
    "Draft",
    "EmptyBroadcast",
    "NewsItem",
    "NewsPage",
    "NoRecipients",
    "progress_key",
    "thing_of",
    "visible_length",
]
