"""Micro-wishes and urgent help requests, one module per concern:

    rules       limits, skills per category, the life-cycle table, refusals
    drafts      what a posting dialogue collects; reading typed dates
    notices     what people are told, as data (rendered by handlers/wishes/notices.py)
    core        shared: reading a wish, how the actor stands to it, the checked move, events
    offers      matching members, offers and urgent alerts, the wall post, reminders set
    reading     cards, contact details, lists, what someone may do
    posting     post, post again
    claiming    claim alone or for a team, give back, choose team participants
    completion  report done, confirm, not done, rate, thank, cancel
    handshake   the code only the resident sees: typed by the helper, it confirms at once
    expiry      widen, escalate, expire (run by the scheduler)
    nudges      remind the helper past the needed-by time, the resident to confirm, then
                coordinators (run by the scheduler)
    stuck       coordinators' lists of stuck wishes; cancel with a reason, hand over, reopen

Every change of state goes through the life cycle in `rules.WISH_LIFECYCLE`, is made with a
guarded SQL statement, recorded in `wish_events`, and announced (notices, live messages) in
the same transaction.
"""

from __future__ import annotations

from bot.services.notify import quiet_until
from bot.services.wishes.claiming import WishClaiming
from bot.services.wishes.completion import WishCompletion
from bot.services.wishes.core import ConfirmedListener, taken_by
from bot.services.wishes.drafts import (
    WishAccess,
    WishCard,
    WishDraft,
    WishFilter,
    check_needed_by,
    needed_by_choice,
    parse_needed_by,
)
from bot.services.wishes.expiry import WishExpiry
from bot.services.wishes.handshake import HandshakeOutcome, HandshakeResult, WishHandshake
from bot.services.wishes.offers import wall_key
from bot.services.wishes.posting import WishPosting
from bot.services.wishes.reading import WishReading, may_see_contact
from bot.services.wishes.rules import (
    HANDSHAKE_TRIES,
    PAGE_SIZE,
    TEXT_MAX,
    WISH_LIFECYCLE,
    MembersOnly,
    NotInTeam,
    NotTeamLeader,
    NotYourTask,
    NotYourWish,
    OwnWish,
    PosterTakesNoPart,
    Rated,
    Thanked,
    TooManyClaims,
    TooManyOpenWishes,
    WishChanged,
    WishClosed,
    WishTaken,
    categories_for,
    subject_of,
    suggest_category,
)
from bot.services.wishes.stuck import (
    HandsFull,
    MemberPage,
    NotInCommunity,
    StuckKind,
    StuckPage,
    WishStuck,
)


class WishesService(
    WishStuck,
    WishReading,
    WishPosting,
    WishClaiming,
    WishHandshake,
    WishCompletion,
    WishExpiry,
):
    """Everything the handlers and the scheduler do with wishes."""

    def on_confirmed(self, listener: ConfirmedListener) -> None:
        """Run `listener` inside every confirm transaction (e.g. to credit passbook points)."""
        self.confirmed_listeners.append(listener)

    def on_rated(self, listener: ConfirmedListener) -> None:
        """Run `listener` inside every rating transaction (the passbook's star bonus)."""
        self.rated_listeners.append(listener)


__all__ = [
    "HANDSHAKE_TRIES",
    "PAGE_SIZE",
    "TEXT_MAX",
    "WISH_LIFECYCLE",
    "HandsFull",
    "HandshakeOutcome",
    "HandshakeResult",
    "MemberPage",
    "MembersOnly",
    "NotInCommunity",
    "NotInTeam",
    "NotTeamLeader",
    "NotYourTask",
    "NotYourWish",
    "OwnWish",
    "PosterTakesNoPart",
    "Rated",
    "StuckKind",
    "StuckPage",
    "Thanked",
    "TooManyClaims",
    "TooManyOpenWishes",
    "WishAccess",
    "WishCard",
    "WishChanged",
    "WishClosed",
    "WishDraft",
    "WishFilter",
    "WishTaken",
    "WishesService",
    "categories_for",
    "check_needed_by",
    "may_see_contact",
    "needed_by_choice",
    "parse_needed_by",
    "quiet_until",
    "subject_of",
    "suggest_category",
    "taken_by",
    "wall_key",
]
