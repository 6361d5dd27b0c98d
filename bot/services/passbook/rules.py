"""The passbook's rules: default points per kind of work, the quarter a moment falls in, the
limits on what a coordinator writes. The points a community sets override the defaults, for
entries made from then on (an entry keeps the points it was made with)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.models import N_, LedgerKind
from bot.services.errors import Conflict, InvalidInput

DEFAULT_POINTS: dict[LedgerKind, int] = {
    LedgerKind.WISH: 10,
    LedgerKind.URGENT: 15,
    LedgerKind.RATING: 1,  # per star above 3
    LedgerKind.PATROL: 5,  # per hour served
    LedgerKind.STUDY: 3,
    LedgerKind.VISIT: 5,
}
RULED = tuple(DEFAULT_POINTS)  # the kinds a community sets points for
RULE_MAX = 100  # a rule's points, 0 to this
ADJUST_MAX = 1000  # a coordinator's adjustment, either way
REASON_MAX = 300
PAGE_SIZE = 10  # passbook entries per page
RANKING_SIZE = 10


class ReasonRequired(InvalidInput):
    message = N_("Please write the reason: it is kept with the points for everyone to check.")


class BadPoints(InvalidInput):
    message = N_("Please give a whole number from {low} to {high}.")


class ZeroAdjustment(InvalidInput):
    message = N_("An adjustment of 0 points changes nothing. Please give another number.")


class AlreadyCorrected(Conflict):
    message = N_("That entry has already been corrected.")


class NotCorrectable(Conflict):
    message = N_("A correction, or an entry of no points, cannot itself be corrected.")


class QuarterClosed(Conflict):
    message = N_("{quarter} has already been closed.")


def quarter_of(moment: datetime, zone: ZoneInfo) -> str:
    """The quarter a moment falls in, in the community's time zone: "2026Q4"."""
    local = moment.astimezone(zone)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def quarter_bounds(quarter: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The quarter's first moment and the next quarter's, in the community's time zone."""
    year, number = int(quarter[:4]), int(quarter[5:])
    start = datetime(year, 3 * number - 2, 1, tzinfo=zone)
    end = datetime(year + number // 4, 3 * (number % 4) + 1, 1, tzinfo=zone)
    return start, end


def previous_quarter(quarter: str) -> str:
    year, number = int(quarter[:4]), int(quarter[5:])
    return f"{year - 1}Q4" if number == 1 else f"{year}Q{number - 1}"


def rating_bonus_stars(stars: int) -> int:
    """How many stars earn the rating bonus (those above 3)."""
    return max(0, stars - 3)


def clean_reason(text: str | None) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise ReasonRequired()
    if len(reason) > REASON_MAX:
        raise InvalidInput(
            N_("That text is too long (at most {limit} characters)."), limit=REASON_MAX
        )
    return reason


def check_rule(points: int) -> int:
    if not 0 <= points <= RULE_MAX:
        raise BadPoints(low=0, high=RULE_MAX)
    return points


def check_adjustment(points: int) -> int:
    if not -ADJUST_MAX <= points <= ADJUST_MAX:
        raise BadPoints(low=-ADJUST_MAX, high=ADJUST_MAX)
    if points == 0:
        raise ZeroAdjustment()
    return points
