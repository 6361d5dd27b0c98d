"""Telegram's limits as the sender keeps them, and the breaker that stops it while Telegram
cannot be reached: the overall pace (evenly spaced, never over the
cap in any sliding second, paused and slowed by flood waits), the per-chat limits (1/s to a
private chat, 20/min to a group, back-off holds), how many requests are in flight, and the
group commit that records what happened to each request.

The cap is kept on our clock; Telegram counts on its own, after the network's jitter. The margins
below absorb tens of milliseconds of it; beyond that, the configured rate (default 25/s) sitting
under Telegram's cap (about 30/s) is what keeps a busy machine clear of 429s, and a 429 that
gets through anyway is honoured and slows the pace."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

HEADROOM = 0.97  # aim under the cap: network jitter must not push any second over it
WINDOW_MARGIN = 0.02  # our sliding windows are this much longer than Telegram's
WINDOW_SHARE = 0.99  # and allow a little less than the cap, for jitter after a burst
PRIVATE_GAP = 1.0
GROUP_WINDOW, GROUP_LIMIT = 60.0, 20
CATCH_UP = 0.03  # seconds of schedule a late sender may make up in a quick burst
RECOVERY_PER_SECOND = 0.1  # after a flood wait the pace climbs back 10% of the cap per second
FLOOD_SLOWDOWN = 0.85  # the pace right after a flood wait, as a share of the pace before


def default_in_flight(send_rate: float) -> int:
    """Requests in flight at once: enough for Telegram's round trip (~0.2 s) at the rate, few
    enough that a crash leaves little in doubt and the HTTP pool stays small."""
    return max(4, min(16, math.ceil(send_rate * 0.2)))


class Pacer:
    """The overall pace: `rate` per second evenly spaced, at most `rate` in any sliding second,
    paused by flood waits, slowed after them and recovering gradually."""

    def __init__(self, rate: float, *, catch_up: float = CATCH_UP) -> None:
        self.rate = rate
        self.catch_up = catch_up
        self.factor = 1.0
        self.paused_until = 0.0
        self._next = 0.0
        self._recent: deque[float] = deque()
        self._updated = time.monotonic()

    @property
    def interval(self) -> float:
        return 1.0 / (self.rate * HEADROOM * self.factor)

    def _recover(self, now: float) -> None:
        if self.factor < 1.0 and now > self.paused_until:
            self.factor = min(1.0, self.factor + (now - self._updated) * RECOVERY_PER_SECOND)
        self._updated = now

    def delay(self, now: float) -> float:
        """Seconds until the next send is allowed."""
        self._recover(now)
        window = 1.0 + WINDOW_MARGIN
        while self._recent and self._recent[0] <= now - window:
            self._recent.popleft()
        at = max(self._next, self.paused_until)
        limit = max(1, math.floor(self.rate * self.factor * WINDOW_SHARE))
        if len(self._recent) >= limit:
            at = max(at, self._recent[-limit] + window)
        return max(0.0, at - now)

    def take(self, now: float) -> None:
        """A send goes out now."""
        self._recent.append(now)
        # Keep to the ideal schedule, catching up a little after a stall (the sliding window
        # above still caps every second).
        self._next = max(self._next + self.interval, now - self.catch_up)

    def flood(self, wait: float, now: float) -> None:
        """Telegram said 429: stop for `wait` seconds, then go slower for a while."""
        self.paused_until = max(self.paused_until, now + wait)
        self.factor = max(0.25, self.factor * FLOOD_SLOWDOWN)
        self._updated = now


class ChatLimits:
    """Per-chat limits (1/s private, 20/min group), back-off holds, and chats in flight."""

    def __init__(self) -> None:
        self._private_next: dict[int, float] = {}
        self._groups: dict[int, deque[float]] = {}
        self._holds: dict[int, float] = {}
        self.busy: set[int] = set()

    def free_at(self, chat_id: int, now: float) -> float:
        """When `chat_id` may get its next message (<= now: at once; inf: in flight)."""
        if chat_id in self.busy:
            return math.inf
        at = self._holds.get(chat_id, 0.0)
        if chat_id > 0:
            at = max(at, self._private_next.get(chat_id, 0.0))
        else:
            window = self._groups.get(chat_id)
            if window is not None:
                while window and window[0] <= now - GROUP_WINDOW - WINDOW_MARGIN:
                    window.popleft()
                if len(window) >= GROUP_LIMIT:
                    at = max(at, window[0] + GROUP_WINDOW + WINDOW_MARGIN)
        return at

    def record(self, chat_id: int, now: float) -> None:
        if chat_id > 0:
            self._private_next[chat_id] = now + PRIVATE_GAP + WINDOW_MARGIN
        else:
            self._groups.setdefault(chat_id, deque()).append(now)

    def hold(self, chat_id: int, until: float) -> None:
        self._holds[chat_id] = max(self._holds.get(chat_id, 0.0), until)

    def forget_old(self, now: float) -> None:
        """Drop entries that no longer limit anything (keeps memory flat in long runs)."""
        self._private_next = {c: t for c, t in self._private_next.items() if t > now}
        self._holds = {c: t for c, t in self._holds.items() if t > now}
        self._groups = {c: w for c, w in self._groups.items() if w and w[-1] > now - 61.0}


PROBE_FIRST = 0.5  # seconds from a transient fault to the first probe
PROBE_MAX = 5.0  # probes back off to one every this many seconds (a getMe: cheap)


class Breaker:
    """The circuit breaker over the Bot API as a whole. A network error or a 5xx opens it: no
    row is sent while it is open (so an outage costs no row an attempt), and a cheap call probes
    the API — soon, then backing off — until one succeeds and closes it."""

    def __init__(self, *, first: float = PROBE_FIRST, most: float = PROBE_MAX) -> None:
        self.first = first
        self.most = most
        self.is_open = False
        self.opened_at = 0.0
        self.closed_at = -math.inf
        self.next_probe = 0.0
        self.trips = 0
        self._delay = first

    def trip(self, now: float) -> bool:
        """A transient fault: open (True if it was closed). Tripping again soon after closing
        (the probe gets through, sends still fail) keeps backing off instead of starting over."""
        if self.is_open:
            return False
        self.is_open = True
        self.trips += 1
        self.opened_at = now
        flapping = now - self.closed_at < 2 * self.most
        self._delay = min(self.most, self._delay * 2.0) if flapping else self.first
        self.next_probe = now + self._delay
        return True

    def probe_failed(self, now: float) -> None:
        self._delay = min(self.most, self._delay * 2.0)
        self.next_probe = now + self._delay

    def close(self) -> float:
        """The API answered: closed again; how long it was open."""
        self.is_open = False
        self.closed_at = time.monotonic()
        return self.closed_at - self.opened_at


N = TypeVar("N")


class GroupCommit(Generic[N]):
    """Notes committed in groups: every note that arrived while the previous commit ran goes
    into the next. At low rates that is one note per commit (the shortest window between an
    event and its record); under load several, so recording keeps up."""

    def __init__(self, commit: Callable[[list[N]], Awaitable[object]], name: str) -> None:
        self.commit = commit
        self.name = name
        self.commits = 0
        self._queue: list[tuple[N, asyncio.Future[None]]] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def add(self, note: N) -> asyncio.Future[None]:
        """The future is done once the note is committed."""
        done = asyncio.get_running_loop().create_future()
        self._queue.append((note, done))
        self._ready.set()
        return done

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._queue = self._queue, []
            if not batch:
                continue
            try:
                await self.commit([note for note, _ in batch])
            except Exception as error:
                log.error("%s: could not record %d note(s): %r", self.name, len(batch), error)
                for _, done in batch:
                    done.set_exception(error)
                continue
            self.commits += 1
            for _, done in batch:
                done.set_result(None)
