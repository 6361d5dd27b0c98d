"""Nudges on wishes that stall in someone's hands: the helper is reminded once when the wish's
needed-by time has passed; a resident who has not confirmed a wish reported done is asked
again after two and four days, and after six the coordinators above it are told. Each is a
reminder row set when the wish moves (claimed, reported done), cancelled when it moves on, and
checked again when it fires: a wish that moved on meanwhile is left alone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Reminder, User, Wish, WishStatus
from bot.services.notify import coordinators_above, quiet_until
from bot.services.reminders import ReminderService
from bot.services.wishes.notices import ConfirmNudge, UnconfirmedToCoordinators, WishOverdue
from bot.services.wishes.offers import WishOffers
from bot.services.wishes.rules import (
    CONFIRM_ESCALATE_AFTER,
    CONFIRM_NUDGES,
    KIND_CONFIRM_ESCALATE,
    KIND_CONFIRM_NUDGE,
    KIND_OVERDUE,
    subject_of,
)
from storage import teams as teams_repo
from storage import users as users_repo
from storage import wishes as repo


def _stamp(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "-"


class WishNudges(WishOffers):
    def register_nudges(self, reminders: ReminderService) -> None:
        """What the nudge reminders do when due (called with the other wish reminders)."""
        reminders.on(KIND_OVERDUE, self.on_overdue)
        reminders.on(KIND_CONFIRM_NUDGE, self.on_confirm_nudge)
        reminders.on(KIND_CONFIRM_ESCALATE, self.on_confirm_escalate)

    # --- set when the wish moves --------------------------------------------------------------

    async def _nudge_overdue(
        self, conn: AsyncConnection, wish: Wish, now: datetime, *, again: int | None = None
    ) -> None:
        """A claimed wish with a needed-by time still ahead: remind its helper once it passes
        (the claim is named by its time, so a later claim of the same wish is a new one;
        `again`, an event's id, when the same claim comes back from "not done")."""
        if wish.needed_by is None or wish.needed_by <= now or wish.claimed_by is None:
            return
        subject = subject_of(wish.id)
        await self.reminders.schedule(
            conn,
            subject=subject,
            kind=KIND_OVERDUE,
            due_at=wish.needed_by,
            recipient_id=wish.claimed_by,
            payload={"wish_id": wish.id, "claimed_at": _stamp(wish.claimed_at)},
            dedupe_key=f"{subject}:overdue:{wish.claimed_by}:{_stamp(wish.claimed_at)}:{again}",
        )

    async def _nudge_confirm(self, conn: AsyncConnection, wish: Wish) -> None:
        """A wish just reported done: ask the resident again later, then tell coordinators.
        Whatever the claim-time reminders still planned is over (the wish moved on)."""
        subject = subject_of(wish.id)
        await self.reminders.cancel(conn, subject, recurring=False)
        if wish.done_at is None:
            return
        done = _stamp(wish.done_at)
        payload = {"wish_id": wish.id, "done_at": done}
        for number, after in enumerate(CONFIRM_NUDGES, start=1):
            await self.reminders.schedule(
                conn,
                subject=subject,
                kind=KIND_CONFIRM_NUDGE,
                due_at=wish.done_at + after,
                recipient_id=wish.posted_by,
                payload={**payload, "number": number},
                dedupe_key=f"{subject}:confirm:{done}:{number}",
            )
        await self.reminders.schedule(
            conn,
            subject=subject,
            kind=KIND_CONFIRM_ESCALATE,
            due_at=wish.done_at + CONFIRM_ESCALATE_AFTER,
            payload=payload,
            dedupe_key=f"{subject}:confirm:{done}:coordinators",
        )

    # --- what they do when due --------------------------------------------------------------

    async def _still(
        self, conn: AsyncConnection, reminder: Reminder, status: WishStatus, field: str
    ) -> Wish | None:
        """The wish, when it is still where it was when the reminder was set: same status,
        same claim or done report (named by its time)."""
        wish = await repo.get_wish(conn, int(reminder.payload["wish_id"]))
        if wish is None or wish.status != status:
            return None
        if _stamp(getattr(wish, field)) != reminder.payload.get(field):
            return None
        return wish

    async def _tell_quietly(
        self,
        conn: AsyncConnection,
        people: list[User],
        notice: WishOverdue | ConfirmNudge,
        key: str,
    ) -> None:
        """Nudges wait for the end of each person's quiet hours, as offers do."""
        now, zone = self.clock.now(), self.settings.zone
        await self.notifier.tell_all(
            conn,
            people,
            notice,
            dedupe_prefix=key,
            not_before=lambda person: quiet_until(person, now, zone),
        )

    async def on_overdue(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        """Needed by now and still in hand: the helper, and for a team claim its leader."""
        wish = await self._still(conn, reminder, WishStatus.CLAIMED, "claimed_at")
        if wish is None or wish.claimed_by is None:
            return
        ids = {wish.claimed_by}
        team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
        if team is not None:
            ids.add(team.leader_id)  # the leader may report it done or give it back too
        people = await users_repo.get_users(conn, ids)
        await self._tell_quietly(conn, people, WishOverdue(wish=wish), reminder.dedupe_key)

    async def on_confirm_nudge(
        self, conn: AsyncConnection, reminder: Reminder, late: bool
    ) -> None:
        """Still not confirmed: ask the resident (or whoever posted it for them) again."""
        wish = await self._still(conn, reminder, WishStatus.DONE, "done_at")
        owner = await users_repo.get_user(conn, wish.posted_by) if wish else None
        if wish is None or wish.done_at is None or owner is None:
            return
        number = int(reminder.payload.get("number", len(CONFIRM_NUDGES)))
        if (
            number < len(CONFIRM_NUDGES)
            and self.clock.now() >= wish.done_at + CONFIRM_NUDGES[number]
        ):
            return  # run late (the bot was down): the next one, due too, asks once for both
        await self._tell_quietly(conn, [owner], ConfirmNudge(wish=wish), reminder.dedupe_key)

    async def on_confirm_escalate(
        self, conn: AsyncConnection, reminder: Reminder, late: bool
    ) -> None:
        """Asked twice and still not confirmed: the coordinators above the wish are told (the
        routing of an urgent request's escalation), after their quiet hours."""
        wish = await self._still(conn, reminder, WishStatus.DONE, "done_at")
        if wish is None or wish.done_at is None:
            return
        days = max(1, int((self.clock.now() - wish.done_at).total_seconds() // 86400))
        ids = await coordinators_above(conn, wish.community_id, wish.building_id)
        coordinators = await users_repo.get_users(conn, ids)
        now, zone = self.clock.now(), self.settings.zone
        await self.notifier.tell_all(
            conn,
            coordinators,
            UnconfirmedToCoordinators(wish=wish, days=days),
            dedupe_prefix=reminder.dedupe_key,
            not_before=lambda person: quiet_until(person, now, zone),
        )
