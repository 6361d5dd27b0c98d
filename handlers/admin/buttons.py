"""The /admin buttons: each one's callback data defined once, used to build the keyboard
and to match the press (wire encodings kept stable across releases where they can be)."""

from __future__ import annotations

from bot.models import NodeKind
from handlers.buttons import Button, button

# They work from any message, e.g. a notification (ReviewApplications is on the coordinators'
# "new application" notices).


@button("adm:menu")
class AdminMenu(Button):
    pass


@button("adm:apps")
class ReviewApplications(Button):
    pass


@button("adm:ok")
class ApproveApplication(Button):
    application_id: int


@button("adm:no")
class RejectApplication(Button):
    application_id: int


@button("adm:inv")
class InviteCodes(Button):
    pass


@button("adm:newinv")
class NewInvite(Button):
    pass


@button("adm:days")
class InviteDays(Button):
    days: int


@button("adm:mkinv")
class MakeInvite(Button):
    days: int
    uses: int


@button("adm:rev")
class RevokeInvite(Button):
    invite_id: int


@button("adm:bld")
class Buildings(Button):
    pass


@button("adm:bldpg")
class BuildingsPage(Button):
    page: int


@button("adm:b")
class BuildingDetail(Button):
    building_id: int


@button("adm:addbld")
class AddBuilding(Button):
    pass


@button("adm:ren")
class RenameBuilding(Button):
    building_id: int


@button("adm:arch")
class ArchiveBuilding(Button):
    building_id: int


@button("adm:unarch")
class RestoreBuilding(Button):
    building_id: int


@button("adm:coord")
class Coordinators(Button):
    pass


@button("adm:findu")
class FindUser(Button):
    pass


@button("adm:promote")
class Promote(Button):
    user_id: int


@button("adm:demote")
class Demote(Button):
    user_id: int


@button("adm:comm")
class CommunityName(Button):
    pass


@button("adm:audit")
class AuditLog(Button):
    pass


# --- the tree: communities and streets below a coordinator; appointing to a node -----------


@button("adm:coms")
class Communities(Button):
    pass


@button("adm:com")
class SwitchCommunity(Button):
    community_id: int


@button("adm:addcom")
class AddCommunity(Button):
    street_id: int


@button("adm:addst")
class AddStreet(Button):
    pass


@button("adm:appt")
class AppointTo(Button):
    user_id: int
    kind: NodeKind
    node_id: int
