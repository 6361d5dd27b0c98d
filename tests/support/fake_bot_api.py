"""A fake Telegram Bot API server for tests and benchmarks.

:class:`FakeBotApi` is an aiohttp server speaking enough of the Bot API for
python-telegram-bot 22 to run against it unchanged: give ``fake.base_url`` and
``fake.base_file_url`` to ``Bot``/``ApplicationBuilder``.  It validates requests the way
Telegram does (HTML entities, length limits, callback data size, "message is not modified"),
can simulate blocked users, group migration, 5xx faults and flood limits, records every call,
and offers a driver (:class:`FakeUser`, :class:`FakeGroup`) that plays users: it queues
realistic updates for ``getUpdates`` and reads what the bot answered.

Example::

    async with FakeBotApi() as fake:
        ...  # start the bot with base_url=fake.base_url
        user = fake.user(42, first_name="Wang")
        await user.send("/start")
        reply = await user.next_message()
        assert "Welcome" in reply.text
        await user.press(reply, "Join")

Network faults
--------------

Besides ``fail_next`` the fake can play a misbehaving network or server, for tests and
benchmarks of a client's retry logic.  Every fault is a window measured with
``time.monotonic`` from the call on (``seconds=None``: until :meth:`FakeBotApi.heal`), and
``methods`` (a set of Bot API method names, case-insensitive) limits it to those methods;
by default it hits every method except ``getUpdates``, so the long polling of a bot under
test goes on.  ``fake.fault_counts`` counts the requests each fault hit (keys ``hang``,
``reset``, ``5xx``, ``delay``, ``slow_read``, and ``outage_cut``: connections an outage cut;
refused connects cannot be counted).  A processed request is in ``fake.calls`` as usual (a
``fail_5xx`` answer too, an unprocessed reset is not).  What the client sees:

``outage(seconds)``
    The port refuses connections (``ECONNREFUSED``; httpx ``ConnectError``) and every open
    connection, idle keep-alive ones and pending long polls included, is reset; nothing
    arrives, nothing is processed.  Afterwards the server listens on the same port again.
``hang(seconds, methods)``
    The request is read, then no answer comes until the window ends (a read timeout); then
    it is processed (its effect happens even if the client gave up) and answered.
``reset_after_read(seconds, count, processed, methods)``
    The request is read, processed (unless ``processed=False``), and the connection is
    reset without an answer (httpx ``ReadError``/``RemoteProtocolError``).
``delay_answer(seconds, delay, methods)``
    The request is processed at once; its answer is sent ``delay`` seconds later (a client
    with a shorter read timeout times out although the effect happened).
``fail_5xx(seconds, count, status, methods)``
    An HTTP ``status`` (500/502/503/504) answer with a JSON error body; nothing is processed.
``slow_reads(seconds, bytes_per_second, methods)``
    The body is read at about ``bytes_per_second``, then processed and answered normally
    (the answer is late by about body size / rate: 24 KB at 8 KB/s about 3 s, 500 bytes
    about 60 ms).
``heal()``
    Ends every fault now (pending ``fail_next`` failures too): the port listens again, held
    requests are processed and answered, late answers go out.  ``stop()`` heals first.

``seconds`` and ``count`` together: the next ``count`` requests within the window.

Faults combine: a request arriving while several hold is read slowly, held, then reset,
failed or answered late, in that order (reset beats ``fail_5xx``).  Requests already held
when an outage starts lose their connection but are still processed when their hang ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import logging
import math
import re
import socket
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final, NamedTuple, Self, TypeVar

from aiohttp import StreamReader, web

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "FAULT_KINDS",
    "ApiError",
    "CallbackAnswer",
    "FakeBotApi",
    "FakeFile",
    "FakeGroup",
    "FakeMessage",
    "FakeUser",
    "MessageVersion",
    "RateLimits",
    "RecordedCall",
    "UploadedFile",
    "parse_html",
    "utf16_len",
]

JSON = dict[str, Any]
_T = TypeVar("_T")
_LOG = logging.getLogger(__name__)
_REQUEST: ContextVar[web.Request | None] = ContextVar("fake_bot_api_request", default=None)

BOT_ID: Final = 777000111
BOT_USERNAME: Final = "linli_test_bot"
BOT_FIRST_NAME: Final = "Linli"
GET_ME_RESULT: Final[JSON] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": BOT_FIRST_NAME,
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
BOT_SENDER: Final[JSON] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": BOT_FIRST_NAME,
    "username": BOT_USERNAME,
}

MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_CALLBACK_ANSWER_LENGTH: Final = 200

NOT_MODIFIED: Final = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_SCOPES: Final = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
# Update types Telegram does not deliver unless asked for explicitly in allowed_updates.
_OPT_IN_UPDATES: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Message keys that carry content (copied by copyMessage / forwardMessage).
_CONTENT_KEYS: Final = frozenset(
    {
        "text",
        "entities",
        "link_preview_options",
        "photo",
        "document",
        "voice",
        "audio",
        "video",
        "animation",
        "video_note",
        "sticker",
        "location",
        "venue",
        "contact",
        "poll",
        "dice",
        "caption",
        "caption_entities",
    }
)
_MEDIA_KEYS: Final = frozenset({"photo", "document", "voice", "audio", "video", "animation"})
_KINDS: Final = (
    "text",
    "photo",
    "document",
    "voice",
    "audio",
    "video",
    "animation",
    "video_note",
    "sticker",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)
# Sender of group service messages (what Telegram shows for anonymous group admins).
_GROUP_ANONYMOUS_BOT: Final[JSON] = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
_INLINE_ACTIONS: Final = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
# Parameters that are always plain strings, even when they look like numbers or JSON.
_STRING_PARAMS: Final = frozenset(
    {
        "text",
        "caption",
        "title",
        "description",
        "short_description",
        "name",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "address",
        "emoji",
        "action",
        "custom_title",
        "question",
        "explanation",
        "payload",
        "currency",
        "start_parameter",
        "provider_token",
        "message_effect_id",
        "business_connection_id",
        "language_code",
        "file_id",
        "photo",
        "document",
        "voice",
        "audio",
        "video",
        "animation",
        "sticker",
        "video_note",
        "thumbnail",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "performer",
        "file_name",
        "next_offset",
        "switch_pm_text",
        "switch_pm_parameter",
        "invite_link",
        "gift_id",
        "sticker_format",
        "set_name",
    }
)
_INT_RE: Final = re.compile(r"-?\d+\Z")
_FLOAT_RE: Final = re.compile(r"-?\d+\.\d*(?:[eE][-+]?\d+)?\Z")
_COMMAND_RE: Final = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?(?![A-Za-z0-9_@])")
_BOT_COMMAND_NAME_RE: Final = re.compile(r"[a-z0-9_]{1,32}\Z")
_DEFAULT_EXTENSION: Final = {
    "photo": ".jpg",
    "voice": ".oga",
    "sticker": ".webp",
    "video": ".mp4",
    "audio": ".mp3",
    "animation": ".mp4",
    "document": "",
}


class ApiError(Exception):
    """An error answer of the Bot API; method handlers raise it, the server sends it."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        """The response body in Bot API shape."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str, parameters: JSON | None = None) -> ApiError:
    """A 400 error whose description starts with ``Bad Request:`` like Telegram's."""
    return ApiError(400, f"Bad Request: {message}", parameters)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


# --------------------------------------------------------------------------------------------
# HTML parse mode (a port of TDLib's parse_html, which is what the Bot API runs)
# --------------------------------------------------------------------------------------------

_HTML_TAGS: Final = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_ENTITIES: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_SPACES: Final = " \t\r\n\v\0"
_TRIM: Final = " \t\r\n"
_NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HEX_DIGITS: Final = "0123456789abcdefABCDEF"


def _decode_html_entity(src: str, pos: int) -> tuple[str | None, int]:
    """Decode the entity at ``src[pos] == "&"``; return (character or None, position after)."""
    end = pos + 1
    if src[end] == "#":
        end += 1
        code = 0
        if src[end] == "x":
            end += 1
            while src[end] in _HEX_DIGITS:
                code = code * 16 + int(src[end], 16)
                end += 1
        else:
            while "0" <= src[end] <= "9":
                code = code * 10 + int(src[end])
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None, pos
        char = chr(code)
    else:
        while src[end].isascii() and src[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(src[pos + 1 : end])
        if named is None:
            return None, pos
        char = named
    if src[end] == ";":
        end += 1
    return char, end


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the plain text
    start: int  # index into the output character list


class _HtmlParser:
    """Telegram's HTML parser: plain text plus entities, or a "can't parse entities" error."""

    def __init__(self, text: str, strict_ampersand: bool) -> None:
        self.text = text
        self.src = text + "\0\0\0"  # sentinels: every scan stops at "\0"
        self.n = len(text)
        self.strict_ampersand = strict_ampersand
        self.out: list[str] = []
        self.offset = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JSON] = []
        self.pos = 0

    def error(self, message: str) -> ApiError:
        return bad_request(f"can't parse entities: {message}")

    def byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8", "surrogatepass"))

    def emit(self, chars: str) -> None:
        self.out.append(chars)
        self.offset += utf16_len(chars)

    def parse(self) -> tuple[str, list[JSON]]:
        while self.pos < self.n:
            char = self.src[self.pos]
            if char == "&":
                decoded, after = _decode_html_entity(self.src, self.pos)
                if decoded is not None:
                    self.emit(decoded)
                    self.pos = after
                    continue
                if self.strict_ampersand:
                    raise self.error(
                        f'unescaped "&" at byte offset {self.byte_offset(self.pos)}, use &amp; '
                        "(the fake Bot API is stricter than Telegram here)"
                    )
            if char != "<":
                self.emit(char)
                self.pos += 1
            elif self.src[self.pos + 1] == "/":
                self.end_tag()
            else:
                self.start_tag()
        if self.stack:
            raise self.error(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        plain = "".join(self.out)
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in plain):
            raise self.error(
                "Text contains invalid Unicode characters after decoding HTML entities, check "
                "for unmatched surrogate code units"
            )
        for entity in self.entities:
            if entity["type"] == "code" or not entity.get("language", True):
                entity.pop("language", None)
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return plain, self.entities

    def start_tag(self) -> None:
        src, begin = self.src, self.pos
        at = self.byte_offset(begin)
        i = begin + 1
        while src[i] not in _SPACES and src[i] != ">":
            i += 1
        if i >= self.n:
            raise self.error(f"Unclosed start tag at byte offset {at}")
        name = src[begin + 1 : i].lower()
        if name not in _HTML_TAGS:
            raise self.error(f'Unsupported start tag "{name}" at byte offset {at}')
        argument = ""
        while src[i] != ">":
            while i < self.n and src[i] in _SPACES:
                i += 1
            if src[i] == ">":
                break
            attr_begin = i
            while src[i] not in _SPACES and src[i] not in "=>/\"'":
                i += 1
            attribute = src[attr_begin:i]
            if not attribute:
                raise self.error(f'Empty attribute name in the tag "{name}" at byte offset {at}')
            while i < self.n and src[i] in _SPACES:
                i += 1
            if src[i] != "=":
                if i >= self.n:
                    raise self.error(f'Unclosed start tag "{name}" at byte offset {at}')
                if name == "blockquote" and attribute == "expandable":
                    argument = "1"
                continue
            i += 1
            while i < self.n and src[i] in _SPACES:
                i += 1
            if i >= self.n:
                raise self.error(f'Unclosed start tag "{name}" at byte offset {at}')
            if src[i] not in "'\"":
                token_begin = i
                while (src[i].isascii() and src[i].isalnum()) or src[i] in ".-":
                    i += 1
                value = src[token_begin:i].lower()
                if src[i] not in _SPACES and src[i] != ">":
                    raise self.error(
                        f"Unexpected end of name token at byte offset "
                        f"{self.byte_offset(token_begin)}"
                    )
            else:
                quote = src[i]
                i += 1
                chars: list[str] = []
                while i < self.n and src[i] != quote:
                    if src[i] == "&":
                        decoded, after = _decode_html_entity(src, i)
                        if decoded is not None:
                            chars.append(decoded)
                            i = after
                            continue
                    chars.append(src[i])
                    i += 1
                if i < self.n:
                    i += 1
                value = "".join(chars)
            if i >= self.n:
                raise self.error(f"Unclosed start tag at byte offset {at}")
            argument = _tag_argument(name, attribute, value, argument)
        if name == "span" and argument != "spoiler":
            raise self.error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        self.stack.append(_OpenTag(name, argument, self.offset, len(self.out)))
        self.pos = i + 1

    def end_tag(self) -> None:
        src, begin = self.src, self.pos
        at = self.byte_offset(begin)
        if not self.stack:
            raise self.error(f"Unexpected end tag at byte offset {at}")
        i = begin + 2
        while src[i] not in _SPACES and src[i] != ">":
            i += 1
        end_name = src[begin + 2 : i].lower()
        while i < self.n and src[i] in _SPACES:
            i += 1
        if src[i] != ">":
            raise self.error(f"Unclosed end tag at byte offset {at}")
        top = self.stack[-1]
        if end_name and end_name != top.name:
            raise self.error(
                f'Unmatched end tag at byte offset {at}, expected "</{top.name}>", '
                f'found "</{end_name}>"'
            )
        if self.offset > top.offset:
            self.add_entity(top)
        self.stack.pop()
        self.pos = i + 1

    def add_entity(self, tag: _OpenTag) -> None:
        offset, length = tag.offset, self.offset - tag.offset
        last = self.entities[-1] if self.entities else None
        same_range = last is not None and (last["offset"], last["length"]) == (offset, length)
        simple = _SIMPLE_ENTITIES.get(tag.name)
        entity: JSON = {"type": simple or tag.name, "offset": offset, "length": length}
        if simple:
            pass
        elif tag.name == "tg-emoji":
            if not tag.argument.isdigit() or int(tag.argument) == 0:
                raise self.error("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=tag.argument)
        elif tag.name == "a":
            url = tag.argument or "".join(self.out[tag.start :])
            if not url:
                return
            entity.update(type="text_link", url=url)
        elif tag.name == "pre":
            if same_range and last is not None and last["type"] == "code" and last.get("language"):
                last["type"] = "pre"
                return
        elif tag.name == "code":
            if same_range and last is not None and last["type"] == "pre" and tag.argument:
                last["language"] = tag.argument
                return
            entity["language"] = tag.argument  # dropped at the end unless it becomes a pre
        elif tag.name == "blockquote" and tag.argument:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)


def _tag_argument(tag: str, attribute: str, value: str, current: str) -> str:
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    if tag == "blockquote" and attribute == "expandable":
        return "1"
    return current


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[JSON]]:
    """Parse Bot API HTML like Telegram; return (plain text, entities) or raise ApiError 400.

    With ``strict_ampersand`` a bare ``&`` that is not an entity is rejected too (Telegram
    would keep it as text): it catches user text that was not passed through html.escape.
    """
    return _HtmlParser(text, strict_ampersand).parse()


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip leading/trailing whitespace like Telegram and shift/clip entities accordingly."""
    left = text.lstrip(_TRIM)
    lead = utf16_len(text[: len(text) - len(left)])
    result = left.rstrip(_TRIM)
    total = utf16_len(result)
    clipped: list[JSON] = []
    for entity in entities:
        try:
            start = max(int(entity["offset"]) - lead, 0)
            end = min(int(entity["offset"]) + int(entity["length"]) - lead, total)
        except (KeyError, TypeError, ValueError):
            raise bad_request("can't parse entities: wrong entity offset or length") from None
        if end > start:
            clipped.append({**entity, "offset": start, "length": end - start})
    return result, clipped


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """A file part received in a multipart/form-data request."""

    name: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass
class FakeFile:
    """A file known to the fake (uploaded by the bot, sent by a fake user or registered)."""

    file_id: str
    file_unique_id: str
    kind: str
    file_path: str
    content: bytes | None = field(default=None, repr=False)
    file_name: str | None = None
    mime_type: str | None = None

    def data(self) -> bytes:
        """The file's bytes (placeholder bytes when the content is not known)."""
        if self.content is not None:
            return self.content
        return f"fake file {self.file_id}".encode()

    def to_dict(self) -> JSON:
        """The Bot API ``File`` object (what getFile answers)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data()),
            "file_path": self.file_path,
        }


@dataclass
class RecordedCall:
    """One Bot API request as the fake saw it."""

    method: str
    params: JSON
    at: float  # time.monotonic() when the request arrived
    status: int  # HTTP status returned
    response: JSON | None = None
    token: str = ""

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.status == 200


@dataclass(frozen=True)
class MessageVersion:
    """A previous state of a message, kept in :attr:`FakeMessage.edited`."""

    text: str | None
    raw_text: str | None
    caption: str | None
    raw_caption: str | None
    reply_markup: JSON | None
    at: float


class CallbackAnswer(NamedTuple):
    """An answerCallbackQuery call: ``(callback_query_id, text, show_alert)``."""

    callback_query_id: str
    text: str | None
    show_alert: bool


@dataclass
class RateLimits:
    """Flood limits enforced with sliding windows (Telegram's documented soft limits)."""

    global_per_second: int = 30
    per_private_chat_per_second: int = 1
    per_group_per_minute: int = 20


@dataclass(eq=False)
class FakeMessage:
    """A stored message (sent by the bot or by a fake user); kept current after edits."""

    chat_id: int
    message_id: int
    data: JSON  # the Bot API Message object as it currently is
    from_bot: bool
    raw_text: str | None = None  # text exactly as the bot sent it (before HTML parsing)
    raw_caption: str | None = None
    parse_mode: str | None = None
    given_reply_markup: JSON | None = None  # markup as given (incl. reply keyboards)
    edited: list[MessageVersion] = field(default_factory=list)  # previous versions, oldest first
    deleted: bool = False
    seq: int = 0  # global change counter at the last send/edit/delete
    sent_at: float = field(default_factory=time.monotonic)

    def __repr__(self) -> str:
        body = self.text if self.text is not None else self.caption
        flags = " deleted" if self.deleted else ""
        return (
            f"<FakeMessage {self.chat_id}/{self.message_id} {self.kind} "
            f"from_bot={self.from_bot}{flags} {body!r}>"
        )

    def to_dict(self) -> JSON:
        """A deep copy of the Bot API Message object."""
        return copy.deepcopy(self.data)

    @property
    def text(self) -> str | None:
        """Plain text (HTML tags stripped, entities unescaped), as Telegram stores it."""
        value = self.data.get("text")
        return value if isinstance(value, str) else None

    @property
    def caption(self) -> str | None:
        """Plain caption."""
        value = self.data.get("caption")
        return value if isinstance(value, str) else None

    @property
    def entities(self) -> list[JSON]:
        """Entities of the text (or of the caption for media messages)."""
        value = self.data.get("entities", self.data.get("caption_entities", []))
        return list(value) if isinstance(value, list) else []

    @property
    def reply_markup(self) -> JSON | None:
        """The reply markup as given by the bot (inline keyboards, reply keyboards, ...)."""
        return self.given_reply_markup

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons, flattened: ``(text, callback_data or url)``."""
        return [
            (str(b.get("text", "")), b.get("callback_data", b.get("url")))
            for row in _inline_rows(self.data.get("reply_markup"))
            for b in row
        ]

    @property
    def keyboard(self) -> list[str]:
        """Texts of a reply keyboard (``ReplyKeyboardMarkup``), flattened."""
        rows = (self.given_reply_markup or {}).get("keyboard")
        if not isinstance(rows, list):
            return []
        return [
            str(b.get("text", "")) if isinstance(b, dict) else str(b)
            for row in rows
            if isinstance(row, list)
            for b in row
        ]

    @property
    def kind(self) -> str:
        """``text``, ``photo``, ``document``, ... (the first content key present)."""
        return next((key for key in _KINDS if key in self.data), "service")

    @property
    def photo(self) -> str | None:
        """file_id of the largest photo size, if this is a photo."""
        sizes = self.data.get("photo")
        return str(sizes[-1]["file_id"]) if isinstance(sizes, list) and sizes else None

    @property
    def document(self) -> str | None:
        """file_id of the document, if any."""
        return _file_id(self.data.get("document"))

    @property
    def voice(self) -> str | None:
        """file_id of the voice note, if any."""
        return _file_id(self.data.get("voice"))

    @property
    def sticker(self) -> str | None:
        """file_id of the sticker, if any."""
        return _file_id(self.data.get("sticker"))

    @property
    def location(self) -> JSON | None:
        """The location object, if any."""
        value = self.data.get("location")
        return value if isinstance(value, dict) else None

    @property
    def contact(self) -> JSON | None:
        """The contact object, if any."""
        value = self.data.get("contact")
        return value if isinstance(value, dict) else None

    @property
    def date(self) -> int:
        """Unix time the message was sent."""
        return int(self.data.get("date", 0))

    def button(self, text_or_data: str) -> JSON | None:
        """The inline button whose text (first) or callback_data equals ``text_or_data``."""
        rows = _inline_rows(self.data.get("reply_markup"))
        flat = [b for row in rows for b in row]
        for key in ("text", "callback_data"):
            for candidate in flat:
                if candidate.get(key) == text_or_data:
                    return candidate
        return None


def _file_id(obj: Any) -> str | None:
    return str(obj["file_id"]) if isinstance(obj, dict) and "file_id" in obj else None


def _inline_rows(markup: Any) -> list[list[JSON]]:
    if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
        return []
    return [
        [b for b in row if isinstance(b, dict)]
        for row in markup["inline_keyboard"]
        if isinstance(row, list)
    ]


def _inline_only(markup: JSON | None) -> JSON | None:
    return markup if markup is not None and "inline_keyboard" in markup else None


def _unique_id(file_id: str) -> str:
    return "AQAD" + hashlib.sha1(file_id.encode()).hexdigest()[:12]


def _chat_instance(chat_id: int) -> str:
    return str(int(hashlib.sha1(str(chat_id).encode()).hexdigest()[:15], 16))


def _matches(message: FakeMessage, match: str | Callable[[FakeMessage], bool]) -> bool:
    if isinstance(match, str):
        return match in (message.text or "") or match in (message.caption or "")
    return bool(match(message))


def _describe(messages: list[FakeMessage]) -> list[str]:
    return [m.text if m.text is not None else (m.caption or f"<{m.kind}>") for m in messages]


def decode_param(name: str, value: str) -> Any:
    """Decode one form field the way the Bot API does (numbers, booleans, JSON objects)."""
    if name in _STRING_PARAMS:
        return value
    if value in ("true", "false"):
        return value == "true"
    if _INT_RE.match(value):
        return int(value)
    if _FLOAT_RE.match(value):
        return float(value)
    if value.startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _RateLimiter:
    """Sliding-window counters for global, per private chat and per group limits."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._global: deque[float] = deque()
        self._chats: dict[int, deque[float]] = {}

    @staticmethod
    def _prune(window: deque[float], now: float, seconds: float) -> None:
        while window and window[0] <= now - seconds:
            window.popleft()

    def check(self, chat_id: int | None, now: float) -> int | None:
        """Record a call and return None, or return retry_after seconds when over a limit."""
        waits: list[float] = []
        self._prune(self._global, now, 1.0)
        if len(self._global) >= self.limits.global_per_second:
            waits.append(self._global[0] + 1.0 - now)
        chat_window: deque[float] | None = None
        if chat_id is not None:
            seconds, limit = (
                (1.0, self.limits.per_private_chat_per_second)
                if chat_id > 0
                else (60.0, self.limits.per_group_per_minute)
            )
            chat_window = self._chats.setdefault(chat_id, deque())
            self._prune(chat_window, now, seconds)
            if len(chat_window) >= limit:
                waits.append(chat_window[0] + seconds - now)
        if waits:
            return max(1, math.ceil(max(waits)))
        self._global.append(now)
        if chat_window is not None:
            chat_window.append(now)
        return None


# --------------------------------------------------------------------------------------------
# The driver: users and groups
# --------------------------------------------------------------------------------------------


class _ChatView:
    """Reading helpers for one chat seen from outside the bot (a private chat or a group)."""

    def __init__(self, fake: FakeBotApi, chat_id: int) -> None:
        self._fake = fake
        self._chat_id = chat_id
        self._cursor = 0
        self._since = 0

    @property
    def inbox(self) -> list[FakeMessage]:
        """Messages the bot sent to this chat and did not delete (current state after edits)."""
        return [m for m in self._fake.sent_to(self._chat_id) if not m.deleted]

    @property
    def last(self) -> FakeMessage | None:
        """The latest message from the bot in this chat."""
        inbox = self.inbox
        return inbox[-1] if inbox else None

    def _mark_action(self) -> None:
        self._since = self._fake._seq

    async def next_message(self, timeout: float = 5.0) -> FakeMessage:
        """Wait for the next bot message in this chat not yet returned by next_message."""

        def probe() -> FakeMessage | None:
            sent = self._fake.sent_to(self._chat_id)
            return sent[self._cursor] if len(sent) > self._cursor else None

        message = await self._fake._wait_until(probe, timeout)
        if message is None:
            raise AssertionError(
                f"chat {self._chat_id} got no new message from the bot within {timeout}s; "
                f"received so far: {_describe(self.inbox)}"
            )
        self._cursor += 1
        return message

    async def wait_for(
        self,
        match: str | Callable[[FakeMessage], bool],
        timeout: float = 5.0,
        *,
        since: int | None = None,
    ) -> FakeMessage:
        """Wait until a bot message in this chat matches (substring of text/caption or predicate).

        Only messages sent or edited after this chat's last driver action (send, press, ...)
        are considered, unless ``since`` gives another change counter (``since=0``: all).
        """
        threshold = self._since if since is None else since

        def probe() -> FakeMessage | None:
            for message in self._fake.sent_to(self._chat_id):
                if message.seq > threshold and not message.deleted and _matches(message, match):
                    return message
            return None

        found = await self._fake._wait_until(probe, timeout)
        if found is None:
            recent = [m for m in self.inbox if m.seq > threshold]
            raise AssertionError(
                f"chat {self._chat_id}: no bot message matching {match!r} within {timeout}s; "
                f"received since the last action: {_describe(recent)}; "
                f"whole inbox: {_describe(self.inbox)}"
            )
        return found


class FakeUser(_ChatView):
    """A Telegram user played by the test: sends updates, reads its private chat with the bot."""

    type: Final = "private"

    def __init__(
        self,
        fake: FakeBotApi,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> None:
        super().__init__(fake, user_id)
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code

    def __repr__(self) -> str:
        return f"<FakeUser {self.id} {self.first_name!r}>"

    def to_dict(self) -> JSON:
        """The Bot API ``User`` object."""
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_dict(self) -> JSON:
        """The Bot API ``Chat`` object of the private chat with the bot."""
        data: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    def _post(
        self, content: JSON, chat: FakeGroup | None, reply_to: FakeMessage | None = None
    ) -> FakeMessage:
        target: FakeUser | FakeGroup = self if chat is None else chat
        if chat is not None:
            chat.members.setdefault(self.id, "member")
            chat._mark_action()
        message = self._fake._new_message(
            target,
            content,
            from_bot=False,
            sender=self.to_dict(),
            raw_text=content.get("text"),
            raw_caption=content.get("caption"),
            reply_to=reply_to,
        )
        self._mark_action()
        self._fake.enqueue_update({"message": message.to_dict()})
        return message

    async def send(
        self, text: str, *, chat: FakeGroup | None = None, reply_to: FakeMessage | None = None
    ) -> FakeMessage:
        """Send a text message (``/command args`` gets a bot_command entity) to the bot."""
        content: JSON = {"text": text}
        command = _COMMAND_RE.match(text)
        if command:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}
            ]
        return self._post(content, chat, reply_to)

    async def share_contact(
        self,
        phone_number: str,
        user_id: int | None = None,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        chat: FakeGroup | None = None,
    ) -> FakeMessage:
        """Share a contact; ``user_id`` defaults to this user's id (pass 0 to omit it)."""
        contact: JSON = {"phone_number": phone_number, "first_name": first_name or self.first_name}
        if last_name or (first_name is None and self.last_name):
            contact["last_name"] = last_name or self.last_name
        owner = self.id if user_id is None else user_id
        if owner:
            contact["user_id"] = owner
        return self._post({"contact": contact}, chat)

    async def send_photo(
        self,
        file_id: str | None = None,
        caption: str | None = None,
        *,
        width: int = 1280,
        height: int = 960,
        chat: FakeGroup | None = None,
    ) -> FakeMessage:
        """Send a photo (the largest size gets ``file_id``, generated when omitted)."""
        large = self._fake._ensure_file(file_id, "photo")
        small = self._fake._ensure_file(f"{large.file_id}-s", "photo")
        scale = 90 / max(width, height, 1)
        sizes = [
            _photo_size(small, max(1, round(width * scale)), max(1, round(height * scale))),
            _photo_size(large, width, height),
        ]
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._post(content, chat)

    async def send_voice(
        self, file_id: str | None = None, duration: int = 3, *, chat: FakeGroup | None = None
    ) -> FakeMessage:
        """Send a voice note."""
        voice = self._fake._ensure_file(file_id, "voice", mime_type="audio/ogg")
        content = {"voice": {**_file_obj(voice), "duration": duration, "mime_type": "audio/ogg"}}
        return self._post(content, chat)

    async def send_document(
        self,
        file_id: str | None = None,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        *,
        caption: str | None = None,
        chat: FakeGroup | None = None,
    ) -> FakeMessage:
        """Send a document."""
        doc = self._fake._ensure_file(
            file_id, "document", file_name=file_name, mime_type=mime_type
        )
        content: JSON = {
            "document": {**_file_obj(doc), "file_name": file_name, "mime_type": mime_type}
        }
        if caption:
            content["caption"] = caption
        return self._post(content, chat)

    async def send_sticker(
        self,
        file_id: str | None = None,
        emoji: str = "👍",
        *,
        set_name: str | None = None,
        chat: FakeGroup | None = None,
    ) -> FakeMessage:
        """Send a (static, regular) sticker."""
        sticker_file = self._fake._ensure_file(file_id, "sticker")
        sticker: JSON = {
            **_file_obj(sticker_file),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        if set_name:
            sticker["set_name"] = set_name
        return self._post({"sticker": sticker}, chat)

    async def send_location(
        self, latitude: float, longitude: float, *, chat: FakeGroup | None = None
    ) -> FakeMessage:
        """Send a location."""
        return self._post({"location": {"latitude": latitude, "longitude": longitude}}, chat)

    async def press(
        self,
        message: FakeMessage,
        button: str,
        *,
        timeout: float = 5.0,
        expect_answer: bool = True,
    ) -> str | None:
        """Press an inline button (by text, else by callback_data) on a bot message.

        Returns the text of the bot's answerCallbackQuery (None if it answered without text)
        once the bot answered; raises AssertionError if the button does not exist or the bot
        does not answer within ``timeout`` (unless ``expect_answer`` is False).
        """
        if message.deleted:
            raise AssertionError(f"cannot press {button!r}: {message!r} was deleted")
        found = message.button(button)
        if found is None:
            raise AssertionError(
                f"no button {button!r} on {message!r}; buttons are {message.buttons}"
            )
        data = found.get("callback_data")
        if not isinstance(data, str):
            raise AssertionError(f"button {button!r} is not a callback button: {found}")
        return await self._callback(
            message.to_dict(), data, message.chat_id, timeout, expect_answer
        )

    async def press_data(
        self,
        message: FakeMessage | None,
        data: str,
        *,
        timeout: float = 5.0,
        expect_answer: bool = True,
    ) -> str | None:
        """Send a callback query with arbitrary (forged/stale) ``data`` for ``message``.

        ``message=None`` uses this user's latest bot message, or an inaccessible message when
        there is none.  Waits for the answer like :meth:`press`.
        """
        target = message if message is not None else self.last
        if target is not None:
            return await self._callback(
                target.to_dict(), data, target.chat_id, timeout, expect_answer
            )
        stub: JSON = {"chat": self.chat_dict(), "message_id": 1, "date": 0}
        return await self._callback(stub, data, self.id, timeout, expect_answer)

    async def _callback(
        self, message: JSON, data: str, chat_id: int, timeout: float, expect_answer: bool
    ) -> str | None:
        fake = self._fake
        query_id = fake._new_callback_id()
        query: JSON = {
            "id": query_id,
            "from": self.to_dict(),
            "message": message,
            "chat_instance": _chat_instance(chat_id),
            "data": data,
        }
        self._mark_action()
        chat = fake._chats.get(chat_id)
        if isinstance(chat, FakeGroup):
            chat._mark_action()
        fake.enqueue_update({"callback_query": query})
        if not expect_answer:
            return None
        answer = await fake._wait_until(lambda: fake._callback_answers.get(query_id), timeout)
        if answer is None:
            raise AssertionError(
                f"the bot did not answer callback query {query_id} (data={data!r}) "
                f"within {timeout}s"
            )
        return answer.text


class FakeGroup(_ChatView):
    """A group or supergroup the bot is in; fake users post into it with ``chat=group``."""

    def __init__(
        self,
        fake: FakeBotApi,
        chat_id: int,
        title: str,
        *,
        chat_type: str = "supergroup",
        username: str | None = None,
    ) -> None:
        super().__init__(fake, chat_id)
        self.id = chat_id
        self.title = title
        self.type = chat_type
        self.username = username
        self.members: dict[int, str] = {}  # user id -> ChatMember status

    def __repr__(self) -> str:
        return f"<FakeGroup {self.id} {self.title!r} {self.type}>"

    def chat_dict(self) -> JSON:
        """The Bot API ``Chat`` object."""
        data: JSON = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        return data

    def set_member(self, user: FakeUser | int, status: str = "member") -> None:
        """Set a member's status: creator, administrator, member, restricted, left, kicked."""
        self.members[user if isinstance(user, int) else user.id] = status


_Chat = FakeUser | FakeGroup


def _file_obj(file: FakeFile) -> JSON:
    return {
        "file_id": file.file_id,
        "file_unique_id": file.file_unique_id,
        "file_size": len(file.data()),
    }


def _photo_size(file: FakeFile, width: int, height: int) -> JSON:
    return {**_file_obj(file), "width": width, "height": height}


def _member_dict(status: str, user: JSON) -> JSON:
    """A ChatMember object with every field PTB requires for ``status``."""
    if status == "creator":
        return {"status": status, "user": user, "is_anonymous": False}
    if status == "administrator":
        rights = dict.fromkeys(
            (
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_change_info",
                "can_invite_users",
                "can_pin_messages",
            ),
            True,
        )
        rights.update(
            dict.fromkeys(
                (
                    "can_be_edited",
                    "is_anonymous",
                    "can_promote_members",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_manage_topics",
                ),
                False,
            )
        )
        return {"status": status, "user": user, **rights}
    if status == "restricted":
        flags = dict.fromkeys(
            (
                "can_change_info",
                "can_invite_users",
                "can_pin_messages",
                "can_send_messages",
                "can_send_polls",
                "can_send_other_messages",
                "can_add_web_page_previews",
                "can_manage_topics",
                "can_send_audios",
                "can_send_documents",
                "can_send_photos",
                "can_send_videos",
                "can_send_video_notes",
                "can_send_voice_notes",
                "can_edit_tag",
            ),
            False,
        )
        return {"status": status, "user": user, "is_member": True, "until_date": 0, **flags}
    if status == "kicked":
        return {"status": status, "user": user, "until_date": 0}
    return {"status": status, "user": user}


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

Handler = Callable[[JSON], Awaitable[Any]]

# Kinds of network fault, the keys of FakeBotApi.fault_counts ("outage_cut": connections
# reset when an outage began; refused connects cannot be counted).
FAULT_KINDS: Final = ("outage_cut", "slow_read", "hang", "reset", "5xx", "delay")


@dataclass(eq=False)
class _Fault:
    """One fault window (see the module docstring)."""

    kind: str
    until: float | None  # time.monotonic() deadline; None: until heal()
    count: int | None  # requests left to hit; None: any number
    methods: frozenset[str] | None  # lower-case method names; None: all but getUpdates
    status: int = 502
    processed: bool = True
    delay: float = 0.0
    bytes_per_second: float = 0.0
    healed: asyncio.Event = field(default_factory=asyncio.Event)

    def live(self, now: float) -> bool:
        if self.healed.is_set() or (self.count is not None and self.count <= 0):
            return False
        return self.until is None or now < self.until

    def hits(self, method: str, now: float) -> bool:
        if not self.live(now):
            return False
        return method != "getupdates" if self.methods is None else method in self.methods

    async def wait_healed(self, timeout: float | None) -> None:
        """Sleep ``timeout`` seconds (None: forever), or less if the fault is healed."""
        if timeout is not None and timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.healed.wait(), timeout)


def _window(seconds: float | None) -> float | None:
    if seconds is None:
        return None
    if seconds < 0:
        raise ValueError(f"negative fault window {seconds}")
    return time.monotonic() + seconds


def _method_set(methods: Iterable[str] | None) -> frozenset[str] | None:
    if methods is None:
        return None
    if isinstance(methods, str):
        methods = [methods]
    return frozenset(m.lower() for m in methods)


def _hard_abort(transport: asyncio.Transport | None, *, now: bool = False) -> None:
    """Close a connection with a TCP RST (SO_LINGER 0), not a FIN.

    The transport closes its socket on the next loop iteration; ``now`` also shuts the
    socket down at once (the peer gets a FIN before the RST), so that a client acting right
    after this call already finds the connection closed.
    """
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if now:
                sock.shutdown(socket.SHUT_RDWR)
    transport.abort()


class FakeBotApi:
    """A fake Telegram Bot API server on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limits: bool | RateLimits = False,
        strict_html_ampersand: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.strict_html_ampersand = strict_html_ampersand
        self.calls: list[RecordedCall] = []
        self.messages: list[FakeMessage] = []  # every message the bot sent, in order
        self.user_messages: list[FakeMessage] = []  # every message fake users sent
        self.answered_callbacks: list[CallbackAnswer] = []
        self.count_429 = 0
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope json, lang) -> commands
        self.menu_buttons: dict[int | None, JSON] = {}
        self.bot_profile: dict[tuple[str, str], str] = {}  # (field, lang) -> value
        self.webhook: JSON | None = None
        self.errors: list[BaseException] = []  # unexpected exceptions inside the fake
        self._limiter: _RateLimiter | None = None
        if rate_limits:
            self.enforce_limits(
                **(vars(rate_limits) if isinstance(rate_limits, RateLimits) else {})
            )
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, FakeUser] = {}
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._faults: dict[str, deque[int]] = {}
        self._store: dict[tuple[int, int], FakeMessage] = {}
        self._by_chat: dict[int, list[FakeMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._pending: list[JSON] = []
        self._next_update_id = 1
        self._delivered_upto = 0
        self._allowed_updates: frozenset[str] | None = None
        self._open_callbacks: set[str] = set()
        self._callback_answers: dict[str, CallbackAnswer] = {}
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._files: dict[str, FakeFile] = {}
        self._files_by_path: dict[str, FakeFile] = {}
        self._seq = 0
        self._changed = asyncio.Event()
        self._in_flight = 0
        self._last_activity = 0.0
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._bound_port: int | None = None
        self.fault_counts: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self._fault_windows: list[_Fault] = []
        self._outage_timer: asyncio.TimerHandle | None = None
        self._in_outage = False
        self._tasks: set[asyncio.Future[Any]] = set()  # work that outlives its connection
        self._handlers: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving (binds a random free port unless ``port`` was given)."""
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            sock = self._bind(self.port)
            self._bound_port = int(sock.getsockname()[1])
            self._runner = runner
            await self._serve_on(sock)
        except BaseException:
            self._runner = None
            await runner.cleanup()
            raise

    async def stop(self) -> None:
        """Stop serving; pending long polls return an empty list first.

        Works during an outage; requests held by a fault are released (processed and
        answered) first, and the faults are gone.
        """
        self._closing = True
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
        self._in_outage = False
        self._release_faults()
        self._bump()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._runner is not None:
            await asyncio.sleep(0)  # let woken long polls answer before connections close
            await self._runner.cleanup()
            self._runner = None
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        for task in list(self._tasks):
            task.cancel()

    def _bind(self, port: int) -> socket.socket:
        """A listening socket on ``host:port``, synchronously (connects queue at once)."""
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _serve_on(self, sock: socket.socket) -> None:
        """Accept connections of ``sock`` into the aiohttp server."""
        runner = self._runner
        if runner is None or runner.server is None or self._closing or self._in_outage:
            sock.close()
            return
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(runner.server, sock=sock)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Root URL of the server."""
        if self._bound_port is None:
            raise RuntimeError("FakeBotApi is not started")
        return f"http://{self.host}:{self._bound_port}"

    @property
    def base_url(self) -> str:
        """Value for PTB's ``base_url`` (PTB appends ``{token}/{method}``)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's ``base_file_url``."""
        return f"{self.url}/file/bot"

    # ---- driver ----------------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Tester",
        language_code: str | None = "zh-hans",
        username: str | None = None,
        *,
        last_name: str | None = None,
    ) -> FakeUser:
        """The fake user ``user_id`` (created on first call; its private chat becomes known)."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        if user_id <= 0 or user_id == BOT_ID:
            raise ValueError(f"invalid user id {user_id}")
        created = FakeUser(
            self,
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self._users[user_id] = created
        self._chats[user_id] = created
        return created

    def group(
        self,
        chat_id: int = -100123,
        title: str = "Members",
        *,
        chat_type: str | None = None,
        username: str | None = None,
    ) -> FakeGroup:
        """The group ``chat_id`` (negative; ``-100...`` ids default to supergroups)."""
        existing = self._chats.get(chat_id)
        if isinstance(existing, FakeGroup):
            return existing
        if chat_id >= 0:
            raise ValueError(f"group ids are negative, got {chat_id}")
        kind = chat_type or ("supergroup" if str(chat_id).startswith("-100") else "group")
        created = FakeGroup(self, chat_id, title, chat_type=kind, username=username)
        self._chats[chat_id] = created
        return created

    def enqueue_update(self, payload: JSON) -> int:
        """Queue a raw update (``{"message": {...}}``, ...) for getUpdates; return its id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._pending.append({"update_id": update_id, **copy.deepcopy(payload)})
        self._bump()
        return update_id

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by the bot (via getUpdates offset)."""
        return list(self._pending)

    def block(self, chat_id: int) -> None:
        """The user blocked the bot (403 on sends); for groups: the bot was kicked."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        self._blocked.discard(chat_id)

    def migrate_group(self, old_id: int, new_id: int, *, announce: bool = False) -> FakeGroup:
        """Upgrade group ``old_id`` to supergroup ``new_id``; sends to the old id get 400.

        With ``announce`` the migrate_to/migrate_from service messages are queued as updates.
        """
        old = self._chats.get(old_id)
        if not isinstance(old, FakeGroup):
            raise ValueError(f"unknown group {old_id}")
        new = self.group(new_id, old.title, chat_type="supergroup", username=old.username)
        new.members.update(old.members)
        self._migrated[old_id] = new_id
        if announce:
            for chat, key, value in (
                (old, "migrate_to_chat_id", new_id),
                (new, "migrate_from_chat_id", old_id),
            ):
                service = self._new_message(
                    chat, {key: value}, from_bot=False, sender=_GROUP_ANONYMOUS_BOT
                )
                self.enqueue_update({"message": service.to_dict()})
        return new

    def fail_next(self, method: str, status: int = 500, count: int = 1) -> None:
        """Make the next ``count`` calls of ``method`` fail with HTTP ``status`` (5xx)."""
        self._faults.setdefault(method.lower(), deque()).extend([status] * count)

    # ---- network faults (see the module docstring) ---------------------------------------

    def outage(self, seconds: float | None) -> None:
        """Refuse connections and reset every open one for ``seconds`` (None: until heal)."""
        if self._runner is None or self._runner.server is None:
            raise RuntimeError("FakeBotApi is not started")
        _window(seconds)  # validates
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
        self._in_outage = True
        if self._listener is not None:
            self._listener.close()  # closes the listening socket now: connects are refused
            self._listener = None
        for connection in self._runner.server.connections:
            if connection.transport is not None and not connection.transport.is_closing():
                self.fault_counts["outage_cut"] += 1
                _hard_abort(connection.transport, now=True)
        self._bump()  # pending long polls notice their client is gone and end
        if seconds is not None:
            loop = asyncio.get_running_loop()
            self._outage_timer = loop.call_later(seconds, self._end_outage)

    def hang(self, seconds: float | None, methods: Iterable[str] | None = None) -> None:
        """Hold requests (read in full) unanswered until the window ends, then serve them."""
        self._add_fault(_Fault("hang", _window(seconds), None, _method_set(methods)))

    def reset_after_read(
        self,
        seconds: float | None = None,
        count: int | None = None,
        processed: bool = True,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Read requests, process them (if ``processed``), reset the connection unanswered."""
        self._add_fault(
            _Fault("reset", _window(seconds), count, _method_set(methods), processed=processed)
        )

    def delay_answer(
        self, seconds: float | None, delay: float, methods: Iterable[str] | None = None
    ) -> None:
        """Process requests at once but send their answers ``delay`` seconds later."""
        self._add_fault(_Fault("delay", _window(seconds), None, _method_set(methods), delay=delay))

    def fail_5xx(
        self,
        seconds: float | None = None,
        count: int | None = None,
        status: int = 502,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer HTTP ``status`` with a JSON error body, without processing the request."""
        if not 500 <= status <= 599:
            raise ValueError(f"not a 5xx status: {status}")
        self._add_fault(
            _Fault("5xx", _window(seconds), count, _method_set(methods), status=status)
        )

    def slow_reads(
        self, seconds: float | None, bytes_per_second: float, methods: Iterable[str] | None = None
    ) -> None:
        """Read request bodies at about ``bytes_per_second``, then serve them normally."""
        if bytes_per_second <= 0:
            raise ValueError("bytes_per_second must be positive")
        self._add_fault(
            _Fault(
                "slow_read",
                _window(seconds),
                None,
                _method_set(methods),
                bytes_per_second=bytes_per_second,
            )
        )

    def heal(self) -> None:
        """End every fault now (also pending ``fail_next`` failures): listen again, release
        held requests (they are processed and answered) and late answers."""
        self._faults.clear()
        self._release_faults()
        if self._in_outage:
            self._end_outage()

    @property
    def faults_active(self) -> bool:
        """Whether an outage or a fault window is in force."""
        now = time.monotonic()
        return self._in_outage or any(f.live(now) for f in self._fault_windows)

    def _add_fault(self, fault: _Fault) -> None:
        if fault.count is not None and fault.count < 1:
            raise ValueError(f"count must be positive, got {fault.count}")
        now = time.monotonic()
        self._fault_windows = [f for f in self._fault_windows if f.live(now)]
        self._fault_windows.append(fault)

    def _release_faults(self) -> None:
        for fault in self._fault_windows:
            fault.healed.set()
        self._fault_windows.clear()

    def _take_fault(self, kind: str, method: str, now: float) -> _Fault | None:
        """The fault of ``kind`` hitting a request of ``method`` (lower case) at ``now``."""
        for fault in self._fault_windows:
            if fault.kind == kind and fault.hits(method, now):
                if fault.count is not None:
                    fault.count -= 1
                self.fault_counts[kind] += 1
                return fault
        return None

    def _end_outage(self) -> None:
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
        if not self._in_outage:
            return
        self._in_outage = False
        if self._closing or self._bound_port is None:
            return
        try:
            sock = self._bind(self._bound_port)  # listening again right now
        except OSError as exc:
            _LOG.exception("FakeBotApi cannot listen on port %s again", self._bound_port)
            self.errors.append(exc)
            return
        self._spawn(self._serve_on(sock))

    def _spawn(self, work: Awaitable[_T]) -> asyncio.Future[_T]:
        """Run ``work`` in a task no client disconnect cancels; stop() waits for it."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def enforce_limits(
        self,
        global_per_second: int = 30,
        per_private_chat_per_second: int = 1,
        per_group_per_minute: int = 20,
    ) -> None:
        """Turn on flood limits for send/edit/copy/forward methods (429 + retry_after)."""
        self._limiter = _RateLimiter(
            RateLimits(global_per_second, per_private_chat_per_second, per_group_per_minute)
        )

    def disable_limits(self) -> None:
        """Turn flood limits off."""
        self._limiter = None

    @property
    def rate_limits(self) -> RateLimits | None:
        """The limits in force, if any."""
        return self._limiter.limits if self._limiter else None

    def register_file(
        self,
        file_id: str,
        kind: str = "document",
        *,
        content: bytes | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> FakeFile:
        """Make ``file_id`` known (bots may send it and getFile/download it)."""
        return self._ensure_file(
            file_id, kind, content=content, file_name=file_name, mime_type=mime_type
        )

    def file(self, file_id: str) -> FakeFile | None:
        """A known file by id."""
        return self._files.get(file_id)

    # ---- inspection ------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Recorded calls of ``method`` (case-insensitive), in order."""
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def sent_to(self, chat_id: int) -> list[FakeMessage]:
        """Messages the bot successfully sent to ``chat_id`` (incl. deleted ones), in order."""
        return list(self._by_chat.get(chat_id, []))

    def message(self, chat_id: int, message_id: int) -> FakeMessage | None:
        """Any stored message (bot's or user's)."""
        return self._store.get((chat_id, message_id))

    def get_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands stored by setMyCommands for exactly this scope and language."""
        return list(self.commands.get((_scope_key(scope), language_code), []))

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        *,
        timeout: float = 5.0,
    ) -> RecordedCall:
        """Wait until a call of ``method`` (matching ``predicate``) was recorded."""

        def probe() -> RecordedCall | None:
            for call in self.calls_to(method):
                if predicate is None or predicate(call):
                    return call
            return None

        found = await self._wait_until(probe, timeout)
        if found is None:
            raise AssertionError(f"no matching {method} call within {timeout}s")
        return found

    async def wait_idle(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until every queued update was fetched and no call happened for ``quiet`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            now = time.monotonic()
            undelivered = [u for u in self._pending if u["update_id"] > self._delivered_upto]
            idle_for = now - self._last_activity
            busy = bool(undelivered) or self._in_flight > 0
            if not busy and idle_for >= quiet:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"bot not idle after {timeout}s: {len(undelivered)} update(s) not fetched, "
                    f"{self._in_flight} call(s) in flight"
                )
            await self._wait_changed(remaining if busy else min(quiet - idle_for, remaining))

    # ---- internals: waiting ----------------------------------------------------------------

    def _bump(self) -> None:
        """Wake every waiter (state changed)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_changed(self, timeout: float) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(timeout, 0.0))

    async def _wait_until(self, probe: Callable[[], _T | None], timeout: float) -> _T | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = probe()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await self._wait_changed(remaining)

    # ---- internals: storage ----------------------------------------------------------------

    def _new_callback_id(self) -> str:
        query_id = str(next(self._callback_ids))
        self._open_callbacks.add(query_id)
        return query_id

    def _ensure_file(
        self,
        file_id: str | None,
        kind: str,
        *,
        content: bytes | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> FakeFile:
        number = next(self._file_ids)
        file_id = file_id or f"fake_{kind}_{number:06d}"
        known = self._files.get(file_id)
        if known is not None:
            if content is not None:
                known.content = content
            return known
        extension = _DEFAULT_EXTENSION.get(kind, "")
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
        created = FakeFile(
            file_id=file_id,
            file_unique_id=_unique_id(file_id),
            kind=kind,
            file_path=f"{kind}s/file_{number}{extension}",
            content=content,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[file_id] = created
        self._files_by_path[created.file_path] = created
        return created

    def _new_message(
        self,
        chat: _Chat,
        content: JSON,
        *,
        from_bot: bool,
        sender: JSON,
        raw_text: str | None = None,
        raw_caption: str | None = None,
        parse_mode: str | None = None,
        reply_markup: JSON | None = None,
        reply_to: FakeMessage | None = None,
    ) -> FakeMessage:
        message_id = self._next_message_id.get(chat.id, 0) + 1
        self._next_message_id[chat.id] = message_id
        data: JSON = {
            "message_id": message_id,
            "from": dict(sender),
            "chat": chat.chat_dict(),
            "date": int(time.time()),
        }
        if reply_to is not None:
            data["reply_to_message"] = {
                k: v for k, v in reply_to.to_dict().items() if k != "reply_to_message"
            }
        data.update(copy.deepcopy(content))
        inline = _inline_only(reply_markup)
        if inline is not None:
            data["reply_markup"] = copy.deepcopy(inline)
        self._seq += 1
        message = FakeMessage(
            chat_id=chat.id,
            message_id=message_id,
            data=data,
            from_bot=from_bot,
            raw_text=raw_text,
            raw_caption=raw_caption,
            parse_mode=parse_mode,
            given_reply_markup=copy.deepcopy(reply_markup),
            seq=self._seq,
        )
        self._store[(chat.id, message_id)] = message
        if from_bot:
            self.messages.append(message)
            self._by_chat.setdefault(chat.id, []).append(message)
        else:
            self.user_messages.append(message)
        self._bump()
        return message

    # ---- internals: HTTP -------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> JSON:
        params: JSON = {key: decode_param(key, value) for key, value in request.query.items()}
        if request.method != "POST" or not request.can_read_body:
            return params
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("JSON object expected")
            for key, value in body.items():
                is_json_text = isinstance(value, str) and key not in _STRING_PARAMS
                params[key] = decode_param(key, value) if is_json_text else value
            return params
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = UploadedFile(
                    key, value.filename, value.content_type, value.file.read()
                )
            elif isinstance(value, bytes | bytearray):
                params[key] = decode_param(key, bytes(value).decode("utf-8", "replace"))
            else:
                params[key] = decode_param(key, value)
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                attached = params.get(value[len("attach://") :])
                if isinstance(attached, UploadedFile):
                    params[key] = attached
        return params

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        raw_method = request.match_info["method"]
        entry = self._handlers.get(raw_method.lower())
        method = entry[0] if entry else raw_method
        key = raw_method.lower()
        take = self._take_fault
        slow = take("slow_read", key, arrived) if request.can_read_body else None
        hang = take("hang", key, arrived)
        reset = take("reset", key, arrived)
        fail = None if reset else take("5xx", key, arrived)
        late = None if reset or fail else take("delay", key, arrived)
        _REQUEST.set(request)
        # The work runs in its own task: a client giving up (or aiohttp cancelling this
        # handler on a disconnect) never stops a request the server has started to serve.
        work = self._spawn(self._serve(request, method, entry, arrived, slow, hang, reset, fail))
        answer = await asyncio.shield(work)
        if answer is None:  # reset, or the client left while sending its request
            _hard_abort(request.transport)
            return web.Response(status=204)  # never written: the connection is gone
        if late is not None:
            await asyncio.shield(self._spawn(late.wait_healed(late.delay)))
        status, payload = answer
        return web.json_response(payload, status=status)

    async def _serve(
        self,
        request: web.Request,
        method: str,
        entry: tuple[str, Handler] | None,
        arrived: float,
        slow: _Fault | None,
        hang: _Fault | None,
        reset: _Fault | None,
        fail: _Fault | None,
    ) -> tuple[int, JSON] | None:
        """Read, (maybe) process and record one request; its answer, None for no answer."""
        is_poll = method == "getUpdates"
        if not is_poll:
            self._in_flight += 1
            self._last_activity = arrived
        params: JSON = {}
        try:
            try:
                if slow is not None:
                    await self._read_slowly(request, slow.bytes_per_second)
                params = await self._read_params(request)
            except ApiError:
                raise
            except Exception:
                if _client_gone():
                    return None  # the request never arrived in full: nothing to serve
                raise
            if hang is not None:
                await hang.wait_healed(
                    None if hang.until is None else hang.until - time.monotonic()
                )
            if reset is not None and not reset.processed:
                return None
            if fail is not None:
                raise ApiError(fail.status, _status_phrase(fail.status))
            result = await self._dispatch(method, entry, params)
            status, payload = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, payload = exc.status, exc.payload()
        except Exception as exc:  # a bug in the fake: report it loudly, answer 500
            _LOG.exception("FakeBotApi failed on %s", method)
            self.errors.append(exc)
            status = 500
            payload = {"ok": False, "error_code": 500, "description": f"Fake bug: {exc!r}"}
        finally:
            if not is_poll:
                self._in_flight -= 1
        self.calls.append(
            RecordedCall(method, params, arrived, status, payload, request.match_info["token"])
        )
        if status == 429:
            self.count_429 += 1
        if not is_poll or (status == 200 and payload["result"]):
            self._last_activity = time.monotonic()
        self._bump()
        return None if reset is not None else (status, payload)

    async def _read_slowly(self, request: web.Request, bytes_per_second: float) -> None:
        """Read the body at about ``bytes_per_second``; leave it for ``_read_params``."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        chunk = max(256, int(bytes_per_second / 20))
        body = bytearray()
        while data := await request.content.read(chunk):
            body += data
            lag = started + len(body) / bytes_per_second - loop.time()
            if lag > 0:
                await asyncio.sleep(lag)
        copy_of_body = StreamReader(request.protocol, max(len(body), 2**16), loop=loop)
        if body:
            copy_of_body.feed_data(bytes(body))
        copy_of_body.feed_eof()
        request._payload = copy_of_body  # the stream is consumed: parse this copy of it

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        known = self._files_by_path.get(request.match_info["path"])
        if known is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=known.data(), content_type=known.mime_type or "application/octet-stream"
        )

    async def _dispatch(self, method: str, entry: tuple[str, Handler] | None, params: JSON) -> Any:
        faults = self._faults.get(method.lower())
        if faults:
            status = faults.popleft()
            if not faults:
                del self._faults[method.lower()]
            raise ApiError(status, _status_phrase(status))
        if entry is None:
            raise ApiError(404, "Not Found")
        if self._limiter is not None and _is_rate_limited(method):
            retry_after = self._limiter.check(self._rate_key(params), time.monotonic())
            if retry_after is not None:
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
        return await entry[1](params)

    def _rate_key(self, params: JSON) -> int | None:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and not isinstance(chat_id, bool):
            return chat_id
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            with contextlib.suppress(ApiError):
                return self._chat(chat_id).id
        return None

    # ---- internals: validation helpers -----------------------------------------------------

    def _chat(self, chat_id: Any) -> _Chat:
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            wanted = chat_id[1:].lower()
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == wanted:
                    return chat
            raise bad_request("chat not found")
        try:
            numeric = int(chat_id)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if numeric in self._migrated:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[numeric]},
            )
        found = self._chats.get(numeric)
        if found is None:
            raise bad_request("chat not found")
        return found

    def _writable_chat(self, params: JSON, key: str = "chat_id") -> _Chat:
        chat = self._chat(params.get(key))
        if chat.id in self._blocked:
            if chat.type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            where = "supergroup chat" if chat.type == "supergroup" else "group chat"
            raise ApiError(403, f"Forbidden: bot was kicked from the {where}")
        return chat

    @staticmethod
    def _int(params: JSON, key: str, missing: str) -> int:
        value = params.get(key)
        if value is None or value == "" or isinstance(value, bool):
            raise bad_request(missing)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {key} specified") from None

    def _format(self, raw: str, parse_mode: Any, entities: Any) -> tuple[str, list[JSON]]:
        mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
        if mode == "html":
            plain, parsed = parse_html(raw, strict_ampersand=self.strict_html_ampersand)
        elif mode in ("markdown", "markdownv2"):
            plain, parsed = raw, []  # not validated by the fake
        elif mode:
            raise bad_request("unsupported parse_mode")
        else:
            plain = raw
            parsed = (
                [dict(e) for e in entities if isinstance(e, dict)]
                if isinstance(entities, list)
                else []
            )
        return _trim(plain, parsed)

    def _text(self, params: JSON) -> tuple[str, str, list[JSON]]:
        raw = params.get("text")
        raw_text = "" if raw is None else str(raw)
        text, entities = self._format(raw_text, params.get("parse_mode"), params.get("entities"))
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return raw_text, text, entities

    def _caption(self, params: JSON) -> tuple[str | None, str | None, list[JSON]]:
        raw = params.get("caption")
        if raw is None:
            return None, None, []
        raw_caption = str(raw)
        caption, entities = self._format(
            raw_caption, params.get("parse_mode"), params.get("caption_entities")
        )
        if len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return raw_caption, caption or None, entities

    @staticmethod
    def _markup(value: Any) -> JSON | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise bad_request("can't parse reply keyboard markup JSON object") from None
        if not isinstance(value, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        rows = value.get("inline_keyboard")
        if rows is None:
            return value
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return value

    def _reply_target(self, chat: _Chat, params: JSON) -> FakeMessage | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply"))
            if reply.get("chat_id") not in (None, ""):
                chat = self._chat(reply.get("chat_id"))
        else:
            message_id = params.get("reply_to_message_id")
            allow = bool(params.get("allow_sending_without_reply"))
        if message_id in (None, ""):
            return None
        try:
            target = self._store.get((chat.id, int(message_id)))
        except (TypeError, ValueError):
            target = None
        if target is None or target.deleted:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return target

    def _source_message(self, params: JSON, what: str) -> FakeMessage:
        source_chat = self._chat(params.get("from_chat_id"))
        message_id = self._int(params, "message_id", f"message to {what} not found")
        source = self._store.get((source_chat.id, message_id))
        if source is None or source.deleted:
            raise bad_request(f"message to {what} not found")
        return source

    def _editable(self, params: JSON) -> FakeMessage:
        if params.get("inline_message_id"):
            raise bad_request("message to edit not found")  # inline messages: not supported
        chat = self._writable_chat(params)
        message_id = self._int(params, "message_id", "message identifier is not specified")
        message = self._store.get((chat.id, message_id))
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(
        self,
        message: FakeMessage,
        changes: JSON,
        markup: JSON | None,
        raw_text: str | None = None,
        raw_caption: str | None = None,
    ) -> JSON:
        """Raise "not modified" or update ``message`` in place (keeping history)."""
        inline = _inline_only(markup)
        current = {key: message.data.get(key) for key in changes}
        if current == changes and message.data.get("reply_markup") == inline:
            raise bad_request(NOT_MODIFIED)
        message.edited.append(
            MessageVersion(
                text=message.text,
                raw_text=message.raw_text,
                caption=message.caption,
                raw_caption=message.raw_caption,
                reply_markup=copy.deepcopy(message.reply_markup),
                at=time.monotonic(),
            )
        )
        for key, value in changes.items():
            if value is None or value == []:
                message.data.pop(key, None)
            else:
                message.data[key] = copy.deepcopy(value)
        if inline is None:
            message.data.pop("reply_markup", None)
        else:
            message.data["reply_markup"] = copy.deepcopy(inline)
        message.given_reply_markup = copy.deepcopy(inline)
        if "text" in changes:
            message.raw_text = raw_text
        if "caption" in changes:
            message.raw_caption = raw_caption
        message.data["edit_date"] = int(time.time())
        self._seq += 1
        message.seq = self._seq
        self._bump()
        return message.to_dict()

    # ---- Bot API methods -------------------------------------------------------------------

    def _method_table(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": self._true,
            "close": self._true,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "setMyDescription": self._profile_setter("description"),
            "getMyDescription": self._profile_getter("description"),
            "setMyShortDescription": self._profile_setter("short_description"),
            "getMyShortDescription": self._profile_getter("short_description"),
            "setMyName": self._profile_setter("name"),
            "getMyName": self._profile_getter("name"),
            "sendMessage": self._send_message,
            "sendPhoto": self._media_sender("photo"),
            "sendDocument": self._media_sender("document"),
            "sendVoice": self._media_sender("voice"),
            "sendLocation": self._send_location,
            "sendChatAction": self._send_chat_action,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "getChat": self._get_chat,
            "getFile": self._get_file,
            "getChatMember": self._get_chat_member,
        }

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return dict(GET_ME_RESULT)

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = params.get("limit")
        limit = min(max(int(limit), 1), 100) if isinstance(limit, int | float) else 100
        timeout = params.get("timeout")
        timeout = max(float(timeout), 0.0) if isinstance(timeout, int | float) else 0.0
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) or None
        if isinstance(offset, int) and not isinstance(offset, bool):
            if offset < 0:
                del self._pending[: max(len(self._pending) + offset, 0)]
            else:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._bump()  # terminates an older long poll
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if _client_gone():
                return []  # PTB cancelled this poll (e.g. on shutdown): deliver nothing
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure "
                    "that only one bot instance is running",
                )
            batch = self._deliverable()[:limit]
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                break
            await self._wait_changed(remaining)
        if batch:
            self._delivered_upto = max(self._delivered_upto, batch[-1]["update_id"])
        return copy.deepcopy(batch)

    def _deliverable(self) -> list[JSON]:
        def allowed(update: JSON) -> bool:
            kind = next((k for k in update if k != "update_id"), "")
            if self._allowed_updates is None:
                return kind not in _OPT_IN_UPDATES
            return kind in self._allowed_updates

        self._pending = [u for u in self._pending if allowed(u)]
        return self._pending

    async def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if not url:
            self.webhook = None
            return True
        if not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {
            key: value for key, value in params.items() if not isinstance(value, UploadedFile)
        }
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook is not None:
            info["max_connections"] = int(self.webhook.get("max_connections", 40))
            if isinstance(self.webhook.get("allowed_updates"), list):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is not None:
            if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
                raise bad_request("unsupported bot command scope type")
            if "chat_id" in scope:
                self._chat(scope["chat_id"])
        language = params.get("language_code") or ""
        return _scope_key(scope), str(language)

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        cleaned: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand: Object expected")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _BOT_COMMAND_NAME_RE.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = self._commands_key(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _set_chat_menu_button(self, params: JSON) -> bool:
        chat_id = self._chat(params["chat_id"]).id if params.get("chat_id") else None
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise bad_request("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, params: JSON) -> JSON:
        chat_id = self._chat(params["chat_id"]).id if params.get("chat_id") else None
        return dict(
            self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "commands"}))
        )

    def _profile_setter(self, name: str) -> Handler:
        async def setter(params: JSON) -> bool:
            language = str(params.get("language_code") or "")
            self.bot_profile[(name, language)] = str(params.get(name) or "")
            return True

        return setter

    def _profile_getter(self, name: str) -> Handler:
        async def getter(params: JSON) -> JSON:
            language = str(params.get("language_code") or "")
            value = self.bot_profile.get((name, language), self.bot_profile.get((name, ""), ""))
            if name == "name" and not value:
                value = BOT_FIRST_NAME
            return {name: value}

        return getter

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._writable_chat(params)
        raw_text, text, entities = self._text(params)
        markup = self._markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        preview = params.get("link_preview_options")
        if isinstance(preview, dict) and preview:
            content["link_preview_options"] = preview
        mode = params.get("parse_mode")
        message = self._new_message(
            chat,
            content,
            from_bot=True,
            sender=BOT_SENDER,
            raw_text=raw_text,
            parse_mode=mode if isinstance(mode, str) else None,
            reply_markup=markup,
            reply_to=reply_to,
        )
        return message.to_dict()

    def _input_file(self, value: Any, kind: str) -> FakeFile:
        if isinstance(value, UploadedFile):
            return self._ensure_file(
                None,
                kind,
                content=value.data,
                file_name=value.filename or None,
                mime_type=value.content_type or None,
            )
        if value is None or value == "":
            raise bad_request(f"there is no {kind} in the request")
        if not isinstance(value, str) or value.startswith("attach://"):
            raise bad_request("wrong file identifier/HTTP URL specified")
        if value.startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1].split("?", 1)[0] or None
            return self._ensure_file(None, kind, file_name=name)
        known = self._files.get(value)
        if known is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return known

    def _media_sender(self, kind: str) -> Handler:
        async def send(params: JSON) -> JSON:
            chat = self._writable_chat(params)
            file = self._input_file(params.get(kind), kind)
            raw_caption, caption, caption_entities = self._caption(params)
            markup = self._markup(params.get("reply_markup"))
            reply_to = self._reply_target(chat, params)
            content: JSON = {kind: self._media_object(kind, file, params)}
            if caption:
                content["caption"] = caption
                if caption_entities:
                    content["caption_entities"] = caption_entities
            mode = params.get("parse_mode")
            message = self._new_message(
                chat,
                content,
                from_bot=True,
                sender=BOT_SENDER,
                raw_caption=raw_caption,
                parse_mode=mode if isinstance(mode, str) else None,
                reply_markup=markup,
                reply_to=reply_to,
            )
            return message.to_dict()

        return send

    def _media_object(self, kind: str, file: FakeFile, params: JSON) -> Any:
        """The PhotoSize list / Document / Voice object for a sent file."""
        if kind == "photo":
            small = self._ensure_file(f"{file.file_id}-s", "photo")
            return [_photo_size(small, 90, 68), _photo_size(file, 1280, 960)]
        obj = _file_obj(file)
        if kind == "voice":
            duration = params.get("duration")
            obj["duration"] = int(duration) if isinstance(duration, int | float) else 1
            obj["mime_type"] = "audio/ogg"
        elif kind == "document":
            if file.file_name:
                obj["file_name"] = file.file_name
            if file.mime_type:
                obj["mime_type"] = file.mime_type
        return obj

    async def _send_location(self, params: JSON) -> JSON:
        chat = self._writable_chat(params)
        try:
            latitude = float(params["latitude"])
            longitude = float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude specified") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong latitude or longitude specified")
        markup = self._markup(params.get("reply_markup"))
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        message = self._new_message(
            chat,
            content,
            from_bot=True,
            sender=BOT_SENDER,
            reply_markup=markup,
            reply_to=self._reply_target(chat, params),
        )
        return message.to_dict()

    async def _send_chat_action(self, params: JSON) -> bool:
        self._writable_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _copy_content(self, source: FakeMessage) -> JSON:
        content = {k: copy.deepcopy(v) for k, v in source.data.items() if k in _CONTENT_KEYS}
        if not content:
            raise bad_request("message can't be copied")
        return content

    async def _copy_message(self, params: JSON) -> JSON:
        chat = self._writable_chat(params)
        source = self._source_message(params, "copy")
        content = self._copy_content(source)
        raw_caption = source.raw_caption
        if "caption" in params:
            raw_caption, caption, entities = self._caption(params)
            content.pop("caption", None)
            content.pop("caption_entities", None)
            if caption:
                content["caption"] = caption
                if entities:
                    content["caption_entities"] = entities
        markup = self._markup(params.get("reply_markup"))
        message = self._new_message(
            chat,
            content,
            from_bot=True,
            sender=BOT_SENDER,
            raw_text=source.raw_text if source.raw_text is not None else source.text,
            raw_caption=raw_caption,
            reply_markup=markup,
            reply_to=self._reply_target(chat, params),
        )
        return {"message_id": message.message_id}

    async def _forward_message(self, params: JSON) -> JSON:
        chat = self._writable_chat(params)
        source = self._source_message(params, "forward")
        content = self._copy_content(source)
        content["forward_origin"] = {
            "type": "user",
            "sender_user": source.data.get("from", BOT_SENDER),
            "date": source.date,
        }
        message = self._new_message(
            chat,
            content,
            from_bot=True,
            sender=BOT_SENDER,
            raw_text=source.text,
            raw_caption=source.caption,
        )
        return message.to_dict()

    async def _edit_message_text(self, params: JSON) -> JSON:
        message = self._editable(params)
        if "text" not in message.data:
            raise bad_request("there is no text in the message to edit")
        raw_text, text, entities = self._text(params)
        markup = self._markup(params.get("reply_markup"))
        changes: JSON = {"text": text, "entities": entities or None}
        preview = params.get("link_preview_options")
        if isinstance(preview, dict):
            changes["link_preview_options"] = preview or None
        mode = params.get("parse_mode")
        result = self._apply_edit(message, changes, markup, raw_text=raw_text)
        message.parse_mode = mode if isinstance(mode, str) else None
        return result

    async def _edit_message_caption(self, params: JSON) -> JSON:
        message = self._editable(params)
        if not _MEDIA_KEYS & message.data.keys():
            raise bad_request("there is no caption in the message to edit")
        raw_caption, caption, entities = self._caption(params)
        markup = self._markup(params.get("reply_markup"))
        changes: JSON = {"caption": caption, "caption_entities": entities or None}
        return self._apply_edit(message, changes, markup, raw_caption=raw_caption)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        message = self._editable(params)
        markup = self._markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return self._apply_edit(message, {}, markup)

    def _delete(self, chat: _Chat, message_id: int) -> bool:
        message = self._store.get((chat.id, message_id))
        if message is None or message.deleted:
            return False
        message.deleted = True
        self._seq += 1
        message.seq = self._seq
        self._bump()
        return True

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._chat(params.get("chat_id"))
        message_id = self._int(params, "message_id", "message identifier is not specified")
        if not self._delete(chat, message_id):
            raise bad_request("message to delete not found")
        return True

    async def _delete_messages(self, params: JSON) -> bool:
        chat = self._chat(params.get("chat_id"))
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers are not specified")
        for message_id in ids:
            self._delete(chat, int(message_id))
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        answer = CallbackAnswer(
            query_id, str(text) if text else None, bool(params.get("show_alert"))
        )
        self.answered_callbacks.append(answer)
        self._callback_answers[query_id] = answer
        return True

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        info = chat.chat_dict()
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": dict.fromkeys(
                    (
                        "unlimited_gifts",
                        "limited_gifts",
                        "unique_gifts",
                        "premium_subscription",
                        "gifts_from_channels",
                    ),
                    False,
                ),
            }
        )
        return info

    async def _get_file(self, params: JSON) -> JSON:
        known = self._files.get(str(params.get("file_id") or ""))
        if known is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        return known.to_dict()

    async def _get_chat_member(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        user_id = self._int(params, "user_id", "user not found")
        if user_id == BOT_ID:
            status = "member"
            if isinstance(chat, FakeGroup):
                status = chat.members.get(BOT_ID, "member")
            return _member_dict(status, dict(BOT_SENDER))
        user = self._users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if isinstance(chat, FakeGroup):
            return _member_dict(chat.members.get(user_id, "left"), user.to_dict())
        if chat.id != user_id:
            raise bad_request("user not found")
        return _member_dict("member", user.to_dict())


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error"


def _client_gone() -> bool:
    """Whether the client of the current request already closed its connection."""
    request = _REQUEST.get()
    if request is None:
        return False
    transport = request.transport
    return transport is None or transport.is_closing()


def _scope_key(scope: JSON | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _is_rate_limited(method: str) -> bool:
    if method == "sendChatAction":
        return False
    return method.startswith(("send", "editMessage", "copyMessage", "forwardMessage"))


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    elif "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")
    elif not _INLINE_ACTIONS & button.keys():
        raise bad_request("text buttons are unallowed in the inline keyboard")
