"""The Telegram calls that put a rendered message on a screen: a new message (text, photo or
document with caption, inline keyboard) or an edit of a live message. The outbox sender and
the broadcast preview both use these, so a preview is what recipients get."""

from __future__ import annotations

import logging

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.i18n import Translate
from bot.models import N_, OutgoingMessage
from handlers.common import keyboard

log = logging.getLogger(__name__)

# Telegram's words when an edit can no longer happen and the message must be sent anew.
GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")

# Telegram's English words for why a message could not be sent, as reasons a reader of any
# language understands; Telegram's own text never goes into a translated message.
REFUSALS: tuple[tuple[str, str], ...] = (
    ("blocked by the user", N_("the person has blocked the bot")),
    ("chat not found", N_("the chat was not found")),
    ("user is deactivated", N_("the account has been deleted")),
    ("can't parse entities", N_("the text has a formatting mistake")),
    ("wrong file identifier", N_("the photo or file is no longer available")),
    ("message is too long", N_("the message is too long")),
)


def refusal_reason(t: Translate, error: TelegramError) -> str:
    """Why Telegram refused a message, in the reader's language."""
    if isinstance(error, RetryAfter):
        return t("too many messages at once, wait a minute")
    text = str(error).lower()
    for words, reason in REFUSALS:
        if words in text:
            return t(reason)
    if isinstance(error, Forbidden):
        return t("the bot may not write to this chat")
    return t("no reason was given")


async def send_outgoing(bot: Bot, message: OutgoingMessage, chat_id: int | None = None) -> Message:
    """Send one message (text, or photo/document/voice note with caption; inline keyboard)."""
    target = message.chat_id if chat_id is None else chat_id
    markup = keyboard(message.buttons) if message.buttons else None
    if message.photo_file_id:
        return await bot.send_photo(
            target,
            photo=message.photo_file_id,
            caption=message.text,
            parse_mode=message.parse_mode,
            reply_markup=markup,
        )
    if message.document_file_id:
        return await bot.send_document(
            target,
            document=message.document_file_id,
            caption=message.text,
            parse_mode=message.parse_mode,
            reply_markup=markup,
        )
    if message.voice_file_id:
        return await bot.send_voice(
            target,
            voice=message.voice_file_id,
            caption=message.text,
            parse_mode=message.parse_mode,
            reply_markup=markup,
        )
    if not message.text:
        raise ValueError("an outbox row without text or media")
    return await bot.send_message(
        target, message.text, parse_mode=message.parse_mode, reply_markup=markup
    )


async def edit_live(
    bot: Bot, message_id: int, message: OutgoingMessage, *, resend: bool = True
) -> tuple[int, bool]:
    """Show `message` in place of message `message_id`: (the id it now has, sent anew?).
    An edit to the same content counts as done; a message Telegram no longer lets us edit
    (deleted, too old) is sent anew when `resend` (else there is nothing left to change)."""
    try:
        await bot.edit_message_text(
            message.text or "",
            chat_id=message.chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(message.buttons),
            disable_web_page_preview=True,
        )
    except BadRequest as error:
        text = str(error).lower()
        if "not modified" in text:
            return message_id, False
        if not any(words in text for words in GONE):
            raise
        if not resend:
            return message_id, False
        log.info(
            "live message %s in chat %s is gone; sending it anew", message_id, message.chat_id
        )
        sent = await send_outgoing(bot, message)
        return sent.message_id, True
    return message_id, False
