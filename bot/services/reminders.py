"""Reminders: rows in the database (they survive restarts), run by the scheduler's sweep.

Usage by a feature (e.g. patrol):

    services.reminders.on("shift.before", remind_shift)          # once, at build time
    async with store.transaction() as conn:
        await services.reminders.schedule(
            conn, subject="shift:5", kind="shift.before", recipient_id=member.id,
            due_at=shift.starts_at - timedelta(hours=1), stale_after=timedelta(minutes=50))
    ...
    await services.reminders.cancel(conn, "shift:5")             # the shift was cancelled

The built-in kind ``notify`` needs no action: its payload ``{"text": <English message id>,
"values": {...}}`` is translated for the recipient and queued to the outbox (values escaped),
with a note when it is late.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import N_, Frequency, Notice, RecurringSchedule, Reminder, ReminderStatus
from bot.services.errors import InvalidInput
from bot.services.notify import Notifier
from storage import reminders as reminders_repo
from storage import users as users_repo
from storage.store import Store

log = logging.getLogger(__name__)

ReminderAction = Callable[[AsyncConnection, Reminder, bool], Awaitable[None]]  # (conn, r, late)

NOTIFY = "notify"
EXPAND_AHEAD = timedelta(days=14)
SWEEP_BATCH = 500
SWEEP_BUDGET = timedelta(seconds=20)  # of wall time in one sweep, batch after batch
WAKE_EVERY = 50  # reminders handled between wake-ups of the sender
MIN_LATE_GRACE = timedelta(minutes=2)


class ReminderNotice(Notice):
    """A reminder of the built-in kind: an English message id with its values (translated and
    escaped by the view), and when it was due if it is sent late."""

    KIND = "reminder.notify"
    text: str
    values: dict[str, str] = Field(default_factory=dict)
    late_since: datetime | None = None


# --- local date and time typed by a person --------------------------------------------------

_MOMENT = re.compile(
    r"^(?:(?:(?P<year>\d{4})\s*[-/.年]\s*)?(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})"
    r"(?:\s*日\s*|\s+))?(?P<hour>\d{1,2})\s*[:：点]\s*(?P<minute>\d{2})?\s*分?$"
)


def parse_local_moment(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """A future moment typed in the community's zone: "2026-12-01 09:00", "12-01 9:00",
    "12月1日 9:00" or just "18:30" (today, or tomorrow when that has passed). Aware UTC."""
    match = _MOMENT.match(" ".join(text.split()))
    if match is None:
        raise InvalidInput(
            N_("Please type a date and time like {example}."), example="2026-12-01 09:00"
        )
    parts = match.groupdict()
    local_now = now.astimezone(zone)
    hour, minute = int(parts["hour"]), int(parts["minute"] or 0)
    try:
        at = time(hour, minute)
        if parts["month"] is None:
            moment = datetime.combine(local_now.date(), at, tzinfo=zone)
            if moment <= local_now:
                moment = datetime.combine(local_now.date() + timedelta(days=1), at, tzinfo=zone)
        else:
            year = int(parts["year"]) if parts["year"] else local_now.year
            day = date(year, int(parts["month"]), int(parts["day"]))
            moment = datetime.combine(day, at, tzinfo=zone)
            if parts["year"] is None and moment <= local_now:
                moment = datetime.combine(day.replace(year=year + 1), at, tzinfo=zone)
    except ValueError:
        raise InvalidInput(N_("There is no such date or time. Please check it.")) from None
    return moment.astimezone(UTC)


# --- recurring schedules ----------------------------------------------------------------------


def _clock_time(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def occurrences(
    schedule: RecurringSchedule, after: datetime, until: datetime, zone: ZoneInfo
) -> Iterator[datetime]:
    """The schedule's moments in (after, until], in UTC, computed in the local zone."""
    at = _clock_time(schedule.local_time)
    day = after.astimezone(zone).date()
    last = until.astimezone(zone).date()
    while day <= last:
        if schedule.frequency is Frequency.DAILY:
            hit = True
        elif schedule.frequency is Frequency.WEEKLY:
            hit = day.weekday() == schedule.weekday
        else:
            wanted = schedule.day_of_month or 1
            hit = day.day == min(wanted, calendar.monthrange(day.year, day.month)[1])
        if hit:
            moment = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
            if after < moment <= until:
                yield moment
        day += timedelta(days=1)


@dataclass
class ReminderService:
    store: Store
    clock: Clock
    notifier: Notifier
    settings: Settings
    _actions: dict[str, ReminderAction] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.on(NOTIFY, self._notify)

    @property
    def grace(self) -> timedelta:
        """How late a reminder may run and still count as on time."""
        sweep = timedelta(seconds=self.settings.sweep_interval_seconds * 3)
        return max(MIN_LATE_GRACE, sweep)

    def on(self, kind: str, action: ReminderAction) -> None:
        """Register what reminders of `kind` do when due (one action per kind)."""
        if kind in self._actions and self._actions[kind] is not action:
            raise ValueError(f"reminder kind {kind!r} has an action already")
        self._actions[kind] = action

    async def schedule(
        self,
        conn: AsyncConnection,
        *,
        subject: str,
        kind: str,
        due_at: datetime,
        recipient_id: int | None = None,
        payload: dict[str, Any] | None = None,
        stale_after: timedelta | None = None,
        dedupe_key: str | None = None,
    ) -> int | None:
        """Add a reminder in the caller's transaction; None when the same one exists already
        (the default dedupe key is kind + subject + recipient + due time)."""
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        key = dedupe_key or (
            f"{kind}:{subject}:{recipient_id if recipient_id is not None else '-'}:"
            f"{due_at.astimezone(UTC):%Y%m%dT%H%M%S}"
        )
        return await reminders_repo.insert_reminder(
            conn,
            subject=subject,
            kind=kind,
            recipient_id=recipient_id,
            payload=payload or {},
            due_at=due_at,
            stale_after=due_at + stale_after if stale_after is not None else None,
            dedupe_key=key,
        )

    async def cancel(self, conn: AsyncConnection, subject: str, *, recurring: bool = True) -> int:
        """Cancel the pending reminders about `subject` and (unless `recurring=False`, for
        things that never repeat: one statement less) stop its recurring schedules; the
        number of reminders cancelled."""
        if recurring:
            await reminders_repo.deactivate_recurring(conn, subject)
        return await reminders_repo.cancel_pending(conn, subject, self.clock.now())

    async def add_recurring(
        self,
        conn: AsyncConnection,
        *,
        subject: str,
        kind: str,
        frequency: Frequency,
        at: time,
        weekday: int | None = None,
        day_of_month: int | None = None,
        recipient_id: int | None = None,
        payload: dict[str, Any] | None = None,
        stale_after: timedelta | None = None,
    ) -> int:
        """Repeat a reminder daily, weekly (`weekday`, 0 = Monday) or monthly (`day_of_month`,
        the last day in shorter months) at local time `at`; rows are made ahead of time.
        Returns the schedule's id; `cancel(subject)` stops it."""
        if frequency is Frequency.WEEKLY and (weekday is None or not 0 <= weekday <= 6):
            raise ValueError("a weekly schedule needs weekday 0..6")
        if frequency is Frequency.MONTHLY and (
            day_of_month is None or not 1 <= day_of_month <= 31
        ):
            raise ValueError("a monthly schedule needs day_of_month 1..31")
        schedule = await reminders_repo.insert_recurring(
            conn,
            subject=subject,
            kind=kind,
            recipient_id=recipient_id,
            payload=payload or {},
            frequency=frequency,
            local_time=f"{at.hour:02d}:{at.minute:02d}",
            weekday=weekday if frequency is Frequency.WEEKLY else None,
            day_of_month=day_of_month if frequency is Frequency.MONTHLY else None,
            stale_minutes=int(stale_after.total_seconds() // 60) if stale_after else None,
        )
        await self._expand(conn, schedule, self.clock.now())
        return schedule.id

    async def _expand(
        self, conn: AsyncConnection, schedule: RecurringSchedule, now: datetime
    ) -> int:
        # Occurrences missed while the bot was down longer than the horizon are not invented.
        start = max(schedule.expanded_until or now, now)
        horizon = now + EXPAND_AHEAD
        made = 0
        for moment in occurrences(schedule, start, horizon, self.settings.zone):
            stale = timedelta(minutes=schedule.stale_minutes) if schedule.stale_minutes else None
            inserted = await self.schedule(
                conn,
                subject=schedule.subject,
                kind=schedule.kind,
                due_at=moment,
                recipient_id=schedule.recipient_id,
                payload=schedule.payload,
                stale_after=stale,
                dedupe_key=f"recurring:{schedule.id}:{moment:%Y%m%dT%H%M}",
            )
            made += inserted is not None
        await reminders_repo.set_expanded_until(conn, schedule.id, horizon)
        return made

    async def expand_recurring(self) -> int:
        """Make the rows of every active schedule up to the horizon; how many were made."""
        now = self.clock.now()
        made = 0
        async with self.store.transaction() as conn:
            for schedule in await reminders_repo.schedules_to_expand(conn, now + EXPAND_AHEAD):
                made += await self._expand(conn, schedule, now)
        return made

    async def run_due(self) -> int:
        """One sweep: every due pending reminder once — its action runs in the transaction
        that marks it SENT (late=True past the grace); SKIPPED when past its stale time;
        FAILED (logged) when the action raises. Returns how many were handled.

        Batches follow one another while they come back full, for up to SWEEP_BUDGET of wall
        time (then the next sweep goes on), and the sender is woken every WAKE_EVERY: 5,000
        reminders due in the same minute went out one batch per sweep interval before, and
        the sender waited on the sweep (`make bench`, the reminders section)."""
        handled = 0
        stop_at = monotonic() + SWEEP_BUDGET.total_seconds()
        while True:
            now = self.clock.now()
            async with self.store.read() as conn:
                due = await reminders_repo.due_reminders(conn, now, limit=SWEEP_BATCH)
            for reminder in due:
                handled += await self._run_one(reminder, now)
                if handled % WAKE_EVERY == 0:
                    self.notifier.wake()
            if handled:
                self.notifier.wake()
            if len(due) < SWEEP_BATCH or monotonic() > stop_at:
                return handled

    async def _run_one(self, reminder: Reminder, now: datetime) -> bool:
        if reminder.stale_after is not None and now > reminder.stale_after:
            async with self.store.transaction() as conn:
                skipped = await reminders_repo.finish(
                    conn, reminder.id, ReminderStatus.SKIPPED, now
                )
            if skipped:
                log.info("reminder_id=%s kind=%s skipped: stale", reminder.id, reminder.kind)
            return skipped
        action = self._actions.get(reminder.kind)
        if action is None:
            log.error("reminder_id=%s has unknown kind %r", reminder.id, reminder.kind)
            return await self._fail(reminder, now)
        late = now - reminder.due_at > self.grace
        try:
            async with self.store.transaction() as conn:
                if not await reminders_repo.finish(conn, reminder.id, ReminderStatus.SENT, now):
                    return False  # cancelled or run meanwhile
                await action(conn, reminder, late)
        except Exception:
            log.exception("reminder_id=%s kind=%s failed", reminder.id, reminder.kind)
            return await self._fail(reminder, now)
        return True

    async def _fail(self, reminder: Reminder, now: datetime) -> bool:
        async with self.store.transaction() as conn:
            return await reminders_repo.finish(conn, reminder.id, ReminderStatus.FAILED, now)

    async def _notify(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        if reminder.recipient_id is None:
            return
        user = await users_repo.get_user(conn, reminder.recipient_id)
        if user is None:
            return
        notice = ReminderNotice(
            text=str(reminder.payload.get("text", "")),
            values={k: str(v) for k, v in dict(reminder.payload.get("values", {})).items()},
            late_since=reminder.due_at if late else None,
        )
        await self.notifier.tell(conn, user, notice, dedupe_key=f"reminder:{reminder.id}")

    async def about(self, subject: str) -> list[Reminder]:
        """Every reminder about `subject` (for screens that show what is planned)."""
        async with self.store.read() as conn:
            return await reminders_repo.reminders_about(conn, subject)
