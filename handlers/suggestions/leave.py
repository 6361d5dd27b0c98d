"""/suggest (💬 on the home keyboard): leave a view or suggestion — a topic, then words, a
photo (with its caption) or a voice note, then signed or anonymous, then a card to check and
✅ Send. A member may instead write down one heard from a resident face to face (the
resident's name or room first); the staff's replies then come to the member. "📋 My
suggestions" shows the author's own, with the replies and what was done.

Every step re-asks the service; the draft's token names the one suggestion, so a send pressed
twice leaves it once."""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import ClassVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate
from bot.models import Role, SuggestionTopic, User
from bot.services.suggestions import SuggestionDraft, clean_heard_from, clean_words
from bot.services.suggestions.rules import EmptySuggestion
from handlers.buttons import StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step
from handlers.suggestions.buttons import (
    MySuggestions,
    SuggestDrop,
    SuggestNew,
    SuggestSend,
    SuggestSign,
    SuggestTopic,
)
from handlers.suggestions.views import (
    check_card,
    content_prompt,
    heard_from_prompt,
    menu,
    mine_view,
    sent_text,
    sign_prompt,
    topic_prompt,
)

Handlers = list[BaseHandler[Update, LinliContext, object]]
anyone_step = step(Role.RESIDENT)


class SuggestDialogue(StrEnum):
    MENU = "menu"
    HEARD_FROM = "heard_from"  # a member types whom they heard it from
    TOPIC = "topic"
    WHAT = "what"  # words, a photo or a voice note
    SIGN = "sign"  # signed or anonymous
    CHECK = "check"  # the card, then ✅ Send


class SuggestForm(DialogueDraft):
    KEY: ClassVar[str] = "suggest"
    token: str = ""  # names this one suggestion: the service makes it once
    heard_from: str | None = None
    topic: SuggestionTopic | None = None
    text: str | None = None
    photo_file_id: str | None = None
    voice_file_id: str | None = None
    anonymous: bool = False


def _form(context: LinliContext) -> SuggestForm:
    form = SuggestForm.load(context)
    if not form.token:
        raise StaleButton()
    return form


@anyone_step
async def start(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    SuggestForm.clear(context)
    await ack(update)
    await answer(update, *menu(t, member=user.is_member))
    return SuggestDialogue.MENU


@anyone_step
async def begin(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    face = SuggestNew.of(update).face
    form = SuggestForm(token=secrets.token_hex(8))
    if face:
        context.services.suggestions.check_can_record(user)  # refused in a pop-up
    await ack(update)
    if face:
        form.save(context)
        await answer(update, *heard_from_prompt(t))
        return SuggestDialogue.HEARD_FROM
    form.save(context)
    await answer(update, *topic_prompt(t))
    return SuggestDialogue.TOPIC


@anyone_step
async def heard_from(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    form = _form(context)
    context.services.suggestions.check_can_record(user)
    form.heard_from = clean_heard_from(update.message.text)
    form.save(context)
    await answer(update, *topic_prompt(t))
    return SuggestDialogue.TOPIC


@anyone_step
async def topic(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = _form(context)
    form.topic = SuggestTopic.of(update).topic
    form.save(context)
    await ack(update)
    await answer(update, *content_prompt(t, form.topic))
    return SuggestDialogue.WHAT


@anyone_step
async def content(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """Words, a photo (its caption is the words) or a voice note; checked before it is kept."""
    message = update.message
    assert message is not None
    form = _form(context)
    if message.photo:
        words = clean_words(message.caption)
        form.photo_file_id, form.voice_file_id = message.photo[-1].file_id, None
    elif message.voice is not None:
        words = None
        form.voice_file_id, form.photo_file_id = message.voice.file_id, None
    else:
        words = clean_words(message.text)
        if words is None:
            raise EmptySuggestion()
        form.photo_file_id = form.voice_file_id = None
    form.text = words
    form.save(context)
    voice = form.voice_file_id is not None
    await answer(update, *sign_prompt(t, user.display_name, voice=voice))
    return SuggestDialogue.SIGN


@anyone_step
async def not_content(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """A sticker, a video, a file…: say what is taken, and stay."""
    _form(context)
    await answer(update, t("I can take words, a photo or a voice note. Please send one of those."))
    return None


@anyone_step
async def not_words(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    _form(context)
    await answer(update, t("Please type the resident's name or room."))
    return None


@anyone_step
async def signed(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = _form(context)
    if form.topic is None:
        raise StaleButton()
    form.anonymous = SuggestSign.of(update).anonymous
    form.save(context)
    await ack(update)
    await answer(
        update,
        *check_card(
            t,
            topic=form.topic,
            words=form.text,
            photo=form.photo_file_id is not None,
            voice=form.voice_file_id is not None,
            anonymous=form.anonymous,
            name=user.display_name,
            heard_from=form.heard_from,
            token=form.token,
        ),
    )
    return SuggestDialogue.CHECK


@anyone_step
async def send(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = _form(context)
    if SuggestSend.of(update).token != form.token or form.topic is None:
        raise StaleButton()  # the card of an earlier suggestion
    draft = SuggestionDraft(
        topic=form.topic,
        text=form.text,
        photo_file_id=form.photo_file_id,
        voice_file_id=form.voice_file_id,
        anonymous=form.anonymous,
        heard_from=form.heard_from,
    )
    await context.services.suggestions.submit(user, draft, token=form.token)
    await ack(update, t("Sent."))
    await answer(update, sent_text(t), edit=True)
    return END


@anyone_step
async def drop(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Cancelled. Nothing was sent."), edit=True)
    return END


@anyone_step
async def mine(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """📋 My suggestions: the author's own, newest first, a page at a time."""
    page = MySuggestions.of(update).page
    found = await context.services.suggestions.mine(user, page)
    await ack(update)
    zone = context.services.settings.zone
    await answer(update, *mine_view(t, found, user.language, zone))
    return None


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    words = filters.TEXT & ~filters.COMMAND & private
    said = (words | filters.PHOTO | filters.VOICE) & private
    other = ~filters.COMMAND & private
    drop_button = CallbackQueryHandler(drop, pattern=SuggestDrop.pattern())
    begin_button = CallbackQueryHandler(begin, pattern=SuggestNew.pattern())
    conversation = dialogue(
        "suggest",
        entry_points=[
            CommandHandler("suggest", start, filters=private),
            begin_button,
        ],
        states={
            SuggestDialogue.MENU: [begin_button],
            SuggestDialogue.HEARD_FROM: [
                MessageHandler(words, heard_from),
                drop_button,
                MessageHandler(other, not_words),
            ],
            SuggestDialogue.TOPIC: [
                CallbackQueryHandler(topic, pattern=SuggestTopic.pattern()),
                drop_button,
            ],
            SuggestDialogue.WHAT: [
                MessageHandler(said, content),
                drop_button,
                MessageHandler(other, not_content),
            ],
            SuggestDialogue.SIGN: [
                CallbackQueryHandler(signed, pattern=SuggestSign.pattern()),
                drop_button,
            ],
            SuggestDialogue.CHECK: [
                CallbackQueryHandler(send, pattern=SuggestSend.pattern()),
                drop_button,
            ],
        },
        drafts=[SuggestForm],
    )
    return [conversation, CallbackQueryHandler(mine, pattern=MySuggestions.pattern())]
