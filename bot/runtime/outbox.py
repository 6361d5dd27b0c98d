"""The one sender: drains the `outbox` table into Telegram, within Telegram's limits.

Pacing. At most SEND_RATE messages per second overall, evenly spaced, and never more than that
in any sliding second (checked against our own clock with a margin for network jitter); at most
one message per second to a private chat and 20 per minute to a group. Messages to one chat
leave in the order they were queued. Personal notifications go before bulk broadcast rows.

Rendering. Most rows hold a notice — a kind and its parameters, recorded by a service in the
transaction of the change it announces — which the feature's views render (handlers.notices)
as the row leaves, in the recipient's language. An edit of a live message renders the thing as
it is at that moment, so an edit that waited shows the latest state. A row that cannot be
rendered fails at once; an edit whose first send is not yet recorded waits a second (the
attempt refunded); one whose thing is gone, or whose first send never went out, is cancelled.
Telegram answering "not modified" to an edit counts as delivered; a message it no longer lets us
edit is sent anew and followed from then on.

Outcomes. `RetryAfter`: the row was not delivered — it goes back to PENDING, everything pauses
for the time Telegram asked, the pace drops and recovers over some seconds. Network errors and
5xx: back to PENDING with exponential back-off for its chat, FAILED after MAX_ATTEMPTS.
`Forbidden`: BLOCKED, and the user is marked unreachable. `ChatMigrated`: the row and every
waiting row follow the group to its new id. Other errors (bad request): FAILED.

The guarantee, and the window between the HTTP send and the database update. The Bot API has
no idempotency key: after a crash nobody can ask Telegram whether a request arrived. So:
  * Rows are claimed (PENDING → SENDING) in small batches just before their paced moment; a
    request's result is recorded right after the answer — SENT together with Telegram's message
    id in one statement (group-committed: every answer that arrived during the previous commit
    goes into the next). While the process lives nothing is sent twice.
  * The moment a request's bytes are all in the kernel's hands (bot/runtime/lean_http.py tells
    us), the row is noted as "out" (`sent_at` set while SENDING), committed before its outcome
    is handled.
  * SIGTERM: nothing new is claimed; claimed rows not yet sent go back; rows in flight finish
    and are recorded. Exactly once.
  * SIGKILL: at the next start a SENDING row noted "out" counts as SENT (message id unknown):
    the kernel still delivers a request it holds when the process is gone, and we assume the
    server handles a request it has read even if the client then vanishes (the fake does; the
    Bot API documents nothing either way). A SENDING row not noted "out" is sent again. So a row
    can be doubled only if the process dies in the ~1 ms between the request leaving and the
    note being committed; it can be lost only if the process dies after a request went out and
    before we recorded that it was refused (429/5xx) or that its kept-alive connection had been
    closed by the server. Everything else is exactly once. (Without the note — uploads, or httpx
    when a proxy is set — an in-flight row is sent again: at-least-once, at most the in-flight
    limit per crash.) A power loss can also lose what was not yet on disk. For the edits of live
    messages a duplicate is harmless (the same content twice is "not modified"), so they carry
    the same at-least-once-when-in-doubt rule without a cost to the reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sqlite3
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.clock import Clock
from bot.models import LiveMessage, OutboxItem, OutboxStatus
from bot.runtime.lean_http import request_written
from bot.runtime.pacing import ChatLimits, GroupCommit, Pacer, default_in_flight
from handlers.notices import Action, Drop, Edit, Later, Send
from handlers.sending import edit_live, send_outgoing
from storage import live as live_repo
from storage import outbox as outbox_repo
from storage import users as users_repo
from storage.outbox import Delivered
from storage.outbox_direct import DirectWriter
from storage.store import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # network errors / 5xx before a row is FAILED (back-off 1, 2, 4, 8, 16 s)
MAX_BACKOFF = 60.0
POLL_SECONDS = 1.0  # safety net: look for due rows even when nobody woke us
STOP_TIMEOUT = 30.0
SHORT_WAIT = 0.25
REFETCH_AFTER = 0.2  # a round runs at least this long before new rows make it look again

T = TypeVar("T")
# What to do with a row (rendered now, in the recipient's language), and how to follow a live
# message that had to be sent anew.
Render = Callable[[OutboxItem, int], Awaitable[Action]]
Followed = Callable[[LiveMessage, int, int], Awaitable[None]]


async def send_as_stored(item: OutboxItem, chat_id: int) -> Action:
    """Rows that carry their content (no notice kind to render)."""
    if item.kind is not None:
        raise ValueError(f"no renderer for notice kind {item.kind!r}")
    return Send(item.message.model_copy(update={"chat_id": chat_id}))


def retry_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (PTB 22 gives int or timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True)
class Written:
    """A row whose request has gone out (all its bytes handed to the kernel)."""

    outbox_id: int


@dataclass
class SenderStats:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    flood_waits: int = 0  # 429s answered
    retries: int = 0  # network errors and 5xx that were retried
    in_doubt: int = 0  # rows found in SENDING at start (sent again)
    record_commits: int = 0  # commits that recorded SENT rows (several rows each under load)


class OutboxSender:
    """Drains the outbox (see the module docstring). One per database."""

    def __init__(
        self,
        store: Store,
        bot: Bot,
        clock: Clock,
        *,
        send_rate: float,
        max_in_flight: int | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base: float = 1.0,
        render: Render | None = None,
        followed: Followed | None = None,
    ) -> None:
        self.store = store
        self.render = render or send_as_stored
        self.followed = followed
        self.bot = bot
        self.clock = clock
        self.pacer = Pacer(send_rate)
        self.chats = ChatLimits()
        self.max_in_flight = max_in_flight or default_in_flight(send_rate)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.batch = max(50, math.ceil(send_rate * 1.5))
        self.claim_batch = max(1, math.ceil(send_rate * 0.05))  # about 50 ms of sending
        self.stats = SenderStats()
        self.recovered: list[int] = []  # in doubt at start, request not out: sent again
        self.assumed: list[int] = []  # in doubt at start, request out: counted as delivered
        self._slots = asyncio.Semaphore(self.max_in_flight)
        self._wake = asyncio.Event()  # new rows were queued
        self._freed = asyncio.Event()  # a row in flight finished: its chat is free again
        self._stop = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        # Two recorders, each on its own connection: "request went out" notes must not wait
        # behind claims or results, since their delay is the window for a duplicate.
        self._outs = GroupCommit(self._commit_outs, "outbox-out-notes")
        self._results = GroupCommit(self._commit_results, "outbox-results")
        self._direct_outs: DirectWriter | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._migrated: dict[int, int] = {}
        self.direct: DirectWriter | None = None

    # --- life cycle --------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._runner is not None and not self._runner.done()

    async def start(self) -> None:
        """Settle what a crash left in doubt, then start draining."""
        async with self.store.transaction() as conn:
            self.recovered, self.assumed = await outbox_repo.recover_in_doubt(conn)
        self.direct = await DirectWriter.open(self.store.engine)
        self._direct_outs = await DirectWriter.open(self.store.engine)
        self.stats.in_doubt = len(self.recovered) + len(self.assumed)
        if self.recovered:
            log.warning(
                "%d outbox row(s) were claimed but their request had not gone out when the "
                "bot stopped; sending them again: ids %s",
                len(self.recovered),
                self.recovered[:20],
            )
        if self.assumed:
            log.warning(
                "%d outbox row(s) had their request out when the bot stopped; counted as "
                "delivered (not sent again): ids %s",
                len(self.assumed),
                self.assumed[:20],
            )
        self._stop.clear()
        self._runner = asyncio.create_task(self._run(), name="outbox-sender")
        self._outs.start()
        self._results.start()

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Graceful: claim nothing more; let the rows in flight finish and be recorded."""
        self._stop.set()
        self._wake.set()
        if self._runner is not None:
            await self._runner
            self._runner = None
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in late:  # still SENDING: in doubt, sent again at the next start
                task.cancel()
            if late:
                await asyncio.wait(late)
        await self._outs.stop()
        await self._results.stop()
        for writer in (self.direct, self._direct_outs):
            if writer is not None:
                await writer.close()
        self.direct = self._direct_outs = None

    async def drain(self, timeout: float = 60.0) -> None:
        """Wait until nothing due is waiting or in flight (tests and benchmarks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            async with self.store.read() as conn:
                heads = await outbox_repo.due_heads(conn, self.clock.now(), limit=1)
                counts = await outbox_repo.status_counts(conn)
            if not heads and not counts[OutboxStatus.SENDING] and not self._tasks:
                return
            self.wake()
            await asyncio.sleep(0.05)
        raise TimeoutError("the outbox did not drain in time")

    # --- the dispatcher ----------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self._freed.clear()
            try:
                dispatched, blocked_until = await self._round()
            except Exception:
                log.exception("outbox round failed")
                await self._sleep(POLL_SECONDS)
                continue
            if dispatched == 0 and not self._stop.is_set():
                wait = POLL_SECONDS
                if blocked_until < math.inf:
                    wait = min(wait, max(0.005, blocked_until - time.monotonic()))
                await self._idle(wait)

    async def _round(self) -> tuple[int, float]:
        """Send what is due now, in order; (how many went, when a held chat frees up)."""
        async with self.store.read() as conn:
            heads = await outbox_repo.due_heads(conn, self.clock.now(), limit=self.batch)
        started = time.monotonic()
        self.chats.forget_old(started)
        dispatched = 0
        blocked_until = math.inf
        chunk: list[tuple[OutboxItem, int]] = []
        for item in heads:
            if self._stop.is_set():
                break
            if (
                self._wake.is_set()
                and item.broadcast_id is not None
                and time.monotonic() - started > REFETCH_AFTER
            ):
                break  # something new was queued: look again, it may be a notification
            chat = self._migrated.get(item.message.chat_id, item.message.chat_id)
            now = time.monotonic()
            free_at = self.chats.free_at(chat, now)
            if free_at > now:
                blocked_until = min(blocked_until, free_at)
                continue
            self.chats.busy.add(chat)  # reserved: no second row for this chat meanwhile
            chunk.append((item, chat))
            if len(chunk) >= self.claim_batch:
                dispatched += await self._dispatch(chunk)
                chunk = []
        if chunk:
            dispatched += await self._dispatch(chunk)
        return dispatched, blocked_until

    async def _dispatch(self, chunk: list[tuple[OutboxItem, int]]) -> int:
        """Claim a few rows in one commit, then send each at its paced moment."""
        ids = [item.id for item, _ in chunk]
        chats = [chat for _, chat in chunk]

        async def claim(conn: AsyncConnection) -> tuple[list[OutboxItem], set[int]]:
            claimed = await outbox_repo.claim_many(conn, ids)
            return claimed, await outbox_repo.unreachable_chats(conn, chats)

        try:
            if self.direct is not None:
                attempts = await self._retrying(lambda: self._direct().claim(ids))
                unreachable = await self._retrying(lambda: self._direct().unreachable(chats))
                claimed = [
                    item.model_copy(
                        update={"status": OutboxStatus.SENDING, "attempts": attempts[item.id]}
                    )
                    for item, _ in chunk
                    if item.id in attempts
                ]
            else:
                claimed, unreachable = await self._write(claim)
        except BaseException:
            self.chats.busy.difference_update(chats)
            raise
        got = {item.id: item for item in claimed}
        dispatched = 0
        unsent: list[int] = []
        for item, chat in chunk:
            mine = got.get(item.id)
            if mine is None:
                self.chats.busy.discard(chat)
                continue
            if unsent or not await self._paced() or not await self._slot():
                unsent.append(mine.id)  # stopping: give the claimed rows back
                self.chats.busy.discard(chat)
                continue
            now = time.monotonic()
            self.pacer.take(now)
            self.chats.record(chat, now)
            again = chat if chat in unreachable else None
            task = asyncio.create_task(self._deliver(mine, chat, again))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            dispatched += 1
            # Let the task write its request now, so it leaves at its paced moment.
            await asyncio.sleep(0)
        if unsent:
            await self._write(lambda c: outbox_repo.release_many(c, unsent, error="stopping"))
        return dispatched

    async def _slot(self) -> bool:
        """Wait for room in flight; False when stopping."""
        await self._slots.acquire()
        if self._stop.is_set():
            self._slots.release()
            return False
        return True

    async def _paced(self) -> bool:
        """Wait for the overall pace; False when stopping."""
        while not self._stop.is_set():
            delay = self.pacer.delay(time.monotonic())
            if delay <= 0:
                return True
            if delay < SHORT_WAIT:
                await asyncio.sleep(delay)  # the common case: a few ms, no stop watch needed
            else:
                await self._sleep(delay)  # a flood wait: wake at once when stopping
        return False

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _idle(self, seconds: float) -> None:
        waiters = {
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(self._freed.wait()),
            asyncio.ensure_future(self._stop.wait()),
        }
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    # --- one row -----------------------------------------------------------------------------

    async def _deliver(self, item: OutboxItem, chat: int, reachable_again: int | None) -> None:
        try:
            await self._attempt(item, chat, reachable_again)
        finally:
            self.chats.busy.discard(chat)
            self._slots.release()
            self._freed.set()

    async def _attempt(self, item: OutboxItem, chat: int, reachable_again: int | None) -> None:
        row = item.id
        try:
            action = await self.render(item, chat)
        except Exception as error:
            log.exception("outbox_id=%s kind=%s could not be rendered", row, item.kind)
            await self._give_up(row, f"could not be rendered: {error!r}")
            return
        if isinstance(action, Later | Drop):
            await self._set_aside(row, action)
            return
        noted: list[asyncio.Future[None]] = []
        token = request_written.set(lambda: noted.append(self._outs.add(Written(row))))
        resent = False
        try:
            if isinstance(action, Edit):
                message_id, resent = await edit_live(
                    self.bot, action.message_id, action.message, resend=action.live is not None
                )
            else:
                message_id = (await send_outgoing(self.bot, action.message)).message_id
        except Exception as error:
            failure: Exception | None = error
        else:
            failure = None
        finally:
            request_written.reset(token)
        for note in noted:  # committed before any outcome, so no release can be overtaken
            with contextlib.suppress(Exception):
                await note
        if failure is None:
            self.stats.sent += 1
            follow = action.follow if isinstance(action, Send) else action.live if resent else None
            if follow is not None and self.followed is not None:
                with contextlib.suppress(Exception):
                    await self.followed(follow, message_id, chat)
            delivered = Delivered(row, message_id, self.clock.now(), reachable_again)
            try:
                await self._results.add(delivered)
            except Exception:
                log.critical("outbox_id=%s was sent but could not be recorded", row)
            return
        try:
            raise failure
        except RetryAfter as error:
            await self._flood_wait(row, chat, retry_seconds(error), str(error))
        except Forbidden as error:
            self.stats.blocked += 1
            reason = str(error)
            await self._write(lambda c: self._blocked(c, row, chat, reason))
        except ChatMigrated as error:
            await self._follow(row, chat, int(error.new_chat_id), str(error))
        except BadRequest as error:
            log.warning("outbox_id=%s chat_id=%s refused: %s", row, chat, error)
            await self._give_up(row, str(error))
        except NetworkError as error:  # includes timeouts and 5xx
            await self._retry_later(item, chat, f"{type(error).__name__}: {error}")
        except TelegramError as error:
            log.error("outbox_id=%s chat_id=%s failed: %r", row, chat, error)
            await self._give_up(row, repr(error))
        except Exception as error:
            log.exception("outbox_id=%s chat_id=%s: unexpected error", row, chat, exc_info=error)
            await self._retry_later(item, chat, repr(error))

    async def _commit_outs(self, notes: list[Written]) -> None:
        ids, at = [note.outbox_id for note in notes], self.clock.now()
        if self._direct_outs is not None:
            await self._retrying(partial(self._direct_outs.mark_written, ids, at))
        else:
            await self._write(partial(outbox_repo.mark_written, outbox_ids=ids, at=at))

    async def _commit_results(self, delivered: list[Delivered]) -> None:
        if self.direct is not None:
            await self._retrying(partial(self.direct.mark_sent, delivered))
        else:
            await self._write(partial(outbox_repo.mark_sent, delivered=delivered))
        self.stats.record_commits += 1

    async def _flood_wait(self, row: int, chat: int, wait: float, reason: str) -> None:
        self.stats.flood_waits += 1
        now = time.monotonic()
        self.pacer.flood(wait, now)
        self.chats.hold(chat, now + wait)
        log.warning("flood wait %.0fs (outbox_id=%s chat_id=%s)", wait, row, chat)
        await self._write(lambda c: outbox_repo.release(c, row, error=reason, refund_attempt=True))

    async def _follow(self, row: int, old: int, new: int, reason: str) -> None:
        log.warning("chat %s became supergroup %s; update settings naming the old id", old, new)

        async def step(conn: AsyncConnection) -> None:
            # The attempt counts: a chat that keeps answering "migrated" ends the row FAILED.
            await outbox_repo.release(conn, row, error=reason, chat_id=new)
            await outbox_repo.move_chat(conn, old, new)
            await live_repo.move_chat(conn, old, new)

        await self._write(step)
        # Only now: until the rows moved, the old chat stays busy, so the order holds.
        self._migrated[old] = new

    async def _set_aside(self, row: int, action: Later | Drop) -> None:
        """A row that was not for sending now: later (its attempt refunded), or never."""
        now = self.clock.now()
        if isinstance(action, Later):
            until = now + timedelta(seconds=action.seconds)
            await self._write(lambda c: outbox_repo.hold_back(c, row, until=until, why=action.why))
        else:
            await self._write(
                lambda c: outbox_repo.mark_final(
                    c, row, OutboxStatus.CANCELLED, error=action.why, now=now
                )
            )

    async def _give_up(self, row: int, reason: str) -> None:
        self.stats.failed += 1
        now = self.clock.now()
        await self._write(
            lambda c: outbox_repo.mark_final(c, row, OutboxStatus.FAILED, error=reason, now=now)
        )

    async def _retry_later(self, item: OutboxItem, chat: int, reason: str) -> None:
        if item.attempts >= self.max_attempts:
            log.warning(
                "outbox_id=%s gave up after %d attempts: %s", item.id, item.attempts, reason
            )
            await self._give_up(item.id, reason)
            return
        self.stats.retries += 1
        backoff = min(MAX_BACKOFF, self.backoff_base * 2.0 ** (item.attempts - 1))
        self.chats.hold(chat, time.monotonic() + backoff)
        await self._write(lambda c: outbox_repo.release(c, item.id, error=reason))

    async def _blocked(self, conn: AsyncConnection, row: int, chat: int, reason: str) -> None:
        await outbox_repo.mark_final(
            conn, row, OutboxStatus.BLOCKED, error=reason, now=self.clock.now()
        )
        if chat > 0:
            await users_repo.update_user(conn, chat, unreachable=True)

    def _direct(self) -> DirectWriter:
        assert self.direct is not None
        return self.direct

    async def _retrying(self, step: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
        """A direct write, retried briefly when the database is locked."""
        for attempt in range(1, attempts + 1):
            try:
                return await step()
            except sqlite3.OperationalError:
                if attempt == attempts:
                    raise
                log.warning("database busy while recording a send; retrying")
                await asyncio.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

    async def _write(self, step: Callable[..., Awaitable[T]], attempts: int = 5) -> T:
        """Run `step(conn)` in a write transaction, retrying a locked database briefly: the
        result of a send must not be lost to a busy moment."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.store.transaction() as conn:
                    return await step(conn)
            except OperationalError:
                if attempt == attempts:
                    raise
                log.warning("database busy while recording a send; retrying")
                await asyncio.sleep(0.2 * attempt)
        raise AssertionError("unreachable")
