"""The members' twinning buttons ("twins:…" for the households, "visit:…" for logging a
visit): each one's callback data defined once, used to build the keyboard and to match the
press. A button names a household or a pair; the step behind it asks the service again
whether the presser is paired with it."""

from __future__ import annotations

from enum import StrEnum

from bot.models import HelpKind, VisitCategory
from handlers.buttons import Button, button


class Day(StrEnum):
    TODAY = "today"
    YESTERDAY = "yesterday"


class HelpChoice(StrEnum):
    NONE = "none"
    FUNDS = HelpKind.FUNDS.value
    MATERIALS = HelpKind.MATERIALS.value


@button("twins:list")
class TwinsList(Button):
    """The member's households (as /twins)."""


@button("twins:page")
class TwinsPage(Button):
    """A page of the member's households (from 0), when they fill more than one."""

    page: int


@button("twins:card")
class HouseholdCard(Button):
    household_id: int


@button("visit:start")
class StartVisit(Button):
    """Log a visit to this household (from the list or its card)."""

    household_id: int


@button("visit:due")
class DueVisit(Button):
    """Log a visit for this pair (under the "visit due" reminder)."""

    pair_id: int


@button("visit:day")
class VisitDay(Button):
    day: Day


@button("visit:cat")
class ToggleCategory(Button):
    category: VisitCategory


@button("visit:catok")
class CategoriesDone(Button):
    pass


@button("visit:skipw")
class SkipWords(Button):
    pass


@button("visit:help")
class ChooseHelp(Button):
    choice: HelpChoice


@button("visit:amount")
class ConfirmAmount(Button):
    """The large amount is right (True) or is typed again (False)."""

    right: bool


@button("visit:skipp")
class SkipPhoto(Button):
    pass


@button("visit:mark")
class MarkWellbeing(Button):
    """A wellbeing mark, 1 to 5 (0: not marked)."""

    mark: int


@button("visit:skipn")
class SkipNote(Button):
    pass


@button("visit:save")
class SaveVisit(Button):
    token: str


@button("visit:drop")
class DropVisit(Button):
    pass
