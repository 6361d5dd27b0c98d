"""社区智囊团 for coordinators (/admin → 💬, or /suggestions): the suggestions in their reach
by status with counts; one opened shows its words, topic, date, the photo or voice note a
press away (sent to the presser alone), whom a member heard it from, and the author's name
only when signed. ✍️ Reply (typed; the author receives it, whoever they are), the status
buttons of the life-cycle table, and 🔗 what answered it (a wish, a patrol finding, an
announcement, by number).

Every press re-asks the service: a button names a suggestion's number, never a permission."""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from typing import ClassVar

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate
from bot.models import Role, SuggestionLinkKind, User
from bot.services.suggestions import Media
from bot.services.suggestions.rules import BadNumber
from handlers.buttons import Button, StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import AnyHandler, Callback, DialogueDraft, Next, dialogue, presses, step
from handlers.suggestions.buttons import (
    SuggestionLinkAsk,
    SuggestionLinkMenu,
    SuggestionList,
    SuggestionMedia,
    SuggestionMove,
    SuggestionOpen,
    SuggestionReplyAsk,
    SuggestionsMenu,
)
from handlers.suggestions.views import (
    admin_menu,
    coordinator_card,
    coordinator_list,
    link_menu,
    link_prompt,
    reply_prompt,
)

log = logging.getLogger(__name__)
Handlers = list[BaseHandler[Update, LinliContext, object]]
coordinator_step = step(Role.COORDINATOR)
_NUMBER = re.compile(r"^#?\s*(\d{1,9})$")


class SuggestionAdminDialogue(StrEnum):
    MENU = "menu"
    REPLY = "reply"  # typing a reply
    LINK = "link"  # typing the number of what answered it


class SuggestionAdminDraft(DialogueDraft):
    KEY: ClassVar[str] = "suggestion_admin"
    suggestion_id: int | None = None
    kind: SuggestionLinkKind | None = None


def _draft(context: LinliContext) -> SuggestionAdminDraft:
    draft = SuggestionAdminDraft.load(context)
    if draft.suggestion_id is None:
        raise StaleButton()
    return draft


async def _show_card(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    suggestion_id: int,
    *,
    edit: bool,
) -> Next:
    card = await context.services.suggestions.card(user, suggestion_id)
    await ack(update)
    zone = context.services.settings.zone
    await answer(update, *coordinator_card(t, card, user.language, zone), edit=edit)
    return SuggestionAdminDialogue.MENU


@coordinator_step
async def section(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    counts = await context.services.suggestions.counts(user)
    await ack(update)
    await answer(update, *admin_menu(t, counts), edit=update.callback_query is not None)
    return SuggestionAdminDialogue.MENU


@coordinator_step
async def listing(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = SuggestionList.of(update)
    page = await context.services.suggestions.listing(user, pressed.status, pressed.page)
    await ack(update)
    zone = context.services.settings.zone
    await answer(update, *coordinator_list(t, page, user.language, zone), edit=True)
    return SuggestionAdminDialogue.MENU


@coordinator_step
async def open_card(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    suggestion_id = SuggestionOpen.of(update).suggestion_id
    SuggestionAdminDraft.clear(context)
    # A new message, whether pressed on a notice or a list: both stay as they were.
    return await _show_card(update, context, user, t, suggestion_id, edit=False)


@coordinator_step
async def show_media(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """The photo or voice note, to the presser's private chat alone."""
    pressed = SuggestionMedia.of(update)
    file_id = await context.services.suggestions.media(user, pressed.suggestion_id, pressed.what)
    await ack(update)
    caption = t("Suggestion #{id}").format(id=pressed.suggestion_id)
    try:
        if file_id and pressed.what is Media.PHOTO:
            await context.bot.send_photo(user.id, file_id, caption=caption)
        elif file_id:
            await context.bot.send_voice(user.id, file_id, caption=caption)
    except TelegramError:  # a file Telegram no longer has: say so rather than stay silent
        log.warning("could not send the media of suggestion_id=%s", pressed.suggestion_id)
        await answer(update, t("That photo or voice note can no longer be shown."))
    return SuggestionAdminDialogue.MENU


@coordinator_step
async def ask_reply(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    suggestion_id = SuggestionReplyAsk.of(update).suggestion_id
    await context.services.suggestions.check_in_reach(user, suggestion_id)
    SuggestionAdminDraft(suggestion_id=suggestion_id).save(context)
    await ack(update)
    await answer(update, *reply_prompt(t, suggestion_id))
    return SuggestionAdminDialogue.REPLY


@coordinator_step
async def typed_reply(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    draft = _draft(context)
    assert draft.suggestion_id is not None
    card = await context.services.suggestions.reply(
        user, draft.suggestion_id, update.message.text or ""
    )
    SuggestionAdminDraft.clear(context)
    zone = context.services.settings.zone
    text, rows = coordinator_card(t, card, user.language, zone)
    await answer(update, t("✅ Your reply is sent.") + "\n\n" + text, rows)
    return SuggestionAdminDialogue.MENU


@coordinator_step
async def move(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = SuggestionMove.of(update)
    card = await context.services.suggestions.change(user, pressed.suggestion_id, pressed.event)
    await ack(update, t("Done. The author is told."))
    zone = context.services.settings.zone
    await answer(update, *coordinator_card(t, card, user.language, zone), edit=True)
    return SuggestionAdminDialogue.MENU


@coordinator_step
async def ask_link_kind(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    suggestion_id = SuggestionLinkMenu.of(update).suggestion_id
    await context.services.suggestions.check_in_reach(user, suggestion_id)
    await ack(update)
    await answer(update, *link_menu(t, suggestion_id), edit=True)
    return SuggestionAdminDialogue.MENU


@coordinator_step
async def ask_link(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = SuggestionLinkAsk.of(update)
    await context.services.suggestions.check_in_reach(user, pressed.suggestion_id)
    SuggestionAdminDraft(suggestion_id=pressed.suggestion_id, kind=pressed.kind).save(context)
    await ack(update)
    await answer(update, *link_prompt(t, pressed.suggestion_id, pressed.kind))
    return SuggestionAdminDialogue.LINK


@coordinator_step
async def typed_link(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    draft = _draft(context)
    assert draft.suggestion_id is not None
    if draft.kind is None:
        raise StaleButton()
    found = _NUMBER.match((update.message.text or "").strip())
    if found is None:
        raise BadNumber()
    card = await context.services.suggestions.link(
        user, draft.suggestion_id, draft.kind, int(found.group(1))
    )
    SuggestionAdminDraft.clear(context)
    zone = context.services.settings.zone
    text, rows = coordinator_card(t, card, user.language, zone)
    await answer(update, t("✅ Linked. The author is told.") + "\n\n" + text, rows)
    return SuggestionAdminDialogue.MENU


@coordinator_step
async def not_text(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await answer(update, t("Please type it in words."))
    return None


def _buttons() -> list[AnyHandler]:
    """The section's buttons that work from any message (a notice, a list, /admin)."""
    routes: list[tuple[Callback, type[Button]]] = [
        (section, SuggestionsMenu),
        (listing, SuggestionList),
        (open_card, SuggestionOpen),
        (show_media, SuggestionMedia),
        (ask_reply, SuggestionReplyAsk),
        (move, SuggestionMove),
        (ask_link_kind, SuggestionLinkMenu),
        (ask_link, SuggestionLinkAsk),
    ]
    return presses(routes)


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    other = ~filters.TEXT & ~filters.COMMAND & private
    buttons = _buttons()
    conversation = dialogue(
        "suggestion_admin",
        entry_points=[CommandHandler("suggestions", section, filters=private), *buttons],
        states={
            SuggestionAdminDialogue.MENU: buttons,
            SuggestionAdminDialogue.REPLY: [
                MessageHandler(text, typed_reply),
                MessageHandler(other, not_text),
                *buttons,
            ],
            SuggestionAdminDialogue.LINK: [
                MessageHandler(text, typed_link),
                MessageHandler(other, not_text),
                *buttons,
            ],
        },
        drafts=[SuggestionAdminDraft],
    )
    return [conversation]
