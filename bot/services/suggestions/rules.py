"""The suggestions' rules: the life-cycle table (from, event, to, who may), the limits on what
is typed, and the refusals people read."""

from __future__ import annotations

from enum import StrEnum

from bot.models import N_, SuggestionStatus
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.lifecycle import Lifecycle, Party, Transition
from bot.services.text import fold_text, trim_text

TEXT_MAX = 1000  # a suggestion's words, or a reply; a card must stay readable
HEARD_FROM_MAX = 64  # the resident's name or room, as the member typed it (the column's size)
TOKEN_MAX = 64


class SuggestionEvent(StrEnum):
    TAKE_UP = "take_up"  # a coordinator is working on it
    REPLY = "reply"  # a coordinator answers the author
    CLOSE = "close"  # done with (办结)
    REOPEN = "reopen"  # closed too soon: back to work


S = SuggestionStatus
E = SuggestionEvent
STAFF = frozenset({Party.COORDINATOR})

SUGGESTION_LIFECYCLE: Lifecycle[SuggestionStatus, SuggestionEvent] = Lifecycle(
    "suggestion",
    [
        Transition(S.NEW, E.TAKE_UP, S.IN_PROGRESS, STAFF),
        Transition(S.NEW, E.REPLY, S.ANSWERED, STAFF),
        Transition(S.NEW, E.CLOSE, S.CLOSED, STAFF),
        Transition(S.IN_PROGRESS, E.REPLY, S.ANSWERED, STAFF),
        Transition(S.IN_PROGRESS, E.CLOSE, S.CLOSED, STAFF),
        Transition(S.ANSWERED, E.REPLY, S.ANSWERED, STAFF),  # a further answer
        Transition(S.ANSWERED, E.TAKE_UP, S.IN_PROGRESS, STAFF),  # more to do after answering
        Transition(S.ANSWERED, E.CLOSE, S.CLOSED, STAFF),
        Transition(S.CLOSED, E.REOPEN, S.IN_PROGRESS, STAFF),
    ],
)

# The moves a coordinator's card offers as buttons (a reply is typed: its own button).
STATUS_EVENTS = (E.TAKE_UP, E.CLOSE, E.REOPEN)


def moves_from(status: SuggestionStatus) -> list[SuggestionEvent]:
    """The status buttons a suggestion at `status` offers, in a fixed order."""
    return [e for e in STATUS_EVENTS if SUGGESTION_LIFECYCLE.find(status, e) is not None]


class EmptySuggestion(InvalidInput):
    message = N_("Please write a few words, or send a photo or a voice note.")


class EmptyReply(InvalidInput):
    message = N_("Please type your reply in words.")


class EmptyHeardFrom(InvalidInput):
    message = N_("Please type the resident's name or room.")


class OnlyMembersRecord(NotAllowed):
    message = N_("Only members can record a suggestion heard from a resident.")


class NoCommunity(NotAllowed):
    message = N_("Please choose your community and building in /profile first.")


class NoSuchSuggestion(NotFound):
    message = N_("There is no such suggestion in your area.")


class NotStaff(NotAllowed):
    message = N_("Only community staff can do that with a suggestion.")


class WrongState(Conflict):
    message = N_("This suggestion is {status} now, so that cannot be done.")


class NoWishToLink(InvalidInput):  # a number typed wrong: the dialogue asks again
    message = N_("There is no micro-wish #{id} in your area.")


class NoFindingToLink(InvalidInput):
    message = N_("There is no patrol finding #{id} in your area.")


class NoBroadcastToLink(InvalidInput):
    message = N_("There is no announcement #{id} sent in your area.")


class AlreadyLinked(Conflict):
    message = N_("This suggestion is linked to that already.")


class BadNumber(InvalidInput):
    message = N_("Please type the number only, for example 12.")


def clean_words(text: str | None, *, limit: int = TEXT_MAX) -> str | None:
    """The words as written, trimmed; None when there are none (or none that show);
    TextTooLong past `limit`."""
    return trim_text(text, limit)


def clean_heard_from(text: str | None) -> str:
    """The resident's name or room on one line; EmptyHeardFrom, or TextTooLong past 64."""
    words = fold_text(text, HEARD_FROM_MAX)
    if words is None:
        raise EmptyHeardFrom()
    return words
