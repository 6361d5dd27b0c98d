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

Answers. `RetryAfter`: the row was not delivered and goes back; for a group only that group
waits the time Telegram asked, for a private chat (Telegram's overall limit) everything pauses
and the pace drops, recovering over some seconds. `Forbidden`: BLOCKED, and the user is marked
unreachable. `ChatMigrated`: the row and every waiting row follow the group to its new id (a
chat still "migrating" after MIGRATE_LIMIT tries: FAILED). `BadRequest` and other refusals:
FAILED. A row our own code cannot send (a bug: the request never left) fails at once, without
pausing anyone. These are the only ways a row fails, besides age. A 200 whose rest was cut off
means Telegram did it: delivered, without a message id, whatever the kind.

Transient faults never fail a row. A network error (refused, reset, timed out), a 5xx, or an
answer that is not the Bot API's JSON (a proxy's or a captive portal's page, even with a 403)
means Telegram cannot be reached right now, not that this message is wrong: the row goes back
(held for its chat a little, longer each time), and the breaker (bot.runtime.pacing.Breaker)
stops all sending and probes the API with getMe — after 0.5 s, backing off to every 5 s — until
it answers (tripping again soon after, it keeps backing off). An outage of any length costs the
rows in flight when it began one attempt each.

Age. A row not sent within its kind's stale limit (`Notice.policy`: a day by default, three for
an announcement, fifteen minutes for an urgent alert) is FAILED as stale when its turn comes,
and kinds that say so (`Notice.when_stale`: the urgent alert) have coordinators told instead,
once per wish.

The contract, per kind (`bot.models.Delivery`), for the one case nobody can settle: a request
left — its body handed to the kernel (bot/runtime/http.py) — and then no answer came (timeout,
reset), or a gateway answered 504 (it gave up waiting for the Bot API), or the process died.
These are the requests in flight when a fault begins (at most the in-flight limit per fault,
since the breaker then stops sending). The Bot API has no idempotency key, so the sender chooses:
  * AT_LEAST_ONCE — every notice about a wish (urgent alerts, offers, claims, thanks...),
    membership, reminders, error alerts, and the edits of live messages. Sent again: a
    duplicate is possible, a loss is not. While running, a row in doubt goes back (counted in
    `stats.resent`); after SIGKILL, every row left in SENDING is sent again. For an edit a
    duplicate is harmless ("not modified").
  * AT_MOST_ONCE — broadcast announcements, where a second copy to thousands of people is not
    wanted. A row in doubt counts as delivered, without a message id and with "in doubt" as its
    last error (counted in `stats.assumed`, and shown to the coordinator in the broadcast's
    report as "not confirmed by Telegram"); a loss is possible only if the request was lost
    after it left our kernel and before the server read it all (a connection cut mid-request,
    or a kept-alive connection the server closed just as it was reused). After SIGKILL, a row
    whose request had left is counted the same way; one whose request had not left is sent. So
    that the difference is known, the moment a request leaves is noted in the row (`sent_at`
    set while SENDING) on a connection of its own, committed before the outcome is handled. A
    row can be doubled only if the process dies after its request left and before that note
    is committed (about a millisecond; longer if another writer holds the database lock then).
  * Everything else is exactly once: rows are claimed (PENDING → SENDING) in small batches
    just before their paced moment, and a result is recorded right after its answer — SENT
    together with Telegram's message id in one statement, group-committed. SIGTERM: nothing
    new is claimed; claimed rows not yet sent go back; rows in flight finish and are recorded.
    A request refused before it left (connection refused, a full pool) is simply sent later.
  A power loss can also lose what was not yet on disk.
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
from bot.models import Delivery, LiveMessage, Notice, OutboxItem, OutboxStatus
from bot.runtime.http import RequestWatch, watching
from bot.runtime.pacing import Breaker, ChatLimits, GroupCommit, Pacer, default_in_flight
from handlers.notices import Action, Drop, Edit, Later, Send
from handlers.sending import edit_live, send_outgoing
from storage import live as live_repo
from storage import outbox as outbox_repo
from storage import users as users_repo
from storage.outbox import Delivered
from storage.outbox_direct import DirectWriter
from storage.store import Store

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0  # the longest a chat is held after transient faults (1, 2, 4 ... s)
PROBE_TIMEOUT = 5.0  # a probe that takes longer counts as failed
MIGRATE_LIMIT = 5  # "chat migrated" answers before a row is FAILED
POLL_SECONDS = 1.0  # safety net: look for due rows even when nobody woke us
STOP_TIMEOUT = 30.0
SHORT_WAIT = 0.25
REFETCH_AFTER = 0.2  # a round runs at least this long before new rows make it look again

T = TypeVar("T")
# What to do with a row (rendered now, in the recipient's language), and how to follow a live
# message that had to be sent anew.
Render = Callable[[OutboxItem, int], Awaitable[Action]]
Followed = Callable[[LiveMessage, int, int], Awaitable[None]]
# Whether this process may still claim rows (the lease on PostgreSQL), asked in the claim's
# own transaction.
Guard = Callable[[AsyncConnection], Awaitable[bool]]
# Tell coordinators `notice` (a message went stale unsent), once per dedupe key.
Stale = Callable[[AsyncConnection, Notice, str], Awaitable[None]]
IN_DOUBT = "in doubt: the request left and no answer came; counted as delivered"


def not_from_telegram(error: Exception) -> bool:
    """An answer that is not the Bot API's JSON (a proxy's error page, a captive portal):
    python-telegram-bot still maps its status (403 → Forbidden), but it says nothing about the
    message or its reader."""
    if not isinstance(error, TelegramError):
        return False
    cause = error.__cause__
    garbled = "Invalid server response"
    return error.message == garbled or (
        isinstance(cause, TelegramError) and cause.message == garbled
    )


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
    retries: int = 0  # network errors and 5xx (the row went back; the breaker opened)
    resent: int = 0  # AT_LEAST_ONCE rows in doubt, sent again (a duplicate is possible)
    assumed: int = 0  # AT_MOST_ONCE rows in doubt, counted as delivered (a loss is possible)
    stale: int = 0  # rows that waited past their kind's limit
    probes: int = 0  # getMe calls while the breaker was open
    in_doubt: int = 0  # rows found in SENDING at start
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
        backoff_base: float = 1.0,
        render: Render | None = None,
        followed: Followed | None = None,
        stale: Stale | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        self.store = store
        self.render = render or send_as_stored
        self.followed = followed
        self.stale = stale
        self.guard: Guard | None = None
        self.breaker = breaker or Breaker()
        self.bot = bot
        self.clock = clock
        self.pacer = Pacer(send_rate)
        self.chats = ChatLimits()
        self.max_in_flight = max_in_flight or default_in_flight(send_rate)
        self.backoff_base = backoff_base
        self.batch = max(50, math.ceil(send_rate * 1.5))
        self.claim_batch = max(1, math.ceil(send_rate * 0.05))  # about 50 ms of sending
        self.stats = SenderStats()
        self.recovered: list[int] = []  # in doubt at start: sent again
        self.assumed: list[int] = []  # in doubt at start, AT_MOST_ONCE, request out: delivered
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
            self.recovered, self.assumed = await self._settle_in_doubt(conn)
        self.direct = await DirectWriter.open(self.store.engine)
        self._direct_outs = await DirectWriter.open(self.store.engine)
        self.stats.in_doubt = len(self.recovered) + len(self.assumed)
        if self.recovered:
            log.warning(
                "%d outbox row(s) were in flight when the bot stopped (their request had not "
                "left, or their kind is worth a rare duplicate); sending them again: ids %s",
                len(self.recovered),
                self.recovered[:20],
            )
        if self.assumed:
            log.warning(
                "%d announcement row(s) had their request out when the bot stopped; counted "
                "as delivered (not sent again): ids %s",
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
            if self.breaker.is_open:
                await self._probe()
                continue
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
            if self._stop.is_set() or self.breaker.is_open:
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
            if self.guard is not None and not await self.guard(conn):
                return [], set()  # the lease moved to another process: claim nothing
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
            if unsent or self.breaker.is_open or not await self._paced() or not await self._slot():
                unsent.append(mine.id)  # stopping, or Telegram unreachable: give them back
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
            why = "stopping" if self._stop.is_set() else "Telegram unreachable"
            await self._write(lambda c: outbox_repo.release_many(c, unsent, error=why))
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
        except Exception as error:  # a bug, or the database gone: never leave it unheard
            log.exception("outbox_id=%s: handling its outcome failed", item.id)
            with contextlib.suppress(Exception):
                await self._give_up(item.id, f"handling its outcome failed: {error!r}")
        finally:
            self.chats.busy.discard(chat)
            self._slots.release()
            self._freed.set()

    async def _attempt(self, item: OutboxItem, chat: int, reachable_again: int | None) -> None:
        row = item.id
        policy = Notice.policy_of(item.kind, item.params)
        if self.clock.now() - item.created_at > policy.stale_after:
            await self._went_stale(item, chat)
            return
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
        watch = RequestWatch()
        if policy.delivery is Delivery.AT_MOST_ONCE:
            watch.on_out = lambda: noted.append(self._outs.add(Written(row)))
        token = watching.set(watch)
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
            watching.reset(token)
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
        reason = f"{type(failure).__name__}: {failure}"
        if watch.accepted:  # Telegram said 200, the rest of the answer was lost
            await self._accepted(row, reason)
            return
        if not_from_telegram(failure):  # a proxy's or a portal's page: no verdict on the row
            await self._transient(item, chat, policy.delivery, watch.in_doubt, reason)
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
            await self._follow(item, chat, int(error.new_chat_id), str(error))
        except BadRequest as error:
            log.warning("outbox_id=%s chat_id=%s refused: %s", row, chat, error)
            await self._give_up(row, str(error))
        except NetworkError:  # refused, reset, timed out, or a 5xx answer
            await self._transient(item, chat, policy.delivery, watch.in_doubt, reason)
        except TelegramError as error:
            log.error("outbox_id=%s chat_id=%s failed: %r", row, chat, error)
            await self._give_up(row, repr(error))
        except Exception as error:  # our own bug (the request never left): not Telegram's
            log.exception("outbox_id=%s chat_id=%s: unexpected error", row, chat, exc_info=error)
            if watch.in_doubt and policy.delivery is Delivery.AT_MOST_ONCE:
                await self._assume(row, reason)
            else:
                await self._give_up(row, repr(error))

    async def _accepted(self, row: int, reason: str) -> None:
        """Telegram accepted the request (its 200 arrived) but the rest of its answer was
        lost: delivered, whatever the kind, without a message id."""
        self.stats.sent += 1
        await self._sent_without_id(row, f"delivered; Telegram's answer was cut off ({reason})")

    async def _assume(self, row: int, reason: str) -> None:
        """An AT_MOST_ONCE row in doubt: counted as delivered, never sent twice."""
        self.stats.assumed += 1
        log.warning("outbox_id=%s in doubt (%s); counted as delivered", row, reason)
        await self._sent_without_id(row, f"{IN_DOUBT} ({reason})")

    async def _sent_without_id(self, row: int, why: str) -> None:
        now = self.clock.now()
        await self._write(lambda c: outbox_repo.assume_sent(c, [row], why=why, now=now))

    async def _transient(
        self, item: OutboxItem, chat: int, delivery: Delivery, in_doubt: bool, reason: str
    ) -> None:
        """Telegram could not be reached or failed (see the module docstring): never the row's
        end. Stop sending until a probe gets through; the row goes back, unless its request
        left, no answer came, and its kind would rather not risk a second copy."""
        if self.breaker.trip(time.monotonic()):
            log.warning("Telegram unreachable (%s); sending paused until it answers", reason)
        if in_doubt and delivery is Delivery.AT_MOST_ONCE:
            await self._assume(item.id, reason)
            return
        if in_doubt:
            self.stats.resent += 1
            log.warning("outbox_id=%s in doubt (%s); it will be sent again", item.id, reason)
        self.stats.retries += 1
        backoff = min(MAX_BACKOFF, self.backoff_base * 2.0 ** min(item.attempts - 1, 10))
        self.chats.hold(chat, time.monotonic() + backoff)
        await self._write(lambda c: outbox_repo.release(c, item.id, error=reason))

    async def _probe(self) -> None:
        """While the breaker is open: wait for the next probe, then ask Telegram who we are."""
        wait = self.breaker.next_probe - time.monotonic()
        if wait > 0:
            await self._sleep(wait)
        if self._stop.is_set():
            return
        self.stats.probes += 1
        try:
            await self.bot.get_me(read_timeout=PROBE_TIMEOUT, connect_timeout=PROBE_TIMEOUT)
        except (NetworkError, OSError) as error:  # still unreachable (TimedOut included)
            self.breaker.probe_failed(time.monotonic())
            log.info("Telegram still unreachable: %s", error)
            return
        except TelegramError:
            pass  # it answered (a flood wait or a refusal): reachable
        log.warning("Telegram answers again after %.1f s; sending resumes", self.breaker.close())
        self.wake()

    async def _went_stale(self, item: OutboxItem, chat: int) -> None:
        """The row waited past its kind's limit: FAILED, and coordinators told if the kind
        wants it (once per message it is about: the dedupe key is the kind and its subject)."""
        self.stats.stale += 1
        reason = f"stale: queued {item.created_at.isoformat()} and not sent in time"
        log.warning("outbox_id=%s kind=%s chat_id=%s is stale", item.id, item.kind, chat)
        known = Notice.type_of(item.kind)
        told: tuple[Notice, str] | None = None
        try:
            told = known.when_stale(item.params or {}) if known is not None else None
        except Exception:  # e.g. parameters of an older release: the row still ends
            log.exception("outbox_id=%s: could not say whom to tell it went stale", item.id)
        await self._fail(item.id, reason)
        if told is None or self.stale is None:
            return
        notice, subject = told
        try:
            await self._write(lambda c: self._tell_stale(c, notice, subject))
        except Exception:
            log.exception("outbox_id=%s went stale; telling coordinators failed", item.id)

    async def _tell_stale(self, conn: AsyncConnection, notice: Notice, subject: str) -> None:
        assert self.stale is not None
        await self.stale(conn, notice, f"stale:{notice.KIND}:{subject}")

    async def _settle_in_doubt(self, conn: AsyncConnection) -> tuple[list[int], list[int]]:
        """At start, rows a crash left in SENDING (see the contract above): (sent again,
        counted as delivered)."""
        again: list[int] = []
        assumed: list[int] = []
        for item in await outbox_repo.in_doubt(conn):
            policy = Notice.policy_of(item.kind, item.params)
            left = item.sent_at is not None
            if left and policy.delivery is Delivery.AT_MOST_ONCE:
                assumed.append(item.id)
            else:
                again.append(item.id)
        now = self.clock.now()
        why = "in doubt after a restart: the request had left; counted as delivered"
        await outbox_repo.assume_sent(conn, assumed, why=why, now=now)
        await outbox_repo.release_many(conn, again, error="in doubt after a restart")
        return again, assumed

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
        """429: a group's own limit holds that group only; for a private chat it is Telegram's
        overall limit, so everything pauses and the pace drops."""
        self.stats.flood_waits += 1
        now = time.monotonic()
        if chat > 0:
            self.pacer.flood(wait, now)
        self.chats.hold(chat, now + wait)
        log.warning("flood wait %.0fs (outbox_id=%s chat_id=%s)", wait, row, chat)
        await self._write(lambda c: outbox_repo.release(c, row, error=reason, refund_attempt=True))

    async def _follow(self, item: OutboxItem, old: int, new: int, reason: str) -> None:
        row = item.id
        if item.attempts >= MIGRATE_LIMIT:  # a chat that keeps answering "migrated"
            await self._give_up(row, reason)
            return
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
        await self._fail(row, reason)

    async def _fail(self, row: int, reason: str) -> None:
        """SENDING → FAILED, keeping the reason (counted by the caller: refused, or stale)."""
        now = self.clock.now()
        await self._write(
            lambda c: outbox_repo.mark_final(c, row, OutboxStatus.FAILED, error=reason, now=now)
        )

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
