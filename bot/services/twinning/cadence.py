"""Visits on cadence: a pair is behind when more than its cadence has passed since its
latest visit (or its start). Two reminder rows per pair stand for that — the member's at one
cadence, the coordinators' at twice — set when the pair is made and re-armed when a visit
moves the pair's anchor day. Their dedupe keys name the anchor, so however often they are
set, a pair has one row per stage and anchor; a row that fires after the pair moved on (a
visit, the end) does nothing, and a notice it recorded carries the anchor, so one still held
back (quiet hours, a backlog) when the pair moves on is dropped, not sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import Pair, Reminder
from bot.services.days import local_day
from bot.services.notify import Notifier, coordinators_above, quiet_until
from bot.services.reminders import ReminderService
from bot.services.twinning.notices import VisitDue, VisitsOverdue
from bot.services.twinning.rules import anchor_of, due_moment, is_behind
from storage import twinning as repo
from storage import users as users_repo
from storage.store import Store

KIND_BEHIND = "twinning.behind"  # to the member, one cadence after the anchor
KIND_OVERDUE = "twinning.overdue"  # to the coordinators, two cadences after


def subject_of(pair_id: int) -> str:
    return f"pair:{pair_id}"


@dataclass
class TwinningCadence:
    store: Store
    settings: Settings
    clock: Clock
    notifier: Notifier
    reminders: ReminderService

    def register_reminders(self, reminders: ReminderService) -> None:
        """What the cadence reminders do when due (called once, at build time)."""
        reminders.on(KIND_BEHIND, self.on_behind)
        reminders.on(KIND_OVERDUE, self.on_overdue)

    def anchor(self, pair: Pair) -> date:
        return anchor_of(pair.started_at, pair.last_visited_on, self.settings.zone)

    async def arm(self, conn: AsyncConnection, pair: Pair, *, previous: date | None) -> None:
        """Set the pair's two reminders from its anchor day, replacing those of `previous`
        (None: none set yet). An unchanged anchor keeps the rows it has."""
        anchor = self.anchor(pair)
        if previous == anchor:
            return
        subject = subject_of(pair.id)
        if previous is not None:
            await self.reminders.cancel(conn, subject, recurring=False)
        zone = self.settings.zone
        payload = {"pair_id": pair.id, "anchor": anchor.isoformat()}
        for kind, days, recipient in (
            (KIND_BEHIND, pair.cadence_days, pair.member_id),
            (KIND_OVERDUE, 2 * pair.cadence_days, None),
        ):
            await self.reminders.schedule(
                conn,
                subject=subject,
                kind=kind,
                due_at=due_moment(anchor, days, zone),
                recipient_id=recipient,
                payload=payload,
                dedupe_key=f"{subject}:{kind}:{anchor.isoformat()}",
            )

    async def _still(self, conn: AsyncConnection, reminder: Reminder) -> Pair | None:
        """The pair, when it is active and its anchor is the reminder's (no visit since)."""
        pair = await repo.get_pair(conn, int(reminder.payload["pair_id"]))
        if pair is None or not pair.active:
            return None
        if self.anchor(pair).isoformat() != reminder.payload.get("anchor"):
            return None
        return pair

    async def reminded_pair(self, pair_id: int, anchor: date | None) -> Pair | None:
        """The pair a cadence notice tells of, while that notice still holds as it leaves:
        the pair active and its anchor the notice's (no visit logged since). None: it has
        moved on. A notice without an anchor (recorded before notices carried one) holds
        while the pair is behind."""
        async with self.store.read() as conn:
            pair = await repo.get_pair(conn, pair_id)
        if pair is None or not pair.active:
            return None
        now, zone = self.clock.now(), self.settings.zone
        if anchor is None:
            return pair if is_behind(self.anchor(pair), pair.cadence_days, now, zone) else None
        return pair if self.anchor(pair) == anchor else None

    def _days(self, pair: Pair) -> int:
        today = local_day(self.clock.now(), self.settings.zone)
        return (today - self.anchor(pair)).days

    async def on_behind(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        pair = await self._still(conn, reminder)
        member = await users_repo.get_user(conn, pair.member_id) if pair else None
        if pair is None or member is None:
            return
        notice = VisitDue(
            community_id=pair.community_id,
            building_id=pair.building_id,
            household_name=pair.household_name or "",
            building_name=pair.building_name or "",
            pair_id=pair.id,
            days=self._days(pair),
            cadence_days=pair.cadence_days,
            anchor=self.anchor(pair),
        )
        # Reminders wait for the end of the member's quiet hours, as the wishes' nudges do.
        await self.notifier.tell(
            conn,
            member,
            notice,
            dedupe_key=reminder.dedupe_key,
            not_before=quiet_until(member, self.clock.now(), self.settings.zone),
        )

    async def on_overdue(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        pair = await self._still(conn, reminder)
        if pair is None:
            return
        notice = VisitsOverdue(
            community_id=pair.community_id,
            building_id=pair.building_id,
            household_name=pair.household_name or "",
            building_name=pair.building_name or "",
            pair_id=pair.id,
            member_name=pair.member_name or "",
            days=self._days(pair),
            cadence_days=pair.cadence_days,
            anchor=self.anchor(pair),
        )
        ids = await coordinators_above(conn, pair.community_id, pair.building_id)
        now, zone = self.clock.now(), self.settings.zone
        await self.notifier.tell_all(
            conn,
            await users_repo.get_users(conn, ids),
            notice,
            dedupe_prefix=reminder.dedupe_key,
            not_before=lambda person: quiet_until(person, now, zone),
        )
