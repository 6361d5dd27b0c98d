"""Notifications as data: a service records a `Notice` (a kind and its parameters) for each
recipient in the outbox, in the transaction of the change it announces — so a notification
exists exactly when that change was committed. The feature's views render it, in the
recipient's language, when the outbox sends it; no service ever writes a user-facing text.

Live messages (a wish's wall post, the card someone opened, a broadcast's progress) are kept
current the same way: `touch(thing)` queues an edit of every message that shows the thing,
rendered from the thing's state when the edit leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.models import (
    DeliveryPolicy,
    LiveMessage,
    Node,
    NodeKind,
    Notice,
    OutboxStatus,
    Role,
    User,
)
from storage import live as live_repo
from storage import org, outbox
from storage import users as users_repo
from storage.store import Store


def quiet_until(user: User, now: datetime, zone: ZoneInfo) -> datetime | None:
    """When `user`'s quiet hours end, if `now` falls inside them; else None: the
    `not_before` of anything sent to them that can wait (offers, nudges, reminders)."""
    start, end = user.quiet_start, user.quiet_end
    if start == end:
        return None
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    until = datetime.combine(local.date(), time(end // 60, end % 60), tzinfo=zone)
    if until <= local:
        until = datetime.combine(local.date() + timedelta(days=1), until.timetz())
    return until.astimezone(UTC)


class ShowLive(Notice):
    """The first send of a live message (rendered by its view from the thing as it is)."""

    KIND = "live.show"
    key: str


class RefreshLive(Notice):
    """An edit of a live message: its view renders the thing as it is when the edit leaves."""

    KIND = "live.refresh"
    key: str


class RetireLive(Notice):
    """A message no longer kept current (the reader opened the thing again, or too many
    readers did): edited once more to a stub without its details, so what it showed — a
    resident's contact, say — does not stay behind after the reader loses the right to it."""

    KIND = "live.retire"
    # It takes a resident's contact off a screen that lost the right to it: never too late.
    POLICY = DeliveryPolicy(stale_after=timedelta.max)
    thing: str
    view: str
    message_id: int


class ErrorAlert(Notice):
    """The bot failed on an update; coordinators are told the kind of error (never details)."""

    KIND = "error.alert"
    error: str


@dataclass
class Notifier:
    clock: Clock
    # Called after a commit that queued messages; the sender wakes instead of waiting to poll.
    wake: Callable[[], None] = field(default=lambda: None)

    async def tell(
        self,
        conn: AsyncConnection,
        user: User,
        notice: Notice,
        *,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
    ) -> int | None:
        """Queue `notice` for `user` (in their language); None if the dedupe key was used."""
        return await outbox.enqueue_notice(
            conn,
            user.id,
            notice,
            language=user.language,
            now=self.clock.now(),
            dedupe_key=dedupe_key,
            not_before=not_before,
        )

    async def hurry(self, conn: AsyncConnection, dedupe_key: str) -> bool:
        """The notice queued under `dedupe_key` to wait (`tell`'s `not_before`) leaves now
        instead, if it still waits; True when it did (wake the sender after the commit)."""
        return await outbox.hurry(conn, dedupe_key, self.clock.now())

    async def tell_all(
        self,
        conn: AsyncConnection,
        recipients: Iterable[User],
        notice: Notice,
        *,
        dedupe_prefix: str | None = None,
        not_before: Callable[[User], datetime | None] | None = None,
    ) -> int:
        """Queue `notice` for each recipient, in one statement (each after `not_before(user)`
        when given, e.g. their quiet hours); the number queued."""
        people = list(recipients)
        rows = [
            (u.id, u.language, f"{dedupe_prefix}:{u.id}" if dedupe_prefix else None)
            for u in people
        ]
        waits = {u.id: not_before(u) for u in people} if not_before is not None else None
        return await outbox.enqueue_notices(
            conn, notice, rows, now=self.clock.now(), not_before=waits
        )

    async def tell_coordinators(
        self,
        conn: AsyncConnection,
        notice: Notice,
        *,
        dedupe_prefix: str | None = None,
    ) -> int:
        """Tell the coordinators above what the notice is about (`Notice.place`), not all:
        those of its building and its community; when it has none, its street's; when the
        street has none, the district's. About the bot itself: the district's."""
        ids = await coordinators_above(conn, *notice.place())
        coordinators = await users_repo.get_users(conn, ids)
        return await self.tell_all(conn, coordinators, notice, dedupe_prefix=dedupe_prefix)

    async def show_live(
        self,
        conn: AsyncConnection,
        *,
        key: str,
        thing: str,
        view: str,
        chat_id: int,
        language: str,
        viewer_id: int | None = None,
    ) -> int | None:
        """Send a live message through the outbox (e.g. a wish's wall post) and keep it
        current from then on; None when it was queued before (the key is used once)."""
        queued = await outbox.enqueue_notice(
            conn,
            chat_id,
            ShowLive(key=key),
            language=language,
            now=self.clock.now(),
            dedupe_key=key,
        )
        if queued is not None:
            await self.keep(
                conn,
                key=key,
                thing=thing,
                view=view,
                chat_id=chat_id,
                language=language,
                outbox_id=queued,
                viewer_id=viewer_id,
                new_key=True,  # the outbox took the key as its dedupe key just now
            )
        return queued

    async def keep(
        self,
        conn: AsyncConnection,
        *,
        key: str,
        thing: str,
        view: str,
        chat_id: int,
        language: str,
        message_id: int | None = None,
        outbox_id: int | None = None,
        viewer_id: int | None = None,
        new_key: bool = False,
    ) -> bool:
        """Keep the message under `key` current from now on (see storage.live.register), and
        retire the ones that no longer are; True when some were retired (wake the sender)."""
        _, dropped = await live_repo.register(
            conn,
            key=key,
            thing=thing,
            view=view,
            chat_id=chat_id,
            language=language,
            now=self.clock.now(),
            message_id=message_id,
            outbox_id=outbox_id,
            viewer_id=viewer_id,
            new_key=new_key,
        )
        await self.retire(conn, dropped)
        return bool(dropped)

    async def retire(self, conn: AsyncConnection, messages: Iterable[LiveMessage]) -> None:
        """Edit each of these messages (no longer kept current) to its view's stub."""
        for message in messages:
            if message.message_id is None:
                continue
            notice = RetireLive(
                thing=message.thing, view=message.view, message_id=message.message_id
            )
            await outbox.enqueue_notice(
                conn, message.chat_id, notice, language=message.language, now=self.clock.now()
            )

    async def touch(self, conn: AsyncConnection, thing: str, *, key: str | None = None) -> int:
        """`thing` changed: queue an edit of each message that shows it (or only the one under
        `key`), unless one is still waiting (it will show the latest state when it leaves);
        how many were queued."""
        queued = 0
        for message in await live_repo.to_refresh(conn, thing):
            if key is not None and message.key != key:
                continue
            row = await outbox.enqueue_notice(
                conn,
                message.chat_id,
                RefreshLive(key=message.key),
                language=message.language,
                now=self.clock.now(),
            )
            if row is not None:
                await live_repo.set_pending(conn, message.id, row)
                queued += 1
        return queued


@dataclass
class LiveMessages:
    """The live messages a handler shows itself (a card in reply to a press) and what the
    sender needs to render and follow them."""

    store: Store
    clock: Clock
    notifier: Notifier

    async def keep_current(
        self,
        *,
        key: str,
        thing: str,
        view: str,
        chat_id: int,
        message_id: int,
        language: str,
        viewer_id: int | None,
    ) -> None:
        """The message just shown under `key` is kept current from now on (a change that came
        between rendering it and this call found nothing to edit: see `refresh`)."""
        async with self.store.transaction() as conn:
            retired = await self.notifier.keep(
                conn,
                key=key,
                thing=thing,
                view=view,
                chat_id=chat_id,
                message_id=message_id,
                language=language,
                viewer_id=viewer_id,
            )
        if retired:
            self.notifier.wake()

    async def refresh(self, thing: str, key: str) -> None:
        """Queue an edit of the one message under `key` (its thing changed while it was being
        shown, before it was kept current)."""
        async with self.store.transaction() as conn:
            queued = await self.notifier.touch(conn, thing, key=key)
        if queued:
            self.notifier.wake()

    async def forget(self, chat_id: int, message_id: int) -> None:
        """A step turned this message into something else: it is no longer kept current."""
        async with self.store.transaction() as conn:
            await live_repo.forget(conn, chat_id, message_id)

    async def get(self, key: str) -> LiveMessage | None:
        async with self.store.read() as conn:
            return await live_repo.by_key(conn, key)

    async def first_send(self, live: LiveMessage) -> OutboxStatus | None:
        """Where the message's first send through the outbox stands (None: not sent so)."""
        async with self.store.read() as conn:
            return await live_repo.first_send_state(conn, live.id)

    async def followed(self, live: LiveMessage, message_id: int, chat_id: int) -> None:
        """Telegram no longer allowed the edit and the message was sent anew: follow it."""
        async with self.store.transaction() as conn:
            if await live_repo.set_message_id(conn, live, message_id, chat_id):
                return
            # Replaced or dropped meanwhile: the message just sent is followed by no one.
            gone = live.model_copy(update={"message_id": message_id, "chat_id": chat_id})
            await self.notifier.retire(conn, [gone])
        self.notifier.wake()


async def coordinators_above(
    conn: AsyncConnection, community_id: int | None, building_id: int | None = None
) -> list[int]:
    """The nearest coordinators above a thing (see `Notifier.tell_coordinators`)."""
    above = await org.nodes_above(conn, community_id) if community_id is not None else []
    if not above:
        # The bot's own faults: whoever runs it, the district's coordinators (or any).
        top = await users_repo.user_ids_with_node_kind(conn, NodeKind.DISTRICT)
        return top or await users_repo.user_ids_with_role(conn, Role.COORDINATOR)
    levels = [[node] for node in above]
    if building_id is not None:
        levels[0].append(Node(kind=NodeKind.BUILDING, id=building_id))
    appointed = await users_repo.coordinators_at(conn, [n for level in levels for n in level])
    for level in levels:
        found = sorted({uid for node in level for uid in appointed[node]})
        if found:
            return found
    # Nobody is appointed above it at all: an alert must not go to no one.
    return await users_repo.user_ids_with_role(conn, Role.COORDINATOR)
