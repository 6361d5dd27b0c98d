"""What people type, cleaned one way everywhere: a name, a note or a finding's words is checked
against its limit after trimming, and the refusal says the limit in the same words."""

from __future__ import annotations

import unicodedata

from bot.models import N_
from bot.services.errors import InvalidInput


class TextTooLong(InvalidInput):
    message = N_("That text is too long (at most {limit} characters).")


class TextRequired(InvalidInput):
    message = N_("Please write a few words.")


def visible(text: str) -> bool:
    """Whether anything in `text` shows: zero-width spaces, joiners and other format or
    control characters alone (str.strip and str.split keep them) are no words."""
    return any(
        not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs", "Zl", "Zp")
        for ch in text
    )


def fold_text(text: str | None, limit: int) -> str | None:
    """One line: every run of whitespace (line breaks too) folded to one space; None when
    nothing is left; refused past `limit` characters. For names, places, titles, notes shown
    on one line of a card."""
    folded = " ".join((text or "").split())
    if len(folded) > limit:
        raise TextTooLong(limit=limit)
    return folded if visible(folded) else None


def trim_text(text: str | None, limit: int, *, required: bool = False) -> str | None:
    """Words as written, line breaks kept, trimmed at both ends; None when empty (refused when
    `required`); refused past `limit` characters. For a wish, a report, a reason."""
    trimmed = (text or "").strip()
    if not visible(trimmed):
        if required:
            raise TextRequired()
        return None
    if len(trimmed) > limit:
        raise TextTooLong(limit=limit)
    return trimmed
