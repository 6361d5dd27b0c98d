"""The patrol findings' buttons ("fd:…"): each one's callback data defined once, used to build
the keyboard and to match the press. A button names a shift or a finding; the step behind it
asks the service again whether the presser may report from it or handle it.

`FindingStart` goes on a checked-in shift's card (the patrol views), `FindingsList` wherever a
coordinator's menu links the open findings."""

from __future__ import annotations

from enum import StrEnum

from handlers.buttons import Button, button


class Media(StrEnum):
    PHOTO = "photo"
    VOICE = "voice"
    PLACE = "place"  # the location, as a map pin


@button("fd:start")
class FindingStart(Button):
    """Report what was seen on this shift (the member must be checked in to it)."""

    slot_id: int


@button("fd:send")
class FindingSend(Button):
    """Send the finding the dialogue collected (its token: a second press makes no second)."""

    token: str


@button("fd:drop")
class FindingDrop(Button):
    pass


@button("fd:media")
class FindingMedia(Button):
    """A finding's photo, voice note or location, sent to the presser alone."""

    finding_id: int
    what: Media


@button("fd:done")
class FindingDone(Button):
    """Mark the finding handled."""

    finding_id: int


@button("fd:wish")
class FindingToWish(Button):
    """Turn the finding into a wish, in one tap."""

    finding_id: int


@button("fd:open")
class FindingOpen(Button):
    """One finding's card (from the list of open findings)."""

    finding_id: int


@button("fd:list")
class FindingsList(Button):
    """The coordinator's open findings (as /findings)."""
