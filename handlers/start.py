"""/start: onboarding in private chat — language, name, building, room, phone."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import LANGUAGES, Translate, esc, translator
from bot.services.errors import InvalidInput, LinliError
from bot.services.users import clean_name, clean_room
from handlers.callbacks import data, pattern
from handlers.common import END, ack, answer, language_of, leave_for_command, refuse, viewer
from handlers.context import LinliContext
from handlers.help import cancel, help_text


class Onboarding(IntEnum):
    LANGUAGE = 1
    NAME = 2
    BUILDING = 3
    ROOM = 4
    PHONE = 5


LANGUAGE_LABELS = {"zh": "中文", "en": "English"}
NO_BUILDING = 0


def _draft(context: LinliContext) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault("onboarding", {})
    return draft


async def start(update: Update, context: LinliContext) -> int:
    user, t = await viewer(update, context)
    if user is not None:
        await answer(
            update,
            t("Welcome back, {name}!").format(name=esc(user.display_name))
            + "\n\n"
            + help_text(t, user),
        )
        return END
    language = language_of(update, context)
    _draft(context).clear()
    _draft(context)["language"] = language
    ordered = sorted(LANGUAGES, key=lambda code: code != language)
    await answer(
        update,
        "欢迎来到邻里！请选择语言。\nWelcome to Linli! Please choose your language.",
        [[(LANGUAGE_LABELS[code], data("start", "lang", code)) for code in ordered]],
    )
    return Onboarding.LANGUAGE


async def chose_language(update: Update, context: LinliContext) -> int:
    assert update.callback_query is not None and context.matches
    language = context.matches[0].group(1)
    if language not in LANGUAGES:
        await ack(update)
        return Onboarding.LANGUAGE
    _draft(context)["language"] = language
    await ack(update)
    t = translator(language)
    await answer(update, t("What should we call you? Please type your name."), edit=True)
    return Onboarding.NAME


async def typed_name(update: Update, context: LinliContext) -> int:
    assert update.message is not None and update.message.text is not None
    t = translator(_draft(context).get("language", "zh"))
    try:
        name = clean_name(update.message.text)
    except LinliError as error:
        await refuse(update, t, error)
        return Onboarding.NAME
    _draft(context)["name"] = name
    return await _ask_building(update, context, t)


async def _ask_building(update: Update, context: LinliContext, t: Translate) -> int:
    buildings = await context.services.users.buildings()
    if not buildings:
        _draft(context)["building_id"] = None
        return await _ask_room(update, t)
    rows = [[(b.name, data("start", "bld", b.id))] for b in buildings]
    rows.append([(t("My building is not listed"), data("start", "bld", NO_BUILDING))])
    await answer(update, t("Which building do you live in?"), rows)
    return Onboarding.BUILDING


async def chose_building(update: Update, context: LinliContext) -> int:
    assert update.callback_query is not None and context.matches
    t = translator(_draft(context).get("language", "zh"))
    building_id = int(context.matches[0].group(1))
    if building_id != NO_BUILDING:
        building = await context.services.users.building(building_id)
        if building is None or building.archived:
            await refuse(update, t, InvalidInput(InvalidInput.message))
            return Onboarding.BUILDING
        _draft(context)["building_id"] = building_id
        chosen = building.name
    else:
        _draft(context)["building_id"] = None
        chosen = t("not listed")
    await ack(update)
    await answer(update, t("Building: {name}").format(name=esc(chosen)), edit=True)
    return await _ask_room(update, t)


async def _ask_room(update: Update, t: Translate) -> int:
    await answer(
        update,
        t("Your room number, for example 3-201? Only the member who helps you will see it."),
        [[(t("Skip"), data("start", "skip", "room"))]],
    )
    return Onboarding.ROOM


async def typed_room(update: Update, context: LinliContext) -> int:
    assert update.message is not None and update.message.text is not None
    t = translator(_draft(context).get("language", "zh"))
    try:
        _draft(context)["room"] = clean_room(update.message.text)
    except LinliError as error:
        await refuse(update, t, error)
        return Onboarding.ROOM
    return await _ask_phone(update, t)


async def skipped_room(update: Update, context: LinliContext) -> int:
    t = translator(_draft(context).get("language", "zh"))
    _draft(context)["room"] = None
    await ack(update)
    return await _ask_phone(update, t)


async def _ask_phone(update: Update, t: Translate) -> int:
    chat = update.effective_chat
    assert chat is not None
    markup = ReplyKeyboardMarkup(
        [[KeyboardButton(t("Share my phone number"), request_contact=True)], [t("Skip")]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await chat.send_message(
        t(
            "May we have your phone number? Only the member who helps you and the coordinators "
            "will see it."
        ),
        reply_markup=markup,
        parse_mode=ParseMode.HTML,
    )
    return Onboarding.PHONE


async def shared_contact(update: Update, context: LinliContext) -> int:
    assert update.message is not None and update.message.contact is not None
    t = translator(_draft(context).get("language", "zh"))
    contact = update.message.contact
    tg_user = update.effective_user
    if tg_user is None or contact.user_id != tg_user.id:
        await answer(update, t("Please share your own number with the button below."))
        return Onboarding.PHONE
    return await _finish(update, context, contact.phone_number)


async def typed_phone_text(update: Update, context: LinliContext) -> int:
    assert update.message is not None and update.message.text is not None
    t = translator(_draft(context).get("language", "zh"))
    if update.message.text.strip() == t("Skip"):
        return await _finish(update, context, None)
    await answer(update, t("Please use the buttons below: share your number, or skip."))
    return Onboarding.PHONE


async def _finish(update: Update, context: LinliContext, phone: str | None) -> int:
    draft = _draft(context)
    t = translator(draft.get("language", "zh"))
    tg_user = update.effective_user
    assert tg_user is not None
    try:
        user = await context.services.users.register(
            tg_user.id,
            display_name=draft.get("name", tg_user.first_name),
            language=draft.get("language", "zh"),
            building_id=draft.get("building_id"),
            room=draft.get("room"),
            phone=phone,
        )
    except LinliError as error:
        await refuse(update, t, error)
        return Onboarding.PHONE
    assert context.user_data is not None
    context.user_data.pop("onboarding", None)
    await answer(
        update,
        t("Thank you, {name}! You are registered.").format(name=esc(user.display_name)),
        remove_keyboard=True,
    )
    await answer(update, help_text(t, user))
    return END


async def use_buttons(update: Update, context: LinliContext) -> int | None:
    """Text where a button was expected: say so and stay in the same step."""
    t = translator(_draft(context).get("language", language_of(update, context)))
    await answer(update, t("Please choose with the buttons above."))
    return None


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    conversation: ConversationHandler[LinliContext] = ConversationHandler(
        entry_points=[CommandHandler("start", start, filters=private)],
        states={
            Onboarding.LANGUAGE: [
                CallbackQueryHandler(chose_language, pattern=pattern("start", "lang", "(word)"))
            ],
            Onboarding.NAME: [MessageHandler(text, typed_name)],
            Onboarding.BUILDING: [
                CallbackQueryHandler(chose_building, pattern=pattern("start", "bld", "(int)"))
            ],
            Onboarding.ROOM: [
                MessageHandler(text, typed_room),
                CallbackQueryHandler(skipped_room, pattern=pattern("start", "skip", "room")),
            ],
            Onboarding.PHONE: [
                MessageHandler(filters.CONTACT & private, shared_contact),
                MessageHandler(text, typed_phone_text),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CommandHandler("start", start, filters=private),
            MessageHandler(filters.COMMAND & private, leave_for_command),
            MessageHandler(private & ~filters.COMMAND, use_buttons),
        ],
        name="onboarding",
        persistent=True,
        allow_reentry=True,
    )
    return [conversation]
