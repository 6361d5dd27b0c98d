"""What the wish handlers share: the dialogue's states, callback shapes, the wish card and list
rows, and small Telegram helpers (private replies, media, the wish wall)."""

from __future__ import annotations

import asyncio
import logging
from enum import IntEnum
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.i18n import Translate, esc, format_local
from bot.models import (
    WISH_CATEGORY_LABELS,
    WISH_STATUS_LABELS,
    Team,
    User,
    Wish,
    WishCategory,
    WishContact,
    WishStatus,
)
from bot.services.wishes import (
    WishAccess,
    card_data,
    claim_data,
    confirm_data,
    done_data,
    not_done_data,
    repost_data,
    wish_title,
)
from handlers.callbacks import data, pattern
from handlers.common import Buttons, answer, keyboard
from handlers.context import LinliContext

log = logging.getLogger(__name__)


class WishDialogue(IntEnum):
    """Every typed step of the wish features, in one conversation (see handlers/wishes.py)."""

    FOR_NAME = 1
    FOR_BUILDING = 2
    FOR_ROOM = 3
    FOR_PHONE = 4
    CATEGORY = 5
    CONTENT = 6
    WHEN = 7
    CONFIRM = 8
    NOT_DONE = 9
    THANKS = 10
    DONE_NOTE = 11
    RELEASE_REASON = 12


# Callback shapes. Those the service also puts on notifications (w:card, w:claim, w:ok, w:nd,
# w:done, w:repost, w:keep, w:tasks) are built by bot/services/wishes.py; these match them.
CARD = pattern("w", "card", "(int)")
CLAIM = pattern("w", "claim", "(int)")
TEAM_CLAIM = pattern("w", "tclaim", "(int)", "(int)")
CONFIRM = pattern("w", "ok", "(int)")
NOT_DONE = pattern("w", "nd", "(int)")
RATE = pattern("w", "rate", "(int)", "(int)")
THANK = pattern("w", "thx", "(int)")
CANCEL = pattern("w", "cancel", "(int)")
CANCEL_SURE = pattern("w", "cancel", "(int)", "yes")
REPOST = pattern("w", "repost", "(int)")
KEEP_CLOSED = pattern("w", "keep", "(int)")
DONE = pattern("w", "done", "(int)")
RELEASE = pattern("w", "rel", "(int)")
ASSIGN_MENU = pattern("w", "asg", "(int)")
ASSIGN = pattern("w", "asg", "(int)", "(int)", "(int)")
MEDIA = pattern("w", "media", "(int)")
TASKS = pattern("w", "tasks")
SKIP = pattern("w", "skip")
MINE = pattern("wm", "(int)")
LIST = pattern("wl", "(word)", "(any)")
LIST_KINDS = pattern("wl", "kinds")
# Posting dialogue.
POST_CATEGORY = pattern("wp", "cat", "(word)")
POST_WHEN = pattern("wp", "when", "(any)")
POST_BUILDING = pattern("wp", "bld", "(int)")
POST_SKIP = pattern("wp", "skip")
POST_SEND = pattern("wp", "send")
POST_DROP = pattern("wp", "drop")


def category_label(t: Translate, category: WishCategory) -> str:
    return t(WISH_CATEGORY_LABELS[category])


def status_label(t: Translate, status: WishStatus) -> str:
    return t(WISH_STATUS_LABELS[status])


def list_label(t: Translate, wish: Wish, *, with_status: bool = False) -> str:
    """One button's text: number, urgency, kind or status, title (plain text)."""
    mark = "🆘 " if wish.urgent else ""
    middle = status_label(t, wish.status) if with_status else category_label(t, wish.category)
    return f"#{wish.id} {mark}{middle} · {wish_title(wish, t, 28)}"


def card_text(
    t: Translate,
    wish: Wish,
    *,
    language: str,
    zone: ZoneInfo,
    contact: WishContact | None = None,
) -> str:
    """The wish card. Contact details only when the caller passes them (claimer, coordinator)."""
    head = (
        t("🆘 <b>Urgent request #{id}</b>").format(id=wish.id)
        if wish.urgent
        else t("<b>Wish #{id}</b> — {category}").format(
            id=wish.id, category=category_label(t, wish.category)
        )
    )
    lines = [head]
    if wish.text:
        lines.append(esc(wish.text))
    if wish.photo_file_id:
        lines.append(t("📷 There is a photo."))
    if wish.voice_file_id:
        lines.append(t("🎤 There is a voice note."))
    lines.append("")
    if wish.is_proxy:
        lines.append(
            t("For: {name} (posted by {poster})").format(
                name=esc(wish.for_name), poster=esc(wish.poster_name or "")
            )
        )
    else:
        lines.append(t("From: {name}").format(name=esc(wish.poster_name or "")))
    if wish.building_name:
        lines.append(t("Building: {name}").format(name=esc(wish.building_name)))
    lines.append(t("Posted: {when}").format(when=format_local(wish.created_at, language, zone)))
    if wish.needed_by:
        lines.append(
            t("Needed by: {when}").format(when=format_local(wish.needed_by, language, zone))
        )
    lines.append(t("Status: {status}").format(status=status_label(t, wish.status)))
    if wish.claimed_by is not None:
        who = wish.claimer_name or ""
        if wish.team_name:
            who = f"{wish.team_name} ({who})"
        lines.append(t("Helper: {name}").format(name=esc(who)))
    if wish.done_note:
        lines.append(t("Helper's note: {note}").format(note=esc(wish.done_note)))
    if wish.rating:
        lines.append(t("Rating: {stars}").format(stars="★" * wish.rating))
    if wish.thanks:
        lines.append(t("Thank-you: {words}").format(words=esc(wish.thanks)))
    if contact is not None:
        lines.append("")
        lines.append(t("<b>Contact</b> (only you can see this)"))
        lines.append(t("Name: {name}").format(name=esc(contact.name)))
        if contact.building_name:
            lines.append(t("Building: {name}").format(name=esc(contact.building_name)))
        lines.append(t("Room: {room}").format(room=esc(contact.room or t("not given"))))
        lines.append(t("Phone: {phone}").format(phone=esc(contact.phone or t("not given"))))
    return "\n".join(lines)


def card_buttons(
    t: Translate, wish: Wish, viewer: User, access: WishAccess, teams: list[Team]
) -> Buttons:
    """The buttons of a card for this viewer. Each is re-checked by the service when pressed."""
    rows: list[list[tuple[str, str]]] = []
    status = wish.status
    owns, handles = access.owns, access.handles
    if owns:
        if status == WishStatus.OPEN:
            rows.append([(t("Cancel this wish"), data("w", "cancel", wish.id))])
        elif status == WishStatus.DONE:
            rows.append([(t("Yes, it is done"), confirm_data(wish.id))])
            rows.append([(t("No, not done yet"), not_done_data(wish.id))])
        elif status == WishStatus.CONFIRMED:
            if wish.rating is None:
                rows.append(stars_row(wish.id))
            if wish.thanks is None:
                rows.append([(t("Write a thank-you"), data("w", "thx", wish.id))])
        elif status == WishStatus.EXPIRED:
            rows.append([(t("Post it again"), repost_data(wish.id))])
    elif status == WishStatus.OPEN and viewer.is_member:
        rows.append([(t("I will help"), claim_data(wish.id))])
        for team in teams[:3]:
            rows.append(
                [
                    (
                        t("Help with {team}").format(team=team.name),
                        data("w", "tclaim", wish.id, team.id),
                    )
                ]
            )
    if handles and status == WishStatus.CLAIMED:
        rows.append([(t("Report done"), done_data(wish.id))])
    if access.releases and status == WishStatus.CLAIMED:
        rows.append([(t("Give it back"), data("w", "rel", wish.id))])
    if access.leads and status in (WishStatus.CLAIMED, WishStatus.DONE):
        rows.append([(t("Choose who takes part"), data("w", "asg", wish.id))])
    if handles and (wish.photo_file_id or wish.voice_file_id):
        rows.append([(t("Show the photo / voice note"), data("w", "media", wish.id))])
    return rows


def stars_row(wish_id: int) -> list[tuple[str, str]]:
    return [("★" * n, data("w", "rate", wish_id, n)) for n in range(1, 6)]


def card_button(t: Translate, wish_id: int) -> tuple[str, str]:
    return (t("Details"), card_data(wish_id))


async def to_private(
    update: Update, context: LinliContext, user: User, text: str, buttons: Buttons = ()
) -> None:
    """Reply in the user's private chat (a button may have been pressed in the members' group,
    where contact details must never appear)."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        await answer(update, text, buttons)
        return
    try:
        await context.bot.send_message(
            user.id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(buttons),
            disable_web_page_preview=True,
        )
    except Forbidden:
        log.info("user_id=%s has not started a private chat", user.id)


async def send_media(context: LinliContext, user: User, wish: Wish, t: Translate) -> None:
    """The wish's photo and voice note, to the helper's private chat."""
    caption = t("Wish #{id}").format(id=wish.id)
    try:
        if wish.photo_file_id:
            await context.bot.send_photo(user.id, wish.photo_file_id, caption=caption)
        if wish.voice_file_id:
            await context.bot.send_voice(user.id, wish.voice_file_id, caption=caption)
    except TelegramError:
        log.warning("could not send the media of wish_id=%s to user_id=%s", wish.id, user.id)


WALL_RETRIES = 5


async def refresh_wall(update: Update | None, context: LinliContext, wish_id: int) -> None:
    """Edit the wish wall post to show the wish's state; harmless when there is no wall or
    nothing changed. A post still queued is rewritten in the outbox; one being sent right now
    is edited a moment later, once its message id is known."""
    post = await context.services.wishes.wall_post(wish_id)
    if post is None:
        return
    message_id = post.message_id
    query = update.callback_query if update is not None else None
    pressed = query.message if query is not None else None
    if message_id is None and pressed is not None and pressed.chat.id == post.chat_id:
        message_id = pressed.message_id
    if message_id is None:
        if post.in_flight:
            context.application.create_task(_refresh_wall_later(context, wish_id))
        return
    await _edit_wall(context, wish_id, post.chat_id, message_id, post.text, post.buttons)


async def _refresh_wall_later(context: LinliContext, wish_id: int) -> None:
    for attempt in range(WALL_RETRIES):
        await asyncio.sleep(0.5 * (attempt + 1))
        post = await context.services.wishes.wall_post(wish_id)
        if post is None or not post.in_flight:
            if post is not None and post.message_id is not None:
                await _edit_wall(
                    context, wish_id, post.chat_id, post.message_id, post.text, post.buttons
                )
            return
    log.warning("wish wall post of wish_id=%s stayed in flight; not edited", wish_id)


async def _edit_wall(
    context: LinliContext,
    wish_id: int,
    chat_id: int,
    message_id: int,
    text: str,
    buttons: Buttons,
) -> None:
    try:
        await context.bot.edit_message_text(
            text,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(buttons),
            disable_web_page_preview=True,
        )
    except BadRequest as exc:
        if "not modified" not in str(exc):
            log.warning("wish wall edit failed wish_id=%s: %s", wish_id, exc)
    except TelegramError as exc:
        log.warning("wish wall edit failed wish_id=%s: %s", wish_id, exc)


def arg_id(text: str | None) -> int | None:
    """A wish number typed by hand ("12" or "#12")."""
    value = (text or "").strip().lstrip("#")
    # isascii: "①".isdigit() is True but int() refuses it
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None
