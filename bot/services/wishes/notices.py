"""What the wish service tells people, as data. Each notice carries the wish as it was when
the change happened (never its contact details: `Wish` has none); the wish views render it
in the recipient's language when the outbox sends it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.models import DeliveryPolicy, Notice, Wish
from bot.services.wishes.rules import subject_of

# An urgent alert that could not leave within this time is not worth sending any more: by then
# the request needs a person who knows it went unheard.
URGENT_ALERT_STALE = timedelta(minutes=15)


class WishNotice(Notice):
    wish: Wish

    def place(self) -> tuple[int | None, int | None]:
        return self.wish.community_id, self.wish.building_id


class WishOffered(WishNotice):
    """A new (or reopened) wish that fits the member; for an urgent one, an alert. An urgent
    alert that could not be delivered in time is not dropped silently: coordinators hear."""

    KIND = "wish.offered"

    @classmethod
    def policy(cls, params: dict[str, Any]) -> DeliveryPolicy:
        if params.get("wish", {}).get("urgent"):
            return DeliveryPolicy(stale_after=URGENT_ALERT_STALE)
        return cls.POLICY

    @classmethod
    def when_stale(cls, params: dict[str, Any]) -> tuple[Notice, str] | None:
        wish = cls.model_validate(params).wish
        return (UrgentAlertUndelivered(wish=wish), subject_of(wish.id)) if wish.urgent else None


class UrgentAlertUndelivered(WishNotice):
    """To coordinators: an urgent alert could not reach a member in time (the network or
    Telegram failed); someone should make sure the request is heard."""

    KIND = "wish.urgent_undelivered"


class WishTakenForYou(WishNotice):
    """To the resident: someone will help, and who will come to the door (for a team claim,
    the team and its leader too). Their phone is not carried here: the view reads it when the
    notice leaves, and only if the helper agreed to show it (see `WishReading.at_door`)."""

    KIND = "wish.taken"
    leader: str | None = None


class HelperAddedForYou(WishNotice):
    """To the resident: the team leader put one more helper on the wish; who will come."""

    KIND = "wish.helper_added"
    helper_id: int
    helper: str
    team: str


class TeamWishTaken(WishNotice):
    """To a team leader: a member took a wish on for the team; choose who takes part."""

    KIND = "wish.team_taken"
    member: str
    team: str


class PutOnWish(WishNotice):
    """To a team member the leader put on a wish."""

    KIND = "wish.put_on"
    leader: str
    team: str


class WishGivenBack(WishNotice):
    """To the resident: the helper gave the wish back (why, in words or a voice note); it is
    open again."""

    KIND = "wish.given_back"
    helper: str
    reason: str
    voice_file_id: str | None = None


class WishReportedDone(WishNotice):
    """To the resident: the helper says it is done; confirm, or say it is not."""

    KIND = "wish.reported_done"


class WishConfirmed(WishNotice):
    """To the helpers: the resident confirmed."""

    KIND = "wish.confirmed"


class WishConfirmedByCode(WishNotice):
    """To the resident: the helper typed the code they gave at the door, so the wish is
    confirmed; rate and thank as after confirming it themself. (The code is not carried.)"""

    KIND = "wish.confirmed_by_code"


class HandshakeLocked(WishNotice):
    """To coordinators: the helper typed a wrong confirmation code too often; the code no
    longer works and the resident confirms as usual. Never the code itself."""

    KIND = "wish.handshake_locked"
    member: str
    tries: int


class WishNotDone(WishNotice):
    """To the helpers: the resident says it is not done yet, in their words or voice note."""

    KIND = "wish.not_done"
    words: str
    voice_file_id: str | None = None


class WishRated(WishNotice):
    KIND = "wish.rated"
    stars: int


class WishThanked(WishNotice):
    """To the helpers: the resident's thank-you (its voice note, if any, is on the wish)."""

    KIND = "wish.thanked"
    words: str


class UrgentEscalated(WishNotice):
    """To coordinators: an urgent request waited this long and nobody took it."""

    KIND = "wish.escalated"
    minutes: int


class UrgentEscalatedToOwner(WishNotice):
    """To the resident: coordinators were asked to help with the urgent request."""

    KIND = "wish.escalated_owner"


class WishExpired(WishNotice):
    """To the resident: nobody could take it in time; post it again?"""

    KIND = "wish.expired"


# The views that keep messages of a wish current (its wall post, the cards people opened).
WALL_VIEW = "wish.wall"
CARD_VIEW = "wish.card"


# --- nudges on stuck wishes, and what coordinators do about them ----------------------------


class WishOverdue(WishNotice):
    """To the helper (and the leader of a team that took it on): the wish's needed-by time
    has passed and it is not reported done."""

    KIND = "wish.overdue"


class ConfirmNudge(WishNotice):
    """To the resident: the helper reported the wish done a while ago; is it?"""

    KIND = "wish.confirm_nudge"


class UnconfirmedToCoordinators(WishNotice):
    """To coordinators: a wish reported done has waited this many days for the resident."""

    KIND = "wish.unconfirmed"
    days: int


class WishCancelledForOwner(WishNotice):
    """To the resident: a coordinator cancelled the wish, with the reason."""

    KIND = "wish.cancelled_owner"
    reason: str


class WishCancelledForHelper(WishNotice):
    """To the helpers: a coordinator cancelled the wish they had in hand, with the reason."""

    KIND = "wish.cancelled_helper"
    reason: str


class WishHandedToYou(WishNotice):
    """To a member: a coordinator gave them a wish someone else had taken on."""

    KIND = "wish.handed_to_you"
    coordinator: str


class WishTakenFromYou(WishNotice):
    """To the former helpers: a coordinator gave the wish to someone else (`to`), or put it
    back to open (`to` empty)."""

    KIND = "wish.taken_from_you"
    coordinator: str
    to: str = ""


class WishReopenedForOwner(WishNotice):
    """To the resident: a coordinator put the wish back to open; another helper is sought."""

    KIND = "wish.reopened_owner"
