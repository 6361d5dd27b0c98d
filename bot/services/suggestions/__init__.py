"""Suggestions (社区智囊团): leaving them, answering them, what answered them."""

from bot.services.suggestions.notices import (
    AuthorNotice,
    SuggestionLinked,
    SuggestionMoved,
    SuggestionReceived,
    SuggestionReplied,
)
from bot.services.suggestions.rules import (
    HEARD_FROM_MAX,
    SUGGESTION_LIFECYCLE,
    TEXT_MAX,
    SuggestionEvent,
    clean_heard_from,
    clean_words,
    moves_from,
)
from bot.services.suggestions.service import (
    CardPage,
    Media,
    Mine,
    MinePage,
    SuggestionCard,
    SuggestionDraft,
    SuggestionsService,
)

__all__ = [
    "HEARD_FROM_MAX",
    "SUGGESTION_LIFECYCLE",
    "TEXT_MAX",
    "AuthorNotice",
    "CardPage",
    "Media",
    "Mine",
    "MinePage",
    "SuggestionCard",
    "SuggestionDraft",
    "SuggestionEvent",
    "SuggestionLinked",
    "SuggestionMoved",
    "SuggestionReceived",
    "SuggestionReplied",
    "SuggestionsService",
    "clean_heard_from",
    "clean_words",
    "moves_from",
]
