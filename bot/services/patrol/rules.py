"""Patrol duty's rules: the limits on what is typed, the windows for checking in and out,
when members are reminded, how hours served become passbook units. The errors carry English
message ids (catalogue keys) and their values.

Decisions (see the module's constants):
- the day-before reminder comes at 19:00 local time the day before the shift (an evening
  hour, outside everyone's default quiet hours, the same every day), and another
  `PATROL_REMIND_MINUTES` before the start (not held by quiet hours: a shift is imminent);
- a shift typed as ending before it starts (22:00-02:00) ends on the next day; the slot
  engine still refuses one longer than 12 hours (21:00-19:00 is refused as
  ending before it starts, not taken for 22 h);
- check-in opens 30 minutes before the start and closes at the end; check-out closes 2 hours
  after the end;
- hours served are the minutes between check-in and check-out within the shift's times,
  rounded to the nearest whole hour (half up), at least 1 when 30 minutes or more were served,
  none below that;
- a member who checked in and forgot to check out is checked out at the shift's scheduled end
  when the check-out window closes, credited up to that end, and told so."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.models import N_
from bot.services.days import local_day
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.slots import LONGEST, EndBeforeStart

POST_NAME_MAX = 64
AREA_MAX = 300
CAPACITY_MAX = 50
CHECK_IN_OPENS = timedelta(minutes=30)  # before the start
CHECK_IN_CLOSES = timedelta(0)  # after the end
CHECK_OUT_CLOSES = timedelta(hours=2)  # after the end
SHORT_ALERT_BEFORE = timedelta(hours=24)
DAY_BEFORE_AT = time(19, 0)  # local: the evening before the shift
MIN_SERVED_MINUTES = 30
OPEN_DAYS_AHEAD = 14  # how far /patrol pages through days


class NoSuchPost(NotFound):
    message = N_("There is no such patrol post.")


class PostArchived(Conflict):
    message = N_("This patrol post has been archived.")


class NoSuchShift(NotFound):
    message = N_("There is no such patrol shift.")


class PostNameRequired(InvalidInput):
    message = N_("Please give the post a name.")


class BadCapacity(InvalidInput):
    message = N_("Please give a number of members from 1 to {most}.")


class BadTimes(InvalidInput):
    message = N_("Please type the start and end like 19:00-21:00.")


class EndsBeforeItStarts(EndBeforeStart):
    message = N_(
        "The end is before the start. A night shift such as 22:00-02:00 ends the next day; "
        "otherwise please check the times."
    )


class NotAPatrolMember(NotAllowed):
    message = N_("Only members of this community can take patrol shifts.")


class NotOnShift(NotAllowed):
    message = N_("You are not on this shift.")


class ShiftBegun(Conflict):
    message = N_("This shift has already begun.")


class ShiftCancelled(Conflict):
    message = N_("This shift has been cancelled.")


class AlreadyAsked(Conflict):
    message = N_("You have already asked the coordinators to let you off this shift.")


class NotAsking(Conflict):
    message = N_("This member is no longer asking to be let off.")


class SwapGone(Conflict):
    message = N_("Sorry, this shift has already been taken by someone else.")


class AlreadyOnShift(Conflict):
    message = N_("You are already on this shift.")


class SwapClash(Conflict):
    message = N_("You have another shift at that time.")


class SwapOwn(InvalidInput):
    message = N_("This is your own shift.")


class SwapOpenAlready(Conflict):
    message = N_("You have already offered this shift to others.")


def check_capacity(capacity: int) -> int:
    if not 1 <= capacity <= CAPACITY_MAX:
        raise BadCapacity(most=CAPACITY_MAX)
    return capacity


_TIME = r"(\d{1,2})\s*[:：点时]\s*(\d{2})?\s*分?"
_RANGE = re.compile(rf"^{_TIME}\s*(?:-|–|—|~|～|到|至|\s)\s*{_TIME}$")


def parse_times(text: str) -> tuple[time, time]:
    """ "19:00-21:00", "19:00 21:00", "19点到21点": the local start and end."""
    typed = unicodedata.normalize("NFKC", text).strip()
    match = _RANGE.match(typed)
    if match is None:
        raise BadTimes()
    h1, m1, h2, m2 = match.groups()
    try:
        return time(int(h1), int(m1 or 0)), time(int(h2), int(m2 or 0))
    except ValueError:
        raise BadTimes() from None


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A local day and time as an aware moment in the community's zone."""
    return datetime.combine(day, at, tzinfo=zone)


def shift_moments(day: date, start: time, end: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A shift's start and end on a local day; an end earlier than the start is the next day's
    (22:00-02:00: a night shift), unless that makes it longer than a shift may be
    (21:00-19:00 is a slip, not 22 hours). An end equal to the start stays, for the engine
    to refuse."""
    end_day = day + timedelta(days=1) if end < start else day
    starts_at, ends_at = local_moment(day, start, zone), local_moment(end_day, end, zone)
    if end < start and ends_at - starts_at > LONGEST:
        raise EndsBeforeItStarts()
    return starts_at, ends_at


def week_start(day: date) -> date:
    """The Monday of the week `day` falls in."""
    return day - timedelta(days=day.weekday())


def day_before_moment(starts_at: datetime, zone: ZoneInfo) -> datetime:
    """When the day-before reminder of a shift starting at `starts_at` is due."""
    day = local_day(starts_at, zone) - timedelta(days=1)
    return local_moment(day, DAY_BEFORE_AT, zone)


def hours_served(minutes: int) -> int:
    """Whole hours for the passbook: the nearest (half up), at least 1 from 30 minutes."""
    if minutes < MIN_SERVED_MINUTES:
        return 0
    return max(1, (minutes + 30) // 60)


def shift_ref(slot_id: int) -> str:
    """The passbook's reference of a shift served."""
    return f"patrol:{slot_id}"
