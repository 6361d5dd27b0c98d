"""The /broadcast buttons: each one's callback data defined once, used to build the keyboard
and to match the press (wire encodings kept stable across releases where they can be)."""

from __future__ import annotations

from bot.models import AudienceKind
from handlers.buttons import Button, button


@button("bc:list")
class ListScheduled(Button):
    pass


@button("bc:sent")
class ListSent(Button):
    pass


@button("bc:aud")
class ChangeAudience(Button):
    broadcast_id: int


# Was "bc:aud:<id>:<kind>": a prefix now names one button only, so an audience picker sent
# before this release answers "no longer valid" (the coordinator presses Change audience).
@button("bc:to")
class ChooseAudience(Button):
    broadcast_id: int
    kind: AudienceKind


@button("bc:blds")
class AudienceBuildings(Button):
    broadcast_id: int


@button("bc:bld")
class AudienceBuilding(Button):
    broadcast_id: int
    building_id: int


@button("bc:bldpg")
class AudienceBuildingsPage(Button):
    broadcast_id: int
    page: int


@button("bc:teams")
class AudienceTeams(Button):
    broadcast_id: int


@button("bc:team")
class AudienceTeam(Button):
    broadcast_id: int
    team_id: int


@button("bc:urg")
class ToggleUrgent(Button):
    broadcast_id: int
    urgent: bool


@button("bc:go")
class SendNow(Button):
    broadcast_id: int


@button("bc:when")
class AskWhen(Button):
    broadcast_id: int


@button("bc:drop")
class DropBroadcast(Button):
    broadcast_id: int


@button("bc:rep")
class ShowReport(Button):
    broadcast_id: int


@button("bc:sess")
class AudienceSessions(Button):
    """The study sessions to send to the audience of."""

    broadcast_id: int


@button("bc:ses")
class AudienceSession(Button):
    broadcast_id: int
    slot_id: int
