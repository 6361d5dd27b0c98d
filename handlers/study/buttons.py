"""The study buttons ("st:…" for the audience, "sa:…" for the coordinators' section of
/admin): each one's callback data defined once, used to build the keyboard and to match the
press. A button names a session; the step behind it asks the service again whether the
presser is in its audience (or a coordinator in reach)."""

from __future__ import annotations

from bot.models import Recurrence, StudyAudience
from handlers.buttons import Button, button
from handlers.person_steps import BuildingButton


@button("st:list")
class StudyList(Button):
    """The sessions open to me (as /study)."""


@button("st:card")
class SessionCard(Button):
    slot_id: int


@button("st:go")
class Attend(Button):
    slot_id: int


@button("st:exc")
class Excuse(Button):
    """Excused: a reason is asked for."""

    slot_id: int


@button("st:mat")
class Material(Button):
    """Send the session's document."""

    slot_id: int


@button("st:in")
class CheckIn(Button):
    """Check in: the code is asked for."""

    slot_id: int


@button("st:drop")
class DropAnswer(Button):
    """Leave the reason or code question."""


@button("sa:menu")
class StudyMenu(Button):
    """The section: schedule a session, the sessions to come."""


@button("sa:new")
class NewSession(Button):
    pass


@button("sa:skip")
class SkipStep(Button):
    """No topic, no material."""


@button("sa:len")
class Length(Button):
    minutes: int


@button("sa:aud")
class ChooseAudience(Button):
    audience: StudyAudience


@button("sa:bld")
class SessionBuilding(BuildingButton):
    """The building whose members the session is for."""


@button("sa:rep")
class ChooseRepeat(Button):
    recurrence: Recurrence


@button("sa:save")
class SaveSession(Button):
    token: str


@button("sa:drop")
class DropSession(Button):
    """Leave scheduling without saving."""


@button("sa:card")
class AdminCard(Button):
    slot_id: int


@button("sa:code")
class ShowCode(Button):
    slot_id: int


@button("sa:cancel")
class CancelSession(Button):
    slot_id: int


@button("sa:sure")
class CancelConfirmed(Button):
    slot_id: int
