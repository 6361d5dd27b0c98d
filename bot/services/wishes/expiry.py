"""What the scheduler does to open wishes: an urgent request widens to the whole community,
then escalates to coordinators; a wish nobody took in time expires. Each runs inside the
transaction that marks its reminder done, so it happens once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Reminder, User, WishEventKind, WishStatus
from bot.services.errors import LinliError
from bot.services.lifecycle import Party
from bot.services.reminders import ReminderService
from bot.services.wishes.notices import UrgentEscalated, UrgentEscalatedToOwner, WishExpired
from bot.services.wishes.nudges import WishNudges
from bot.services.wishes.rules import KIND_ESCALATE, KIND_EXPIRE, KIND_WIDEN
from storage import wishes as repo

SYSTEM = frozenset({Party.SYSTEM})


class WishExpiry(WishNudges):
    def register_reminders(self, reminders: ReminderService) -> None:
        """What the wish reminders do when due (called once, in `Services.build`)."""
        reminders.on(KIND_ESCALATE, self.on_escalate)
        reminders.on(KIND_WIDEN, self.on_widen)
        reminders.on(KIND_EXPIRE, self.on_expire)
        self.register_nudges(reminders)

    async def on_escalate(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        """Nobody took an urgent request in time: coordinators (and the resident) are told."""
        wish = await repo.get_wish(conn, int(reminder.payload["wish_id"]))
        if wish is None or wish.status != WishStatus.OPEN:
            return
        now = self.clock.now()
        self._move(wish, WishEventKind.ESCALATED, SYSTEM)
        minutes = max(1, int((now - wish.created_at).total_seconds() // 60))
        await repo.mark_escalated(conn, wish.id, now)
        await self._record(conn, wish, WishEventKind.ESCALATED, actor=None, now=now)
        escalated = await self._changed(conn, wish.id)
        await self.notifier.tell_coordinators(
            conn,
            UrgentEscalated(wish=escalated, minutes=minutes),
            dedupe_prefix=f"{reminder.dedupe_key}:coordinators",
        )
        await self._tell_owner(
            conn,
            escalated,
            UrgentEscalatedToOwner(wish=escalated),
            dedupe_key=f"{reminder.dedupe_key}:owner",
        )

    async def on_widen(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        """An urgent request still open after the first minutes: alert the whole community."""
        wish = await repo.get_wish(conn, int(reminder.payload["wish_id"]))
        if wish is None or wish.status != WishStatus.OPEN:
            return
        await self._alert(conn, wish, int(reminder.payload["round"]), building_only=False)

    async def on_expire(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        """Past its time and nobody took it: expired; the resident may post it again."""
        wish = await repo.get_wish(conn, int(reminder.payload["wish_id"]))
        if wish is None:
            return
        try:
            move = self._move(wish, WishEventKind.EXPIRED, SYSTEM)
        except LinliError:
            return  # taken, cancelled or closed meanwhile: nothing expires
        now = self.clock.now()
        if not await repo.change_status(
            conn,
            wish.id,
            from_status=move.source,
            to_status=move.target,
            held_by=wish.claimed_by,
            closed_at=now,
        ):
            return
        actor: User | None = None
        await self._record(conn, wish, WishEventKind.EXPIRED, actor=actor, now=now, move=move)
        expired = await self._changed(conn, wish.id)
        await self._tell_owner(
            conn, expired, WishExpired(wish=expired), dedupe_key=f"{reminder.dedupe_key}:owner"
        )
