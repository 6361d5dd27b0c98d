"""Posting a wish: /wish, /urgent, and /wish_for (a member or coordinator posting for a
resident without a phone: the shared person steps ask their name, building, room and phone;
a registered household of twinning the poster may post for is one tap, its details filled in).

Built for the fewest taps: the wish itself first (words, a photo or a voice note), then one
card to check it, with the kind of help guessed from the words and "no hurry" as the date —
"✅ Post it" is the only other tap needed; 🏷 and 🕒 change the guess; ✖ Cancel on every step."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc, format_local
from bot.models import User, WishCategory
from bot.services.text import trim_text
from bot.services.wishes import (
    TEXT_MAX,
    WishDraft,
    needed_by_choice,
    parse_needed_by,
    suggest_category,
)
from handlers.buttons import StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Handlers, Next, step
from handlers.person_steps import PersonSteps, Who
from handlers.wishes.buttons import (
    PostBack,
    PostBuilding,
    PostCategory,
    PostChange,
    PostDrop,
    PostForHousehold,
    PostForOther,
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
    return await _ask_content(update, t)


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
        _cancel_row(t),
    )
    return WishDialogue.CONTENT


@step()
async def start_for(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await context.services.wishes.check_can_post(user, proxy=True)
    PostingDraft(proxy=True).save(context)
    households = await context.services.twinning.proxy_households(user)
    if households:
        rows = [
            [(f"{h.name} · {h.building_name or ''}", PostForHousehold(household_id=h.id).pack())]
            for h in households
        ]
        rows.append([(t("Someone else"), PostForOther().pack())])
        await answer(
            update,
            t(
                "You are posting a wish <b>on behalf of</b> a resident without a phone.\n"
                "For which household? Or type the name of someone else."
            ),
            rows + _cancel_row(t),
        )
        return WishDialogue.FOR_NAME
    await answer(
        update,
        t(
            "You are posting a wish <b>on behalf of</b> a resident without a phone.\n"
            "What is their name?"
        ),
        _cancel_row(t),
    )
    return WishDialogue.FOR_NAME


@step()
async def for_household(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """A registered household chosen: its name, building, room and phone as the twinning
    service gives them to this poster (a paired member, a coordinator in reach), then the
    wish itself."""
    contact = await context.services.twinning.contact(
        user, PostForHousehold.of(update).household_id
    )
    await ack(update)
    PostingDraft.change(
        context,
        for_name=contact.name,
        for_building_id=contact.building_id,
        for_room=contact.room,
        for_phone=contact.phone,
    )
    await answer(update, t("On behalf of: {name}").format(name=esc(contact.name)), edit=True)
    return await _ask_content(update, t)


@step()
async def for_someone_else(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> Next:
    await ack(update)
    await PERSON.ask_name(update, t, edit=True)
    return WishDialogue.FOR_NAME


async def begin_with_content(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    *,
    text: str | None = None,
    photo: str | None = None,
    voice: str | None = None,
    edit: bool = False,
) -> Next:
    """A wish whose content came first (a voice note or photo sent outside any dialogue,
    offered as a wish in one tap): straight to the card to check and post."""
    await context.services.wishes.check_can_post(user)
    PostingDraft(
        text=trim_text(text, TEXT_MAX, required=False),
        photo=photo,
        voice=voice,
        category=suggest_category(text) or WishCategory.OTHER,
    ).save(context)
    return await _show_card(update, context, user, t, edit=edit)


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
    return await _ask_content(update, t)


PERSON = PersonSteps(
    who=Who.OTHER,
    building=PostBuilding,
    skip_room=PostSkip,
    skip_phone=PostSkip,
    cancel=PostDrop,
    on_name=_named,
    on_building=_housed,
    on_room=_roomed,
    on_phone=_phoned,
)


# --- the wish itself: its words, photo or voice first; then one card to check and post ----


def _cancel_row(t: Translate) -> list[list[tuple[str, str]]]:
    return [[(t("✖ Cancel"), PostDrop().pack())]]


async def _ask_content(update: Update, t: Translate) -> Next:
    await answer(
        update,
        t(
            "🙋 <b>Your micro-wish</b>\nWhat would you like help with? Type a few words, send a "
            "photo, or hold the microphone and say it in a voice note."
        ),
        _cancel_row(t),
    )
    return WishDialogue.CONTENT


@step()
async def typed_content(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    message = update.message
    assert message is not None
    draft = PostingDraft.load(context)
    if message.photo:
        draft.photo = message.photo[-1].file_id
        draft.text = trim_text(message.caption, TEXT_MAX, required=False)
    elif message.voice:
        draft.voice = message.voice.file_id
    else:
        draft.text = trim_text(message.text, TEXT_MAX, required=True)
    if not draft.urgent and draft.category is WishCategory.OTHER:
        draft.category = suggest_category(draft.text) or WishCategory.OTHER
    draft.save(context)
    return await _show_card(update, context, user, t)


@step()
async def more_content(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """More said while the card is shown ("and also…"): added to the wish, not lost — words
    joined to the words, a photo or voice note in place of the one before — and the card
    shown again."""
    message = update.message
    assert message is not None
    draft = PostingDraft.load(context)
    if message.photo:
        draft.photo = message.photo[-1].file_id
    elif message.voice:
        draft.voice = message.voice.file_id
    added = message.caption if message.photo else message.text
    if added and added.strip():
        joined = "\n".join(part for part in (draft.text, added.strip()) if part)
        draft.text = trim_text(joined, TEXT_MAX, required=True)
    draft.save(context)
    return await _show_card(update, context, user, t)


@step()
async def wrong_content(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    """A sticker, file, video… where words, a photo or a voice note were asked for."""
    await answer(
        update,
        t("I can take words, a photo or a voice note. Please send one of those."),
        _cancel_row(t),
    )
    return None


def _card(t: Translate, draft: PostingDraft, user: User, context: LinliContext) -> str:
    wish = draft.wish()
    settings = context.services.settings
    lines = [
        t("🆘 <b>Urgent request — please check</b>")
        if wish.urgent
        else t("<b>Please check your micro-wish</b>")
    ]
    if wish.text:
        lines.append(esc(wish.text))
    lines += media_lines(t, wish)
    if not wish.urgent:
        lines.append("")
        lines.append(t("Kind of help: {kind}").format(kind=category_label(t, wish.category)))
        if wish.needed_by:
            when = format_local(wish.needed_by, user.language, settings.zone)
            lines.append(t("Needed by: {when}").format(when=when))
        else:
            lines.append(t("When: no hurry"))
    if wish.is_proxy:
        lines.append(t("On behalf of: {name}").format(name=esc(wish.for_name)))
    return "\n".join(lines)


def _card_buttons(t: Translate, draft: PostingDraft) -> list[list[tuple[str, str]]]:
    rows = [[(t("✅ Post it"), PostSend().pack()), (t("✖ Cancel"), PostDrop().pack())]]
    if not draft.urgent:
        rows.append(
            [
                (t("🏷 Kind of help"), PostChange(part="category").pack()),
                (t("🕒 By when"), PostChange(part="when").pack()),
            ]
        )
    return rows


async def _show_card(
    update: Update, context: LinliContext, user: User, t: Translate, *, edit: bool = False
) -> Next:
    draft = PostingDraft.load(context)
    if not draft.wish().has_content:  # e.g. a dialogue left at an older release's first step
        return await _ask_content(update, t)
    await answer(update, _card(t, draft, user, context), _card_buttons(t, draft), edit=edit)
    return WishDialogue.CONFIRM


@step()
async def change_part(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    """🏷 / 🕒 on the card: the choices in place of the card, with a way back."""
    part = PostChange.of(update).part
    await ack(update)
    back = [(t("↩ Back"), PostBack().pack())]
    if part == "category":
        cats = list(WishCategory)
        rows = [
            [(category_label(t, c), PostCategory(category=c).pack()) for c in cats[i : i + 2]]
            for i in range(0, len(cats), 2)
        ]
        await answer(update, t("What kind of help is it?"), [*rows, back], edit=True)
        return WishDialogue.CATEGORY
    if part != "when":
        raise StaleButton()
    await answer(
        update,
        t("By when do you need it? Choose below, or type a date such as 12-24 or 12-24 15:30."),
        [
            [(t("No hurry"), PostWhen(choice="none").pack())],
            [
                (t("Today"), PostWhen(choice="today").pack()),
                (t("Tomorrow"), PostWhen(choice="tomorrow").pack()),
            ],
            [
                (t("Within 3 days"), PostWhen(choice="3days").pack()),
                (t("Within a week"), PostWhen(choice="week").pack()),
            ],
            back,
        ],
        edit=True,
    )
    return WishDialogue.WHEN


@step()
async def chose_category(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    PostingDraft.change(context, category=PostCategory.of(update).category)
    await ack(update)
    return await _show_card(update, context, user, t, edit=True)


@step()
async def back_to_card(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    return await _show_card(update, context, user, t, edit=True)


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
    return await _show_card(update, context, user, t, edit=True)


@step()
async def typed_when(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    services = context.services
    draft = PostingDraft.load(context)
    draft.needed_by = parse_needed_by(
        update.message.text or "", services.clock.now(), services.settings.zone
    )
    draft.save(context)
    return await _show_card(update, context, user, t)


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
            "✅ Your micro-wish #{id} is posted. We will tell you when a member takes it on. "
            "You can follow it with “📋 My wishes” below."
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
    drop = CallbackQueryHandler(drop_wish, pattern=PostDrop.pattern())  # ✖ on every step
    steps: dict[WishDialogue, Handlers] = {
        WishDialogue.FOR_NAME: [
            *PERSON.name_handlers(),
            CallbackQueryHandler(for_household, pattern=PostForHousehold.pattern()),
            CallbackQueryHandler(for_someone_else, pattern=PostForOther.pattern()),
        ],
        WishDialogue.FOR_BUILDING: PERSON.building_handlers(),
        WishDialogue.FOR_ROOM: PERSON.room_handlers(),
        WishDialogue.FOR_PHONE: PERSON.phone_handlers(),
        WishDialogue.CONTENT: [
            MessageHandler(text | content, typed_content),
            MessageHandler(private & ~filters.COMMAND, wrong_content),
        ],
        WishDialogue.CONFIRM: [
            CallbackQueryHandler(send_wish, pattern=PostSend.pattern()),
            CallbackQueryHandler(change_part, pattern=PostChange.pattern()),
            MessageHandler(text | content, more_content),
        ],
        WishDialogue.CATEGORY: [
            CallbackQueryHandler(chose_category, pattern=PostCategory.pattern()),
            CallbackQueryHandler(back_to_card, pattern=PostBack.pattern()),
        ],
        WishDialogue.WHEN: [
            CallbackQueryHandler(chose_when, pattern=PostWhen.pattern()),
            CallbackQueryHandler(back_to_card, pattern=PostBack.pattern()),
            MessageHandler(text, typed_when),
        ],
    }
    return {state: [drop, *handlers] for state, handlers in steps.items()}
