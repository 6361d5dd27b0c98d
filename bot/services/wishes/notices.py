"""What the wish service tells people, as data. Each notice carries the wish as it was when
the change happened (never its contact details: `Wish` has none); the wish views render it
in the recipient's language when the outbox sends it."""

from __future__ import annotations

from bot.models import Notice, Wish


class WishNotice(Notice):
    wish: Wish


class WishOffered(WishNotice):
    """A new (or reopened) wish that fits the member; for an urgent one, an alert."""

    KIND = "wish.offered"


class WishTakenForYou(WishNotice):
    """To the resident: someone will help."""

    KIND = "wish.taken"


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
    """To the resident: the helper gave the wish back; it is open again."""

    KIND = "wish.given_back"
    helper: str
    reason: str


class WishReportedDone(WishNotice):
    """To the resident: the helper says it is done; confirm, or say it is not."""

    KIND = "wish.reported_done"


class WishConfirmed(WishNotice):
    """To the helpers: the resident confirmed."""

    KIND = "wish.confirmed"


class WishNotDone(WishNotice):
    """To the helpers: the resident says it is not done yet, in their words."""

    KIND = "wish.not_done"
    words: str


class WishRated(WishNotice):
    KIND = "wish.rated"
    stars: int


class WishThanked(WishNotice):
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
