"""What the suggestions feature tells people, as data. Coordinators over the place are told
of a new suggestion — its topic and words, and who left it only when signed: an anonymous
one's notice holds no name, no id and no building. The author (the member who wrote it down,
for one heard face to face) is told each reply, each change of status and what answered it,
in their own language."""

from __future__ import annotations

from datetime import timedelta

from bot.models import (
    DeliveryPolicy,
    Notice,
    SuggestionLinkKind,
    SuggestionStatus,
    SuggestionTopic,
)


class SuggestionReceived(Notice):
    """To the coordinators over the community (and, when signed, the author's building): a new
    suggestion."""

    KIND = "suggestion.received"
    suggestion_id: int
    community_id: int
    community_name: str
    topic: SuggestionTopic
    words: str | None = None
    photo: bool = False
    voice: bool = False
    heard_from: str | None = None  # None when anonymous
    author_name: str | None = None  # None when anonymous
    building_name: str | None = None  # None when anonymous

    def place(self) -> tuple[int | None, int | None]:
        return self.community_id, None


class AuthorNotice(Notice):
    """To the author, about one of their suggestions."""

    suggestion_id: int
    topic: SuggestionTopic
    words: str | None = None
    heard_from: str | None = None  # for a member: whom to pass it on to


class SuggestionReplied(AuthorNotice):
    KIND = "suggestion.replied"
    # The answer itself: still worth sending after a long outage (it is in "my suggestions"
    # too, but the author was promised it).
    POLICY = DeliveryPolicy(stale_after=timedelta(days=7))
    coordinator_name: str
    reply: str


class SuggestionMoved(AuthorNotice):
    KIND = "suggestion.moved"
    status: SuggestionStatus


class SuggestionLinked(AuthorNotice):
    KIND = "suggestion.linked"
    kind: SuggestionLinkKind
    ref_id: int
