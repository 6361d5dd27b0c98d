"""Residents' side of wishes: /wish, /urgent, /wish_for (on someone's behalf), /mywishes;
cancel, confirm or "not done", rate and thank, post an expired wish again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc, format_local
from bot.models import User, WishCategory, WishEventKind
from bot.services.errors import InvalidInput, LinliError
from bot.services.users import clean_name, clean_phone, clean_room
from bot.services.wishes import (
    TEXT_MAX,
    WishDraft,
    clean_text,
    needed_by_choice,
    parse_needed_by,
)
from handlers.common import END, ack, answer, as_user, refuse, require_user
from handlers.context import LinliContext
from handlers.wishes.buttons import (
    CancelWish,
    CancelWishSure,
    ConfirmDone,
    KeepClosed,
    MoreOfMine,
    NotDoneYet,
    PostBuilding,
    PostCategory,
    PostDrop,
    PostSend,
    PostSkip,
    PostWhen,
    RateWish,
    RepostWish,
    ShowWish,
    WriteThanks,
)
from handlers.wishes.views import (
    WishDialogue,
    card_button,
    category_label,
    list_label,
    stars_row,
)

Handlers = list[BaseHandler[Update, LinliContext, object]]
DRAFT = "wish_draft"


def _draft(context: LinliContext) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault(DRAFT, {})
    return draft


# --- posting -------------------------------------------------------------------------------


@as_user()
async def start_wish(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    try:
        await context.services.wishes.check_can_post(user)
    except LinliError as error:
        await refuse(update, t, error)
        return END
    _draft(context).clear()
    return await _ask_category(update, t)


@as_user()
async def start_urgent(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    try:
        await context.services.wishes.check_can_post(user)
    except LinliError as error:
        await refuse(update, t, error)
        return END
    draft = _draft(context)
    draft.clear()
    draft.update(urgent=True, category=WishCategory.OTHER.value)
    await answer(
        update,
        t(
            "🆘 <b>Urgent help</b>\nWhat do you need right now? Type it, or send a voice note "
            "or a photo. Members in your building are told at once.\n"
            "In an emergency, please also call 120 (ambulance), 119 (fire) or 110 (police)."
        ),
    )
    return WishDialogue.CONTENT


@as_user()
async def start_for(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    try:
        await context.services.wishes.check_can_post(user, proxy=True)
    except LinliError as error:
        await refuse(update, t, error)
        return END
    draft = _draft(context)
    draft.clear()
    draft["proxy"] = True
    await answer(
        update,
        t(
            "You are posting a wish <b>on behalf of</b> a resident without a phone.\n"
            "What is their name?"
        ),
    )
    return WishDialogue.FOR_NAME


@as_user()
async def typed_for_name(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    assert update.message is not None
    try:
        _draft(context)["for_name"] = clean_name(update.message.text or "")
    except LinliError as error:
        await refuse(update, t, error)
        return WishDialogue.FOR_NAME
    buildings = await context.services.users.buildings()
    if not buildings:
        return await _ask_room(update, t)
    rows = [[(b.name, PostBuilding(building_id=b.id).pack())] for b in buildings[:30]]
    await answer(update, t("Which building do they live in?"), rows)
    return WishDialogue.FOR_BUILDING


@as_user()
async def chose_for_building(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> int:
    building_id = PostBuilding.of(update).building_id
    building = await context.services.users.building(building_id)
    if building is None or building.archived:
        await ack(update, t("Please choose a building from the list."), alert=True)
        return WishDialogue.FOR_BUILDING
    await ack(update)
    _draft(context)["for_building_id"] = building_id
    await answer(update, t("Building: {name}").format(name=esc(building.name)), edit=True)
    return await _ask_room(update, t)


async def _ask_room(update: Update, t: Translate) -> int:
    await answer(
        update,
        t("Their room number, for example 3-201? Only the helper will see it."),
        [[(t("Skip"), PostSkip().pack())]],
    )
    return WishDialogue.FOR_ROOM


@as_user()
async def typed_for_room(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    assert update.message is not None
    try:
        _draft(context)["for_room"] = clean_room(update.message.text or "")
    except LinliError as error:
        await refuse(update, t, error)
        return WishDialogue.FOR_ROOM
    return await _ask_phone(update, t)


@as_user()
async def skipped_for_room(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> int:
    await ack(update)
    _draft(context)["for_room"] = None
    return await _ask_phone(update, t)


async def _ask_phone(update: Update, t: Translate) -> int:
    await answer(
        update,
        t(
            "A phone number to reach them (a family member's is fine)? "
            "Only the helper will see it."
        ),
        [[(t("Skip"), PostSkip().pack())]],
    )
    return WishDialogue.FOR_PHONE


@as_user()
async def typed_for_phone(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    assert update.message is not None
    try:
        _draft(context)["for_phone"] = clean_phone(update.message.text or "")
    except LinliError as error:
        await refuse(update, t, error)
        return WishDialogue.FOR_PHONE
    return await _ask_category(update, t)


@as_user()
async def skipped_for_phone(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> int:
    await ack(update)
    _draft(context)["for_phone"] = None
    return await _ask_category(update, t)


async def _ask_category(update: Update, t: Translate) -> int:
    cats = list(WishCategory)
    rows = [
        [(category_label(t, c), PostCategory(category=c).pack()) for c in cats[i : i + 2]]
        for i in range(0, len(cats), 2)
    ]
    await answer(update, t("What kind of help is it?"), rows)
    return WishDialogue.CATEGORY


@as_user()
async def chose_category(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    category = PostCategory.of(update).category
    await ack(update)
    _draft(context)["category"] = category.value
    await answer(
        update,
        t("Kind of help: {kind}").format(kind=category_label(t, category)),
        edit=True,
    )
    await answer(
        update,
        t(
            "Please tell us your wish: type a few words, send a photo (you can add words to "
            "it), or send a voice note."
        ),
    )
    return WishDialogue.CONTENT


@as_user()
async def typed_content(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    message = update.message
    assert message is not None
    draft = _draft(context)
    try:
        if message.photo:
            draft["photo"] = message.photo[-1].file_id
            draft["text"] = clean_text(message.caption, TEXT_MAX, required=False)
        elif message.voice:
            draft["voice"] = message.voice.file_id
        else:
            draft["text"] = clean_text(message.text, TEXT_MAX)
    except LinliError as error:
        await refuse(update, t, error)
        return WishDialogue.CONTENT
    if draft.get("urgent"):
        return await _confirm(update, context, t)
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


@as_user()
async def wrong_content(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    """A sticker, file, video… where words, a photo or a voice note were asked for."""
    await answer(
        update,
        t("I can take words, a photo or a voice note. Please send one of those."),
    )
    return WishDialogue.CONTENT


@as_user()
async def chose_when(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    choice = PostWhen.of(update).choice
    services = context.services
    draft = _draft(context)
    try:
        if choice == "none":
            draft["needed_by"] = None
        else:
            moment = needed_by_choice(choice, services.clock.now(), services.settings.zone)
            draft["needed_by"] = moment.isoformat()
    except LinliError as error:
        await refuse(update, t, error)
        return WishDialogue.WHEN
    await ack(update)
    return await _confirm(update, context, t)


@as_user()
async def typed_when(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    assert update.message is not None
    services = context.services
    try:
        moment = parse_needed_by(
            update.message.text or "", services.clock.now(), services.settings.zone
        )
    except LinliError as error:
        await refuse(update, t, error)
        return WishDialogue.WHEN
    _draft(context)["needed_by"] = moment.isoformat()
    return await _confirm(update, context, t)


def _wish_draft(draft: dict[str, Any]) -> WishDraft:
    needed = draft.get("needed_by")
    return WishDraft(
        category=WishCategory(draft.get("category", WishCategory.OTHER.value)),
        text=draft.get("text"),
        photo_file_id=draft.get("photo"),
        voice_file_id=draft.get("voice"),
        needed_by=datetime.fromisoformat(needed) if needed else None,
        urgent=bool(draft.get("urgent")),
        for_name=draft.get("for_name") if draft.get("proxy") else None,
        for_building_id=draft.get("for_building_id"),
        for_room=draft.get("for_room"),
        for_phone=draft.get("for_phone"),
    )


async def _confirm(update: Update, context: LinliContext, t: Translate) -> int:
    found = await require_user(update, context)
    if found is None:
        return END
    user, _ = found
    wish = _wish_draft(_draft(context))
    zone = context.services.settings.zone
    lines = [
        t("🆘 <b>Urgent request — please check</b>")
        if wish.urgent
        else t("<b>Please check your wish</b>")
    ]
    if not wish.urgent:
        lines.append(t("Kind of help: {kind}").format(kind=category_label(t, wish.category)))
    if wish.text:
        lines.append(esc(wish.text))
    if wish.photo_file_id:
        lines.append(t("📷 There is a photo."))
    if wish.voice_file_id:
        lines.append(t("🎤 There is a voice note."))
    if wish.needed_by:
        lines.append(
            t("Needed by: {when}").format(when=format_local(wish.needed_by, user.language, zone))
        )
    if wish.is_proxy:
        lines.append(t("On behalf of: {name}").format(name=esc(wish.for_name)))
    await answer(
        update,
        "\n".join(lines),
        [[(t("Post it"), PostSend().pack()), (t("Cancel"), PostDrop().pack())]],
    )
    return WishDialogue.CONFIRM


@as_user()
async def send_wish(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    try:
        wish = await context.services.wishes.post(user, _wish_draft(_draft(context)))
    except LinliError as error:
        await refuse(update, t, error)
        return WishDialogue.CONFIRM
    await ack(update)
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)
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


@as_user()
async def drop_wish(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    await ack(update)
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)
    await answer(update, t("Cancelled. Nothing was posted."), edit=True)
    return END


# --- my wishes -----------------------------------------------------------------------------


async def my_wishes(update: Update, context: LinliContext) -> None:
    found = await require_user(update, context)
    if found is None:
        return
    user, t = found
    before = MoreOfMine.of(update).before if update.callback_query is not None else 0
    page = await context.services.wishes.mine(user, before=before or None)
    await ack(update)
    if not page.wishes:
        await answer(
            update,
            t("You have not posted any wishes yet. Send /wish to post one.")
            if not before
            else t("There are no more wishes."),
        )
        return
    rows = [
        [(list_label(t, w, with_status=True), ShowWish(wish_id=w.id).pack())] for w in page.wishes
    ]
    if page.next_before:
        rows.append([(t("More ›"), MoreOfMine(before=page.next_before).pack())])
    await answer(
        update,
        t("<b>My wishes</b>\nChoose one to see it, cancel it or confirm it."),
        rows,
        edit=update.callback_query is not None and bool(before),
    )


async def ask_cancel(update: Update, context: LinliContext) -> None:
    found = await require_user(update, context)
    if found is None:
        return
    user, t = found
    wish_id = CancelWish.of(update).wish_id
    try:
        await context.services.wishes.check_move(user, wish_id, WishEventKind.CANCELLED)
    except LinliError as error:
        await refuse(update, t, error)
        return
    await ack(update)
    await answer(
        update,
        t("Cancel wish #{id}? Helpers will no longer see it.").format(id=wish_id),
        [[(t("Yes, cancel it"), CancelWishSure(wish_id=wish_id).pack()), card_button(t, wish_id)]],
    )


async def cancel_wish(update: Update, context: LinliContext) -> None:
    found = await require_user(update, context)
    if found is None:
        return
    user, t = found
    wish_id = CancelWishSure.of(update).wish_id
    try:
        await context.services.wishes.cancel(user, wish_id)
    except LinliError as error:
        await refuse(update, t, error)
        return
    await ack(update)
    await answer(update, t("Wish #{id} is cancelled.").format(id=wish_id), edit=True)


async def confirm_done(update: Update, context: LinliContext) -> None:
    found = await require_user(update, context)
    if found is None:
        return
    user, t = found
    wish_id = ConfirmDone.of(update).wish_id
    try:
        await context.services.wishes.confirm(user, wish_id)
    except LinliError as error:
        await refuse(update, t, error)
        return
    await ack(update)
    await answer(
        update,
        t("Thank you for confirming wish #{id}! How would you rate the help?").format(id=wish_id),
        [stars_row(wish_id)],
    )


async def rate(update: Update, context: LinliContext) -> None:
    found = await require_user(update, context)
    if found is None:
        return
    user, t = found
    pressed = RateWish.of(update)
    wish_id, stars = pressed.wish_id, pressed.stars
    try:
        await context.services.wishes.rate(user, wish_id, stars)
    except LinliError as error:
        await refuse(update, t, error)
        return
    await ack(update)
    await answer(
        update,
        t("You gave {stars}. Would you like to write a few words of thanks?").format(
            stars="★" * stars
        ),
        [
            [(t("Write a thank-you"), WriteThanks(wish_id=wish_id).pack())],
            [(t("No, that is all"), KeepClosed(wish_id=wish_id).pack())],
        ],
        edit=True,
    )


@as_user()
async def ask_thanks(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    wish_id = WriteThanks.of(update).wish_id
    try:
        await context.services.wishes.check_move(user, wish_id, WishEventKind.THANKED)
    except LinliError as error:
        await refuse(update, t, error)
        return END
    await ack(update)
    _draft(context).clear()
    _draft(context)["wish_id"] = wish_id
    await answer(update, t("Please write your thank-you. The helper will receive it."))
    return WishDialogue.THANKS


@as_user()
async def typed_thanks(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert update.message is not None
    wish_id = int(_draft(context).get("wish_id", 0))
    try:
        await context.services.wishes.thank(user, wish_id, update.message.text or "")
    except LinliError as error:
        await refuse(update, t, error)
        return WishDialogue.THANKS if isinstance(error, InvalidInput) else END
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)
    await answer(update, t("Thank you! Your words have been sent."))
    return END


@as_user()
async def ask_not_done(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    wish_id = NotDoneYet.of(update).wish_id
    try:
        await context.services.wishes.check_move(user, wish_id, WishEventKind.NOT_DONE)
    except LinliError as error:
        await refuse(update, t, error)
        return END
    await ack(update)
    _draft(context).clear()
    _draft(context)["wish_id"] = wish_id
    await answer(
        update,
        t("What is not done yet? Your words go back to the helper."),
    )
    return WishDialogue.NOT_DONE


@as_user()
async def typed_not_done(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert update.message is not None
    wish_id = int(_draft(context).get("wish_id", 0))
    try:
        await context.services.wishes.not_done(user, wish_id, update.message.text or "")
    except LinliError as error:
        await refuse(update, t, error)
        return WishDialogue.NOT_DONE if isinstance(error, InvalidInput) else END
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)
    await answer(update, t("Thank you. We have told the helper; they will have another look."))
    return END


async def repost(update: Update, context: LinliContext) -> None:
    found = await require_user(update, context)
    if found is None:
        return
    user, t = found
    wish_id = RepostWish.of(update).wish_id
    try:
        wish = await context.services.wishes.repost(user, wish_id)
    except LinliError as error:
        await refuse(update, t, error)
        return
    await ack(update)
    await answer(
        update,
        t("Posted again as wish #{id}. We will tell you when someone takes it on.").format(
            id=wish.id
        ),
        edit=True,
    )


async def keep_closed(update: Update, context: LinliContext) -> None:
    found = await require_user(update, context)
    if found is None:
        return
    _, t = found
    await ack(update)
    await answer(update, t("All right. Thank you!"), edit=True)


# --- wiring (handlers/wishes.py puts these into the one wish conversation) -----------------


def entry_points() -> Handlers:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("wish", start_wish, filters=private),
        CommandHandler("urgent", start_urgent, filters=private),
        CommandHandler("wish_for", start_for, filters=private),
        CallbackQueryHandler(ask_thanks, pattern=WriteThanks.pattern()),
        CallbackQueryHandler(ask_not_done, pattern=NotDoneYet.pattern()),
    ]


def states() -> dict[object, Handlers]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    content = (filters.PHOTO | filters.VOICE) & private
    return {
        WishDialogue.FOR_NAME: [MessageHandler(text, typed_for_name)],
        WishDialogue.FOR_BUILDING: [
            CallbackQueryHandler(chose_for_building, pattern=PostBuilding.pattern())
        ],
        WishDialogue.FOR_ROOM: [
            MessageHandler(text, typed_for_room),
            CallbackQueryHandler(skipped_for_room, pattern=PostSkip.pattern()),
        ],
        WishDialogue.FOR_PHONE: [
            MessageHandler(text, typed_for_phone),
            CallbackQueryHandler(skipped_for_phone, pattern=PostSkip.pattern()),
        ],
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
        WishDialogue.THANKS: [MessageHandler(text, typed_thanks)],
        WishDialogue.NOT_DONE: [MessageHandler(text, typed_not_done)],
    }


def buttons() -> Handlers:
    """Buttons that work from any message, inside a dialogue or not."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("mywishes", my_wishes, filters=private),
        CallbackQueryHandler(my_wishes, pattern=MoreOfMine.pattern()),
        CallbackQueryHandler(cancel_wish, pattern=CancelWishSure.pattern()),
        CallbackQueryHandler(ask_cancel, pattern=CancelWish.pattern()),
        CallbackQueryHandler(confirm_done, pattern=ConfirmDone.pattern()),
        CallbackQueryHandler(rate, pattern=RateWish.pattern()),
        CallbackQueryHandler(repost, pattern=RepostWish.pattern()),
        CallbackQueryHandler(keep_closed, pattern=KeepClosed.pattern()),
    ]
