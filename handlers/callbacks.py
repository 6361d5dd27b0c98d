"""Callback data: short structured strings ("wish:claim:123"), built and parsed here only.

A button is a request, never a permission: handlers re-check everything on the server.
"""

from __future__ import annotations

import re

MAX_BYTES = 64


def data(*parts: object) -> str:
    """Join parts with ':'; refuses anything over Telegram's 64-byte limit."""
    text = ":".join(str(p) for p in parts)
    if len(text.encode()) > MAX_BYTES or not text:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {text!r}")
    return text


def pattern(*parts: str) -> re.Pattern[str]:
    """A regex for one action; parts are literals, or '(int)', '(word)', '(any)' captures."""
    # Ids are capped at 15 digits: a forged 40-digit id must not reach the database.
    captures = {
        "(int)": r"(\d{1,15})",
        "(-int)": r"(-?\d{1,15})",
        "(word)": r"([a-z_]+)",
        "(any)": r"(.+)",
    }
    return re.compile("^" + ":".join(captures.get(p, re.escape(p)) for p in parts) + "$")
