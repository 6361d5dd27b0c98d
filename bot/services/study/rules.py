"""Study sessions' rules: how long the texts may be, how many sessions a repeat makes, when
the check-in code is valid, how many wrong codes a person may type, and the refusals."""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.models import N_, Recurrence
from bot.services.errors import Conflict, InvalidInput, NotFound

TITLE_MAX = 120
TOPIC_MAX = 1000
PLACE_MAX = 200
LINK_MAX = 500
REASON_MAX = 200
CODE_DIGITS = 4
# The check-in code is valid from half an hour before the start to half an hour after the end.
CHECK_IN_BEFORE = timedelta(minutes=30)
CHECK_IN_AFTER = timedelta(minutes=30)
MAX_WRONG_TRIES = 5  # wrong codes per person and session, then check-in is closed to them
# A recurring session is made as this many sessions in one step: a weekly one for a quarter,
# a monthly theme day for a year. The coordinator schedules the next run when it ends.
REPEATS: dict[Recurrence, int] = {
    Recurrence.ONCE: 1,
    Recurrence.WEEKLY: 12,
    Recurrence.MONTHLY: 12,
}
# The first session of a series is announced at once (saying how many follow), each later one
# a week before it, so a year of theme days does not arrive as twelve messages in one day.
ANNOUNCE_AHEAD = timedelta(days=7)
REMIND_DAY = timedelta(days=1)
REMIND_HOUR = timedelta(hours=1)


def new_code() -> str:
    """A random check-in code of `CODE_DIGITS` digits."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def study_ref(slot_id: int) -> str:
    """The passbook's reference of attending a session."""
    return f"study:{slot_id}"


class TitleRequired(InvalidInput):
    message = N_("Please give the session a title.")


class WhereRequired(InvalidInput):
    message = N_("Please give a place or an online link for the session.")


class BadLink(InvalidInput):
    message = N_("A link must start with http:// or https://.")


class BuildingRequired(InvalidInput):
    message = N_("Please choose the building whose members the session is for.")


class NoSuchSession(NotFound):
    message = N_("That study session was not found, or it is not open to you.")


class SessionOver(Conflict):
    message = N_("That study session has been cancelled or has already begun.")


class ExcuseReasonRequired(InvalidInput):
    message = N_("Please write why you cannot come, in a few words.")


class WrongCode(InvalidInput):
    message = N_("That check-in code is not right. Please check it and try again ({left} left).")


class TooManyTries(Conflict):
    message = N_(
        "Too many wrong codes for this session. Please ask the community staff to help you "
        "check in."
    )


class NoSessionNow(NotFound):
    message = N_("No study session of yours is open for check-in now.")
