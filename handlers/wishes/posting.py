"""Posting a wish: /wish, /urgent, and /wish_for (a member or coordinator posting for a
resident without a phone: the shared person steps ask their name, building, room and phone).
Kind of help → the wish (words, a photo or a voice note) → by when → check and post."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc, format_local
from bot.models import User, WishCategory
from bot.services.wishes import (
    TEXT_MAX,
    WishDraft,
    clean_text,
    needed_by_choice,
    parse_needed_by,
)
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Handlers, Next, step
from handlers.person_steps import PersonSteps, Who
from handlers.wishes.buttons import (
    PostBuilding,
    PostCategory,
    PostDrop,
    PostSend,
    PostSkip,
    PostWhen,
)
from handlers.wishes.views import WishDialogue, category_label, media_lines


class PostingDraft(DialogueDraft):
    """What the posting dialogue has collected so far."""

    KEY: ClassVar[str] = "wish_draft"
    category: WishCategory = WishCategory.OTHER
    text: str | None = None
    photo: str | None = None
    voice: str | None = None
    needed_by: datetime | None = None
    urgent: bool = False
    proxy: bool = False
    for_name: str | None = None
    for_building_id: int | None = None
    for_room: str | None = None
    for_phone: str | None = None

    def wish(self) -> WishDraft:
        return WishDraft(
            category=self.category,
            text=self.text,
            photo_file_id=self.photo,
            voice_file_id=self.voice,
            needed_by=self.needed_by,
            urgent=self.urgent,
            for_name=self.for_name if self.proxy else None,
            for_building_id=self.for_building_id,
            for_room=self.for_room,
            for_phone=self.for_phone,
        )


# --- starting ------------------------------------------------------------------------------


@step()
async def start_wish(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await context.services.wishes.check_can_post(user)
    PostingDraft().save(context)
    return await _ask_category(update, t)


@step()
async def start_urgent(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await context.services.wishes.check_can_post(user)
    PostingDraft(urgent=True).save(context)
    await answer(
        update,
        t(
            "🆘 <b>Urgent help</b>\nWhat do you need right now? Type it, or send a voice note "
            "or a photo. Members in your building are told at once.\n"
            "In an emergency, please also call 120 (ambulance), 119 (fire) or 110 (police)."
        ),
    )
    return WishDialogue.CONTENT


@step()
async def start_for(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await context.services.wishes.check_can_post(user, proxy=True)
    PostingDraft(proxy=True).save(context)
    await answer(
        update,
        t(
            "You are posting a wish <b>on behalf of</b> a resident without a phone.\n"
            "What is their name?"
        ),
    )
    return WishDialogue.FOR_NAME


# --- on someone's behalf: the shared person steps ------------------------------------------


async def _named(
    update: Update, context: LinliContext, user: User | None, t: Translate, name: str
) -> Next:
    PostingDraft.change(context, for_name=name)
    community = context.services.wishes.proxy_community(user) if user else None
    if await PERSON.ask_building(update, context, t, community):
        return WishDialogue.FOR_BUILDING
    await PERSON.ask_room(update, t)
    return WishDialogue.FOR_ROOM


async def _housed(
    update: Update, context: LinliContext, _user: User | None, t: Translate, building: int | None
) -> Next:
    PostingDraft.change(context, for_building_id=building)
    await PERSON.ask_room(update, t)
    return WishDialogue.FOR_ROOM


async def _roomed(
    update: Update, context: LinliContext, _user: User | None, t: Translate, room: str | None
) -> Next:
    PostingDraft.change(context, for_room=room)
    await PERSON.ask_phone(update, t)
    return WishDialogue.FOR_PHONE


async def _phoned(
    update: Update, context: LinliContext, _user: User | None, t: Translate, phone: str | None
) -> Next:
    PostingDraft.change(context, for_phone=phone)
    return await _ask_category(update, t)


PERSON = PersonSteps(
    who=Who.OTHER,
    building=PostBuilding,
    skip_room=PostSkip,
    skip_phone=PostSkip,
    on_name=_named,
    on_building=_housed,
    on_room=_roomed,
    on_phone=_phoned,
)


# --- the wish itself -----------------------------------------------------------------------


async def _ask_category(update: Update, t: Translate) -> Next:
    cats = list(WishCategory)
    rows = [
        [(category_label(t, c), PostCategory(category=c).pack()) for c in cats[i : i + 2]]
        for i in range(0, len(cats), 2)
    ]
    await answer(update, t("What kind of help is it?"), rows)
    return WishDialogue.CATEGORY


@step()
async def chose_category(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    category = PostCategory.of(update).category
    PostingDraft.change(context, category=category)
    await ack(update)
    await answer(
        update, t("Kind of help: {kind}").format(kind=category_label(t, category)), edit=True
    )
    await answer(
        update,
        t(
            "Please tell us your wish: type a few words, send a photo (you can add words to "
            "it), or send a voice note."
        ),
    )
    return WishDialogue.CONTENT


@step()
async def typed_content(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    message = update.message
    assert message is not None
    draft = PostingDraft.load(context)
    if message.photo:
        draft.photo = message.photo[-1].file_id
        draft.text = clean_text(message.caption, TEXT_MAX, required=False)
    elif message.voice:
        draft.voice = message.voice.file_id
    else:
        draft.text = clean_text(message.text, TEXT_MAX)
    draft.save(context)
    if draft.urgent:
        return await _confirm(update, context, user, t)
    await answer(
        update,
        t("By when do you need it? Choose below, or type a date such as 12-24 or 12-24 15:30."),
        [
            [
                (t("Today"), PostWhen(choice="today").pack()),
                (t("Tomorrow"), PostWhen(choice="tomorrow").pack()),
            ],
            [
                (t("Within 3 days"), PostWhen(choice="3days").pack()),
                (t("Within a week"), PostWhen(choice="week").pack()),
            ],
            [(t("No particular date"), PostWhen(choice="none").pack())],
        ],
    )
    return WishDialogue.WHEN


@step()
async def wrong_content(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    """A sticker, file, video… where words, a photo or a voice note were asked for."""
    await answer(update, t("I can take words, a photo or a voice note. Please send one of those."))
    return None


@step()
async def chose_when(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    choice = PostWhen.of(update).choice
    services = context.services
    draft = PostingDraft.load(context)
    draft.needed_by = (
        None
        if choice == "none"
        else needed_by_choice(choice, services.clock.now(), services.settings.zone)
    )
    draft.save(context)
    await ack(update)
    return await _confirm(update, context, user, t)


@step()
async def typed_when(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    services = context.services
    draft = PostingDraft.load(context)
    draft.needed_by = parse_needed_by(
        update.message.text or "", services.clock.now(), services.settings.zone
    )
    draft.save(context)
    return await _confirm(update, context, user, t)


async def _confirm(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish = PostingDraft.load(context).wish()
    settings = context.services.settings
    lines = [
        t("🆘 <b>Urgent request — please check</b>")
        if wish.urgent
        else t("<b>Please check your wish</b>")
    ]
    if not wish.urgent:
        lines.append(t("Kind of help: {kind}").format(kind=category_label(t, wish.category)))
    if wish.text:
        lines.append(esc(wish.text))
    lines += media_lines(t, wish)
    if wish.needed_by:
        when = format_local(wish.needed_by, user.language, settings.zone)
        lines.append(t("Needed by: {when}").format(when=when))
    if wish.is_proxy:
        lines.append(t("On behalf of: {name}").format(name=esc(wish.for_name)))
    await answer(
        update,
        "\n".join(lines),
        [[(t("Post it"), PostSend().pack()), (t("Cancel"), PostDrop().pack())]],
    )
    return WishDialogue.CONFIRM


@step()
async def send_wish(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish = await context.services.wishes.post(user, PostingDraft.load(context).wish())
    await ack(update)
    if wish.urgent:
        text = t(
            "🆘 Your urgent request #{id} has been sent. Members nearby are being told now; "
            "if nobody answers soon, the coordinators will be told too."
        ).format(id=wish.id)
    else:
        text = t(
            "Your wish #{id} is posted. We will tell you when someone takes it on. "
            "You can follow it in /mywishes."
        ).format(id=wish.id)
    await answer(update, text, edit=True)
    return END


@step()
async def drop_wish(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Cancelled. Nothing was posted."), edit=True)
    return END


# --- wiring (handlers/wishes/__init__.py puts these into the one wish conversation) ---------


def entry_points() -> Handlers:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("wish", start_wish, filters=private),
        CommandHandler("urgent", start_urgent, filters=private),
        CommandHandler("wish_for", start_for, filters=private),
    ]


def states() -> dict[WishDialogue, Handlers]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    content = (filters.PHOTO | filters.VOICE) & private
    return {
        WishDialogue.FOR_NAME: PERSON.name_handlers(),
        WishDialogue.FOR_BUILDING: PERSON.building_handlers(),
        WishDialogue.FOR_ROOM: PERSON.room_handlers(),
        WishDialogue.FOR_PHONE: PERSON.phone_handlers(),
        WishDialogue.CATEGORY: [
            CallbackQueryHandler(chose_category, pattern=PostCategory.pattern())
        ],
        WishDialogue.CONTENT: [
            MessageHandler(text | content, typed_content),
            MessageHandler(private & ~filters.COMMAND, wrong_content),
        ],
        WishDialogue.WHEN: [
            CallbackQueryHandler(chose_when, pattern=PostWhen.pattern()),
            MessageHandler(text, typed_when),
        ],
        WishDialogue.CONFIRM: [
            CallbackQueryHandler(send_wish, pattern=PostSend.pattern()),
            CallbackQueryHandler(drop_wish, pattern=PostDrop.pattern()),
        ],
    }
