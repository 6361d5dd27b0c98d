"""Coordinator broadcasts: compose, choose an audience, preview, send now or at a local time,
follow the delivery. Every message goes through the outbox; every decision is audited."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.i18n import Translate, esc, translator
from bot.models import (
    N_,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    Building,
    OutboxStatus,
    OutgoingMessage,
    Team,
    User,
)
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.membership import require_coordinator
from bot.services.notify import Notifier
from storage import audit, org
from storage import broadcasts as broadcasts_repo
from storage import outbox as outbox_repo
from storage import teams as teams_repo
from storage import users as users_repo
from storage.store import Store

# Telegram allows 4096 characters of text and 1024 of caption; the header needs the rest.
TEXT_MAX = 3900
CAPTION_MAX = 900
EARLIEST_SCHEDULE = timedelta(minutes=1)
LATEST_SCHEDULE = timedelta(days=366)
AUDIENCES_WITH_REF = frozenset({AudienceKind.BUILDING, AudienceKind.TEAM})

AUDIENCE_LABELS: dict[AudienceKind, str] = {
    AudienceKind.EVERYONE: N_("Everyone"),
    AudienceKind.RESIDENTS: N_("Residents (not members)"),
    AudienceKind.MEMBERS: N_("Members"),
    AudienceKind.COORDINATORS: N_("Coordinators"),
    AudienceKind.BUILDING: N_("One building"),
    AudienceKind.TEAM: N_("One service team"),
    AudienceKind.SESSION: N_("A study session"),
}

_TAG = re.compile(r"<[^>]*>")


def visible_length(html_text: str) -> int:
    """Characters Telegram counts (UTF-16 units) once the HTML is parsed."""
    plain = html.unescape(_TAG.sub("", html_text))
    return len(plain.encode("utf-16-le")) // 2


class EmptyBroadcast(InvalidInput):
    message = N_("The announcement is empty. Please send some text, a photo or a document.")


class NoRecipients(InvalidInput):
    message = N_("No one is in that audience. Please choose another one.")


class AlreadyDecided(Conflict):
    message = N_("This announcement was already sent or cancelled.")


@dataclass(frozen=True)
class DeliveryReport:
    """What became of a broadcast's messages."""

    total: int
    delivered: int
    blocked: int
    failed: int
    pending: int
    cancelled: int

    @classmethod
    def from_counts(cls, counts: dict[OutboxStatus, int]) -> DeliveryReport:
        return cls(
            total=sum(counts.values()),
            delivered=counts[OutboxStatus.SENT],
            blocked=counts[OutboxStatus.BLOCKED],
            failed=counts[OutboxStatus.FAILED],
            pending=counts[OutboxStatus.PENDING] + counts[OutboxStatus.SENDING],
            cancelled=counts[OutboxStatus.CANCELLED],
        )


@dataclass(frozen=True)
class Draft:
    """A broadcast with its audience resolved for showing."""

    broadcast: Broadcast
    recipients: int
    audience_name: str | None  # the building's or team's name


@dataclass(frozen=True)
class ProgressView:
    """A progress message to edit: where, and its text in the coordinator's language."""

    broadcast_id: int
    chat_id: int
    message_id: int
    text: str
    done: bool


def report_text(t: Translate, report: DeliveryReport) -> str:
    """The counts, one per line, in the reader's language."""
    lines = [
        t("Delivered: {count}").format(count=report.delivered),
        t("Blocked the bot: {count}").format(count=report.blocked),
        t("Failed: {count}").format(count=report.failed),
        t("Still waiting: {count}").format(count=report.pending),
    ]
    if report.cancelled:
        lines.append(t("Stopped before sending: {count}").format(count=report.cancelled))
    return "\n".join(lines)


def audience_text(t: Translate, draft: Draft) -> str:
    broadcast = draft.broadcast
    label = t(AUDIENCE_LABELS[broadcast.audience])
    if broadcast.audience is AudienceKind.BUILDING and draft.audience_name:
        label = t("Building {name}").format(name=esc(draft.audience_name))
    elif broadcast.audience is AudienceKind.TEAM and draft.audience_name:
        label = t("Team {name}").format(name=esc(draft.audience_name))
    return label


@dataclass
class BroadcastService:
    store: Store
    clock: Clock
    notifier: Notifier
    settings: Settings
    community_id: int

    # --- composing ---------------------------------------------------------------------------

    async def create_draft(
        self,
        actor: User,
        *,
        text: str | None,
        photo_file_id: str | None = None,
        document_file_id: str | None = None,
    ) -> Draft:
        """A new draft from the coordinator's message; `text` is HTML (user text escaped)."""
        require_coordinator(actor)
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
                now=self.clock.now(),
            )
        return await self._draft(broadcast)

    async def buildings(self, actor: User) -> list[Building]:
        require_coordinator(actor)
        async with self.store.read() as conn:
            return await org.list_buildings(conn, self.community_id)

    async def teams(self, actor: User) -> list[Team]:
        require_coordinator(actor)
        async with self.store.read() as conn:
            return await teams_repo.list_teams(conn, self.community_id)

    async def choose_audience(
        self, actor: User, broadcast_id: int, kind: AudienceKind, ref: int | None = None
    ) -> Draft:
        """Set who receives the draft; refused when nobody would."""
        broadcast = await self._own_draft(actor, broadcast_id)
        if kind is AudienceKind.SESSION:
            raise InvalidInput(N_("Study sessions are not available yet."))
        if kind in AUDIENCES_WITH_REF:
            await self._check_ref(kind, ref)
        else:
            ref = None
        count = await self._count(kind, ref, urgent=broadcast.urgent)
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
        """Any broadcast with its current recipient count (for coordinators)."""
        require_coordinator(actor)
        return await self._draft(await self._get(broadcast_id))

    @staticmethod
    def render(
        broadcast: Broadcast, language: str, chat_id: int, community_name: str
    ) -> OutgoingMessage:
        """The message exactly as a recipient reading `language` gets it."""
        t = translator(language)
        community = esc(community_name)
        header = (
            "❗ <b>" + t("Urgent announcement from {community}").format(community=community)
            if broadcast.urgent
            else "📢 <b>" + t("Announcement from {community}").format(community=community)
        ) + "</b>"
        text = header + ("\n\n" + broadcast.text if broadcast.text else "")
        return OutgoingMessage(
            chat_id=chat_id,
            text=text,
            photo_file_id=broadcast.photo_file_id,
            document_file_id=broadcast.document_file_id,
        )

    async def preview(self, actor: User, broadcast_id: int) -> OutgoingMessage:
        """The draft as the coordinator's recipients will see it, addressed to the coordinator."""
        draft = await self.draft(actor, broadcast_id)
        return self.render(draft.broadcast, actor.language, actor.id, await self._community())

    # --- deciding ----------------------------------------------------------------------------

    async def send_now(self, actor: User, broadcast_id: int) -> int:
        """Queue the draft for its whole audience; the number of recipients."""
        broadcast = await self._own_draft(actor, broadcast_id)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if not await broadcasts_repo.transition(
                conn,
                broadcast_id,
                from_statuses=[BroadcastStatus.DRAFT],
                to_status=BroadcastStatus.SENDING,
                started_at=now,
            ):
                raise AlreadyDecided()
            queued = await self._enqueue(conn, broadcast, now)
            if queued == 0:
                raise NoRecipients()  # rolls the transition back
            await audit.record(
                conn,
                actor_id=actor.id,
                action="broadcast.send",
                subject=f"broadcast:{broadcast_id}",
                now=now,
                after=self._audit_values(broadcast, recipients=queued),
            )
        self.notifier.wake()
        return queued

    async def schedule(self, actor: User, broadcast_id: int, at: datetime) -> Draft:
        """Send the draft at `at` (aware); refused in the past or more than a year ahead."""
        broadcast = await self._own_draft(actor, broadcast_id)
        now = self.clock.now()
        if at < now + EARLIEST_SCHEDULE:
            raise InvalidInput(N_("That time has already passed. Please choose a later time."))
        if at > now + LATEST_SCHEDULE:
            raise InvalidInput(N_("Please choose a time within the next year."))
        if await self._count(broadcast.audience, broadcast.audience_ref, broadcast.urgent) == 0:
            raise NoRecipients()
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
                after={**self._audit_values(broadcast), "scheduled_at": at.isoformat()},
            )
        return await self.draft(actor, broadcast_id)

    async def cancel(self, actor: User, broadcast_id: int) -> Broadcast:
        """Drop a draft, cancel a scheduled broadcast, or stop one that is sending (messages
        already out stay out). Any coordinator may cancel; it is audited."""
        require_coordinator(actor)
        broadcast = await self._get(broadcast_id)
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
                before={"status": broadcast.status.value},
                after=after,
            )
        return await self._get(broadcast_id)

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        """Where the coordinator watches the progress (a message we edit)."""
        async with self.store.transaction() as conn:
            await broadcasts_repo.set_progress_message(conn, broadcast_id, chat_id, message_id)

    # --- following ---------------------------------------------------------------------------

    async def scheduled(self, actor: User, *, limit: int = 15) -> list[Draft]:
        """Scheduled and running broadcasts, newest first (a screenful: one message holds at
        most 4096 characters)."""
        require_coordinator(actor)
        async with self.store.read() as conn:
            found = await broadcasts_repo.with_status(
                conn, [BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING], limit=limit
            )
        return [await self._draft(b) for b in found]

    async def recent(self, actor: User, *, limit: int = 10) -> list[Broadcast]:
        """Broadcasts that were sent or are sending, newest first."""
        require_coordinator(actor)
        async with self.store.read() as conn:
            return await broadcasts_repo.with_status(
                conn, [BroadcastStatus.SENDING, BroadcastStatus.DONE], limit=limit
            )

    async def report(self, actor: User, broadcast_id: int) -> tuple[Broadcast, DeliveryReport]:
        require_coordinator(actor)
        broadcast = await self._get(broadcast_id)
        async with self.store.read() as conn:
            counts = await outbox_repo.status_counts(conn, broadcast_id)
        return broadcast, DeliveryReport.from_counts(counts)

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
                    # Sent first (not bulk); its message id makes it the progress message.
                    await self.notifier.to_user(
                        conn,
                        creator,
                        lambda t: t("Your scheduled announcement is being sent now."),
                        dedupe_key=progress_key(broadcast.id),
                    )
                    await broadcasts_repo.set_progress_message(
                        conn, broadcast.id, creator.id, None
                    )
            started.append(broadcast.id)
        self.notifier.wake()
        return started

    async def progress(self) -> list[ProgressView]:
        """Progress texts of the running broadcasts that someone watches; the finished ones
        are marked DONE and their report is queued to the coordinator who sent them."""
        now = self.clock.now()
        async with self.store.read() as conn:
            running = await broadcasts_repo.with_status(conn, [BroadcastStatus.SENDING])
            still_open = await outbox_repo.open_broadcasts(conn, [b.id for b in running])
        views = []
        for broadcast in running:
            done = broadcast.id not in still_open
            if done:
                view = await self._finish(broadcast, now)
            elif broadcast.progress_chat_id is not None:
                view = await self._running_view(broadcast)
            else:
                view = None  # nobody watches: no need to count
            if view is not None:
                views.append(view)
        if any(v.done for v in views):
            self.notifier.wake()
        return views

    async def _finish(self, broadcast: Broadcast, now: datetime) -> ProgressView | None:
        async with self.store.transaction() as conn:
            if not await broadcasts_repo.transition(
                conn,
                broadcast.id,
                from_statuses=[BroadcastStatus.SENDING],
                to_status=BroadcastStatus.DONE,
                finished_at=now,
            ):
                return None
            report = DeliveryReport.from_counts(
                await outbox_repo.status_counts(conn, broadcast.id)
            )
            creator = await users_repo.get_user(conn, broadcast.created_by)
            if creator is None:
                return None
            await self.notifier.to_user(
                conn,
                creator,
                partial(finished_text, report=report),
                dedupe_key=f"broadcast:{broadcast.id}:report",
            )
            where = await self._progress_message(conn, broadcast)
        if where is None:
            return None
        text = finished_text(translator(creator.language), report)
        return ProgressView(broadcast.id, where[0], where[1], text, done=True)

    async def _running_view(self, broadcast: Broadcast) -> ProgressView | None:
        # A read: the sender must not wait for the write lock while we count.
        async with self.store.read() as conn:
            report = DeliveryReport.from_counts(
                await outbox_repo.status_counts(conn, broadcast.id)
            )
            creator = await users_repo.get_user(conn, broadcast.created_by)
            where = await self._progress_message(conn, broadcast)
        if where is None or creator is None:
            return None
        if broadcast.progress_message_id is None:
            await self.set_progress_message(broadcast.id, *where)
        text = sending_text(translator(creator.language), report)
        return ProgressView(broadcast.id, where[0], where[1], text, done=False)

    async def _progress_message(
        self, conn: AsyncConnection, broadcast: Broadcast
    ) -> tuple[int, int] | None:
        """Where the progress shows: the message given at "Send now", or for a scheduled
        broadcast the notice queued at its start, once that was sent."""
        if broadcast.progress_chat_id is None:
            return None
        if broadcast.progress_message_id is not None:
            return broadcast.progress_chat_id, broadcast.progress_message_id
        item = await outbox_repo.get_by_dedupe_key(conn, progress_key(broadcast.id))
        if item is None or item.sent_message_id is None:
            return None
        return broadcast.progress_chat_id, item.sent_message_id

    # --- inside ------------------------------------------------------------------------------

    async def _community(self, conn: AsyncConnection | None = None) -> str:
        if conn is None:
            async with self.store.read() as reader:
                return await self._community(reader)
        community = await org.get_community(conn, self.community_id)
        return community.name if community else ""

    async def _enqueue(self, conn: AsyncConnection, broadcast: Broadcast, now: datetime) -> int:
        community = await self._community(conn)
        recipients = await broadcasts_repo.audience_recipients(
            conn,
            broadcast.audience,
            broadcast.audience_ref,
            community_id=self.community_id,
            include_opted_out=broadcast.urgent,
        )
        templates: dict[str, OutgoingMessage] = {}
        messages = []
        for user_id, language in recipients:
            if language not in templates:
                templates[language] = self.render(broadcast, language, 0, community)
            message = templates[language].model_copy(update={"chat_id": user_id})
            messages.append((message, f"broadcast:{broadcast.id}:{user_id}"))
        return await outbox_repo.enqueue_many(conn, messages, now=now, broadcast_id=broadcast.id)

    async def _get(self, broadcast_id: int) -> Broadcast:
        async with self.store.read() as conn:
            broadcast = await broadcasts_repo.get_broadcast(conn, broadcast_id)
        if broadcast is None:
            raise NotFound()
        return broadcast

    async def _own_draft(self, actor: User, broadcast_id: int) -> Broadcast:
        require_coordinator(actor)
        broadcast = await self._get(broadcast_id)
        if broadcast.created_by != actor.id:
            raise NotAllowed()
        if broadcast.status is not BroadcastStatus.DRAFT:
            raise AlreadyDecided()
        return broadcast

    async def _check_ref(self, kind: AudienceKind, ref: int | None) -> None:
        if ref is None:
            raise InvalidInput()
        async with self.store.read() as conn:
            if kind is AudienceKind.BUILDING:
                building = await org.get_building(conn, ref)
                if building is None or building.archived:
                    raise InvalidInput(N_("Please choose a building from the list."))
                if building.community_id != self.community_id:
                    raise InvalidInput(N_("Please choose a building from the list."))
            else:
                team = await teams_repo.get_team(conn, ref)
                if team is None or not team.active or team.community_id != self.community_id:
                    raise InvalidInput(N_("Please choose a team from the list."))

    async def _count(self, kind: AudienceKind, ref: int | None, urgent: bool) -> int:
        async with self.store.read() as conn:
            return await broadcasts_repo.count_audience(
                conn, kind, ref, community_id=self.community_id, include_opted_out=urgent
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
        count = await self._count(broadcast.audience, broadcast.audience_ref, broadcast.urgent)
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


def progress_key(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}:progress"


def sending_text(t: Translate, report: DeliveryReport) -> str:
    done = report.total - report.pending
    return (
        t("Sending the announcement: {done} of {total} handled.").format(
            done=done, total=report.total
        )
        + "\n\n"
        + report_text(t, report)
    )


def finished_text(t: Translate, report: DeliveryReport) -> str:
    return t("The announcement has been sent.") + "\n\n" + report_text(t, report)
