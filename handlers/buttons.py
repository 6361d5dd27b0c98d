"""Typed buttons: each button's callback data is defined once, as a small frozen dataclass with
a unique prefix and typed fields, and the same class builds the data and matches it.

    @button("w:claim")
    class ClaimWish(Button):
        wish_id: int

    ClaimWish(wish_id=12).pack()          -> "w:claim:12"
    CallbackQueryHandler(step, pattern=ClaimWish.pattern())
    ClaimWish.of(update)                  -> ClaimWish(wish_id=12), or StaleButton

Telegram gives 1-64 bytes of callback data; `button` refuses a class whose longest possible
encoding would not fit, so an encoding can never fail at run time. A button is a request, never
a permission: the step behind it re-checks everything on the server. Fields may be `int`
(at most 15 digits, so a forged 40-digit id never reaches the database), `bool`, a `StrEnum`,
or `str` (a short word: letters, digits, `_` and `-`).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar, dataclass_transform

from telegram import Update

from bot.models import N_
from bot.services.errors import LinliError

MAX_BYTES = 64
INT_DIGITS = 15
WORD_MAX = 24
_WORD = re.compile(rf"[A-Za-z0-9_-]{{1,{WORD_MAX}}}")
_PREFIX = re.compile(r"[a-z][a-z0-9_]*(:[a-z][a-z0-9_]*)*")


class StaleButton(LinliError):
    """Callback data that no button of ours could have sent (forged, or from an old release)."""

    message = N_("This button is no longer valid. Please start again.")


class Button:
    """Base of every button's data; subclasses are made with `@button(prefix)`."""

    PREFIX: ClassVar[str] = ""
    _fields: ClassVar[tuple[tuple[str, type], ...]] = ()
    _pattern: ClassVar[re.Pattern[str]]

    def pack(self) -> str:
        """The callback data (at most 64 bytes, checked when the class was made)."""
        parts = [self.PREFIX]
        for name, kind in self._fields:
            parts.append(_encode(kind, getattr(self, name), name))
        return ":".join(parts)

    @classmethod
    def pattern(cls) -> re.Pattern[str]:
        """The regex a CallbackQueryHandler matches this button with (and nothing else)."""
        return cls._pattern

    @classmethod
    def unpack(cls, data: str | None) -> Self:
        """The button's fields from its data; StaleButton when it is not this button's."""
        match = cls._pattern.fullmatch(data or "")
        if match is None:
            raise StaleButton()
        values: dict[str, Any] = {}
        for (name, kind), raw in zip(cls._fields, match.groups(), strict=True):
            values[name] = _decode(kind, raw)
        return cls(**values)

    @classmethod
    def of(cls, update: Update) -> Self:
        """The pressed button's fields (StaleButton when forged or not this button)."""
        query = update.callback_query
        return cls.unpack(query.data if query is not None else None)

    @classmethod
    def longest(cls) -> str:
        """The longest encoding this button can have (for the 64-byte check)."""
        parts = [cls.PREFIX]
        for _, kind in cls._fields:
            if kind is int:
                parts.append("-" + "9" * INT_DIGITS)
            elif kind is bool:
                parts.append("1")
            elif isinstance(kind, type) and issubclass(kind, StrEnum):
                parts.append(max((m.value for m in kind), key=lambda v: len(v.encode())))
            else:
                parts.append("w" * WORD_MAX)
        return ":".join(parts)


REGISTRY: dict[str, type[Button]] = {}
B = TypeVar("B", bound=Button)


@dataclass_transform(frozen_default=True)
def button(prefix: str) -> Callable[[type[B]], type[B]]:
    """Make `cls` a frozen dataclass button with this unique prefix."""
    if not _PREFIX.fullmatch(prefix):
        raise TypeError(f"bad button prefix {prefix!r}")

    def make(cls: type[B]) -> type[B]:
        if prefix in REGISTRY:
            raise TypeError(f"button prefix {prefix!r} is used twice")
        made = dataclasses.dataclass(frozen=True)(cls)
        hints = typing.get_type_hints(made)
        fields = tuple((f.name, hints[f.name]) for f in dataclasses.fields(made))  # type: ignore[arg-type]
        for name, kind in fields:
            if _regex(kind) is None:
                raise TypeError(f"{made.__name__}.{name}: unsupported button field {kind!r}")
        made.PREFIX = prefix
        made._fields = fields
        made._pattern = re.compile(
            "^" + ":".join([re.escape(prefix), *(f"({_regex(kind)})" for _, kind in fields)]) + "$"
        )
        longest = made.longest()
        if len(longest.encode()) > MAX_BYTES:
            raise TypeError(f"{made.__name__} can be {len(longest.encode())} bytes: {longest!r}")
        REGISTRY[prefix] = made
        return made

    return make


def _regex(kind: object) -> str | None:
    if kind is int:
        return rf"-?\d{{1,{INT_DIGITS}}}"
    if kind is bool:
        return "[01]"
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return "|".join(re.escape(m.value) for m in sorted(kind, key=lambda m: -len(m.value)))
    if kind is str:
        return _WORD.pattern
    return None


def _encode(kind: type, value: object, name: str) -> str:
    if kind is bool:
        return "1" if value else "0"
    if kind is int:
        if not isinstance(value, int) or len(str(abs(value))) > INT_DIGITS:
            raise ValueError(f"{name}={value!r} does not fit a button")
        return str(value)
    if issubclass(kind, StrEnum):
        return kind(str(value)).value
    text = str(value)
    if not _WORD.fullmatch(text):
        raise ValueError(f"{name}={value!r} is not a short word")
    return text


def _decode(kind: type, raw: str) -> object:
    if kind is bool:
        return raw == "1"
    if kind is int:
        return int(raw)
    if issubclass(kind, StrEnum):
        return kind(raw)
    return raw
