"""Patrol findings (巡查发现): a member on a shift reports what they saw — /finding, or 🔎 on
their checked-in shift's card — as words, a photo, a voice note and a location, in any order,
then ✅ Send. The coordinators above the place get it with its photo, voice note and location a
press away (sent to the presser alone), ✅ Handled, and 🙋 Turn into a wish: one tap makes a
wish offered to the members who can help. /findings lists the open ones in a coordinator's
reach.

Every step re-asks the service: a button names a shift or a finding, never a permission. The
draft's token names the one finding, so a send pressed twice reports it once."""

from __future__ import annotations

import logging
import secrets
from enum import StrEnum
from typing import ClassVar

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate
from bot.models import Role, User
from bot.services.patrol.findings import FindingDraft, PatrolSpot, clean_words
from handlers.buttons import StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step
from handlers.patrol.finding_buttons import (
    FindingDone,
    FindingDrop,
    FindingMedia,
    FindingOpen,
    FindingSend,
    FindingsList,
    FindingStart,
    FindingToWish,
    Media,
)
from handlers.patrol.findings_views import (
    ask_prompt,
    card_view,
    check_card,
    media_caption,
    open_list,
    sent_text,
)

log = logging.getLogger(__name__)
Handlers = list[BaseHandler[Update, LinliContext, object]]
member_step = step(Role.MEMBER)
coordinator_step = step(Role.COORDINATOR)


class FindingDialogue(StrEnum):
    WHAT = "what"  # words, a photo, a voice note, a location; then ✅ Send


class FindingForm(DialogueDraft):
    KEY: ClassVar[str] = "finding"
    slot_id: int | None = None
    post_name: str = ""
    text: str | None = None
    voice_file_id: str | None = None
    photo_file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    token: str = ""  # names this one finding: the service makes it once

    @property
    def has_content(self) -> bool:
        return bool(self.text or self.photo_file_id or self.voice_file_id)


# --- reporting ---------------------------------------------------------------------------------


async def _begin(update: Update, context: LinliContext, t: Translate, spot: PatrolSpot) -> Next:
    FindingForm(slot_id=spot.slot_id, post_name=spot.post_name, token=secrets.token_hex(8)).save(
        context
    )
    await ack(update)
    await answer(update, *ask_prompt(t, spot.post_name))
    return FindingDialogue.WHAT


@member_step
async def start_command(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/finding: from the shift the member is checked in to now."""
    return await _begin(update, context, t, await context.services.findings.current_spot(user))


@member_step
async def start_button(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """🔎 on a checked-in shift's card: that shift, checked again."""
    slot_id = FindingStart.of(update).slot_id
    return await _begin(
        update, context, t, await context.services.findings.check_can_report(user, slot_id)
    )


def _form(context: LinliContext) -> FindingForm:
    form = FindingForm.load(context)
    if form.slot_id is None or not form.token:
        raise StaleButton()
    return form


@member_step
async def added(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """Words, a photo (its caption joined to the words), a voice note or a location: added to
    the finding — a new photo or voice note in place of the one before — and the card shown."""
    message = update.message
    assert message is not None
    form = _form(context)
    if message.location is not None:
        form.latitude = message.location.latitude
        form.longitude = message.location.longitude
    if message.photo:
        form.photo_file_id = message.photo[-1].file_id
    if message.voice is not None:
        form.voice_file_id = message.voice.file_id
    said = message.caption if (message.photo or message.voice) else message.text
    if said and said.strip():
        form.text = clean_words("\n".join(part for part in (form.text, said.strip()) if part))
    form.save(context)
    if not form.has_content:  # a location alone: ask for what was seen
        await answer(update, *ask_prompt(t, form.post_name))
        return None
    await answer(
        update,
        *check_card(
            t,
            post_name=form.post_name,
            words=form.text,
            photo=form.photo_file_id is not None,
            voice=form.voice_file_id is not None,
            place=form.latitude is not None,
            token=form.token,
        ),
    )
    return None


@member_step
async def not_content(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    _form(context)
    await answer(
        update,
        t("I can take words, a photo, a voice note or a location. Please send one of those."),
    )
    return None


@member_step
async def send(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = _form(context)
    if FindingSend.of(update).token != form.token or form.slot_id is None:
        raise StaleButton()  # the card of an earlier finding
    draft = FindingDraft(
        text=form.text,
        voice_file_id=form.voice_file_id,
        photo_file_id=form.photo_file_id,
        latitude=form.latitude,
        longitude=form.longitude,
    )
    await context.services.findings.report(user, form.slot_id, draft, token=form.token)
    await ack(update, t("Sent."))
    await answer(update, sent_text(t), edit=True)
    return END


@member_step
async def drop(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Cancelled. Nothing was reported."), edit=True)
    return END


# --- for coordinators --------------------------------------------------------------------------


@coordinator_step
async def open_findings(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/findings, or the open findings from a coordinator's menu."""
    cards = await context.services.findings.open_findings(user)
    await ack(update)
    zone = context.services.settings.zone
    await answer(update, *open_list(t, cards, user.language, zone))
    return None


@coordinator_step
async def open_card(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    card = await context.services.findings.finding(user, FindingOpen.of(update).finding_id)
    await ack(update)
    await answer(update, *card_view(t, card))
    return None


@coordinator_step
async def show_media(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """The photo, voice note or location, to the presser's private chat alone."""
    pressed = FindingMedia.of(update)
    card = await context.services.findings.finding(user, pressed.finding_id)
    finding = card.finding
    await ack(update)
    caption = media_caption(t, card)
    try:
        if pressed.what is Media.PHOTO and finding.photo_file_id:
            await context.bot.send_photo(
                user.id, finding.photo_file_id, caption=caption, parse_mode=ParseMode.HTML
            )
        elif pressed.what is Media.VOICE and finding.voice_file_id:
            await context.bot.send_voice(
                user.id, finding.voice_file_id, caption=caption, parse_mode=ParseMode.HTML
            )
        elif (
            pressed.what is Media.PLACE
            and finding.latitude is not None
            and finding.longitude is not None
        ):
            await context.bot.send_location(user.id, finding.latitude, finding.longitude)
    except TelegramError:  # a file Telegram no longer has: say so rather than stay silent
        log.warning("could not send the media of finding_id=%s", finding.id)
        await answer(update, t("That photo or voice note can no longer be shown."))
    return None


@coordinator_step
async def mark_handled(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    card = await context.services.findings.mark_handled(user, FindingDone.of(update).finding_id)
    await ack(update, t("Marked handled. The member who reported it is told."))
    await answer(update, *card_view(t, card), edit=True)
    return None


@coordinator_step
async def to_wish(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    finding_id = FindingToWish.of(update).finding_id
    card, wish = await context.services.findings.to_wish(user, finding_id)
    await ack(update, t("Micro-wish #{id} posted.").format(id=wish.id))
    await answer(update, *card_view(t, card), edit=True)
    return None


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    content = (
        (filters.TEXT & ~filters.COMMAND) | filters.PHOTO | filters.VOICE | filters.LOCATION
    ) & private
    drop_button = CallbackQueryHandler(drop, pattern=FindingDrop.pattern())
    conversation = dialogue(
        "finding",
        entry_points=[
            CommandHandler("finding", start_command, filters=private),
            CallbackQueryHandler(start_button, pattern=FindingStart.pattern()),
        ],
        states={
            FindingDialogue.WHAT: [
                MessageHandler(content, added),
                CallbackQueryHandler(send, pattern=FindingSend.pattern()),
                drop_button,
                MessageHandler(~filters.COMMAND & private, not_content),
            ],
        },
        drafts=[FindingForm],
    )
    return [
        conversation,
        CommandHandler("findings", open_findings, filters=private),
        CallbackQueryHandler(open_findings, pattern=FindingsList.pattern()),
        CallbackQueryHandler(open_card, pattern=FindingOpen.pattern()),
        CallbackQueryHandler(show_media, pattern=FindingMedia.pattern()),
        CallbackQueryHandler(mark_handled, pattern=FindingDone.pattern()),
        CallbackQueryHandler(to_wish, pattern=FindingToWish.pattern()),
    ]
