"""The buttons of the twinning section of /admin ("hh:…"): each one's callback data defined
once, used to build the keyboard and to match the press. Every step behind them checks the
role and the reach again on the server; what a dialogue is about (which household, which
draft) is kept in the coordinator's draft, not carried by the button."""

from __future__ import annotations

from bot.models import Circumstance
from handlers.buttons import Button, button
from handlers.person_steps import BuildingButton


@button("hh:menu")
class TwinningMenu(Button):
    """The section: register a household, the list, who needs attention."""


@button("hh:new")
class NewHousehold(Button):
    pass


@button("hh:bld")
class HouseholdBuilding(BuildingButton):
    """The building of a household being registered."""


@button("hh:skip")
class SkipAnswer(Button):
    """Room, phone, notes or the linked resident: none."""


@button("hh:tog")
class ToggleCircumstance(Button):
    circumstance: Circumstance


@button("hh:circ")
class CircumstancesDone(Button):
    pass


@button("hh:res")
class LinkResident(Button):
    user_id: int


@button("hh:yes")
class ConsentGiven(Button):
    """The household agreed to be registered (已征得本人同意)."""


@button("hh:no")
class ConsentRefused(Button):
    pass


@button("hh:save")
class SaveHousehold(Button):
    """Save what the confirm card shows (its draft's token)."""

    token: str


@button("hh:x")
class DropHousehold(Button):
    """✖ Cancel, on every step."""


@button("hh:list")
class ListByBuilding(Button):
    """The list: first choose a building."""


@button("hh:lb")
class ListBuilding(BuildingButton):
    """The households of one building (0: every building in reach)."""


@button("hh:pg")
class HouseholdsPage(Button):
    """A page of the households of a building (0: all) after the household `after` (0:
    the first page)."""

    building_id: int
    after: int


@button("hh:card")
class OpenHousehold(Button):
    household_id: int


@button("hh:att")
class NeedsAttention(Button):
    pass


@button("hh:pair")
class PairWith(Button):
    household_id: int


@button("hh:pm")
class PairMember(Button):
    member_id: int


@button("hh:pc")
class PairCadence(Button):
    member_id: int
    days: int


@button("hh:end")
class EndPairs(Button):
    household_id: int


@button("hh:ep")
class EndPair(Button):
    pair_id: int


@button("hh:edit")
class EditHousehold(Button):
    household_id: int


@button("hh:ef")
class EditField(Button):
    """Which part to change: room, phone, notes or circumstances."""

    field: str


@button("hh:vm")
class VisitMedia(Button):
    """A visit's photo and voice note, sent to the coordinator who pressed."""

    visit_id: int
