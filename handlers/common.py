"""What every handler needs: who is talking, in which language, and how to answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ConversationHandler

from bot.i18n import Translate, esc, pick_language, translator
from bot.models import User
from bot.services.errors import LinliError
from handlers.context import LinliContext

Buttons = Sequence[Sequence[tuple[str, str]]]
END = ConversationHandler.END
# The press answered last in this task: an update's handlers and its error handler run in one
# task, and Telegram refuses a second answer to a press, so `ack` answers each press once.
_answered: ContextVar[str | None] = ContextVar("answered_press", default=None)
# A reply keyboard to put under this update's next plain message, and what to do once it is
# sent (handlers/home.py offers the home keyboard when the user's roles changed).
_offered: ContextVar[tuple[ReplyKeyboardMarkup, Callable[[], None]] | None] = ContextVar(
    "offered_reply_keyboard", default=None
)


def clipped(text: str, limit: int) -> str:
    """`text` escaped, its first `limit` characters and "…" when longer. Cut before escaping:
    a cut through the escaped text could split an entity such as &amp; in half."""
    return esc(text if len(text) <= limit else text[:limit] + "…")


def media_lines(
    t: Translate, *, photo: bool, voice: bool, place: bool = False, prefix: str = ""
) -> list[str]:
    """What a report or suggestion came with, on one line: "📷 a photo · 🔊 a voice note"."""
    shown = []
    if photo:
        shown.append(t("📷 a photo"))
    if voice:
        shown.append(t("🔊 a voice note"))
    if place:
        shown.append(t("📍 a location"))
    return [prefix + " · ".join(shown)] if shown else []


def offered_reply_keyboard() -> ReplyKeyboardMarkup | None:
    """The reply keyboard offered for this update that no answer has carried yet."""
    offered = _offered.get()
    return offered[0] if offered is not None else None


def offer_reply_keyboard(offer: tuple[ReplyKeyboardMarkup, Callable[[], None]] | None) -> None:
    """Put this keyboard under the next message this update answers with that has no keyboard
    of its own (none, if it has none), and call its function when it went; None: no offer."""
    _offered.set(offer)


def keyboard(rows: Buttons) -> InlineKeyboardMarkup | None:
    """Inline keyboard from rows of (label, callback_data); URLs when data starts with http."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, url=value)
                if value.startswith(("http://", "https://"))
                else InlineKeyboardButton(label, callback_data=value)
                for label, value in row
            ]
            for row in rows
            if row
        ]
    )


def language_of(update: Update, context: LinliContext, user: User | None = None) -> str:
    if user is not None:
        return user.language
    tg_user = update.effective_user
    return pick_language(
        tg_user.language_code if tg_user else None, context.services.settings.default_language
    )


async def viewer(update: Update, context: LinliContext) -> tuple[User | None, Translate]:
    """The registered user behind this update (or None) and the translator for their language."""
    tg_user = update.effective_user
    user = await context.services.users.get(tg_user.id) if tg_user else None
    return user, translator(language_of(update, context, user))


async def answer(
    update: Update,
    text: str,
    buttons: Buttons = (),
    *,
    reply_keyboard: ReplyKeyboardMarkup | None = None,
    remove_keyboard: bool = False,
    edit: bool = False,
) -> Message | None:
    """Reply in the chat of the update (HTML). `edit` rewrites the pressed message instead."""
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
    markup = keyboard(buttons)
    offered = _offered.get()
    if reply_keyboard is not None:
        markup = reply_keyboard
        _offered.set(None)  # a keyboard of its own: what was offered is superseded
    elif remove_keyboard:
        markup = ReplyKeyboardRemove()
    elif markup is None and offered is not None and not edit:
        markup = offered[0]
    query = update.callback_query
    chat = update.effective_chat
    private = chat is not None and chat.type == ChatType.PRIVATE
    if (
        edit
        and private
        and query is not None
        and query.message is not None
        and isinstance(query.message, Message)
    ):
        try:
            result = await query.message.edit_text(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(buttons),
                disable_web_page_preview=True,
            )
        except BadRequest as exc:
            if "not modified" not in str(exc):
                raise
            return None
        return result if isinstance(result, Message) else None
    if chat is None:
        return None
    if not private and query is not None and update.effective_user is not None:
        # A button pressed in a group (the wish wall): the answer is the presser's alone, and
        # no group message is ever rewritten by it, whatever the button's data claimed.
        try:
            return await query.get_bot().send_message(
                update.effective_user.id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
            )
        except Forbidden:
            return None  # they have not started a private chat with the bot
    sent = await chat.send_message(
        text, parse_mode=ParseMode.HTML, reply_markup=markup, disable_web_page_preview=True
    )
    if offered is not None and markup is offered[0]:
        _offered.set(None)
        offered[1]()
    return sent


async def ack(update: Update, text: str | None = None, *, alert: bool = False) -> bool:
    """Answer a pressed button (stops the spinner), optionally with a notice. A press is
    answered once: False (and nothing sent) when there is no press or it was answered already."""
    query = update.callback_query
    if query is None or _answered.get() == query.id:
        return False
    _answered.set(query.id)
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:
        if "query is too old" not in str(exc).lower():
            raise
        return False  # pressed long ago (the bot was away): the press still counts
    return True


async def refuse(update: Update, t: Translate, error: LinliError) -> None:
    """Tell the user why nothing happened, in their language: a pop-up for a pressed button
    (plain text, at most 200 characters), else a message (HTML, so values are escaped)."""
    message = t(error.message)
    if update.callback_query is not None:
        text = message.format(**error.values) if error.values else message
        if await ack(update, text[:200], alert=True):
            return
        # the press was answered already (a step refused after it): say it in the chat
    values = {k: esc(v) if isinstance(v, str) else v for k, v in error.values.items()}
    await answer(update, message.format(**values) if values else message)


async def leave_for_command(update: Update, context: LinliContext) -> int:
    """Another command during a dialogue: leave the dialogue, then let that command run as if
    no dialogue had been open (so typed answers never land in the wrong dialogue). Every
    ConversationHandler has this as its last command fallback."""
    context.application.create_task(context.application.process_update(update), update=update)
    return END
