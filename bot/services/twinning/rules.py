"""Twinning's rules: the limits on what is typed, the money a visit may record, the dates a
visit may have, when a pair is behind its cadence, what needs a coordinator's attention.
The errors carry English message ids (catalogue keys) and their values."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.models import N_, AttentionReason
from bot.services.days import local_day
from bot.services.errors import Conflict, InvalidInput, LinliError, NotAllowed, NotFound

NAME_MAX = 64
NOTES_MAX = 500
VISIT_TEXT_MAX = 1000
WELLBEING_NOTE_MAX = 300
TOKEN_MAX = 64

FEN_PER_YUAN = 100
CONFIRM_ABOVE_FEN = 100_000 * FEN_PER_YUAN  # more than RMB 100,000: asked to confirm
HELP_MAX_FEN = 10_000_000 * FEN_PER_YUAN  # more than RMB 10,000,000: surely a typo

VISIT_MAX_AGE = timedelta(days=90)  # a visit logged later than this is refused
WELLBEING_LOW = 2  # a mark at or below this needs attention
UNVISITED_AFTER = timedelta(days=60)
SAVED_AGAIN_WITHIN = timedelta(minutes=10)  # the same coordinator's save of it: returned again
REMIND_AT = time(10, 0)  # local: cadence reminders arrive in the morning, not at midnight


class NoSuchHousehold(NotFound):
    message = N_("There is no such household in your area.")


class HouseholdExists(Conflict):
    message = N_(
        "{name} of this building and room is registered already. To change its details, "
        "open it in the household list and press ✏️ Edit."
    )


class ConsentRequired(InvalidInput):
    message = N_("Please record that the household agreed to be registered.")


class NotAMember(InvalidInput):
    message = N_("Only a member can be paired with a household.")


class AlreadyPaired(Conflict):
    message = N_("{name} is already paired with this household.")


class PairEnded(Conflict):
    message = N_("This pair has already ended.")


class NotPaired(NotAllowed):
    message = N_("You are not paired with this household.")


class BadAmount(InvalidInput):
    message = N_("Please give an amount in yuan, like 50 or 12.50.")


class AmountTooLarge(InvalidInput):
    message = N_("That amount is too large. Please check it.")


class NeedsConfirmation(LinliError):
    """Not refused: the same call with `confirmed=True` logs it."""

    message = N_("RMB {amount} is a large amount. Is it right? Please confirm.")


class HelpKindRequired(InvalidInput):
    message = N_("Please say whether the help was funds or materials.")


class FutureVisit(InvalidInput):
    message = N_("A visit cannot be in the future. Please check the date.")


class VisitBeforePair(InvalidInput):
    message = N_("You were paired with this household on {day}. Please check the date.")


class VisitTooOld(InvalidInput):
    message = N_("That date is more than {days} days ago. Please ask the community staff.")


class EmptyVisit(InvalidInput):
    message = N_("Please say what was done on the visit.")


class BadWellbeing(InvalidInput):
    message = N_("Please give a mark from 1 (poorly) to 5 (well).")


# Yuan as typed: digits (a dozen at most; `check_help` answers a large amount) and two
# decimals; commas only between thousands.
_YUAN = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,2}))?")
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")


def parse_yuan(text: str) -> int:
    """An amount typed in yuan ("50", "12.5", "¥1,200.00", full-width or any script's digits)
    as fen, exactly (no floats). Plain digits with at most two decimals, nothing else: no
    exponents ("1e5"), signs, or stray commas ("1,2,3")."""
    typed = unicodedata.normalize("NFKC", text).strip().removeprefix("¥").removesuffix("元")
    typed = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in typed.strip())
    if _THOUSANDS.fullmatch(typed):
        typed = typed.replace(",", "")
    found = _YUAN.fullmatch(typed)
    if found is None:
        raise BadAmount()
    yuan, cents = found.group(1), (found.group(2) or "").ljust(2, "0")
    return int(yuan) * FEN_PER_YUAN + int(cents)


def yuan_text(fen: int) -> str:
    """Fen as yuan for a message value: "1200" or "12.50"."""
    yuan, cents = divmod(fen, FEN_PER_YUAN)
    return f"{yuan}.{cents:02d}" if cents else str(yuan)


def check_help(fen: int, *, confirmed: bool) -> int:
    if fen < 0:
        raise BadAmount()
    if fen > HELP_MAX_FEN:
        raise AmountTooLarge()
    if fen > CONFIRM_ABOVE_FEN and not confirmed:
        raise NeedsConfirmation(amount=yuan_text(fen))
    return fen


def check_visit_date(visited_on: date, today: date) -> date:
    if visited_on > today:
        raise FutureVisit()
    if visited_on < today - VISIT_MAX_AGE:
        raise VisitTooOld(days=VISIT_MAX_AGE.days)
    return visited_on


def visit_ref(pair_id: int, visited_on: date) -> str:
    """The passbook ref of a pair's visits on one day: the first visit of a day earns the
    points, more visits that day are logged but not credited again (ten "visits" in an
    afternoon must not climb the quarter's ranking)."""
    return f"visit:{pair_id}:{visited_on.isoformat()}"


def check_wellbeing(mark: int | None) -> int | None:
    if mark is not None and not 1 <= mark <= 5:
        raise BadWellbeing()
    return mark


def anchor_of(started_at: datetime, last_visited_on: date | None, zone: ZoneInfo) -> date:
    """The day a pair's cadence counts from: its latest visit, else the day it started."""
    start = local_day(started_at, zone)
    return max(last_visited_on, start) if last_visited_on is not None else start


def due_moment(anchor: date, days: int, zone: ZoneInfo) -> datetime:
    """`days` after `anchor`, in the morning local time, as UTC."""
    return datetime.combine(anchor + timedelta(days=days), REMIND_AT, tzinfo=zone).astimezone(UTC)


def is_behind(anchor: date, cadence_days: int, now: datetime, zone: ZoneInfo) -> bool:
    """More than the cadence has passed since the anchor (the member's reminder is due)."""
    return now >= due_moment(anchor, cadence_days, zone)


def attention_reasons(
    latest: int | None,
    previous: int | None,
    last_visited_on: date | None,
    registered_on: date,
    today: date,
) -> frozenset[AttentionReason]:
    """Why a household needs a coordinator's look (empty: it does not)."""
    reasons: set[AttentionReason] = set()
    if latest is not None and previous is not None and latest < previous:
        reasons.add(AttentionReason.DROPPED)
    if latest is not None and latest <= WELLBEING_LOW:
        reasons.add(AttentionReason.LOW)
    since = last_visited_on or registered_on
    if today - since > UNVISITED_AFTER:
        reasons.add(AttentionReason.UNVISITED)
    return frozenset(reasons)


class NameRequired(InvalidInput):
    message = N_("Please type the household's name.")


class ResidentNotHere(InvalidInput):
    message = N_("That resident is not registered in this community.")


class BadPeriod(InvalidInput):
    message = N_("The period ends before it starts. Please check the dates.")
