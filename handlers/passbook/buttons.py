"""The passbook's buttons ("pb:…"): each one's callback data defined once, used to build the
keyboard and to match the press. They work from any message (a notice, /admin), and each step
behind them checks the role and the reach again on the server."""

from __future__ import annotations

from bot.models import LedgerKind
from handlers.buttons import Button, button


@button("pb:page")
class PassbookPageButton(Button):
    """A page of a passbook: entries older than `before` (0: the newest page)."""

    member_id: int
    before: int


@button("pb:open")
class OpenPassbook(Button):
    """The reader's own passbook, in a message of its own (from a notice)."""


@button("pb:rank")
class ShowRanking(Button):
    pass


# --- coordinators ------------------------------------------------------------------------------


@button("pb:pts")
class PointsMenu(Button):
    """The points section of /admin: the rules, this quarter's leaders, looking a member up."""


@button("pb:rule")
class EditRule(Button):
    kind: LedgerKind


@button("pb:find")
class FindMember(Button):
    pass


@button("pb:look")
class LookUp(Button):
    member_id: int


@button("pb:adj")
class Adjust(Button):
    member_id: int


@button("pb:cor")
class Correct(Button):
    entry_id: int


@button("pb:ok")
class ConfirmChange(Button):
    """Make the adjustment or correction the confirm card shows (its draft's token)."""

    token: str


@button("pb:x")
class DropChange(Button):
    pass
