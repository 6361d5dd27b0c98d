"""The suggestions' buttons ("sg:…"): each one's callback data defined once, used to build the
keyboard and to match the press. A button names a suggestion by its number, never its author;
the step behind it asks the service again whether the presser may act on it."""

from __future__ import annotations

from bot.models import SuggestionLinkKind, SuggestionStatus, SuggestionTopic
from bot.services.suggestions import Media, SuggestionEvent
from handlers.buttons import Button, button

# --- leaving one (anyone registered) ------------------------------------------------------------


@button("sg:new")
class SuggestNew(Button):
    """Leave a suggestion; `face`: a member writes down one heard from a resident."""

    face: bool


@button("sg:topic")
class SuggestTopic(Button):
    topic: SuggestionTopic


@button("sg:sign")
class SuggestSign(Button):
    anonymous: bool


@button("sg:send")
class SuggestSend(Button):
    """Send what the dialogue collected (its token: a second press makes no second)."""

    token: str


@button("sg:drop")
class SuggestDrop(Button):
    pass


@button("sg:mine")
class MySuggestions(Button):
    """The author's own suggestions, a page at a time."""

    page: int


# --- for coordinators ---------------------------------------------------------------------------


@button("sg:admin")
class SuggestionsMenu(Button):
    """The coordinator's 社区智囊团: counts by status (from /admin, as /suggestions)."""


@button("sg:list")
class SuggestionList(Button):
    status: SuggestionStatus
    page: int


@button("sg:open")
class SuggestionOpen(Button):
    suggestion_id: int


@button("sg:media")
class SuggestionMedia(Button):
    """The photo or voice note, sent to the presser alone."""

    suggestion_id: int
    what: Media


@button("sg:reply")
class SuggestionReplyAsk(Button):
    suggestion_id: int


@button("sg:move")
class SuggestionMove(Button):
    suggestion_id: int
    event: SuggestionEvent


@button("sg:links")
class SuggestionLinkMenu(Button):
    """Choose what answered it: a wish, a patrol finding or an announcement."""

    suggestion_id: int


@button("sg:link")
class SuggestionLinkAsk(Button):
    suggestion_id: int
    kind: SuggestionLinkKind
