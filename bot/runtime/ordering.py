"""Updates of different people are handled at the same time; one person's, one after another.

python-telegram-bot handles updates strictly one by one unless told otherwise, because a
ConversationHandler relies on a person's updates arriving in order. Strictly one by one, every
update also waits for the HTTP round trips and the write transaction of every update before
it, whoever sent them: with 100 updates a second (70 % reads, 30 % claims), the 99th
percentile of the time to an answer was 151 ms on a SQLite database of 100,000 wishes.

Here each person (the sender; for an update without one, its chat) has a lock, taken in the
order the updates arrive, so one person's updates — their dialogue — still go one by one,
while different people's overlap their waits. Write transactions stay one at a time in the
process (`Store.transaction`), so what overlaps is network time and reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates handled at once: enough to overlap network waits, few enough that the loop is not
# spread thin. Measured (2,000 /help updates against a bare bot, fake in the same process):
# 1 at a time 0.76 of the bare bot's rate, 4: 0.85, 8: 0.73, 32: 0.54; the 100-updates-a-second
# mix's p99 was 42 ms with 8 and 49 ms with 32.
UPDATES_AT_ONCE = 8


def person_of(update: object) -> int | None:
    """Whose updates must stay in order: the sender's, else the chat's (None: no order)."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class InOrderPerPerson(BaseUpdateProcessor):
    """At most `max_concurrent_updates` at once, and one at a time for each person."""

    __slots__ = ("_in_hand", "_locks")

    def __init__(self, max_concurrent_updates: int = UPDATES_AT_ONCE) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._in_hand: dict[int, int] = {}  # updates holding or waiting for each lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        person = person_of(update)
        if person is None:
            await coroutine
            return
        # The lock is taken without a suspension in between: asyncio's Lock and the
        # processor's Semaphore serve their waiters first in, first out, so a person's updates
        # are handled in the order the Application received them.
        lock = self._locks.setdefault(person, asyncio.Lock())
        self._in_hand[person] = self._in_hand.get(person, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._in_hand[person] -= 1
            if not self._in_hand[person]:  # nobody else holds or waits: forget the person
                del self._in_hand[person]
                del self._locks[person]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""

    def people_in_hand(self) -> int:
        """People with an update being handled or waiting (tests: nothing is kept after)."""
        return len(self._locks)
