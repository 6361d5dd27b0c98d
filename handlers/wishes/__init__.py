"""Wishes in chat: one conversation holds every typed step of the feature (posting, "not
done", thanks, done notes, reasons), so an answer typed for one step can never be taken by
another; the buttons around it work from any message. Residents' handlers are in
`wishes_resident`, members' in `wishes_member`, shared views in `wish_views`."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from handlers.common import leave_for_command, use_buttons
from handlers.context import LinliContext
from handlers.help import cancel
from handlers.wishes import member as wishes_member
from handlers.wishes import resident as wishes_resident


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    states = {**wishes_resident.states(), **wishes_member.states()}
    conversation: ConversationHandler[LinliContext] = ConversationHandler(
        entry_points=[*wishes_resident.entry_points(), *wishes_member.entry_points()],
        states=states,
        fallbacks=[
            CommandHandler("cancel", cancel),
            MessageHandler(filters.COMMAND & private, leave_for_command),
            MessageHandler(private & ~filters.COMMAND, use_buttons),
        ],
        name="wishes",
        persistent=True,
        allow_reentry=True,
    )
    return [conversation, *wishes_resident.buttons(), *wishes_member.buttons()]
