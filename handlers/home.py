"""The home screen: a persistent keyboard of a few large buttons per role, the /help card of
buttons, and the command menu of each member's and coordinator's own chat.

A big button is its command, nothing else: pressing "📋 我的心愿" (or the same button on the
/help card) is handled as if "/mywishes" had been typed — by the same handlers, with the same
role checks, leaving any open dialogue the way a command does. So no feature knows about the
buttons, and a button can never do what its command would not.

The menus: Telegram shows the default scope's commands (the residents') to everyone; a member's
or coordinator's chat gets its own list (BotCommandScopeChat), set after an update of theirs
whenever their roles or language differ from what their chat was last given.
"""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.i18n import LANGUAGES, Translate, translator
from bot.models import Role, User
from handlers.buttons import Button, StaleButton, button
from handlers.commands import BY_NAME, COMMANDS, commands_for
from handlers.common import ack, answer, offer_reply_keyboard, offered_reply_keyboard, viewer
from handlers.context import LinliContext

log = logging.getLogger(__name__)

MENU_KEY = "menu"  # user_data: the roles and language their chat's command menu was set for
HOME_KEY = "home"  # user_data: ... and their home keyboard was last sent for
RESIDENTS = frozenset({Role.RESIDENT})
PER_ROW = 2  # big buttons: two to a row stay readable with a phone's large fonts


@button("home")
class HelpCardButton(Button):
    """A command's button on the /help card."""

    command: str


# --- the keyboard ---------------------------------------------------------------------------


def home_rows(t: Translate, roles: frozenset[Role]) -> list[list[str]]:
    """The home keyboard's labels for these roles, two to a row (residents' first)."""
    labels = [
        t(c.label)
        for c in commands_for(roles)
        if c.home and c.label and (c.home_for is None or c.home_for in roles)
    ]
    return [labels[i : i + PER_ROW] for i in range(0, len(labels), PER_ROW)]


def home_keyboard(t: Translate, roles: frozenset[Role]) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label) for label in row] for row in home_rows(t, roles)],
        resize_keyboard=True,
        is_persistent=True,
    )


async def show_home(update: Update, context: LinliContext, user: User, text: str) -> None:
    """Say `text` with the home keyboard under it (after registration, /cancel, or a step
    that had put another keyboard there)."""
    t = translator(user.language)
    await answer(update, text, reply_keyboard=home_keyboard(t, user.roles))
    if context.user_data is not None:
        context.user_data[HOME_KEY] = _wanted(user)


def _commands_by_label() -> dict[str, str]:
    """Every big button's text in every language → its command."""
    found: dict[str, str] = {}
    for language in LANGUAGES:
        t = translator(language)
        for command in COMMANDS:
            if command.label:
                found[t(command.label)] = command.name
    return found


BY_LABEL = _commands_by_label()


# --- a button is its command ---------------------------------------------------------------


def _as_command(update_id: int, message: Message, command: str) -> Update:
    """The same message as if `/command` had been typed (what the command's handlers expect)."""
    data = message.to_dict()
    text = f"/{command}"
    data.update(text=text, entities=[{"type": "bot_command", "offset": 0, "length": len(text)}])
    for key in ("caption", "caption_entities", "reply_markup"):
        data.pop(key, None)
    typed = Message.de_json(data, message.get_bot())
    assert typed is not None
    return Update(update_id=update_id, message=typed)


async def _pressed_home(update: Update, context: LinliContext) -> None:
    message = update.message
    assert message is not None and message.text is not None
    await context.application.process_update(
        _as_command(update.update_id, message, BY_LABEL[message.text])
    )
    raise ApplicationHandlerStop


async def _pressed_card(update: Update, context: LinliContext) -> None:
    command = BY_NAME.get(HelpCardButton.of(update).command)
    query = update.callback_query
    if (
        command is None
        or query is None
        or not isinstance(query.message, Message)
        or query.message.chat.type != ChatType.PRIVATE  # the card is only sent in private
    ):
        raise StaleButton()
    await ack(update)
    # The card's message is the bot's: the command is "typed" by the one who pressed.
    data = query.message.to_dict()
    data["from"] = query.from_user.to_dict()
    source = Message.de_json(data, query.get_bot())
    assert source is not None
    await context.application.process_update(_as_command(update.update_id, source, command.name))


# --- /help -----------------------------------------------------------------------------------


def help_card(t: Translate, user: User | None) -> tuple[str, list[list[tuple[str, str]]]]:
    """The /help card: one line, then a button for each thing this person can do."""
    if user is None:
        return t("Send /start to register first."), []
    shown = [c for c in commands_for(user.roles) if c.label]
    buttons = [(t(c.label), HelpCardButton(command=c.name).pack()) for c in shown if c.label]
    rows = [buttons[i : i + PER_ROW] for i in range(0, len(buttons), PER_ROW)]
    return t("<b>What would you like to do?</b> Press a button."), rows


def command_list(t: Translate, user: User | None) -> str:
    """The commands as text, for those who prefer typing them."""
    roles = user.roles if user else RESIDENTS
    return "\n".join(f"/{c.name} — {t(c.description)}" for c in commands_for(roles))


# --- keeping each chat's menu and keyboard current -------------------------------------------


def _menu(t: Translate, roles: frozenset[Role]) -> list[BotCommand]:
    return [BotCommand(c.name, t(c.description)) for c in commands_for(roles)]


def _wanted(user: User) -> str:
    return ",".join(sorted(user.roles)) + ":" + user.language


async def _keep_current(update: Update, context: LinliContext) -> None:
    """Before a private update is handled: when the user's roles or language changed since
    their chat was last given a command menu and a home keyboard (a member approved, a
    coordinator appointed, another language chosen; or someone registered before there was a
    home keyboard), set the chat's menu now and put the keyboard under the next plain answer.
    No message of its own: a change of roles shows itself where they look next."""
    offer_reply_keyboard(None)  # whatever an earlier update in this task left unsent
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE or context.user_data is None:
        return
    user, t = await viewer(update, context)
    if user is None:
        return
    wanted = _wanted(user)
    user_data = context.user_data
    given = user_data.get(MENU_KEY)
    if given != wanted and not (given is None and user.roles == RESIDENTS):
        try:
            if user.roles == RESIDENTS:
                await context.bot.delete_my_commands(scope=BotCommandScopeChat(chat.id))
            else:
                await context.bot.set_my_commands(
                    _menu(t, user.roles), scope=BotCommandScopeChat(chat.id)
                )
            user_data[MENU_KEY] = wanted
        except TelegramError as error:  # tried again after their next update
            log.warning("could not set the command menu of chat %s: %r", chat.id, error)
    if user_data.get(HOME_KEY) != wanted:

        def given_keyboard() -> None:
            user_data[HOME_KEY] = wanted

        offer_reply_keyboard((home_keyboard(t, user.roles), given_keyboard))


async def _changed_keyboard(update: Update, context: LinliContext) -> None:
    """After the update: a keyboard given before that no answer carried (every answer had
    buttons of its own) is brought up to date by a line of its own — a member just approved
    sees their buttons at once. Someone never given one (registered before the home screen)
    just gets it with the next plain answer."""
    if offered_reply_keyboard() is None or not (context.user_data or {}).get(HOME_KEY):
        return
    user, t = await viewer(update, context)
    if user is not None:
        await answer(update, t("Your buttons below are up to date with what you can now do."))


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    """The big buttons (group -2: before any dialogue could take their text as an answer)."""
    # New messages only: an edited one would come back as the command a second time.
    pressed = filters.Text(list(BY_LABEL)) & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [MessageHandler(pressed, _pressed_home)]


def card_handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    return [CallbackQueryHandler(_pressed_card, pattern=HelpCardButton.pattern())]


def keeping_handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    """Group -3: before anything answers."""
    return [TypeHandler(Update, _keep_current)]


def keyboard_handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    """Group 1: after the features."""
    return [TypeHandler(Update, _changed_keyboard)]
