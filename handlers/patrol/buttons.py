"""The members' patrol buttons ("pt:…"): each one's callback data defined once, used to
build the keyboard and to match the press. A button names a shift (its slot) or an offer;
the service checks again whether the presser may act on it, and when."""

from __future__ import annotations

from handlers.buttons import Button, button


@button("pt:list")
class PatrolList(Button):
    """/patrol on a day (0: today, 1: tomorrow, …)."""

    day: int


@button("pt:card")
class ShiftCard(Button):
    slot_id: int


@button("pt:take")
class TakeShift(Button):
    slot_id: int


@button("pt:drop")
class CantCome(Button):
    """ "I can't come": released early, else the coordinators are asked."""

    slot_id: int


@button("pt:swap")
class OfferSwap(Button):
    slot_id: int


@button("pt:acc")
class AcceptSwap(Button):
    swap_id: int


@button("pt:in")
class CheckIn(Button):
    slot_id: int


@button("pt:nolo")
class SkipLocation(Button):
    """No location with this check-in."""


@button("pt:out")
class CheckOut(Button):
    slot_id: int


@button("pt:off")
class LetOffMember(Button):
    """A coordinator lets a member who asked late off their shift (under the alert)."""

    slot_id: int
    user_id: int
