"""A day as people type it on a phone: "12-01", "2026-12-01", "12月1日", "12月1号", "12/1",
full-width digits and dashes from a Chinese keyboard included. One reader for every dialogue
that asks for a day; each says which way a day typed without a year lies."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.models import N_
from bot.services.errors import InvalidInput

_DAY = re.compile(r"(?:(\d{4})\s*[-./年]\s*)?(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*[日号]?")


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The community's calendar day of a moment (stored in UTC)."""
    return moment.astimezone(zone).date()


class BadDay(InvalidInput):
    message = N_("Please type the date like 12-01 or 2026-12-01.")


class NoSuchDay(BadDay):
    message = N_("There is no such day in the calendar. Please check the month and the day.")


def read_day(
    text: str, today: date, *, ahead: bool, recent_within: timedelta | None = None
) -> date:
    """The typed day. Without a year: `ahead` — the next such day from today on (a shift
    being planned); otherwise this year's, or last year's when this year's is still ahead and
    last year's lies within `recent_within` of today ("12-20" typed on 5 January for a visit).
    Raises BadDay for what is not a day, NoSuchDay for one the calendar lacks (2-30)."""
    # NFKC: digits and dashes typed full-width ("１２－０１") read as ASCII.
    match = _DAY.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        raise BadDay()
    year, month, day = match.groups()
    try:
        found = date(int(year) if year else today.year, int(month), int(day))
    except ValueError:
        raise NoSuchDay() from None
    if year:
        return found
    try:
        if ahead and found < today:
            return found.replace(year=today.year + 1)
        if not ahead and found > today and recent_within is not None:
            earlier = found.replace(year=today.year - 1)
            if today - earlier <= recent_within:
                return earlier
    except ValueError:  # 2-29 in a year without one: the day stays as typed
        pass
    return found
