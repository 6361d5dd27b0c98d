"""/help, /cancel, and the pointers for anything the bot does not understand."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers.common import ack, answer, viewer
from handlers.context import LinliContext
from handlers.dialogue import cancel
from handlers.home import help_card
from handlers.wishes.member import CODE_TYPED, code_again
from handlers.wishes.stray_media import offer_as_wish


async def show_help(update: Update, context: LinliContext) -> None:
    """/help: a short card of buttons, one for each thing this person can do."""
    user, t = await viewer(update, context)
    text, rows = help_card(t, user)
    await answer(update, text, rows)


async def private_only(update: Update, context: LinliContext) -> None:
    _, t = await viewer(update, context)
    link = f"https://t.me/{context.bot.username}"
    await answer(
        update,
        t("Please talk to me in a private chat for that."),
        [[(t("Open a private chat"), link)]],
    )


async def unknown_command(update: Update, context: LinliContext) -> None:
    _, t = await viewer(update, context)
    await answer(update, t("I do not know that command. Send /help to see what you can do."))


async def stray_message(update: Update, context: LinliContext) -> None:
    _, t = await viewer(update, context)
    await answer(update, t("I did not understand that. Send /help to see what you can do."))


async def _stop(update: Update, context: LinliContext) -> None:
    raise ApplicationHandlerStop


def ignore_edits() -> BaseHandler[Update, LinliContext, object]:
    """Edited messages and posts never reach a feature: a dialogue step waiting for text would
    otherwise take an edit of an earlier answer as the new one (added before every feature)."""
    return MessageHandler(filters.UpdateType.EDITED | filters.UpdateType.CHANNEL_POSTS, _stop)


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("help", show_help, filters=private),
        CommandHandler("cancel", cancel, filters=private),
    ]


async def stale_button(update: Update, context: LinliContext) -> None:
    _, t = await viewer(update, context)
    await ack(update, t("This button is no longer valid. Please start again."), alert=True)


def fallback_handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    """Added last: whatever no feature took."""
    return [
        MessageHandler(filters.COMMAND & filters.ChatType.GROUPS, private_only),
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, unknown_command),
        # A voice note or photo no dialogue took: offered as a new wish.
        MessageHandler((filters.VOICE | filters.PHOTO) & filters.ChatType.PRIVATE, offer_as_wish),
        # Four digits: maybe a confirmation code typed again after its wish was confirmed.
        MessageHandler(
            filters.Regex(CODE_TYPED) & filters.ChatType.PRIVATE & ~filters.COMMAND, code_again
        ),
        MessageHandler(filters.ChatType.PRIVATE & ~filters.COMMAND, stray_message),
        CallbackQueryHandler(stale_button),
    ]
