"""The slot engine: a time people sign up for, are reminded of and check in to. Patrol shifts
and study sessions are two features on it; each adds its own details, rules and notices.

The engine holds the rules every slot shares, inside the caller's transaction: when a slot may
be made (not in the past, ends after it starts, at most 12 hours, repeats computed on the local
wall clock), who may hold a place (open, not begun, not full, no overlap with another place the
person holds), and when one may check in and out (a window around the slot). What it changes it
changes by guarded UPDATEs (storage/slots.py), so races leave one winner. Reminders about a slot
use `slot_subject` / `person_subject`, so cancelling a slot or a person's place cancels them."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import N_, Recurrence, Signup, SignupStatus, Slot, SlotKind, User
from bot.services.errors import Conflict, InvalidInput, NotFound
from storage import slots as repo
from storage.store import Store

MAX_REPEAT = 62  # slots made in one step: every evening for two months
LONGEST = timedelta(hours=12)
LOCAL_FORMAT = "%m-%d %H:%M"  # in refusals: the same in both languages


class SlotInPast(InvalidInput):
    message = N_("That time has already passed. Please choose a time in the future.")


class EndBeforeStart(InvalidInput):
    message = N_("The end must be after the start. Please check the times.")


class SlotTooLong(InvalidInput):
    message = N_("That is longer than 12 hours. Please split it into shorter ones.")


class BadCapacity(InvalidInput):
    message = N_("Please give how many people are needed: a whole number from 1 to 500.")


class TooManyRepeats(InvalidInput):
    message = N_("That repeats too often: at most {most} times in one go.")


class SlotClosed(Conflict):
    message = N_("That has been cancelled or has already begun.")


class SlotFull(Conflict):
    message = N_("Sorry, that is full already.")


class AlreadySignedUp(Conflict):
    message = N_("You are already signed up for it.")


class Overlaps(Conflict):
    message = N_("You already have one at that time (from {start}). Please choose another.")


class NotSignedUp(NotFound):
    message = N_("You are not signed up for that.")


class OutsideWindow(InvalidInput):
    message = N_("That can only be done from {opens} to {closes}.")


class AlreadyCheckedIn(Conflict):
    message = N_("You have already checked in.")


class NotCheckedIn(Conflict):
    message = N_("Please check in first.")


class AlreadyCheckedOut(Conflict):
    message = N_("You have already checked out.")


MAX_CAPACITY = 500


def slot_subject(slot_id: int) -> str:
    """What a slot's own reminders are about: cancelling the slot cancels them."""
    return f"slot:{slot_id}"


def person_subject(slot_id: int, user_id: int) -> str:
    """What one person's reminders for a slot are about: giving the place up cancels them."""
    return f"slot:{slot_id}:{user_id}"


def local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime(LOCAL_FORMAT)


def _shifted(day: date, recurrence: Recurrence, step: int, anchor_day: int) -> date:
    if recurrence is Recurrence.DAILY:
        return day + timedelta(days=step)
    if recurrence is Recurrence.WEEKLY:
        return day + timedelta(weeks=step)
    month0 = day.month - 1 + step
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def repeat(
    start: datetime, end: datetime, recurrence: Recurrence, count: int, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """`count` occurrences of [start, end) — the same local wall-clock times every day, week
    or month (the same day of the month, the last day in shorter months) — in aware UTC. A
    one-off (ONCE) is itself alone."""
    if recurrence is Recurrence.ONCE:
        return [(start, end)]
    if not 1 <= count <= MAX_REPEAT:
        raise TooManyRepeats(most=str(MAX_REPEAT))
    local_start, length = start.astimezone(zone), end - start
    times: list[tuple[datetime, datetime]] = []
    for step in range(count):
        day = _shifted(local_start.date(), recurrence, step, local_start.day)
        # Combined on the wall clock, so a daylight-saving change keeps the local hour.
        moment = datetime.combine(day, local_start.timetz().replace(tzinfo=None), tzinfo=zone)
        times.append((moment.astimezone(UTC), (moment + length).astimezone(UTC)))
    return times


def minutes_served(signup: Signup, slot: Slot) -> int:
    """Minutes on duty within the slot: from the later of check-in and start to the earlier of
    check-out and end (none before checking both)."""
    if signup.checked_in_at is None or signup.checked_out_at is None:
        return 0
    begun = max(signup.checked_in_at, slot.starts_at)
    ended = min(signup.checked_out_at, slot.ends_at)
    return max(0, int((ended - begun).total_seconds() // 60))


@dataclass
class SlotEngine:
    store: Store
    settings: Settings
    clock: Clock

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    def check_times(
        self, times: Sequence[tuple[datetime, datetime]], capacity: int | None
    ) -> None:
        """Refuse slots in the past, ending before they start, too long, or a bad capacity."""
        if not times:
            raise EndBeforeStart()
        if len(times) > MAX_REPEAT:
            raise TooManyRepeats(most=str(MAX_REPEAT))
        if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
            raise BadCapacity()
        now = self.clock.now()
        for starts_at, ends_at in times:
            if starts_at.tzinfo is None or ends_at.tzinfo is None:
                raise ValueError("slot times must be timezone-aware")
            if ends_at <= starts_at:
                raise EndBeforeStart()
            if ends_at - starts_at > LONGEST:
                raise SlotTooLong()
            if starts_at <= now:
                raise SlotInPast()

    async def create(
        self,
        conn: AsyncConnection,
        *,
        kind: SlotKind,
        community_id: int,
        building_id: int | None,
        times: Sequence[tuple[datetime, datetime]],
        capacity: int | None,
        actor_id: int,
    ) -> list[Slot]:
        """Make the slots (one series when several), after `check_times`."""
        self.check_times(times, capacity)
        return await repo.insert_slots(
            conn,
            kind=kind,
            community_id=community_id,
            building_id=building_id,
            times=times,
            capacity=capacity,
            created_by=actor_id,
            now=self.clock.now(),
        )

    async def current(self, conn: AsyncConnection, slot_id: int) -> Slot:
        """The slot as it is now in this transaction (NotFound when it never was)."""
        slot = await repo.get_slot(conn, slot_id)
        if slot is None:
            raise NotFound()
        return slot

    async def take(self, conn: AsyncConnection, slot: Slot, user: User) -> Signup:
        """Hold a place on an open slot that has not begun, is not full, and overlaps no other
        place the person holds."""
        now = self.clock.now()
        slot = await self.current(conn, slot.id)
        if not slot.open or slot.starts_at <= now:
            raise SlotClosed()
        mine = await repo.get_signup(conn, slot.id, user.id)
        if mine is not None and mine.holding:
            raise AlreadySignedUp()
        clash = await repo.overlapping(
            conn, user.id, slot.starts_at, slot.ends_at, exclude_slot=slot.id
        )
        if clash is not None:
            raise Overlaps(start=local(clash.starts_at, self.zone))
        if not await repo.take_place(conn, slot.id, user.id, now):
            again = await repo.get_signup(conn, slot.id, user.id)
            if again is not None and again.holding:
                raise AlreadySignedUp()  # a second tap, racing the first
            raise SlotFull()
        signup = await repo.get_signup(conn, slot.id, user.id)
        assert signup is not None
        return signup

    async def leave(
        self,
        conn: AsyncConnection,
        slot: Slot,
        user: User,
        *,
        to: SignupStatus = SignupStatus.DROPPED,
        reason: str | None = None,
    ) -> None:
        """Give a held place up (→ `to`); NotSignedUp when none is held."""
        if not await repo.release_place(
            conn, slot.id, user.id, to=to, reason=reason, now=self.clock.now()
        ):
            raise NotSignedUp()

    def window(
        self, slot: Slot, opens_before: timedelta, closes_after: timedelta
    ) -> tuple[datetime, datetime]:
        return slot.starts_at - opens_before, slot.ends_at + closes_after

    def _inside(self, slot: Slot, opens_before: timedelta, closes_after: timedelta) -> None:
        opens, closes = self.window(slot, opens_before, closes_after)
        if not opens <= self.clock.now() <= closes:
            raise OutsideWindow(opens=local(opens, self.zone), closes=local(closes, self.zone))

    async def check_in(
        self,
        conn: AsyncConnection,
        slot: Slot,
        user: User,
        *,
        opens_before: timedelta,
        closes_after: timedelta,
        latitude: float | None = None,
        longitude: float | None = None,
        require_signup: bool = True,
    ) -> Signup:
        """Check in within the slot's window. With `require_signup`, only someone holding a
        place; without (a session open to an audience), anyone the caller let through — a
        row is made for them."""
        slot = await self.current(conn, slot.id)
        if not slot.open:
            raise SlotClosed()
        now = self.clock.now()
        mine = await repo.get_signup(conn, slot.id, user.id)
        if require_signup and (mine is None or not mine.holding):
            raise NotSignedUp()
        self._inside(slot, opens_before, closes_after)
        if mine is not None and mine.checked_in_at is not None:
            raise AlreadyCheckedIn()
        if mine is None or not mine.holding:
            mine = await repo.answer(conn, slot.id, user.id, SignupStatus.GOING, None, now)
        if not await repo.check_in(
            conn, slot.id, user.id, at=now, latitude=latitude, longitude=longitude
        ):
            raise AlreadyCheckedIn()
        signup = await repo.get_signup(conn, slot.id, user.id)
        assert signup is not None
        return signup

    async def check_out(
        self, conn: AsyncConnection, slot: Slot, user: User, *, closes_after: timedelta
    ) -> Signup:
        """Check out, after checking in, until `closes_after` past the end."""
        slot = await self.current(conn, slot.id)
        mine = await repo.get_signup(conn, slot.id, user.id)
        if mine is None or not mine.holding:
            raise NotSignedUp()
        if mine.checked_in_at is None:
            raise NotCheckedIn()
        if mine.checked_out_at is not None:
            raise AlreadyCheckedOut()
        closes = slot.ends_at + closes_after
        if self.clock.now() > closes:
            raise OutsideWindow(
                opens=local(mine.checked_in_at, self.zone), closes=local(closes, self.zone)
            )
        if not await repo.check_out(conn, slot.id, user.id, at=self.clock.now()):
            raise AlreadyCheckedOut()
        signup = await repo.get_signup(conn, slot.id, user.id)
        assert signup is not None
        return signup
