"""The wish features' buttons: each one's callback data defined once, used to build the
keyboard and to match the press. Encodings are kept stable across releases where they can be,
so buttons on messages already in people's chats keep working."""

from __future__ import annotations

from enum import StrEnum

from bot.models import WishCategory
from bot.services.wishes import StuckKind
from handlers.buttons import Button, button
from handlers.person_steps import BuildingButton


@button("w:card")
class ShowWish(Button):
    wish_id: int


@button("w:claim")
class ClaimWish(Button):
    wish_id: int


@button("w:tclaim")
class ClaimForTeam(Button):
    wish_id: int
    team_id: int


@button("w:ok")
class ConfirmDone(Button):
    wish_id: int


@button("w:nd")
class NotDoneYet(Button):
    wish_id: int


@button("w:rate")
class RateWish(Button):
    wish_id: int
    stars: int


@button("w:thx")
class WriteThanks(Button):
    wish_id: int


@button("w:cancel")
class CancelWish(Button):
    wish_id: int


@button("w:cancel_ok")
class CancelWishSure(Button):
    wish_id: int


@button("w:repost")
class RepostWish(Button):
    wish_id: int


@button("w:keep")
class KeepClosed(Button):
    wish_id: int


@button("w:done")
class ReportDone(Button):
    wish_id: int


@button("w:rel")
class GiveBack(Button):
    wish_id: int


@button("w:asg")
class ChooseParticipants(Button):
    wish_id: int


@button("w:asg_set")
class SetParticipant(Button):
    wish_id: int
    user_id: int
    on: bool


@button("w:media")
class ShowMedia(Button):
    wish_id: int


class MediaKind(StrEnum):
    VOICE = "v"
    PHOTO = "p"


@button("w:play")
class PlayMedia(Button):
    """A wish's voice note or photo, for a member to hear or see before taking it on."""

    kind: MediaKind
    wish_id: int  # last, so the wish number ends the data like every other wish button


@button("w:tasks")
class MyTasks(Button):
    pass


@button("w:skip")
class SkipNote(Button):
    pass


@button("w:nocode")
class SkipCode(Button):
    """No confirmation code from the resident: the wish, reported done already, is put to the
    resident to confirm now rather than after the wait for the code."""


@button("wm")
class MoreOfMine(Button):
    before: int


class ListFilter(StrEnum):
    ALL = "all"
    BUILDING = "bld"
    SKILLS = "skl"
    CATEGORY = "cat"


@button("wl")
class ListWishes(Button):
    kind: ListFilter
    category: str  # a WishCategory value, or "-"
    before: int


@button("wl:kinds")
class ChooseListKind(Button):
    pass


@button("wp:cat")
class PostCategory(Button):
    category: WishCategory


@button("wp:when")
class PostWhen(Button):
    choice: str  # today, tomorrow, 3days, week, none


@button("wp:bld")
class PostBuilding(BuildingButton):
    """The resident's building, when posting on their behalf (shared person steps)."""


@button("wp:skip")
class PostSkip(Button):
    pass


@button("wp:hh")
class PostForHousehold(Button):
    """/wish_for: a registered household (结对帮扶) the poster may post for, its details
    filled in from the twinning service (which checks the poster may have them)."""

    household_id: int


@button("wp:other")
class PostForOther(Button):
    """/wish_for: someone not offered as a household; their details are typed."""


@button("wp:send")
class PostSend(Button):
    pass


@button("wp:drop")
class PostDrop(Button):
    pass


@button("ws:post")
class PostStrayMedia(Button):
    """Post the voice note or photo sent outside any dialogue as a new wish."""

    message_id: int  # the message offered, so an older offer's button cannot post a newer one


@button("ws:drop")
class DropStrayMedia(Button):
    pass


# --- coordinators' stuck wishes -------------------------------------------------------------


@button("ws:menu")
class StuckMenu(Button):
    pass


@button("ws:list")
class StuckList(Button):
    kind: StuckKind
    after: int


@button("ws:card")
class StuckCard(Button):
    wish_id: int


@button("ws:cancel")
class StuckCancel(Button):
    wish_id: int


@button("ws:hand")
class StuckHandOver(Button):
    wish_id: int
    after: int


@button("ws:hand_to")
class StuckHandTo(Button):
    wish_id: int
    user_id: int
    held_by: int  # the claimer when the button was shown: a stale press changes nothing


@button("ws:reopen")
class StuckReopen(Button):
    wish_id: int
    held_by: int


@button("wp:chg")
class PostChange(Button):
    part: str  # category, when


@button("wp:back")
class PostBack(Button):
    pass


ALL_OPEN = ListWishes(kind=ListFilter.ALL, category="-", before=0)
