"""The patrol section of /admin ("pa:…"): posts, defining shifts, the roster, cancelling a
shift. Every step behind them checks the role and the reach again on the server; what a
dialogue is about is kept in the coordinator's draft, not carried by the button."""

from __future__ import annotations

from bot.models import Recurrence
from handlers.buttons import Button, button
from handlers.person_steps import BuildingButton


@button("pa:menu")
class PatrolMenu(Button):
    """The section: posts, a new post, the roster."""


@button("pa:posts")
class PostList(Button):
    pass


@button("pa:new")
class NewPost(Button):
    pass


@button("pa:skip")
class SkipArea(Button):
    pass


@button("pa:bld")
class TogglePostBuilding(BuildingButton):
    """A building of the post being made, chosen or unchosen."""


@button("pa:blok")
class BuildingsDone(Button):
    pass


@button("pa:post")
class OpenPost(Button):
    post_id: int


@button("pa:arch")
class ArchivePost(Button):
    post_id: int


@button("pa:def")
class DefineShifts(Button):
    """Add shifts at this post."""

    post_id: int


@button("pa:day")
class ShiftDay(Button):
    """0: today, 1: tomorrow, … (or the date typed)."""

    offset: int


@button("pa:cap")
class ShiftCapacity(Button):
    capacity: int


@button("pa:rep")
class ShiftRepeat(Button):
    recurrence: Recurrence


@button("pa:cnt")
class RepeatCount(Button):
    count: int


@button("pa:save")
class SaveShifts(Button):
    token: str


@button("pa:x")
class DropPatrol(Button):
    """✖ Cancel, on every step."""


@button("pa:rost")
class Roster(Button):
    """The week's roster (0: this week, 1: next week), kept current."""

    week: int


@button("pa:wk")
class WeekShifts(Button):
    """The shifts of a week, to open one (0: this week, 1: next week)."""

    week: int


@button("pa:shift")
class AdminShift(Button):
    slot_id: int


@button("pa:cx")
class CancelShift(Button):
    slot_id: int


@button("pa:cxok")
class ConfirmCancelShift(Button):
    slot_id: int
