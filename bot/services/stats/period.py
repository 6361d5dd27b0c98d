"""The period a statistic or a report covers, and the place it is about.

A period is a run of local days (both counted) in the community's time zone: a month, a
quarter, a year, or a custom range typed by the coordinator. A custom range is checked here
for every screen that takes one: it must not end before it starts, not start after today, and
not be longer than `MAX_DAYS` — a decade of a district is a report nobody can read and a
query nobody should wait for."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import N_, Node, NodeKind, Period, PeriodKind, Reach, User
from bot.services.errors import InvalidInput, NotFound
from bot.services.scope import require_coordinator
from storage import org

# Two years and a leap day: a year compared with the one before it fits, ten years do not.
MAX_DAYS = 731
# The earliest year a period may lie in: nothing was recorded before it, and near the year 1
# (or 9999) a period's edges and its neighbours fall off the calendar (OverflowError).
FIRST_YEAR = 2000


class PeriodEndsBeforeStart(InvalidInput):
    message = N_("The period ends before it starts. Please give the earlier day first.")


class PeriodTooLong(InvalidInput):
    message = N_("That period is too long: at most {most} days, please.")


class PeriodInFuture(InvalidInput):
    message = N_("That period has not begun yet. Please choose days up to today.")


class PeriodTooEarly(InvalidInput):
    message = N_("That period is too early: please choose days from the year {year} on.")


class PeriodUnreadable(InvalidInput):
    message = N_(
        "Please write the period as a month (2026-11), a quarter (2026Q4), a year (2026) "
        "or two days (2026-10-01 2026-12-31)."
    )


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(kind=PeriodKind.MONTH, first_day=first, last_day=following - timedelta(days=1))


def quarter_of(day: date) -> Period:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    following = (first + timedelta(days=95)).replace(day=1)
    return Period(kind=PeriodKind.QUARTER, first_day=first, last_day=following - timedelta(days=1))


def year_of(day: date) -> Period:
    return Period(
        kind=PeriodKind.YEAR, first_day=date(day.year, 1, 1), last_day=date(day.year, 12, 31)
    )


def check_year(year: int, today: date) -> None:
    """Refused: a period starting in a year still to come, or before `FIRST_YEAR`."""
    if year > today.year:
        raise PeriodInFuture()
    if year < FIRST_YEAR:
        raise PeriodTooEarly(year=FIRST_YEAR)


def custom(first_day: date, last_day: date, today: date) -> Period:
    """A typed range, checked: in order, begun, not before `FIRST_YEAR`, not longer than
    `MAX_DAYS`."""
    if last_day < first_day:
        raise PeriodEndsBeforeStart()
    if first_day > today:
        raise PeriodInFuture()
    check_year(first_day.year, today)
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise PeriodTooLong(most=MAX_DAYS)
    return Period(kind=PeriodKind.CUSTOM, first_day=first_day, last_day=last_day)


def of_kind(kind: PeriodKind, today: date) -> Period:
    """The month, quarter or year that `today` lies in (custom: the last 30 days)."""
    if kind is PeriodKind.MONTH:
        return month_of(today)
    if kind is PeriodKind.QUARTER:
        return quarter_of(today)
    if kind is PeriodKind.YEAR:
        return year_of(today)
    return custom(today - timedelta(days=29), today, today)


def shifted(period: Period, steps: int) -> Period:
    """The period as many months, quarters or years before (negative) or after; a custom
    range moves by its own length."""
    if period.kind is PeriodKind.CUSTOM:
        length = timedelta(days=(period.last_day - period.first_day).days + 1)
        return Period(
            kind=PeriodKind.CUSTOM,
            first_day=period.first_day + steps * length,
            last_day=period.last_day + steps * length,
        )
    months = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[period.kind]
    index = period.first_day.year * 12 + period.first_day.month - 1 + steps * months
    first = date(index // 12, index % 12 + 1, 1)
    return of_kind(period.kind, first)


def bounds(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The period's first instant and the instant after its last day (local midnights)."""
    start = datetime.combine(period.first_day, datetime.min.time(), tzinfo=zone)
    after = datetime.combine(period.last_day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start, after


TYPED_MAX = 40  # "2026年10月01日 至 2026年12月31日" is 25 characters
_DAY = r"(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})日?"
_RANGE = re.compile(rf"^{_DAY}\s*(?:\.\.|~|-|至|到|\s)\s*{_DAY}$")
_MONTH = re.compile(r"^(\d{4})[-./年](\d{1,2})月?$")
_QUARTER = re.compile(r"^(\d{4})\s*(?:[qQ]|年第?)\s*([1-4一二三四])(?:季度?)?$")
_YEAR = re.compile(r"^(\d{4})年?$")
_QUARTER_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4}


def parse(text: str, today: date) -> Period:
    """A period typed by a coordinator: "2026-11", "2026年11月", "2026Q4", "2026年第四季度",
    "2026", or two days "2026-10-01 2026-12-31" (also with 至, ~ or ..). Full-width digits
    are read as digits. A range is checked as `custom` checks it."""
    # Runs of spaces as one: the patterns' `\s*` would take quadratic time over a page of
    # them, on the event loop; and nothing longer than TYPED_MAX is a period.
    typed = " ".join(unicodedata.normalize("NFKC", text).split())
    if len(typed) > TYPED_MAX:
        raise PeriodUnreadable()
    try:
        if match := _RANGE.match(typed):
            y1, m1, d1, y2, m2, d2 = (int(part) for part in match.groups())
            return custom(date(y1, m1, d1), date(y2, m2, d2), today)
        if match := _MONTH.match(typed) or _QUARTER.match(typed) or _YEAR.match(typed):
            check_year(int(match[1]), today)  # before a date near the calendar's end is made
        if match := _MONTH.match(typed):
            period = month_of(date(int(match[1]), int(match[2]), 1))
        elif match := _QUARTER.match(typed):
            number = _QUARTER_NUMBERS.get(match[2]) or int(match[2])
            period = quarter_of(date(int(match[1]), 3 * number, 1))
        elif match := _YEAR.match(typed):
            period = year_of(date(int(match[1]), 1, 1))
        else:
            raise PeriodUnreadable()
    except ValueError as error:  # 2026-13, 2026-02-30
        raise PeriodUnreadable() from error
    if period.first_day > today:
        raise PeriodInFuture()
    return period


_LEVELS = list(NodeKind)  # from the bottom up


async def reach_within(conn: AsyncConnection, actor: User, node: Node | None) -> Reach:
    """What `node` covers, refused unless it lies at or below the coordinator's own node
    (None: their own). A building's coordinator may ask about their building only. Refused
    as "not found" outside: what lies elsewhere is not theirs even to know of."""
    own = require_coordinator(actor)
    if node is None or node == own.node:
        return own
    if own.building_id is not None:
        raise NotFound()
    if _LEVELS.index(node.kind) >= _LEVELS.index(own.node.kind):
        # Not below theirs: a street holding only their community is still not theirs.
        raise NotFound()
    reach = await org.reach_of(conn, node)
    if reach is None or not reach.community_ids <= own.community_ids:
        raise NotFound()
    if node.kind is not NodeKind.BUILDING and not reach.community_ids:
        raise NotFound()
    return reach
